# Shared steps of ./x. Every step says what it does and installs only what is missing.

say() { printf '\n==> %s\n' "$*"; }

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
}

run_tests() {
  say "cargo test --workspace (core vectors, properties, the 100,000-step simulation; the bank on SQLite and PostgreSQL)"
  cargo test --workspace "$@"
}

run_benches() {
  say "core fast path against one verify_strict + one sign"
  cargo bench -p netcents-core --bench fast_path
}

run_demo() {
  echo "The demo needs the bank, the edge vendor and the wallet pages; see README.md." >&2
  exit 1
}
