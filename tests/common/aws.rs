//! Test-side AWS protocol code written by hand from AWS's published descriptions, apart
//! from the crates kt uses, so kt's SigV4 signer and event-stream decoder are checked
//! against a second implementation: a SigV4 verifier for fake Bedrock servers (on hmac +
//! sha2) and an event-stream frame encoder (with its own CRC-32).

use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Recomputes the SigV4 signature of a request as a server received it and compares it
/// with the one in its `Authorization` header (AWS "Create a signed AWS API request":
/// canonical request, string to sign, derived key). `path_as_received` is the raw,
/// still percent-encoded path; as for every AWS service but S3 it is encoded once more
/// for the canonical request. `Err` says what differs, with the canonical request.
#[allow(clippy::too_many_arguments)]
pub fn verify_sigv4(
    method: &str,
    path_as_received: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    access_key: &str,
    secret: &str,
    region: &str,
    service: &str,
) -> Result<(), String> {
    let header = |name: &str| -> Result<&str, String> {
        headers
            .get(name)
            .ok_or(format!("no {name} header"))?
            .to_str()
            .map_err(|_| format!("{name} is not ASCII"))
    };
    let auth = header("authorization")?;
    let amz_date = header("x-amz-date")?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("not an AWS4-HMAC-SHA256 authorization")?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',').map(str::trim) {
        match part.split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => return Err(format!("unexpected authorization part {part:?}")),
        }
    }
    let (credential, signed, signature) = match (credential, signed, signature) {
        (Some(c), Some(s), Some(g)) => (c, s, g),
        _ => return Err("authorization lacks Credential, SignedHeaders or Signature".into()),
    };

    if amz_date.len() != 16 || !amz_date.ends_with('Z') || amz_date.as_bytes()[8] != b'T' {
        return Err(format!("x-amz-date {amz_date:?} is not YYYYMMDDTHHMMSSZ"));
    }
    let date = &amz_date[..8];
    let scope = format!("{date}/{region}/{service}/aws4_request");
    if credential != format!("{access_key}/{scope}") {
        return Err(format!(
            "credential {credential:?}, expected {access_key}/{scope}"
        ));
    }

    let names: Vec<&str> = signed.split(';').collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if names != sorted || names.iter().any(|n| *n != n.to_ascii_lowercase()) {
        return Err(format!(
            "SignedHeaders {signed:?} is not sorted, lowercase, unique"
        ));
    }
    for required in ["host", "x-amz-date"] {
        if !names.contains(&required) {
            return Err(format!("{required} is not signed"));
        }
    }
    if headers.contains_key("x-amz-security-token") && !names.contains(&"x-amz-security-token") {
        return Err("x-amz-security-token is sent but not signed".into());
    }

    let mut canonical_headers = String::new();
    for name in &names {
        let values: Vec<String> = headers
            .get_all(*name)
            .iter()
            .map(|v| v.to_str().map(collapse_spaces))
            .collect::<Result<_, _>>()
            .map_err(|_| format!("{name} is not ASCII"))?;
        if values.is_empty() {
            return Err(format!("signed header {name} was not received"));
        }
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }

    let canonical = format!(
        "{method}\n{}\n{}\n{canonical_headers}\n{signed}\n{}",
        uri_encode(path_as_received, false),
        canonical_query(query.unwrap_or("")),
        hex(&Sha256::digest(body)),
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let expected = hex(&hmac(&key, string_to_sign.as_bytes()));
    if expected == signature {
        Ok(())
    } else {
        Err(format!(
            "signature {signature} != recomputed {expected}\ncanonical request:\n{canonical}"
        ))
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Trims a header value and collapses runs of spaces to one (canonical header values).
fn collapse_spaces(v: &str) -> String {
    v.split(' ')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// AWS's UriEncode: every byte but ALPHA / DIGIT / `-._~` as `%XX` (uppercase); `/` is
/// kept in paths and encoded in query parameters. A `%` already in the text is encoded
/// again, which is the "double encoding" of non-S3 paths.
pub fn uri_encode(text: &str, encode_slash: bool) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        let keep = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        if keep || (b == b'/' && !encode_slash) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Query parameters decoded, re-encoded with [`uri_encode`] and sorted by name then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k), true),
                uri_encode(&percent_decode(v), true),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// CRC-32 (IEEE 802.3 / zlib polynomial, reflected), bit by bit: no table, no crate.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// One event-stream message (total length, headers length, prelude CRC, headers,
/// payload, message CRC; all big-endian), every header a string (type 7).
pub fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut hs = Vec::new();
    for (name, value) in headers {
        hs.push(u8::try_from(name.len()).expect("header name ≤ 255 bytes"));
        hs.extend_from_slice(name.as_bytes());
        hs.push(7);
        hs.extend_from_slice(
            &u16::try_from(value.len())
                .expect("value ≤ 64 KiB")
                .to_be_bytes(),
        );
        hs.extend_from_slice(value.as_bytes());
    }
    let total = u32::try_from(12 + hs.len() + payload.len() + 4).expect("frame ≤ 4 GiB");
    let mut out = Vec::with_capacity(total as usize);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&u32::try_from(hs.len()).unwrap().to_be_bytes());
    let prelude_crc = crc32(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&hs);
    out.extend_from_slice(payload);
    let message_crc = crc32(&out);
    out.extend_from_slice(&message_crc.to_be_bytes());
    out
}

/// A Bedrock ConverseStream event frame: `:message-type event`, JSON payload.
pub fn event_frame(event_type: &str, payload: &str) -> Vec<u8> {
    frame(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.as_bytes(),
    )
}

/// A Bedrock mid-stream exception frame (`{"message": …}` payload).
pub fn exception_frame(exception_type: &str, message: &str) -> Vec<u8> {
    let payload = serde_json::json!({ "message": message }).to_string();
    frame(
        &[
            (":exception-type", exception_type),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        payload.as_bytes(),
    )
}
