#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `GET /metrics`: the Prometheus exposition of a running gateway. Real `kt` binary, fake
//! upstreams; the scrape is parsed by a small exposition-format parser below and checked
//! value by value against the traffic the test sent.
mod common;
use common::*;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::json;

const CLAUDE: &str = "claude-sonnet-4-20250514";
const PIECES: &[&str] = &["Technical debt is", " a loan", " against the future."];

/// One sample line: `name{labels} value`.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed scrape: the samples, and each family's `# TYPE`.
#[derive(Debug)]
struct Scrape {
    samples: Vec<Sample>,
    types: HashMap<String, String>,
    text: String,
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Parses `{k="v",...}` (with `\\`, `\"` and `\n` escapes); returns the labels and the rest.
fn parse_labels(s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = s.strip_prefix('{').ok_or("no `{`")?;
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        let eq = rest.find('=').ok_or("label without `=`")?;
        let key = &rest[..eq];
        if !is_name(key) {
            return Err(format!("bad label name {key:?}"));
        }
        let mut value = String::new();
        let mut chars = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("unquoted label value")?
            .char_indices();
        let end = loop {
            match chars.next().ok_or("unterminated label value")? {
                (i, '"') => break i,
                (_, '\\') => match chars.next().ok_or("dangling escape")?.1 {
                    'n' => value.push('\n'),
                    c @ ('\\' | '"') => value.push(c),
                    c => return Err(format!("bad escape \\{c}")),
                },
                (_, c) => value.push(c),
            }
        };
        if labels.insert(key.to_string(), value).is_some() {
            return Err(format!("label {key} twice"));
        }
        rest = &rest[eq + 1..][end + 2..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// Parses the text exposition format (0.0.4), failing on any line it does not understand
/// and on a sample whose family has no `# TYPE` before it.
fn parse(text: &str) -> Scrape {
    let mut samples = Vec::new();
    let mut types = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let fail = |why: &str| -> ! { panic!("line {}: {why}: {line:?}\n{text}", n + 1) };
        if line.trim().is_empty() || line.starts_with("# HELP ") {
            continue;
        }
        if let Some(t) = line.strip_prefix("# TYPE ") {
            let (name, kind) = t.split_once(' ').unwrap_or_else(|| fail("bad TYPE"));
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                fail("unknown type");
            }
            if types.insert(name.to_string(), kind.to_string()).is_some() {
                fail("family typed twice");
            }
            continue;
        }
        if line.starts_with('#') {
            fail("unknown comment");
        }
        let name_end = line.find(['{', ' ']).unwrap_or_else(|| fail("no value"));
        let name = &line[..name_end];
        if !is_name(name) {
            fail("bad metric name");
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..]).unwrap_or_else(|e| fail(&e))
        } else {
            (BTreeMap::new(), &line[name_end..])
        };
        let value = rest
            .strip_prefix(' ')
            .unwrap_or_else(|| fail("no space before the value"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| fail("value is not a number")),
        };
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).map(String::as_str) == Some("histogram"))
            })
            .unwrap_or(name);
        if !types.contains_key(family) {
            fail("sample before its # TYPE");
        }
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Scrape {
        samples,
        types,
        text: text.to_string(),
    }
}

impl Scrape {
    /// The value of the series with exactly these labels.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == want)
            .map(|s| s.value)
    }

    /// Like [`Scrape::get`], failing loudly when the series is missing.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no {name}{labels:?} in:\n{}", self.text))
    }

    /// The sum over every series of `name` that has these labels (and maybe others).
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .sum()
    }

    fn kind(&self, family: &str) -> &str {
        self.types
            .get(family)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no # TYPE {family} in:\n{}", self.text))
    }

    /// Every histogram series is whole and consistent: buckets cumulative (never falling
    /// as `le` rises), a `+Inf` bucket equal to `_count`, a `_sum`, and a zero sum when
    /// the count is zero. Returns how many series were checked.
    fn check_histograms(&self) -> usize {
        let mut checked = 0;
        for (family, _) in self.types.iter().filter(|(_, k)| *k == "histogram") {
            let bucket_name = format!("{family}_bucket");
            let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
            for s in self.samples.iter().filter(|s| s.name == bucket_name) {
                let mut labels = s.labels.clone();
                let le = labels.remove("le").expect("bucket without le");
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap()
                };
                series.entry(labels).or_default().push((le, s.value));
            }
            for (labels, mut buckets) in series {
                let pairs: Vec<(&str, &str)> = labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
                assert!(
                    buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                    "{family}{labels:?}: buckets not cumulative: {buckets:?}"
                );
                let count = self.value(&format!("{family}_count"), &pairs);
                let sum = self.value(&format!("{family}_sum"), &pairs);
                assert_eq!(
                    buckets.last().map(|b| b.0),
                    Some(f64::INFINITY),
                    "{family}{labels:?}: no +Inf bucket"
                );
                assert_eq!(buckets.last().unwrap().1, count, "{family}{labels:?}");
                assert!(sum >= 0.0, "{family}{labels:?}: negative sum {sum}");
                if count == 0.0 {
                    assert_eq!(sum, 0.0, "{family}{labels:?}");
                }
                checked += 1;
            }
        }
        checked
    }
}

/// `GET /metrics`, checked for status and content type, parsed.
async fn scrape(kt: &Kt) -> Scrape {
    let resp = reqwest::get(kt.url("/metrics")).await.unwrap();
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        ct.starts_with("text/plain; version=0.0.4"),
        "content-type {ct:?}"
    );
    parse(&resp.text().await.unwrap())
}

/// Waits until `/healthz` shows `rows` event rows written and no shadow in flight.
async fn settle(kt: &Kt, rows: u64) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let h = healthz(kt).await;
        if h["events_written"] == rows && h["shadows_in_flight"] == 0 {
            return h;
        }
        assert!(Instant::now() < deadline, "not settled: {h:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// Proves one scrape counts every request by target, outcome, HTTP status and ingress,
// every mirror decision, shadow successes and failures by error class, and fills the
// latency and TTFT histograms per side in seconds (a 60 ms primary and a 120 ms shadow
// land above the 0.05 s and 0.1 s buckets), with the gateway's own counters as gauges.
#[tokio::test(flavor = "multi_thread")]
async fn a_scrape_counts_requests_shadows_and_latencies() {
    let primary = fake_upstream(|c| {
        if prompt_of(c).contains("fail") {
            openai_error(500, "server_error", "internal", "the primary broke")
        } else if c.body["stream"] == true {
            Reply::sse(openai_sse(c, PIECES, 5, 7), Duration::from_millis(20))
        } else {
            openai_ok(&model_of(c), "Technical debt is a loan.", 5, 7)
                .after(Duration::from_millis(60))
        }
    })
    .await;
    let shadow = fake_upstream(|c| {
        if prompt_of(c).contains("fail") {
            anthropic_error(500, "api_error", "the shadow broke")
        } else if c.body["stream"] == true {
            Reply::sse(
                anthropic_sse(CLAUDE, PIECES, 5, 7),
                Duration::from_millis(20),
            )
        } else {
            anthropic_ok(CLAUDE, "Technical debt is a loan.", 5, 7)
                .after(Duration::from_millis(120))
        }
    })
    .await;
    let kt = Kt::start_mirror(&primary, &shadow);
    let http = reqwest::Client::new();
    let chat_url = kt.url("/v1/chat/completions");

    for prompt in ["Explain technical debt.", "Explain it again."] {
        assert_eq!(post(&kt, &chat("gpt-4o-mini", prompt)).await.status, 200);
    }
    let mut streamed = chat("gpt-4o-mini", "Stream it.");
    streamed["stream"] = json!(true);
    assert_eq!(post(&kt, &streamed).await.status, 200);
    for prompt in ["fail once", "fail twice"] {
        assert_eq!(post(&kt, &chat("gpt-4o", prompt)).await.status, 502);
    }
    // No model mapping: answered, not mirrored.
    assert_eq!(post(&kt, &chat("gpt-3.5-turbo", "Hi.")).await.status, 200);
    let bad = send(
        http.post(&chat_url)
            .body("{not json")
            .header("content-type", "application/json"),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(send(http.get(kt.url("/nope"))).await.status, 404);

    // 8 request rows, 5 shadow rows.
    let health = settle(&kt, 13).await;
    let m = scrape(&kt).await;

    let req = |status, code| {
        m.value(
            "kt_requests_total",
            &[
                ("target", "openai"),
                ("status", status),
                ("code", code),
                ("ingress", "openai"),
            ],
        )
    };
    assert_eq!(req("success", "200"), 4.0);
    assert_eq!(req("error", "502"), 2.0);
    assert_eq!(req("rejected", "400"), 1.0);
    assert_eq!(req("rejected", "404"), 1.0);
    assert_eq!(m.sum("kt_requests_total", &[]), 8.0);
    assert_eq!(m.kind("kt_requests_total"), "counter");

    let decision = |state| m.value("kt_mirror_decisions_total", &[("state", state)]);
    assert_eq!(decision("mirrored"), 5.0);
    assert_eq!(decision("no_model_mapping"), 1.0);
    assert_eq!(decision("not_eligible"), 2.0);
    assert_eq!(m.sum("kt_mirror_decisions_total", &[]), 8.0);

    let shadow_calls = |status| {
        m.value(
            "kt_shadow_requests_total",
            &[
                ("target", "anthropic"),
                ("kind", "shadow"),
                ("status", status),
            ],
        )
    };
    assert_eq!(shadow_calls("success"), 3.0);
    assert_eq!(shadow_calls("error"), 2.0);
    assert_eq!(
        m.value(
            "kt_shadow_failures_total",
            &[
                ("target", "anthropic"),
                ("kind", "shadow"),
                ("error_class", "http_5xx")
            ]
        ),
        2.0
    );
    assert_eq!(m.sum("kt_shadow_failures_total", &[]), 2.0);

    // Every answered request is in the caller-side histogram, errors included.
    assert_eq!(m.kind("kt_request_duration_seconds"), "histogram");
    let req_count = |stream| {
        m.value(
            "kt_request_duration_seconds_count",
            &[("target", "openai"), ("stream", stream)],
        )
    };
    assert_eq!(req_count("false"), 7.0);
    assert_eq!(req_count("true"), 1.0);

    // Upstream latency: successful calls only, per side, in seconds.
    let up = |side, target, stream| [("side", side), ("target", target), ("stream", stream)];
    let p = up("primary", "openai", "false");
    let s = up("shadow", "anthropic", "false");
    assert_eq!(m.value("kt_upstream_duration_seconds_count", &p), 3.0);
    assert_eq!(
        m.value(
            "kt_upstream_duration_seconds_count",
            &up("primary", "openai", "true")
        ),
        1.0
    );
    assert_eq!(m.value("kt_upstream_duration_seconds_count", &s), 2.0);
    assert_eq!(
        m.value(
            "kt_upstream_duration_seconds_count",
            &up("shadow", "anthropic", "true")
        ),
        1.0
    );
    let bucket = |labels: &[(&'static str, &'static str); 3], le: &'static str| {
        let mut l = labels.to_vec();
        l.push(("le", le));
        m.value("kt_upstream_duration_seconds_bucket", &l)
    };
    assert_eq!(bucket(&p, "0.05"), 0.0, "the primary takes 60 ms");
    assert_eq!(bucket(&s, "0.1"), 0.0, "the shadow takes 120 ms");
    let p_sum = m.value("kt_upstream_duration_seconds_sum", &p);
    let s_sum = m.value("kt_upstream_duration_seconds_sum", &s);
    assert!((0.18..15.0).contains(&p_sum), "primary sum {p_sum} s");
    assert!((0.24..10.0).contains(&s_sum), "shadow sum {s_sum} s");

    // TTFT: the one streamed request, on both sides.
    for (side, target) in [("primary", "openai"), ("shadow", "anthropic")] {
        let l = [("side", side), ("target", target)];
        assert_eq!(m.value("kt_ttft_seconds_count", &l), 1.0, "{side}");
        let ttft = m.value("kt_ttft_seconds_sum", &l);
        assert!((0.0..5.0).contains(&ttft), "{side} ttft {ttft}");
    }
    assert!(m.check_histograms() >= 8, "{}", m.text);

    // The gateway's own counters, as /healthz has them.
    assert_eq!(m.kind("kt_event_queue_depth"), "gauge");
    assert_eq!(m.value("kt_event_queue_depth", &[]), 0.0);
    assert_eq!(m.kind("kt_events_written_total"), "counter");
    assert_eq!(
        m.value("kt_events_written_total", &[]),
        health["events_written"].as_f64().unwrap()
    );
    assert_eq!(m.value("kt_events_written_total", &[]), 13.0);
    assert_eq!(
        m.value("kt_events_dropped_total", &[("reason", "queue_full")]),
        0.0
    );
    assert_eq!(
        m.value("kt_events_dropped_total", &[("reason", "write_failed")]),
        0.0
    );
    assert_eq!(m.value("kt_shadows_in_flight", &[]), 0.0);
    assert_eq!(m.value("kt_shadow_max_in_flight", &[]), 256.0);
    assert_eq!(m.value("kt_mirror_dropped_total", &[]), 0.0);
    assert_eq!(
        m.value("kt_config_reloads_total", &[("result", "applied")]),
        0.0
    );
    assert_eq!(
        m.value("kt_config_reloads_total", &[("result", "refused")]),
        0.0
    );
    assert_eq!(
        m.value("kt_spend_guard_paused", &[("target", "anthropic")]),
        0.0
    );
    assert_eq!(
        m.value("kt_build_info", &[("version", env!("CARGO_PKG_VERSION"))]),
        1.0
    );
    // Requested model names are the caller's input: never a label.
    assert!(!m.text.contains("gpt-3.5-turbo"), "{}", m.text);

    // A scrape is not a request: no event row, no count.
    let again = scrape(&kt).await;
    assert_eq!(again.sum("kt_requests_total", &[]), 8.0);
    assert_eq!(healthz(&kt).await["requests_answered"], 8);
}

// Proves counters carry on across a config reload (SIGHUP, applied and refused), which
// rebuilds the gateway's state: requests before and after are counted together.
#[tokio::test(flavor = "multi_thread")]
async fn counters_survive_config_reloads() {
    let primary = fake_upstream(|c| openai_ok(&model_of(c), "hi", 3, 1)).await;
    let shadow = fake_upstream(|_| anthropic_ok(CLAUDE, "hello", 3, 1)).await;
    let cfg = mirror_config(&primary.url(), "anthropic", &shadow.url(), "");
    let kt = Kt::start(&cfg, &keys());
    let path = kt.dir.path().join("policy-config.yaml");
    let wait_log = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !kt.log_text().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "no `{needle}`:\n{}",
                kt.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };

    assert_eq!(post(&kt, &chat("gpt-4o-mini", "one")).await.status, 200);
    settle(&kt, 2).await;
    std::fs::write(
        &path,
        edit(&cfg, "  sample_rate: 1.0\n", "  sample_rate: 0\n"),
    )
    .unwrap();
    kt.signal("HUP");
    tokio::task::block_in_place(|| wait_log("Config reloaded from"));
    assert_eq!(post(&kt, &chat("gpt-4o-mini", "two")).await.status, 200);
    std::fs::write(&path, "version: '1'\nbogus: true\n").unwrap();
    kt.signal("HUP");
    tokio::task::block_in_place(|| wait_log("Config reload refused"));
    settle(&kt, 3).await;

    let m = scrape(&kt).await;
    assert_eq!(
        m.value(
            "kt_requests_total",
            &[
                ("target", "openai"),
                ("status", "success"),
                ("code", "200"),
                ("ingress", "openai")
            ]
        ),
        2.0
    );
    assert_eq!(
        m.value("kt_mirror_decisions_total", &[("state", "mirrored")]),
        1.0
    );
    assert_eq!(
        m.value("kt_mirror_decisions_total", &[("state", "not_sampled")]),
        1.0
    );
    assert_eq!(
        m.value("kt_config_reloads_total", &[("result", "applied")]),
        1.0
    );
    assert_eq!(
        m.value("kt_config_reloads_total", &[("result", "refused")]),
        1.0
    );
    assert_eq!(m.value("kt_events_written_total", &[]), 3.0);
    m.check_histograms();
}

// Proves the saturation gauges move: with max_in_flight 1 and a slow shadow, a second
// request finds no slot (dropped), the in-flight gauge shows the running (30 s) shadow; and
// /metrics stays open like /healthz when callers need a gateway key (wrong method: 405).
#[tokio::test(flavor = "multi_thread")]
async fn saturation_shows_and_metrics_are_open_with_caller_keys() {
    let primary = fake_upstream(|c| openai_ok(&model_of(c), "hi", 3, 1)).await;
    let shadow =
        fake_upstream(|_| anthropic_ok(CLAUDE, "hello", 3, 1).after(Duration::from_secs(30))).await;
    let cfg = format!(
        "{}gateway:\n  api_keys:\n    - env: KT_GATEWAY_KEY\n",
        mirror_config(
            &primary.url(),
            "anthropic",
            &shadow.url(),
            "  max_in_flight: 1\n"
        )
    );
    let mut envs = keys();
    envs.push(("KT_GATEWAY_KEY", "kt-gw-metrics-key"));
    let kt = Kt::start(&cfg, &envs);
    let http = reqwest::Client::new();
    let url = kt.url("/v1/chat/completions");
    let body = chat("gpt-4o-mini", "hello");
    for _ in 0..2 {
        let a = send(http.post(&url).bearer_auth("kt-gw-metrics-key").json(&body)).await;
        assert_eq!(a.status, 200, "{a:#?}");
    }
    assert_eq!(send(http.post(&url).json(&body)).await.status, 401);

    // The request rows are counted off the path: wait for all three.
    let deadline = Instant::now() + Duration::from_secs(10);
    let m = loop {
        let m = scrape(&kt).await;
        if m.sum("kt_requests_total", &[]) == 3.0 {
            break m;
        }
        assert!(Instant::now() < deadline, "{}", m.text);
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        m.value("kt_mirror_decisions_total", &[("state", "mirrored")]),
        1.0
    );
    assert_eq!(
        m.value("kt_mirror_decisions_total", &[("state", "dropped")]),
        1.0
    );
    assert_eq!(
        m.value("kt_mirror_decisions_total", &[("state", "not_eligible")]),
        1.0
    );
    assert_eq!(m.value("kt_mirror_dropped_total", &[]), 1.0);
    assert_eq!(m.value("kt_shadows_in_flight", &[]), 1.0);
    assert_eq!(m.value("kt_shadow_max_in_flight", &[]), 1.0);
    assert_eq!(
        m.value(
            "kt_requests_total",
            &[
                ("target", "openai"),
                ("status", "rejected"),
                ("code", "401"),
                ("ingress", "openai")
            ]
        ),
        1.0
    );
    // The slow shadow has not finished: nothing on the shadow side yet.
    assert_eq!(m.sum("kt_shadow_requests_total", &[]), 0.0);

    let post_metrics = send(http.post(kt.url("/metrics"))).await;
    assert_eq!(post_metrics.status, 405);
    assert_eq!(post_metrics.body["error"]["type"], "invalid_request_error");
}

// Proves the test's parser rejects what Prometheus would reject, so the scrapes above
// really are checked against the format.
#[test]
fn the_parser_rejects_malformed_expositions() {
    let ok = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\",y=\"q\\\"\"} 3\n";
    let s = parse(ok);
    assert_eq!(s.value("a_total", &[("x", "1"), ("y", "q\"")]), 3.0);
    for bad in [
        "a_total 1\n",                                    // no TYPE
        "# TYPE a_total counter\na_total{x=1} 1\n",       // unquoted
        "# TYPE a_total counter\na_total{x=\"1\" 1\n",    // unterminated
        "# TYPE a_total counter\na_total{x=\"1\"} one\n", // value
        "# TYPE a_total counter\n1a_total 1\n",           // name
        "# TYPE a_total countr\na_total 1\n",             // type
    ] {
        let r = std::panic::catch_unwind(|| parse(bad));
        assert!(r.is_err(), "accepted {bad:?}");
    }
}
