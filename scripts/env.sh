# Sourced by the other scripts (and by developers: `source scripts/env.sh`) to build
# Parley with one compiler for the server and the wasm client.
#
# The rustup toolchain on these machines has no wasm32 standard library and cannot
# download one, so Parley builds with Debian's rustc-web (which has every wasm target
# built in) and compiles the wasm standard library from source (-Zbuild-std, see
# lib-cargo-args in Cargo.toml). RUSTC_BOOTSTRAP allows that flag on a stable compiler.
#
# tools/node_modules/.bin holds wasm-opt (see scripts/setup.sh); it goes first so that
# an older system wasm-opt is never picked up.
parley_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$parley_root/tools/node_modules/.bin:/usr/bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export RUSTC_BOOTSTRAP=1
