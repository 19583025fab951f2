#!/usr/bin/env bash
# Installs and starts what Evercast's tests need, when missing:
#   Debian packages (ffmpeg, espeak-ng, a CJK font, nginx with the RTMP module,
#   redis-server, PostgreSQL, Chromium), a MinIO server built from the Go module
#   proxy into a cache outside the repository (never vendored, never linked
#   into Evercast), and running Redis and PostgreSQL servers.
# Idempotent; prints what it does; fails with the reason when something
# cannot be had.
set -euo pipefail

MINIO_VERSION="${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
CACHE="${EVERCAST_CACHE:-$HOME/.cache/evercast}"
MODE="${1:-test}" # "demo" installs only what the demo needs

say() { echo "deps: $*" >&2; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

pkgs_demo=(ffmpeg espeak-ng fonts-wqy-microhei)
pkgs_test=(ffmpeg espeak-ng fonts-wqy-microhei nginx libnginx-mod-rtmp redis-server postgresql chromium librsvg2-bin)
if [ "$MODE" = demo ]; then pkgs=("${pkgs_demo[@]}"); else pkgs=("${pkgs_test[@]}"); fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    say "missing packages ${missing[*]} and no apt-get: install them with your package manager"; exit 1
  fi
  say "installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ "$MODE" = demo ] && exit 0

# MinIO, built once from the Go module proxy (about 2.5 minutes).
mkdir -p "$CACHE/bin"
MINIO="$CACHE/bin/minio-$MINIO_VERSION"
if [ ! -x "$MINIO" ]; then
  say "building MinIO $MINIO_VERSION into $CACHE/bin (one time, a few minutes)"
  tmp="$(mktemp -d)"
  (cd "$tmp" && GOBIN="$tmp" GOFLAGS=-mod=mod go install "github.com/minio/minio@$MINIO_VERSION")
  mv "$tmp/minio" "$MINIO"
  rm -rf "$tmp"
fi
ln -sf "$MINIO" "$CACHE/bin/minio"

# Redis on 127.0.0.1:6379.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  say "starting redis-server on 127.0.0.1:6379"
  mkdir -p /tmp/evercast-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp/evercast-redis --logfile /tmp/evercast-redis/redis.log
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -h 127.0.0.1 ping >/dev/null || { say "redis-server did not start: see /tmp/evercast-redis/redis.log"; exit 1; }
fi

# PostgreSQL on 127.0.0.1:5432 with trust auth for the postgres user.
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  ver="$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)"
  if [ -z "$ver" ]; then say "PostgreSQL is installed but has no cluster: run pg_createcluster"; exit 1; fi
  say "starting PostgreSQL $ver"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
  pg_isready -q -h 127.0.0.1 -p 5432 || { say "PostgreSQL did not start on 127.0.0.1:5432"; exit 1; }
fi
if [ -z "${EVERCAST_TEST_POSTGRES_URL:-}" ] && ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  # A fresh Debian cluster asks for a password over TCP: let the tests'
  # loopback connections in (this machine's test cluster only).
  ver="$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)"
  hba="/etc/postgresql/$ver/main/pg_hba.conf"
  if [ -n "$ver" ] && [ -w "$hba" ] && ! grep -q "evercast tests" "$hba"; then
    say "allowing loopback connections without a password in $hba (for the tests)"
    { echo "# evercast tests: loopback connections need no password"
      echo "host all all 127.0.0.1/32 trust"
      echo "host all all ::1/128 trust"
      cat "$hba"; } > "$hba.evercast" && mv "$hba.evercast" "$hba"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main reload || true
    sleep 1
  fi
  if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
    say "PostgreSQL at 127.0.0.1:5432 refuses user postgres without a password: allow trust for loopback in pg_hba.conf or set EVERCAST_TEST_POSTGRES_URL"
    exit 1
  fi
fi
say "ready"
