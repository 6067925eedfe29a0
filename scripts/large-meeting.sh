#!/usr/bin/env bash
# A meeting of 25 through the media port: three Chromium pages and 22 synthetic
# participants from parley-load (end2end/tests/large.spec.ts). It checks what the real
# pages see (every tile on the screen playing, one connection each, upload within the
# budget) and prints the server's figures. A load run for a machine doing nothing else:
# on two cores the three browsers, 22 participants and the server take all of it, so it
# is not part of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
source scripts/env.sh
cargo leptos build --release --precompress
cargo build --release -p loadgen --locked
cd end2end
PARLEY_E2E_LARGE=1 npx playwright test tests/large.spec.ts "$@"
