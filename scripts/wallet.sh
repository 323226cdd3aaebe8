# Browser wallet and pay button: setup, build, tests and demo. Source this file, then call
# wallet_setup, wallet_build, wallet_test or wallet_demo (each can run alone; wallet_test
# and wallet_demo build first). Needs the repository root's scripts/ next to this file.

wallet_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

wallet_setup() {
  local root; root=$(wallet_root)
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "==> apt: chromium chromium-driver"
    if [ "$(id -u)" -eq 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver
    else
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver
    fi
  fi
  if [ ! -d "$root/js/node_modules/playwright-core" ] || [ ! -d "$root/js/node_modules/express" ] || [ ! -d "$root/js/node_modules/@hono/node-server" ] || [ ! -d "$root/js/node_modules/axe-core" ]; then
    echo "==> npm ci (js/)"
    (cd "$root/js" && npm ci --no-audit --no-fund)
  fi
  rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
  local wbv
  wbv=$(awk '/^name = "wasm-bindgen"$/{getline;gsub(/"/,"",$3);print $3}' "$root/Cargo.lock")
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $wbv$"; then
    echo "==> cargo install wasm-bindgen-cli $wbv"
    cargo install wasm-bindgen-cli --version "$wbv"
  fi
}

# The size goal of the module the payment pages load (netcents_wasm_pay), in bytes after gzip -9.
WALLET_GZIP_GOAL=${WALLET_GZIP_GOAL:-100000}

# Builds one WASM module of the wallet into www/pkg/: cargo (release for wasm32, with the
# profile set by wallet_build), wasm-bindgen --target web, wasm-opt -Oz. $1: the package, $2:
# its library name, $3: the module's name in www/pkg/ (default: $2), $4...: more cargo
# arguments (features). Each package is built alone, so that no other module's features reach
# it. Records the unoptimised size as target/wallet-raw-<name>.
wallet_module() {
  local package=$1 lib=$2 name=${3:-$2}
  shift $(($# < 3 ? $# : 3))
  echo "==> cargo build -p $package --release --target wasm32-unknown-unknown $*"
  CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_PROFILE_RELEASE_LTO=true \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_PANIC=abort \
    cargo build -p "$package" --release --target wasm32-unknown-unknown "$@"
  local raw=target/wasm32-unknown-unknown/release/$lib.wasm
  stat -c %s "$raw" > "target/wallet-raw-$name"
  echo "==> wasm-bindgen --target web --out-dir www/pkg ($name)"
  wasm-bindgen --target web --no-typescript --out-dir www/pkg --out-name "$name" "$raw"
  wasm-bindgen --target web --out-dir target/wallet-types --out-name "$name" "$raw"
  cp "target/wallet-types/$name.d.ts" www/pkg/
  echo "==> wasm-opt -Oz ($name)"
  js/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "www/pkg/${name}_bg.wasm" -o "www/pkg/${name}_bg.opt.wasm"
  mv "www/pkg/${name}_bg.opt.wasm" "www/pkg/${name}_bg.wasm"
}

# Builds www/pkg/: the wallet module of the wallet's own pages (netcents_wasm_wallet); the same
# crate without its feature `account` for the payment pages, the payment window and the site's
# purse frame (netcents_wasm_pay: pays, activates coins, keeps purses; the same stored state);
# and the two the wallet pages load only when first needed: the RSA blind signatures of
# anonymous coins (netcents_wasm_coins, when the user first buys anonymous scrip) and the
# backup's sealing (netcents_wasm_backup, to back up or restore). Records the sizes in
# target/wallet-size.txt. The release profile for wasm32 is set here, for this build only:
# size matters more than speed in a page (opt-level z, LTO, one codegen unit, abort on panic).
wallet_build() {
  local root; root=$(wallet_root)
  (
    cd "$root" || exit 1
    set -e
    rm -rf www/pkg && mkdir -p www/pkg
    wallet_module netcents-wasm-wallet netcents_wasm_wallet
    wallet_module netcents-wasm-wallet netcents_wasm_wallet netcents_wasm_pay --no-default-features
    wallet_module netcents-wasm-coins netcents_wasm_coins
    wallet_module netcents-wasm-backup netcents_wasm_backup
    local w=www/pkg/netcents_wasm_wallet_bg.wasm gz
    gz=$(gzip -9 -c www/pkg/netcents_wasm_pay_bg.wasm | wc -c)
    {
      echo "raw_bytes $(cat target/wallet-raw-netcents_wasm_wallet)"
      echo "optimised_bytes $(stat -c %s "$w")"
      echo "optimised_gzip_bytes $(gzip -9 -c "$w" | wc -c)"
      echo "glue_js_gzip_bytes $(gzip -9 -c www/pkg/netcents_wasm_wallet.js | wc -c)"
      local m
      for m in pay coins backup; do
        echo "${m}_optimised_bytes $(stat -c %s "www/pkg/netcents_wasm_${m}_bg.wasm")"
        echo "${m}_optimised_gzip_bytes $(gzip -9 -c "www/pkg/netcents_wasm_${m}_bg.wasm" | wc -c)"
        echo "${m}_glue_js_gzip_bytes $(gzip -9 -c "www/pkg/netcents_wasm_${m}.js" | wc -c)"
      done
    } | tee target/wallet-size.txt
    if [ "$gz" -gt "$WALLET_GZIP_GOAL" ]; then
      echo "note: the payment pages' module (netcents_wasm_pay) is $gz bytes gzipped, over the goal of $WALLET_GZIP_GOAL" >&2
    fi
  )
}

wallet_test() {
  local root; root=$(wallet_root)
  (
    cd "$root" || exit 1
    set -e
    export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
    # chromedriver leaves its profiles in the temp dir (TOOLCHAIN.md, P13): keep them in one place.
    local scratch=${WALLET_TMPDIR:-$root/target/wallet-tmp}
    rm -rf "$scratch" && mkdir -p "$scratch"
    echo "==> wasm tests in Node and in headless Chromium (no -q: the runner rejects it)"
    TMPDIR=$scratch cargo test -p netcents-wasm-wallet --target wasm32-unknown-unknown
    echo "==> native unit tests of the wallet state and of the coins' and the backup's modules"
    cargo test -p netcents-wallet -p netcents-wasm-coins -p netcents-wasm-backup
    wallet_build
    echo "==> the bank, the server vendor and the command-line wallet, and the edge vendor, for the browser tests"
    cargo build -p netcents-bank -p netcents-vendor -p netcents-cli
    if [ ! -f edge-vendor/build/index.js ]; then
      # shellcheck source=scripts/edge.sh
      source scripts/edge.sh && edge_build
    fi
    echo "==> browser end-to-end (bank, two vendors in workerd, the wallet, two shops) and message checks"
    WALLET_SCRATCH=$scratch node --test tests/browser/
    echo "screenshots: target/wallet-e2e/*.png, figures: target/wallet-e2e/figures.json"
  )
}

# The demo: bank, wallet origin, two shops and an API sold by the word, with a short summary of
# where everything is;
# Ctrl-C stops them. The builds write to target/demo/build.log, not the terminal.
wallet_demo() {
  local root; root=$(wallet_root)
  (
    cd "$root" || exit 1
    set -e
    mkdir -p target/demo
    local log=target/demo/build.log
    : > "$log"
    echo "==> building the wallet, the bank, the shops' Worker and the API's vendor (log: $log)"
    # The shops' Worker is built again when any of its sources is newer than the build.
    local worker_fresh=1
    if [ ! -f edge-vendor/build/index_bg.wasm ] || [ -n "$(find edge-vendor/src core/src api/src -newer edge-vendor/build/index_bg.wasm -print -quit)" ]; then
      worker_fresh=0
    fi
    if ! { wallet_build && cargo build -q -p netcents-bank -p netcents-vendor && { [ "$worker_fresh" = 1 ] || { source scripts/edge.sh && edge_build; }; }; } >> "$log" 2>&1; then
      tail -n 30 "$log" >&2
      echo "the build failed: the whole log is in $log" >&2
      exit 1
    fi
    node tests/browser/demo.mjs "$@"
  )
}
