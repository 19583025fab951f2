# syntax=docker/dockerfile:1
#
# Evercast: one image for every role. The command picks the roles:
#   docker run evercast serve --roles api,orchestrator
#   docker run evercast serve --roles worker
#   docker run evercast serve --roles playout
# See deploy/README.md for the settings (EVERCAST_* variables) and the
# compose and Kubernetes deployments built on this image.

# ---- build ------------------------------------------------------------------
FROM golang:1.26-bookworm AS build
WORKDIR /src

# Dependencies first, in their own layer: it is rebuilt only when go.mod or
# go.sum change, not on every source edit.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

COPY . .
ARG VERSION=dev
# A pure-Go static binary: the SQLite driver is modernc.org/sqlite (no cgo).
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/evercast/evercast/internal/app.version=${VERSION}" \
      -o /out/evercast ./cmd/evercast

# ---- runtime ----------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# Media tools the worker and playout roles run: ffmpeg (with ffprobe, libx264,
# AAC, drawtext, libass), espeak-ng (speech), the CJK caption font; curl for
# the health check; CA certificates for TLS to S3, Redis (rediss://), LLM APIs
# and RTMPS ingest.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates \
      curl \
      espeak-ng \
      ffmpeg \
      fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/*

# An unprivileged user with a fixed uid, so that Kubernetes' runAsNonRoot can
# verify it and volumes can be prepared for it (fsGroup 10001).
RUN groupadd --system --gid 10001 evercast \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/evercast \
      --no-create-home --shell /usr/sbin/nologin evercast \
 && mkdir -p /var/lib/evercast/hls \
 && chown -R 10001:10001 /var/lib/evercast

COPY --from=build /out/evercast /usr/local/bin/evercast

# In a container the API must listen on every interface. HOME and the cache
# directory point at writable places so that the image also runs with a
# read-only root filesystem (only /tmp and the data dir need to be writable).
ENV EVERCAST_DATA_DIR=/var/lib/evercast \
    EVERCAST_HTTP_ADDR=0.0.0.0:8080 \
    EVERCAST_FONT=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc \
    HOME=/var/lib/evercast \
    XDG_CACHE_HOME=/tmp/.cache

WORKDIR /var/lib/evercast
USER 10001:10001
EXPOSE 8080

# Only processes running the api role serve HTTP; compose disables this check
# for worker and playout containers. The port follows EVERCAST_HTTP_ADDR.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${EVERCAST_HTTP_ADDR##*:}/healthz" >/dev/null || exit 1

ENTRYPOINT ["evercast"]
CMD ["serve"]
