# Mutation testing of the core: `./x mutants [FILE…]`.
#
# Runs cargo-mutants (pinned) on netcents-core, all of it or the files named, with the core's
# own tests, writes the report under target/mutants, and prints the score per file: mutants
# caught out of the viable ones (unviable mutants do not build and count for nothing).

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
  cargo mutants -p netcents-core "${files[@]}" --output target/mutants --no-shuffle || true
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
missed = [o["scenario"]["Mutant"] for o in outcomes
          if isinstance(o.get("scenario"), dict) and o["summary"] == "MissedMutant"]
for m in missed:
    fn = (m.get("function") or {}).get("function_name", "")
    print(f"missed: {m['file']}:{m['span']['start']['line']}: in {fn}, replaced by {m.get('replacement', '')}")
PY
}
