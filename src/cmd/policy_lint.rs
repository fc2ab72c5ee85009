//! `kt policy lint`: run the gateway's own config loader and print every finding.

use std::process::ExitCode;

use crate::cli::{LintArgs, LintFormat};
use crate::config;
use crate::output;

/// Exit 0 when valid, 1 when there are errors, 2 when the file is unreadable or not YAML.
pub fn run(args: &LintArgs) -> ExitCode {
    match config::load(&args.file) {
        Ok(report) => {
            match args.format {
                LintFormat::Text => output::print_text(&report.render_text()),
                LintFormat::Json => output::print_json(&report.render_json()),
            };
            if report.is_valid() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            match args.format {
                LintFormat::Text => {
                    output::print_error(&e.to_string());
                }
                LintFormat::Json => {
                    output::print_json(&serde_json::json!({
                        "file": args.file.display().to_string(),
                        "valid": false,
                        "fatal": e.to_string(),
                    }));
                }
            }
            ExitCode::from(2)
        }
    }
}
