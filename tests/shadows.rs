#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Several shadows and sticky sampling end to end: one run mirrored to two candidates with
//! their own mappings and rates (upstream calls, `shadow_results`, `mirror_pairs`, events in
//! every format, export, the report's groups), `async: false` waiting for every shadow, and
//! `sample_by` keeping each user's requests together at the configured rate. Real `kt`
//! binary, fake upstreams.
mod common;
use common::*;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};

const PRIMARY_TEXT: &str = "Technical debt is the cost of a quick fix now over a better design.";
const A_TEXT: &str = "Technical debt is the future cost of choosing a quick fix over good design.";
const B_TEXT: &str = "Debt in software: shortcuts today that cost more work tomorrow.";
const A_MODEL: &str = "claude-sonnet-4-20250514";
const B_MODEL: &str = "gpt-candidate";

/// A primary (`openai`) and two shadows: `claude` (Anthropic, the tutorial's `shadow`)
/// and `candidate` (OpenAI-shaped, a `shadows:` entry with its own mapping and rate).
/// `extra` lines go into the `traffic_mirror` block.
fn two_shadow_config(
    p: &Upstream,
    a: &Upstream,
    b: &Upstream,
    b_rate: &str,
    extra: &str,
) -> String {
    format!(
        "{CONFIG_HEAD}{}{}{}traffic_mirror:
  primary: openai
  shadow: claude
  model_mapping:
    gpt-4o-mini: {A_MODEL}
  sample_rate: 1.0
  shadows:
    - target: candidate
      model_mapping:
        gpt-4o-mini: {B_MODEL}
      sample_rate: {b_rate}
{extra}",
        target_yaml("openai", "openai", &p.url(), "OPENAI_API_KEY", ""),
        target_yaml("claude", "anthropic", &a.url(), "ANTHROPIC_API_KEY", ""),
        target_yaml("candidate", "openai", &b.url(), "OPENAI_API_KEY", ""),
    )
}

async fn upstreams(b_delay: Duration) -> (Upstream, Upstream, Upstream) {
    let p = fake_upstream(|_| openai_ok("gpt-4o-mini", PRIMARY_TEXT, 10, 20)).await;
    let a = fake_upstream(|_| anthropic_ok(A_MODEL, A_TEXT, 11, 22)).await;
    let b = fake_upstream(move |_| openai_ok(B_MODEL, B_TEXT, 12, 25).after(b_delay)).await;
    (p, a, b)
}

fn read_only(kt: &Kt) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(&kt.db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
}

/// `(shadow_target, COUNT(*))` of a grouping query, as a map.
fn counts(conn: &rusqlite::Connection, sql: &str) -> BTreeMap<String, i64> {
    let mut st = conn.prepare(sql).unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn map(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

// Proves two shadows at rates 1.0 and 1.0 each get every request with their own model:
// exact upstream counts, a shadow_results row and a mirror_pairs row per (request, shadow),
// both shadows in the events' `shadows` (JSON), CSV, show and export, the startup lines,
// and one report group per candidate with the right counts.
#[tokio::test(flavor = "multi_thread")]
async fn two_shadows_each_get_every_request_with_their_own_mapping() {
    let (p, a, b) = upstreams(Duration::ZERO).await;
    let mut kt = Kt::start(&two_shadow_config(&p, &a, &b, "1.0", ""), &keys());
    let client = reqwest::Client::new();
    let n = 10;
    let mut ids = Vec::new();
    for i in 0..n {
        let ans = post_with(&client, &kt, &chat("gpt-4o-mini", &format!("question {i}"))).await;
        assert_eq!(ans.status, 200, "{}", ans.body);
        assert_eq!(ans.body["choices"][0]["message"]["content"], PRIMARY_TEXT);
        ids.push(ans.id);
    }
    let log = stop(&mut kt);
    assert!(
        log.contains("Traffic mirror: primary=openai, shadow=claude, sample_rate=100%"),
        "{log}"
    );
    assert!(
        log.contains(&format!("Model mapping: gpt-4o-mini→{A_MODEL}")),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "Traffic mirror: also shadow=candidate, sample_rate=100%, model mapping: gpt-4o-mini→{B_MODEL}"
        )),
        "{log}"
    );

    assert_eq!(
        (p.count(), a.count(), b.count()),
        (n, n, n),
        "primary, claude, candidate"
    );
    assert!(a.calls().iter().all(|c| c.body["model"] == A_MODEL));
    assert!(b.calls().iter().all(|c| c.body["model"] == B_MODEL));
    assert!(
        b.calls()
            .iter()
            .all(|c| c.header("x-kt-shadow") == Some("1"))
    );

    let conn = read_only(&kt);
    let n64 = n as i64;
    assert_eq!(
        counts(
            &conn,
            "SELECT shadow_target, COUNT(*) FROM shadow_results WHERE status = 'success' GROUP BY 1"
        ),
        map(&[("candidate", n64), ("claude", n64)])
    );
    assert_eq!(
        counts(
            &conn,
            "SELECT shadow_target, COUNT(*) FROM mirror_pairs WHERE shadow_status = 'success' AND content_similarity IS NOT NULL GROUP BY 1"
        ),
        map(&[("candidate", n64), ("claude", n64)])
    );
    assert_eq!(
        counts(
            &conn,
            "SELECT shadow_target, COUNT(*) FROM requests WHERE mirror_state = 'mirrored' GROUP BY 1"
        ),
        map(&[("claude", n64)]),
        "the first shadow stays in requests"
    );
    assert_eq!(
        counts(
            &conn,
            "SELECT shadow_target || '/' || shadow_model, COUNT(*) FROM request_extra_shadows GROUP BY 1"
        ),
        map(&[(&format!("candidate/{B_MODEL}"), n64)])
    );

    // JSON: the Step 4 object names the first shadow; `shadows` lists both in order.
    let evs = events(&kt.db, 100);
    assert_eq!(evs.len(), n);
    for id in &ids {
        let e = event(&evs, id);
        assert_eq!(e["mirror_state"], "mirrored");
        assert_eq!(e["traffic_mirror"]["shadow"]["provider"], "claude", "{e:#}");
        let shadows = e["shadows"].as_array().unwrap();
        let names: Vec<&str> = shadows
            .iter()
            .map(|s| s["provider"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["claude", "candidate"], "{e:#}");
        assert_eq!(shadows[0]["model"], A_MODEL);
        assert_eq!(shadows[1]["model"], B_MODEL);
        assert!(shadows.iter().all(|s| s["status"] == "success"), "{e:#}");
        assert_eq!(shadows[0]["output_tokens"], 22);
        assert_eq!(shadows[1]["output_tokens"], 25);
        assert_eq!(shadows[1]["comparison"]["token_count_diff"], 5);
        assert_eq!(shadows[0]["comparison"], e["traffic_mirror"]["comparison"]);
    }
    // Filters reach the extra shadow too.
    let by_candidate = stdout_ok(&kt.cli(&[
        "events",
        "list",
        "--provider",
        "candidate",
        "--format",
        "json",
    ]));
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&by_candidate)
            .unwrap()
            .len(),
        n
    );
    let by_model = stdout_ok(&kt.cli(&["events", "list", "--model", B_MODEL, "--format", "json"]));
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&by_model).unwrap().len(),
        n
    );

    // CSV: one record per (event, shadow); the table: a second line per event.
    let csv = stdout_ok(&kt.cli(&["events", "list", "--format", "csv"]));
    let records: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(records.len(), 2 * n, "{csv}");
    assert_eq!(
        records
            .iter()
            .filter(|r| r.contains(&format!(",candidate,{B_MODEL},success,")))
            .count(),
        n
    );
    let table = stdout_ok(&kt.cli(&["events", "list"]));
    assert_eq!(table.matches("candidate success").count(), n, "{table}");

    // show: both shadows in full, text and JSON.
    let shown: Value = serde_json::from_str(&stdout_ok(
        &kt.cli(&["events", "show", &ids[0], "--format", "json"]),
    ))
    .unwrap();
    let details = shown["shadow_details"].as_array().unwrap();
    assert_eq!(details.len(), 2, "{shown:#}");
    assert_eq!(details[1]["target"], "candidate");
    assert_eq!(details[1]["provider"], "openai");
    assert_eq!(
        details[1]["response_text"],
        Value::Null,
        "log_shadow_response is off"
    );
    assert_eq!(shown["shadow"]["target"], "claude");
    let text = stdout_ok(&kt.cli(&["events", "show", &ids[0]]));
    assert!(
        text.contains("claude (anthropic), model claude-sonnet-4-20250514: success"),
        "{text}"
    );
    assert!(
        text.contains(&format!("candidate (openai), model {B_MODEL}: success")),
        "{text}"
    );

    // export: one line per pair.
    let export = stdout_ok(&kt.cli(&["events", "export"]));
    let pairs: Vec<Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(pairs.len(), 2 * n);
    assert_eq!(
        pairs[0]["shadow"]["target"], "claude",
        "the first shadow first"
    );
    assert_eq!(pairs[1]["shadow"]["target"], "candidate");
    assert_eq!(pairs[1]["request_id"], pairs[0]["request_id"]);
    assert_eq!(pairs[1]["shadow"]["provider"], "openai");

    // The report: one group per candidate, each with every pair compared.
    let r = mirror_report(&kt);
    let groups = r["groups"].as_array().unwrap();
    let keyed: BTreeMap<String, (u64, u64, u64)> = groups
        .iter()
        .map(|g| {
            (
                format!(
                    "{}/{}",
                    g["key"]["shadow_target"].as_str().unwrap(),
                    g["key"]["shadow_model"].as_str().unwrap()
                ),
                (
                    g["pairs"].as_u64().unwrap(),
                    g["compared"].as_u64().unwrap(),
                    g["pending"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    let n_u = n as u64;
    assert_eq!(
        keyed,
        BTreeMap::from([
            (format!("candidate/{B_MODEL}"), (n_u, n_u, 0)),
            (format!("claude/{A_MODEL}"), (n_u, n_u, 0)),
        ]),
        "{:#}",
        r["groups"]
    );
    assert!(
        groups
            .iter()
            .all(|g| g["key"]["primary_model"] == "gpt-4o-mini")
    );
}

// Proves a shadow at rate 0 gets nothing while the other at rate 1 gets everything: exact
// counts, no extra-shadow rows, one pair per request.
#[tokio::test(flavor = "multi_thread")]
async fn a_zero_rate_shadow_gets_nothing_beside_a_full_one() {
    let (p, a, b) = upstreams(Duration::ZERO).await;
    let mut kt = Kt::start(&two_shadow_config(&p, &a, &b, "0.0", ""), &keys());
    let client = reqwest::Client::new();
    let n = 12;
    for i in 0..n {
        let ans = post_with(&client, &kt, &chat("gpt-4o-mini", &format!("q{i}"))).await;
        assert_eq!(ans.status, 200, "{}", ans.body);
    }
    stop(&mut kt);
    assert_eq!((p.count(), a.count(), b.count()), (n, n, 0));
    let conn = read_only(&kt);
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT COUNT(*) FROM request_extra_shadows"), 0);
    assert_eq!(
        count("SELECT COUNT(*) FROM shadow_results WHERE shadow_target = 'claude'"),
        n as i64
    );
    assert_eq!(count("SELECT COUNT(*) FROM mirror_pairs"), n as i64);
    for e in events(&kt.db, 100) {
        assert_eq!(e["mirror_state"], "mirrored");
        assert_eq!(e["shadows"].as_array().unwrap().len(), 1, "{e:#}");
    }
}

// Proves `async: false` waits for every shadow, not only the first: the second shadow takes
// 400 ms, and each answer takes at least that long with both results recorded.
#[tokio::test(flavor = "multi_thread")]
async fn sync_mirroring_waits_for_every_shadow() {
    let (p, a, b) = upstreams(Duration::from_millis(400)).await;
    let mut kt = Kt::start(
        &two_shadow_config(&p, &a, &b, "1.0", "  async: false\n"),
        &keys(),
    );
    for i in 0..3 {
        let ans = post(&kt, &chat("gpt-4o-mini", &format!("q{i}"))).await;
        assert_eq!(ans.status, 200, "{}", ans.body);
        assert!(
            ans.elapsed >= Duration::from_millis(400),
            "answered after {:?}",
            ans.elapsed
        );
    }
    stop(&mut kt);
    assert_eq!((a.count(), b.count()), (3, 3));
}

/// A one-shadow config with `sample_by` and `sample_rate`.
fn sticky_config(p: &Upstream, a: &Upstream, sample_by: &str, rate: &str, extra: &str) -> String {
    format!(
        "{CONFIG_HEAD}{}{}traffic_mirror:
  primary: openai
  shadow: claude
  model_mapping:
    gpt-4o-mini: {A_MODEL}
  sample_rate: {rate}
  sample_by: {sample_by}
{extra}",
        target_yaml("openai", "openai", &p.url(), "OPENAI_API_KEY", ""),
        target_yaml("claude", "anthropic", &a.url(), "ANTHROPIC_API_KEY", ""),
    )
}

/// One request to send: the sampling key it stands for, its body, and maybe a header.
type Keyed = (String, Value, Option<(String, String)>);

/// Sends every `(key, body, header)` request, 16 at a time; returns `(key, id)` per answer.
async fn send_all(kt: &Kt, reqs: Vec<Keyed>) -> Vec<(String, String)> {
    let client = reqwest::Client::new();
    let url = kt.url("/v1/chat/completions");
    let mut out = Vec::new();
    for chunk in reqs.chunks(16) {
        let mut set = tokio::task::JoinSet::new();
        for (key, body, header) in chunk.iter().cloned() {
            let mut req = client.post(&url).json(&body);
            if let Some((k, v)) = header {
                req = req.header(k, v);
            }
            set.spawn(async move { (key, send(req).await) });
        }
        while let Some(done) = set.join_next().await {
            let (key, ans) = done.unwrap();
            assert_eq!(ans.status, 200, "{}", ans.body);
            out.push((key, ans.id));
        }
    }
    out
}

/// The `mirror_state` of every request, by id.
fn states(kt: &Kt) -> BTreeMap<String, String> {
    let conn = read_only(kt);
    let mut st = conn
        .prepare("SELECT id, mirror_state FROM requests")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Per key: the set of mirror states its requests got.
fn by_key(
    sent: &[(String, String)],
    states: &BTreeMap<String, String>,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut keyed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (key, id) in sent {
        keyed
            .entry(key.clone())
            .or_default()
            .insert(states[id].clone());
    }
    keyed
}

// Proves `sample_by: header:x-user-id` is sticky and keeps the rate: 300 users x 3
// requests at 0.3, every user's requests all mirrored or all not (exactly the users whose
// key hashes below 0.3), the share of users within 5 sigma of 30%, shadow calls = mirrored
// requests; requests without the header are still answered, drawn at random.
#[tokio::test(flavor = "multi_thread")]
async fn sample_by_header_mirrors_each_user_all_or_nothing() {
    let p = fake_upstream(|_| openai_ok("gpt-4o-mini", PRIMARY_TEXT, 10, 20)).await;
    let a = fake_upstream(|_| anthropic_ok(A_MODEL, A_TEXT, 11, 22)).await;
    let mut kt = Kt::start(
        &sticky_config(&p, &a, "header:X-User-Id", "0.3", ""),
        &keys(),
    );
    let users = 300;
    let mut reqs = Vec::new();
    for round in 0..3 {
        for u in 0..users {
            let user = format!("user-{u}");
            // Header names are case-insensitive: callers may spell it either way.
            let name = if round == 1 { "X-USER-ID" } else { "x-user-id" };
            let body = chat("gpt-4o-mini", &format!("round {round} from {user}"));
            reqs.push((user.clone(), body, Some((name.to_string(), user))));
        }
    }
    for i in 0..40 {
        reqs.push((
            format!("anonymous-{i}"),
            chat("gpt-4o-mini", "no key"),
            None,
        ));
    }
    let sent = send_all(&kt, reqs).await;
    stop(&mut kt);

    let states = states(&kt);
    let keyed = by_key(&sent, &states);
    let mut mirrored_users = 0;
    for u in 0..users {
        let user = format!("user-{u}");
        let got = &keyed[&user];
        assert_eq!(got.len(), 1, "{user}'s requests were split: {got:?}");
        let expected = if kt::mirror::key_draw(user.as_bytes()) < 0.3 {
            "mirrored"
        } else {
            "not_sampled"
        };
        assert!(
            got.contains(expected),
            "{user}: {got:?}, expected {expected}"
        );
        mirrored_users += usize::from(expected == "mirrored");
    }
    // 300 users at p = 0.3: mean 90, sigma 7.9.
    assert!(
        (50..=130).contains(&mirrored_users),
        "{mirrored_users} of {users} users mirrored"
    );
    let anonymous = (0..40)
        .filter(|i| keyed[&format!("anonymous-{i}")].contains("mirrored"))
        .count();
    assert!(
        anonymous > 0 && anonymous < 40,
        "keyless requests draw at random: {anonymous} of 40"
    );
    let mirrored = states.values().filter(|s| *s == "mirrored").count();
    assert_eq!(mirrored, mirrored_users * 3 + anonymous);
    assert_eq!(a.count(), mirrored, "shadow calls");
    assert_eq!(p.count(), users * 3 + 40, "primary calls");
}

// Proves `sample_by: field:user` is sticky across two shadows sharing the draw: 200 users x
// 2 requests, shadows at 0.3 and 0.1; each user's requests go to the same shadows, the 0.1
// shadow's users are a subset of the 0.3 shadow's, and both shares are near their rates.
#[tokio::test(flavor = "multi_thread")]
async fn sample_by_field_shares_one_draw_across_shadows() {
    let (p, a, b) = upstreams(Duration::ZERO).await;
    let cfg = two_shadow_config(&p, &a, &b, "0.1", "  sample_by: field:user\n");
    let cfg = edit(&cfg, "  sample_rate: 1.0\n", "  sample_rate: 0.3\n");
    let mut kt = Kt::start(&cfg, &keys());
    let users = 200;
    let mut reqs = Vec::new();
    for round in 0..2 {
        for u in 0..users {
            let user = format!("u{u}@example.test");
            let mut body = chat("gpt-4o-mini", &format!("round {round}"));
            body["user"] = json!(user);
            reqs.push((user, body, None));
        }
    }
    let sent = send_all(&kt, reqs).await;
    stop(&mut kt);

    // Per request: which shadows it reached.
    let conn = read_only(&kt);
    let mut reached: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut st = conn
        .prepare("SELECT request_id, shadow_target FROM mirror_pairs")
        .unwrap();
    for row in st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
    {
        let (id, target) = row.unwrap();
        reached.entry(id).or_default().insert(target);
    }
    let mut per_user: BTreeMap<&str, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (user, id) in &sent {
        let targets = reached
            .get(id)
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default();
        per_user.entry(user).or_default().insert(targets);
    }
    let (mut claude_users, mut candidate_users) = (0, 0);
    for (user, sets) in &per_user {
        assert_eq!(
            sets.len(),
            1,
            "{user}'s requests reached different shadows: {sets:?}"
        );
        let targets = sets.iter().next().unwrap();
        let draw = kt::mirror::key_draw(user.as_bytes());
        let expected: Vec<String> = [("candidate", draw < 0.1), ("claude", draw < 0.3)]
            .iter()
            .filter(|(_, on)| *on)
            .map(|(t, _)| t.to_string())
            .collect();
        assert_eq!(targets, &expected, "{user} (draw {draw})");
        assert!(
            !targets.contains(&"candidate".to_string()) || targets.contains(&"claude".to_string())
        );
        claude_users += usize::from(targets.contains(&"claude".to_string()));
        candidate_users += usize::from(targets.contains(&"candidate".to_string()));
    }
    // 200 users: 0.3 → mean 60, sigma 6.5; 0.1 → mean 20, sigma 4.2.
    assert!(
        (28..=92).contains(&claude_users),
        "{claude_users} users on claude"
    );
    assert!(
        (1..=41).contains(&candidate_users),
        "{candidate_users} users on candidate"
    );
    assert_eq!(a.count(), claude_users * 2);
    assert_eq!(b.count(), candidate_users * 2);
}

// Proves `kt policy lint` reports a `shadows:` mistake and a bad `sample_by` with file,
// line:column and key path, and refuses the config.
#[test]
fn lint_reports_shadow_mistakes_with_locations() {
    let cfg = format!(
        "{CONFIG_HEAD}{}{}traffic_mirror:
  primary: openai
  shadow: claude
  model_mapping:
    gpt-4o-mini: {A_MODEL}
  sample_by: headr:x-user-id
  shadows:
    - target: claude
",
        target_yaml(
            "openai",
            "openai",
            "http://127.0.0.1:9",
            "OPENAI_API_KEY",
            ""
        ),
        target_yaml(
            "claude",
            "anthropic",
            "http://127.0.0.1:9",
            "ANTHROPIC_API_KEY",
            ""
        ),
    );
    let (_dir, path) = write_config(&cfg);
    let out = kt_cmd(&["policy", "lint", "--file"])
        .arg(&path)
        .envs(keys())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let file = path.display().to_string();
    assert!(
        text.contains(&format!(
            "{file}:19:14: error: traffic_mirror.sample_by: unknown source `headr`"
        )) && text.contains("(did you mean `header:x-user-id`?)"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{file}:21:15: error: traffic_mirror.shadows[0].target: `claude` is already a shadow (line 16)"
        )),
        "{text}"
    );
}
