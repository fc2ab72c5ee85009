//! The stop signals of a long-running command (`kt gateway run`, `kt mirror replay`):
//! Ctrl-C and SIGTERM, the first asking for a clean stop and a second for a quick one.

/// Exit status after Ctrl-C, as shells report a process ended by SIGINT.
pub const INTERRUPTED: u8 = 130;
/// Exit status after SIGTERM (a supervisor's or `kill`'s stop), as shells report it.
pub const TERMINATED: u8 = 143;

/// Ctrl-C and SIGTERM listeners, installed together by [`StopSignals::listen`] and kept,
/// so neither an early signal nor one that comes between two [`StopSignals::next`] calls
/// is lost.
pub struct StopSignals {
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    /// Starts listening; call inside the runtime, before the work the signals stop.
    pub fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                int: signal(SignalKind::interrupt()).ok(),
                term: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// The next stop signal, as the exit status a shell reports for it ([`INTERRUPTED`]
    /// or [`TERMINATED`]). Never resolves when no listener could be installed.
    pub async fn next(&mut self) -> u8 {
        #[cfg(unix)]
        {
            async fn recv(s: &mut Option<tokio::signal::unix::Signal>, code: u8) -> u8 {
                if let Some(s) = s
                    && s.recv().await.is_some()
                {
                    return code;
                }
                std::future::pending().await
            }
            tokio::select! {
                code = recv(&mut self.int, INTERRUPTED) => code,
                code = recv(&mut self.term, TERMINATED) => code,
            }
        }
        #[cfg(not(unix))]
        match tokio::signal::ctrl_c().await {
            Ok(()) => INTERRUPTED,
            Err(_) => std::future::pending().await,
        }
    }
}
