#!/usr/bin/env bash
# Runs every Parley check: formatting, lints, the Rust unit and integration tests, and
# the end-to-end tests in real Chromium. Installs what it needs first. Exits non-zero
# when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
source scripts/env.sh

logs=$(mktemp -d)
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "format"
cargo fmt --all --check

step "lints (server, shared code, load generator)"
cargo clippy -p app -p server -p loadgen -p test-services --all-targets --locked -- -D warnings
step "lints (browser code, wasm32)"
cargo clippy -p frontend --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort --locked -- -D warnings

step "Rust unit and integration tests"
cargo test -p app -p server -p loadgen --locked 2>&1 | tee "$logs/cargo.txt"

# The end-to-end tests run the release build: what scripts/run.sh serves to people,
# optimized wasm client included.
step "build the site (server and wasm client, release)"
cargo leptos build --release --precompress
# The meeting of 25 (end2end/tests/large.spec.ts) brings 22 synthetic participants.
step "build the load generator (release)"
cargo build --release -p loadgen --locked

step "end-to-end tests (Playwright, Chromium)"
(cd end2end && npx playwright test) 2>&1 | tee "$logs/e2e.txt"

# One closing line for the whole run. (grep finds nothing when, say, no test failed.)
count() { { grep -oE "$1" "$2" || true; } | awk '{ s += $1 } END { print s + 0 }'; }
rust_passed=$(count '[0-9]+ passed' "$logs/cargo.txt")
rust_failed=$(count '[0-9]+ failed' "$logs/cargo.txt")
e2e_passed=$(count '^ *[0-9]+ passed' "$logs/e2e.txt")
e2e_failed=$(count '^ *[0-9]+ failed' "$logs/e2e.txt")
echo
echo "tests: $((rust_passed + e2e_passed)) passed, $((rust_failed + e2e_failed)) failed"
