#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The shadow spend guard end to end: a daily USD cap that pauses the shadow (requests
//! answered but `paused`, a `mirror_pauses` row, the report's pauses part), an error-rate
//! pause that lifts after `pause_for`, and a restart that keeps today's spend. Real `kt`
//! binary, fake upstreams.
mod common;
use common::*;

use std::path::Path;
use std::time::Duration;

const SHADOW_MODEL: &str = "claude-sonnet-4-20250514";

/// claude-sonnet-4: $3 in / $15 out per Mtok, so each shadow call of 1,000 + 1,000 tokens
/// costs $0.018: a $0.05 cap is reached by the third call.
fn priced_shadow() -> Reply {
    anthropic_ok(SHADOW_MODEL, "A shadow answer.", 1000, 1000)
}

/// The tutorial's config on these upstreams with `guard` as `traffic_mirror.spend_guard`
/// and `async: false`, so each shadow is counted before its caller is answered.
fn config(primary: &Upstream, shadow: &Upstream, guard: &str) -> String {
    let cfg = mirror_config(
        &primary.url(),
        "anthropic",
        &shadow.url(),
        &format!("  spend_guard:\n{guard}"),
    );
    edit(&cfg, "  async: true\n", "  async: false\n")
}

/// Sends `n` requests one after the other; returns their event ids.
async fn send_n(kt: &Kt, n: usize) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for i in 0..n {
        let a = post_with(&client, kt, &chat("gpt-4o-mini", &format!("question {i}"))).await;
        assert_eq!(a.status, 200, "{}", a.body);
        ids.push(a.id);
    }
    ids
}

fn mirror_states(db: &Path, ids: &[String]) -> Vec<String> {
    let evs = events(db, 100);
    ids.iter()
        .map(|id| event(&evs, id)["mirror_state"].as_str().unwrap().to_owned())
        .collect()
}

/// `mirror_pauses` as (event, reason, detail, ts_unix_ms), oldest first.
fn pause_rows(db: &Path) -> Vec<(String, String, String, i64)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn
        .prepare("SELECT event, reason, detail, ts_unix_ms FROM mirror_pauses WHERE shadow_target = 'anthropic' ORDER BY ts_unix_ms, rowid")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn report(kt: &Kt, format: &str) -> String {
    stdout_ok(&kt.cli(&["mirror", "report", "--format", format]))
}

// Proves a daily USD cap stops mirroring once reached: later requests are answered by the
// primary but recorded `paused` without calling the shadow, the pause is logged and stored
// with its reason and figures, /healthz shows it, and every report format lists it.
#[tokio::test(flavor = "multi_thread")]
async fn usd_cap_pauses_the_shadow_and_the_report_shows_it() {
    let primary = fake_upstream(|_| openai_ok("gpt-4o-mini", "A primary answer.", 10, 20)).await;
    let shadow = fake_upstream(|_| priced_shadow()).await;
    let mut kt = Kt::start(
        &config(&primary, &shadow, "    max_usd_per_day: 0.05\n"),
        &keys(),
    );
    let ids = send_n(&kt, 5).await;
    let health = healthz(&kt).await;
    let g = &health["spend_guard"]["anthropic"];
    assert_eq!(g["state"], "paused", "{health:#}");
    assert_eq!(g["reason"], "spend_usd");
    assert_eq!(g["tokens_today"], 6000);
    let log = stop(&mut kt);

    assert_eq!(primary.count(), 5, "every caller is answered");
    assert_eq!(shadow.count(), 3, "the shadow is not called once paused");
    assert_eq!(
        mirror_states(&kt.db, &ids),
        ["mirrored", "mirrored", "mirrored", "paused", "paused"]
    );
    let rows = pause_rows(&kt.db);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (event, reason, detail, _) = &rows[0];
    assert_eq!((event.as_str(), reason.as_str()), ("pause", "spend_usd"));
    assert!(
        detail.starts_with(
            "shadow spend today is $0.0540, at or over max_usd_per_day $0.0500; paused until "
        ),
        "{detail}"
    );
    assert!(
        log.lines().any(|l| l.contains("WARN")
            && l.contains(
                "spend guard paused shadow `anthropic` (spend_usd): shadow spend today is $0.0540"
            )),
        "{log}"
    );

    let json = mirror_report(&kt);
    let p = &json["pauses"][0];
    assert_eq!(p["shadow_target"], "anthropic", "{json:#}");
    assert_eq!(p["pauses"], 1);
    assert_eq!(p["resumes"], 0);
    assert_eq!(p["paused_at_end"], true);
    assert!(p["paused_ms"].as_u64().unwrap() > 0);
    assert_eq!(p["events"][0]["event"], "pause");
    assert_eq!(p["events"][0]["reason"], "spend_usd");
    assert_eq!(p["events"][0]["detail"], detail.as_str());
    let states: Vec<(&str, i64)> = json["mirror_states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["mirror_state"].as_str().unwrap(),
                s["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(states, [("mirrored", 3), ("paused", 2)]);
    // Paused requests are traffic the shadow could take over (counted where the projection
    // would be: a window of seconds is too short to project from).
    assert_eq!(
        json["groups"][0]["cost"]["projection_withheld"]["traffic"], 5,
        "{json:#}"
    );

    let table = report(&kt, "table");
    assert!(table.contains("Spend guard pauses"), "{table}");
    assert!(table.contains("spend_usd"), "{table}");
    let md = report(&kt, "markdown");
    assert!(md.contains("## Spend guard pauses"), "{md}");
    assert!(md.contains("| pause | spend_usd |"), "{md}");
    let csv = report(&kt, "csv");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    assert_eq!(row[col("shadow_pauses")], "1", "{csv}");
    assert!(row[col("shadow_paused_ms")].parse::<u64>().unwrap() > 0);
    let html = report(&kt, "html");
    assert!(html.contains("<section id=\"pauses\">"), "{html}");
}

// Proves an error-rate pause: once min_calls calls in the window fail more often than
// max_error_rate, the shadow is paused for pause_for and then called again, with a pause
// and a resume row whose paused time the report adds up.
#[tokio::test(flavor = "multi_thread")]
async fn failing_shadow_is_paused_then_resumed_after_pause_for() {
    let primary = fake_upstream(|_| openai_ok("gpt-4o-mini", "A primary answer.", 10, 20)).await;
    let shadow =
        fake_upstream(|_| anthropic_error(500, "api_error", "the shadow is having a bad day"))
            .await;
    let mut kt = Kt::start(
        &config(
            &primary,
            &shadow,
            "    max_error_rate: 0.5\n    error_window: 1m\n    min_calls: 3\n    pause_for: 1s\n",
        ),
        &keys(),
    );
    let mut ids = send_n(&kt, 4).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    ids.extend(send_n(&kt, 1).await);
    let log = stop(&mut kt);

    assert_eq!(primary.count(), 5);
    assert_eq!(
        shadow.count(),
        4,
        "paused for one request, then called again"
    );
    assert_eq!(
        mirror_states(&kt.db, &ids),
        ["mirrored", "mirrored", "mirrored", "paused", "mirrored"]
    );
    let rows = pause_rows(&kt.db);
    let kinds: Vec<(&str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(kinds, [("pause", "error_rate"), ("resume", "error_rate")]);
    assert_eq!(
        rows[0].2,
        "3 of 3 shadow calls in the last 1m failed (100.0%), over max_error_rate 50.0%; paused for 1s"
    );
    assert_eq!(
        rows[1].3 - rows[0].3,
        1000,
        "the resume is dated when pause_for ended"
    );
    assert!(
        log.contains("spend guard resumed shadow `anthropic` (error_rate)"),
        "{log}"
    );

    let json = mirror_report(&kt);
    let p = &json["pauses"][0];
    assert_eq!(
        (p["pauses"].as_u64(), p["resumes"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(p["paused_ms"], 1000, "{json:#}");
    assert_eq!(p["paused_at_end"], false);
}

// Proves a restart does not reset the budget: two calls' spend before the restart plus
// one after reach the cap; a second restart while paused carries the pause on without a
// new row, and still does not call the shadow.
#[tokio::test(flavor = "multi_thread")]
async fn a_restart_keeps_todays_spend() {
    let primary = fake_upstream(|_| openai_ok("gpt-4o-mini", "A primary answer.", 10, 20)).await;
    let shadow = fake_upstream(|_| priced_shadow()).await;
    let (shared, cfg) = write_config(&config(&primary, &shadow, "    max_usd_per_day: 0.05\n"));
    let db = shared.path().join("kt.db");
    let start = || Kt::start_with(tempfile::tempdir().unwrap(), &cfg, db.clone(), &keys());

    let mut kt = start();
    let mut ids = send_n(&kt, 2).await;
    stop(&mut kt);
    assert!(pause_rows(&db).is_empty());

    let mut kt = start();
    ids.extend(send_n(&kt, 2).await);
    stop(&mut kt);
    assert_eq!(
        pause_rows(&db).len(),
        1,
        "the third call of the day reached the cap"
    );

    let mut kt = start();
    ids.extend(send_n(&kt, 1).await);
    let log = stop(&mut kt);
    assert!(
        log.contains("spend guard: shadow `anthropic` is still paused (spend_usd)"),
        "{log}"
    );
    assert_eq!(shadow.count(), 3);
    assert_eq!(
        mirror_states(&db, &ids),
        ["mirrored", "mirrored", "mirrored", "paused", "paused"]
    );
    assert_eq!(
        pause_rows(&db).len(),
        1,
        "the carried pause writes no new row"
    );
}

// Proves `kt policy lint` reports spend_guard mistakes with their location and a suggestion.
#[test]
fn lint_reports_spend_guard_mistakes() {
    let cfg = mirror_config(
        "http://127.0.0.1:9",
        "anthropic",
        "http://127.0.0.1:9",
        "  spend_guard:\n    max_usd_per_dai: 5\n    pause_for: 10\n",
    );
    let (_dir, path) = write_config(&cfg);
    let out = kt_cmd(&["policy", "lint", "--file"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("traffic_mirror.spend_guard.max_usd_per_dai: unknown key `max_usd_per_dai` (did you mean `max_usd_per_day`?)"),
        "{text}"
    );
    assert!(
        text.contains("traffic_mirror.spend_guard.pause_for: expected a duration such as 30s, 5m or 1h, found an integer (write 10s for 10 seconds)"),
        "{text}"
    );
}

// Regression: without a `spend_guard` block /healthz showed `usd_today` and `tokens_today`
// as 0 while the shadow spent; they count always, and `usd_today` is rounded (three
// $0.018 calls sum to 0.05399999999999999 in floating point, shown as 0.054).
#[tokio::test(flavor = "multi_thread")]
async fn healthz_counts_spend_without_a_guard_and_rounds_it() {
    let primary = fake_upstream(|c| openai_ok(&model_of(c), "A primary answer.", 5, 5)).await;
    let shadow = fake_upstream(|_| priced_shadow()).await;
    let cfg = mirror_config(&primary.url(), "anthropic", &shadow.url(), "");
    assert!(!cfg.contains("spend_guard"), "{cfg}");
    let mut kt = Kt::start(&edit(&cfg, "  async: true\n", "  async: false\n"), &keys());
    send_n(&kt, 3).await;
    let h = healthz(&kt).await;
    stop(&mut kt);
    assert_eq!(shadow.count(), 3);
    let g = &h["spend_guard"]["anthropic"];
    assert_eq!(g["tokens_today"], 6000, "{h}");
    assert_eq!(g["usd_today"].to_string(), "0.054", "{h}");
    assert_eq!(g["state"], "running", "{h}");
}
