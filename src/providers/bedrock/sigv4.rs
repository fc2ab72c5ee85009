//! AWS Signature Version 4 for Bedrock Runtime: credentials from the environment, the
//! `/model/{modelId}/converse` path, and request signing with aws-sigv4 configured as the
//! AWS SDK for Rust signs Bedrock (provider-apis-more.md §2.2, §2.3).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::providers::UpstreamError;

/// Bedrock Runtime's SigV4 signing name (its endpoint prefix is `bedrock-runtime`).
pub const SIGNING_NAME: &str = "bedrock";

/// A secret string whose `Debug` never shows the value, so it cannot reach a log by accident.
#[derive(Clone)]
struct Redacted(String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// An AWS access key pair, with the session token of temporary (STS) credentials.
/// `Debug` shows the access key id (it identifies, it does not authenticate) and
/// redacts the secret key and the token.
#[derive(Clone, Debug)]
pub struct AwsCredentials {
    access_key_id: String,
    secret_access_key: Redacted,
    session_token: Option<Redacted>,
}

impl AwsCredentials {
    /// Credentials from their parts; an empty session token counts as none.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: Redacted(secret_access_key.into()),
            session_token: session_token.filter(|t| !t.is_empty()).map(Redacted),
        }
    }

    /// Reads `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and the optional
    /// `AWS_SESSION_TOKEN`, as the AWS SDKs' environment provider does: a variable set to
    /// the empty string counts as unset.
    pub fn from_env() -> Result<Self, UpstreamError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Self::from_env`] over any variable lookup (tests pass a map instead of mutating
    /// the process environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, UpstreamError> {
        let var = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let required = |name: &'static str| {
            var(name).ok_or_else(|| UpstreamError::MissingKey(name.to_string()))
        };
        let access_key_id = required("AWS_ACCESS_KEY_ID")?;
        let secret = required("AWS_SECRET_ACCESS_KEY")?;
        Ok(Self::new(access_key_id, secret, var("AWS_SESSION_TOKEN")))
    }

    /// The access key id (`AKIA…` or `ASIA…`): public, it names the key in the signature.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// True for temporary credentials, whose requests carry `x-amz-security-token`.
    pub fn has_session_token(&self) -> bool {
        self.session_token.is_some()
    }

    /// The secret values, for redacting them from upstream error text.
    pub fn secrets(&self) -> Vec<&str> {
        let mut out = vec![self.secret_access_key.0.as_str()];
        out.extend(self.session_token.as_ref().map(|t| t.0.as_str()));
        out
    }
}

/// A model id (`anthropic.claude-sonnet-4-20250514-v1:0`, an inference-profile id or an
/// ARN) as one path segment: every byte but ALPHA / DIGIT / `-._~` percent-encoded, as
/// the AWS SDKs encode an `httpLabel` (botocore `percent_encode`, smithy-rs `label`), so
/// `:` is sent as `%3A` and an ARN's `/` as `%2F`.
pub fn model_path(model_id: &str) -> String {
    let mut out = String::with_capacity(model_id.len() + 8);
    for b in model_id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The Converse path for a model: `/model/{enc}/converse`, or `/converse-stream` for
/// ConverseStream.
pub fn converse_path(model_id: &str, stream: bool) -> String {
    let op = if stream {
        "converse-stream"
    } else {
        "converse"
    };
    format!("/model/{}/{op}", model_path(model_id))
}

/// The CountTokens path for a model: `/model/{enc}/count-tokens`.
pub fn count_tokens_path(model_id: &str) -> String {
    format!("/model/{}/count-tokens", model_path(model_id))
}

/// Signs a Bedrock request in place: adds `x-amz-date`, `authorization` and, with a
/// session token, `x-amz-security-token` (the last two marked sensitive). Every header
/// already in `headers` is signed except those the SDK leaves out (`user-agent`,
/// `x-amzn-trace-id`, `transfer-encoding`); `host` is taken from `url`.
///
/// `url` is the URL as it will be sent, path already encoded by [`converse_path`]. Like
/// the SDK, the signer encodes that path once more for the canonical request (`%3A`
/// becomes `%253A`), which is what Bedrock (like every AWS service but S3) verifies.
/// No `x-amz-content-sha256` is sent: only S3 wants it; the body hash still goes into
/// the canonical request.
pub fn sign(
    creds: &AwsCredentials,
    region: &str,
    method: &str,
    url: &str,
    headers: &mut HeaderMap,
    body: &[u8],
    time: SystemTime,
) -> Result<(), UpstreamError> {
    sign_for(
        creds,
        region,
        SIGNING_NAME,
        method,
        url,
        headers,
        body,
        time,
    )
}

/// [`sign`] for any signing name (the AWS test-suite vectors use `service`).
#[allow(clippy::too_many_arguments)]
fn sign_for(
    creds: &AwsCredentials,
    region: &str,
    service: &str,
    method: &str,
    url: &str,
    headers: &mut HeaderMap,
    body: &[u8],
    time: SystemTime,
) -> Result<(), UpstreamError> {
    let err =
        |what: &str| UpstreamError::Config(format!("cannot sign the Bedrock request: {what}"));
    // aws-sigv4 panics on a URL without a host and on dates it cannot format; check both
    // here. Signing the URL as the url crate serializes it signs what reqwest sends.
    let parsed = url::Url::parse(url).map_err(|e| err(&format!("invalid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(err("the URL needs an http(s) scheme and a host"));
    }
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| err("clock before 1970"))?;
    if secs >= Duration::from_secs(253_402_300_800) {
        return Err(err("clock after year 9999"));
    }
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(err("the region must be letters, digits and `-`"));
    }
    // A previous signature's headers must not be signed into the new one.
    for name in [
        "authorization",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-content-sha256",
    ] {
        headers.remove(name);
    }
    // The token goes into a header: check it here so the error names no value.
    if let Some(t) = &creds.session_token
        && HeaderValue::from_str(&t.0).is_err()
    {
        return Err(err(
            "AWS_SESSION_TOKEN holds characters a header cannot carry",
        ));
    }
    let mut pairs = Vec::with_capacity(headers.len());
    for (name, value) in headers.iter() {
        let value = value
            .to_str()
            .map_err(|_| err(&format!("header `{name}` is not visible ASCII")))?;
        pairs.push((name.as_str(), value));
    }

    let identity = Credentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key.0.clone(),
        creds.session_token.as_ref().map(|t| t.0.clone()),
        None,
        "kt-environment",
    )
    .into();
    // The defaults are the SDK's for every service but S3: double-encoded, normalized
    // path; no x-amz-content-sha256; session token signed.
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| err(&e.to_string()))?
        .into();
    let request = SignableRequest::new(
        method,
        parsed.as_str(),
        pairs.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| err(&e.to_string()))?;
    let (instructions, _signature) = aws_sigv4::http_request::sign(request, &params)
        .map_err(|e| err(&e.to_string()))?
        .into_parts();
    let (new_headers, _query) = instructions.into_parts();
    for h in new_headers {
        let name = HeaderName::from_bytes(h.name().as_bytes())
            .map_err(|_| err("the signer produced an invalid header name"))?;
        let mut value = HeaderValue::from_str(h.value())
            .map_err(|_| err("the signer produced an invalid header value"))?;
        // The signer flags the token; the signature is a credential too (replayable
        // for minutes), so keep it out of Debug output as well.
        value.set_sensitive(h.sensitive() || name == reqwest::header::AUTHORIZATION);
        headers.insert(name, value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AKID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    /// 2015-08-30T12:36:00Z, the AWS SigV4 test suite's clock.
    fn suite_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    }

    /// 2026-01-15T10:20:30Z, the clock of the botocore vectors below.
    fn botocore_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_768_472_430)
    }

    fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
        h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    // Proves the signer reproduces the AWS SigV4 test suite's `post-vanilla` signature.
    #[test]
    fn aws_test_suite_post_vanilla() {
        let creds = AwsCredentials::new(AKID, SECRET, None);
        let mut h = HeaderMap::new();
        let url = "https://example.amazonaws.com/";
        sign_for(
            &creds,
            "us-east-1",
            "service",
            "POST",
            url,
            &mut h,
            b"",
            suite_time(),
        )
        .unwrap();
        assert_eq!(header(&h, "x-amz-date"), "20150830T123600Z");
        assert_eq!(
            header(&h, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        );
        assert!(h.get("x-amz-security-token").is_none());
        assert!(h.get("x-amz-content-sha256").is_none());
    }

    // Proves the suite's `get-vanilla-with-session-token` vector: the token is sent and signed.
    #[test]
    fn aws_test_suite_session_token() {
        let token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
        let creds = AwsCredentials::new(AKID, SECRET, Some(token.into()));
        let mut h = HeaderMap::new();
        let url = "https://example.amazonaws.com/";
        sign_for(
            &creds,
            "us-east-1",
            "service",
            "GET",
            url,
            &mut h,
            b"",
            suite_time(),
        )
        .unwrap();
        assert_eq!(header(&h, "x-amz-security-token"), token);
        assert!(header(&h, "authorization").ends_with(
            "SignedHeaders=host;x-amz-date;x-amz-security-token, \
             Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"
        ));
    }

    const BODY: &[u8] = br#"{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}"#;

    fn botocore_signed(creds: &AwsCredentials, model: &str, stream: bool) -> HeaderMap {
        let url = format!(
            "https://bedrock-runtime.us-east-1.amazonaws.com{}",
            converse_path(model, stream)
        );
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        sign(
            creds,
            "us-east-1",
            "POST",
            &url,
            &mut h,
            BODY,
            botocore_time(),
        )
        .unwrap();
        h
    }

    // Proves a Bedrock request for a model id with `:` signs exactly as botocore 1.43's
    // SigV4Auth does (canonical path `…-v1%253A0/converse`: the wire path encoded again).
    #[test]
    fn matches_botocore_for_a_colon_model_id() {
        let creds = AwsCredentials::new(AKID, SECRET, None);
        let h = botocore_signed(&creds, "anthropic.claude-sonnet-4-20250514-v1:0", false);
        assert_eq!(
            header(&h, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260115/us-east-1/bedrock/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=2601a5afd5b651b6ffcdc3566eb9685e00e51d997875b71887c42e0c7dc5666e"
        );
        assert_eq!(header(&h, "x-amz-date"), "20260115T102030Z");
        assert!(h.get("x-amz-content-sha256").is_none());
    }

    // Proves an inference-profile ARN (`:` and `/`) with a session token on ConverseStream
    // signs as botocore does, and the secret-carrying headers are marked sensitive.
    #[test]
    fn matches_botocore_for_an_arn_with_session_token() {
        let token = "FQoGZXIvYXdzEXAMPLETOKEN//////////wEaDExample+Token/Value==";
        let creds = AwsCredentials::new(AKID, SECRET, Some(token.into()));
        let arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/\
                   us.anthropic.claude-sonnet-4-20250514-v1:0";
        let h = botocore_signed(&creds, arn, true);
        assert_eq!(
            header(&h, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260115/us-east-1/bedrock/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, \
             Signature=354f92ad3f146d21617ec44cf7d0a5d8510324aeffebf3421f46b74833e3dd8a"
        );
        assert_eq!(header(&h, "x-amz-security-token"), token);
        assert!(h["x-amz-security-token"].is_sensitive());
        assert!(h["authorization"].is_sensitive());
        assert!(!format!("{h:?}").contains(token));
    }

    // Proves re-signing replaces the old signature headers instead of signing them.
    #[test]
    fn resigning_replaces_old_headers() {
        let creds = AwsCredentials::new(AKID, SECRET, None);
        let mut h = botocore_signed(&creds, "m:0", false);
        let url = format!(
            "https://bedrock-runtime.us-east-1.amazonaws.com{}",
            converse_path("anthropic.claude-sonnet-4-20250514-v1:0", false)
        );
        sign(
            &creds,
            "us-east-1",
            "POST",
            &url,
            &mut h,
            BODY,
            botocore_time(),
        )
        .unwrap();
        assert_eq!(h.get_all("authorization").iter().count(), 1);
        assert!(
            header(&h, "authorization")
                .ends_with("2601a5afd5b651b6ffcdc3566eb9685e00e51d997875b71887c42e0c7dc5666e")
        );
    }

    // Proves the model id is one path segment encoded as the SDKs encode an httpLabel.
    #[test]
    fn model_ids_are_encoded_as_one_segment() {
        assert_eq!(
            model_path("anthropic.claude-3-5-sonnet-20240620-v1:0"),
            "anthropic.claude-3-5-sonnet-20240620-v1%3A0"
        );
        assert_eq!(
            model_path("arn:aws:bedrock:us-east-1:1:inference-profile/us.a-b_c~d"),
            "arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.a-b_c~d"
        );
        assert_eq!(model_path("a b%é+"), "a%20b%25%C3%A9%2B");
        assert_eq!(converse_path("m:1", true), "/model/m%3A1/converse-stream");
        assert_eq!(converse_path("m", false), "/model/m/converse");
    }

    // Proves bad input is a typed error, never a panic inside aws-sigv4.
    #[test]
    fn bad_input_is_an_error() {
        let creds = AwsCredentials::new(AKID, SECRET, None);
        let mut h = HeaderMap::new();
        let t = botocore_time();
        for url in ["not a url", "/model/m/converse", "file:///x", "mailto:a@b"] {
            assert!(matches!(
                sign(&creds, "us-east-1", "POST", url, &mut h, b"", t),
                Err(UpstreamError::Config(_))
            ));
        }
        let url = "https://h.example/";
        let far = UNIX_EPOCH + Duration::from_secs(300_000_000_000);
        assert!(sign(&creds, "us-east-1", "POST", url, &mut h, b"", far).is_err());
        assert!(sign(&creds, "us east", "POST", url, &mut h, b"", t).is_err());
        let bad_token = AwsCredentials::new(AKID, SECRET, Some("tok\nen-secret".into()));
        let e = sign(&bad_token, "us-east-1", "POST", url, &mut h, b"", t).unwrap_err();
        assert!(!e.to_string().contains("en-secret"));
    }

    // Proves Debug shows the key id but neither the secret key nor the session token.
    #[test]
    fn debug_redacts_secrets() {
        let creds =
            AwsCredentials::new("AKIAEXAMPLEID", "very-secret-key", Some("sess-tok".into()));
        let shown = format!("{creds:?} {creds:#?}");
        assert!(shown.contains("AKIAEXAMPLEID"));
        assert!(!shown.contains("very-secret-key"));
        assert!(!shown.contains("sess-tok"));
        assert!(shown.contains("REDACTED"));
    }

    // Proves the environment is read as the SDKs read it: empty counts as unset, and a
    // missing variable is named in the error.
    #[test]
    fn credentials_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let c = AwsCredentials::from_lookup(env(&[
            ("AWS_ACCESS_KEY_ID", "AKIA1"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_SESSION_TOKEN", ""),
        ]))
        .unwrap();
        assert_eq!(c.access_key_id(), "AKIA1");
        assert!(!c.has_session_token());
        let c = AwsCredentials::from_lookup(env(&[
            ("AWS_ACCESS_KEY_ID", "AKIA1"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_SESSION_TOKEN", "t"),
        ]))
        .unwrap();
        assert!(c.has_session_token());
        assert_eq!(c.secrets(), vec!["s", "t"]);
        let missing = |pairs| match AwsCredentials::from_lookup(env(pairs)) {
            Err(UpstreamError::MissingKey(name)) => name,
            other => panic!("expected MissingKey, got {other:?}"),
        };
        assert_eq!(
            missing(&[("AWS_SECRET_ACCESS_KEY", "s")]),
            "AWS_ACCESS_KEY_ID"
        );
        assert_eq!(
            missing(&[
                ("AWS_ACCESS_KEY_ID", "AKIA1"),
                ("AWS_SECRET_ACCESS_KEY", "")
            ]),
            "AWS_SECRET_ACCESS_KEY"
        );
    }
}
