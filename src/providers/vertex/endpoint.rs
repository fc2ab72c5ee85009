//! Vertex AI URLs (provider-apis-more.md §4.1 and §4.3): the host serving a location, and the
//! method path of a Gemini model (`publishers/google`, `:generateContent`) or an Anthropic
//! Claude model (`publishers/anthropic`, `:rawPredict`).

/// The API version kt calls: `v1` is the GA surface (python-genai defaults to `v1beta1`).
const API_VERSION: &str = "v1";

/// The base URL (scheme and host, no trailing slash) serving `location`:
/// `https://{location}-aiplatform.googleapis.com` for a region such as `us-central1`,
/// `https://aiplatform.googleapis.com` for `global`, and
/// `https://aiplatform.{us|eu}.rep.googleapis.com` for the multi-regions `us` and `eu`
/// (which have no `{location}-aiplatform` host). Check untrusted values with
/// [`valid_location`] first: the location becomes part of the host name.
pub fn host(location: &str) -> String {
    match location {
        "global" => "https://aiplatform.googleapis.com".to_string(),
        "us" | "eu" => format!("https://aiplatform.{location}.rep.googleapis.com"),
        region => format!("https://{region}-aiplatform.googleapis.com"),
    }
}

/// Whether `location` can safely become part of a host name: a non-empty run of lowercase
/// ASCII letters, digits and inner hyphens, like every Google Cloud location id
/// (`us-central1`, `europe-west4`, `global`). Anything else (a dot, a slash, an `@`) could
/// send requests, and the access token, to another host.
pub fn valid_location(location: &str) -> bool {
    !location.is_empty()
        && !location.starts_with('-')
        && !location.ends_with('-')
        && location
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Whether `model` is one of Anthropic's Claude models, which Vertex serves under
/// `publishers/anthropic` with Anthropic's Messages body (e.g. `claude-sonnet-4@20250514`);
/// every other model is taken for a Gemini model under `publishers/google`.
pub fn is_claude(model: &str) -> bool {
    model.starts_with("claude-")
}

/// The request path (with its query, if any) for `model` in `project` and `location`:
/// `/v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent`, or
/// `:streamGenerateContent?alt=sse` when streaming, for Gemini;
/// `/v1/projects/{p}/locations/{l}/publishers/anthropic/models/{m}:rawPredict`, or
/// `:streamRawPredict`, for Claude. Each value is percent-encoded as one path segment, so
/// a model name from a caller cannot add segments, a query or a fragment.
pub fn path(project: &str, location: &str, model: &str, stream: bool) -> String {
    let (publisher, method) = match (is_claude(model), stream) {
        (true, false) => ("anthropic", "rawPredict"),
        (true, true) => ("anthropic", "streamRawPredict"),
        (false, false) => ("google", "generateContent"),
        // Without `alt=sse` Vertex streams one JSON array instead of SSE events.
        (false, true) => ("google", "streamGenerateContent?alt=sse"),
    };
    format!(
        "/{API_VERSION}/projects/{}/locations/{}/publishers/{publisher}/models/{}:{method}",
        segment(project),
        segment(location),
        segment(model),
    )
}

/// The token-counting path for `model` (provider-apis-more.md §4.3, §3.1):
/// `…/publishers/anthropic/models/count-tokens:rawPredict` for Claude (the model goes in
/// the body), `…/publishers/google/models/{m}:countTokens` for Gemini.
pub fn count_tokens_path(project: &str, location: &str, model: &str) -> String {
    let (publisher, method) = if is_claude(model) {
        ("anthropic", "count-tokens:rawPredict".to_string())
    } else {
        ("google", format!("{}:countTokens", segment(model)))
    };
    format!(
        "/{API_VERSION}/projects/{}/locations/{}/publishers/{publisher}/models/{method}",
        segment(project),
        segment(location),
    )
}

/// `value` as one path segment: RFC 3986 unreserved characters and `@` (Vertex's model
/// version separator) stay; everything else, `:` included, is percent-encoded.
fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves regions get their own host, `global` the bare host and `us`/`eu` the REP hosts.
    #[test]
    fn hosts_follow_the_location() {
        assert_eq!(
            host("us-central1"),
            "https://us-central1-aiplatform.googleapis.com"
        );
        assert_eq!(
            host("europe-west4"),
            "https://europe-west4-aiplatform.googleapis.com"
        );
        assert_eq!(host("global"), "https://aiplatform.googleapis.com");
        assert_eq!(host("us"), "https://aiplatform.us.rep.googleapis.com");
        assert_eq!(host("eu"), "https://aiplatform.eu.rep.googleapis.com");
    }

    // Proves only host-safe location ids pass, so none can redirect the token elsewhere.
    #[test]
    fn locations_that_could_change_the_host_are_invalid() {
        for ok in ["us-central1", "global", "us", "asia-northeast1"] {
            assert!(valid_location(ok), "{ok}");
        }
        for bad in [
            "",
            "-us",
            "us-",
            "US-CENTRAL1",
            "evil.com/x",
            "a@b",
            "us central1",
            "us-central1.",
        ] {
            assert!(!valid_location(bad), "{bad:?}");
        }
    }

    // Proves Claude models are told apart from Gemini models by their name.
    #[test]
    fn claude_models_are_recognised() {
        assert!(is_claude("claude-sonnet-4@20250514"));
        assert!(is_claude("claude-3-5-haiku@20241022"));
        assert!(is_claude("claude-opus-4-1"));
        assert!(!is_claude("gemini-2.5-flash"));
        assert!(!is_claude("claude"));
        assert!(!is_claude("my-claude-4"));
    }

    // Proves the four method paths match Google's and Anthropic's documented forms.
    #[test]
    fn paths_for_gemini_and_claude() {
        assert_eq!(
            path("my-proj", "us-central1", "gemini-2.5-flash", false),
            "/v1/projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
        );
        assert_eq!(
            path("my-proj", "global", "gemini-2.5-pro", true),
            "/v1/projects/my-proj/locations/global/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            path("my-proj", "us-east5", "claude-sonnet-4@20250514", false),
            "/v1/projects/my-proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict"
        );
        assert_eq!(
            path("my-proj", "us-east5", "claude-sonnet-4@20250514", true),
            "/v1/projects/my-proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict"
        );
    }

    // Proves the token-counting paths: Claude's fixed `count-tokens:rawPredict`, Gemini's
    // `{model}:countTokens`.
    #[test]
    fn count_tokens_paths() {
        assert_eq!(
            count_tokens_path("p", "us-east5", "claude-sonnet-4@20250514"),
            "/v1/projects/p/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict"
        );
        assert_eq!(
            count_tokens_path("p", "global", "gemini-2.5-flash"),
            "/v1/projects/p/locations/global/publishers/google/models/gemini-2.5-flash:countTokens"
        );
    }

    // Proves a hostile model name stays one segment: no extra path, query or fragment.
    #[test]
    fn model_names_cannot_escape_their_segment() {
        let p = path("p", "us-central1", "x/../../y?key=1#f:rawPredict", false);
        assert_eq!(
            p,
            "/v1/projects/p/locations/us-central1/publishers/google/models/x%2F..%2F..%2Fy%3Fkey%3D1%23f%3ArawPredict:generateContent"
        );
        assert_eq!(segment("gemini 2"), "gemini%202");
        assert_eq!(segment("é"), "%C3%A9");
    }
}
