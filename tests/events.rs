//! `kt events list|tail|show|export` against the real binary: the filters (run in SQL),
//! every output format, `tail --follow`, the evaluation-dataset export and `show` with
//! its word diff. Events come from a real gateway on fake upstreams, plus one old event
//! written straight into the database (kt never writes a ten-day-old event itself).
// Helpers outside #[test] fns panic on failure by design, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const SHADOW_MODEL: &str = "claude-sonnet-4-20250514";
const PRIMARY_TEXT: &str = "The quick brown fox jumps over the lazy dog";
const SHADOW_TEXT: &str = "The quick red fox leaps over the lazy dog";
/// The old event's model: a comma and quotes, to prove CSV quoting.
const OLD_MODEL: &str = "legacy,\"v1\"";
const OLD_ID: &str = "0000aaaa-0000-7000-8000-000000000001";

/// The fixture's events, oldest first, named by what each exercises.
struct Fixture {
    kt: Kt,
    /// Ten days old, target `legacy`, written with SQL.
    old: String,
    /// gpt-4o-mini, mirrored, success.
    plain: String,
    /// gpt-4o, mirrored, an e-mail address in the prompt: flagged.
    flagged: String,
    /// A model with no mapping: answered, not mirrored.
    unmapped: String,
    /// gpt-4o-mini, mirrored, the primary answered 500: status error.
    failed: String,
    /// No `messages`: rejected.
    rejected: String,
}

impl Fixture {
    /// Every id, oldest first.
    fn all(&self) -> Vec<String> {
        let ids = [&self.old, &self.plain, &self.flagged];
        let more = [&self.unmapped, &self.failed, &self.rejected];
        ids.into_iter().chain(more).cloned().collect()
    }

    fn cli(&self, args: &[&str]) -> Output {
        self.kt.cli(args)
    }
}

/// An OpenAI primary answering PRIMARY_TEXT (500 for prompts containing "fail") and an
/// Anthropic shadow answering SHADOW_TEXT, behind the tutorial's Step 1 config
/// (`log_shadow_response: true`, a flagging content filter).
async fn upstreams() -> (Upstream, Upstream) {
    let primary = fake_upstream(|c| {
        if prompt_of(c).contains("fail") {
            openai_error(500, "server_error", "boom", "upstream exploded")
        } else {
            openai_ok(&model_of(c), PRIMARY_TEXT, 11, 9)
        }
    })
    .await;
    let shadow = fake_upstream(|c| anthropic_ok(&model_of(c), SHADOW_TEXT, 11, 9)).await;
    (primary, shadow)
}

/// Sends the five requests, stops the gateway (which flushes every row), then adds the
/// old event.
async fn fixture() -> Fixture {
    let (primary, shadow) = upstreams().await;
    let mut kt = Kt::start_mirror(&primary, &shadow);
    let plain = post(&kt, &chat("gpt-4o-mini", "hello")).await;
    assert_eq!(plain.status, 200, "{plain:#?}");
    let flagged = post(&kt, &chat("gpt-4o", "write to bob@example.com")).await;
    let unmapped = post(&kt, &chat("local-llm", "hello")).await;
    let failed = post(&kt, &chat("gpt-4o-mini", "please fail")).await;
    assert_eq!(failed.status, 502, "{failed:#?}");
    let rejected = post(&kt, &json!({"model": "gpt-4o-mini"})).await;
    assert_eq!(rejected.status, 400, "{rejected:#?}");
    stop(&mut kt);
    insert_old_event(&kt.db);
    Fixture {
        old: OLD_ID.into(),
        plain: plain.id,
        flagged: flagged.id,
        unmapped: unmapped.id,
        failed: failed.id,
        rejected: rejected.id,
        kt,
    }
}

fn insert_old_event(db: &Path) {
    let conn = kt::store::open(db).unwrap();
    let ten_days_ago = std::time::SystemTime::now() - Duration::from_secs(10 * 86_400);
    let ms = ten_days_ago
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let ts = humantime::format_rfc3339_millis(ten_days_ago).to_string();
    conn.execute(
        "INSERT INTO requests (id, ts, ts_unix_ms, target, provider, model, status,
             http_status, latency_ms, mirror_state, policy_findings)
         VALUES (?1, ?2, ?3, 'legacy', 'openai', ?4, 'success', 200, 5, 'disabled', '[]')",
        rusqlite::params![OLD_ID, ts, ms, OLD_MODEL],
    )
    .unwrap();
}

/// Ids printed by `kt events list --last 100 --format json ARGS`, in order.
fn ids(fx: &Fixture, args: &[&str]) -> Vec<String> {
    let mut all = vec!["events", "list", "--last", "100", "--format", "json"];
    all.extend_from_slice(args);
    let out = stdout_ok(&fx.cli(&all));
    let evs: Vec<Value> = serde_json::from_str(&out).unwrap();
    evs.iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

fn owned(ids: &[&String]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// Proves each filter, alone and combined, selects exactly the matching events.
#[tokio::test(flavor = "multi_thread")]
async fn each_filter_selects_exactly_the_matching_events() {
    let fx = fixture().await;
    let all = fx.all();
    let [old, plain, flagged, unmapped, failed, rejected] = &all[..] else {
        unreachable!()
    };
    assert_eq!(ids(&fx, &[]), all);
    let recent = all[1..].to_vec();
    assert_eq!(ids(&fx, &["--since", "24h"]), recent);
    let five_days_ago = humantime::format_rfc3339_seconds(
        std::time::SystemTime::now() - Duration::from_secs(5 * 86_400),
    )
    .to_string();
    assert_eq!(ids(&fx, &["--since", &five_days_ago]), recent);
    assert_eq!(ids(&fx, &["--since", "30d"]), fx.all());
    assert!(ids(&fx, &["--since", "2100-01-01T00:00:00Z"]).is_empty());

    // --provider: the target that answered, or the shadow target.
    assert_eq!(
        ids(&fx, &["--provider", "anthropic"]),
        owned(&[plain, flagged, failed])
    );
    assert_eq!(ids(&fx, &["--provider", "openai"]), recent);
    assert_eq!(ids(&fx, &["--provider", "legacy"]), owned(&[old]));
    // --model: the requested model, or the shadow's model.
    assert_eq!(ids(&fx, &["--model", "gpt-4o"]), owned(&[flagged]));
    assert_eq!(
        ids(&fx, &["--model", SHADOW_MODEL]),
        owned(&[plain, flagged, failed])
    );
    assert_eq!(ids(&fx, &["--model", OLD_MODEL]), owned(&[old]));
    assert_eq!(
        ids(&fx, &["--status", "success"]),
        owned(&[old, plain, flagged, unmapped])
    );
    assert_eq!(ids(&fx, &["--status", "error"]), owned(&[failed]));
    assert_eq!(ids(&fx, &["--status", "rejected"]), owned(&[rejected]));
    assert!(ids(&fx, &["--status", "client_closed"]).is_empty());
    assert_eq!(ids(&fx, &["--mirrored"]), owned(&[plain, flagged, failed]));
    assert_eq!(ids(&fx, &["--flagged"]), owned(&[flagged]));

    // Combinations are ANDed; --last counts matching events only.
    assert_eq!(
        ids(&fx, &["--mirrored", "--model", "gpt-4o-mini"]),
        owned(&[plain, failed])
    );
    assert_eq!(
        ids(&fx, &["--provider", "anthropic", "--status", "success"]),
        owned(&[plain, flagged])
    );
    assert_eq!(
        ids(&fx, &["--since", "24h", "--status", "success"]),
        owned(&[plain, flagged, unmapped])
    );
    assert!(ids(&fx, &["--flagged", "--model", "gpt-4o-mini"]).is_empty());
    assert!(ids(&fx, &["--provider", "legacy", "--since", "24h"]).is_empty());
    let last_two = stdout_ok(&fx.cli(&["events", "list", "--mirrored", "--last", "2", "--json"]));
    let last_two: Vec<Value> = serde_json::from_str(&last_two).unwrap();
    let last_two: Vec<&str> = last_two.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(last_two, [flagged, failed]);

    // tail takes the same filters.
    let tail = stdout_ok(&fx.cli(&["events", "tail", "--format", "jsonl", "--status", "error"]));
    let lines: Vec<Value> = tail
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{tail}");
    assert_eq!(lines[0]["id"], failed.as_str());

    let empty = stdout_ok(&fx.cli(&["events", "list", "--flagged", "--status", "error"]));
    assert_eq!(empty, "no events match the filters\n");

    let bad = fx.cli(&["events", "list", "--since", "last tuesday"]);
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        stderr_of(&bad),
        "error: --since: `last tuesday` is neither a duration (like 24h or 7d) nor an RFC 3339 time (like 2026-11-24T00:00:00Z)\n"
    );
    let bad = fx.cli(&["events", "list", "--status", "fine"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr_of(&bad));
}

/// A minimal RFC 4180 reader (quoted fields, doubled quotes, line breaks in quotes).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => {
                assert!(field.is_empty(), "quote inside an unquoted field: {text}");
                quoted = true;
            }
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        !quoted && field.is_empty() && row.is_empty(),
        "CSV must end with a line end"
    );
    rows
}

const CSV_HEADER: &str = "id,timestamp,target,model,status,http_status,stream,latency_ms,ttft_ms,input_tokens,output_tokens,mirror_state,shadow_target,shadow_model,shadow_status,shadow_latency_ms,shadow_output_tokens,latency_diff_ms,token_count_diff,content_similarity,findings";

// Proves json (array for list, lines for tail), jsonl, table and csv print the same events.
#[tokio::test(flavor = "multi_thread")]
async fn every_format_prints_the_same_events() {
    let fx = fixture().await;
    let all = fx.all();

    let array = stdout_ok(&fx.cli(&["events", "list", "--format", "json"]));
    let array: Vec<Value> = serde_json::from_str(&array).unwrap();
    let short = stdout_ok(&fx.cli(&["events", "list", "--json"]));
    assert_eq!(serde_json::from_str::<Vec<Value>>(&short).unwrap(), array);

    for args in [
        &["events", "list", "--format", "jsonl"][..],
        &["events", "tail", "--format", "jsonl"],
        &["events", "tail", "--format", "json"],
        &["events", "tail", "--json"],
    ] {
        let text = stdout_ok(&fx.cli(args));
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines, array, "{args:?}");
    }

    let table = stdout_ok(&fx.cli(&["events", "list", "--format", "table"]));
    for needle in ["similarity", "anthropic success", &fx.plain[..13], "legacy"] {
        assert!(table.contains(needle), "{needle:?} missing from:\n{table}");
    }

    let text = stdout_ok(&fx.cli(&["events", "list", "--format", "csv"]));
    // The comma and quotes in the old event's model are quoted as RFC 4180 says.
    assert!(text.contains(",\"legacy,\"\"v1\"\"\","), "{text}");
    let rows = parse_csv(&text);
    assert_eq!(rows[0].join(","), CSV_HEADER);
    assert_eq!(rows.len(), 1 + all.len(), "{text}");
    for row in &rows {
        assert_eq!(row.len(), 21, "{row:?}");
    }
    let (header, rows) = (&rows[0], &rows[..]);
    let row = |id: &str| {
        let r = rows.iter().find(|r| r[0] == id).unwrap();
        move |name: &str| {
            let k = header.iter().position(|h| h == name).unwrap();
            r[k].clone()
        }
    };
    let old = row(&fx.old);
    assert_eq!(
        [
            old("target"),
            old("model"),
            old("status"),
            old("shadow_status")
        ],
        ["legacy", OLD_MODEL, "success", ""].map(String::from)
    );
    let plain = row(&fx.plain);
    assert_eq!(
        [
            plain("model"),
            plain("stream"),
            plain("mirror_state"),
            plain("shadow_target"),
            plain("shadow_model"),
            plain("shadow_status"),
            plain("output_tokens"),
            plain("shadow_output_tokens"),
            plain("token_count_diff"),
            plain("findings"),
            plain("ttft_ms"),
        ],
        [
            "gpt-4o-mini",
            "false",
            "mirrored",
            "anthropic",
            SHADOW_MODEL,
            "success",
            "9",
            "9",
            "0",
            "0",
            "",
        ]
        .map(String::from)
    );
    let sim: f64 = plain("content_similarity").parse().unwrap();
    assert!((0.0..1.0).contains(&sim), "{sim}");
    assert_eq!(row(&fx.flagged)("findings"), "1");
    assert_eq!(row(&fx.unmapped)("mirror_state"), "no_model_mapping");

    let flagged = parse_csv(&stdout_ok(&fx.cli(&[
        "events",
        "list",
        "--format",
        "csv",
        "--flagged",
    ])));
    assert_eq!(flagged.len(), 2);
    assert_eq!(flagged[1][0], fx.flagged);
    let last = parse_csv(&stdout_ok(
        &fx.cli(&["events", "tail", "--format", "csv", "--last", "1"]),
    ));
    assert_eq!(last.len(), 2);
    assert_eq!(last[1][0], fx.rejected);
}

/// Kills the child when dropped, so a failed test leaves no `--follow` process behind.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// Proves `tail --follow` prints a matching event written after it started, skips a
// non-matching one, and exits by itself once its stdout is closed.
#[tokio::test(flavor = "multi_thread")]
async fn follow_streams_new_matching_events_until_stdout_closes() {
    let (primary, shadow) = upstreams().await;
    let kt = Kt::start_mirror(&primary, &shadow);
    let first = post(&kt, &chat("gpt-4o-mini", "one")).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while events(&kt.db, 10).is_empty() {
        assert!(Instant::now() < deadline, "the first event was not written");
        std::thread::sleep(Duration::from_millis(20));
    }

    let mut cmd = kt_cmd(&[
        "events",
        "tail",
        "--follow",
        "--format",
        "jsonl",
        "--model",
        "gpt-4o-mini",
    ]);
    let child = cmd
        .arg("--db")
        .arg(&kt.db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    // Reads two lines, then drops the pipe: that closes kt's stdout.
    let reader = std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        for _ in 0..2 {
            let line = lines.next().unwrap().unwrap();
            tx.send(line).unwrap();
        }
    });
    let line = |rx: &mpsc::Receiver<String>| -> Value {
        let l = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        serde_json::from_str(&l).unwrap()
    };
    assert_eq!(line(&rx)["id"], first.id.as_str());

    let other = post(&kt, &chat("local-llm", "not this one")).await;
    let second = post(&kt, &chat("gpt-4o-mini", "two")).await;
    assert_eq!((other.status, second.status), (200, 200));
    let next = line(&rx);
    assert_eq!(next["id"], second.id.as_str(), "{next:#}");
    assert_eq!(next["model"], "gpt-4o-mini");
    reader.join().unwrap();

    // The next matching event meets a closed pipe: kt stops by itself.
    post(&kt, &chat("gpt-4o-mini", "three")).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "tail --follow kept running");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}

// Proves export writes one JSON line per mirrored pair with both logged texts and metrics.
#[tokio::test(flavor = "multi_thread")]
async fn export_writes_mirrored_pairs_with_both_answers() {
    let fx = fixture().await;
    let text = stdout_ok(&fx.cli(&["events", "export", "--format", "jsonl"]));
    let pairs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<&str> = pairs
        .iter()
        .map(|p| p["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [&fx.plain, &fx.flagged, &fx.failed]);

    let p = &pairs[0];
    assert!(p.get("prompt").is_none(), "prompts are not stored: {p:#}");
    assert_eq!(p["stream"], false);
    assert_eq!(
        p["ingress"], "openai",
        "the caller's API is exported: {p:#}"
    );
    assert!(p["timestamp"].as_str().unwrap().ends_with('Z'));
    let (pri, sha, cmp) = (&p["primary"], &p["shadow"], &p["comparison"]);
    assert_eq!(
        [&pri["target"], &pri["model"], &pri["status"], &pri["text"]],
        [
            &json!("openai"),
            &json!("gpt-4o-mini"),
            &json!("success"),
            &json!(PRIMARY_TEXT)
        ]
    );
    assert_eq!(
        [
            &sha["target"],
            &sha["provider"],
            &sha["model"],
            &sha["status"],
            &sha["text"]
        ],
        [
            &json!("anthropic"),
            &json!("anthropic"),
            &json!(SHADOW_MODEL),
            &json!("success"),
            &json!(SHADOW_TEXT)
        ]
    );
    for side in [pri, sha] {
        assert!(side["latency_ms"].is_u64(), "{side:#}");
        assert_eq!(side["output_tokens"], 9);
        assert!(side["finish_reason"].is_string(), "{side:#}");
    }
    assert_eq!(cmp["token_count_diff"], 0);
    assert!(cmp["content_similarity"].is_f64(), "{cmp:#}");
    assert_eq!(cmp["similarity_algorithm"], "cosine_words_v1");
    assert_eq!(pairs[1]["policy_findings"].as_array().unwrap().len(), 1);
    // The failed primary has no text; its shadow's answer is still there.
    let failed = &pairs[2];
    assert_eq!(failed["primary"]["status"], "error");
    assert_eq!(failed["primary"]["text"], Value::Null);
    assert_eq!(failed["shadow"]["text"], SHADOW_TEXT);

    let none = stdout_ok(&fx.cli(&["events", "export", "--since", "2100-01-01T00:00:00Z"]));
    assert_eq!(none, "");
    let file = fx.kt.dir.path().join("pairs.jsonl");
    let out = fx.cli(&[
        "events",
        "export",
        "--since",
        "24h",
        "--output",
        file.to_str().unwrap(),
    ]);
    assert_eq!(stdout_ok(&out), "");
    assert_eq!(
        stderr_of(&out),
        format!("wrote 3 mirrored pairs to {}\n", file.display())
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}

// Proves show finds an event by full id or unique prefix, diffs the two answers, and
// refuses unknown ids and ambiguous prefixes with exit 1.
#[tokio::test(flavor = "multi_thread")]
async fn show_finds_one_event_and_diffs_the_answers() {
    let fx = fixture().await;
    let full = stdout_ok(&fx.cli(&["events", "show", &fx.plain]));
    for needle in [
        format!("event       {}", fx.plain),
        "primary     openai (openai), model gpt-4o-mini".into(),
        format!("shadow      anthropic (anthropic), model {SHADOW_MODEL}: success (HTTP 200)"),
        "primary answer (openai)".into(),
        "shadow answer (anthropic)".into(),
        "word diff, primary → shadow (2 removed as [-…-], 2 added as {+…+}):".into(),
        "The quick [-brown-] {+red+} fox [-jumps-] {+leaps+} over the lazy dog".into(),
    ] {
        assert!(full.contains(&needle), "{needle:?} missing from:\n{full}");
    }
    assert!(
        !full.contains('\x1b'),
        "no colours when stdout is not a TTY:\n{full}"
    );

    // The shortest prefix no other event shares works, in either case.
    let others: Vec<String> = fx.all().into_iter().filter(|i| *i != fx.plain).collect();
    let k = (1..fx.plain.len())
        .find(|&k| others.iter().all(|o| !o.starts_with(&fx.plain[..k])))
        .unwrap();
    assert_eq!(
        stdout_ok(&fx.cli(&["events", "show", &fx.plain[..k]])),
        full
    );
    let upper = fx.plain[..k].to_uppercase();
    assert_eq!(stdout_ok(&fx.cli(&["events", "show", &upper])), full);

    let json: Value = serde_json::from_str(&stdout_ok(
        &fx.cli(&["events", "show", &fx.plain, "--format", "json"]),
    ))
    .unwrap();
    assert_eq!(json["id"], fx.plain.as_str());
    assert_eq!(json["response_text"], PRIMARY_TEXT);
    assert_eq!(json["shadow"]["response_text"], SHADOW_TEXT);
    assert_eq!(json["traffic_mirror"]["shadow"]["status"], "success");
    assert_eq!(json["quality"]["has_tools"], false);

    let flagged = stdout_ok(&fx.cli(&["events", "show", &fx.flagged]));
    assert!(
        flagged.contains("findings    content-filter flag email in request (×1)"),
        "{flagged}"
    );

    // The five gateway events share a time-ordered prefix the old one does not.
    let recent = &fx.all()[1..];
    let common = (1..fx.plain.len())
        .rev()
        .find(|&k| recent.iter().all(|i| i.starts_with(&fx.plain[..k])))
        .unwrap();
    let prefix = &fx.plain[..common];
    let out = fx.cli(&["events", "show", prefix]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.starts_with(&format!(
            "error: `{prefix}` matches 5 events; give more of the id:\n"
        )),
        "{err}"
    );
    for id in recent {
        assert!(err.contains(id.as_str()), "{id} missing from:\n{err}");
    }
    assert!(!err.contains(OLD_ID), "{err}");

    let out = fx.cli(&["events", "show", "ffff"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr_of(&out),
        "error: no event has an id starting with `ffff` (see `kt events list`)\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
}
