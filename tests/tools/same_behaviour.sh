#!/usr/bin/env bash
# No behaviour change by accident, beyond tests/golden_counts.rs: compares two
# sigma-match binaries (e.g. main before and after a refactor) on everything a
# user sees, over the shared SigmaHQ snapshot and exports:
#   - `verify --format json` over rules, rules-emerging-threats, rules-threat-hunting, rules-placeholder
#   - `explain` of four rules x six option sets (plain, --query lucene, --query timesketch, --events, --event)
#   - runs over plaso-attack, evtx-samples.flat and evtx-samples (nested), each with no -c,
#     Timesketch's sigma_config.yaml and configs/windows-logsources.yml: --matches and --tag-out
#     byte for byte, and the JSON report with timing and profiling fields removed.
# Usage: SIGMA_MATCH_SHARED=../shared tests/tools/same_behaviour.sh OLD_BIN NEW_BIN
# Exit 0 when everything is identical, 1 (with the differing files named) otherwise.
set -uo pipefail
OLD=$1; NEW=$2
S=${SIGMA_MATCH_SHARED:?set SIGMA_MATCH_SHARED to the shared data folder}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
R=$S/sigmahq/rules; E=$S/events
RULES_EXPLAIN="category/antivirus/av_advanced_persistent_threat.yml
windows/powershell/powershell_module/posh_pm_invoke_obfuscation_via_use_mhsta.yml
windows/process_creation/proc_creation_win_rundll32_mshtml_runhtmlapplication.yml
windows/process_creation/proc_creation_win_whoami_execution.yml"

norm_report() { # drop fields that measure time or the scan memo, keep every count
  python3 - "$1" "$2" <<'PY'
import json, sys
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items()
                if not any(s in k for s in ('elapsed', 'per_s', 'nanos', 'value_scans', 'memo'))}
    if isinstance(o, list):
        return [strip(x) for x in o]
    return o
json.dump(strip(json.load(open(sys.argv[1]))), open(sys.argv[2], 'w'), sort_keys=True, indent=0)
PY
}

outputs() { # BIN DIR
  local B=$1 D=$2 i=0 ev cfg r args
  mkdir -p "$D"
  "$B" verify --format json "$R" "$S/sigmahq/rules-emerging-threats" "$S/sigmahq/rules-threat-hunting" \
    "$S/sigmahq/rules-placeholder" > "$D/verify.json" 2>&1; echo "rc=$?" >> "$D/verify.json"
  : > "$D/explain.txt"
  while read -r r; do
    for args in "" "--query lucene" "-c $S/timesketch/sigma_config.yaml --query timesketch" \
      "--events $E/plaso-attack.jsonl --limit 2" "--event $E/evtx-samples.flat.jsonl:5" \
      "-c $ROOT/configs/windows-logsources.yml --events $E/evtx-samples.flat.jsonl --limit 1"; do
      echo "== $r $args" >> "$D/explain.txt"
      # shellcheck disable=SC2086
      (cd "$ROOT" && "$B" explain "$R/$r" $args) >> "$D/explain.txt" 2>&1; echo "rc=$?" >> "$D/explain.txt"
    done
  done <<< "$RULES_EXPLAIN"
  for ev in plaso-attack.jsonl evtx-samples.flat.jsonl evtx-samples.jsonl; do
    for cfg in "" "-c $S/timesketch/sigma_config.yaml" "-c $ROOT/configs/windows-logsources.yml"; do
      i=$((i+1))
      # shellcheck disable=SC2086
      "$B" -q -j1 "$R" "$E/$ev" $cfg --format json --matches "$D/$i.matches.jsonl" --tag-out "$D/$i.tag.jsonl" \
        > "$D/$i.report.raw" 2> "$D/$i.err"; echo "rc=$?" >> "$D/$i.err"
      norm_report "$D/$i.report.raw" "$D/$i.report.json" && rm "$D/$i.report.raw"
    done
  done
}

outputs "$OLD" "$W/old"
outputs "$NEW" "$W/new"
ok=0
for f in "$W"/old/*; do
  b=$(basename "$f")
  if cmp -s "$f" "$W/new/$b"; then echo "identical: $b"; else echo "DIFFERENT: $b"; ok=1; fi
done
[ $ok = 0 ] && echo "same behaviour: all outputs identical" || echo "outputs differ (see above)"
exit $ok
