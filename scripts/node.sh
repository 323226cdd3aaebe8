# Node package steps: source this file, then call the function.
#
#   node_fetch_build   build @netcents/fetch (js/fetch/): the wallet machine for Node
#                      (netcents-node-wallet) in wasm32, bound with wasm-bindgen --target nodejs
#                      into js/fetch/pkg/, which the package ships (`npm pack` includes it)
#
# Needs the repository root's scripts/ next to this file, cargo with the wasm32-unknown-unknown
# target and wasm-bindgen at the version Cargo.lock pins (wallet_setup or edge_setup install them).

node_fetch_build() {
  local root; root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  (
    cd "$root" || exit 1
    set -e
    echo "==> cargo build -p netcents-node-wallet --release --target wasm32-unknown-unknown"
    # The browser wallet's release settings for wasm32 (scripts/wallet.sh): a small module, and
    # the dependencies built once for both.
    CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_PROFILE_RELEASE_LTO=true \
      CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_PANIC=abort \
      cargo build -p netcents-node-wallet --release --target wasm32-unknown-unknown
    local raw=target/wasm32-unknown-unknown/release/netcents_node_wallet.wasm
    echo "==> wasm-bindgen --target nodejs --out-dir js/fetch/pkg"
    rm -rf js/fetch/pkg && mkdir -p js/fetch/pkg
    wasm-bindgen --target nodejs --out-dir js/fetch/pkg "$raw"
    # The package is ESM ("type": "module"); the bound module is CommonJS.
    printf '{ "type": "commonjs" }\n' > js/fetch/pkg/package.json
    if [ -x js/node_modules/.bin/wasm-opt ]; then
      echo "==> wasm-opt -Oz"
      js/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
        --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
        js/fetch/pkg/netcents_node_wallet_bg.wasm -o js/fetch/pkg/netcents_node_wallet_bg.opt.wasm
      mv js/fetch/pkg/netcents_node_wallet_bg.opt.wasm js/fetch/pkg/netcents_node_wallet_bg.wasm
    fi
    ls -l js/fetch/pkg
  )
}
