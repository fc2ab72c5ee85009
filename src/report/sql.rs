//! Runs the report's canned queries with named parameters and hands rows back as JSON
//! objects in column order, with small typed accessors for the assembling code.

use rusqlite::Connection;
use rusqlite::types::{Value as SqlValue, ValueRef};
use serde_json::{Map, Value};

use crate::store::StoreError;
use crate::store::queries::Query;

/// One result row: column name → value.
pub type Row = Map<String, Value>;

/// The named parameters a report query may use; each query binds the ones it names.
#[derive(Debug, Clone)]
pub struct Params {
    /// `:since_ms`: window start (inclusive), Unix ms.
    pub since_ms: i64,
    /// `:until_ms`: window end (exclusive), Unix ms.
    pub until_ms: i64,
    /// `:by`: mapping | model | hour | day | all.
    pub by: &'static str,
    /// `:pricing`: JSON object of model prices (see `queries/report_tokens.sql`).
    pub pricing: String,
    /// `:limit`: rows per group for `report_lowest`.
    pub limit: i64,
    /// `:source`: which pairs, `live` (mirrored traffic) or `replay` (`kt mirror replay`).
    pub source: &'static str,
}

impl Params {
    fn value(&self, name: &str) -> Option<SqlValue> {
        Some(match name {
            ":since_ms" => SqlValue::Integer(self.since_ms),
            ":until_ms" => SqlValue::Integer(self.until_ms),
            ":by" => SqlValue::Text(self.by.to_owned()),
            ":pricing" => SqlValue::Text(self.pricing.clone()),
            ":limit" => SqlValue::Integer(self.limit),
            ":source" => SqlValue::Text(self.source.to_owned()),
            _ => return None,
        })
    }
}

/// Runs `q` with the parameters it names and hands each result row to `f`, which reads
/// the columns it needs by position (the fast path for the pairs' values).
pub fn for_each_row(
    conn: &Connection,
    q: Query,
    p: &Params,
    mut f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<()>,
) -> Result<usize, StoreError> {
    let err = |source| StoreError::Query {
        query: q.name,
        source,
    };
    let started = std::time::Instant::now();
    let mut st = conn.prepare_cached(q.sql).map_err(err)?;
    for i in 1..=st.parameter_count() {
        let name = st.parameter_name(i).unwrap_or_default().to_owned();
        let value = p
            .value(&name)
            .ok_or_else(|| err(rusqlite::Error::InvalidParameterName(name)))?;
        st.raw_bind_parameter(i, value).map_err(err)?;
    }
    let mut n = 0;
    let mut rs = st.raw_query();
    while let Some(r) = rs.next().map_err(err)? {
        f(r).map_err(err)?;
        n += 1;
    }
    // Which canned query a slow report spends its time in (`RUST_LOG=kt=debug`).
    tracing::debug!(
        query = q.name,
        by = p.by,
        rows = n,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "report query"
    );
    Ok(n)
}

/// Runs `q` with the parameters it names; each row as column name → value.
pub fn rows(conn: &Connection, q: Query, p: &Params) -> Result<Vec<Row>, StoreError> {
    let mut names: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for_each_row(conn, q, p, |r| {
        if names.is_empty() {
            names = r.as_ref().column_names().map(str::to_owned).collect();
        }
        let mut obj = Map::new();
        for (i, name) in names.iter().enumerate() {
            let v = match r.get_ref(i)? {
                ValueRef::Null | ValueRef::Blob(_) => Value::Null,
                ValueRef::Integer(n) => Value::from(n),
                ValueRef::Real(f) => Value::from(f),
                ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
            };
            obj.insert(name.clone(), v);
        }
        out.push(obj);
        Ok(())
    })?;
    Ok(out)
}

/// A number column (`None` for NULL).
pub fn num(r: &Row, col: &str) -> Option<f64> {
    r.get(col).and_then(Value::as_f64)
}

/// A count column (0 for NULL).
pub fn count(r: &Row, col: &str) -> u64 {
    r.get(col).and_then(Value::as_u64).unwrap_or(0)
}

/// A text column.
pub fn text<'r>(r: &'r Row, col: &str) -> Option<&'r str> {
    r.get(col).and_then(Value::as_str)
}

/// A column holding a JSON array of strings (`json_group_array`), NULL entries dropped.
pub fn string_list(r: &Row, col: &str) -> Vec<String> {
    text(r, col)
        .and_then(|t| serde_json::from_str::<Vec<Option<String>>>(t).ok())
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}
