//! The canned SQL registry: every file in `queries/`, compiled into the binary so a
//! missing file fails the build. Analysts can run the same files with sqlite3.

/// A named SQL text from `queries/`.
#[derive(Debug, Clone, Copy)]
pub struct Query {
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! query {
    ($ident:ident, $file:literal) => {
        pub const $ident: Query = Query {
            name: $file,
            sql: include_str!(concat!("../../queries/", $file, ".sql")),
        };
    };
}

query!(INSERT_REQUEST, "insert_request");
query!(INSERT_SHADOW, "insert_shadow");
query!(INSERT_REQUEST_EXTRA_SHADOW, "insert_request_extra_shadow");
query!(INSERT_MIRROR_PAUSE, "insert_mirror_pause");
query!(INSERT_EVALUATION, "insert_evaluation");
query!(EVENTS_RECENT, "events_recent");
query!(MIRROR_SUMMARY, "mirror_summary");
query!(MIRROR_BY_MAPPING, "mirror_by_mapping");
query!(FAILURES, "failures");
query!(MIRROR_STATES, "mirror_states");
query!(TTFT, "ttft");
query!(RETENTION_PRUNE, "retention_prune");
query!(AUDIT_ROW_REQUEST, "audit_row_request");
query!(AUDIT_ROW_SHADOW, "audit_row_shadow");
query!(AUDIT_ROWS_ALL, "audit_rows_all");
query!(AUDIT_CHAIN_APPEND, "audit_chain_append");
query!(AUDIT_CHAIN_HEAD, "audit_chain_head");
query!(AUDIT_CHAIN_ALL, "audit_chain_all");
query!(GET_SETTING, "get_setting");
query!(SET_SETTING, "set_setting");
query!(EVENTS_LAST_SEQ, "events_last_seq");
query!(EVENTS_BY_ID, "events_by_id");
query!(EVENTS_EXPORT, "events_export");
query!(DB_SCHEMA, "db_schema");
query!(DB_COLUMNS, "db_columns");
query!(FLEET_ATTACH, "fleet_attach");
query!(FLEET_MEMBER, "fleet_member");
query!(EVENTS_SHADOWS, "events_shadows");

// The mirror report (src/report/).
query!(REPORT_GROUPS, "report_groups");
query!(REPORT_LATENCY, "report_latency");
query!(REPORT_TOKENS, "report_tokens");
query!(REPORT_SIMILARITY, "report_similarity");
query!(REPORT_QUALITY, "report_quality");
query!(REPORT_LOWEST, "report_lowest");
query!(REPORT_NOISE_FLOOR, "report_noise_floor");
query!(REPORT_NOISE_FLOOR_VALUES, "report_noise_floor_values");
query!(REPORT_FAILURES, "report_failures");
query!(REPORT_PAIR_VALUES, "report_pair_values");
query!(REPORT_WINDOW, "report_window");
query!(REPORT_MATERIALIZE, "report_materialize");
query!(REPORT_MATERIALIZE_VIEW, "report_materialize_view");
query!(REPORT_UNMATERIALIZE, "report_unmaterialize");
query!(REPORT_UNMATERIALIZE_VIEW, "report_unmaterialize_view");
query!(REPORT_TEMP_PAIRS, "report_temp_pairs");
query!(REPORT_PAUSES, "report_pauses");
query!(REPORT_SEMANTIC, "report_semantic");
query!(REPORT_JUDGE, "report_judge");
query!(REPORT_EVALUATION_COST, "report_evaluation_cost");

// The spend guard's start (src/mirror/guard.rs).
query!(GUARD_SPEND_TODAY, "guard_spend_today");
query!(GUARD_LAST_EVENTS, "guard_last_events");

// The evaluators' start (src/evaluate/) and `kt events show`.
query!(EVALUATION_SPEND_TODAY, "evaluation_spend_today");
query!(EVENTS_EVALUATIONS, "events_evaluations");

// `kt mirror replay` (src/replay/).
query!(REPLAY_PENDING, "replay_pending");
query!(REPLAY_CANDIDATES, "replay_candidates");

/// Every query, for the test that runs them all on a fresh database.
pub const ALL: &[Query] = &[
    INSERT_REQUEST,
    INSERT_SHADOW,
    INSERT_REQUEST_EXTRA_SHADOW,
    INSERT_MIRROR_PAUSE,
    INSERT_EVALUATION,
    EVENTS_RECENT,
    MIRROR_SUMMARY,
    MIRROR_BY_MAPPING,
    FAILURES,
    MIRROR_STATES,
    TTFT,
    RETENTION_PRUNE,
    AUDIT_ROW_REQUEST,
    AUDIT_ROW_SHADOW,
    AUDIT_ROWS_ALL,
    AUDIT_CHAIN_APPEND,
    AUDIT_CHAIN_HEAD,
    AUDIT_CHAIN_ALL,
    GET_SETTING,
    SET_SETTING,
    EVENTS_LAST_SEQ,
    EVENTS_BY_ID,
    EVENTS_EXPORT,
    DB_SCHEMA,
    DB_COLUMNS,
    EVENTS_SHADOWS,
    REPORT_GROUPS,
    REPORT_LATENCY,
    REPORT_TOKENS,
    REPORT_SIMILARITY,
    REPORT_QUALITY,
    REPORT_LOWEST,
    REPORT_NOISE_FLOOR,
    REPORT_NOISE_FLOOR_VALUES,
    REPORT_FAILURES,
    REPORT_PAIR_VALUES,
    REPORT_WINDOW,
    REPORT_PAUSES,
    REPORT_SEMANTIC,
    REPORT_JUDGE,
    REPORT_EVALUATION_COST,
    GUARD_SPEND_TODAY,
    GUARD_LAST_EVENTS,
    EVALUATION_SPEND_TODAY,
    EVENTS_EVALUATIONS,
    REPLAY_PENDING,
    REPLAY_CANDIDATES,
];

#[cfg(test)]
mod tests {
    use super::*;

    // Proves every canned query parses and runs against the migrated schema: first the
    // ones over the public tables and views, then, over the report's TEMP copy of the
    // pairs (made and dropped by the report's own statements), the ones that read it.
    #[test]
    fn every_query_runs_on_a_fresh_database() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("q.db")).unwrap();
        let copy = [
            REPORT_TEMP_PAIRS,
            REPORT_MATERIALIZE,
            REPORT_MATERIALIZE_VIEW,
            REPORT_UNMATERIALIZE_VIEW,
            REPORT_UNMATERIALIZE,
        ];
        for q in ALL.iter().chain(&copy) {
            assert!(
                q.sql.trim_start().starts_with("--"),
                "{} lacks a header",
                q.name
            );
        }
        let (reads_copy, public): (Vec<Query>, Vec<Query>) =
            ALL.iter().partition(|q| q.sql.contains("report_pairs"));
        run_all(&conn, &public);
        run_all(&conn, &copy[..3]);
        run_all(&conn, &reads_copy);
        run_all(&conn, &copy[3..]);
        let temp: i64 = conn
            .query_row("SELECT COUNT(*) FROM temp.sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(temp, 0);
    }

    fn run_all(conn: &rusqlite::Connection, queries: &[Query]) {
        for q in queries {
            for stmt in split_statements(q.sql) {
                let mut st = conn
                    .prepare(stmt)
                    .unwrap_or_else(|e| panic!("{}: {e}", q.name));
                let n = st.parameter_count();
                let mut params: Vec<rusqlite::types::Value> = Vec::new();
                for i in 1..=n {
                    let name = st.parameter_name(i).unwrap_or("");
                    params.push(match name {
                        ":limit" => 10i64.into(),
                        ":until_ms" => i64::MAX.into(),
                        ":key" | ":value" => "x".to_string().into(),
                        ":by" => "mapping".to_string().into(),
                        ":source" => "live".to_string().into(),
                        ":policy_findings" | ":id" | ":ts" | ":target" | ":provider"
                        | ":status" | ":mirror_state" | ":request_id" | ":shadow_target"
                        | ":model" => format!("{name}-v").into(),
                        _ => 0i64.into(),
                    });
                }
                let mut rows = st
                    .query(rusqlite::params_from_iter(params))
                    .unwrap_or_else(|e| panic!("{}: {e}", q.name));
                while rows.next().unwrap().is_some() {}
            }
        }
    }

    /// Splits a multi-statement file at `;` line ends (our files put one per line end).
    fn split_statements(sql: &str) -> Vec<&str> {
        sql.split_inclusive(";\n")
            .map(str::trim)
            .filter(|s| {
                s.lines()
                    .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--"))
            })
            .collect()
    }
}
