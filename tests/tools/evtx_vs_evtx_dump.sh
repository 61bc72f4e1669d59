#!/usr/bin/env bash
# Compares sigma-match reading raw .evtx files with sigma-match reading
# `evtx_dump -o jsonl` of the same files: the per-rule counts must be equal
# (issue 13), with logsource scoping (the default) and with --no-scope.
# Needs `evtx_dump` (`cargo install evtx`, 0.15.1) on PATH or in $EVTX_DUMP.
#
# usage: tests/tools/evtx_vs_evtx_dump.sh [--golden FILE] [RULES] [EVTX_FOLDER]
#   defaults: $SHARED/sigmahq/rules and $SHARED/events/evtx-attack-samples,
#   SHARED=${SIGMA_MATCH_SHARED:-../shared}; sigma-match from target/release.
#   --golden FILE also writes the evtx_dump side's counts (config, rule path
#   under RULES, count; plus an `events` row per config) for
#   tests/inputs.rs's shared-corpus test.
set -euo pipefail
golden=
if [ "${1:-}" = --golden ]; then golden=$2; shift 2; fi
shared=${SIGMA_MATCH_SHARED:-../shared}
rules=${1:-$shared/sigmahq/rules}
folder=${2:-$shared/events/evtx-attack-samples}
sm=${SIGMA_MATCH:-target/release/sigma-match}
dump=${EVTX_DUMP:-$(command -v evtx_dump || true)}
[ -x "$dump" ] || { echo "evtx_dump not found: cargo install evtx, or set EVTX_DUMP" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
while IFS= read -r -d '' f; do
  "$dump" -o jsonl "$f" >> "$tmp/dump.jsonl" 2>>"$tmp/dump.err" || echo "evtx_dump failed on $f" >&2
  n=$((n + 1))
done < <(find "$folder" -name '*.evtx' -type f -print0 | sort -z)
echo "evtx_dump: $n files, $(wc -l < "$tmp/dump.jsonl") records ($(grep -c . "$tmp/dump.err" || true) error lines)"
[ -n "$golden" ] && : > "$golden"
status=0
for cfg in scoped noscope; do
  args=()
  [ $cfg = noscope ] && args=(--no-scope)
  "$sm" -q --format json "${args[@]}" "$rules" "$tmp/dump.jsonl" > "$tmp/a.json" || true
  "$sm" -q --format json "${args[@]}" "$rules" "$folder" > "$tmp/b.json" 2>"$tmp/b.err" || true
  python3 - "$tmp/a.json" "$tmp/b.json" "$cfg" "$rules" "$golden" <<'PY' || status=1
import json, os, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
cfg, rules, golden = sys.argv[3], os.path.normpath(sys.argv[4]), sys.argv[5]
ca = {r["path"]: r["count"] for r in a["rules"]}
cb = {r["path"]: r["count"] for r in b["rules"]}
diff = sorted(k for k in ca.keys() | cb.keys() if ca.get(k) != cb.get(k))
print(f"[{cfg}] evtx_dump jsonl: {a['summary']['events']} events, {a['summary']['total_tags']} tags, {a['summary']['rules_with_hits']} rules with hits")
print(f"[{cfg}] raw .evtx:       {b['summary']['events']} events, {b['summary']['total_tags']} tags, {b['summary']['rules_with_hits']} rules with hits")
if golden:
    with open(golden, "a") as g:
        g.write(f"{cfg}\tevents\t{a['summary']['events']}\n")
        for k in sorted(ca):
            if ca[k]:
                g.write(f"{cfg}\t{os.path.relpath(os.path.normpath(k), rules)}\t{ca[k]}\n")
for k in diff[:20]:
    print(f"  differs: {k}: evtx_dump {ca.get(k)} vs .evtx {cb.get(k)}")
if diff or a["summary"]["events"] != b["summary"]["events"]:
    print(f"[{cfg}] DIFFERENT ({len(diff)} rules)")
    sys.exit(1)
print(f"[{cfg}] identical per-rule counts")
PY
done
exit $status
