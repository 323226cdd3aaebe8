# Shared steps of ./x. Every step says what it does and installs only what is missing.

say() { printf '\n==> %s\n' "$*"; }

# shellcheck source=scripts/edge.sh
source scripts/edge.sh
# shellcheck source=scripts/wallet.sh
source scripts/wallet.sh
# shellcheck source=scripts/fuzz.sh
source scripts/fuzz.sh
# shellcheck source=scripts/mutants.sh
source scripts/mutants.sh
# shellcheck source=scripts/node.sh
source scripts/node.sh
# shellcheck source=scripts/node-vendor.sh
source scripts/node-vendor.sh
# shellcheck source=scripts/conformance.sh
source scripts/conformance.sh

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export PATH="$HOME/.cargo/bin:$PATH"

setup() {
  say "Rust toolchain and targets (rust-toolchain.toml)"
  if ! command -v cargo >/dev/null; then
    echo "cargo is missing: install Rust with rustup first (https://rustup.rs)" >&2
    exit 1
  fi
  rustup show active-toolchain >/dev/null
  local have
  have=$(rustup target list --installed)
  for t in wasm32-unknown-unknown thumbv7em-none-eabihf; do
    grep -qx "$t" <<<"$have" || rustup target add "$t"
  done
  say "PostgreSQL 15 server binaries (the bank's PostgreSQL tests start a private cluster)"
  if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
    apt_install postgresql
  fi
  say "Edge vendor tools: wasm-bindgen-cli (as pinned by Cargo.lock), worker-build 0.8.7, wrangler 4.86.0 (npm)"
  edge_setup
  say "Browser wallet tools: Chromium and ChromeDriver (Debian), playwright-core (npm)"
  wallet_setup
  say "schemathesis $SCHEMATHESIS_VERSION (PyPI, in target/schemathesis): the APIs against their OpenAPI documents"
  schemathesis_setup
}

# What the demo uses, and nothing else: Rust with the wasm32 target, the Worker's build tools
# (wasm-bindgen-cli as pinned by Cargo.lock, worker-build) and the npm tools (wrangler, wasm-opt).
demo_setup() {
  if ! command -v cargo >/dev/null; then
    echo "cargo is missing: install Rust with rustup first (https://rustup.rs)" >&2
    exit 1
  fi
  if ! command -v node >/dev/null; then
    echo "node is missing: install Node.js 20 (Debian: apt install nodejs npm)" >&2
    exit 1
  fi
  rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
  mkdir -p target
  edge_setup > target/demo-setup.log 2>&1 || { cat target/demo-setup.log >&2; exit 1; }
}

SCHEMATHESIS_VERSION=4.32.5

schemathesis_setup() {
  local venv=target/schemathesis
  if "$venv/bin/schemathesis" --version 2>/dev/null | grep -q " $SCHEMATHESIS_VERSION\$"; then
    return
  fi
  if ! command -v python3 >/dev/null; then
    apt_install python3 python3-venv
  fi
  if ! python3 -m venv "$venv" 2>/dev/null; then
    apt_install python3-venv
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
}

apt_install() {
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
  fi
}

check() {
  say "cargo fmt --check"
  cargo fmt --all -- --check
  say "cargo clippy (all targets, warnings are errors)"
  cargo clippy --workspace --all-targets -- -D warnings
  say "core builds without std (thumbv7em) and for the browser (wasm32)"
  cargo build -q -p netcents-core --target thumbv7em-none-eabihf
  cargo build -q -p netcents-core --target wasm32-unknown-unknown
  say "cargo clippy for the browser wallet and its modules in wasm32"
  cargo clippy -p netcents-wasm-wallet -p netcents-wasm-coins -p netcents-wasm-backup --all-targets --target wasm32-unknown-unknown -- -D warnings
  cargo clippy -p netcents-wasm-wallet --no-default-features --all-targets --target wasm32-unknown-unknown -- -D warnings
  say "cargo clippy for the JavaScript vendor engine in wasm32"
  cargo clippy -p netcents-vendor-js --target wasm32-unknown-unknown -- -D warnings
}

run_tests() {
  say "build the bank, the command-line wallet, the vendor server and the Worker for the end-to-end tests"
  cargo build -p netcents-bank -p netcents-cli -p netcents-vendor
  edge_build
  node_fetch_build
  node_vendor_build
  say "cargo test --workspace: core (vectors, properties, flows, the 100,000-step simulation), the bank on SQLite and PostgreSQL, the vendors in workerd and on their own server, the command-line wallet"
  cargo test --workspace "$@"
  conformance_wasm_test
  say "the browser wallet: WASM tests in Node and Chromium, then the end-to-end test in Chromium"
  wallet_test
}

run_benches() {
  say "the bank: issuance and capture on SQLite and PostgreSQL beside batch verification"
  cargo bench -p netcents-bank --bench load
  say "the vendor in workerd (paid requests per second, CPU per paid request), then the core's fast path against one verify_strict + one sign"
  edge_bench
}

run_demo() {
  say "the demo: the bank (SQLite), two vendors in workerd, the wallet and two shops"
  wallet_demo "$@"
}
