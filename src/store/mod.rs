//! The SQLite event store: opening and migrating the database, the writer thread that
//! owns the write connection, reading events back, and the canned query registry.

pub mod audit_chain;
mod event_detail;
mod event_evaluations;
mod event_export;
mod event_shadows;
mod events;
mod fleet;
pub mod queries;
mod rows;
pub mod schema;
mod writer;

pub use event_detail::{EventDetail, NoiseFloorView, QualityView, ShadowDetail, find_events};
pub use event_evaluations::{EvaluationView, read_evaluations};
pub use event_export::{ExportPair, PairComparison, PairSide, export_pairs};
pub use event_shadows::{ShadowView, read_shadows};
pub use events::{ComparisonView, Event, EventFilter, MirrorView, SideView, last_seq, read_events};
pub use fleet::open_fleet;
pub use rows::{EvaluationRow, PauseRow, RequestRow, ShadowRow};
pub use writer::{EventSink, WriterStats, WriterThread, spawn_writer};

use std::path::{Path, PathBuf};

use rusqlite::Connection;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Store failures, with the path so a user can act on them.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    // The cause is part of the message and deliberately not an error `source`, so a
    // `{:#}` chain at the CLI edge does not print it twice.
    #[error("cannot create the directory for {path}: {cause}")]
    CreateDir { path: String, cause: std::io::Error },
    #[error("cannot open database {path}: {cause}")]
    Open {
        path: String,
        cause: rusqlite::Error,
    },
    #[error("cannot migrate database {path}: {message}")]
    Migrate { path: String, message: String },
    #[error("database query `{query}` failed: {source}")]
    Query {
        query: &'static str,
        source: rusqlite::Error,
    },
}

/// Bytes the WAL file is truncated to after a checkpoint (`journal_size_limit`).
pub const WAL_SIZE_LIMIT: i64 = 16 * 1024 * 1024;

/// The database used when neither `--db` nor `KT_DB` is given:
/// `$XDG_DATA_HOME/kt/kt.db`, else `$HOME/.local/share/kt/kt.db`, else `./kt.db`.
/// A per-user path (not the working directory) so every command finds the same file
/// wherever it is run from.
pub fn default_db_path() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local").join("share"))
        });
    match base {
        Some(b) => b.join("kt").join("kt.db"),
        None => PathBuf::from("kt.db"),
    }
}

/// Opens (creating if needed) the database at `path`, sets WAL mode and applies pending
/// migrations. Every command opens the database through here.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let display = path.display().to_string();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|cause| StoreError::CreateDir {
            path: display.clone(),
            cause,
        })?;
    }
    let open_err = |cause| StoreError::Open {
        path: display.clone(),
        cause,
    };
    let mut conn = Connection::open(path).map_err(open_err)?;
    // WAL lets analysts read with sqlite3 while the writer appends; NORMAL sync is
    // durable across application crashes, which is what an event log needs.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(open_err)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(open_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(open_err)?;
    // An analyst's idle sqlite3 session must not let the WAL grow without bound: after
    // each checkpoint (automatic every 1000 pages) the file is cut back to this size.
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)
        .map_err(open_err)?;
    embedded::migrations::runner()
        .run(&mut conn)
        .map_err(|e| StoreError::Migrate {
            path: display.clone(),
            message: e.to_string(),
        })?;
    Ok(conn)
}

/// Current time as (RFC 3339 with milliseconds, Unix milliseconds).
pub fn now_stamp() -> (String, i64) {
    let now = std::time::SystemTime::now();
    let ms = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    (humantime::format_rfc3339_millis(now).to_string(), ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves migrations apply to a fresh file and are idempotent on reopen.
    #[test]
    fn open_migrates_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("kt.db");
        drop(open(&path).unwrap());
        let conn = open(&path).unwrap();
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM mirror_pairs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }
}
