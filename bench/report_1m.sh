#!/usr/bin/env bash
# Benchmark: `kt mirror report` over 1,000,000 mirrored pairs.
#
# Builds kt in release, creates a fresh database through kt's own migrations, fills it
# with synthetic traffic (bench/gen_pairs.py: python3's sqlite3 module, one transaction),
# then times the report 3 times per variant and prints min/median, the machine and the
# database size. Goal: the full report in under 2 s on 2 cores.
#
# Needs only cargo and python3. Binds no port, starts no server, removes its temporary
# directory on exit.
#
# Environment:
#   PAIRS=N        mirrored pairs to generate (default 1000000)
#   RUNS=N         timed runs per variant (default 3)
#   TIMEOUT=S      give up on a variant when one run takes longer (default 600)
#   BENCH_DB=FILE  keep the database at FILE; if FILE already exists it is reused
#                  as is (no generation), which is handy for profiling queries
set -euo pipefail

cd "$(dirname "$0")/.."
PAIRS="${PAIRS:-1000000}"
RUNS="${RUNS:-3}"
TIMEOUT="${TIMEOUT:-600}"

echo "== building kt (release)" >&2
cargo build --release --quiet
KT="$PWD/target/release/kt"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/kt-bench.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
DB="${BENCH_DB:-$tmp/bench.db}"

if [[ -n "${BENCH_DB:-}" && -e "$DB" ]]; then
    echo "== reusing $DB" >&2
    "$KT" events list --db "$DB" --last 1 >/dev/null   # applies any newer migration
else
    echo "== creating $DB through kt's migrations" >&2
    "$KT" events list --db "$DB" >/dev/null
    echo "== inserting $PAIRS mirrored pairs" >&2
    python3 bench/gen_pairs.py --db "$DB" --pairs "$PAIRS"
fi

# Times one command line RUNS times; prints "min median" in seconds. A run that fails
# (exit status 2 or more: 1 only reports a failed gate) prints the command's stderr; a run over TIMEOUT seconds is stopped (only that child).
time_runs() {
    python3 - "$RUNS" "$TIMEOUT" "$@" <<'PY'
import statistics, subprocess, sys, time
runs, timeout, cmd = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
times = []
for _ in range(runs):
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"TIMEOUT: a run took over {timeout:.0f} s (set TIMEOUT=... to wait longer)")
        sys.exit(1)
    times.append(time.perf_counter() - t0)
    # 1 means a gate failed or the verdict is undecided: the report was still made.
    if p.returncode not in (0, 1):
        sys.stderr.write(p.stderr.decode(errors="replace"))
        print(f"FAILED with exit code {p.returncode}")
        sys.exit(1)
print(f"min {min(times):.3f} s  median {statistics.median(times):.3f} s  "
      f"runs {' '.join(f'{t:.3f}' for t in times)}")
PY
}

cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
size="$(python3 -c 'import os,sys; print(sum(os.path.getsize(p) for p in sys.argv[1:] if os.path.exists(p)))' \
    "$DB" "$DB-wal" "$DB-shm")"
pairs_in_db="$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM requests WHERE mirror_state = '"'"'mirrored'"'"'").fetchone()[0])' "$DB")"

echo
echo "machine:  $(nproc) cores, ${cpu:-unknown CPU}, $(uname -sr)"
echo "kt:       $("$KT" --version 2>/dev/null || echo kt)"
echo "load:     $(cut -d" " -f1-3 /proc/loadavg 2>/dev/null || echo unknown) (1, 5, 15 min averages: other work on the machine skews the times)"
echo "database: $pairs_in_db mirrored pairs, $((size / 1024 / 1024)) MiB ($size bytes)"
echo

status=0
variants=("--format json" "--format json --by day" "--format json --by hour")
if "$KT" mirror report --help 2>/dev/null | grep -q html; then
    variants+=("--format html --output $tmp/report.html")
fi
for v in "${variants[@]}"; do
    # shellcheck disable=SC2086 # the variant is a list of words on purpose
    out="$(time_runs "$KT" mirror report --db "$DB" $v)" || status=1
    printf '%-46s %s\n' "kt mirror report ${v/ --output*/ --output FILE}" "$out"
done
exit "$status"
