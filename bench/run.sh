#!/usr/bin/env bash
# The kt performance benchmark (README "Performance"). On this machine it: installs wrk
# and nginx (Debian packages) if missing, builds release binaries, starts fake upstreams
# (src/bin/kt-fake-upstream.rs), nginx (plain and with `mirror`) and kt (mirror off, 100%
# mirroring, 100% to a hanging shadow), drives each with `wrk -t1 -c64`, ROUNDS rounds
# interleaved, and prints one table (median of the rounds). Binds 127.0.0.1 only, ends by
# itself, and kills exactly the processes it started.
#
# Env knobs: DURATION (seconds per wrk run, default 5), ROUNDS (default 3),
# ANSWER_BYTES (answer size, default 512), CONNS (wrk connections, default 64).
set -euo pipefail

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
ANSWER_BYTES=${ANSWER_BYTES:-512}
CONNS=${CONNS:-64}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
KT=$TARGET_DIR/release/kt
FAKE=$TARGET_DIR/release/kt-fake-upstream
LUA=$ROOT/bench/post.lua

TMP=$(mktemp -d /tmp/kt-perf.XXXXXX)
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    sleep 0.5
    for pid in "${PIDS[@]}"; do
        # kt drains on the first SIGTERM and skips the wait on the second.
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench: $*" >&2; }

# --- tools -------------------------------------------------------------------------------
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
    log "installing wrk and nginx (Debian packages)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx >/dev/null
fi
NGINX=$(command -v nginx)

log "building release binaries"
(cd "$ROOT" && cargo build --release --quiet --bin kt --bin kt-fake-upstream)

# --- helpers -----------------------------------------------------------------------------
# Waits until FILE contains a line matching the sed expression EXPR and prints the capture.
wait_for() {
    local file=$1 expr=$2 out
    for _ in $(seq 1 100); do
        out=$(sed -n "$expr" "$file" 2>/dev/null | head -1)
        if [[ -n $out ]]; then echo "$out"; return 0; fi
        sleep 0.1
    done
    log "timed out waiting for $file"; cat "$file" >&2; return 1
}

# start_fake NAME ARGS...: starts a fake upstream; its 127.0.0.1:PORT goes to RET.
# (The start_* functions return through RET, not stdout: a $(...) subshell would lose PIDS.)
start_fake() {
    local name=$1; shift
    "$FAKE" --port 0 --answer-bytes "$ANSWER_BYTES" "$@" >"$TMP/$name.out" 2>&1 &
    PIDS+=($!)
    RET=$(wait_for "$TMP/$name.out" 's/^listening on \(127\.0\.0\.1:[0-9]*\)$/\1/p')
}

# A free loopback port (for nginx, which cannot report a port it picked itself).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_nginx NAME PRIMARY SHADOW MIRROR(0|1): 127.0.0.1:PORT in RET, master PID in NGINX_PID.
start_nginx() {
    local name=$1 primary=$2 shadow=$3 mirror=$4 port dir
    port=$(free_port)
    dir=$TMP/$name
    mkdir -p "$dir"
    local mirror_lines=""
    if [[ $mirror == 1 ]]; then
        mirror_lines="mirror /mirror; mirror_request_body on;"
    fi
    cat >"$dir/nginx.conf" <<EOF
worker_processes auto;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/body; proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fcgi; uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
    upstream primary { server $primary; keepalive 256; }
    upstream shadow { server $shadow; keepalive 256; }
    server {
        listen 127.0.0.1:$port;
        location / {
            $mirror_lines
            proxy_pass http://primary;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location = /mirror {
            internal;
            proxy_pass http://shadow\$request_uri;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
    "$NGINX" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" \
        -g "daemon off; pid $dir/nginx.pid;" 2>>"$dir/error.log" &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && break
        sleep 0.1
    done
    RET=127.0.0.1:$port
}

# start_kt NAME PRIMARY SHADOW MIRROR(0|1): ADDR in RET, PID in KT_PID.
start_kt() {
    local name=$1 primary=$2 shadow=$3 mirror=$4
    local cfg=$TMP/$name.yaml
    cat >"$cfg" <<EOF
version: '1'
providers:
  targets:
    - id: openai
      provider: openai
      base_url: http://$primary
      secret_key_ref:
        env: KT_BENCH_KEY
    - id: anthropic
      provider: anthropic
      base_url: http://$shadow
      secret_key_ref:
        env: KT_BENCH_KEY
EOF
    if [[ $mirror == 1 ]]; then
        cat >>"$cfg" <<EOF
traffic_mirror:
  enabled: true
  primary: openai
  shadow: anthropic
  model_mapping:
    gpt-4o-mini: claude-sonnet-4-20250514
  sample_rate: 1.0
  async: true
  log_shadow_response: true
  compare_metrics: [latency, token_count, content_similarity]
  timeout_ms: 1000
  max_in_flight: 4096
EOF
    fi
    KT_BENCH_KEY=bench "$KT" gateway run --policy-config "$cfg" --host 127.0.0.1 --port 0 \
        --db "$TMP/$name.db" --drain-secs 2 >"$TMP/$name.log" 2>&1 &
    KT_PID=$!
    PIDS+=("$KT_PID")
    RET=$(wait_for "$TMP/$name.log" 's/.*Listening on http:\/\/\(127\.0\.0\.1:[0-9]*\).*/\1/p')
}

# Summed utime+stime (clock ticks) of PID and its children (nginx workers).
cpu_ticks() {
    local total=0 p
    for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
        # Fields after the ")" of comm: state is 1st, utime 12th, stime 13th.
        total=$((total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
    done
    echo "$total"
}

# Summed peak RSS (VmHWM, kB) of PID and its children.
peak_rss_kb() {
    local total=0 p
    for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
        total=$((total + $(awk '/^VmHWM:/ {print $2}' "/proc/$p/status")))
    done
    echo "$total"
}

# --- processes -----------------------------------------------------------------------------
# Scenario "0ms": primary and shadow answer at once. Scenario "20/200": primary 20 ms,
# shadow 200 ms. A streamed request gets 8 chunks. "hang" never answers.
declare -A ADDR PID
SCENARIOS=(0ms 20/200)
start_up() {
    local sc=$1 key=${1//\//_} plat=$2 slat=$3 p s h
    start_fake "primary-$key" --latency-ms "$plat" --stream-chunks 8; p=$RET
    start_fake "shadow-$key" --latency-ms "$slat" --stream-chunks 8; s=$RET
    h=$HANG_ADDR
    ADDR[$sc,direct]=$p; PID[$sc,direct]=""
    ADDR[$sc,direct-stream]=$p; PID[$sc,direct-stream]=""
    start_nginx "nginx-$key" "$p" "$s" 0; ADDR[$sc,nginx]=$RET; PID[$sc,nginx]=$NGINX_PID
    start_nginx "nginxm-$key" "$p" "$s" 1; ADDR[$sc,nginx-mirror]=$RET; PID[$sc,nginx-mirror]=$NGINX_PID
    start_kt "kt-off-$key" "$p" "$s" 0; ADDR[$sc,kt-off]=$RET; PID[$sc,kt-off]=$KT_PID
    start_kt "kt-mirror-$key" "$p" "$s" 1; ADDR[$sc,kt-mirror]=$RET; PID[$sc,kt-mirror]=$KT_PID
    ADDR[$sc,kt-mirror-stream]=$RET; PID[$sc,kt-mirror-stream]=$KT_PID
    start_kt "kt-hang-$key" "$p" "$h" 1; ADDR[$sc,kt-hang]=$RET; PID[$sc,kt-hang]=$KT_PID
}
start_fake hang --hang; HANG_ADDR=$RET
start_up 0ms 0 0
start_up 20/200 20 200
# kt-mirror-stream shares the kt-mirror process, so its CPU and RSS columns are that
# process's (CPU is measured per run; RSS is the process's peak so far).
SETUPS=(direct nginx nginx-mirror kt-off kt-mirror kt-hang direct-stream kt-mirror-stream)

# Latency value from wrk ("1.23ms", "850.00us", "1.02s") in ms.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0;
        else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000;
        printf "%.3f", n }'
}

RESULTS=$TMP/results.tsv
: >"$RESULTS"
# run_one SCENARIO SETUP ROUND: one wrk run; appends a row to RESULTS.
run_one() {
    local sc=$1 setup=$2 round=$3 addr=${ADDR[$1,$2]} pid=${PID[$1,$2]} stream=0
    [[ $setup == *-stream ]] && stream=1
    local c0=0 c1=0 out
    [[ -n $pid ]] && c0=$(cpu_ticks "$pid")
    out=$(STREAM=$stream wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$LUA" \
        "http://$addr/v1/chat/completions")
    [[ -n $pid ]] && c1=$(cpu_ticks "$pid")
    local rps reqs p50 p90 p99 non2xx sock cpu_us rss
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
    p90=$(to_ms "$(awk '$1 == "90%" {print $2}' <<<"$out")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out"); non2xx=${non2xx:-0}
    sock=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$out")
    sock=${sock:-0}
    if [[ -n $pid && $reqs -gt 0 ]]; then
        cpu_us=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v n="$reqs" \
            'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
        rss=$(peak_rss_kb "$pid")
    else
        cpu_us=-; rss=-
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$setup" "$round" "$rps" \
        "$p50" "$p90" "$p99" "$((non2xx + sock))" "$cpu_us" "$rss" >>"$RESULTS"
    log "round $round $sc $setup: $rps req/s p99 ${p99} ms errors $((non2xx + sock))"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "warming up"
for sc in "${SCENARIOS[@]}"; do
    for setup in "${SETUPS[@]}"; do
        STREAM=0 wrk -t1 -c"$CONNS" -d1s -s "$LUA" "http://${ADDR[$sc,$setup]}/v1/chat/completions" >/dev/null
    done
done

for round in $(seq 1 "$ROUNDS"); do
    for sc in "${SCENARIOS[@]}"; do
        for setup in "${SETUPS[@]}"; do
            run_one "$sc" "$setup" "$round"
        done
    done
done

# kt's own counters: shadows not mirrored because max_in_flight was reached, events lost.
HEALTH=$TMP/health.tsv
: >"$HEALTH"
for sc in "${SCENARIOS[@]}"; do
    for setup in kt-off kt-mirror kt-hang; do
        printf '%s\t%s\t%s\n' "$sc" "$setup" \
            "$(curl -s "http://${ADDR[$sc,$setup]}/healthz" | tr -d '\n')" >>"$HEALTH"
    done
done

# --- report --------------------------------------------------------------------------------
echo
echo "kt benchmark: wrk -t1 -c$CONNS -d${DURATION}s, $ROUNDS rounds interleaved, median per cell;" \
    "answer $ANSWER_BYTES bytes; $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1));" \
    "load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$RESULTS" "$HEALTH" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    sc, setup, _round, rps, p50, p90, p99, err, cpu, rss = line.rstrip("\n").split("\t")
    rows.setdefault((sc, setup), []).append((rps, p50, p90, p99, err, cpu, rss))
def med(vals):
    vals = [float(v) for v in vals if v not in ("-", "")]
    return statistics.median(vals) if vals else None
m = {}
for key, runs in rows.items():
    cols = list(zip(*runs))
    m[key] = {"rps": med(cols[0]), "p50": med(cols[1]), "p90": med(cols[2]),
              "p99": med(cols[3]), "err": sum(int(e) for e in cols[4]),
              "cpu": med(cols[5]), "rss": max((int(r) for r in cols[6] if r != "-"), default=None)}
order = ["direct", "nginx", "nginx-mirror", "kt-off", "kt-mirror", "kt-hang",
         "direct-stream", "kt-mirror-stream"]
hdr = ["scenario", "setup", "req/s", "p50 ms", "p90 ms", "p99 ms", "Δp50 ms", "Δp99 ms",
       "×nginx", "CPU µs/req", "peak RSS MB", "errors"]
out = [hdr]
for sc in ["0ms", "20/200"]:
    for s in order:
        r = m.get((sc, s))
        if not r:
            continue
        base = m[(sc, "direct-stream" if s.endswith("-stream") else "direct")]
        ng = m[(sc, "nginx")]
        f = lambda v, d=2: "-" if v is None else f"{v:.{d}f}"
        out.append([sc, s, f(r["rps"], 0), f(r["p50"]), f(r["p90"]), f(r["p99"]),
                    f(r["p50"] - base["p50"]), f(r["p99"] - base["p99"]),
                    "-" if s.endswith("-stream") else f(r["rps"] / ng["rps"]),
                    f(r["cpu"], 1), "-" if r["rss"] is None else f(r["rss"] / 1024, 1),
                    str(r["err"])])
w = [max(len(row[i]) for row in out) for i in range(len(hdr))]
for i, row in enumerate(out):
    print("| " + " | ".join(c.ljust(w[j]) if j < 2 else c.rjust(w[j]) for j, c in enumerate(row)) + " |")
    if i == 0:
        print("|" + "|".join("-" * (x + 2) if j < 2 else "-" * (x + 1) + ":" for j, x in enumerate(w)) + "|")
print("\nΔ is against direct (streamed rows: against direct-stream); ×nginx is req/s over nginx's in the")
print("same scenario; errors are wrk's non-2xx plus socket errors, summed over the rounds.")
print("\nReach goals (medians of this run):")
def goal(name, ok, detail):
    print(f"  [{'met' if ok else 'NOT met'}] {name}: {detail}")
a = m[("0ms", "kt-off")]["rps"] / m[("0ms", "nginx")]["rps"]
goal("0 ms: kt mirror-off >= 0.8x nginx req/s", a >= 0.8, f"{a:.2f}x")
b = m[("0ms", "kt-mirror")]["rps"] / m[("0ms", "nginx-mirror")]["rps"]
goal("0 ms: kt 100% mirror+logging >= 2x nginx-mirror req/s", b >= 2, f"{b:.2f}x")
kp, dp = m[("20/200", "kt-mirror")]["p99"], m[("20/200", "direct")]["p99"]
goal("20/200 ms: kt 100% mirror p99 <= direct p99 + 3 ms", kp <= dp + 3,
     f"{kp:.2f} ms vs direct {dp:.2f} ms (+{kp - dp:.2f} ms)")
for sc in ["0ms", "20/200"]:
    h, o = m[(sc, "kt-hang")]["p99"], m[(sc, "kt-off")]["p99"]
    goal(f"{sc}: hanging shadow moves kt p99 by <= 5% vs mirror-off", h <= o * 1.05,
         f"{h:.2f} ms vs {o:.2f} ms ({(h / o - 1) * 100:+.1f}%)")
print("\nkt counters at the end (/healthz):")
for line in open(sys.argv[2]):
    sc, setup, body = line.rstrip("\n").split("\t", 2)
    try:
        j = json.loads(body)
        keep = {k: j.get(k) for k in ("events_dropped", "mirror_dropped", "shadows_in_flight")}
    except ValueError:
        keep = body[:200]
    print(f"  {sc} {setup}: {keep}")
PY
