//! Micro-benchmarks: the event writer's sustained inserts per second, and the
//! content similarity per pair for 2 KB and 10 KB answers.
//!
//! Run with `cargo bench --bench micro` (about 17 s). A plain binary with its own timing
//! (no criterion), so it adds no dependency.
//!
//! - Event writer: a fresh database in the temp dir, the real writer thread
//!   (`store::spawn_writer` with the gateway's default queue of 65,536 rows), rows handed
//!   over through `EventSink::request` / `EventSink::shadow` exactly as the gateway does.
//!   The producer only offers a row while the queue has room (it sleeps 1 ms otherwise),
//!   so the queue's 50 ms drop timeout never fires and the figure is the writer's
//!   sustained rate, not the rate at which rows can be refused. The clock stops when the
//!   writer has committed every row, checkpointed the WAL and exited. Three runs of
//!   200,000 events: request rows without answer text (the default), with 512 B of text
//!   (`log_shadow_response`), and request + shadow rows with text.
//! - Similarity: `mirror::compare::content_similarity` on deterministic English-like
//!   answer pairs where ~10% of the words differ.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use kt::mirror::compare::content_similarity;
use kt::store::{self, EventSink, RequestRow, ShadowRow};

/// The gateway's default `--queue-capacity`.
const QUEUE_CAPACITY: usize = 65_536;
/// Events per writer run.
const WRITER_EVENTS: u64 = 200_000;
/// Reach goals for the writer and the similarity.
const GOAL_EVENTS_PER_S: f64 = 100_000.0;
const GOAL_SIMILARITY_10K_US: f64 = 500.0;

// The kt binary's allocator, so the writer is measured as it runs inside kt.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; there are no options to parse.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "kt micro-benchmarks ({} CPU(s), load average {})",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    let mut table = Vec::new();

    for (name, shadows, text_bytes) in [
        ("event writer: requests, no text", false, 0),
        ("event writer: requests + 512 B text", false, 512),
        ("event writer: req.+shadow, 512 B", true, 512),
    ] {
        let run = bench_writer(WRITER_EVENTS, shadows, text_bytes)?;
        println!("{run}");
        table.push(Line {
            name: name.into(),
            n: WRITER_EVENTS,
            result: format!("{:.0} events/s", run.per_second()),
            goal: format!(">= {GOAL_EVENTS_PER_S:.0} events/s"),
            met: Some(run.per_second() >= GOAL_EVENTS_PER_S && run.lossless()),
        });
    }

    for (label, bytes, iterations, goal) in [
        ("2 KB", 2 * 1024, 2_000, None),
        ("10 KB", 10 * 1024, 500, Some(GOAL_SIMILARITY_10K_US)),
    ] {
        let s = bench_similarity(bytes, iterations);
        println!(
            "similarity {label}: {} vs {} bytes, similarity {:.4}, mean {:.1} µs/pair, median of 5 batches {:.1} µs/pair",
            s.len_a, s.len_b, s.value, s.mean_us, s.median_us
        );
        table.push(Line {
            name: format!("similarity per {label} pair"),
            n: iterations,
            result: format!("{:.1} µs (median {:.1})", s.mean_us, s.median_us),
            goal: goal.map_or("-".into(), |g| format!("<= {g:.0} µs")),
            met: goal.map(|g| s.median_us <= g),
        });
    }

    println!();
    println!(
        "| {:<35} | {:>7} | {:<26} | {:<22} | {:<3} |",
        "benchmark", "N", "result", "goal", "met"
    );
    println!(
        "|{:-<37}|{:->9}|{:-<28}|{:-<24}|{:-<5}|",
        "", "", "", "", ""
    );
    for l in &table {
        println!(
            "| {:<35} | {:>7} | {:<26} | {:<22} | {:<3} |",
            l.name,
            l.n,
            l.result,
            l.goal,
            match l.met {
                Some(true) => "yes",
                Some(false) => "no",
                None => "-",
            }
        );
    }
    Ok(())
}

struct Line {
    name: String,
    n: u64,
    result: String,
    goal: String,
    /// None when there is no goal.
    met: Option<bool>,
}

// ---------------------------------------------------------------------------------------
// Event writer

struct WriterRun {
    shadows: bool,
    text_bytes: usize,
    events: u64,
    elapsed: Duration,
    /// Time until the last row was accepted into the queue.
    enqueue: Duration,
    written: u64,
    dropped: u64,
    backoffs: u64,
    requests_in_db: i64,
    shadows_in_db: i64,
    audit_entries: i64,
    db_bytes: u64,
}

impl WriterRun {
    fn per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }

    fn lossless(&self) -> bool {
        self.dropped == 0
            && self.written == self.events
            && (self.requests_in_db + self.shadows_in_db) as u64 == self.events
    }
}

impl std::fmt::Display for WriterRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "event writer ({}, {} B answer text stored): {} events in {:.2} s = {:.0} events/s (last row queued after {:.2} s, producer waited for room {} times); \
             writer counters: {} written, {} dropped; in the database: {} requests, {} shadow_results, {} audit_chain entries, {:.1} MB",
            if self.shadows {
                "one request + one shadow row per request"
            } else {
                "request rows"
            },
            self.text_bytes,
            self.events,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            self.enqueue.as_secs_f64(),
            self.backoffs,
            self.written,
            self.dropped,
            self.requests_in_db,
            self.shadows_in_db,
            self.audit_entries,
            self.db_bytes as f64 / 1e6,
        )
    }
}

/// A fresh database path in the temp dir, removed (with its WAL and SHM) on drop.
struct TempDb(PathBuf);

impl TempDb {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Self(std::env::temp_dir().join(format!("kt-micro-{tag}-{}-{nanos}.db", std::process::id())))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Pushes `events` rows through the real writer and waits until all are committed. With
/// `shadows`, half are request rows and half shadow rows (one per request, right after it).
/// `text_bytes` of answer text are stored per row (`log_shadow_response`); 0 stores none,
/// the default.
fn bench_writer(events: u64, shadows: bool, text_bytes: usize) -> Result<WriterRun> {
    let db = TempDb::new(if shadows { "shadow" } else { "request" });
    let conn = store::open(db.path()).context("opening the benchmark database")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let (ts, ts_unix_ms) = store::now_stamp();
    let primary_text = (text_bytes > 0).then(|| answer_text(text_bytes, 1));
    let shadow_text = (text_bytes > 0).then(|| answer_text(text_bytes, 2));

    let start = Instant::now();
    let (sink, writer) = store::spawn_writer(conn, QUEUE_CAPACITY)?;
    let backoffs = rt.block_on(async {
        let mut backoffs = 0u64;
        let requests = if shadows { events / 2 } else { events };
        for i in 0..requests {
            let id = format!("0190a1b2-c3d4-7e5f-8a9b-{i:012x}");
            backoffs += wait_for_room(&sink).await;
            sink.request(request_row(
                &id,
                &ts,
                ts_unix_ms + i as i64,
                primary_text.as_deref(),
                shadows,
            ))
            .await;
            if shadows {
                backoffs += wait_for_room(&sink).await;
                sink.shadow(shadow_row(&id, &ts, shadow_text.as_deref()))
                    .await;
            }
        }
        backoffs
    });
    let enqueue = start.elapsed();
    let stats = sink.stats().clone();
    rt.block_on(sink.close(Duration::from_secs(30)));
    drop(sink);
    writer.join();
    let elapsed = start.elapsed();

    let check = rusqlite::Connection::open(db.path())?;
    let count = |table: &str| -> Result<i64> {
        Ok(check.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?)
    };
    let run = WriterRun {
        shadows,
        text_bytes,
        events,
        elapsed,
        enqueue,
        written: stats.written.load(Ordering::Relaxed),
        dropped: stats.dropped(),
        backoffs,
        requests_in_db: count("requests")?,
        shadows_in_db: count("shadow_results")?,
        audit_entries: count("audit_chain")?,
        db_bytes: std::fs::metadata(db.path()).map_or(0, |m| m.len()),
    };
    drop(check);
    Ok(run)
}

/// Sleeps while the queue is full, so an offer never reaches the 50 ms drop timeout.
/// Returns how many times it slept.
async fn wait_for_room(sink: &EventSink) -> u64 {
    let mut slept = 0;
    while sink.queue_depth() >= QUEUE_CAPACITY {
        tokio::time::sleep(Duration::from_millis(1)).await;
        slept += 1;
    }
    slept
}

/// A `requests` row as the gateway writes it for a mirrored, successful chat completion
/// (`text` is stored only with `log_shadow_response`).
fn request_row(
    id: &str,
    ts: &str,
    ts_unix_ms: i64,
    text: Option<&str>,
    mirrored: bool,
) -> RequestRow {
    RequestRow {
        id: id.to_owned(),
        ts: ts.to_owned(),
        ts_unix_ms,
        target: "openai-primary".into(),
        provider: "openai".into(),
        model: Some("gpt-4o-mini".into()),
        status: "success".into(),
        http_status: 200,
        latency_ms: 412,
        upstream_latency_ms: Some(405),
        input_tokens: Some(57),
        output_tokens: Some(118),
        finish_reason: Some("stop".into()),
        mirror_state: if mirrored { "mirrored" } else { "disabled" }.into(),
        answer_chars: Some(text.map_or(480, str::len) as u64),
        shadow_target: mirrored.then(|| "anthropic-shadow".into()),
        shadow_model: mirrored.then(|| "claude-3-5-haiku".into()),
        policy_findings: "[]".into(),
        response_text: text.map(str::to_owned),
        ..RequestRow::default()
    }
}

/// The matching `shadow_results` row, with every comparison metric filled in.
fn shadow_row(request_id: &str, ts: &str, text: Option<&str>) -> ShadowRow {
    ShadowRow {
        request_id: request_id.to_owned(),
        shadow_target: "anthropic-shadow".into(),
        ts: ts.to_owned(),
        provider: "anthropic".into(),
        model: "claude-3-5-haiku".into(),
        status: "success".into(),
        http_status: Some(200),
        kind: "shadow".into(),
        answer_chars: Some(text.map_or(530, str::len) as u64),
        latency_ms: 630,
        input_tokens: Some(61),
        output_tokens: Some(131),
        finish_reason: Some("end_turn".into()),
        latency_diff_ms: Some(218),
        token_count_diff: Some(13),
        content_similarity: Some(0.6123),
        similarity_algorithm: Some("cosine_words_v1".into()),
        response_text: text.map(str::to_owned),
        ..ShadowRow::default()
    }
}

// ---------------------------------------------------------------------------------------
// Similarity

struct SimilarityRun {
    len_a: usize,
    len_b: usize,
    value: f64,
    mean_us: f64,
    median_us: f64,
}

/// Times `content_similarity` on one pair of ~`bytes`-byte answers: a warm-up, then
/// `iterations` calls split into 5 batches.
fn bench_similarity(bytes: usize, iterations: u64) -> SimilarityRun {
    let a = answer_text(bytes, 7);
    let b = perturb(&a, 0.10, 11);
    for _ in 0..iterations / 10 {
        black_box(content_similarity(black_box(&a), black_box(&b)));
    }
    let per_batch = iterations / 5;
    let mut batches = Vec::with_capacity(5);
    let mut total = Duration::ZERO;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..per_batch {
            black_box(content_similarity(black_box(&a), black_box(&b)));
        }
        let e = t.elapsed();
        total += e;
        batches.push(e.as_secs_f64() * 1e6 / per_batch as f64);
    }
    batches.sort_by(f64::total_cmp);
    SimilarityRun {
        len_a: a.len(),
        len_b: b.len(),
        value: content_similarity(&a, &b),
        mean_us: total.as_secs_f64() * 1e6 / (per_batch * 5) as f64,
        median_us: batches[2],
    }
}

const WORDS: &[&str] = &[
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "is",
    "that",
    "for",
    "it",
    "with",
    "as",
    "on",
    "be",
    "by",
    "this",
    "are",
    "or",
    "can",
    "you",
    "your",
    "an",
    "when",
    "which",
    "more",
    "not",
    "request",
    "response",
    "latency",
    "model",
    "answer",
    "cache",
    "database",
    "query",
    "index",
    "service",
    "client",
    "server",
    "token",
    "budget",
    "error",
    "retry",
    "timeout",
    "queue",
    "thread",
    "memory",
    "throughput",
    "deployment",
    "configuration",
    "migration",
    "schema",
    "function",
    "performance",
    "benchmark",
    "shadow",
    "primary",
    "provider",
    "gateway",
    "approach",
    "solution",
    "tradeoff",
    "example",
    "instead",
    "because",
    "however",
    "usually",
    "quickly",
    "carefully",
    "consider",
    "measure",
    "compare",
    "reduce",
    "increase",
    "choose",
    "write",
    "read",
    "store",
    "send",
    "return",
    "handle",
    "improve",
    "avoid",
    "ensure",
    "using",
    "between",
    "without",
    "several",
    "important",
    "simple",
    "better",
    "faster",
    "smaller",
    "reliable",
    "expensive",
    "common",
    "technical",
    "debt",
    "cost",
    "risk",
    "team",
    "users",
    "data",
    "system",
    "design",
    "code",
    "test",
    "result",
    "value",
    "step",
    "time",
    "number",
];

/// Deterministic English-like prose of about `bytes` bytes: capitalised sentences of 8 to
/// 20 words, some commas, paragraphs.
fn answer_text(bytes: usize, seed: u64) -> String {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out = String::with_capacity(bytes + 64);
    let mut sentences = 0;
    while out.len() < bytes {
        let n = rng.usize(8..=20);
        for i in 0..n {
            let w = WORDS[rng.usize(..WORDS.len())];
            if i == 0 {
                let mut c = w.chars();
                if let Some(first) = c.next() {
                    out.extend(first.to_uppercase());
                    out.push_str(c.as_str());
                }
            } else {
                out.push(' ');
                out.push_str(w);
            }
            if i > 2 && i + 2 < n && rng.u8(..10) == 0 {
                out.push(',');
            }
        }
        out.push('.');
        sentences += 1;
        out.push_str(if sentences % 5 == 0 { "\n\n" } else { " " });
    }
    out.truncate(out.trim_end().len());
    out
}

/// `text` with about `fraction` of its words replaced by other vocabulary words.
fn perturb(text: &str, fraction: f64, seed: u64) -> String {
    let mut rng = fastrand::Rng::with_seed(seed);
    text.split(' ')
        .map(|w| {
            if rng.f64() < fraction && !w.contains('\n') {
                let mut r = WORDS[rng.usize(..WORDS.len())].to_owned();
                // Keep the trailing punctuation so sentences stay sentences.
                r.extend(w.chars().filter(|c| c.is_ascii_punctuation()));
                r
            } else {
                w.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
