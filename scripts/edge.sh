# Edge vendor steps: source this file, then call the functions.
#
#   edge_setup   install what is missing: worker-build 0.8.7, the pinned npm tools (js/)
#   edge_build   build the Worker (edge-vendor/build) with worker-build, offline
#   edge_test    build the bank and the Worker, then run the end-to-end tests (netcents-e2e)
#   edge_bench   paid requests per second and CPU per paid request in workerd (fast path)
#
# Needs the repository root as the working directory (./x does `cd` there).

edge_env() {
  export PATH="$HOME/.cargo/bin:$PATH"
  export CI=true WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_HIDE_BANNER=true
  # worker-build would download these from GitHub and the npm registry (TOOLCHAIN.md, P4).
  WASM_BINDGEN_BIN=${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen || true)}
  WASM_OPT_BIN=${WASM_OPT_BIN:-$PWD/js/node_modules/.bin/wasm-opt}
  ESBUILD_BIN=${ESBUILD_BIN:-$PWD/js/node_modules/.bin/esbuild}
  export WASM_BINDGEN_BIN WASM_OPT_BIN ESBUILD_BIN
}

edge_setup() {
  edge_env
  local wbv
  wbv=$(awk '/^name = "wasm-bindgen"$/{getline;gsub(/"/,"",$3);print $3}' Cargo.lock)
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $wbv\$"; then
    echo "==> cargo install wasm-bindgen-cli $wbv"
    cargo install wasm-bindgen-cli --version "$wbv"
  fi
  if ! worker-build --version 2>/dev/null | grep -q '0\.8\.7'; then
    echo "==> cargo install worker-build 0.8.7"
    cargo install worker-build --version 0.8.7
  fi
  if [ ! -x js/node_modules/.bin/wrangler ]; then
    echo "==> npm ci (js/)"
    (cd js && npm ci --no-audit --no-fund)
  fi
  edge_env
}

edge_build() {
  edge_env
  echo "==> worker-build --release (edge-vendor)"
  (cd edge-vendor && worker-build --release)
}

edge_test() {
  edge_env
  echo "==> cargo build -p netcents-bank"
  cargo build -p netcents-bank
  edge_build
  echo "==> cargo test -p netcents-e2e (the bank and two vendors in workerd)"
  cargo test -p netcents-e2e "$@"
}

edge_bench() {
  edge_env
  echo "==> cargo build -p netcents-bank"
  cargo build -p netcents-bank
  edge_build
  echo "==> fast path in workerd over loopback (netcents-edge-bench)"
  cargo run -q --release -p netcents-e2e --bin netcents-edge-bench -- "$@"
  echo "==> native fast path (netcents-core)"
  cargo bench -p netcents-core --bench fast_path
}
