#!/usr/bin/env bash
# End-to-end benchmark: sigma-match against the parse-only floor and rsigma.
# First the analyst's real input, each export once (issue 14: unique.jsonl =
# the flat evtx_dump export + the Plaso export; plaso4.jsonl = the Plaso
# export x4 for the evaluation-vs-floor ratio); then the repeated benchmark of
# issue 6 (and the issue-2 figure): rule-count scaling, start-up, memory.
#
#   cargo build --release
#   SIGMA_MATCH_SHARED=../shared benches/e2e.sh            # everything
#   RSIGMA=/path/to/rsigma MEM_GB=5 benches/e2e.sh          # knobs (see below)
#
# Inputs are built in a temporary directory (removed at exit, never committed):
#   bench.jsonl = evtx-samples.flat.jsonl x40 + plaso-attack.jsonl (~1.02M events, ~1 GB)
# Knobs: BIN (sigma-match binary), RSIGMA (rsigma binary, default: on PATH or
# /work/tools/bin), MEM_GB (stdin size for the memory run, 0 = skip), COPIES (x40),
# KEEP=1 keeps the temporary directory, SECTIONS (comma-separated, default all:
# `unique` = the unique-input rows and goal table of issue 14, `core` = the
# runs of issue 6, `inputs` = compressed and .evtx input of issue 13), REPEAT
# (runs of each unique-input and input row, default 3; medians reported),
# EVTX_DUMP / CHAINSAW / HAYABUSA (binaries for the .evtx comparison, default:
# on PATH). Needs /usr/bin/time and python3 (and gzip, zstd for `inputs`).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# Absolute: the rule subsets below are symlinks into it.
SHARED=$(cd "${SIGMA_MATCH_SHARED:-$here/../shared}" && pwd)
BIN=${BIN:-${CARGO_TARGET_DIR:-$here/target}/release/sigma-match}
RSIGMA=${RSIGMA:-$(command -v rsigma || echo /work/tools/bin/rsigma)}
MEM_GB=${MEM_GB:-5}
COPIES=${COPIES:-40}
RULES=$SHARED/sigmahq/rules
[ -x "$BIN" ] || { echo "no binary at $BIN: run cargo build --release (or set BIN)" >&2; exit 2; }
[ -d "$RULES" ] || { echo "no SigmaHQ rules at $RULES: set SIGMA_MATCH_SHARED" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sigma-match-bench.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$tmp"' EXIT
results=$tmp/results.tsv
: > "$results"

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# building inputs in $tmp"
for _ in $(seq "$COPIES"); do cat "$SHARED/events/evtx-samples.flat.jsonl"; done > "$tmp/bench.jsonl"
cat "$SHARED/events/plaso-attack.jsonl" >> "$tmp/bench.jsonl"
# The same two exports once each: no repeated copies, so the scan memo only
# sees the repetition a real timeline has.
cat "$SHARED/events/evtx-samples.flat.jsonl" "$SHARED/events/plaso-attack.jsonl" > "$tmp/unique.jsonl"
for _ in 1 2 3 4; do cat "$SHARED/events/plaso-attack.jsonl"; done > "$tmp/plaso4.jsonl"
events=$(wc -l < "$tmp/bench.jsonl")
echo "# bench.jsonl: $events events, $(du -h "$tmp/bench.jsonl" | cut -f1)"
: > "$tmp/empty.jsonl"

# Rule subsets for the scaling run: the first N rule files of rules/ by path.
subset() {
  mkdir -p "$tmp/rules$1"
  find "$RULES" -path '*/deprecated' -prune -o \( -name '*.yml' -o -name '*.yaml' \) -print | sort > "$tmp/all_rules"
  head -n "$1" "$tmp/all_rules" | while read -r f; do ln -s "$f" "$tmp/rules$1/$(echo "${f#"$RULES"/}" | tr / _)"; done
}
subset 300
subset 3000

# measure NAME EVENTS CMD...: wall, user and system seconds, peak RSS (MB).
measure() {
  local name=$1 n=$2; shift 2
  /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$@" > "$tmp/$name.out" 2> "$tmp/$name.err" || {
    echo "$name failed:" >&2; tail -5 "$tmp/$name.err" >&2; return 1; }
  read -r wall user sys rss < "$tmp/time"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$n" "$wall" "$user" "$sys" "$((rss / 1024))" >> "$results"
  printf '  %-28s %8.2fs wall %8.2fs user %6d MB\n' "$name" "$wall" "$user" "$((rss / 1024))"
}

want() { [ -z "${SECTIONS:-}" ] || [[ ",$SECTIONS," == *",$1,"* ]]; }

# Issue 14 first: unique real input, each export once, wall-clock including
# start-up for every tool, REPEAT rounds with the rows interleaved (medians
# reported). plaso4.jsonl (the Plaso export x4) gives the evaluation-vs-floor
# ratio on one thread: sigma-match's in-run time (start-up excluded) against
# the parse-only pass over the same file.
if want unique; then
  echo "# unique input (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  nu=$(wc -l < "$tmp/unique.jsonl"); np=$(wc -l < "$tmp/plaso4.jsonl")
  for i in $(seq "${REPEAT:-3}"); do
    measure "u_sm_j1_$i" "$nu" "$BIN" -q -j1 --format json "$RULES" "$tmp/unique.jsonl"
    measure "u_sm_all_$i" "$nu" "$BIN" -q --format json "$RULES" "$tmp/unique.jsonl"
    [ -x "$RSIGMA" ] && measure "u_rsigma_$i" "$nu" "$RSIGMA" engine eval -r "$RULES" -e "@$tmp/unique.jsonl"
    measure "u_floor_j1_$i" "$nu" "$BIN" --parse-only -j1 "$tmp/unique.jsonl"
    measure "p4_sm_j1_$i" "$np" "$BIN" -q -j1 --format json "$RULES" "$tmp/plaso4.jsonl"
    measure "p4_floor_j1_$i" "$np" "$BIN" --parse-only -j1 "$tmp/plaso4.jsonl"
    measure "p4_startup_j1_$i" 0 "$BIN" -q -j1 --format json "$RULES" "$tmp/empty.jsonl"
  done
  echo "# load after the unique rows: $(cut -d' ' -f1-3 /proc/loadavg)"
  python3 "$here/benches/e2e_unique.py" "$tmp"
fi

if want core; then
echo "# runs (wall time includes start-up for every tool)"
measure parse_only_j1 "$events" "$BIN" --parse-only -j1 "$tmp/bench.jsonl"
measure parse_only_all "$events" "$BIN" --parse-only "$tmp/bench.jsonl"
measure sigma_match_j1 "$events" "$BIN" -q -j1 --format json "$RULES" "$tmp/bench.jsonl"
measure sigma_match_all "$events" "$BIN" -q --format json "$RULES" "$tmp/bench.jsonl"
measure rules300_all "$events" "$BIN" -q --format json "$tmp/rules300" "$tmp/bench.jsonl"
measure rules3000_all "$events" "$BIN" -q --format json "$tmp/rules3000" "$tmp/bench.jsonl"
measure unique_j1 "$(wc -l < "$tmp/unique.jsonl")" "$BIN" -q -j1 --format json "$RULES" "$tmp/unique.jsonl"
# Start-up: seven runs over an empty input; the report takes the medians.
for i in 1 2 3 4 5 6 7; do
  measure "startup_snapshot_j1_$i" 0 "$BIN" -q -j1 "$RULES" "$SHARED/sigmahq/rules-threat-hunting" \
    "$SHARED/sigmahq/rules-emerging-threats" "$SHARED/sigmahq/rules-placeholder" -e "$tmp/empty.jsonl"
done
if [ -x "$RSIGMA" ]; then
  measure rsigma "$events" "$RSIGMA" engine eval -r "$RULES" -e "@$tmp/bench.jsonl"
  # Without repeated copies (the scan memo's hit rate is lower there), and
  # each tool's start-up alone, so the report can compare evaluation only.
  # Three of each, interleaved; the report takes medians (the difference of
  # two short runs is noisy on a shared machine).
  for i in 1 2 3; do
    measure "rsigma_unique_$i" "$(wc -l < "$tmp/unique.jsonl")" "$RSIGMA" engine eval -r "$RULES" -e "@$tmp/unique.jsonl"
    measure "rsigma_startup_$i" 0 "$RSIGMA" engine eval -r "$RULES" -e "@$tmp/empty.jsonl"
    measure "unique_j1_$i" "$(wc -l < "$tmp/unique.jsonl")" "$BIN" -q -j1 --format json "$RULES" "$tmp/unique.jsonl"
  done
else
  echo "  rsigma: not installed (cargo install --root DIR rsigma --locked; set RSIGMA)"
fi

# Memory, stream: MEM_GB of events through a pipe (never written to disk).
if [ "$MEM_GB" -gt 0 ]; then
  size=$(stat -c %s "$tmp/bench.jsonl")
  reps=$(( (MEM_GB * 1000000000 + size - 1) / size ))
  measure "stdin_${MEM_GB}GB" "$((reps * events))" bash -c \
    "for i in \$(seq $reps); do cat '$tmp/bench.jsonl'; done | '$BIN' -q --format json '$RULES' -"
fi
# Memory, mmap: peak anonymous RSS (file pages of the map are not anonymous).
"$BIN" -q --format json "$RULES" "$tmp/bench.jsonl" > /dev/null 2>&1 &
pid=$!; anon=0
while kill -0 "$pid" 2> /dev/null; do
  a=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status" 2> /dev/null || echo 0)
  [ "${a:-0}" -gt "$anon" ] && anon=$a
  sleep 0.1
done
wait "$pid" || true
printf 'mmap_anon_peak\t0\t0\t0\t0\t%s\n' "$((anon / 1024))" >> "$results"
echo "  mmap peak anonymous RSS: $((anon / 1024)) MB"

# Per-rule count comparison on each export alone (fast): the flat evtx export,
# and the Plaso export with and without sigma-match's xml_string resolution
# (rsigma sees only Plaso's top-level keys).
if [ -x "$RSIGMA" ]; then
  for c in "flat:$SHARED/events/evtx-samples.flat.jsonl:" "plaso:$SHARED/events/plaso-attack.jsonl:" \
           "plaso_no_xml:$SHARED/events/plaso-attack.jsonl:--no-evtx-xml"; do
    IFS=: read -r label file flag <<< "$c"
    "$BIN" -q --format json $flag "$RULES" "$file" > "$tmp/cmp_$label.sm.json"
    [ -s "$tmp/cmp_${label%_no_xml}.rs.ndjson" ] ||
      "$RSIGMA" engine eval -q -r "$RULES" -e "@$file" > "$tmp/cmp_${label%_no_xml}.rs.ndjson" 2> /dev/null
  done
fi

fi # core

# Issue 13: compressed input against the same file uncompressed (all cores),
# and raw .evtx input against evtx_dump + sigma-match and the native EVTX
# tools when installed. REPEAT runs each, interleaved; the report takes medians.
if want inputs; then
  echo "# inputs: compressing bench.jsonl (gzip -6, zstd -3)"
  gzip -6 -c "$tmp/bench.jsonl" > "$tmp/bench.jsonl.gz"
  zstd -q -3 -T0 -c "$tmp/bench.jsonl" > "$tmp/bench.jsonl.zst"
  echo "# gzip $(du -h "$tmp/bench.jsonl.gz" | cut -f1), zstd $(du -h "$tmp/bench.jsonl.zst" | cut -f1); load: $(cut -d' ' -f1-3 /proc/loadavg)"
  EVTX=$SHARED/events/evtx-attack-samples
  nevtx=$(find "$EVTX" -name '*.evtx' | wc -l)
  dump=${EVTX_DUMP:-$(command -v evtx_dump || true)}
  chainsaw=${CHAINSAW:-$(command -v chainsaw || true)}
  hayabusa=${HAYABUSA:-$(command -v hayabusa || true)}
  for i in $(seq "${REPEAT:-3}"); do
    measure "input_plain_$i" "$events" "$BIN" -q --format json "$RULES" "$tmp/bench.jsonl"
    measure "input_gzip_$i" "$events" "$BIN" -q --format json "$RULES" "$tmp/bench.jsonl.gz"
    measure "input_zstd_$i" "$events" "$BIN" -q --format json "$RULES" "$tmp/bench.jsonl.zst"
    measure "evtx_folder_$i" 0 "$BIN" -q --format json "$RULES" "$EVTX"
    if [ -x "$dump" ]; then
      measure "evtx_dump_then_sm_$i" 0 bash -c \
        "find '$EVTX' -name '*.evtx' -print0 | sort -z | xargs -0 -n1 '$dump' -o jsonl | '$BIN' -q --format json '$RULES' -"
      measure "evtx_dump_only_$i" 0 bash -c \
        "find '$EVTX' -name '*.evtx' -print0 | sort -z | xargs -0 -n1 '$dump' -o jsonl > /dev/null"
    fi
    [ -x "$chainsaw" ] && measure "chainsaw_$i" 0 "$chainsaw" hunt "$EVTX" -s "$RULES" --mapping \
      "${CHAINSAW_MAPPING:-mappings/sigma-event-logs-all.yml}" -q
    [ -x "$hayabusa" ] && measure "hayabusa_$i" 0 "$hayabusa" csv-timeline -d "$EVTX" -r "$RULES" -o "$tmp/hayabusa.csv" -q -w -C
  done
  python3 - "$tmp" "$events" "$nevtx" <<'PY'
import json, os, sys
tmp, events, nevtx = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = {}
for line in open(os.path.join(tmp, "results.tsv")):
    name, n, wall, user, sys_, rss = line.rstrip("\n").split("\t")
    rows[name] = (float(wall), float(user), int(rss))
def med(prefix):
    w = sorted(v[0] for k, v in rows.items() if k.rsplit("_", 1)[0] == prefix)
    return w[len(w) // 2] if w else None
plain = med("input_plain")
print("# inputs (medians of the repeated runs, wall seconds incl. start-up)")
for name in ("input_plain", "input_gzip", "input_zstd"):
    w = med(name)
    if w:
        print(f"  {name:22s} {w:7.2f}s  {events / w:12,.0f} events/s  {plain / w:6.0%} of plain")
try:
    ev = json.load(open(os.path.join(tmp, "evtx_folder_1.out")))["summary"]["events"]
except (OSError, ValueError, KeyError):
    ev = 0
for name in ("evtx_folder", "evtx_dump_then_sm", "evtx_dump_only", "chainsaw", "hayabusa"):
    w = med(name)
    if w:
        print(f"  {name:22s} {w:7.2f}s  {nevtx} files, {ev} records, {ev / w:10,.0f} records/s")
PY
fi

want core && python3 "$here/benches/e2e_report.py" "$tmp" "$events"
want core && want unique && python3 "$here/benches/e2e_unique.py" "$tmp" --again
