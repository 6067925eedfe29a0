#!/usr/bin/env bash
# A meeting of 25 through the media port: three Chromium pages and 22 synthetic
# participants from parley-load (end2end/tests/large.spec.ts), on its own. It checks
# what the real pages see (every tile on the screen playing, one connection each,
# upload within the budget) and prints the server's figures. scripts/test.sh runs it
# with the rest of the suite; this runs just it, for its figures.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
source scripts/env.sh
cargo leptos build --release --precompress
cargo build --release -p loadgen --locked
cd end2end
npx playwright test tests/large.spec.ts "$@"
