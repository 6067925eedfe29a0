#!/usr/bin/env bash
# Measures the signaling service under load: starts a release Parley on a loopback
# port with a throwaway database, runs parley-load against it, and prints the figures.
# Arguments go to parley-load, e.g. scripts/load.sh --clients 2000 --room-size 4 --rate 20000
# PARLEY_LOAD_SERVER=path/to/parley measures another build (an older one, for a comparison);
# PARLEY_LOAD_SERVER_ARGS adds options to the server's command line, e.g.
# PARLEY_LOAD_SERVER_ARGS="--metrics-listen 127.0.0.1:3982" to count the metrics' cost.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo build --release -p server -p loadgen

port=${PARLEY_LOAD_PORT:-3980}
work=$(mktemp -d)
server_bin=${PARLEY_LOAD_SERVER:-target/release/parley}
"$server_bin" --listen "127.0.0.1:$port" --database-url "sqlite:$work/load.db" \
  --max-connections-per-ip 100000 --max-new-meetings-per-hour 100000 --log warn \
  ${PARLEY_LOAD_SERVER_ARGS:-} &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.1
done
target/release/parley-load --url "http://127.0.0.1:$port" --server-pid "$server" "$@"
