//! The audit log: append-only inside SQLite (UPDATE/DELETE refused, except rows past
//! retention via `kt events prune`), and a hash chain with `kt audit verify` that detects
//! tampering by someone who drops the triggers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

use std::path::Path;
use std::time::Duration;

const SIM: &str = "version: '1'\nproviders:\n  targets:\n    - id: sim\n      provider: simulated\n      simulate:\n        latency_ms: 1\n";
const AUDIT: &str = "policies:\n  - name: audit\n    type: audit_logger\n    immutable: true\n    retention_days: 365\n";

async fn traffic(kt: &Kt, n: usize) {
    for i in 0..n {
        assert_eq!(
            post(kt, &chat("gpt-4o-mini", &format!("q{i}")))
                .await
                .status,
            200
        );
    }
}

fn verify(db: &Path) -> (i32, String) {
    let out = kt_cli(db, &["audit", "verify"]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn sql(db: &Path, stmt: &str) -> Result<usize, rusqlite::Error> {
    rusqlite::Connection::open(db)
        .unwrap()
        .execute_batch(stmt)
        .map(|()| 0)
}

// Proves an untouched log verifies, the tables refuse UPDATE and early DELETE, and prune
// cannot remove events inside the retention period.
#[tokio::test(flavor = "multi_thread")]
async fn immutable_log_verifies_and_refuses_changes() {
    let mut kt = Kt::start(&format!("{SIM}{AUDIT}"), &[]);
    traffic(&kt, 3).await;
    kt.stop();
    let (code, out) = verify(&kt.db);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok: 3 entries verified"), "{out}");
    let update = sql(&kt.db, "UPDATE requests SET status = 'success'").unwrap_err();
    assert!(update.to_string().contains("append-only"), "{update}");
    let delete = sql(&kt.db, "DELETE FROM requests").unwrap_err();
    assert!(delete.to_string().contains("immutable"), "{delete}");
    let chain = sql(&kt.db, "DELETE FROM audit_chain").unwrap_err();
    assert!(
        chain.to_string().contains("only be removed with its row"),
        "{chain}"
    );
    let prune = kt_cli(&kt.db, &["events", "prune", "--older-than", "0s"]);
    assert!(!prune.status.success());
    assert!(
        String::from_utf8_lossy(&prune.stderr).contains("immutable"),
        "{prune:?}"
    );
    assert_eq!(events(&kt.db, 10).len(), 3);
}

// Proves verify detects a modified, a deleted and a forged row once the triggers are gone.
#[tokio::test(flavor = "multi_thread")]
async fn verify_detects_tampering_behind_dropped_triggers() {
    let mut kt = Kt::start(&format!("{SIM}{AUDIT}"), &[]);
    traffic(&kt, 4).await;
    kt.stop();
    let ids: Vec<String> = events(&kt.db, 10)
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    sql(
        &kt.db,
        "DROP TRIGGER requests_no_update; DROP TRIGGER requests_guard_delete;",
    )
    .unwrap();
    sql(
        &kt.db,
        &format!(
            "UPDATE requests SET status = 'error' WHERE id = '{}'",
            ids[0]
        ),
    )
    .unwrap();
    sql(
        &kt.db,
        &format!("DELETE FROM requests WHERE id = '{}'", ids[1]),
    )
    .unwrap();
    sql(
        &kt.db,
        "INSERT INTO requests (id, ts, ts_unix_ms, target, provider, status, http_status, latency_ms, mirror_state)
         VALUES ('forged', '2099-01-01T00:00:00Z', 4070908800000, 'sim', 'simulated', 'success', 200, 1, 'disabled')",
    )
    .unwrap();
    let (code, out) = verify(&kt.db);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("requests row {} (entry 1) was modified", ids[0])),
        "{out}"
    );
    assert!(
        out.contains(&format!("requests row {} (entry 2) was deleted", ids[1])),
        "{out}"
    );
    assert!(
        out.contains("requests row forged is not in the audit chain"),
        "{out}"
    );
    assert!(out.contains("FAILED: 3 problem(s)"), "{out}");
}

// Proves prune removes only events older than the cutoff, with their chain entries, and
// the remaining chain still verifies (anchored where pruning cut it).
#[tokio::test(flavor = "multi_thread")]
async fn prune_removes_old_events_and_keeps_the_chain_verifiable() {
    let mut kt = Kt::start(SIM, &[]);
    traffic(&kt, 3).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    traffic(&kt, 2).await;
    kt.stop();
    let out = kt_cli(&kt.db, &["events", "prune", "--older-than", "1s"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("pruned 3 event(s)"));
    assert_eq!(events(&kt.db, 10).len(), 2);
    let (code, text) = verify(&kt.db);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("ok: 2 entries verified") && text.contains("were pruned"),
        "{text}"
    );
    // Without a configured retention and no --older-than, prune explains what it needs.
    let none = kt_cli(&kt.db, &["events", "prune"]);
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("--older-than"));
}
