//! The writer thread: the only owner of the write connection. Request handlers and
//! shadow tasks hand it rows through a bounded queue without ever waiting; it batches
//! whatever has queued up into one `BEGIN IMMEDIATE` transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::mpsc;

use super::queries;
use super::rows::{RequestRow, ShadowRow};

/// Rows written per transaction at most: large enough to amortise the commit, small
/// enough that a reader never waits long.
const MAX_BATCH: usize = 512;
/// Attempts for one batch before it is counted as dropped (database locked, disk full).
const BATCH_ATTEMPTS: u32 = 5;

/// One row for the writer.
#[derive(Debug)]
pub enum Record {
    Request(Box<RequestRow>),
    Shadow(Box<ShadowRow>),
}

/// Counters for the accounting identity: every row offered is written or dropped.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Rows accepted into the queue.
    pub queued: AtomicU64,
    /// Rows committed to the database.
    pub written: AtomicU64,
    /// Rows refused because the queue was full.
    pub dropped_queue_full: AtomicU64,
    /// Rows lost because their batch failed every attempt.
    pub dropped_write_failed: AtomicU64,
}

impl WriterStats {
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full.load(Ordering::Relaxed)
            + self.dropped_write_failed.load(Ordering::Relaxed)
    }
}

/// The cheap, cloneable handle callers use to hand rows to the writer.
#[derive(Debug, Clone)]
pub struct EventSink {
    tx: mpsc::Sender<Record>,
    stats: Arc<WriterStats>,
}

impl EventSink {
    /// Queues a request row; never waits. Returns false (and counts it) when the queue is full.
    pub fn request(&self, row: RequestRow) -> bool {
        self.offer(Record::Request(Box::new(row)))
    }

    /// Queues a shadow row; never waits.
    pub fn shadow(&self, row: ShadowRow) -> bool {
        self.offer(Record::Shadow(Box::new(row)))
    }

    fn offer(&self, rec: Record) -> bool {
        match self.tx.try_send(rec) {
            Ok(()) => {
                self.stats.queued.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(_) => {
                let n = self
                    .stats
                    .dropped_queue_full
                    .fetch_add(1, Ordering::Relaxed);
                // Log the first drop of each thousand, not every one: a full queue under
                // overload would otherwise flood the log it is trying to protect.
                if n.is_multiple_of(1000) {
                    tracing::warn!(dropped_total = n + 1, "event queue full: event dropped");
                }
                false
            }
        }
    }

    pub fn stats(&self) -> &Arc<WriterStats> {
        &self.stats
    }

    /// Rows waiting in the queue.
    pub fn queue_depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }
}

/// The running writer; [`WriterThread::join`] waits until every queued row is written.
#[derive(Debug)]
pub struct WriterThread {
    handle: std::thread::JoinHandle<()>,
}

impl WriterThread {
    /// Waits for the thread to drain its queue and exit. The queue closes when every
    /// [`EventSink`] clone has been dropped.
    pub fn join(self) {
        if self.handle.join().is_err() {
            tracing::error!("event writer thread panicked");
        }
    }
}

/// Starts the writer thread on `conn` with a queue of `capacity` rows.
pub fn spawn_writer(
    conn: Connection,
    capacity: usize,
) -> std::io::Result<(EventSink, WriterThread)> {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let stats = Arc::new(WriterStats::default());
    let thread_stats = stats.clone();
    let handle = std::thread::Builder::new()
        .name("kt-event-writer".into())
        .spawn(move || run(conn, rx, &thread_stats))?;
    Ok((EventSink { tx, stats }, WriterThread { handle }))
}

fn run(mut conn: Connection, mut rx: mpsc::Receiver<Record>, stats: &WriterStats) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(rec) => batch.push(rec),
                Err(_) => break,
            }
        }
        write_with_retry(&mut conn, &batch, stats);
        batch.clear();
    }
    // Fold the WAL back so analysts who copy the file get every row.
    if let Err(e) = conn.pragma_update(None, "wal_checkpoint", "TRUNCATE") {
        tracing::debug!(error = %e, "final WAL checkpoint failed");
    }
}

fn write_with_retry(conn: &mut Connection, batch: &[Record], stats: &WriterStats) {
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=BATCH_ATTEMPTS {
        match write_batch(conn, batch) {
            Ok(()) => {
                stats
                    .written
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                return;
            }
            Err(e) if attempt < BATCH_ATTEMPTS => {
                if attempt == 1 {
                    tracing::warn!(error = %e, rows = batch.len(), "event batch write failed; retrying");
                }
                std::thread::sleep(delay);
                delay *= 2;
            }
            Err(e) => {
                stats
                    .dropped_write_failed
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                tracing::error!(error = %e, rows = batch.len(), "event batch dropped after {BATCH_ATTEMPTS} attempts");
            }
        }
    }
}

fn write_batch(conn: &mut Connection, batch: &[Record]) -> rusqlite::Result<()> {
    // IMMEDIATE takes the write lock up front, so a busy database fails here (and is
    // retried) instead of half way through the batch.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut req = tx.prepare_cached(queries::INSERT_REQUEST.sql)?;
        let mut sh = tx.prepare_cached(queries::INSERT_SHADOW.sql)?;
        for rec in batch {
            match rec {
                Record::Request(r) => r.insert(&mut req)?,
                Record::Shadow(s) => s.insert(&mut sh)?,
            }
        }
    }
    tx.commit()
}
