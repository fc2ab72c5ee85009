//! The tamper-evident audit chain (migration V4): the writer appends an entry for every
//! row in the row's own transaction; `kt audit verify` walks the chain and the tables and
//! reports every row changed, deleted or inserted behind kt's back; retention pruning
//! removes rows together with their entries.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, named_params};
use sha2::{Digest, Sha256};

use super::{StoreError, queries};

/// `prev_hash` of the very first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn sha_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex. Why not `format!("{b:02x}")` per byte: the writer hashes every row
/// twice, and the per-byte formatting was ~8% of its profile.
fn hex(digest: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(digest.len() * 2);
    for b in digest {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The entry hash: links `row_hash` to the entry before (SHA-256 of the two hex strings
/// concatenated).
fn link(prev_hash: &str, row_hash: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(row_hash.as_bytes());
    hex(&h.finalize())
}

/// The chain's newest hash as seen inside one write transaction: read from the database
/// once, then carried in memory from entry to entry (the writer's IMMEDIATE transaction
/// holds the write lock, so nobody else can append meanwhile). Start a new one per
/// transaction: after a rollback the cached value would be wrong.
#[derive(Debug, Default)]
pub(super) struct Head(Option<String>);

/// Which table a chain entry covers.
#[derive(Debug, Clone, Copy)]
pub enum Table {
    Requests,
    ShadowResults,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Self::Requests => "requests",
            Self::ShadowResults => "shadow_results",
        }
    }
}

/// Appends the entry for the row just inserted at `rowid` (inside the caller's transaction,
/// which `head` belongs to).
pub(super) fn append(
    conn: &Connection,
    head: &mut Head,
    table: Table,
    rowid: i64,
) -> rusqlite::Result<()> {
    let q = match table {
        Table::Requests => queries::AUDIT_ROW_REQUEST,
        Table::ShadowResults => queries::AUDIT_ROW_SHADOW,
    };
    let (row_key, canonical): (String, String) = conn
        .prepare_cached(q.sql)?
        .query_row(named_params! {":rowid": rowid}, |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let row_hash = sha_hex(canonical.as_bytes());
    let prev_hash = match head.0.take() {
        Some(h) => h,
        None => conn
            .prepare_cached(queries::AUDIT_CHAIN_HEAD.sql)?
            .query_row([], |r| r.get(0))
            .optional()?
            .unwrap_or_else(|| GENESIS.to_string()),
    };
    let hash = link(&prev_hash, &row_hash);
    conn.prepare_cached(queries::AUDIT_CHAIN_APPEND.sql)?
        .execute(named_params! {
            ":tbl": table.name(),
            ":row_key": row_key,
            ":row_hash": row_hash,
            ":prev_hash": prev_hash,
            ":hash": hash,
        })?;
    // Only an entry that was written moves the head.
    head.0 = Some(hash);
    Ok(())
}

/// What `kt audit verify` found.
#[derive(Debug, Default, serde::Serialize)]
pub struct Verification {
    /// Chain entries checked.
    pub entries: u64,
    /// Rows written before the chain existed (older than its first entry): not covered.
    pub pre_chain_rows: u64,
    /// `seq` and `prev_hash` of the first entry when earlier entries were pruned.
    pub anchor: Option<(i64, String)>,
    /// The last entry's hash: keep it somewhere else to detect a truncated chain later.
    pub head: Option<String>,
    /// Everything that does not add up, one sentence each.
    pub problems: Vec<String>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Walks the chain and the tables. Detects: a row whose content changed, a row deleted
/// with or without its entry (a broken link), an entry whose hashes were edited, and a
/// row inserted without an entry. Truncating the newest entries together with their rows
/// is only detectable against a head hash kept elsewhere (see `head`).
pub fn verify(conn: &Connection) -> Result<Verification, StoreError> {
    let err = |query: &'static str| move |source| StoreError::Query { query, source };
    let mut rows: HashMap<(String, String), (String, Option<i64>)> = HashMap::new();
    {
        let q = queries::AUDIT_ROWS_ALL;
        let mut st = conn.prepare(q.sql).map_err(err(q.name))?;
        let mut it = st.query([]).map_err(err(q.name))?;
        while let Some(r) = it.next().map_err(err(q.name))? {
            let tbl: String = r.get(0).map_err(err(q.name))?;
            let key: String = r.get(1).map_err(err(q.name))?;
            let canonical: String = r.get(2).map_err(err(q.name))?;
            let ts: Option<i64> = r.get(3).map_err(err(q.name))?;
            rows.insert((tbl, key), (sha_hex(canonical.as_bytes()), ts));
        }
    }
    let mut v = Verification::default();
    let q = queries::AUDIT_CHAIN_ALL;
    let mut st = conn.prepare(q.sql).map_err(err(q.name))?;
    let mut it = st.query([]).map_err(err(q.name))?;
    let mut prev: Option<String> = None;
    let mut first_ts: Option<i64> = None;
    while let Some(r) = it.next().map_err(err(q.name))? {
        let seq: i64 = r.get(0).map_err(err(q.name))?;
        let tbl: String = r.get(1).map_err(err(q.name))?;
        let key: String = r.get(2).map_err(err(q.name))?;
        let row_hash: String = r.get(3).map_err(err(q.name))?;
        let prev_hash: String = r.get(4).map_err(err(q.name))?;
        let hash: String = r.get(5).map_err(err(q.name))?;
        v.entries += 1;
        match &prev {
            None if prev_hash != GENESIS => v.anchor = Some((seq, prev_hash.clone())),
            Some(p) if *p != prev_hash => v.problems.push(format!(
                "entry {seq} ({tbl} {key}) does not link to the entry before it: entries were removed or edited"
            )),
            _ => {}
        }
        if link(&prev_hash, &row_hash) != hash {
            v.problems
                .push(format!("entry {seq} ({tbl} {key}) has an edited hash"));
        }
        match rows.remove(&(tbl.clone(), key.clone())) {
            None => v
                .problems
                .push(format!("{tbl} row {key} (entry {seq}) was deleted")),
            Some((h, ts)) => {
                if h != row_hash {
                    v.problems
                        .push(format!("{tbl} row {key} (entry {seq}) was modified"));
                }
                if first_ts.is_none() {
                    first_ts = ts;
                }
            }
        }
        prev = Some(hash);
    }
    v.head = prev;
    // Rows left over have no entry: written before the chain existed, or forged.
    let mut leftovers: Vec<_> = rows.into_iter().collect();
    leftovers.sort();
    for ((tbl, key), (_, ts)) in leftovers {
        let before_chain = match (ts, first_ts) {
            (Some(t), Some(f)) => t < f,
            (_, None) => v.entries == 0,
            _ => false,
        };
        if before_chain {
            v.pre_chain_rows += 1;
        } else {
            v.problems.push(format!(
                "{tbl} row {key} is not in the audit chain: inserted behind kt's back"
            ));
        }
    }
    Ok(v)
}

/// Deletes events older than `cutoff_ms` with their chain entries (shadow rows first);
/// returns the number of requests deleted. With `immutable` on, the schema refuses to
/// delete anything younger than the retention cutoff recorded by the gateway.
pub fn prune(conn: &mut Connection, cutoff_ms: i64) -> Result<usize, StoreError> {
    let q = queries::RETENTION_PRUNE;
    let err = |source| StoreError::Query {
        query: q.name,
        source,
    };
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(err)?;
    let mut deleted = 0;
    for stmt in q
        .sql
        .split_inclusive(";\n")
        .filter(|s| s.contains("DELETE"))
    {
        let mut st = tx.prepare(stmt.trim()).map_err(err)?;
        let n = if st.parameter_index(":cutoff_ms").map_err(err)?.is_some() {
            st.execute(named_params! {":cutoff_ms": cutoff_ms})
                .map_err(err)?
        } else {
            st.execute([]).map_err(err)?
        };
        if stmt.contains("DELETE FROM requests") {
            deleted = n;
        }
    }
    tx.commit().map_err(err)?;
    Ok(deleted)
}
