//! `GET /v1/models`: the models the config routes — every primary model of a model
//! mapping (the top-level one and each `shadows[]` entry's), deduplicated, in config
//! order — in OpenAI's list shape, or Anthropic's when the caller sends `anthropic-version`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::live::Live;
use crate::config::Config;

/// `GET /v1/models`. Not recorded as an event: it is not a completion and calls no upstream.
pub async fn models(State(live): State<Live>, headers: HeaderMap) -> Response {
    let state = live.current();
    let ids = routed_models(&state.config);
    let body = if headers.contains_key("anthropic-version") {
        anthropic_list(&ids)
    } else {
        openai_list(&ids, &state.primary.id)
    };
    axum::Json(body).into_response()
}

/// The primary models of every model mapping, deduplicated, in config order. With the
/// mirror `enabled: false` the top-level mapping still routes requests to the primary.
pub fn routed_models(config: &Config) -> Vec<String> {
    let mappings = config
        .mirror
        .iter()
        .flat_map(|m| m.shadows.iter().flat_map(|s| s.model_mapping.iter()))
        .chain(config.model_mapping.iter());
    let mut ids: Vec<String> = Vec::new();
    for (model, _) in mappings {
        if !ids.contains(model) {
            ids.push(model.clone());
        }
    }
    ids
}

fn openai_list(ids: &[String], owner: &str) -> Value {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": owner}))
        .collect();
    json!({"object": "list", "data": data})
}

/// Anthropic's page shape; kt has no creation dates, so `created_at` is the epoch (as
/// OpenAI's `created` is 0).
fn anthropic_list(ids: &[String]) -> Value {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({"type": "model", "id": id, "display_name": id,
                   "created_at": "1970-01-01T00:00:00Z"})
        })
        .collect();
    json!({
        "data": data,
        "has_more": false,
        "first_id": ids.first(),
        "last_id": ids.last(),
    })
}
