# Evercast. `make demo` runs the demo on the embedded default; `make test`
# runs every test against real ffmpeg, espeak-ng, Redis, PostgreSQL, MinIO and
# nginx-rtmp, installing and starting what is missing first.
GO            ?= go
CACHE         ?= $(HOME)/.cache/evercast
STATICCHECK   ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
TEST_TIMEOUT  ?= 60m
export PATH   := $(CACHE)/bin:$(PATH)

.PHONY: all build demo test test-short bench lint deps deps-demo avatar console-vendor fuzz clean

all: build

build:
	$(GO) build -o bin/evercast ./cmd/evercast

deps-demo:
	@bash scripts/deps.sh demo

deps:
	@bash scripts/deps.sh test

demo: deps-demo build
	./bin/evercast demo

test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

test-short: deps
	$(GO) test -short -count=1 ./...

bench: deps
	bash scripts/bench.sh

lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fuzz:
	bash scripts/fuzz.sh

avatar:
	bash tools/avatarpack/build.sh

console-vendor:
	bash tools/console/vendor.sh

clean:
	rm -rf bin
