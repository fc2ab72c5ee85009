//! The writer thread: the only owner of the write connection. Request handlers and
//! shadow tasks hand it rows through a bounded queue without ever waiting; it batches
//! whatever has queued up into one `BEGIN IMMEDIATE` transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::mpsc;

use super::audit_chain::{self, Table};
use super::queries;
use super::rows::{EvaluationRow, PauseRow, RequestRow, ShadowRow};

/// Rows written per transaction at most: large enough to amortise the commit, small
/// enough that a reader never waits long.
const MAX_BATCH: usize = 512;
/// How long a row waits for room in a full queue before it is dropped and counted: long
/// enough to ride out a burst, short enough that background tasks never pile up.
pub const QUEUE_WAIT: Duration = Duration::from_millis(50);
/// Longest pause between retries of a batch the database cannot take right now.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// One row for the writer.
#[derive(Debug)]
pub enum Record {
    Request(Box<RequestRow>),
    Shadow(Box<ShadowRow>),
    /// A spend-guard pause or resume.
    Pause(Box<PauseRow>),
    /// An evaluation of a pair (semantic similarity or judge).
    Evaluation(Box<EvaluationRow>),
    /// Shutdown: write what is queued, then exit; later offers are refused and counted.
    Close,
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
    /// Rows lost because the database refused them, or was still failing at shutdown.
    pub dropped_write_failed: AtomicU64,
    /// Set at shutdown: a failing database is no longer waited for.
    pub closing: std::sync::atomic::AtomicBool,
    /// `requests` rows committed: with `request_rows_dropped`, the accounting identity
    /// "requests answered = request rows written + request rows dropped" (see /healthz).
    pub request_rows_written: AtomicU64,
    /// `requests` rows lost (queue full, refused, or database failing at shutdown).
    pub request_rows_dropped: AtomicU64,
}

/// How many of `recs` are `requests` rows.
fn request_rows<'a>(recs: impl IntoIterator<Item = &'a Record>) -> u64 {
    recs.into_iter()
        .filter(|r| matches!(r, Record::Request(_)))
        .count() as u64
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
    /// Queues a request row. Never blocks a caller: it runs in a background task, waits
    /// at most [`QUEUE_WAIT`] for room, then drops the row and counts it.
    pub async fn request(&self, row: RequestRow) -> bool {
        self.offer(Record::Request(Box::new(row))).await
    }

    /// Queues a shadow row, like [`EventSink::request`].
    pub async fn shadow(&self, row: ShadowRow) -> bool {
        self.offer(Record::Shadow(Box::new(row))).await
    }

    /// Queues a spend-guard pause or resume.
    pub async fn pause(&self, row: PauseRow) -> bool {
        self.offer(Record::Pause(Box::new(row))).await
    }

    /// Queues an evaluation of a pair, like [`EventSink::request`].
    pub async fn evaluation(&self, row: EvaluationRow) -> bool {
        self.offer(Record::Evaluation(Box::new(row))).await
    }

    async fn offer(&self, rec: Record) -> bool {
        let is_request = matches!(rec, Record::Request(_));
        match self.tx.send_timeout(rec, QUEUE_WAIT).await {
            Ok(()) => {
                self.stats.queued.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(_) => {
                let n = self
                    .stats
                    .dropped_queue_full
                    .fetch_add(1, Ordering::Relaxed);
                if is_request {
                    self.stats
                        .request_rows_dropped
                        .fetch_add(1, Ordering::Relaxed);
                }
                // Log the first drop of each thousand, not every one: a full queue under
                // overload would otherwise flood the log it is trying to protect.
                if n.is_multiple_of(1000) {
                    tracing::warn!(
                        dropped_total = n + 1,
                        "event queue full (or closed): event dropped"
                    );
                }
                false
            }
        }
    }

    /// Asks the writer to finish: it closes the queue, writes what is in it and exits.
    /// Waits at most `wait` for room in a full queue.
    pub async fn close(&self, wait: Duration) {
        // From now on the writer stops retrying a failing database once it has tried.
        self.stats.closing.store(true, Ordering::Relaxed);
        if tokio::time::timeout(wait, self.tx.send(Record::Close))
            .await
            .is_err()
        {
            tracing::error!(
                "event queue still full at shutdown; queued rows are written, the close is forced"
            );
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
    // The writer's own lock wait is short: a database held by someone else shows up as a
    // failed attempt, logged once and retried with the batch held, instead of one long
    // silent stall.
    if let Err(e) = conn.busy_timeout(Duration::from_millis(250)) {
        tracing::warn!(error = %e, "cannot set the writer's busy timeout");
    }
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
        let mut closing = matches!(first, Record::Close);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(rec) => {
                    closing |= matches!(rec, Record::Close);
                    batch.push(rec);
                }
                Err(_) => break,
            }
        }
        if closing {
            // Refuse new rows from now on (they count as dropped) and take what is left.
            rx.close();
            while let Ok(rec) = rx.try_recv() {
                batch.push(rec);
            }
        }
        write_with_retry(&mut conn, &batch, stats);
        batch.clear();
        if closing {
            break;
        }
    }
    // Fold the WAL back so analysts who copy the file get every row.
    if let Err(e) = conn.pragma_update(None, "wal_checkpoint", "TRUNCATE") {
        tracing::debug!(error = %e, "final WAL checkpoint failed");
    }
}

fn write_with_retry(conn: &mut Connection, batch: &[Record], stats: &WriterStats) {
    let rows = batch.iter().filter(|r| !matches!(r, Record::Close)).count() as u64;
    let mut delay = Duration::from_millis(20);
    let mut failing_since: Option<std::time::Instant> = None;
    loop {
        let err = match write_batch(conn, batch) {
            Ok(()) => {
                stats.written.fetch_add(rows, Ordering::Relaxed);
                stats
                    .request_rows_written
                    .fetch_add(request_rows(batch), Ordering::Relaxed);
                if let Some(since) = failing_since {
                    tracing::warn!(
                        "event writes recovered after {:.1} s; no row of the held batch was lost",
                        since.elapsed().as_secs_f64()
                    );
                }
                return;
            }
            Err(e) => e,
        };
        if !is_transient(&err) {
            // A row the database refuses (a constraint, a value out of range) must not
            // take the rest of the batch with it: write row by row, dropping only it.
            write_rows_one_by_one(conn, batch, stats);
            return;
        }
        if stats.closing.load(Ordering::Relaxed) && failing_since.is_some() {
            stats
                .dropped_write_failed
                .fetch_add(rows, Ordering::Relaxed);
            stats
                .request_rows_dropped
                .fetch_add(request_rows(batch), Ordering::Relaxed);
            tracing::error!(error = %err, rows, "event batch dropped: the database was still failing at shutdown");
            return;
        }
        // Locked by an analyst, disk full, read-only: hold the batch and retry until the
        // cause goes away. New rows wait in the bounded queue meanwhile (and are dropped,
        // counted, once it is full); callers are answered throughout. One log line per
        // burst, not per attempt.
        if failing_since.is_none() {
            failing_since = Some(std::time::Instant::now());
            tracing::error!(error = %err, rows, "event writes failing; holding the batch and retrying (callers are still answered)");
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(MAX_BACKOFF);
    }
}

/// Busy, locked, full, read-only or I/O errors may pass; anything else is about the rows
/// themselves.
fn is_transient(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::*;
    matches!(
        e.sqlite_error_code(),
        Some(
            DatabaseBusy
                | DatabaseLocked
                | DiskFull
                | SystemIoFailure
                | CannotOpen
                | OutOfMemory
                | ReadOnly
        )
    )
}

/// The fallback after a non-transient failure: one transaction, one savepoint per row.
fn write_rows_one_by_one(conn: &mut Connection, batch: &[Record], stats: &WriterStats) {
    // (rows written, rows refused, request rows written, request rows refused); applied to
    // the counters only once the transaction has committed.
    let result = (|| -> rusqlite::Result<[u64; 4]> {
        let mut tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut n = [0u64; 4];
        let mut head = audit_chain::Head::default();
        for rec in batch.iter().filter(|r| !matches!(r, Record::Close)) {
            let sp = tx.savepoint()?;
            match insert(&sp, &mut head, rec) {
                Ok(()) => {
                    sp.commit()?;
                    n[0] += 1;
                    n[2] += request_rows([rec]);
                }
                Err(e) => {
                    // Dropping the savepoint rolls back just this row.
                    n[1] += 1;
                    n[3] += request_rows([rec]);
                    tracing::error!(error = %e, id = rec.id(), "event row refused by the database; dropped");
                }
            }
        }
        tx.commit()?;
        Ok(n)
    })();
    match result {
        Ok([written, refused, req_written, req_refused]) => {
            stats.written.fetch_add(written, Ordering::Relaxed);
            stats
                .dropped_write_failed
                .fetch_add(refused, Ordering::Relaxed);
            stats
                .request_rows_written
                .fetch_add(req_written, Ordering::Relaxed);
            stats
                .request_rows_dropped
                .fetch_add(req_refused, Ordering::Relaxed);
        }
        Err(e) => {
            let rows = batch.iter().filter(|r| !matches!(r, Record::Close)).count() as u64;
            stats
                .dropped_write_failed
                .fetch_add(rows, Ordering::Relaxed);
            stats
                .request_rows_dropped
                .fetch_add(request_rows(batch), Ordering::Relaxed);
            tracing::error!(error = %e, rows, "event batch dropped");
        }
    }
}

fn write_batch(conn: &mut Connection, batch: &[Record]) -> rusqlite::Result<()> {
    // IMMEDIATE takes the write lock up front, so a busy database fails here (and is
    // retried) instead of half way through the batch.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut head = audit_chain::Head::default();
    for rec in batch {
        insert(&tx, &mut head, rec)?;
    }
    tx.commit()
}

/// Inserts one row and its audit-chain entry (same transaction: both or neither).
fn insert(conn: &Connection, head: &mut audit_chain::Head, rec: &Record) -> rusqlite::Result<()> {
    let table = match rec {
        Record::Request(r) => {
            r.insert(&mut conn.prepare_cached(queries::INSERT_REQUEST.sql)?)?;
            Table::Requests
        }
        Record::Shadow(s) => {
            s.insert(&mut conn.prepare_cached(queries::INSERT_SHADOW.sql)?)?;
            Table::ShadowResults
        }
        // Pauses are the guard's own log, not events: not in the audit chain.
        Record::Pause(p) => {
            return p.insert(&mut conn.prepare_cached(queries::INSERT_MIRROR_PAUSE.sql)?);
        }
        // Evaluations are derived opinions about a pair (they can be recomputed), not
        // events: not in the audit chain either.
        Record::Evaluation(e) => {
            return e.insert(&mut conn.prepare_cached(queries::INSERT_EVALUATION.sql)?);
        }
        Record::Close => return Ok(()),
    };
    // OR IGNORE inserts may write nothing; only a written row gets an entry.
    if conn.changes() > 0 {
        let rowid = conn.last_insert_rowid();
        if let Record::Request(r) = rec
            && !r.extra_shadows.is_empty()
        {
            r.insert_extra_shadows(
                &mut conn.prepare_cached(queries::INSERT_REQUEST_EXTRA_SHADOW.sql)?,
            )?;
        }
        audit_chain::append(conn, head, table, rowid)?;
    }
    Ok(())
}

impl Record {
    /// The event id the row belongs to, for logs.
    fn id(&self) -> &str {
        match self {
            Record::Request(r) => &r.id,
            Record::Shadow(s) => &s.request_id,
            Record::Pause(p) => &p.shadow_target,
            Record::Evaluation(e) => &e.request_id,
            Record::Close => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: &str) -> Record {
        Record::Request(Box::new(RequestRow {
            id: id.into(),
            ts: "t".into(),
            target: "p".into(),
            provider: "openai".into(),
            status: "success".into(),
            mirror_state: "disabled".into(),
            policy_findings: "[]".into(),
            ..RequestRow::default()
        }))
    }

    // Regression (review B1): one row the database refuses (here a duplicate id) used to
    // drop its whole batch, losing other callers' events; now only that row is dropped.
    #[test]
    fn a_refused_row_does_not_sink_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open(&dir.path().join("w.db")).unwrap();
        let stats = WriterStats::default();
        let batch = vec![
            request("a"),
            request("b"),
            request("a"),
            request("c"),
            Record::Close,
        ];
        write_with_retry(&mut conn, &batch, &stats);
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM requests", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 3);
        assert_eq!(stats.written.load(Ordering::Relaxed), 3);
        assert_eq!(stats.dropped_write_failed.load(Ordering::Relaxed), 1);
        // The accounting identity holds per kind: 4 request rows = 3 written + 1 dropped.
        assert_eq!(stats.request_rows_written.load(Ordering::Relaxed), 3);
        assert_eq!(stats.request_rows_dropped.load(Ordering::Relaxed), 1);
    }

    // The chain head is carried in memory within a transaction: batches written on the
    // fast path, then on the one-by-one path with a refused row in the middle, must still
    // link every entry to the one before (`kt audit verify` walks the links).
    #[test]
    fn batches_keep_the_audit_chain_linked() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open(&dir.path().join("w.db")).unwrap();
        let stats = WriterStats::default();
        write_with_retry(
            &mut conn,
            &[request("a"), request("b"), request("c")],
            &stats,
        );
        write_with_retry(
            &mut conn,
            &[request("d"), request("a"), request("e"), Record::Close],
            &stats,
        );
        write_with_retry(&mut conn, &[request("f")], &stats);
        let v = crate::store::audit_chain::verify(&conn).unwrap();
        assert!(v.ok(), "{:?}", v.problems);
        assert_eq!(v.entries, 6);
        assert_eq!(stats.written.load(Ordering::Relaxed), 6);
    }

    // Proves the writer drains the queue on close and refuses rows offered afterwards.
    #[tokio::test]
    async fn close_flushes_and_refuses_later_rows() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("w.db")).unwrap();
        let (sink, thread) = spawn_writer(conn, 16).unwrap();
        let RequestRowHolder(r) = RequestRowHolder::new("x");
        assert!(sink.request(r).await);
        sink.close(Duration::from_secs(1)).await;
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .unwrap();
        let RequestRowHolder(late) = RequestRowHolder::new("late");
        assert!(!sink.request(late).await);
        assert_eq!(sink.stats().written.load(Ordering::Relaxed), 1);
        assert_eq!(sink.stats().dropped(), 1);
    }

    struct RequestRowHolder(RequestRow);
    impl RequestRowHolder {
        fn new(id: &str) -> Self {
            match request(id) {
                Record::Request(r) => Self(*r),
                _ => unreachable!(),
            }
        }
    }

    fn big_request(id: usize) -> RequestRow {
        match request(&format!("r{id}")) {
            Record::Request(mut r) => {
                r.response_text = Some("x".repeat(2048));
                *r
            }
            _ => unreachable!(),
        }
    }

    fn count(path: &std::path::Path) -> i64 {
        let c = rusqlite::Connection::open(path).unwrap();
        c.query_row("SELECT COUNT(*) FROM requests", [], |r| r.get(0))
            .unwrap()
    }

    // Proves a database locked by someone else (an analyst's write transaction) delays
    // rows but loses none: the writer holds the batch, retries, and resumes.
    #[tokio::test(flavor = "multi_thread")]
    async fn locked_database_delays_but_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let (sink, thread) = spawn_writer(crate::store::open(&path).unwrap(), 1024).unwrap();
        let analyst = rusqlite::Connection::open(&path).unwrap();
        analyst.execute_batch("BEGIN IMMEDIATE").unwrap();
        for i in 0..50 {
            assert!(sink.request(big_request(i)).await);
        }
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(
            sink.stats().written.load(Ordering::Relaxed),
            0,
            "nothing can be written while locked"
        );
        analyst.execute_batch("COMMIT").unwrap();
        sink.close(Duration::from_secs(1)).await;
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .unwrap();
        assert_eq!(count(&path), 50);
        assert_eq!(sink.stats().dropped(), 0);
    }

    // Proves "database full" (SQLITE_FULL, simulated with max_page_count) is classed as a
    // condition to wait out, not a bad row to drop.
    #[test]
    fn a_full_database_is_transient() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("w.db")).unwrap();
        let pages: i64 = conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        conn.pragma_update(None, "max_page_count", pages + 2)
            .unwrap();
        let mut err = None;
        for i in 0..100 {
            let r = big_request(i);
            if let Err(e) = r.insert(&mut conn.prepare_cached(queries::INSERT_REQUEST.sql).unwrap())
            {
                err = Some(e);
                break;
            }
        }
        let err = err.expect("the database never filled up");
        assert!(is_transient(&err), "{err:?}");
    }

    // Proves the WAL stays bounded while an analyst's session is open on the file (idle
    // between queries, as a sqlite3 shell is) and 20 MB of rows are written.
    #[tokio::test(flavor = "multi_thread")]
    async fn wal_stays_bounded_with_an_open_reader() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let (sink, thread) = spawn_writer(crate::store::open(&path).unwrap(), 20_000).unwrap();
        let reader = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let wal = dir.path().join("w.db-wal");
        let mut largest = 0;
        for i in 0..10_000 {
            assert!(sink.request(big_request(i)).await);
            if i % 1000 == 999 {
                // The analyst runs a query now and then.
                let _: i64 = reader
                    .query_row("SELECT COUNT(*) FROM requests", [], |r| r.get(0))
                    .unwrap();
                largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
            }
        }
        assert!(
            largest < 2 * crate::store::WAL_SIZE_LIMIT as u64,
            "WAL grew to {largest} bytes"
        );

        // A reader that holds a snapshot pins the WAL, which must then grow; once it lets
        // go, the next checkpoint cuts the file back (journal_size_limit).
        reader.execute_batch("BEGIN").unwrap();
        let _: i64 = reader
            .query_row("SELECT COUNT(*) FROM requests", [], |r| r.get(0))
            .unwrap();
        for i in 10_000..20_000 {
            assert!(sink.request(big_request(i)).await);
        }
        let pinned = wait_for_wal(&wal, |n| n > crate::store::WAL_SIZE_LIMIT as u64).await;
        reader.execute_batch("COMMIT").unwrap();
        for i in 20_000..23_000 {
            assert!(sink.request(big_request(i)).await);
        }
        let after = wait_for_wal(&wal, |n| n <= crate::store::WAL_SIZE_LIMIT as u64).await;
        assert!(pinned > after, "pinned {pinned}, after {after}");
        sink.close(Duration::from_secs(5)).await;
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .unwrap();
        assert_eq!(count(&path), 23_000);
    }

    /// Polls the WAL size until `ok` holds (the writer works in the background), up to 10 s.
    async fn wait_for_wal(wal: &std::path::Path, ok: impl Fn(u64) -> bool) -> u64 {
        let mut size = 0;
        for _ in 0..200 {
            size = std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0);
            if ok(size) {
                return size;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("WAL size condition never held (last {size} bytes)");
    }
}
