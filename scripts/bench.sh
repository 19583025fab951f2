#!/usr/bin/env bash
# Runs Evercast's benchmarks and writes their raw output to bench-results/.
# Results with the machine they ran on are recorded in docs/benchmarks.md.
#   BENCH=render,splice,store,claims,control,soak,scale bash scripts/bench.sh   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
out="bench-results"
mkdir -p "$out"
want="${BENCH:-render,splice,store,claims,control,soak,scale}"
has() { [[ ",$want," == *",$1,"* ]]; }

{
  echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo nogit)"
  echo "# $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
  echo "# $(go version); $(ffmpeg -version | head -1)"
} > "$out/machine.txt"
cat "$out/machine.txt"

run() { # name, go test args...
  local name="$1"; shift
  echo "== $name"
  go test -run '^$' "$@" 2>&1 | tee "$out/$name.txt"
}

has render && run render -bench 'Render20s|Floor20s' -benchtime 3x -timeout 30m ./workers/render
has splice && run splice -bench . -benchtime 2s ./internal/mpegts
has store  && run store  -bench Cue -benchtime 2000x ./internal/store
has claims && run claims -bench . ./internal/claims
if has control && [ -d internal/control ]; then run control -bench . -benchtime 1x -timeout 30m ./internal/control; fi
has soak   && EVERCAST_SOAK_MINUTES="${EVERCAST_SOAK_MINUTES:-30}" run soak -bench Soak -benchtime 1x -timeout 120m ./e2e
if has scale; then run scale -bench 'Workers|Orchestrator|CommentToAir|Command' -benchtime 1x -timeout 120m ./e2e; fi
echo "raw results in $out/"
