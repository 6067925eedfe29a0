#!/usr/bin/env bash
# Measures the media port under load: starts a release Parley that sends every
# meeting through its media port, runs parley-load --media against it (synthetic
# participants sending VP8 in three simulcast layers and audio, each showing the
# others' cameras), and prints the server's figures: CPU per datagram and per Mbit
# sent, frames not delivered, forwarding delay p50/p99, memory.
# Arguments go to parley-load, e.g. scripts/media-load.sh --clients 100 --room-size 25
# (default: one meeting of 25 for 20 s).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo build --release -p server -p loadgen

port=${PARLEY_LOAD_PORT:-3980}
media=${PARLEY_LOAD_MEDIA_PORT:-3983}
metrics=${PARLEY_LOAD_METRICS_PORT:-3984}
work=$(mktemp -d)
target/release/parley --listen "127.0.0.1:$port" --database-url "sqlite:$work/load.db" \
  --sfu-listen "127.0.0.1:$media" --mesh-limit 0 --max-participants 100 \
  --metrics-listen "127.0.0.1:$metrics" \
  --max-connections-per-ip 100000 --max-new-meetings-per-hour 100000 --log "${PARLEY_LOAD_LOG:-warn}" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.1
done
if [ $# -eq 0 ]; then set -- --clients 25 --room-size 25 --seconds 20; fi
target/release/parley-load --media --url "http://127.0.0.1:$port" --server-pid "$server" \
  --metrics-url "http://127.0.0.1:$metrics/metrics" "$@"
