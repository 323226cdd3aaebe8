# Mutation testing of the core: `./x mutants [FILE…]`.
#
# Runs cargo-mutants (pinned) on netcents-core, all of it or the files named, with the core's
# own tests but the 100,000-step simulation (minutes a mutant; it runs in `./x test`), writes the
# report under target/mutants, and prints the score per file: mutants caught out of the viable
# ones (caught, missed and timed out; unviable mutants do not build and count for nothing).

MUTANTS_VERSION=25.3.1

mutants_setup() {
  if ! cargo mutants --version 2>/dev/null | grep -q " $MUTANTS_VERSION\$"; then
    echo "==> cargo install cargo-mutants $MUTANTS_VERSION"
    cargo install cargo-mutants --version "$MUTANTS_VERSION" --locked
  fi
}

mutants_run() {
  mutants_setup
  local files=()
  for f in "$@"; do files+=(--file "$f"); done
  echo "==> cargo mutants -p netcents-core ${files[*]} (report in target/mutants)"
  # cargo-mutants exits non-zero when a mutant survives; the score below says which.
  cargo mutants -p netcents-core "${files[@]}" --output target/mutants --no-shuffle \
    -- -- --skip simulation_100k_steps || true
  mutants_score target/mutants/mutants.out/outcomes.json
}

mutants_score() {
  python3 - "$1" <<'PY'
import json, sys, collections
outcomes = json.load(open(sys.argv[1]))["outcomes"]
per = collections.defaultdict(collections.Counter)
for o in outcomes:
    scenario = o.get("scenario")
    if not isinstance(scenario, dict) or "Mutant" not in scenario:
        continue
    per[scenario["Mutant"]["file"]][o["summary"]] += 1
print(f"{'file':40} {'caught':>7} {'missed':>7} {'timeout':>8} {'unviable':>9} {'score':>7}")
for f, c in sorted(per.items()):
    viable = c["CaughtMutant"] + c["MissedMutant"] + c["Timeout"]
    score = f"{100 * c['CaughtMutant'] / viable:.1f} %" if viable else "-"
    print(f"{f:40} {c['CaughtMutant']:7} {c['MissedMutant']:7} {c['Timeout']:8} {c['Unviable']:9} {score:>7}")
# A timeout (a mutant the tests never finish on) is viable and not caught: listed with the missed.
left = [(o["summary"], o["scenario"]["Mutant"]) for o in outcomes
        if isinstance(o.get("scenario"), dict) and o["summary"] in ("MissedMutant", "Timeout")]
for summary, m in left:
    fn = (m.get("function") or {}).get("function_name", "")
    kind = "missed" if summary == "MissedMutant" else "timeout"
    print(f"{kind}: {m['file']}:{m['span']['start']['line']}: in {fn}, replaced by {m.get('replacement', '')}")
PY
}

# `./x mutants-diff [BASE]`: the mutants of the lines a change adds or alters in core/src since
# BASE (default $NETCENTS_MUTANTS_BASE, else HEAD~1: on CI, the landing), with the core's tests
# but the 100,000-step simulation (the flows, properties and vectors catch what it would, in a
# fraction of the time). Fails on a surviving mutant, or when the run exceeds its time
# (MUTANTS_DIFF_SECONDS, default 1200): a rule added to the core without a test that notices
# its removal does not land.
mutants_diff() {
  local base=${1:-${NETCENTS_MUTANTS_BASE:-HEAD~1}}
  if ! git rev-parse -q --verify "$base^{commit}" >/dev/null; then
    echo "==> mutants of the change: no commit $base to compare with (a shallow clone?): nothing to test"
    return 0
  fi
  mkdir -p target/mutants-diff
  local diff=target/mutants-diff/core.diff
  git diff "$base" -- core/src >"$diff"
  if [ ! -s "$diff" ]; then
    echo "==> mutants of the change: core/src is unchanged since $(git rev-parse --short "$base")"
    return 0
  fi
  mutants_setup
  echo "==> cargo mutants --in-diff (core/src since $(git rev-parse --short "$base"), report in target/mutants-diff)"
  local status=0
  timeout "${MUTANTS_DIFF_SECONDS:-1200}" cargo mutants -p netcents-core --in-diff "$diff" \
    --output target/mutants-diff --no-shuffle -- -- --skip simulation_100k_steps || status=$?
  if [ -f target/mutants-diff/mutants.out/outcomes.json ]; then
    mutants_score target/mutants-diff/mutants.out/outcomes.json
  fi
  case $status in
    0) ;;
    124) echo "mutants of the change: over ${MUTANTS_DIFF_SECONDS:-1200} s; run ./x mutants-diff locally and split the change" >&2; return 1 ;;
    *) echo "mutants of the change: a mutant survived (or the build failed): add the test that notices it" >&2; return 1 ;;
  esac
}
