#!/usr/bin/env python3
"""Fills a kt database (already migrated by kt itself) with synthetic mirrored traffic for
the report benchmark: N mirrored pairs (`requests` + `shadow_results`) spread over the
last DAYS days, plus a few percent of non-mirrored requests, in one transaction.

Only the standard library is used (python3's sqlite3 module), so it runs anywhere CI
does. The distributions are meant to look like real gateway traffic, not to be exact:
log-normal latencies and token counts per model, a daily cycle in request volume, ~1%
primary failures, ~3% shadow failures over several error classes, ~0.1% shadows still
pending, 30% streamed with TTFT on both sides, 2% noise-floor rows (the primary asked
again), 10% tool requests, 5% JSON-mode requests and a few logged answer texts.

Usage: gen_pairs.py --db FILE [--pairs 1000000] [--days 7] [--seed 1]
"""

import argparse
import math
import random
import sqlite3
import sys
import time
from datetime import datetime, timezone

# (primary target, provider, primary model, shadow target, shadow provider, shadow model,
#  share, primary median latency ms, shadow median latency ms, median output tokens,
#  similarity beta(a, b))
PAIRS = [
    ("openai", "openai", "gpt-4o-mini", "anthropic", "anthropic",
     "claude-sonnet-4-20250514", 0.45, 700, 1100, 220, (6.0, 3.2)),
    ("openai", "openai", "gpt-4o", "anthropic", "anthropic",
     "claude-sonnet-4-20250514", 0.25, 1300, 1150, 320, (7.0, 3.0)),
    ("openai", "openai", "gpt-4.1-mini", "anthropic", "anthropic",
     "claude-3-5-haiku-20241022", 0.20, 650, 600, 200, (5.0, 3.6)),
    ("openai", "openai", "o3-mini", "staging", "openai",
     "gpt-4.1", 0.10, 2400, 1600, 450, (8.0, 2.5)),
]

PRIMARY_FAILURES = [
    # status, http_status, error_class, message, weight
    ("error", 502, "http_5xx", "upstream returned 500: The server had an error while processing your request.", 5),
    ("error", 429, "http_4xx", "Rate limit reached for requests per min (RPM): Limit 10000.", 3),
    ("error", 504, "timeout", "upstream did not answer within 600000 ms", 1),
    ("client_closed", 499, None, "the caller closed the connection before the answer was ready", 1),
]
SHADOW_FAILURES = [
    # status, http_status, error_class, message, weight
    ("error", 529, "http_5xx", "Overloaded", 10),
    ("error", 500, "http_5xx", "Internal server error", 4),
    ("timeout", None, "timeout", "shadow did not answer within 60000 ms", 6),
    ("error", 429, "http_4xx", "This request would exceed the rate limit for your organization.", 5),
    ("error", None, "connect", "connection refused (os error 111)", 1),
    ("error", None, "untranslatable", "n > 1 is not supported by the Anthropic Messages API", 2),
    ("error", 200, "invalid_response", "upstream answered 200 with a body that is not valid JSON", 1),
]

WORDS = ("the service latency cache request model answer token budget retry queue "
         "database index migration shadow primary gateway stream error report").split()


def rfc3339(ms):
    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def weighted(rows):
    total = sum(r[-1] for r in rows)
    out, acc = [], 0.0
    for r in rows:
        acc += r[-1] / total
        out.append((acc, r))
    return out


def pick(cum, u):
    for edge, row in cum:
        if u <= edge:
            return row
    return cum[-1][1]


def generate(conn, n_pairs, days, seed):
    rnd = random.Random(seed)
    rand, lognorm, beta = rnd.random, rnd.lognormvariate, rnd.betavariate
    getbits = rnd.getrandbits
    now_ms = int(time.time() * 1000)
    span = days * 86_400_000
    start = now_ms - span
    extra = n_pairs // 20  # not mirrored: not_sampled / no_model_mapping / dropped
    total = n_pairs + extra
    pair_cum = []
    acc = 0.0
    for p in PAIRS:
        acc += p[6]
        pair_cum.append((acc, p))
    pfail = weighted(PRIMARY_FAILURES)
    sfail = weighted(SHADOW_FAILURES)
    two_pi_days = 2 * math.pi * days
    mirrored_left, extra_left = n_pairs, extra

    req_rows, sh_rows = [], []
    req_sql = """INSERT INTO requests (id, ts, ts_unix_ms, target, provider, model, status,
        http_status, latency_ms, upstream_latency_ms, input_tokens, output_tokens,
        finish_reason, error_class, error_message, mirror_state, shadow_target, shadow_model,
        policy_findings, response_text, stream, ttft_ms, has_tools, json_mode, answer_chars,
        tool_calls, json_valid)
        VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'[]',?,?,?,?,?,?,?,?)"""
    sh_sql = """INSERT INTO shadow_results (request_id, shadow_target, ts, provider, model,
        status, http_status, latency_ms, input_tokens, output_tokens, finish_reason,
        error_class, error_message, latency_diff_ms, token_count_diff, content_similarity,
        similarity_algorithm, response_text, stream, ttft_ms, ttft_diff_ms, kind,
        answer_chars, tool_calls, json_valid, tool_calls_agree)
        VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"""

    def flush():
        conn.executemany(req_sql, req_rows)
        conn.executemany(sh_sql, sh_rows)
        req_rows.clear()
        sh_rows.clear()

    for i in range(total):
        # Time: evenly spread, warped into a daily cycle (busier by day than by night);
        # monotonic so ids (UUIDv7-like, time first) are inserted in order.
        u = (i + rand()) / total
        ms = start + int(span * (u + 0.6 * math.sin(two_pi_days * u) / two_pi_days))
        ts = rfc3339(ms)
        rid = "%08x-%04x-7%03x-%04x-%012x" % (
            ms >> 16, ms & 0xFFFF, getbits(12), 0x8000 | getbits(14), getbits(48))
        p = pick(pair_cum, rand())
        (ptarget, pprov, pmodel, starget, sprov, smodel, _share, plat_med, slat_med, out_med,
         (sim_a, sim_b)) = p
        # Mirror decision: keep the requested mirrored count exact.
        if extra_left and (not mirrored_left or rand() < extra_left / (mirrored_left + extra_left)):
            extra_left -= 1
            state = "not_sampled" if rand() < 0.8 else ("no_model_mapping" if rand() < 0.7 else "dropped")
            mirrored = False
        else:
            mirrored_left -= 1
            state = "mirrored"
            mirrored = True
        stream = 1 if rand() < 0.3 else 0
        has_tools = 1 if rand() < 0.10 else 0
        json_mode = 1 if (not has_tools and rand() < 0.055) else 0
        in_tok = int(lognorm(math.log(600), 0.8)) + 10
        plat = int(lognorm(math.log(plat_med), 0.45)) + 40
        # Primary outcome.
        if rand() < 0.012:
            st, http, ecls, emsg, _w = pick(pfail, rand())
            p_out, p_fin, p_ttft, p_chars, p_json, p_tools = None, None, None, None, None, None
            p_ok = False
        else:
            st, http, ecls, emsg = "success", 200, None, None
            p_out = int(lognorm(math.log(out_med), 0.6)) + 1
            p_fin = "tool_calls" if has_tools and rand() < 0.6 else ("length" if rand() < 0.03 else "stop")
            p_ttft = int(plat * (0.15 + 0.2 * rand())) if stream else None
            p_chars = p_out * 4 + int(rand() * 8)
            p_json = (1 if rand() < 0.97 else 0) if json_mode else None
            p_tools = '[{"name":"lookup","arguments":{"q":"x"}}]' if p_fin == "tool_calls" else None
            p_ok = True
        req_rows.append((
            rid, ts, ms, ptarget, pprov, pmodel, st, http, plat + 3, plat, in_tok, p_out,
            p_fin, ecls, emsg, state, starget if mirrored else None,
            smodel if mirrored else None, None, stream, p_ttft, has_tools, json_mode,
            p_chars, p_tools, p_json))
        if not mirrored:
            continue
        # Shadow outcome: ~0.1% still pending (no row), ~3% failed.
        r = rand()
        if r < 0.001:
            pass
        else:
            s_ms = ms + 50 + int(rand() * 3000)
            slat = int(lognorm(math.log(slat_med), 0.5)) + 40
            if r < 0.031:
                sst, shttp, secls, semsg, _w = pick(sfail, rand())
                if secls == "timeout":
                    slat = 60000
                sh_rows.append((
                    rid, starget, rfc3339(s_ms), sprov, smodel, sst, shttp, slat, None, None,
                    None, secls, semsg, None, None, None, None, None, stream, None, None,
                    "shadow", None, None, None, None))
            else:
                s_out = int(p_out * lognorm(0.1, 0.35)) + 1 if p_ok else int(lognorm(math.log(out_med), 0.6)) + 1
                s_fin = "tool_calls" if has_tools and rand() < 0.6 else ("length" if rand() < 0.04 else "stop")
                s_ttft = int(slat * (0.1 + 0.25 * rand())) if stream else None
                empty = rand() < 0.004
                s_chars = 0 if empty else s_out * 4 + int(rand() * 8)
                s_json = (1 if rand() < 0.93 else 0) if json_mode else None
                s_tools = '[{"name":"lookup","arguments":{"q":"x"}}]' if s_fin == "tool_calls" else None
                agree = (1 if rand() < 0.85 else 0) if (has_tools and p_ok) else None
                sim = None
                text = None
                if p_ok:
                    sim = 0.0 if empty else round(beta(sim_a, sim_b), 4)
                    if sim is not None and sim < 0.12 and rand() < 0.5:
                        text = " ".join(rnd.choice(WORDS) for _ in range(24))
                sh_rows.append((
                    rid, starget, rfc3339(s_ms), sprov, smodel, "success", 200, slat, in_tok,
                    s_out, s_fin, None, None,
                    slat - plat if p_ok else None,
                    s_out - p_out if p_ok else None,
                    sim, "cosine_words_v1" if sim is not None else None, text, stream,
                    s_ttft, (s_ttft - p_ttft) if (s_ttft is not None and p_ttft is not None) else None,
                    "shadow", s_chars, s_tools, s_json, agree))
        # Noise floor: the primary asked a second time, for 2% of pairs.
        if p_ok and rand() < 0.02:
            nlat = int(lognorm(math.log(plat_med), 0.45)) + 40
            n_out = int(p_out * lognorm(0.0, 0.2)) + 1
            sh_rows.append((
                rid, ptarget, rfc3339(ms + 80 + int(rand() * 2000)), pprov, pmodel, "success",
                200, nlat, in_tok, n_out, "stop", None, None, nlat - plat, n_out - p_out,
                round(beta(9.0, 2.2), 4), "cosine_words_v1", None, stream, None, None,
                "noise_floor", n_out * 4, None, None, None))
        if len(req_rows) >= 50_000:
            flush()
    flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--pairs", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    t0 = time.perf_counter()
    conn = sqlite3.connect(a.db, isolation_level=None)
    # A bulk load into a fresh file: durability does not matter, speed does.
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -262144")  # 256 MiB
    n = conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
    if n:
        sys.exit(f"gen_pairs.py: {a.db} already has {n} requests; expected a fresh database")
    conn.execute("BEGIN")
    generate(conn, a.pairs, a.days, a.seed)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    print(f"generated {a.pairs} mirrored pairs over {a.days} days in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
