#!/usr/bin/env python3
"""Prints the unique-input rows of benches/e2e.sh and the goal table of
issue 14: one thread and all cores against rsigma on unique real input
(wall-clock including start-up), and sigma-match's evaluation against the
parse-only floor on the Plaso export x4 (one thread, start-up excluded).
Medians of the interleaved rounds; user CPU seconds next to wall seconds
(on a shared machine the CPU time is the steadier figure)."""
import json
import os
import re
import sys

tmp = sys.argv[1]
again = "--again" in sys.argv[2:]
rows = {}
for line in open(os.path.join(tmp, "results.tsv")):
    name, n, wall, user, sys_, rss = line.rstrip("\n").split("\t")
    rows[name] = dict(n=int(n), wall=float(wall), user=float(user), sys=float(sys_), rss=int(rss))


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    return xs[len(xs) // 2] if xs else None


def runs(prefix):
    return [v for k, v in rows.items() if re.fullmatch(re.escape(prefix) + r"_\d+", k)]


def med(prefix, key):
    return median([r[key] for r in runs(prefix)])


def in_run(prefix):
    """Seconds each run spent on its input, start-up excluded: sigma-match's
    JSON summary, or the parse-only line."""
    out = []
    for k in rows:
        if not re.fullmatch(re.escape(prefix) + r"_\d+", k):
            continue
        try:
            text = open(os.path.join(tmp, k + ".out")).read()
        except OSError:
            continue
        m = re.search(r"\| ([0-9.]+)s,", text)
        if m:
            out.append(float(m.group(1)))
            continue
        try:
            out.append(json.loads(text)["summary"]["elapsed_seconds"])
        except (ValueError, KeyError):
            pass
    return median(out)


labels = [
    ("u_sm_j1", "sigma-match -j1, unique.jsonl"),
    ("u_sm_all", "sigma-match, all cores, unique.jsonl"),
    ("u_rsigma", "rsigma engine eval 0.23.0, unique.jsonl"),
    ("u_floor_j1", "--parse-only -j1, unique.jsonl"),
    ("p4_sm_j1", "sigma-match -j1, plaso4.jsonl"),
    ("p4_floor_j1", "--parse-only -j1, plaso4.jsonl"),
    ("p4_startup_j1", "sigma-match -j1, empty input (start-up)"),
]
if again:
    print("\n# unique input again (issue 14; the same figures as printed first)")
print("\n| run (medians of %d) | events | wall s | user s | in-run s | events/s (wall) | peak RSS MB |"
      % max((len(runs(p)) for p, _ in labels), default=0))
print("|---|---:|---:|---:|---:|---:|---:|")
for prefix, label in labels:
    rs = runs(prefix)
    if not rs:
        continue
    wall, user, rss = med(prefix, "wall"), med(prefix, "user"), med(prefix, "rss")
    n = rs[0]["n"]
    ir = in_run(prefix)
    print(f"| {label} | {n:,} | {wall:.2f} | {user:.2f} | {'-' if ir is None else f'{ir:.3f}'} | "
          f"{(n / wall if n and wall else 0):,.0f} | {rss} |")


def ratio(a, b):
    return a / b if a and b else None


goals = []


def goal(label, value, ok, fmt, how):
    goals.append((label, "not measured" if value is None else fmt.format(value),
                  "-" if value is None else ("met" if ok(value) else "MISSED"), how))


rs_wall, rs_user = med("u_rsigma", "wall"), med("u_rsigma", "user")
goal("one thread vs rsigma, unique input (>= 6x)", ratio(rs_wall, med("u_sm_j1", "wall")), lambda v: v >= 6,
     "{:.1f}x", "wall incl. start-up")
goal("one thread vs rsigma, CPU time", ratio(rs_user, med("u_sm_j1", "user")), lambda v: v >= 6,
     "{:.1f}x", "user CPU s (steadier on a shared machine)")
goal("all cores vs rsigma, unique input (>= 10x)", ratio(rs_wall, med("u_sm_all", "wall")), lambda v: v >= 10,
     "{:.1f}x", "wall incl. start-up")
ev, fl = in_run("p4_sm_j1"), in_run("p4_floor_j1")
goal("Plaso evaluation vs parse-only floor, one thread (<= 2x)", ratio(ev, fl), lambda v: v <= 2, "{:.2f}x",
     "in-run seconds (start-up excluded), plaso4.jsonl")
w, s, f = med("p4_sm_j1", "wall"), med("p4_startup_j1", "wall"), med("p4_floor_j1", "wall")
goal("the same from wall-clock: (run - start-up) / floor run",
     ratio(w - s, f) if w and s and f else None, lambda v: v <= 2, "{:.2f}x", "wall s")
print("\n| goal (issue 14) | measured | status | from |")
print("|---|---:|---|---|")
for g in goals:
    print("| " + " | ".join(g) + " |")
