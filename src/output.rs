//! Everything kt prints to stdout goes through here. A closed pipe (`| head`, `| jq`
//! exiting early) ends output quietly instead of panicking.

use std::io::Write;

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

/// Writes to stdout; false when the reader is gone (a broken pipe), so loops can stop.
fn write_out(s: &str) -> bool {
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())
        .and_then(|()| out.flush())
        .is_ok()
}

/// Prints text, adding a final newline if missing; false when the reader is gone.
pub fn print_text(s: &str) -> bool {
    if s.ends_with('\n') {
        write_out(s)
    } else {
        write_out(&format!("{s}\n"))
    }
}

/// Prints an error message to stderr.
pub fn print_error(s: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{s}");
}

/// Pretty-printed JSON; false when the reader is gone.
pub fn print_json<T: serde::Serialize>(v: &T) -> bool {
    match serde_json::to_string_pretty(v) {
        Ok(s) => print_text(&s),
        Err(e) => {
            print_error(&format!("error: cannot encode output as JSON: {e}"));
            true
        }
    }
}

/// One compact JSON object per line; false when the reader is gone.
pub fn print_json_lines<T: serde::Serialize>(items: &[T]) -> bool {
    let mut buf = String::new();
    for item in items {
        match serde_json::to_string(item) {
            Ok(s) => {
                buf.push_str(&s);
                buf.push('\n');
            }
            Err(e) => print_error(&format!("error: cannot encode output as JSON: {e}")),
        }
    }
    write_out(&buf)
}

/// A table with kt's style, header set.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    t
}

/// Renders a JSON value for a table cell: strings bare, null as `-`.
pub fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "-".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
