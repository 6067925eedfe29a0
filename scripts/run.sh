#!/usr/bin/env bash
# Builds Parley and runs it at http://127.0.0.1:3000 with rooms in ./parley.db.
# Flags after the command go to the server, e.g. scripts/run.sh --listen 0.0.0.0:3000
# (see `target/release/parley --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
# --precompress: the browser app is compressed (brotli, gzip) and built first, then
# the server, which carries it: target/release/parley runs from any folder.
cargo leptos build --release --precompress
exec target/release/parley "$@"
