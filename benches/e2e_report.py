#!/usr/bin/env python3
"""Prints the table of benches/e2e.sh: events/s, ratios, peak RSS, the five
targets of issue 6, and a per-rule count comparison with rsigma."""
import collections
import json
import os
import sys

tmp, events = sys.argv[1], int(sys.argv[2])
rows = {}
for line in open(os.path.join(tmp, "results.tsv")):
    name, n, wall, user, sys_, rss = line.rstrip("\n").split("\t")
    rows[name] = dict(n=int(n), wall=float(wall), user=float(user), sys=float(sys_), rss=int(rss))


def summary(name):
    """sigma-match's own JSON report of a run (None when absent)."""
    try:
        return json.load(open(os.path.join(tmp, name + ".out")))
    except (OSError, ValueError):
        return None


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else None


def check_loaded(name):
    """A run whose rules did not load measures nothing: say so loudly."""
    s = summary(name)
    if s and (s["summary"]["rules_loaded"] == 0 or s["summary"]["rules_failed"] > 0):
        print(f"WARNING: {name}: {s['summary']['rules_loaded']} rules loaded, "
              f"{s['summary']['rules_failed']} failed: {dict(s['failures_by_reason'])}", file=sys.stderr)


for name in ("sigma_match_j1", "sigma_match_all", "rules300_all", "rules3000_all", "unique_j1"):
    check_loaded(name)


def eps(name):
    r = rows.get(name)
    return r["n"] / r["wall"] if r and r["wall"] > 0 else None


def table(header, lines):
    """A Markdown table: header cells (text columns first, then numbers)."""
    print("\n| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i == 0 or h in ("status", "title", "rule id") else "---:"
                         for i, h in enumerate(header)) + "|")
    for cells in lines:
        print("| " + " | ".join(str(c) for c in cells) + " |")


table(["run", "events", "wall s", "user s", "sys s", "events/s", "peak RSS MB"],
      [(name, f"{r['n']:,}", f"{r['wall']:.2f}", f"{r['user']:.2f}", f"{r['sys']:.2f}",
        f"{eps(name):,.0f}" if eps(name) else "-", r["rss"]) for name, r in rows.items()])
def memo_rate(name):
    s = summary(name)
    return (f"{100 * s['summary']['value_scans_memoised'] / max(s['summary']['value_scans'], 1):.1f}% "
            f"of {s['summary']['value_scans']:,}") if s else "?"


uniq = summary("unique_j1")
if uniq:
    u = uniq["summary"]
    print(f"\nscan memo answered {memo_rate('sigma_match_j1')} value scans over bench.jsonl (repeated copies), "
          f"{memo_rate('unique_j1')} over unique.jsonl (each export once, {u['events']:,} events)")
    runs = [summary(f"unique_j1_{i}") for i in (1, 2, 3)]
    ours = median([r["summary"]["elapsed_seconds"] for r in runs if r])
    theirs = median([rows[f"rsigma_unique_{i}"]["wall"] - rows[f"rsigma_startup_{i}"]["wall"]
                     for i in (1, 2, 3) if f"rsigma_unique_{i}" in rows])
    if ours and theirs:
        print(f"unique.jsonl, evaluation only, one thread, medians of 3 (sigma-match: its in-run time; rsigma: "
              f"wall minus its start-up on an empty file): sigma-match {ours:.2f} s, rsigma {theirs:.2f} s: "
              f"{theirs / ours:.1f}x")

targets = []


def target(label, value, ok, fmt):
    if value is None:
        targets.append((label, "not measured", "-"))
    else:
        targets.append((label, fmt.format(value), "met" if ok(value) else "MISSED"))


def ratio(a, b):
    return a / b if a and b else None


target("1a. 1 thread vs rsigma (>= 5x)", ratio(eps("sigma_match_j1"), eps("rsigma")), lambda v: v >= 5, "{:.1f}x")
target("1b. all cores vs rsigma (>= 10x)", ratio(eps("sigma_match_all"), eps("rsigma")), lambda v: v >= 10, "{:.1f}x")
target("2a. floor / full eval, 1 thread (<= 2x)", ratio(eps("parse_only_j1"), eps("sigma_match_j1")), lambda v: v <= 2,
       "{:.2f}x")
target("2b. floor / full eval, all cores (<= 2x)", ratio(eps("parse_only_all"), eps("sigma_match_all")),
       lambda v: v <= 2, "{:.2f}x")
s300, s3000 = summary("rules300_all"), summary("rules3000_all")
if s300 and s3000:
    target(f"3. {s3000['summary']['rules_loaded']} rules / {s300['summary']['rules_loaded']} rules eval time (<= 3x)",
           s3000["summary"]["elapsed_seconds"] / s300["summary"]["elapsed_seconds"], lambda v: v <= 3, "{:.2f}x")
mem = [k for k in rows if k.startswith("stdin_")]
target(f"4a. peak RSS, {mem[0][6:] if mem else '?'} from stdin (< 300 MB)", rows[mem[0]]["rss"] if mem else None,
       lambda v: v < 300, "{} MB")
target("4b. peak anonymous RSS, mmap (< 300 MB)", rows.get("mmap_anon_peak", {}).get("rss"), lambda v: v < 300, "{} MB")
starts = [r for k, r in rows.items() if k.startswith("startup_snapshot_j1")]
start_wall = median([r["wall"] for r in starts])
start_cpu = median([r["user"] + r["sys"] for r in starts])
target(f"5. start-up, full snapshot, 1 thread (< 0.5 s; median of {len(starts)}, CPU {start_cpu or 0:.2f} s)",
       start_wall, lambda v: v < 0.5, "{:.2f} s")
table(["target", "measured", "status"], targets)
full = summary("sigma_match_all")
if full:
    s = full["summary"]
    print(f"\nissue 2 figure: {s['rules_loaded']} rules over {s['events']:,} events: "
          f"{s['events_per_second']:,.0f} events/s in-run ({eps('sigma_match_all'):,.0f} wall incl. start-up), "
          f"peak RSS {rows['sigma_match_all']['rss']} MB")

# Per-rule counts: sigma-match (JSON report) vs rsigma (one JSON match per line).
def compare(sm_json, rs_ndjson, label, show=40):
    if not (os.path.exists(sm_json) and os.path.exists(rs_ndjson)):
        return
    ours = {r["id"] or r["path"]: (r["count"], r["title"]) for r in json.load(open(sm_json))["rules"]
            if r["state"] == "ok"}
    theirs, titles = collections.Counter(), {}
    for line in open(rs_ndjson, errors="replace"):
        if not line.startswith("{"):
            continue
        try:
            m = json.loads(line)
        except ValueError:
            continue
        rid = m.get("rule_id") or m.get("rule_title")
        theirs[rid] += 1
        titles[rid] = m.get("rule_title", "")
    diffs = [(rid, c, theirs.get(rid, 0), t) for rid, (c, t) in ours.items() if c != theirs.get(rid, 0)]
    diffs += [(rid, 0, n, titles[rid]) for rid, n in theirs.items() if rid not in ours]
    print(f"\nper-rule counts vs rsigma, {label}: {len(ours) - len(diffs)} of {len(ours)} rules agree, {len(diffs)} differ")
    if diffs:
        worst = [(rid, t, a, b) for rid, a, b, t in sorted(diffs, key=lambda d: -abs(d[1] - d[2]))[:show]]
        if len(diffs) > show:
            worst.append((f"... {len(diffs) - show} more", "", "", ""))
        table(["rule id", "title", "sigma-match", "rsigma"], worst)


compare(os.path.join(tmp, "sigma_match_all.out"), os.path.join(tmp, "rsigma.out"), "bench.jsonl", show=10)
compare(os.path.join(tmp, "cmp_flat.sm.json"), os.path.join(tmp, "cmp_flat.rs.ndjson"), "evtx-samples.flat.jsonl")
compare(os.path.join(tmp, "cmp_plaso.sm.json"), os.path.join(tmp, "cmp_plaso.rs.ndjson"), "plaso-attack.jsonl", show=10)
compare(os.path.join(tmp, "cmp_plaso_no_xml.sm.json"), os.path.join(tmp, "cmp_plaso.rs.ndjson"),
        "plaso-attack.jsonl with --no-evtx-xml")
