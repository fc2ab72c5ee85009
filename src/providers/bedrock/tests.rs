//! Unit tests for the Bedrock Converse translation functions (provider-apis-more.md §2).

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

use super::*;
use crate::providers::UpstreamError;
use crate::providers::translate::Object;

const MODEL: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";

fn obj(v: Value) -> Object {
    v.as_object().cloned().unwrap()
}

fn translate(req: Value) -> Value {
    to_converse_request(&obj(req), MODEL).unwrap()
}

/// The `param` of an Untranslatable error, panicking on anything else.
fn rejected(req: Value) -> String {
    match to_converse_request(&obj(req), MODEL) {
        Err(UpstreamError::Untranslatable { param, .. }) => param.unwrap(),
        other => panic!("expected Untranslatable, got {other:?}"),
    }
}

fn user(text: &str) -> Value {
    json!({ "role": "user", "content": text })
}

fn weather_tool() -> Value {
    json!({"type":"function","function":{"name":"get_weather","description":"Weather by city",
        "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}})
}

/// A conversation with one tool call and its result.
fn tool_round_trip() -> Value {
    json!([user("Weather in Paris?"),
        {"role":"assistant","content":null,"tool_calls":[{"id":"tooluse_1","type":"function",
            "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
        {"role":"tool","tool_call_id":"tooluse_1","content":"18°C"}])
}

// ---------------------------------------------------------------------------------------------
// Request

#[test]
fn reference_request_translates_exactly() {
    // The §2.4 conversation (system, image data URL, tool call and result, sampling, tools) renders exactly.
    let req = json!({"model":"gpt-4o","messages":[
        {"role":"system","content":"You are terse."},
        {"role":"user","content":[{"type":"text","text":"Weather in Paris?"},
            {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}}]},
        {"role":"assistant","content":null,"tool_calls":[{"id":"tooluse_1","type":"function",
            "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
        {"role":"tool","tool_call_id":"tooluse_1","content":"{\"temp_c\":18}"}],
        "max_completion_tokens":512,"temperature":0.2,"top_p":0.9,"stop":["END"],
        "tools":[weather_tool()],"tool_choice":"auto","user":"u-42","stream":true,
        "stream_options":{"include_usage":true}});
    let want = json!({"system":[{"text":"You are terse."}],
        "messages":[
            {"role":"user","content":[{"text":"Weather in Paris?"},
                {"image":{"format":"png","source":{"bytes":"iVBORw0KGgo="}}}]},
            {"role":"assistant","content":[{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather","input":{"city":"Paris"}}}]},
            {"role":"user","content":[{"toolResult":{"toolUseId":"tooluse_1","content":[{"text":"{\"temp_c\":18}"}]}}]}],
        "inferenceConfig":{"maxTokens":512,"temperature":0.2,"topP":0.9,"stopSequences":["END"]},
        "toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","description":"Weather by city",
            "inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}}],
            "toolChoice":{"auto":{}}}});
    assert_eq!(translate(req), want);
}

#[test]
fn minimal_request_has_only_messages() {
    // No system, sampling or tools means no such fields, and never a model id or stream flag.
    let out = translate(json!({"model":"m","messages":[user("hi")],"stream":false}));
    assert_eq!(
        out,
        json!({"messages":[{"role":"user","content":[{"text":"hi"}]}]})
    );
}

#[test]
fn system_texts_join_into_one_block() {
    // System and developer texts from anywhere join with a blank line, as for Anthropic.
    let out = translate(
        json!({"messages":[{"role":"system","content":"A"},user("hi"),
        {"role":"developer","content":[{"type":"text","text":"B"}]}]}),
    );
    assert_eq!(out["system"], json!([{"text":"A\n\nB"}]));
}

#[test]
fn sampling_knobs_map_and_temperature_is_clamped() {
    // max_tokens is read when max_completion_tokens is absent, a stop string is a list, temperature caps at 1.
    let out =
        translate(json!({"messages":[user("hi")],"max_tokens":7,"stop":"\n","temperature":1.5}));
    assert_eq!(
        out["inferenceConfig"],
        json!({"maxTokens":7,"temperature":1.0,"stopSequences":["\n"]})
    );
}

#[test]
fn tool_choice_variants() {
    // Absent, auto, required and a named function become no choice, auto, any and tool.
    for (choice, want) in [
        (Value::Null, None),
        (json!("auto"), Some(json!({"auto":{}}))),
        (json!("required"), Some(json!({"any":{}}))),
        (
            json!({"type":"function","function":{"name":"get_weather"}}),
            Some(json!({"tool":{"name":"get_weather"}})),
        ),
    ] {
        let out = translate(
            json!({"messages":[user("hi")],"tools":[weather_tool()],"tool_choice":choice}),
        );
        assert_eq!(
            out["toolConfig"]["tools"][0]["toolSpec"]["name"],
            "get_weather"
        );
        assert_eq!(
            out["toolConfig"].get("toolChoice").cloned(),
            want,
            "{choice}"
        );
    }
}

#[test]
fn tool_choice_none_withholds_the_tools() {
    // Converse has no `none`: without tool history the tools are not offered at all.
    let out =
        translate(json!({"messages":[user("hi")],"tools":[weather_tool()],"tool_choice":"none"}));
    assert!(out.get("toolConfig").is_none());
}

#[test]
fn tool_choice_none_with_tool_history_is_refused() {
    // With tool blocks in the history Bedrock needs the tools, so `none` cannot be honoured.
    let req = json!({"messages":tool_round_trip(),"tools":[weather_tool()],"tool_choice":"none"});
    assert_eq!(rejected(req), "tool_choice");
}

#[test]
fn tool_history_without_tools_is_refused() {
    // Bedrock rejects toolUse/toolResult blocks without a toolConfig; kt says so up front.
    assert_eq!(rejected(json!({ "messages": tool_round_trip() })), "tools");
}

#[test]
fn parallel_tool_calls_false_is_refused() {
    // Converse cannot limit calls to one; `true` (the default) and false without tools pass.
    let req = json!({"messages":[user("hi")],"tools":[weather_tool()],"parallel_tool_calls":false});
    assert_eq!(rejected(req), "parallel_tool_calls");
    let ok = json!({"messages":[user("hi")],"tools":[weather_tool()],"parallel_tool_calls":true});
    assert!(translate(ok).get("toolConfig").is_some());
    assert!(
        translate(json!({"messages":[user("hi")],"parallel_tool_calls":false}))
            .get("toolConfig")
            .is_none()
    );
}

#[test]
fn tool_results_merge_and_come_first() {
    // Consecutive tool messages and the user text after them form one user turn, results first.
    let req = json!({"tools":[weather_tool()],"messages":[user("go"),
        {"role":"assistant","content":"Checking.","tool_calls":[
            {"id":"t1","type":"function","function":{"name":"a","arguments":"{}"}},
            {"id":"t2","type":"function","function":{"name":"b","arguments":""}}]},
        user("note"),
        {"role":"tool","tool_call_id":"t1","content":"r1"},
        {"role":"tool","tool_call_id":"t2","content":[{"type":"text","text":"r2"},
            {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,AAAA"}}]}]});
    let want = json!([
        {"role":"user","content":[{"text":"go"}]},
        {"role":"assistant","content":[{"text":"Checking."},
            {"toolUse":{"toolUseId":"t1","name":"a","input":{}}},
            {"toolUse":{"toolUseId":"t2","name":"b","input":{}}}]},
        {"role":"user","content":[
            {"toolResult":{"toolUseId":"t1","content":[{"text":"r1"}]}},
            {"toolResult":{"toolUseId":"t2","content":[{"text":"r2"},
                {"image":{"format":"jpeg","source":{"bytes":"AAAA"}}}]}},
            {"text":"note"}]}]);
    assert_eq!(translate(req)["messages"], want);
}

#[test]
fn empty_tool_result_has_no_empty_text_block() {
    // Bedrock rejects empty text blocks, so an empty result is an empty content list.
    let mut msgs = tool_round_trip();
    msgs[2]["content"] = json!("");
    let out = translate(json!({"messages":msgs,"tools":[weather_tool()]}));
    assert_eq!(
        out["messages"][2]["content"],
        json!([{"toolResult":{"toolUseId":"tooluse_1","content":[]}}])
    );
}

#[test]
fn empty_messages_are_dropped_and_neighbours_merge() {
    // An empty assistant message between two user messages leaves one user turn, never empty content.
    let req = json!({"messages":[user("a"),{"role":"assistant","content":""},user("b"),
        {"role":"assistant","content":"c"}]});
    assert_eq!(
        translate(req)["messages"],
        json!([{"role":"user","content":[{"text":"a"},{"text":"b"}]},
            {"role":"assistant","content":[{"text":"c"}]}])
    );
}

#[test]
fn conversation_must_start_with_the_user() {
    // An assistant first (also once an empty user message is dropped) or nothing at all is refused.
    for msgs in [
        json!([{"role":"assistant","content":"hello"},user("hi")]),
        json!([user(""),{"role":"assistant","content":"hello"}]),
        json!([user(""),{"role":"user","content":[]}]),
    ] {
        assert_eq!(rejected(json!({ "messages": msgs })), "messages", "{msgs}");
    }
}

#[test]
fn image_formats_map_and_others_are_refused() {
    // png/jpeg/jpg/gif/webp map to Converse formats; other types and http(s) URLs are refused.
    for (mime, format) in [
        ("image/png", "png"),
        ("image/JPEG", "jpeg"),
        ("image/jpg", "jpeg"),
        ("image/gif", "gif"),
        ("image/webp", "webp"),
    ] {
        let url = format!("data:{mime};base64,AAAA");
        let req = json!({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":url}}]}]});
        assert_eq!(
            translate(req)["messages"][0]["content"][0]["image"]["format"],
            format
        );
    }
    for url in ["data:image/bmp;base64,AAAA", "https://example.com/cat.png"] {
        let req = json!({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":url}}]}]});
        assert_eq!(rejected(req), "messages", "{url}");
    }
}

#[test]
fn tool_call_ids_outside_bedrocks_pattern_are_refused() {
    // toolUseId must match [a-zA-Z0-9_.:-]{1,64}; kt refuses rather than rewriting ids.
    for id in ["call 1", "call/1", &"x".repeat(65)] {
        let mut msgs = tool_round_trip();
        msgs[1]["tool_calls"][0]["id"] = json!(id);
        msgs[2]["tool_call_id"] = json!(id);
        assert_eq!(
            rejected(json!({"messages":msgs,"tools":[weather_tool()]})),
            "messages"
        );
    }
}

#[test]
fn invalid_tool_arguments_are_refused() {
    // Converse needs `input` as an object, so arguments that are not a JSON object are refused.
    let mut msgs = tool_round_trip();
    msgs[1]["tool_calls"][0]["function"]["arguments"] = json!("{not json");
    assert_eq!(
        rejected(json!({"messages":msgs,"tools":[weather_tool()]})),
        "messages"
    );
}

#[test]
fn json_schema_becomes_output_config_with_a_string_schema() {
    // response_format json_schema → outputConfig.textFormat with the schema as JSON text.
    let req = json!({"messages":[user("hi")],"response_format":{"type":"json_schema",
        "json_schema":{"name":"city","strict":true,"schema":{"type":"object","properties":{"c":{"type":"string"}}}}}});
    assert_eq!(
        translate(req)["outputConfig"],
        json!({"textFormat":{"type":"json_schema","structure":{"jsonSchema":{
            "schema":"{\"type\":\"object\",\"properties\":{\"c\":{\"type\":\"string\"}}}","name":"city"}}}})
    );
    let text = json!({"messages":[user("hi")],"response_format":{"type":"text"}});
    assert!(translate(text).get("outputConfig").is_none());
    let object = json!({"messages":[user("hi")],"response_format":{"type":"json_object"}});
    assert_eq!(rejected(object), "response_format");
}

#[test]
fn fields_without_a_converse_equivalent_are_refused_by_name() {
    // Every optional OpenAI field Converse cannot express is refused naming it; neutral values pass.
    for (field, value) in [
        ("n", json!(2)),
        ("seed", json!(7)),
        ("presence_penalty", json!(0.5)),
        ("frequency_penalty", json!(0.5)),
        ("logprobs", json!(true)),
        ("top_logprobs", json!(3)),
        ("logit_bias", json!({"1": 5})),
        ("reasoning_effort", json!("low")),
        ("functions", json!([{"name":"f"}])),
        ("audio", json!({"voice":"x"})),
        ("some_new_field", json!(1)),
    ] {
        let mut req = obj(json!({"messages":[user("hi")]}));
        req.insert(field.into(), value);
        match to_converse_request(&req, MODEL) {
            Err(UpstreamError::Untranslatable { param, message }) => {
                assert_eq!(param.as_deref(), Some(field));
                assert!(message.contains("Bedrock"), "{message}");
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    let neutral = json!({"messages":[user("hi")],"n":1,"logprobs":false,"seed":null,
        "presence_penalty":0,"store":true,"metadata":{"a":"b"},"safety_identifier":"s"});
    assert!(to_converse_request(&obj(neutral), MODEL).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Response

#[test]
fn reference_response_becomes_a_completion() {
    // The §2.5 tool-use answer becomes an OpenAI completion with the request id, model and usage.
    let body = br#"{"output":{"message":{"role":"assistant","content":[{"text":"Calling the tool."},
        {"toolUse":{"toolUseId":"tooluse_2","name":"get_weather","input":{"city":"Paris"}}}]}},
        "stopReason":"tool_use",
        "usage":{"inputTokens":120,"outputTokens":31,"totalTokens":151,"cacheReadInputTokens":0,"cacheWriteInputTokens":0},
        "metrics":{"latencyMs":812}}"#;
    let c = from_converse_response(body, MODEL, 1_732_406_400, Some("req-1")).unwrap();
    let want = json!({"id":"chatcmpl-req-1","object":"chat.completion","created":1_732_406_400u64,"model":MODEL,
        "choices":[{"index":0,"logprobs":null,"finish_reason":"tool_calls","message":{"role":"assistant",
            "content":"Calling the tool.","refusal":null,
            "tool_calls":[{"id":"tooluse_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}}],
        "usage":{"prompt_tokens":120,"completion_tokens":31,"total_tokens":151,"prompt_tokens_details":{"cached_tokens":0}}});
    assert_eq!(Value::Object(c.body), want);
    assert_eq!(c.text, "Calling the tool.");
    assert_eq!((c.input_tokens, c.output_tokens), (Some(120), Some(31)));
    assert!(c.tool_calls.unwrap().contains("Paris"));
}

#[test]
fn text_answer_without_usage_or_request_id() {
    // Text blocks concatenate, reasoning is skipped, a missing usage stays unknown, the id is generated.
    let body = br#"{"output":{"message":{"role":"assistant","content":[
        {"reasoningContent":{"reasoningText":{"text":"hmm"}}},{"text":"Hel"},{"text":"lo"}]}},"stopReason":"end_turn"}"#;
    let c = from_converse_response(body, MODEL, 1, None).unwrap();
    assert_eq!(c.text, "Hello");
    assert_eq!(c.body["choices"][0]["message"]["content"], "Hello");
    assert!(c.body.get("usage").is_none() && c.input_tokens.is_none());
    let id = c.body["id"].as_str().unwrap();
    assert!(id.starts_with("chatcmpl-") && id.len() > 20, "{id}");
}

#[test]
fn tool_only_answer_has_null_content() {
    // A toolUse-only answer has null content and arguments `{}` when the input is missing.
    let body = br#"{"output":{"message":{"role":"assistant","content":[{"toolUse":{"toolUseId":"t","name":"f"}}]}},"stopReason":"tool_use"}"#;
    let c = from_converse_response(body, MODEL, 1, None).unwrap();
    let msg = &c.body["choices"][0]["message"];
    assert_eq!(msg["content"], Value::Null);
    assert_eq!(msg["tool_calls"][0]["function"]["arguments"], "{}");
}

#[test]
fn each_stop_reason_maps() {
    // Every documented stopReason maps to an OpenAI finish_reason; malformed output is an invalid response.
    for (stop, want) in [
        ("end_turn", Some("stop")),
        ("stop_sequence", Some("stop")),
        ("max_tokens", Some("length")),
        ("model_context_window_exceeded", Some("length")),
        ("tool_use", Some("tool_calls")),
        ("guardrail_intervened", Some("content_filter")),
        ("content_filtered", Some("content_filter")),
        ("some_future_reason", Some("stop")),
        ("malformed_model_output", None),
        ("malformed_tool_use", None),
    ] {
        let body = json!({"output":{"message":{"role":"assistant","content":[{"text":"x"}]}},"stopReason":stop});
        let got = from_converse_response(body.to_string().as_bytes(), MODEL, 1, None);
        match (want, got) {
            (Some(w), Ok(c)) => assert_eq!(c.finish_reason.as_deref(), Some(w), "{stop}"),
            (None, Err(UpstreamError::InvalidResponse(m))) => assert!(m.contains(stop), "{m}"),
            (_, other) => panic!("{stop}: {other:?}"),
        }
    }
}

#[test]
fn usage_counts_cache_tokens_in_the_prompt() {
    // Cache reads and writes add to prompt_tokens; the reads are the cached tokens.
    let body = br#"{"output":{"message":{"role":"assistant","content":[{"text":"x"}]}},"stopReason":"end_turn",
        "usage":{"inputTokens":10,"outputTokens":5,"totalTokens":15,"cacheReadInputTokens":100,"cacheWriteInputTokens":20}}"#;
    let c = from_converse_response(body, MODEL, 1, None).unwrap();
    assert_eq!(
        c.body["usage"],
        json!({"prompt_tokens":130,"completion_tokens":5,"total_tokens":135,
            "prompt_tokens_details":{"cached_tokens":100}})
    );
    assert_eq!(c.input_tokens, Some(130));
}

#[test]
fn malformed_bodies_are_invalid_responses() {
    // Non-JSON, missing output, a non-array content: short errors, never panics.
    for body in [
        &b""[..],
        b"not json",
        b"[]",
        br#"{"stopReason":"end_turn"}"#,
        br#"{"output":{"message":{"content":"text"}}}"#,
        br#"{"output":null}"#,
    ] {
        match from_converse_response(body, MODEL, 1, None) {
            Err(UpstreamError::InvalidResponse(m)) => assert!(m.len() < 200, "{m}"),
            other => panic!("{}: {other:?}", String::from_utf8_lossy(body)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_static(v));
    }
    h
}

/// (status, kind, code, message, retry_after) of an error.
fn fields(e: UpstreamError) -> (u16, String, Option<String>, String, Option<String>) {
    match e {
        UpstreamError::Status {
            status,
            kind,
            code,
            message,
            retry_after,
            ..
        } => (status, kind, code, message, retry_after),
        other => panic!("{other:?}"),
    }
}

#[test]
fn each_aws_error_maps_to_an_openai_status() {
    // Each Bedrock error name (from x-amzn-ErrorType) gives kt's status and kind and stays the code.
    for (name, received, status, kind) in [
        ("ThrottlingException", 429, 429, "rate_limit_error"),
        (
            "ServiceQuotaExceededException",
            400,
            429,
            "rate_limit_error",
        ),
        ("ValidationException", 400, 400, "invalid_request_error"),
        ("AccessDeniedException", 403, 403, "permission_error"),
        (
            "UnrecognizedClientException",
            403,
            401,
            "authentication_error",
        ),
        (
            "InvalidSignatureException",
            403,
            401,
            "authentication_error",
        ),
        ("ExpiredTokenException", 400, 401, "authentication_error"),
        ("ResourceNotFoundException", 404, 404, "not_found_error"),
        ("ModelTimeoutException", 408, 504, "api_error"),
        ("ServiceUnavailableException", 503, 503, "api_error"),
        ("ModelNotReadyException", 429, 503, "api_error"),
        ("InternalServerException", 500, 500, "api_error"),
        ("ModelErrorException", 424, 502, "api_error"),
    ] {
        let mut h = HeaderMap::new();
        let value = format!("{name}:http://internal.amazon.com/coral/com.amazon.bedrock/");
        h.insert("x-amzn-ErrorType", HeaderValue::from_str(&value).unwrap());
        let body = br#"{"message":"it went wrong"}"#;
        let (s, k, c, m, _) = fields(error_from_response(received, &h, body));
        assert_eq!((s, k.as_str()), (status, kind), "{name}");
        assert_eq!(c.as_deref(), Some(name));
        assert_eq!(m, "it went wrong");
    }
}

#[test]
fn throttling_keeps_retry_after() {
    // A throttled call keeps the retry-after header; a validation error drops it.
    let h = headers(&[
        ("x-amzn-errortype", "ThrottlingException"),
        ("retry-after", "3"),
    ]);
    let (status, kind, _, message, retry) = fields(error_from_response(
        429,
        &h,
        br#"{"message":"Too many requests, please wait before trying again."}"#,
    ));
    assert_eq!((status, kind.as_str()), (429, "rate_limit_error"));
    assert_eq!(retry.as_deref(), Some("3"));
    assert!(message.starts_with("Too many requests"));
    let h = headers(&[
        ("x-amzn-errortype", "ValidationException"),
        ("retry-after", "3"),
    ]);
    let (_, _, _, _, retry) = fields(error_from_response(400, &h, b"{}"));
    assert_eq!(retry, None);
}

#[test]
fn error_name_falls_back_to_the_body() {
    // Without the header the body's __type (namespace stripped) names the error; `Message` is read too.
    let body =
        br#"{"__type":"com.amazon.coral.validate#ValidationException","Message":"bad input"}"#;
    let (status, kind, code, message, _) =
        fields(error_from_response(400, &HeaderMap::new(), body));
    assert_eq!((status, kind.as_str()), (400, "invalid_request_error"));
    assert_eq!(code.as_deref(), Some("ValidationException"));
    assert_eq!(message, "bad input");
    // The header wins over the body.
    let h = headers(&[("x-amzn-errortype", "ThrottlingException")]);
    let (status, _, code, _, _) = fields(error_from_response(400, &h, body));
    assert_eq!(
        (status, code.as_deref()),
        (429, Some("ThrottlingException"))
    );
    // An empty header does not hide the body's name.
    let h = headers(&[("x-amzn-errortype", "")]);
    let (_, _, code, _, _) = fields(error_from_response(400, &h, body));
    assert_eq!(code.as_deref(), Some("ValidationException"));
}

#[test]
fn unknown_or_unnamed_errors_keep_the_received_status() {
    // An unknown name or none keeps the HTTP status and its default kind; bodies without a message are quoted.
    let h = headers(&[("x-amzn-errortype", "BrandNewException:http://x")]);
    let (status, kind, code, _, _) = fields(error_from_response(409, &h, b"{}"));
    assert_eq!((status, kind.as_str()), (409, "invalid_request_error"));
    assert_eq!(code.as_deref(), Some("BrandNewException"));
    let (status, kind, code, message, _) = fields(error_from_response(
        502,
        &HeaderMap::new(),
        b"<html>bad gateway</html>",
    ));
    assert_eq!((status, kind.as_str(), code), (502, "api_error", None));
    assert!(message.contains("bad gateway"), "{message}");
    let (_, _, _, message, _) = fields(error_from_response(500, &HeaderMap::new(), b""));
    assert!(message.contains("empty body"), "{message}");
}
