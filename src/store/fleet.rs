//! Several gateways' databases read as one data set (`kt mirror report` and `kt events
//! list` with `--db` given more than once). Each file is opened once through
//! [`super::open`] (so it is migrated to the current schema), then attached to an
//! in-memory connection whose TEMP views union each table and view under its usual name.
//! Unqualified names resolve to TEMP objects first, so every canned query runs unchanged.

use std::path::PathBuf;

use rusqlite::{Connection, named_params};

use super::{StoreError, queries};

/// The tables and views the read commands use, and whether they have a `rowid` to carry
/// (tables do, and some queries order by it; views do not).
const RELATIONS: [(&str, bool); 8] = [
    ("requests", true),
    ("evaluations", true),
    ("shadow_results", true),
    ("request_extra_shadows", true),
    ("mirror_pauses", true),
    ("kt_settings", true),
    ("mirror_pairs", false),
    ("noise_floor_pairs", false),
];

/// Opens `paths` as one read-only data set. With a single path this is just [`super::open`].
pub fn open_fleet(paths: &[PathBuf]) -> Result<Connection, StoreError> {
    if let [one] = paths {
        return super::open(one);
    }
    for p in paths {
        // Migrate each file to the schema the views below expect.
        drop(super::open(p)?);
    }
    let fleet = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let open_err = |cause| StoreError::Open {
        path: fleet.clone(),
        cause,
    };
    let conn = Connection::open_in_memory().map_err(open_err)?;
    let q = queries::FLEET_ATTACH;
    for (i, p) in paths.iter().enumerate() {
        conn.execute(
            q.sql,
            named_params! {":path": p.display().to_string(), ":schema": format!("fleet{i}")},
        )
        .map_err(|source| StoreError::Query {
            query: q.name,
            source,
        })?;
    }
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(open_err)?;
    let member = queries::FLEET_MEMBER.sql;
    // The template's header comment is for readers of queries/; the view takes the SELECT.
    let select = member
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    for (relation, rowid) in RELATIONS {
        let parts: Vec<String> = (0..paths.len())
            .map(|i| {
                select
                    .replace("{rowid}", if rowid { "rowid AS rowid," } else { "" })
                    .replace("{schema}", &format!("fleet{i}"))
                    .replace("{relation}", relation)
            })
            .collect();
        let view = format!(
            "CREATE TEMP VIEW {relation} AS {}",
            parts.join(" UNION ALL ")
        );
        conn.execute_batch(&view)
            .map_err(|source| StoreError::Query {
                query: queries::FLEET_MEMBER.name,
                source,
            })?;
    }
    Ok(conn)
}
