//! The database's own description, for `kt db schema`: its CREATE statements and the
//! columns of every table and view.

use rusqlite::Connection;
use serde::Serialize;

use super::{StoreError, queries};

/// One schema object and the SQL that created it.
#[derive(Debug, Clone, Serialize)]
pub struct SchemaObject {
    /// `table`, `view`, `index` or `trigger`.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub sql: String,
}

/// A table or view and its columns, in order.
#[derive(Debug, Clone, Serialize)]
pub struct Relation {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub name: String,
    /// The declared type; empty for view columns computed by an expression.
    #[serde(rename = "type")]
    pub decl_type: String,
    pub not_null: bool,
    /// Position in the primary key (1-based), 0 when not part of it.
    pub pk: i64,
}

fn err(query: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |source| StoreError::Query { query, source }
}

/// Every table, view, index and trigger with its SQL.
pub fn objects(conn: &Connection) -> Result<Vec<SchemaObject>, StoreError> {
    let q = queries::DB_SCHEMA;
    let mut st = conn.prepare(q.sql).map_err(err(q.name))?;
    let rows = st
        .query_map([], |r| {
            Ok(SchemaObject {
                kind: r.get(0)?,
                name: r.get(1)?,
                sql: r.get(2)?,
            })
        })
        .map_err(err(q.name))?;
    rows.collect::<Result<_, _>>().map_err(err(q.name))
}

/// Every table and view with its columns.
pub fn relations(conn: &Connection) -> Result<Vec<Relation>, StoreError> {
    let q = queries::DB_COLUMNS;
    let mut st = conn.prepare(q.sql).map_err(err(q.name))?;
    let mut rows = st.query([]).map_err(err(q.name))?;
    let mut out: Vec<Relation> = Vec::new();
    while let Some(r) = rows.next().map_err(err(q.name))? {
        let kind: String = r.get(0).map_err(err(q.name))?;
        let name: String = r.get(1).map_err(err(q.name))?;
        let column = Column {
            name: r.get(3).map_err(err(q.name))?,
            decl_type: r
                .get::<_, Option<String>>(4)
                .map_err(err(q.name))?
                .unwrap_or_default(),
            not_null: r.get::<_, i64>(5).map_err(err(q.name))? != 0,
            pk: r.get(6).map_err(err(q.name))?,
        };
        match out.last_mut() {
            Some(last) if last.name == name => last.columns.push(column),
            _ => out.push(Relation {
                kind,
                name,
                columns: vec![column],
            }),
        }
    }
    Ok(out)
}
