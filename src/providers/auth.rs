//! How each target proves who kt is: a key from the environment in the header its API
//! wants, AWS SigV4, or a Google OAuth2 access token. Credentials are read once when the
//! target is built and live only in memory: `Debug` never shows them and error messages
//! name the variable, never the value.

use reqwest::header::{HeaderMap, HeaderName};

use std::time::SystemTime;

use super::UpstreamError;
use super::bedrock::sigv4::{self, AwsCredentials};
use super::http::sensitive;
use super::vertex::oauth::TokenSource;
use crate::config::{ProviderKind, Target};

/// An API key or token. Its `Debug` never shows the value, so it cannot reach a log by accident.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(v: impl Into<String>) -> Self {
        Self(v.into())
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

/// A target's credentials.
#[derive(Debug)]
pub enum Auth {
    /// No credentials (simulated targets, or a local server without keys).
    None,
    /// A key read from `env`, sent as `header: {prefix}{key}`.
    Key {
        env: String,
        key: Option<Secret>,
        header: HeaderName,
        prefix: &'static str,
    },
    /// AWS SigV4 for service `bedrock`, with the standard AWS environment's credentials
    /// (an error kept until a call needs them, as a missing key is).
    Aws {
        region: String,
        creds: Result<AwsCredentials, UpstreamError>,
    },
    /// A Google OAuth2 access token (Vertex AI): from a service account's JWT-bearer flow,
    /// cached and refreshed before expiry, or a fixed token from `secret_key_ref`.
    Google(Result<TokenSource, UpstreamError>),
}

/// Reads environment variable `name`, treating an empty value as unset (as SDKs do).
pub fn env_secret(name: &str) -> Option<Secret> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .map(Secret)
}

impl Auth {
    /// The credentials of target `t`, read from the environment now (never again).
    pub fn for_target(t: &Target) -> Self {
        let key = |env: &str, header: &'static str, prefix: &'static str| Auth::Key {
            env: env.to_string(),
            key: env_secret(env),
            header: HeaderName::from_static(header),
            prefix,
        };
        match (t.kind, t.key_env.as_deref(), t.bearer_env.as_deref()) {
            (ProviderKind::Simulated, _, _) => Self::None,
            (ProviderKind::Vertex, env, _) => Self::Google(TokenSource::from_env(env)),
            (ProviderKind::Bedrock, None, _) => Self::Aws {
                region: t.region.clone().unwrap_or_default(),
                creds: AwsCredentials::from_env(),
            },
            (ProviderKind::AzureOpenAi, _, Some(env)) => key(env, "authorization", "Bearer "),
            (ProviderKind::AzureOpenAi, Some(env), None) => key(env, "api-key", ""),
            (ProviderKind::Anthropic, Some(env), _) => key(env, "x-api-key", ""),
            (ProviderKind::Gemini, Some(env), _) => key(env, "x-goog-api-key", ""),
            // OpenAI and a Bedrock API key are bearer tokens; a Vertex `secret_key_ref` is
            // an OAuth access token, also a bearer.
            (_, Some(env), _) => key(env, "authorization", "Bearer "),
            (_, None, _) => Self::None,
        }
    }

    /// Adds the credentials to `headers` for a POST of `body` to `url` (SigV4 signs all three).
    pub async fn apply(
        &self,
        http: &reqwest::Client,
        url: &str,
        body: &[u8],
        headers: &mut HeaderMap,
    ) -> Result<(), UpstreamError> {
        match self {
            Self::Aws { region, creds } => {
                let creds = creds.as_ref().map_err(Clone::clone)?;
                sigv4::sign(creds, region, "POST", url, headers, body, SystemTime::now())
            }
            Self::Google(source) => {
                let source = source.as_ref().map_err(Clone::clone)?;
                let token = source.token(http).await?;
                headers.insert(
                    reqwest::header::AUTHORIZATION,
                    sensitive(&format!("Bearer {}", token.expose()))?,
                );
                Ok(())
            }
            Self::None => Ok(()),
            Self::Key {
                env,
                key,
                header,
                prefix,
            } => {
                let k = key
                    .as_ref()
                    .ok_or_else(|| UpstreamError::MissingKey(env.clone()))?;
                headers.insert(header.clone(), sensitive(&format!("{prefix}{}", k.0))?);
                Ok(())
            }
        }
    }

    /// Called when the upstream answered 401: a cached Google token is dropped, so the
    /// next call gets a fresh one.
    pub fn refused(&self) {
        if let Self::Google(Ok(source)) = self {
            source.invalidate();
        }
    }

    /// The secrets an upstream might echo back, for redaction.
    pub fn secrets(&self) -> Vec<&str> {
        match self {
            Self::Key { key: Some(k), .. } => vec![k.0.as_str()],
            Self::Aws { creds: Ok(c), .. } => c.secrets(),
            _ => Vec::new(),
        }
    }

    /// Where the credentials come from, for a "rejected kt's credentials" message.
    pub fn source(&self) -> String {
        match self {
            Self::Key { env, .. } => env.clone(),
            Self::None => "the target's secret_key_ref".to_string(),
            Self::Aws { .. } => "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY".to_string(),
            Self::Google(Ok(s)) => match s.client_email() {
                Some(email) => {
                    format!("the service account {email} (GOOGLE_APPLICATION_CREDENTIALS)")
                }
                None => "the access token in the target's secret_key_ref".to_string(),
            },
            Self::Google(Err(_)) => "GOOGLE_APPLICATION_CREDENTIALS".to_string(),
        }
    }
}
