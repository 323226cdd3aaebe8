# The JavaScript vendor package (js/vendor/, @netcents/vendor): the vendor engine compiled to
# WebAssembly for the Express and Hono middleware. Source this file, then call node_vendor_build.

node_vendor_build() {
  local root; root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  (
    cd "$root" || exit 1
    set -e
    echo "==> cargo build -p netcents-vendor-js --profile wasm-vendor --target wasm32-unknown-unknown"
    cargo build -q -p netcents-vendor-js --profile wasm-vendor --target wasm32-unknown-unknown
    echo "==> wasm-bindgen --target web --out-dir js/vendor/pkg"
    rm -rf js/vendor/pkg
    wasm-bindgen --target web --out-dir js/vendor/pkg \
      target/wasm32-unknown-unknown/wasm-vendor/netcents_vendor_js.wasm
  )
}
