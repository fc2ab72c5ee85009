//! `kt db path` and `kt db schema`: where the event database is and what is in it, for
//! analysts who query it with sqlite3.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::{SchemaArgs, SchemaFormat};
use crate::output;
use crate::store::schema;

/// Prints the path every command resolves (`--db`, `KT_DB`, or the default).
pub fn path(db: &Path) -> ExitCode {
    output::print_text(&db.display().to_string());
    ExitCode::SUCCESS
}

/// Prints the schema as SQL statements or as JSON relations with their columns.
pub fn schema(args: &SchemaArgs, db: &Path) -> anyhow::Result<ExitCode> {
    let conn = super::open_db(db)?;
    match args.format {
        SchemaFormat::Sql => {
            let text: String = schema::objects(&conn)?
                .iter()
                .map(|o| format!("{};\n", o.sql.trim_end()))
                .collect::<Vec<_>>()
                .join("\n");
            output::print_text(text.trim_end());
        }
        SchemaFormat::Json => {
            output::print_json(&schema::relations(&conn)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
