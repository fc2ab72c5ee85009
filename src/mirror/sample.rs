//! The sampling draw of a request: random by default, or with `sample_by` a stable hash
//! of a key (a header or a body field), so all requests of one user or conversation are
//! mirrored together or not at all.

use axum::http::HeaderMap;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::config::SampleBy;

/// The request's sampling draw in [0, 1): with `sample_by`, a hash of the key, so every
/// request with the same key gets the same draw; without it, or when the request has no
/// such key (or an empty one), a random draw.
pub fn draw(sample_by: Option<&SampleBy>, headers: &HeaderMap, body: &Map<String, Value>) -> f64 {
    match sample_by.and_then(|by| sample_key(by, headers, body)) {
        Some(key) => key_draw(&key),
        None => fastrand::f64(),
    }
}

/// The sampling key of a request: the header's bytes, or the field's string value (any
/// other JSON value as its compact JSON text). `None` when absent, null or empty.
fn sample_key(by: &SampleBy, headers: &HeaderMap, body: &Map<String, Value>) -> Option<Vec<u8>> {
    let key = match by {
        SampleBy::Header(name) => headers.get(name.as_str())?.as_bytes().to_vec(),
        SampleBy::Field(path) => {
            let (first, rest) = path.split_first()?;
            let mut v = body.get(first)?;
            for segment in rest {
                v = v.get(segment.as_str())?;
            }
            match v {
                Value::Null => return None,
                Value::String(s) => s.as_bytes().to_vec(),
                other => other.to_string().into_bytes(),
            }
        }
    };
    (!key.is_empty()).then_some(key)
}

/// Maps a key to [0, 1): the first 8 bytes of its SHA-256 as a big-endian integer, top
/// 53 bits over 2^53 (every value exactly representable, never 1.0). SHA-256 rather than
/// a fast non-cryptographic hash because keys like `user-1`, `user-2` must still spread
/// evenly, and anyone can reproduce a key's draw with standard tools.
pub fn key_draw(key: &[u8]) -> f64 {
    let digest = Sha256::digest(key);
    let mut top = [0u8; 8];
    top.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(top) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    // Proves the hash draw is pinned (the same key gives the same draw in every version,
    // so a rollout keeps its users) and lies in [0, 1).
    #[test]
    fn key_draw_is_stable_and_in_range() {
        // sha256("user-42") starts 6d894aa3ee802549: its top 53 bits over 2^53, which
        // `python3 -c "import hashlib; d = hashlib.sha256(b'user-42').digest();
        // print((int.from_bytes(d[:8], 'big') >> 11) / 2**53)"` also prints.
        let d = key_draw(b"user-42");
        assert_eq!(d, 0.427_876_153_013_585_7);
        assert_eq!(key_draw(b"user-42"), d);
        assert_ne!(key_draw(b"user-43"), d);
        for i in 0..1_000 {
            let d = key_draw(format!("k{i}").as_bytes());
            assert!((0.0..1.0).contains(&d), "{d}");
        }
    }

    // Proves near-identical keys (`user-0` … `user-9999`) spread evenly: each tenth of
    // [0, 1) gets 1,000 ± 5 sigma of them, so a 0.3 rate picks about 30% of users.
    #[test]
    fn sequential_keys_spread_evenly() {
        let mut buckets = [0u32; 10];
        for i in 0..10_000 {
            let d = key_draw(format!("user-{i}").as_bytes());
            buckets[(d * 10.0) as usize] += 1;
        }
        for (k, n) in buckets.iter().enumerate() {
            assert!((850..=1_150).contains(n), "bucket {k}: {n} of 10000");
        }
    }

    // Proves where the key comes from: a header (case-insensitive), a top-level or dotted
    // field (strings as their text, numbers as JSON), and that absent, null and empty keys
    // fall back to a random draw.
    #[test]
    fn keys_come_from_headers_and_fields() {
        let mut headers = HeaderMap::new();
        headers.insert("x-user-id", "alice".parse().unwrap());
        headers.insert("x-empty", "".parse().unwrap());
        let req = body(json!({
            "model": "m", "user": "alice", "n": 7, "none": null, "blank": "",
            "metadata": {"user_id": "alice", "num": 7}
        }));
        let by_header = SampleBy::Header("x-user-id".into());
        let field = |p: &str| SampleBy::Field(p.split('.').map(String::from).collect());
        let alice = key_draw(b"alice");
        assert_eq!(draw(Some(&by_header), &headers, &req), alice);
        assert_eq!(draw(Some(&field("user")), &headers, &req), alice);
        assert_eq!(
            draw(Some(&field("metadata.user_id")), &headers, &req),
            alice
        );
        assert_eq!(draw(Some(&field("n")), &headers, &req), key_draw(b"7"));
        assert_eq!(
            draw(Some(&field("metadata.num")), &headers, &req),
            key_draw(b"7")
        );
        for missing in [
            SampleBy::Header("x-other".into()),
            SampleBy::Header("x-empty".into()),
            field("nope"),
            field("none"),
            field("blank"),
            field("user.deeper"),
        ] {
            assert_eq!(sample_key(&missing, &headers, &req), None, "{missing:?}");
        }
        // A random draw: 20 in a row equal to each other would be a broken fallback.
        let miss = field("nope");
        let draws: Vec<f64> = (0..20).map(|_| draw(Some(&miss), &headers, &req)).collect();
        assert!(draws.iter().any(|d| *d != draws[0]), "{draws:?}");
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
    }
}
