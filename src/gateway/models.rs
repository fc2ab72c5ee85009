//! `GET /v1/models`: the models the config routes — every primary model of a model
//! mapping (the top-level one and each `shadows[]` entry's), deduplicated, in config
//! order — in OpenAI's list shape, or Anthropic's when the caller sends `anthropic-version`.
//! `GET /v1/models/{id}` (the SDKs' `models.retrieve`) answers one of them, or a 404.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::errors::ApiError;
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

/// `GET /v1/models/{id}`: the model in OpenAI's `Model` shape (Anthropic's `ModelInfo` with
/// `anthropic-version`), or 404 in that dialect's error shape when kt does not route it.
/// Not recorded as an event, like the listing: it calls no upstream. The id is the rest of
/// the path, so ids with a `/` (`meta-llama/Llama-3.3-70B`) are found too.
pub async fn model(
    State(live): State<Live>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let state = live.current();
    let anthropic = headers.contains_key("anthropic-version");
    if routed_models(&state.config).contains(&id) {
        let body = if anthropic {
            anthropic_model(&id)
        } else {
            openai_model(&id, &state.primary.id)
        };
        return axum::Json(body).into_response();
    }
    let err = ApiError {
        param: Some("model".into()),
        code: Some("model_not_found".into()),
        ..ApiError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!(
                "The model `{id}` does not exist or is not routed by this gateway; GET /v1/models lists the models it routes"
            ),
            "not_found",
        )
    };
    if anthropic {
        // No event row, so no event id for Anthropic's `request_id`.
        let body = err.anthropic_body(None);
        (err.status, axum::Json(body)).into_response()
    } else {
        err.into_response()
    }
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
    let data: Vec<Value> = ids.iter().map(|id| openai_model(id, owner)).collect();
    json!({"object": "list", "data": data})
}

/// OpenAI's `Model`; kt has no creation dates, so `created` is 0.
fn openai_model(id: &str, owner: &str) -> Value {
    json!({"id": id, "object": "model", "created": 0, "owned_by": owner})
}

/// Anthropic's `ModelInfo`.
fn anthropic_model(id: &str) -> Value {
    json!({"type": "model", "id": id, "display_name": id, "created_at": "1970-01-01T00:00:00Z"})
}

/// Anthropic's page shape; kt has no creation dates, so `created_at` is the epoch (as
/// OpenAI's `created` is 0).
fn anthropic_list(ids: &[String]) -> Value {
    let data: Vec<Value> = ids.iter().map(|id| anthropic_model(id)).collect();
    json!({
        "data": data,
        "has_more": false,
        "first_id": ids.first(),
        "last_id": ids.last(),
    })
}
