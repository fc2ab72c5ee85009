//! Unit tests for the Gemini translation functions (provider-apis-more.md §3.2–§3.7).

use super::*;
use crate::providers::translate::Object;
use crate::providers::{Completion, UpstreamError};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

const MODEL: &str = "gemini-2.5-flash";

fn obj(v: Value) -> Object {
    v.as_object().cloned().unwrap()
}

fn translate(req: Value) -> Value {
    to_gemini_request(&obj(req)).unwrap()
}

/// The `param` of an Untranslatable error, panicking on anything else.
fn rejected(req: Value) -> String {
    match to_gemini_request(&obj(req)) {
        Err(UpstreamError::Untranslatable { param, .. }) => param.unwrap(),
        other => panic!("expected Untranslatable, got {other:?}"),
    }
}

fn user(text: &str) -> Value {
    json!({ "role": "user", "content": text })
}

fn weather_tool() -> Value {
    json!({"type":"function","function":{"name":"get_weather","description":"Current weather",
        "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}})
}

// ---------------------------------------------------------------------------------------------
// Requests

// Proves a request using every translated field becomes exactly the §3.2-style Gemini body.
#[test]
fn reference_request_translates_exactly() {
    let req = json!({"model":"gpt-4o","messages":[
            {"role":"system","content":"You are terse."},
            {"role":"user","content":[{"type":"text","text":"Weather in Paris?"},
                {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]},
            {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
                "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
            {"role":"tool","tool_call_id":"call_1","content":"18°C, cloudy"},
            {"role":"assistant","content":"It is 18°C."},
            user("Thanks")],
        "tools":[weather_tool()],
        "tool_choice":{"type":"function","function":{"name":"get_weather"}},
        "max_completion_tokens":512,"temperature":0.2,"top_p":0.9,"stop":["END"],
        "seed":42,"presence_penalty":0.5,"frequency_penalty":-0.25,
        "response_format":{"type":"json_schema","json_schema":{"name":"w","strict":true,
            "schema":{"type":"object","properties":{"t":{"type":"number"}}}}},
        "stream":true,"stream_options":{"include_usage":true},"user":"u-1","n":1});
    let want = json!({
        "systemInstruction":{"parts":[{"text":"You are terse."}]},
        "contents":[
            {"role":"user","parts":[{"text":"Weather in Paris?"},
                {"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}}]},
            {"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},
                "thoughtSignature":"skip_thought_signature_validator"}]},
            {"role":"user","parts":[{"functionResponse":{"name":"get_weather",
                "response":{"output":"18°C, cloudy"}}}]},
            {"role":"model","parts":[{"text":"It is 18°C."}]},
            {"role":"user","parts":[{"text":"Thanks"}]}],
        "tools":[{"functionDeclarations":[{"name":"get_weather","description":"Current weather",
            "parametersJsonSchema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]}],
        "toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}},
        "generationConfig":{"maxOutputTokens":512,"temperature":0.2,"topP":0.9,"stopSequences":["END"],
            "seed":42,"presencePenalty":0.5,"frequencyPenalty":-0.25,
            "responseMimeType":"application/json",
            "responseJsonSchema":{"type":"object","properties":{"t":{"type":"number"}}}}});
    assert_eq!(translate(req), want);
}

// Proves a bare request has only `contents`: ignored fields and zero penalties send nothing.
#[test]
fn minimal_request_has_only_contents() {
    let out = translate(
        json!({"model":"m","messages":[user("hi")],"user":"u","store":true,
        "safety_identifier":"s","metadata":{"a":"b"},"presence_penalty":0,"frequency_penalty":0.0,"logprobs":false}),
    );
    assert_eq!(
        out,
        json!({"contents":[{"role":"user","parts":[{"text":"hi"}]}]})
    );
}

// Proves system and developer texts join into one systemInstruction part.
#[test]
fn system_messages_join_into_system_instruction() {
    let out = translate(
        json!({"messages":[{"role":"system","content":"A"},user("hi"),
        {"role":"developer","content":[{"type":"text","text":"B"}]}]}),
    );
    assert_eq!(
        out["systemInstruction"],
        json!({"parts":[{"text":"A\n\nB"}]})
    );
}

// Proves each tool_choice maps to its functionCallingConfig mode, and none is sent without one.
#[test]
fn tool_choice_mapping() {
    for (choice, want) in [
        (json!("auto"), json!({"mode":"AUTO"})),
        (json!("none"), json!({"mode":"NONE"})),
        (json!("required"), json!({"mode":"ANY"})),
        (
            json!({"type":"function","function":{"name":"get_weather"}}),
            json!({"mode":"ANY","allowedFunctionNames":["get_weather"]}),
        ),
    ] {
        let out = translate(
            json!({"messages":[user("q")],"tools":[weather_tool()],"tool_choice":choice}),
        );
        assert_eq!(out["toolConfig"]["functionCallingConfig"], want);
    }
    let out = translate(json!({"messages":[user("q")],"tools":[weather_tool()]}));
    assert!(out.get("toolConfig").is_none());
    let out = translate(json!({"messages":[user("q")],"tool_choice":"required"}));
    assert!(out.get("toolConfig").is_none() && out.get("tools").is_none());
}

// Proves a tool without parameters gets an empty object schema and no description key.
#[test]
fn tool_without_parameters_gets_empty_schema() {
    let out = translate(
        json!({"messages":[user("q")],"tools":[{"type":"function","function":{"name":"now"}}]}),
    );
    assert_eq!(
        out["tools"],
        json!([{"functionDeclarations":[{"name":"now","parametersJsonSchema":{"type":"object","properties":{}}}]}])
    );
}

// Proves json_object asks for JSON output without a schema.
#[test]
fn json_object_sets_the_mime_type() {
    let out = translate(json!({"messages":[user("q")],"response_format":{"type":"json_object"}}));
    assert_eq!(
        out["generationConfig"],
        json!({"responseMimeType":"application/json"})
    );
    let out = translate(json!({"messages":[user("q")],"response_format":{"type":"text"}}));
    assert!(out.get("generationConfig").is_none());
}

// Proves the integral numbers a caller wrote stay integral and max_completion_tokens wins.
#[test]
fn numbers_and_max_tokens_precedence() {
    let out = translate(json!({"messages":[user("q")],"temperature":1,"top_p":1.0,
        "max_tokens":10,"max_completion_tokens":20,"stop":"X"}));
    assert_eq!(
        out["generationConfig"],
        json!({"maxOutputTokens":20,"temperature":1,"topP":1,"stopSequences":["X"]})
    );
}

// Proves parallel tool calls round-trip: one model turn of calls (only the first signed, no
// ids), one user turn of responses named by the looked-up function, and user text after them.
#[test]
fn tool_round_trip_pairs_by_name() {
    let req = json!({"messages":[user("go"),
        {"role":"assistant","content":"Checking.","tool_calls":[
            {"id":"c1","type":"function","function":{"name":"a","arguments":""}},
            {"id":"c2","type":"function","function":{"name":"b","arguments":"{\"x\":1}"}}]},
        user("also this"),
        {"role":"tool","tool_call_id":"c2","content":[{"type":"text","text":"r2a"},{"type":"text","text":"r2b"}]},
        {"role":"tool","tool_call_id":"c1","content":null}]});
    let want = json!([
        {"role":"user","parts":[{"text":"go"}]},
        {"role":"model","parts":[{"text":"Checking."},
            {"functionCall":{"name":"a","args":{}},"thoughtSignature":"skip_thought_signature_validator"},
            {"functionCall":{"name":"b","args":{"x":1}}}]},
        {"role":"user","parts":[
            {"functionResponse":{"name":"b","response":{"output":"r2a\nr2b"}}},
            {"functionResponse":{"name":"a","response":{"output":""}}},
            {"text":"also this"}]}]);
    assert_eq!(translate(req)["contents"], want);
}

// Proves a JSON tool result stays text under `output` (not reinterpreted as the response).
#[test]
fn json_tool_result_is_kept_as_text() {
    let req = json!({"messages":[user("q"),
        {"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"c","content":"{\"error\":\"nope\"}"}]});
    assert_eq!(
        translate(req)["contents"][2]["parts"][0]["functionResponse"]["response"],
        json!({"output":"{\"error\":\"nope\"}"})
    );
}

// Proves an empty assistant message is dropped and the user turns around it merge.
#[test]
fn empty_turns_are_dropped_and_neighbours_merge() {
    let req = json!({"messages":[user("a"),{"role":"assistant","content":""},user("b"),
        {"role":"assistant","content":"x"}]});
    assert_eq!(
        translate(req)["contents"],
        json!([{"role":"user","parts":[{"text":"a"},{"text":"b"}]},{"role":"model","parts":[{"text":"x"}]}])
    );
}

// Proves a conversation may start with the model (Gemini, unlike Anthropic, allows it).
#[test]
fn model_first_is_allowed() {
    let out = translate(json!({"messages":[{"role":"assistant","content":"Hello"},user("hi")]}));
    assert_eq!(out["contents"][0]["role"], "model");
}

// Proves parallel_tool_calls false is refused only when tools are offered; true passes.
#[test]
fn parallel_tool_calls_false_is_refused_with_tools() {
    let with =
        |v: Value| json!({"messages":[user("q")],"tools":[weather_tool()],"parallel_tool_calls":v});
    assert_eq!(rejected(with(json!(false))), "parallel_tool_calls");
    assert!(to_gemini_request(&obj(with(json!(true)))).is_ok());
    let without = json!({"messages":[user("q")],"parallel_tool_calls":false});
    assert!(to_gemini_request(&obj(without)).is_ok());
}

// Proves every field or shape Gemini cannot express is refused, naming the parameter.
#[test]
fn untranslatable_requests_are_refused_by_name() {
    let base = |extra: Value| {
        let mut req = obj(json!({"messages":[user("q")]}));
        req.extend(obj(extra));
        Value::Object(req)
    };
    for (extra, param) in [
        (json!({"n":2}), "n"),
        (json!({"logprobs":true}), "logprobs"),
        (json!({"top_logprobs":3}), "top_logprobs"),
        (json!({"logit_bias":{"1":5}}), "logit_bias"),
        (json!({"reasoning_effort":"low"}), "reasoning_effort"),
        (json!({"functions":[{"name":"f"}]}), "functions"),
        (json!({"modalities":["audio"]}), "modalities"),
        (json!({"brand_new_field":1}), "brand_new_field"),
        (json!({"stop":["1","2","3","4","5","6"]}), "stop"),
        (json!({"stop":7}), "stop"),
        (json!({"seed":"x"}), "seed"),
        (
            json!({"response_format":{"type":"json_schema"}}),
            "response_format",
        ),
        (json!({"tools":[{"type":"web_search"}]}), "tools"),
        (
            json!({"tools":[weather_tool()],"tool_choice":"sometimes"}),
            "tool_choice",
        ),
    ] {
        assert_eq!(rejected(base(extra.clone())), param, "{extra}");
    }
    let five = base(json!({"stop":["1","2","3","4","5"]}));
    assert_eq!(
        translate(five)["generationConfig"]["stopSequences"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

// Proves images by URL, images in tool results, results for unknown calls and contentless
// conversations are refused.
#[test]
fn untranslatable_messages_are_refused() {
    let url_image = json!({"messages":[{"role":"user","content":[
        {"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]});
    let image_result = json!({"messages":[user("q"),
        {"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"c","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]});
    let orphan =
        json!({"messages":[user("q"),{"role":"tool","tool_call_id":"nobody","content":"r"}]});
    let bad_args = json!({"messages":[user("q"),
        {"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"[1]"}}]}]});
    for req in [
        url_image,
        image_result,
        orphan,
        bad_args,
        json!({"messages":[]}),
        json!({"messages":[{"role":"user","content":""},{"role":"assistant","content":null}]}),
    ] {
        assert_eq!(rejected(req), "messages");
    }
}

// Proves odd request shapes give errors or bodies, never panics.
#[test]
fn odd_request_shapes_never_panic() {
    for req in [
        json!({}),
        json!({"messages":null}),
        json!({"messages":[null,1,"x"]}),
        json!({"messages":[{"role":"assistant","tool_calls":[{}]}]}),
        json!({"messages":[user("q")],"tools":[{"function":{"name":"f","parameters":[]}}]}),
        json!({"messages":[user("q")],"temperature":"hot"}),
        json!({"messages":[user("q")],"max_tokens":-1}),
    ] {
        let _ = to_gemini_request(&obj(req));
    }
}

// ---------------------------------------------------------------------------------------------
// Responses

fn response(body: Value) -> Completion {
    from_gemini_response(body.to_string().as_bytes(), MODEL, 1_700_000_000).unwrap()
}

fn candidate(parts: Value, finish: &str) -> Value {
    json!({"candidates":[{"index":0,"content":{"role":"model","parts":parts},"finishReason":finish}],
        "usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":3,"totalTokenCount":8},
        "modelVersion":"gemini-2.5-flash-001","responseId":"r1"})
}

// Proves a text answer becomes exactly the OpenAI chat.completion body.
#[test]
fn text_response_translates_exactly() {
    let c = response(candidate(
        json!([{"text":"Hello "},{"text":"there"}]),
        "STOP",
    ));
    let want = json!({"id":"chatcmpl-r1","object":"chat.completion","created":1_700_000_000u64,
        "model":"gemini-2.5-flash-001",
        "choices":[{"index":0,"message":{"role":"assistant","content":"Hello there","refusal":null},
            "logprobs":null,"finish_reason":"stop"}],
        "usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8,
            "prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}});
    assert_eq!(Value::Object(c.body), want);
    assert_eq!(c.text, "Hello there");
    assert_eq!((c.input_tokens, c.output_tokens), (Some(5), Some(3)));
}

// Proves function calls become tool_calls with minted or kept ids, JSON-text arguments, null
// content, and finish_reason tool_calls although Gemini says STOP.
#[test]
fn function_calls_become_tool_calls() {
    let c = response(candidate(
        json!([{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"sig"},
            {"functionCall":{"id":"g-7","name":"now"}}]),
        "STOP",
    ));
    let msg = &c.body["choices"][0]["message"];
    assert_eq!(msg["content"], Value::Null);
    assert_eq!(
        msg["tool_calls"],
        json!([{"id":"call_r1_0","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
            {"id":"g-7","type":"function","function":{"name":"now","arguments":"{}"}}])
    );
    assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
    assert!(c.tool_calls.unwrap().contains("Paris"));
}

// Proves thought parts are skipped and non-text parts are tolerated.
#[test]
fn thoughts_are_skipped() {
    let c = response(candidate(
        json!([{"text":"pondering…","thought":true},{"inlineData":{"mimeType":"image/png","data":"AA"}},
            {"text":"Answer.","thoughtSignature":"s"},{"thought":false,"text":"!"}, 7, {"text":5}]),
        "STOP",
    ));
    assert_eq!(c.text, "Answer.!");
}

// Proves every Gemini finish reason maps to its OpenAI value (with and without tool calls).
#[test]
fn every_finish_reason_maps() {
    for (reason, want) in [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("IMAGE_SAFETY", "content_filter"),
        ("IMAGE_PROHIBITED_CONTENT", "content_filter"),
        ("LANGUAGE", "stop"),
        ("OTHER", "stop"),
        ("FINISH_REASON_UNSPECIFIED", "stop"),
        ("MALFORMED_FUNCTION_CALL", "stop"),
        ("SOMETHING_NEW", "stop"),
    ] {
        let c = response(candidate(json!([{"text":"t"}]), reason));
        assert_eq!(c.finish_reason.as_deref(), Some(want), "{reason}");
    }
    let call = json!([{"functionCall":{"name":"f","args":{}}}]);
    for (reason, want) in [
        ("STOP", "tool_calls"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
    ] {
        let c = response(candidate(call.clone(), reason));
        assert_eq!(
            c.finish_reason.as_deref(),
            Some(want),
            "{reason} with a call"
        );
    }
    let mut no_reason = candidate(json!([{"text":"t"}]), "STOP");
    no_reason["candidates"][0]
        .as_object_mut()
        .unwrap()
        .remove("finishReason");
    assert_eq!(response(no_reason).finish_reason.as_deref(), Some("stop"));
}

// Proves a candidate stopped for safety with no content is an empty content_filter answer.
#[test]
fn safety_stop_without_content() {
    let body = json!({"candidates":[{"finishReason":"SAFETY","index":0,"safetyRatings":[]}],"responseId":"r"});
    let c = response(body);
    assert_eq!(
        (c.text.as_str(), c.finish_reason.as_deref()),
        ("", Some("content_filter"))
    );
    assert_eq!(c.body["choices"][0]["message"]["content"], "");
}

// Proves a blocked prompt (no candidates) is an empty content_filter answer with its usage.
#[test]
fn blocked_prompt_is_content_filter() {
    let body = json!({"promptFeedback":{"blockReason":"PROHIBITED_CONTENT","safetyRatings":[]},
        "usageMetadata":{"promptTokenCount":9,"totalTokenCount":9},"modelVersion":"gemini-2.5-pro"});
    let c = response(body);
    assert_eq!(c.finish_reason.as_deref(), Some("content_filter"));
    assert_eq!(c.text, "");
    assert_eq!((c.input_tokens, c.output_tokens), (Some(9), Some(0)));
    assert_eq!(c.body["model"], "gemini-2.5-pro");
    assert!(c.body["id"].as_str().unwrap().starts_with("chatcmpl-"));
}

// Proves usage counts thoughts inside completion tokens and reports cached prompt tokens.
#[test]
fn usage_counts_thoughts_and_cache() {
    let mut body = candidate(json!([{"text":"t"}]), "STOP");
    body["usageMetadata"] = json!({"promptTokenCount":120,"candidatesTokenCount":14,
        "thoughtsTokenCount":90,"cachedContentTokenCount":100,"toolUsePromptTokenCount":3,"totalTokenCount":227});
    let c = response(body);
    assert_eq!(
        c.body["usage"],
        json!({"prompt_tokens":120,"completion_tokens":104,"total_tokens":224,
            "prompt_tokens_details":{"cached_tokens":100},"completion_tokens_details":{"reasoning_tokens":90}})
    );
    let mut no_usage = candidate(json!([{"text":"t"}]), "STOP");
    no_usage.as_object_mut().unwrap().remove("usageMetadata");
    let c = response(no_usage);
    assert_eq!((c.input_tokens, c.output_tokens), (None, None));
    assert!(c.body.get("usage").is_none());
}

// Proves the requested model and a minted id stand in when Gemini names neither.
#[test]
fn model_and_id_fallbacks() {
    let c = response(
        json!({"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"STOP"}]}),
    );
    assert_eq!(c.body["model"], MODEL);
    let id = c.body["id"].as_str().unwrap();
    assert!(id.starts_with("chatcmpl-") && id.len() > 12, "{id}");
}

// Proves a failed function call with nothing usable is an invalid response, not an empty stop.
#[test]
fn failed_function_call_without_output_is_an_error() {
    for reason in [
        "MALFORMED_FUNCTION_CALL",
        "UNEXPECTED_TOOL_CALL",
        "TOO_MANY_TOOL_CALLS",
    ] {
        let body = json!({"candidates":[{"content":{"parts":[]},"finishReason":reason}]});
        match from_gemini_response(body.to_string().as_bytes(), MODEL, 1) {
            Err(UpstreamError::InvalidResponse(m)) => assert!(m.contains(reason), "{m}"),
            other => panic!("{reason}: {other:?}"),
        }
    }
}

// Proves bodies that are not a Gemini answer are invalid responses, never panics.
#[test]
fn invalid_bodies_are_invalid_responses() {
    for body in [
        &b"not json"[..],
        b"[]",
        b"42",
        b"{}",
        br#"{"candidates":"x"}"#,
        br#"{"candidates":[]}"#,
        br#"{"promptFeedback":{}}"#,
    ] {
        assert!(
            matches!(
                from_gemini_response(body, MODEL, 1),
                Err(UpstreamError::InvalidResponse(_))
            ),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    // Odd shapes inside a candidate are tolerated.
    let c = response(
        json!({"candidates":[{"content":{"parts":"x"}},{"content":null}],
        "usageMetadata":{"promptTokenCount":"many"}}),
    );
    assert_eq!((c.text.as_str(), c.input_tokens), ("", Some(0)));
}

// ---------------------------------------------------------------------------------------------
// Errors

fn status_fields(e: UpstreamError) -> (u16, String, Option<String>, String, Option<String>) {
    match e {
        UpstreamError::Status {
            status,
            kind,
            code,
            message,
            retry_after,
            ..
        } => (status, kind, code, message, retry_after),
        other => panic!("expected Status, got {other:?}"),
    }
}

fn rpc_error(code: u16, status: &str, details: Value) -> Vec<u8> {
    json!({"error":{"code":code,"message":format!("{status} happened"),"status":status,"details":details}})
        .to_string()
        .into_bytes()
}

// Proves a 429 RESOURCE_EXHAUSTED keeps its status and takes retry_after from RetryInfo.
#[test]
fn resource_exhausted_reads_retry_info() {
    let body = rpc_error(
        429,
        "RESOURCE_EXHAUSTED",
        json!([{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[]},
            {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"30s"}]),
    );
    let (status, kind, code, message, retry) =
        status_fields(error_from_response(429, &HeaderMap::new(), &body));
    assert_eq!((status, kind.as_str()), (429, "rate_limit_error"));
    assert_eq!(code.as_deref(), Some("RESOURCE_EXHAUSTED"));
    assert_eq!(message, "RESOURCE_EXHAUSTED happened");
    assert_eq!(retry.as_deref(), Some("30"));
}

// Proves a retry-after header wins over RetryInfo, and fractional delays round up.
#[test]
fn retry_after_header_and_fractional_delays() {
    let mut headers = HeaderMap::new();
    headers.insert("retry-after", HeaderValue::from_static("7"));
    let body = rpc_error(
        429,
        "RESOURCE_EXHAUSTED",
        json!([{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"30s"}]),
    );
    assert_eq!(
        status_fields(error_from_response(429, &headers, &body))
            .4
            .as_deref(),
        Some("7")
    );
    for (delay, want) in [
        ("1.2s", Some("2")),
        ("0s", Some("0")),
        ("soon", None),
        ("-3s", None),
    ] {
        let body = rpc_error(
            503,
            "UNAVAILABLE",
            json!([{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":delay}]),
        );
        let retry = status_fields(error_from_response(503, &HeaderMap::new(), &body)).4;
        assert_eq!(retry.as_deref(), want, "{delay}");
    }
}

// Proves each google.rpc status maps to its OpenAI error type with the HTTP status kept.
#[test]
fn every_rpc_status_maps() {
    for (http, rpc, want) in [
        (400, "INVALID_ARGUMENT", "invalid_request_error"),
        (400, "FAILED_PRECONDITION", "invalid_request_error"),
        (401, "UNAUTHENTICATED", "authentication_error"),
        (403, "PERMISSION_DENIED", "permission_error"),
        (404, "NOT_FOUND", "not_found_error"),
        (429, "RESOURCE_EXHAUSTED", "rate_limit_error"),
        (500, "INTERNAL", "api_error"),
        (503, "UNAVAILABLE", "api_error"),
        (504, "DEADLINE_EXCEEDED", "api_error"),
        (409, "ABORTED", "invalid_request_error"),
    ] {
        let (status, kind, code, _, retry) = status_fields(error_from_response(
            http,
            &HeaderMap::new(),
            &rpc_error(http, rpc, json!([])),
        ));
        assert_eq!((status, kind.as_str()), (http, want), "{rpc}");
        assert_eq!(code.as_deref(), Some(rpc));
        assert_eq!(retry, None);
    }
}

// Proves Gemini's bad-key answer (400 INVALID_ARGUMENT, reason API_KEY_INVALID) reads as an
// authentication error while keeping its status.
#[test]
fn invalid_api_key_is_an_authentication_error() {
    let body = rpc_error(
        400,
        "INVALID_ARGUMENT",
        json!([{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID",
            "domain":"googleapis.com"}]),
    );
    let (status, kind, code, _, _) =
        status_fields(error_from_response(400, &HeaderMap::new(), &body));
    assert_eq!(
        (status, kind.as_str(), code.as_deref()),
        (400, "authentication_error", Some("INVALID_ARGUMENT"))
    );
}

// Proves non-JSON, foreign and array-wrapped error bodies still give a sensible Status.
#[test]
fn odd_error_bodies() {
    let (status, kind, code, message, _) = status_fields(error_from_response(
        502,
        &HeaderMap::new(),
        b"<html>Bad Gateway</html>",
    ));
    assert_eq!((status, kind.as_str(), code), (502, "api_error", None));
    assert!(message.contains("Bad Gateway"), "{message}");
    let (_, kind, _, message, _) = status_fields(error_from_response(404, &HeaderMap::new(), b""));
    assert_eq!(kind, "not_found_error");
    assert!(message.contains("404"), "{message}");
    let wrapped = format!(
        "[{}]",
        String::from_utf8(rpc_error(429, "RESOURCE_EXHAUSTED", json!([]))).unwrap()
    );
    let (_, kind, code, _, _) = status_fields(error_from_response(
        429,
        &HeaderMap::new(),
        wrapped.as_bytes(),
    ));
    assert_eq!(
        (kind.as_str(), code.as_deref()),
        ("rate_limit_error", Some("RESOURCE_EXHAUSTED"))
    );
    let (_, kind, code, _, _) = status_fields(error_from_response(
        400,
        &HeaderMap::new(),
        br#"{"error":"plain"}"#,
    ));
    assert_eq!((kind.as_str(), code), ("invalid_request_error", None));
}
