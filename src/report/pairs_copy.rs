//! The report's private copy of the window's pairs: a TEMP table `report_pairs` on the
//! report's connection (queries/report_materialize.sql) with each pair's report group
//! computed once, so the dozen canned queries of a report scan a plain table instead of
//! re-running the view's joins and the group-key expression each time. Unless the
//! connection has its own TEMP `mirror_pairs` (a fleet's union view), a TEMP view of that
//! name over the copy serves the tutorial's summary queries too. Both are dropped with
//! the guard.

use rusqlite::Connection;

use super::sql::{self, Params};
use crate::store::StoreError;
use crate::store::queries;

/// Drops the copy and the view over it, each only if this guard made it.
pub struct PairsCopy<'c> {
    conn: &'c Connection,
    made_table: bool,
    made_view: bool,
}

/// Copies the window's pairs of `p.source`, grouped by `p.by`.
pub fn make<'c>(conn: &'c Connection, p: &Params) -> Result<PairsCopy<'c>, StoreError> {
    let fleet = sql::rows(conn, queries::REPORT_TEMP_PAIRS, p)?
        .first()
        .is_some_and(|r| sql::count(r, "n") > 0);
    let mut copy = PairsCopy {
        conn,
        made_table: false,
        made_view: false,
    };
    sql::for_each_row(conn, queries::REPORT_MATERIALIZE, p, |_| Ok(()))?;
    copy.made_table = true;
    if !fleet {
        // On an error here the guard still drops the table made above.
        sql::for_each_row(conn, queries::REPORT_MATERIALIZE_VIEW, p, |_| Ok(()))?;
        copy.made_view = true;
    }
    Ok(copy)
}

impl Drop for PairsCopy<'_> {
    fn drop(&mut self) {
        let made = [
            (self.made_view, queries::REPORT_UNMATERIALIZE_VIEW),
            (self.made_table, queries::REPORT_UNMATERIALIZE),
        ];
        for (_, q) in made.into_iter().filter(|(m, _)| *m) {
            if let Err(e) = self.conn.execute_batch(q.sql) {
                // The connection belongs to this command and ends with it; nothing to undo.
                tracing::debug!(error = %e, query = q.name, "could not drop the report's copy of the pairs");
            }
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
            .prepare("SELECT type, name FROM temp.sqlite_master ORDER BY name")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    // Proves the copy (and the view over it) exist only while the guard lives, and that a
    // connection with its own TEMP `mirror_pairs` (a fleet) keeps it untouched.
    #[test]
    fn the_copy_lives_as_long_as_the_guard() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("r.db")).unwrap();
        {
            let _copy = make(&conn, &params()).unwrap();
            assert_eq!(
                temp_objects(&conn),
                [
                    ("view".into(), "mirror_pairs".into()),
                    ("table".into(), "report_pairs".into())
                ]
            );
        }
        assert!(temp_objects(&conn).is_empty());

        conn.execute_batch("CREATE TEMP VIEW mirror_pairs AS SELECT * FROM main.mirror_pairs")
            .unwrap();
        {
            let _copy = make(&conn, &params()).unwrap();
            assert_eq!(temp_objects(&conn).len(), 2);
        }
        assert_eq!(
            temp_objects(&conn),
            [("view".into(), "mirror_pairs".into())]
        );
    }

    // Proves the view over the copy has the `mirror_pairs` view's columns in its order, and
    // the copy the same behind its `gkey` (a column added to the view in a migration must
    // be added to queries/report_materialize_view.sql).
    #[test]
    fn the_copy_has_every_column_of_mirror_pairs() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("r.db")).unwrap();
        let columns = |table: &str, schema: &str| -> Vec<String> {
            let mut st = conn
                .prepare("SELECT name FROM pragma_table_info(?1, ?2)")
                .unwrap();
            st.query_map([table, schema], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let view = columns("mirror_pairs", "main");
        let _copy = make(&conn, &params()).unwrap();
        assert_eq!(columns("mirror_pairs", "temp"), view);
        let copy = columns("report_pairs", "temp");
        assert_eq!(copy[0], "gkey");
        assert_eq!(copy[1..], view[..]);
    }
}
