#!/usr/bin/env bash
# End-to-end cost of --tag-out / --matches against a plain count run on the
# same input. Usage: benches/tag_out.sh [EVENTS] [RULES] [RUNS]
# Defaults: the shared Plaso export concatenated 4x, the shared SigmaHQ rules, 5 runs.
# Prints, per variant, the median wall time and the median CPU (user+sys) time.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${SIGMA_MATCH_SHARED:-../shared}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
EVENTS="${1:-}"
if [ -z "$EVENTS" ]; then
    EVENTS="$WORK/plaso-x4.jsonl"
    for _ in 1 2 3 4; do cat "$SHARED/events/plaso-attack.jsonl"; done > "$EVENTS"
fi
RULES="${2:-$SHARED/sigmahq/rules}"
RUNS="${3:-5}"
cargo build --release --quiet
BIN="${CARGO_TARGET_DIR:-target}/release/sigma-match"
echo "input: $EVENTS ($(du -h "$EVENTS" | cut -f1), $(wc -l < "$EVENTS") lines); rules: $RULES; $RUNS runs; $(nproc) cores"
# Warm the page cache.
cat "$EVENTS" > /dev/null

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

NAMES=("count (report only)" "--tag-out FILE" "--tag-out FILE --matched-only" "--matches FILE" "--tag-out FILE --matches FILE")
ARGS=("" "--tag-out $WORK/out.jsonl" "--tag-out $WORK/out.jsonl --matched-only" "--matches $WORK/out-m.jsonl"
      "--tag-out $WORK/out.jsonl --matches $WORK/out-m.jsonl")
# Rounds interleave the variants, so load changes on a shared machine hit them alike.
for _ in $(seq "$RUNS"); do
    for i in "${!NAMES[@]}"; do
        rm -f "$WORK"/out*.jsonl
        # shellcheck disable=SC2086  # ARGS entries are word lists
        t=$( { TIMEFORMAT='%R %U %S'; time "$BIN" "$RULES" "$EVENTS" -q ${ARGS[$i]} > /dev/null 2>&1; } 2>&1 )
        read -r real user sys <<< "$t"
        echo "$real" >> "$WORK/wall.$i"
        awk "BEGIN {print $user + $sys}" >> "$WORK/cpu.$i"
    done
done
for i in "${!NAMES[@]}"; do
    printf '%-34s wall %6.2fs   cpu %6.2fs\n' "${NAMES[$i]}" "$(median < "$WORK/wall.$i")" "$(median < "$WORK/cpu.$i")"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
