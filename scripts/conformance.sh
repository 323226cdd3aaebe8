# The conformance suite (docs/CONFORMANCE.md) in WebAssembly. Source this file, then call
# conformance_wasm_test. The native run is part of `cargo test --workspace`.
#
# Node always; headless Chromium too when chromedriver is installed (./x setup installs it),
# unless CONFORMANCE_BROWSER=0.

conformance_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

conformance_wasm_test() {
  local root; root=$(conformance_root)
  (
    cd "$root" || exit 1
    set -e
    echo "==> the conformance suite in wasm32 under Node"
    cargo test -p netcents-conformance --target wasm32-unknown-unknown --test wasm
    local driver=${CHROMEDRIVER:-/usr/bin/chromedriver}
    if [ "${CONFORMANCE_BROWSER:-1}" != 0 ] && [ -x "$driver" ]; then
      echo "==> the conformance suite in wasm32 in headless Chromium"
      local scratch=$root/target/conformance-tmp
      rm -rf "$scratch" && mkdir -p "$scratch"
      CHROMEDRIVER=$driver TMPDIR=$scratch \
        cargo test -p netcents-conformance --target wasm32-unknown-unknown --test browser
    fi
  )
}
