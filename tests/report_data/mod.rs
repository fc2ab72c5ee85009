//! Test data for tests/report.rs: a fixture of mirrored pairs with known values, written
//! straight into a database that `kt events list` migrated, and an independent computation
//! of every figure `kt mirror report` should show for it (plain Rust over the fixture, no
//! SQL), built as the JSON the report should contain.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

mod expected;

pub use expected::*;

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

/// 2026-01-05T00:00:00Z.
pub const T0: i64 = 1_767_571_200_000;
pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = 24 * HOUR;
/// `--since` / `--until` of the fixture's window: two whole days.
pub const SINCE: &str = "2026-01-05T00:00:00Z";
pub const UNTIL: &str = "2026-01-07T00:00:00Z";

pub const MINI: &str = "gpt-4o-mini";
pub const SONNET: &str = "claude-sonnet-4-20250514";
pub const GPT4O: &str = "gpt-4o";
pub const HAIKU: &str = "claude-3-5-haiku-20241022";

/// The README's built-in prices for the fixture's models (USD per million in / out).
pub const PRICES: [(&str, f64, f64); 4] = [
    (MINI, 0.15, 0.60),
    (SONNET, 3.0, 15.0),
    (GPT4O, 2.50, 10.0),
    (HAIKU, 0.80, 4.0),
];

/// One side of a pair.
#[derive(Debug, Clone)]
pub struct Side {
    pub status: &'static str,
    pub http_status: Option<i64>,
    /// The primary's upstream latency / the shadow's latency.
    pub latency: i64,
    pub ttft: Option<i64>,
    pub input: Option<i64>,
    pub output: Option<i64>,
    pub finish: Option<&'static str>,
    pub chars: Option<i64>,
    pub tool_calls: Option<&'static str>,
    pub json_valid: Option<bool>,
    pub text: Option<String>,
    pub error_class: Option<&'static str>,
    pub error_message: Option<&'static str>,
}

/// One mirrored request and its shadow (`None`: still pending).
#[derive(Debug, Clone)]
pub struct Pair {
    pub id: String,
    pub ts: i64,
    pub model: &'static str,
    pub shadow_target: &'static str,
    pub shadow_model: &'static str,
    pub stream: bool,
    pub has_tools: bool,
    pub json_mode: bool,
    pub primary: Side,
    pub shadow: Option<Side>,
    pub similarity: Option<f64>,
    pub tool_agree: Option<bool>,
    /// A noise-floor call: (status, similarity).
    pub noise: Option<(&'static str, Option<f64>)>,
}

/// A request that was not mirrored.
#[derive(Debug, Clone)]
pub struct Other {
    pub id: String,
    pub ts: i64,
    pub model: &'static str,
    pub mirror_state: &'static str,
}

#[derive(Debug, Clone, Default)]
pub struct Fixture {
    pub pairs: Vec<Pair>,
    pub others: Vec<Other>,
}

/// A small deterministic generator for the fixture's values.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

fn id(n: usize) -> String {
    format!("01900000-0000-7000-8000-{n:012}")
}

fn ok_side(latency: i64, input: i64, output: i64, text: Option<String>) -> Side {
    Side {
        status: "success",
        http_status: Some(200),
        latency,
        ttft: None,
        input: Some(input),
        output: Some(output),
        finish: Some("stop"),
        chars: Some(
            text.as_ref()
                .map_or(output * 5, |t| t.chars().count() as i64),
        ),
        tool_calls: None,
        json_valid: None,
        text,
        error_class: None,
        error_message: None,
    }
}

fn failed(
    status: &'static str,
    http: Option<i64>,
    class: &'static str,
    msg: &'static str,
    latency: i64,
) -> Side {
    Side {
        status,
        http_status: http,
        latency,
        ttft: None,
        input: None,
        output: None,
        finish: None,
        chars: None,
        tool_calls: None,
        json_valid: None,
        text: None,
        error_class: Some(class),
        error_message: Some(msg),
    }
}

/// The main fixture: 85 pairs over two days in two mappings (texts logged for the
/// gpt-4o-mini one only), with streamed, tool and JSON-mode requests, empty and truncated
/// answers, shadow failures of three kinds, pending shadows, primary failures, noise-floor
/// calls, and unmirrored requests; plus two pairs outside the window.
pub fn fixture() -> Fixture {
    let mut rng = Lcg(42);
    let mut f = Fixture::default();
    for i in 0..85usize {
        let ts = T0 + i as i64 * 33 * 60_000 + rng.below(60_000);
        let mini = i % 10 >= 3;
        let (model, shadow_model) = if mini { (MINI, SONNET) } else { (GPT4O, HAIKU) };
        let p_lat = 200 + rng.below(300);
        let s_lat = (p_lat + rng.below(200) - 50).max(1);
        let input = 20 + rng.below(50);
        let p_out = 50 + rng.below(150);
        let s_out = 50 + rng.below(150);
        let text = |who: &str, n: i64| {
            mini.then(|| {
                let word = if who == "p" { "alpha " } else { "beta " };
                format!("{who}{i}: {}", word.repeat(n as usize % 40 + 1))
            })
        };
        let mut primary = ok_side(p_lat, input, p_out, text("p", p_out));
        let mut shadow = ok_side(s_lat, input + rng.below(3), s_out, text("s", s_out));
        let mut similarity = Some(rng.below(1001) as f64 / 1000.0);
        match i {
            5 => similarity = Some(0.3),
            7 => similarity = Some(0.7),
            11 => similarity = Some(1.0),
            13 => similarity = Some(0.0),
            17 => similarity = None,
            _ => {}
        }
        let stream = i % 4 == 0;
        if stream {
            primary.ttft = Some(p_lat / 3 + rng.below(20));
            shadow.ttft = Some(s_lat / 3 + rng.below(40));
        }
        let has_tools = i % 9 == 0;
        let tool_agree = if has_tools {
            [Some(true), Some(false), None][i / 9 % 3]
        } else {
            None
        };
        let json_mode = i % 8 == 1;
        if json_mode {
            primary.json_valid = Some(true);
            shadow.json_valid = Some(i % 3 != 0);
        }
        if i % 11 == 3 {
            shadow.finish = Some("length");
        }
        if i % 13 == 6 {
            shadow.finish = None;
        }
        if i % 17 == 2 {
            shadow.chars = Some(0);
        }
        if i % 19 == 4 {
            shadow.chars = None;
            shadow.output = Some(0);
        }
        if i % 23 == 5 {
            shadow.chars = Some(0);
            shadow.tool_calls = Some(r#"[{"name":"lookup","arguments":"{}"}]"#);
        }
        if i % 29 == 7 {
            shadow.output = None;
        }
        if i == 40 {
            primary.finish = Some("length");
        }
        let mut shadow = Some(shadow);
        match i {
            14 | 29 | 44 => shadow = Some(failed("error", Some(529), "http_5xx", "Overloaded", 80)),
            74 => {
                shadow = Some(failed(
                    "error",
                    Some(529),
                    "http_5xx",
                    "Overloaded, retry later",
                    90,
                ))
            }
            20 | 50 => {
                shadow = Some(failed(
                    "timeout",
                    None,
                    "timeout",
                    "shadow timed out after 60000 ms",
                    60_000,
                ))
            }
            35 => shadow = Some(failed("error", None, "connect", "connection refused", 3)),
            83 | 84 => shadow = None,
            _ => {}
        }
        match i {
            33 => primary = failed("error", Some(502), "http_5xx", "upstream said 500", 120),
            66 => {
                primary = failed(
                    "client_closed",
                    Some(499),
                    "client_closed",
                    "the caller went away",
                    50,
                )
            }
            _ => {}
        }
        let compared =
            primary.status == "success" && shadow.as_ref().is_some_and(|s| s.status == "success");
        if !compared {
            similarity = None;
        }
        let noise = match i % 5 {
            0 if compared => Some(("success", Some(0.8 + rng.below(150) as f64 / 1000.0))),
            1 if i == 31 => Some(("error", None)),
            _ => None,
        };
        f.pairs.push(Pair {
            id: id(i),
            ts,
            model,
            shadow_target: "anthropic",
            shadow_model,
            stream,
            has_tools,
            json_mode,
            primary,
            shadow,
            similarity,
            tool_agree,
            noise,
        });
    }
    // Requests the shadow could take over but did not see, and one it never could.
    for j in 0..14usize {
        f.others.push(Other {
            id: id(1000 + j),
            ts: T0 + j as i64 * 3 * HOUR + 7 * 60_000,
            model: if j % 4 == 0 { GPT4O } else { MINI },
            mirror_state: "not_sampled",
        });
    }
    for j in 0..3usize {
        f.others.push(Other {
            id: id(1100 + j),
            ts: T0 + 5 * HOUR + j as i64 * 60_000,
            model: MINI,
            mirror_state: "dropped",
        });
    }
    for j in 0..2usize {
        f.others.push(Other {
            id: id(1200 + j),
            ts: T0 + 9 * HOUR + j as i64 * 60_000,
            model: "gpt-3.5-turbo",
            mirror_state: "no_model_mapping",
        });
    }
    f
}

/// Two pairs outside [SINCE, UNTIL): the window must exclude them.
pub fn outside_window() -> Vec<Pair> {
    let mut base = fixture().pairs[3].clone();
    base.id = id(9000);
    base.ts = T0 - HOUR;
    let mut after = base.clone();
    after.id = id(9001);
    after.ts = T0 + 2 * DAY;
    vec![base, after]
}

/// A migrated, empty database at `db` (via `kt events list`), opened for inserts.
pub fn open(
    db: &Path,
    kt_cli: impl Fn(&Path, &[&str]) -> std::process::Output,
) -> rusqlite::Connection {
    let out = kt_cli(db, &["events", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rusqlite::Connection::open(db).unwrap()
}

pub(crate) fn stamp(ms: i64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms as u64)).to_string()
}

/// Writes the fixture's rows.
pub fn insert(conn: &rusqlite::Connection, pairs: &[Pair], others: &[Other]) {
    let mut req = conn
        .prepare(
            "INSERT INTO requests (id, ts, ts_unix_ms, target, provider, model, status, http_status,
                latency_ms, upstream_latency_ms, input_tokens, output_tokens, finish_reason,
                error_class, error_message, mirror_state, shadow_target, shadow_model,
                policy_findings, response_text, stream, ttft_ms, has_tools, json_mode,
                answer_chars, tool_calls, json_valid)
             VALUES (?1, ?2, ?3, 'openai', 'openai', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,
                ?14, ?15, ?16, '[]', ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
        )
        .unwrap();
    let mut sh = conn
        .prepare(
            "INSERT INTO shadow_results (request_id, shadow_target, ts, provider, model, status,
                http_status, latency_ms, input_tokens, output_tokens, finish_reason, error_class,
                error_message, latency_diff_ms, token_count_diff, content_similarity,
                similarity_algorithm, response_text, stream, ttft_ms, ttft_diff_ms, kind,
                answer_chars, tool_calls, json_valid, tool_calls_agree)
             VALUES (?1, ?2, ?3, 'anthropic', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, NULL,
                ?13, 'cosine_words_v1', ?14, ?15, ?16, NULL, ?17, ?18, ?19, ?20, ?21)",
        )
        .unwrap();
    for p in pairs {
        let s = &p.primary;
        req.execute(rusqlite::params![
            p.id,
            stamp(p.ts),
            p.ts,
            p.model,
            s.status,
            s.http_status,
            s.latency + 3,
            s.latency,
            s.input,
            s.output,
            s.finish,
            s.error_class,
            s.error_message,
            "mirrored",
            p.shadow_target,
            p.shadow_model,
            s.text,
            p.stream,
            s.ttft,
            p.has_tools,
            p.json_mode,
            s.chars,
            s.tool_calls,
            s.json_valid,
        ])
        .unwrap();
        if let Some(x) = &p.shadow {
            sh.execute(rusqlite::params![
                p.id,
                p.shadow_target,
                stamp(p.ts + x.latency),
                p.shadow_model,
                x.status,
                x.http_status,
                x.latency,
                x.input,
                x.output,
                x.finish,
                x.error_class,
                x.error_message,
                p.similarity,
                x.text,
                p.stream,
                x.ttft,
                "shadow",
                x.chars,
                x.tool_calls,
                x.json_valid,
                p.tool_agree,
            ])
            .unwrap();
        }
        if let Some((status, sim)) = p.noise {
            sh.execute(rusqlite::params![
                p.id,
                "openai",
                stamp(p.ts + 500),
                p.model,
                status,
                Some(200),
                400,
                30,
                80,
                "stop",
                None::<String>,
                None::<String>,
                sim,
                None::<String>,
                false,
                None::<i64>,
                "noise_floor",
                Some(300),
                None::<String>,
                None::<bool>,
                None::<bool>,
            ])
            .unwrap();
        }
    }
    for o in others {
        req.execute(rusqlite::params![
            o.id,
            stamp(o.ts),
            o.ts,
            o.model,
            "success",
            200,
            300,
            297,
            30,
            90,
            "stop",
            None::<String>,
            None::<String>,
            o.mirror_state,
            None::<String>,
            None::<String>,
            None::<String>,
            false,
            None::<i64>,
            false,
            false,
            Some(400),
            None::<String>,
            None::<bool>,
        ])
        .unwrap();
    }
}
