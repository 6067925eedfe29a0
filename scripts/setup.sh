#!/usr/bin/env bash
# Installs what building, running and testing Parley needs, skipping what is already
# there. Safe to run again. Used by scripts/run.sh and scripts/test.sh.
#
#   scripts/setup.sh          the build toolchain (enough to run Parley)
#   scripts/setup.sh --test   also Chromium, Firefox ESR, coturn, iptables, PostgreSQL, Redis, HAProxy and the end-to-end test packages
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

want_test_tools=false
[ "${1:-}" = "--test" ] && want_test_tools=true

log() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

# --- disk space --------------------------------------------------------------
# A full build and test run fills target/ with about 4 GB; say so up front rather than
# let a compiler fail half-way with "No space left on device".
mkdir -p target
free_kb=$(df -Pk target | awk 'NR == 2 { print $4 }')
if [ "${free_kb:-0}" -lt $((5 * 1024 * 1024)) ]; then
  log "warning: only $((free_kb / 1024)) MB free for target/; building and testing Parley takes about 4 GB"
fi

# --- Debian packages -------------------------------------------------------
packages=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# Debian's newer Rust (1.96): compiler with the wasm targets, std source, clippy, rustfmt;
# lld links wasm; gcc builds the C of the media port's crypto (aws-lc, in str0m).
for pkg in rustc-web cargo-web rust-web-src rust-web-clippy rustfmt-web lld-22 pkg-config gcc; do
  have_pkg "$pkg" || packages+=("$pkg")
done
if $want_test_tools; then
  # iptables and iproute2: the network lab (NATs and firewalls between participants).
  # postgresql and redis-server: the store's tests run against PostgreSQL as well as
  # SQLite, the cluster's against both (the tests start servers of their own; the
  # packages' own services are not used). haproxy: the load balancer in front of
  # several nodes, in the end-to-end tests.
  for pkg in chromium firefox-esr coturn iptables iproute2 postgresql redis-server haproxy; do
    have_pkg "$pkg" || packages+=("$pkg")
  done
fi
if [ ${#packages[@]} -gt 0 ]; then
  log "installing Debian packages: ${packages[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${packages[@]}" >/dev/null
fi

# --- cargo-leptos ----------------------------------------------------------
CARGO_LEPTOS_VERSION=0.3.11
if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION (a one-time build of a few minutes)"
  # cargo-leptos's own release profile (fat LTO, one codegen unit, opt-level 3) takes
  # about 35 minutes to build on two cores. It only orchestrates the build, so it is
  # built unoptimized here, which takes a fraction of that.
  CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
fi

# --- wasm-bindgen-cli, at exactly the version in Cargo.lock ----------------
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $bindgen_version\$"; then
  log "installing wasm-bindgen-cli $bindgen_version"
  cargo install wasm-bindgen-cli --version "$bindgen_version"
fi

# --- wasm-opt, from binaryen's npm package ----------------------------------
# Debian's binaryen (108) is too old for the wasm Rust emits now: even a plain
# read-and-write of the module breaks its function table, and the release page never
# starts. The npm package is a current binaryen, pinned in tools/package-lock.json;
# scripts/env.sh puts it first on the PATH, where cargo-leptos looks for wasm-opt.
if [ ! -x tools/node_modules/.bin/wasm-opt ] || [ tools/package-lock.json -nt tools/node_modules/.package-lock.json ]; then
  log "installing wasm-opt (binaryen, from npm)"
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
fi

# --- end-to-end test packages ----------------------------------------------
if $want_test_tools; then
  if [ ! -d end2end/node_modules ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    log "installing the end-to-end test packages"
    (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
log "ready"
