#!/usr/bin/env python3
"""Times each canned query of the report on a database and shows its query plan, to find
the slow one. Runs every file in the same way kt does (named parameters :since_ms,
:until_ms, :by, :limit, :pricing; whole window unless --since-ms/--until-ms), reads every
row, and prints the best of --runs wall times with the row count. Read-only.

Note: python3's sqlite3 module links the system SQLite, which may be older than the one
kt bundles; plans and timings are close but not identical.

Usage: profile_queries.py --db FILE [--by mapping|model|hour|day|all] [--plan] [--runs 1]
                          [QUERY.sql ...]   (default: queries/report_*.sql and the
                          summary, states, failures and ttft queries)
"""

import argparse
import glob
import json
import os
import sqlite3
import sys
import time

PRICING = {
    "gpt-4o-mini": {"input_per_mtok": 0.15, "output_per_mtok": 0.6},
    "gpt-4o": {"input_per_mtok": 2.5, "output_per_mtok": 10.0},
    "gpt-4.1-mini": {"input_per_mtok": 0.4, "output_per_mtok": 1.6},
    "gpt-4.1": {"input_per_mtok": 2.0, "output_per_mtok": 8.0},
    "claude-sonnet-4-20250514": {"input_per_mtok": 3.0, "output_per_mtok": 15.0},
    "claude-3-5-haiku-20241022": {"input_per_mtok": 0.8, "output_per_mtok": 4.0},
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--by", default="mapping")
    ap.add_argument("--since-ms", type=int, default=0)
    ap.add_argument("--until-ms", type=int, default=2**62)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--plan", action="store_true", help="print EXPLAIN QUERY PLAN")
    ap.add_argument("queries", nargs="*")
    a = ap.parse_args()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "queries")
    files = a.queries or sorted(glob.glob(os.path.join(root, "report_*.sql"))) + [
        os.path.join(root, f) for f in
        ("mirror_summary.sql", "mirror_states.sql", "failures.sql", "ttft.sql")
        if os.path.exists(os.path.join(root, f))]
    conn = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
    params = {"since_ms": a.since_ms, "until_ms": a.until_ms, "by": a.by, "limit": 10,
              "pricing": json.dumps(PRICING)}
    print(f"SQLite {sqlite3.sqlite_version}, --by {a.by}")
    total = 0.0
    for f in files:
        sql = open(f).read()
        best, rows = None, 0
        for _ in range(a.runs):
            t0 = time.perf_counter()
            try:
                rows = sum(1 for _ in conn.execute(sql, params))
            except sqlite3.Error as e:
                print(f"{os.path.basename(f):34} ERROR {e}")
                break
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
        if best is None:
            continue
        total += best
        print(f"{os.path.basename(f):34} {best:7.3f} s  {rows:7d} rows")
        if a.plan:
            for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params):
                print(f"    {row[3]}")
    print(f"{'total':34} {total:7.3f} s")


if __name__ == "__main__":
    sys.exit(main())
