//! `--format table` (the default): the report's layout as plain text with comfy-table
//! tables, for a terminal.

use super::MirrorReport;
use super::sections::{Block, layout};
use crate::output;

/// The report as terminal text.
pub fn render_table(r: &MirrorReport) -> String {
    let mut out = String::new();
    for block in layout(r) {
        match block {
            Block::Heading(1, title) => out.push_str(&format!("{title}\n")),
            Block::Heading(2, title) => {
                let rule = "═".repeat(title.chars().count());
                out.push_str(&format!("\n{title}\n{rule}\n"));
            }
            Block::Heading(_, title) => {
                let rule = "─".repeat(title.chars().count());
                out.push_str(&format!("\n{title}\n{rule}\n"));
            }
            Block::Text(text) => out.push_str(&format!("{text}\n")),
            Block::Table(header, rows) => {
                let header: Vec<&str> = header.iter().map(String::as_str).collect();
                let mut t = output::table(&header);
                for row in rows {
                    t.add_row(row);
                }
                out.push_str(&format!("{t}\n"));
            }
        }
    }
    out
}
