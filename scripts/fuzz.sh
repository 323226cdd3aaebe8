# Fuzzing steps (cargo-fuzz, libFuzzer, on a nightly toolchain): source this file, then call the
# functions. The targets live in fuzz/ (outside the workspace); docs/SECURITY.md lists them.
#
#   fuzz_setup        install what is missing: a nightly toolchain (minimal), cargo-fuzz 0.13.1
#   fuzz_run [SECS]   build every target, run each in turn for SECS seconds (default 60), print
#                     executions and the result per target; a crash fails the run and prints the
#                     path of the input that reproduces it
#
# Needs the repository root as the working directory (./x does `cd` there).

FUZZ_CARGO_FUZZ=0.13.1

fuzz_setup() {
  if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "==> rustup toolchain install nightly --profile minimal"
    rustup toolchain install nightly --profile minimal
  fi
  if ! cargo fuzz --version 2>/dev/null | grep -q " $FUZZ_CARGO_FUZZ\$"; then
    echo "==> cargo install cargo-fuzz $FUZZ_CARGO_FUZZ"
    cargo install cargo-fuzz --version "$FUZZ_CARGO_FUZZ" --locked
  fi
}

# Every target, one a line.
fuzz_targets() {
  cargo +nightly fuzz list --fuzz-dir fuzz
}

# Seeds each signed-object target's corpus with the test vectors of its kind
# (core/vectors/vectors.txt), so the fuzzer starts from valid objects.
fuzz_seed() {
  local name kind _outcome hex dir
  while IFS=$'\t' read -r name kind _outcome hex; do
    case "$name" in '#'* | '') continue ;; esac
    dir="fuzz/corpus/signed_${kind//-/_}"
    [ -d "fuzz/fuzz_targets" ] && [ -f "fuzz/fuzz_targets/signed_${kind//-/_}.rs" ] || continue
    mkdir -p "$dir"
    perl -e 'print pack("H*", $ARGV[0])' "$hex" >"$dir/vector-$name"
  done <core/vectors/vectors.txt
}

fuzz_run() {
  local secs=${1:-60}
  case "$secs" in '' | *[!0-9]*) echo "fuzz: SECONDS must be a whole number, not '$secs'" >&2; return 2 ;; esac
  # Its own target directory: nightly and sanitizer flags would otherwise rebuild the
  # workspace's artefacts.
  export CARGO_TARGET_DIR="$PWD/fuzz/target"
  say "build the fuzz targets (nightly, AddressSanitizer, debug assertions)"
  nice -n 10 cargo +nightly fuzz build --fuzz-dir fuzz
  fuzz_seed
  local logs=fuzz/logs
  mkdir -p "$logs"
  local summary=() failed=0 t log runs rate result
  for t in $(fuzz_targets); do
    say "fuzz $t for ${secs} s"
    log="$logs/$t.log"
    # One job at a time, at low priority; -timeout and -rss_limit_mb turn hangs and blow-ups
    # into failures too.
    if nice -n 10 cargo +nightly fuzz run --fuzz-dir fuzz "$t" -- \
      -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
      >"$log" 2>&1; then
      result=ok
    else
      result="FAILED: reproduce with $(grep -o 'fuzz/artifacts/[^ ]*' "$log" | tail -1 || echo "(see $log)")"
      failed=1
      tail -n 40 "$log"
    fi
    runs=$(awk '/stat::number_of_executed_units:/{print $2}' "$log" | tail -1)
    rate=$(awk '/stat::average_exec_per_sec:/{print $2}' "$log" | tail -1)
    summary+=("$(printf '%-26s %12s runs %8s/s  %s' "$t" "${runs:-?}" "${rate:-?}" "$result")")
  done
  say "fuzz results (${secs} s per target; logs in $logs)"
  printf '%s\n' "${summary[@]}"
  if [ "$failed" -ne 0 ]; then
    echo "fuzz: a target failed; run the reproducer with: cargo +nightly fuzz run --fuzz-dir fuzz TARGET PATH" >&2
    return 1
  fi
}
