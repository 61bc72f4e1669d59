#!/usr/bin/env bash
# Correlation cost, end to end: SigmaHQ rules/ alone vs rules/ + a set of
# correlation rules (testdata/correlation: brute force / spraying over 4625,
# recon temporal / temporal_ordered with a boolean condition, the spec's
# chained example) over >= 1,000,000 events (evtx-samples.flat.jsonl x40 +
# plaso-attack.jsonl, as benches/e2e.sh builds them). User CPU time is the
# figure (the machine is shared); REPEAT runs each, medians.
#
#   cargo build --release && SIGMA_MATCH_SHARED=../shared benches/correlation_e2e.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
SHARED=$(cd "${SIGMA_MATCH_SHARED:-$here/../shared}" && pwd)
BIN=${BIN:-$here/target/release/sigma-match}
REPEAT=${REPEAT:-1}
COPIES=${COPIES:-40}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sigma-match-corr.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for _ in $(seq "$COPIES"); do cat "$SHARED/events/evtx-samples.flat.jsonl"; done > "$tmp/bench.jsonl"
cat "$SHARED/events/plaso-attack.jsonl" >> "$tmp/bench.jsonl"
echo "# bench.jsonl: $(wc -l < "$tmp/bench.jsonl") events; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$tmp/corr"
cp "$here/testdata/correlation/bruteforce_4625.yml" "$here/testdata/correlation/spec_temporal.yml" \
   "$here/testdata/correlation/spec_failed_then_success.yml" "$tmp/corr/"
run() { # label, args...
  local label=$1; shift
  for i in $(seq "$REPEAT"); do
    /usr/bin/time -f "%U %e %M" -o "$tmp/t" "$BIN" -q --format json "$@" "$tmp/bench.jsonl" > "$tmp/out.json"
    read -r user wall rss < "$tmp/t"
    echo -e "$label\t$user\t$wall\t$rss"
  done
}
echo -e "# run\tuser_s\twall_s\tpeak_rss_kb"
run "rules/"               -r "$SHARED/sigmahq/rules"
run "rules/+correlations"  -r "$SHARED/sigmahq/rules" -r "$tmp/corr"
python3 - "$tmp/out.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for c in d.get("correlations", []):
    s = c["stats"]
    print(f"# {c['type']:<16} {s['firings']:>5} firings {s['groups']:>4} groups {s['records']:>8} records  {c['title']}")
PY
