//! `kt events export`: the mirrored pairs as an evaluation dataset, one JSON object per
//! pair per line, to stdout or a file. Prompts are not exported (kt stores them only with
//! `log_requests`, for replay).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::events::since_ms;
use super::open_db;
use crate::cli::{ExportArgs, ExportFormat};
use crate::output;
use crate::store::{ExportPair, export_pairs};

/// Stdout is written in pieces of about this size, so a large export streams.
const CHUNK: usize = 64 * 1024;

pub fn export(args: &ExportArgs, db: &Path) -> anyhow::Result<ExitCode> {
    let ExportFormat::Jsonl = args.format;
    let since = since_ms(args.since.as_deref())?;
    let conn = open_db(db)?;
    match &args.output {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = BufWriter::new(file);
            let mut failed = None;
            let n = export_pairs(&conn, since, |pair| match write_line(&mut out, &pair) {
                Ok(()) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            })?;
            if let Some(e) = failed {
                return Err(e).with_context(|| format!("cannot write {}", path.display()));
            }
            out.flush()
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {n} mirrored pairs to {}", path.display());
        }
        None => {
            let mut buf = Vec::with_capacity(CHUNK);
            let mut reader_gone = false;
            export_pairs(&conn, since, |pair| {
                // Writing to a Vec cannot fail; a pair that cannot be encoded is skipped.
                let _ = write_line(&mut buf, &pair);
                if buf.len() >= CHUNK {
                    reader_gone = !flush_stdout(&mut buf);
                }
                !reader_gone
            })?;
            if !reader_gone {
                flush_stdout(&mut buf);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One pair as a JSON line.
fn write_line(out: &mut impl Write, pair: &ExportPair) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, pair)?;
    out.write_all(b"\n")
}

/// Prints and empties `buf`; false when the reader is gone.
fn flush_stdout(buf: &mut Vec<u8>) -> bool {
    let ok = buf.is_empty() || output::print_text(&String::from_utf8_lossy(buf));
    buf.clear();
    ok
}
