//! The replay's progress bar on stderr (count, rate, ETA, spend), drawn only when stderr
//! is a terminal, so logs and CI output stay clean; the summary line is printed either way.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar over the requests to replay.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `total` requests to `target`; hidden unless stderr is a terminal.
    pub fn new(total: u64, target: &str) -> Self {
        let draw = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total), draw);
        // A template error is a bug in the literal below; the default style still works.
        if let Ok(style) = ProgressStyle::with_template(
            "replay to {prefix} [{bar:30}] {pos}/{len} {per_sec} ETA {eta} {msg}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(target.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        Self { bar }
    }

    /// One request finished (replayed, failed or skipped).
    pub fn advance(&self) {
        self.bar.inc(1);
    }

    /// The text after the ETA: spend so far, or why the replay is stopping.
    pub fn note(&self, text: String) {
        self.bar.set_message(text);
    }

    /// Removes the bar before the summary is printed.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
