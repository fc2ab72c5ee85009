//! The audit logger policy: applies `immutable` and `retention_days` to the event log.
//! Retention runs at gateway start and with `kt events prune`.

use std::time::Duration;

use rusqlite::Connection;

use crate::config::{Config, PolicyKind};
use crate::store::{StoreError, now_stamp, queries};

/// The audit settings of a config (the first audit_logger policy wins; lint rejects none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditSettings {
    pub immutable: bool,
    pub retention: Option<Duration>,
}

impl AuditSettings {
    pub fn from_config(config: &Config) -> Option<Self> {
        config.policies.iter().find_map(|p| match &p.kind {
            PolicyKind::AuditLogger {
                immutable,
                retention_days,
                ..
            } => Some(Self {
                immutable: *immutable,
                retention: retention_days.map(|d| Duration::from_secs(d.saturating_mul(86_400))),
            }),
            PolicyKind::ContentFilter { .. } => None,
        })
    }
}

/// Records the settings the schema's delete guard reads, then deletes events older than
/// the retention period. Returns the number of request rows deleted.
pub fn apply(conn: &mut Connection, settings: Option<AuditSettings>) -> Result<usize, StoreError> {
    let (_, now_ms) = now_stamp();
    let immutable = settings.is_some_and(|s| s.immutable);
    let cutoff_ms = settings.and_then(|s| s.retention).map_or(0, |r| {
        now_ms.saturating_sub(i64::try_from(r.as_millis()).unwrap_or(i64::MAX))
    });
    let err = |query, source| StoreError::Query { query, source };
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| err(queries::SET_SETTING.name, e))?;
    {
        let mut set = tx
            .prepare(queries::SET_SETTING.sql)
            .map_err(|e| err(queries::SET_SETTING.name, e))?;
        for (k, v) in [
            (
                "immutable",
                if immutable {
                    "1".to_string()
                } else {
                    "0".to_string()
                },
            ),
            ("retention_cutoff_ms", cutoff_ms.to_string()),
        ] {
            set.execute(rusqlite::named_params! {":key": k, ":value": v})
                .map_err(|e| err(queries::SET_SETTING.name, e))?;
        }
    }
    tx.commit().map_err(|e| err(queries::SET_SETTING.name, e))?;
    if cutoff_ms > 0 {
        // After the settings commit: the delete guard reads the new cutoff.
        return crate::store::audit_chain::prune(conn, cutoff_ms);
    }
    Ok(0)
}
