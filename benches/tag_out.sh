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

bench() {
    local name="$1"; shift
    local walls=() cpus=()
    for _ in $(seq "$RUNS"); do
        rm -f "$WORK"/out*.jsonl
        local t
        t=$( { TIMEFORMAT='%R %U %S'; time "$BIN" "$RULES" "$EVENTS" -q "$@" > /dev/null 2>&1; } 2>&1 )
        read -r real user sys <<< "$t"
        walls+=("$real")
        cpus+=("$(awk "BEGIN {print $user + $sys}")")
    done
    printf '%-34s wall %6.2fs   cpu %6.2fs\n' "$name" \
        "$(printf '%s\n' "${walls[@]}" | median)" "$(printf '%s\n' "${cpus[@]}" | median)"
}

bench "count (report only)"
bench "--tag-out FILE" --tag-out "$WORK/out.jsonl"
bench "--tag-out FILE --matched-only" --tag-out "$WORK/out.jsonl" --matched-only
bench "--matches FILE" --matches "$WORK/out-m.jsonl"
bench "--tag-out FILE --matches FILE" --tag-out "$WORK/out.jsonl" --matches "$WORK/out-m.jsonl"
