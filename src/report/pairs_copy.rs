//! The report's private copy of the window's pairs: a TEMP table named `mirror_pairs` on
//! the report's connection (queries/report_materialize.sql), so the dozen canned queries
//! of a report scan a plain table instead of re-running the view's joins each time. The
//! copy is dropped with the guard.

use rusqlite::Connection;

use super::sql::{self, Params};
use crate::store::StoreError;
use crate::store::queries;

/// Drops the copy (if this guard made it) when the report is done.
pub struct PairsCopy<'c> {
    conn: &'c Connection,
    made: bool,
}

/// Copies the window's pairs, unless the connection already has a TEMP `mirror_pairs` (a
/// fleet's union view): then the queries read that, as before.
pub fn make<'c>(conn: &'c Connection, p: &Params) -> Result<PairsCopy<'c>, StoreError> {
    let taken = sql::rows(conn, queries::REPORT_TEMP_PAIRS, p)?
        .first()
        .map_or(0, |r| sql::count(r, "n"));
    if taken > 0 {
        return Ok(PairsCopy { conn, made: false });
    }
    sql::for_each_row(conn, queries::REPORT_MATERIALIZE, p, |_| Ok(()))?;
    Ok(PairsCopy { conn, made: true })
}

impl Drop for PairsCopy<'_> {
    fn drop(&mut self) {
        if self.made
            && let Err(e) = self.conn.execute_batch(queries::REPORT_UNMATERIALIZE.sql)
        {
            // The connection belongs to this command and ends with it; nothing to undo.
            tracing::debug!(error = %e, "could not drop the report's copy of the pairs");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            since_ms: 0,
            until_ms: i64::MAX,
            by: "all",
            pricing: "{}".into(),
            limit: 5,
            source: "live",
        }
    }

    fn temp_objects(conn: &Connection) -> Vec<(String, String)> {
        let mut st = conn
            .prepare("SELECT type, name FROM temp.sqlite_master WHERE name = 'mirror_pairs'")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    // Proves the copy exists only while the guard lives, and that a connection with its
    // own TEMP `mirror_pairs` (a fleet) keeps it untouched.
    #[test]
    fn the_copy_lives_as_long_as_the_guard() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("r.db")).unwrap();
        {
            let _copy = make(&conn, &params()).unwrap();
            assert_eq!(
                temp_objects(&conn),
                [("table".into(), "mirror_pairs".into())]
            );
        }
        assert!(temp_objects(&conn).is_empty());

        conn.execute_batch("CREATE TEMP VIEW mirror_pairs AS SELECT * FROM main.mirror_pairs")
            .unwrap();
        {
            let _copy = make(&conn, &params()).unwrap();
        }
        assert_eq!(
            temp_objects(&conn),
            [("view".into(), "mirror_pairs".into())]
        );
    }
}
