//! The HTTP plumbing every provider shares: one deadline per call, bodies read with a size
//! cap, transport errors described without secrets, and sensitive header values.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};

use super::UpstreamError;

/// The largest upstream answer kt reads: far above any real completion, far below what
/// would hurt the gateway if a broken upstream kept sending.
const MAX_UPSTREAM_BODY: usize = 64 * 1024 * 1024;

/// Sends a prepared request and waits for the status and headers (not the body).
pub async fn start(
    req: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<reqwest::Response, UpstreamError> {
    match tokio::time::timeout(timeout, req.send()).await {
        Ok(r) => r.map_err(|e| transport_error(&e, timeout)),
        Err(_) => Err(UpstreamError::Timeout(millis(timeout))),
    }
}

/// Sends a request and reads the whole answer under one deadline, so a trickling upstream
/// cannot hold a request longer than its timeout.
pub async fn exchange(
    req: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<(u16, HeaderMap, bytes::Bytes), UpstreamError> {
    let call = async {
        let resp = req.send().await.map_err(|e| transport_error(&e, timeout))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = read_capped(resp, timeout).await?;
        Ok((status, headers, bytes))
    };
    match tokio::time::timeout(timeout, call).await {
        Ok(r) => r,
        Err(_) => Err(UpstreamError::Timeout(millis(timeout))),
    }
}

/// Reads a whole response body within `timeout`.
pub async fn read(
    resp: reqwest::Response,
    timeout: Duration,
) -> Result<(u16, HeaderMap, bytes::Bytes), UpstreamError> {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    match tokio::time::timeout(timeout, read_capped(resp, timeout)).await {
        Ok(r) => r.map(|bytes| (status, headers, bytes)),
        Err(_) => Err(UpstreamError::Timeout(millis(timeout))),
    }
}

/// Reads a whole body, refusing one larger than [`MAX_UPSTREAM_BODY`].
async fn read_capped(
    mut resp: reqwest::Response,
    timeout: Duration,
) -> Result<bytes::Bytes, UpstreamError> {
    let too_big = || {
        UpstreamError::InvalidResponse(format!(
            "the answer is larger than {MAX_UPSTREAM_BODY} bytes"
        ))
    };
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_UPSTREAM_BODY as u64)
    {
        return Err(too_big());
    }
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| transport_error(&e, timeout))?
    {
        if buf.len() + chunk.len() > MAX_UPSTREAM_BODY {
            return Err(too_big());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// A header value carrying a secret: marked sensitive so no debug output shows it.
pub fn sensitive(v: &str) -> Result<HeaderValue, UpstreamError> {
    let mut hv = HeaderValue::from_str(v).map_err(|_| {
        UpstreamError::Config(
            "the API key contains characters not allowed in an HTTP header (a trailing newline?)"
                .into(),
        )
    })?;
    hv.set_sensitive(true);
    Ok(hv)
}

fn transport_error(e: &reqwest::Error, timeout: Duration) -> UpstreamError {
    // kt sets no reqwest-level request timeout (tokio enforces the target's), so a reqwest
    // timeout is the connect timeout: the host is unreachable, not slow to answer.
    if e.is_timeout() {
        return UpstreamError::Connect(format!(
            "connecting timed out (the whole call was allowed {} ms)",
            millis(timeout)
        ));
    }
    // reqwest's Display includes the URL but never headers, so no key can leak here.
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    UpstreamError::Connect(msg)
}

/// The `retry-after` header, forwarded to callers on 429/503.
pub fn retry_after(h: &HeaderMap) -> Option<String> {
    h.get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A duration in whole milliseconds, saturating.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
