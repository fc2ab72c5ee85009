//! Turns hyper's bodiless parse-error responses into OpenAI-shaped errors.
//!
//! A request whose head hyper cannot parse — a header value with a bare CR, an obsolete
//! folded header line, a header line without a colon, a bad request line, more than 100
//! headers, a URI over 64 KiB — never reaches kt's router: hyper answers it by itself and
//! closes the connection (hyper 1.x, `proto/h1/conn.rs` `on_parse_error` writes the head
//! `role.rs` `Server::on_error` chose, with no body). On the wire that is
//!
//! ```text
//! HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: …\r\n\r\n
//! ```
//!
//! with 431 for more than 100 headers or a head over ~400 KB and 414 for a URI that is too
//! long (a bad HTTP version is a 400 too; hyper never sends 505). hyper has no hook for
//! this, so every accepted connection is wrapped in [`Conn`], which recognises that response
//! when it is written and sends in its place the same status with an OpenAI-shaped JSON
//! body (`invalid_request_error`, code `invalid_http_request`), logs the rejection once and
//! records an event row (status `rejected`) like every other answered request.
//!
//! Only a write that is exactly that head is replaced. Should hyper ever put it behind other
//! bytes in one write (a pipelined request whose predecessor's answer was still unflushed),
//! the caller gets hyper's own bodiless answer, with the same status, as before.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, ready};

use axum::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::errors::ApiError;
use super::handlers::{Scan, new_row, record};
use super::live::Live;
use super::state::AppState;
use crate::store::RequestRow;

/// The error code of every answer given in place of hyper's.
const CODE: &str = "invalid_http_request";

/// Longer writes are never hyper's parse-error response (a status line and three short
/// headers).
const MAX_CANNED_LEN: usize = 512;

/// A listener whose connections are [`Conn`]s.
pub struct Listener<L> {
    inner: L,
    /// Records the rejections.
    live: Live,
}

impl<L> Listener<L> {
    pub fn new(inner: L, live: Live) -> Self {
        Self { inner, live }
    }
}

impl<L> axum::serve::Listener for Listener<L>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    type Io = Conn<L::Io>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, peer) = self.inner.accept().await;
        (Conn::new(io, peer, Some(self.live.current())), peer)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// One connection: reads pass through; a write that is exactly hyper's parse-error
/// response is replaced by the OpenAI-shaped one (see the module docs).
pub struct Conn<T> {
    inner: T,
    peer: SocketAddr,
    /// Records the rejection; `None` only in unit tests.
    state: Option<AppState>,
    /// The replacement response and how much of it the socket has taken. hyper was told
    /// its own response was written in full; this is written before anything else.
    owed: Option<(Vec<u8>, usize)>,
}

impl<T> Conn<T> {
    fn new(inner: T, peer: SocketAddr, state: Option<AppState>) -> Self {
        Self {
            inner,
            peer,
            state,
            owed: None,
        }
    }
}

impl<T: AsyncWrite + Unpin> Conn<T> {
    /// Writes what is left of the replacement response.
    fn poll_owed(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.owed {
            if *written >= bytes.len() {
                self.owed = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// If `buf` is hyper's parse-error response, takes it (the replacement is owed from
    /// now on and its writing starts) and returns how many bytes hyper may count as written.
    fn substitute(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Option<Poll<io::Result<usize>>> {
        let canned = Canned::parse(buf)?;
        let message = message(canned.status);
        // Once per rejection, and never with the request's header values.
        tracing::warn!(
            peer = %self.peer,
            status = canned.status.as_u16(),
            "rejected a request whose HTTP head could not be parsed"
        );
        let id = self
            .state
            .as_ref()
            .map(|state| record_rejection(state, canned.status, message));
        self.owed = Some((canned.replacement(message, id.as_deref()), 0));
        // Pending only means the socket is full: hyper goes on to flush, which finishes
        // the replacement, so its buffer counts as written either way.
        Some(match self.poll_owed(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) | Poll::Pending => Poll::Ready(Ok(buf.len())),
        })
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Conn<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Conn<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_owed(cx))?;
        if let Some(done) = this.substitute(cx, buf) {
            return done;
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_owed(cx))?;
        // hyper's response is one buffer (its head buffer) with nothing queued after it.
        let mut filled = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (filled.next(), filled.next())
            && let Some(done) = this.substitute(cx, only)
        {
            return done;
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_owed(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_owed(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// hyper's parse-error response, recognised in one write.
#[derive(Debug, PartialEq, Eq)]
struct Canned<'a> {
    /// `HTTP/1.1` or `HTTP/1.0`, as hyper wrote it.
    version: &'a [u8],
    status: StatusCode,
    /// hyper's `date` header value, kept in the replacement.
    date: Option<&'a [u8]>,
}

impl<'a> Canned<'a> {
    /// `buf` is hyper's parse-error response when it is exactly one response head — a
    /// 4xx/5xx status line, `content-length: 0`, no `content-type` or `transfer-encoding`
    /// — and nothing after it. No response of kt's own looks like that: every error kt
    /// answers (`ApiError`, the 404/405 fallbacks, the panic backstop) carries a JSON body
    /// with its `content-type`, so the match is unambiguous. A write that only continues a
    /// body cannot match either: kt's bodies are JSON and SSE frames of serialised JSON,
    /// which never contain the raw CRLFs of a head.
    fn parse(buf: &'a [u8]) -> Option<Self> {
        // Cheap refusals first: this runs on every write. hyper's head is ~100 bytes.
        if buf.len() > MAX_CANNED_LEN || !buf.starts_with(b"HTTP/1.") {
            return None;
        }
        let head = buf.strip_suffix(b"\r\n\r\n")?;
        let mut lines = head.split(|&b| b == b'\n');
        let status_line = lines.next()?.strip_suffix(b"\r")?;
        let version = status_line.get(..8)?;
        if version != b"HTTP/1.1" && version != b"HTTP/1.0" {
            return None;
        }
        let rest = status_line.get(8..)?;
        let code = rest.get(1..4)?;
        if rest.first() != Some(&b' ') || !code.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let status = StatusCode::from_bytes(code).ok()?;
        if !(status.is_client_error() || status.is_server_error()) {
            return None;
        }
        let (mut empty, mut date) = (false, None);
        for line in lines {
            // Only the head's last line lacks its CR here (the split ate "\r\n\r\n").
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let colon = line.iter().position(|&b| b == b':')?;
            let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
            if name.eq_ignore_ascii_case(b"content-length") {
                if value != b"0" {
                    return None;
                }
                empty = true;
            } else if name.eq_ignore_ascii_case(b"content-type")
                || name.eq_ignore_ascii_case(b"transfer-encoding")
            {
                return None;
            } else if name.eq_ignore_ascii_case(b"date") {
                date = Some(value);
            }
        }
        empty.then_some(Self {
            version,
            status,
            date,
        })
    }

    /// The OpenAI-shaped response sent instead: same version and status, a JSON body,
    /// `connection: close` (hyper closes the connection after a parse error), hyper's date,
    /// and the event id when a row was recorded.
    fn replacement(&self, message: &str, request_id: Option<&str>) -> Vec<u8> {
        let body = error(self.status, message).body().to_string();
        let mut out = Vec::with_capacity(256 + body.len());
        out.extend_from_slice(self.version);
        let reason = self.status.canonical_reason().unwrap_or("Error");
        out.extend_from_slice(format!(" {} {reason}\r\n", self.status.as_str()).as_bytes());
        out.extend_from_slice(b"content-type: application/json\r\n");
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
        out.extend_from_slice(b"connection: close\r\n");
        if let Some(id) = request_id {
            out.extend_from_slice(format!("x-request-id: {id}\r\n").as_bytes());
        }
        if let Some(date) = self.date {
            out.extend_from_slice(b"date: ");
            out.extend_from_slice(date);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body.as_bytes());
        out
    }
}

/// What the caller is told for each status hyper answers a parse error with.
fn message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            "the request's headers are too large or too many; the gateway could not read the request"
        }
        StatusCode::URI_TOO_LONG => {
            "the request's URI is too long; the gateway could not read the request"
        }
        StatusCode::BAD_REQUEST => {
            "malformed HTTP request: the request line or a header line is invalid (for example a header value containing CR or LF, a folded header line, or a header line without a colon)"
        }
        _ => "malformed HTTP request: the gateway could not read the request",
    }
}

/// The error as `ApiError`, for its JSON body and the event's error class.
fn error(status: StatusCode, message: &str) -> ApiError {
    ApiError {
        code: Some(CODE.into()),
        ..ApiError::new(status, "invalid_request_error", message, "bad_request")
    }
}

/// Counts the answer and hands its event row (`rejected`) to the writer; returns the id.
fn record_rejection(state: &AppState, status: StatusCode, message: &str) -> String {
    let err = error(status, message);
    // Nothing of the request was readable: the row has only what the gateway knows.
    let row = RequestRow {
        status: "rejected".into(),
        http_status: err.status.as_u16(),
        error_class: Some(err.class.to_string()),
        error_message: Some(err.message),
        ..new_row(state)
    };
    let id = row.id.clone();
    state.answered.fetch_add(1, Ordering::Relaxed);
    state
        .tracker
        .spawn(record(state.clone(), row, Scan::default()));
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    const HYPER_400: &[u8] = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: Tue, 24 Nov 2026 05:16:36 GMT\r\n\r\n";

    #[test]
    fn recognises_only_hypers_bodiless_error_heads() {
        let c = Canned::parse(HYPER_400).unwrap();
        assert_eq!(c.status, StatusCode::BAD_REQUEST);
        assert_eq!(c.version, b"HTTP/1.1");
        assert_eq!(c.date, Some(&b"Tue, 24 Nov 2026 05:16:36 GMT"[..]));
        let too_large =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            Canned::parse(too_large).unwrap().status,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
        for not in [
            // kt's own errors: a JSON body.
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 97\r\n\r\n",
            // Not an error, or not a bodiless one.
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ntransfer-encoding: chunked\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\n\r\n",
            // Something after the head, or not a whole head.
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
            b"data: HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 4x0 Bad Request\r\ncontent-length: 0\r\n\r\n",
            b"",
        ] {
            assert_eq!(Canned::parse(not), None, "{}", String::from_utf8_lossy(not));
        }
    }

    #[test]
    fn replacement_keeps_status_and_date_and_has_a_json_body() {
        let c = Canned::parse(HYPER_400).unwrap();
        let out = String::from_utf8(c.replacement(message(c.status), Some("id-1"))).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(
            head.contains("\r\ncontent-type: application/json\r\n"),
            "{head}"
        );
        assert!(head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())));
        assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
        assert!(head.contains("\r\nx-request-id: id-1\r\n"), "{head}");
        assert!(
            head.contains("\r\ndate: Tue, 24 Nov 2026 05:16:36 GMT"),
            "{head}"
        );
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["code"], CODE);
        assert!(v["error"]["param"].is_null());
    }

    /// A socket taking at most 3 bytes per write and answering every other call Pending.
    #[derive(Default)]
    struct Trickle {
        written: Vec<u8>,
        calls: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let this = self.get_mut();
            this.calls += 1;
            if this.calls.is_multiple_of(2) {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let n = buf.len().min(3);
            this.written.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn conn() -> Conn<Trickle> {
        Conn::new(Trickle::default(), ([127, 0, 0, 1], 1).into(), None)
    }

    /// Polls `f` until it is ready (the socket's Pending always wakes at once).
    fn block<R>(mut f: impl FnMut(&mut Context<'_>) -> Poll<R>) -> R {
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(r) = f(&mut cx) {
                return r;
            }
        }
    }

    #[test]
    fn partial_writes_deliver_the_whole_replacement() {
        let mut c = conn();
        // hyper is told its whole buffer was written at once...
        let n = block(|cx| Pin::new(&mut c).poll_write(cx, HYPER_400)).unwrap();
        assert_eq!(n, HYPER_400.len());
        // ...and flush and shutdown finish the replacement.
        block(|cx| Pin::new(&mut c).poll_flush(cx)).unwrap();
        block(|cx| Pin::new(&mut c).poll_shutdown(cx)).unwrap();
        let expected = Canned::parse(HYPER_400)
            .unwrap()
            .replacement(message(StatusCode::BAD_REQUEST), None);
        assert_eq!(c.inner.written, expected);
    }

    #[test]
    fn vectored_writes_are_replaced_and_other_writes_pass_through() {
        let mut c = conn();
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        let mut sent = 0;
        while sent < ok.len() {
            sent += block(|cx| Pin::new(&mut c).poll_write(cx, &ok[sent..])).unwrap();
        }
        let slices = [io::IoSlice::new(b""), io::IoSlice::new(HYPER_400)];
        let n = block(|cx| Pin::new(&mut c).poll_write_vectored(cx, &slices)).unwrap();
        assert_eq!(n, HYPER_400.len());
        block(|cx| Pin::new(&mut c).poll_flush(cx)).unwrap();
        let mut expected = ok.to_vec();
        expected.extend(
            Canned::parse(HYPER_400)
                .unwrap()
                .replacement(message(StatusCode::BAD_REQUEST), None),
        );
        assert_eq!(c.inner.written, expected);
    }
}
