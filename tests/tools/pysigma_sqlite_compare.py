#!/usr/bin/env python3
"""Compare sigma-match's correlation firings with pySigma's SQLite backend.

Usage (in a throwaway venv: pip install pysigma pysigma-backend-sqlite):

    python3 tests/tools/pysigma_sqlite_compare.py RULES.yml EVENTS.jsonl [--time-field SystemTime]

The events (flat JSON lines, e.g. the shared evtx-samples.flat.jsonl) are
loaded into an in-memory SQLite table `logs` (one column per top-level key,
plus `timestamp` from the time field), every correlation rule of RULES.yml
is converted with pySigma's `sqliteBackend` and run, and the alerts are set
against the firings sigma-match writes with `--matches`. Printed per
correlation rule: alerts/firings, distinct groups, whether the same groups
fire, and the windows of both.
"""

import argparse
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule


def cell(v):
    if isinstance(v, (dict, list)):
        return None
    if isinstance(v, int) and not -(2**63) <= v < 2**63:
        return str(v)
    return v


def load_events(path, time_field):
    rows, cols = [], {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            e = json.loads(line)
            t = e.get(time_field)
            if isinstance(t, str):
                # SQLite's julianday: 'YYYY-MM-DD HH:MM:SS.SSS'
                e["timestamp"] = t.replace("T", " ").rstrip("Z")[:23]
            rows.append(e)
            for k, v in e.items():
                # SQLite column names are case-insensitive: the first spelling wins.
                if not isinstance(v, (dict, list)) and k.lower() not in cols:
                    cols[k.lower()] = k
    db = sqlite3.connect(":memory:")
    names = list(cols.values())
    db.execute("CREATE TABLE logs (" + ", ".join(f'"{c}"' for c in names) + ")")
    db.executemany(
        "INSERT INTO logs VALUES (" + ", ".join("?" for _ in names) + ")",
        [[cell(e.get(c)) for c in names] for e in rows],
    )
    return db


def pysigma_alerts(rules_path, db):
    coll = SigmaCollection.from_yaml(Path(rules_path).read_text(encoding="utf-8"))
    backend = sqliteBackend()
    queries = backend.convert(coll)
    # One query per rule with output (correlations; the rules they reference
    # have generate: false), in collection order.
    titles = [r.title for r in coll if isinstance(r, SigmaCorrelationRule) and getattr(r, "_output", True)]
    out = {}
    for title, q in zip(titles, queries):
        cur = db.execute(q)
        names = [d[0] for d in cur.description]
        out[title] = [dict(zip(names, row)) for row in cur.fetchall()]
    return out


def sigma_match_firings(binary, rules_path, events_path, time_field):
    args = [binary, "-q", "--no-scope", "--format", "json", "--matches", "-", rules_path, events_path]
    if time_field:
        args += ["--time-field", time_field]
    p = subprocess.run(args, capture_output=True, text=True, check=True)
    out = {}
    for line in p.stdout.splitlines():
        v = json.loads(line)
        if "correlation" in v:
            out.setdefault(v["title"], []).append(v)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rules")
    ap.add_argument("events")
    ap.add_argument("--time-field", default="SystemTime")
    ap.add_argument("--binary", default="target/release/sigma-match")
    a = ap.parse_args()
    db = load_events(a.events, a.time_field)
    py = pysigma_alerts(a.rules, db)
    sm = sigma_match_firings(a.binary, a.rules, a.events, None)
    same_all = True
    for title, alerts in py.items():
        firings = sm.get(title, [])
        # pySigma lower-cases text group values (case-insensitive grouping).
        pg = sorted({json.dumps({k: (v.lower() if isinstance(v, str) else v) for k, v in json.loads(x["group_keys"]).items()}, sort_keys=True) for x in alerts})
        sg = sorted({json.dumps({k: (v.lower() if isinstance(v, str) else v) for k, v in f["group"].items()}, sort_keys=True) for f in firings})
        same = pg == sg
        same_all &= same
        print(f"== {title}")
        print(f"  pySigma SQLite: {len(alerts)} alerts in {len(pg)} groups")
        print(f"  sigma-match:    {len(firings)} firings in {len(sg)} groups")
        print(f"  same groups fire: {'yes' if same else 'NO'}")
        if not same:
            print(f"    pySigma:     {pg}")
            print(f"    sigma-match: {sg}")
        if alerts:
            ev = [x["event_count"] for x in alerts]
            print(f"  pySigma windows: one per qualifying anchor event, [end - timespan, end]; events per alert {min(ev)}..{max(ev)}; first {alerts[0]['window_start']}..{alerts[0]['window_end']}")
        for f in firings[:3]:
            print(f"  sigma-match firing: {f['window_start']} .. {f['window_end']} value {f['value']} events {len(f['events'])}")
    sys.exit(0 if same_all else 1)


if __name__ == "__main__":
    main()
