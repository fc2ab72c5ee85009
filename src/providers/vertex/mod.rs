//! Google Vertex AI (provider-apis-more.md §4): Gemini models and Anthropic's Claude models,
//! called with Google OAuth2 access tokens. `oauth` gets and caches the tokens; `endpoint`
//! builds the URLs a location and a model are served from.

pub mod endpoint;
pub mod oauth;
