//! Unit tests for the Anthropic translation functions (provider-apis.md §3 and the §4 examples).

use super::*;
use crate::providers::translate::Object;
use crate::providers::{Completion, UpstreamError};
use serde_json::{Value, json};

const MODEL: &str = "claude-sonnet-4-5";

fn obj(v: Value) -> Object {
    v.as_object().cloned().unwrap()
}

fn translate(req: Value) -> Value {
    to_messages_request(&obj(req), MODEL, 4096).unwrap()
}

/// The `param` of an Untranslatable error, panicking on anything else.
fn rejected(req: Value) -> String {
    match to_messages_request(&obj(req), MODEL, 4096) {
        Err(UpstreamError::Untranslatable { param, .. }) => param.unwrap(),
        other => panic!("expected Untranslatable, got {other:?}"),
    }
}

fn user(text: &str) -> Value {
    json!({ "role": "user", "content": text })
}

// ---------------------------------------------------------------------------------------------
// §4 examples

#[test]
fn section4_request_translates_exactly() {
    // The §4 OpenAI request becomes exactly the §4 Anthropic request.
    let req = json!({"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"Weather in Paris?"}],
        "max_completion_tokens":256,"temperature":0.2,"stop":["\n\n"],"stream":false,
        "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],
        "tool_choice":"auto"});
    let want = json!({"model":"claude-sonnet-4-5","system":"Be terse.","max_tokens":256,"temperature":0.2,"stop_sequences":["\n\n"],
        "messages":[{"role":"user","content":"Weather in Paris?"}],
        "tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],
        "tool_choice":{"type":"auto"}});
    assert_eq!(translate(req), want);
}

#[test]
fn section4_tool_use_response() {
    // The §4 tool-use response becomes an OpenAI tool_calls completion.
    let body = br#"{"id":"msg_2","type":"message","role":"assistant","model":"claude-sonnet-4-5","stop_reason":"tool_use","stop_sequence":null,
        "content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],
        "usage":{"input_tokens":310,"output_tokens":48}}"#;
    let c = from_messages_response(body, 1_732_406_400).unwrap();
    let want = json!({"id":"msg_2","object":"chat.completion","created":1_732_406_400u64,"model":"claude-sonnet-4-5",
        "choices":[{"index":0,"logprobs":null,"finish_reason":"tool_calls","message":{"role":"assistant","content":"Checking.","refusal":null,
            "tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}}],
        "usage":{"prompt_tokens":310,"completion_tokens":48,"total_tokens":358,"prompt_tokens_details":{"cached_tokens":0}}});
    assert_eq!(Value::Object(c.body), want);
    assert_eq!(c.text, "Checking.");
    assert_eq!(c.input_tokens, Some(310));
    assert_eq!(c.output_tokens, Some(48));
    assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
}

#[test]
fn section4_tool_result_turn() {
    // An OpenAI assistant tool call plus tool reply become the §4 tool_use / tool_result turns.
    let req = json!({"messages":[
        user("Weather in Paris?"),
        {"role":"assistant","content":null,"tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
        {"role":"tool","tool_call_id":"toolu_1","content":"18°C, cloudy"}]});
    let want = json!([user("Weather in Paris?"),
        {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"18°C, cloudy"}]}]);
    assert_eq!(translate(req)["messages"], want);
}

// ---------------------------------------------------------------------------------------------
// Messages

#[test]
fn system_and_developer_messages_anywhere_are_joined() {
    // System and developer texts from any position (string or text parts) join with a blank line.
    let req = json!({"messages":[
        {"role":"system","content":"A"},
        user("hi"),
        {"role":"developer","content":[{"type":"text","text":"B"},{"type":"text","text":"C"}]},
        {"role":"system","content":null}]});
    let out = translate(req);
    assert_eq!(out["system"], "A\n\nB\n\nC");
    assert_eq!(out["messages"], json!([user("hi")]));
}

#[test]
fn no_system_message_means_no_system_field() {
    // Without system messages the field is left out rather than sent empty.
    assert!(
        translate(json!({"messages":[user("hi")]}))
            .get("system")
            .is_none()
    );
}

#[test]
fn system_message_with_image_is_rejected() {
    // Anthropic's system prompt is text only.
    let req = json!({"messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x/a.png"}}]},user("hi")]});
    assert_eq!(rejected(req), "messages");
}

#[test]
fn adjacent_same_role_messages_merge() {
    // Two user messages in a row become one user turn with two text blocks.
    let req = json!({"messages":[user("one"),{"role":"user","content":[{"type":"text","text":"two"}]},
        {"role":"assistant","content":"a"},{"role":"assistant","content":"b"},user("three")]});
    let want = json!([
        {"role":"user","content":[{"type":"text","text":"one"},{"type":"text","text":"two"}]},
        {"role":"assistant","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
        user("three")]);
    assert_eq!(translate(req)["messages"], want);
}

#[test]
fn single_text_part_array_becomes_string() {
    // A lone text part is the same as string content, so it is sent as a string.
    let req = json!({"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]});
    assert_eq!(translate(req)["messages"], json!([user("hi")]));
}

#[test]
fn consecutive_tool_messages_form_one_user_turn_merged_with_next_user() {
    // Tool results share one user turn, the following user text joins it, results come first.
    let req = json!({"messages":[
        user("go"),
        {"role":"assistant","content":"","tool_calls":[
            {"id":"t1","type":"function","function":{"name":"a","arguments":"{}"}},
            {"id":"t2","type":"function","function":{"name":"b","arguments":"{\"x\":1}"}}]},
        {"role":"tool","tool_call_id":"t1","content":"r1"},
        {"role":"tool","tool_call_id":"t2","content":[{"type":"text","text":"r2"}]},
        user("thanks")]});
    let want = json!([
        user("go"),
        {"role":"assistant","content":[
            {"type":"tool_use","id":"t1","name":"a","input":{}},
            {"type":"tool_use","id":"t2","name":"b","input":{"x":1}}]},
        {"role":"user","content":[
            {"type":"tool_result","tool_use_id":"t1","content":"r1"},
            {"type":"tool_result","tool_use_id":"t2","content":[{"type":"text","text":"r2"}]},
            {"type":"text","text":"thanks"}]}]);
    assert_eq!(translate(req)["messages"], want);
}

#[test]
fn tool_results_are_moved_before_user_text() {
    // Anthropic wants tool_result blocks first, even if the user text came first.
    let req = json!({"messages":[user("q"),
        {"role":"assistant","tool_calls":[{"id":"t1","function":{"name":"a","arguments":"{}"}}]},
        user("note"),{"role":"tool","tool_call_id":"t1","content":null}]});
    let out = translate(req);
    assert_eq!(
        out["messages"][2]["content"],
        json!([{"type":"tool_result","tool_use_id":"t1"},{"type":"text","text":"note"}])
    );
}

#[test]
fn assistant_text_and_tool_calls_keep_order() {
    // Assistant text comes before its tool_use blocks.
    let req = json!({"messages":[user("q"),
        {"role":"assistant","content":"Checking.","tool_calls":[{"id":"t1","type":"function","function":{"name":"w","arguments":"{\"c\":\"P\"}"}}]}]});
    assert_eq!(
        translate(req)["messages"][1]["content"],
        json!([{"type":"text","text":"Checking."},{"type":"tool_use","id":"t1","name":"w","input":{"c":"P"}}])
    );
}

#[test]
fn first_assistant_message_is_rejected() {
    // Anthropic needs a user turn first; kt refuses rather than inventing one.
    let req = json!({"messages":[{"role":"system","content":"s"},{"role":"assistant","content":"hello"},user("hi")]});
    assert_eq!(rejected(req), "messages");
}

#[test]
fn malformed_messages_are_rejected_with_param() {
    // Missing, mistyped, empty and role-less message lists are 400s naming `messages`.
    for req in [
        json!({}),
        json!({"messages":"hi"}),
        json!({"messages":[]}),
        json!({"messages":[{"role":"system","content":"only system"}]}),
        json!({"messages":[42]}),
        json!({"messages":[{"content":"no role"}]}),
        json!({"messages":[{"role":7,"content":"x"}]}),
        json!({"messages":[{"role":"wizard","content":"x"}]}),
        json!({"messages":[{"role":"user","content":42}]}),
        json!({"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}),
        json!({"messages":[{"role":"user","content":[{"type":"text"}]}]}),
        json!({"messages":[{"role":"user","content":["bare string part"]}]}),
        json!({"messages":[user("q"),{"role":"tool","content":"no id"}]}),
    ] {
        assert_eq!(rejected(req.clone()), "messages", "{req}");
    }
}

#[test]
fn function_role_is_refused() {
    // The legacy `function` role would be dropped silently; it is refused by name instead.
    let req =
        json!({"messages":[user("a"),{"role":"function","name":"f","content":"x"},user("b")]});
    assert_eq!(rejected(req), "messages");
}

#[test]
fn images_translate_to_base64_and_url_sources() {
    // data: URLs become base64 sources, https URLs url sources (object or string image_url).
    let req = json!({"messages":[{"role":"user","content":[
        {"type":"text","text":"What is this?"},
        {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}},
        {"type":"image_url","image_url":"https://example.com/cat.jpg"}]}]});
    assert_eq!(
        translate(req)["messages"][0]["content"],
        json!([
        {"type":"text","text":"What is this?"},
        {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
        {"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}])
    );
}

#[test]
fn bad_image_urls_are_rejected() {
    // Non-base64 data URLs, other schemes and missing URLs cannot be expressed.
    for url in [
        json!("data:image/png,rawbytes"),
        json!("data:;base64,AAAA"),
        json!("ftp://x/y.png"),
        json!(null),
    ] {
        let req = json!({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":url}}]}]});
        assert_eq!(rejected(req), "messages", "{url}");
    }
}

#[test]
fn empty_assistant_text_beside_tool_calls_is_dropped() {
    // `content: ""` next to tool_calls must not become an empty text block (Anthropic 400s on it).
    let req = json!({"messages":[user("q"),{"role":"assistant","content":"","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]}]});
    assert_eq!(
        translate(req)["messages"][1]["content"],
        json!([{"type":"tool_use","id":"t","name":"f","input":{}}])
    );
}

#[test]
fn empty_string_content_is_kept() {
    // A lone empty string stays an empty string; the upstream decides whether it is acceptable.
    assert_eq!(
        translate(json!({"messages":[user("")]}))["messages"],
        json!([user("")])
    );
}

#[test]
fn invalid_tool_arguments_are_rejected() {
    // Arguments that are not a JSON object cannot become Anthropic's `input`.
    for args in [
        json!("{not json"),
        json!("[1,2]"),
        json!("\"s\""),
        json!(12),
    ] {
        let req = json!({"messages":[user("q"),{"role":"assistant","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":args}}]}]});
        assert_eq!(rejected(req), "messages", "{args}");
    }
    let no_name = json!({"messages":[user("q"),{"role":"assistant","tool_calls":[{"id":"t","function":{"arguments":"{}"}}]}]});
    assert_eq!(rejected(no_name), "messages");
    let not_array = json!({"messages":[user("q"),{"role":"assistant","tool_calls":{"id":"t"}}]});
    assert_eq!(rejected(not_array), "messages");
}

#[test]
fn empty_or_object_tool_arguments_are_accepted() {
    // Empty arguments mean `{}`; already-parsed objects are taken as they are.
    for (args, input) in [
        (json!(""), json!({})),
        (json!(null), json!({})),
        (json!({"a":1}), json!({"a":1})),
    ] {
        let req = json!({"messages":[user("q"),{"role":"assistant","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":args}}]}]});
        assert_eq!(translate(req)["messages"][1]["content"][0]["input"], input);
    }
}

// ---------------------------------------------------------------------------------------------
// Other request fields

#[test]
fn max_tokens_precedence_and_default() {
    // max_completion_tokens beats max_tokens, which beats the configured default.
    let m = |extra: Value| {
        let mut req = obj(json!({"messages":[user("q")]}));
        req.extend(obj(extra));
        to_messages_request(&req, MODEL, 1234).unwrap()["max_tokens"].clone()
    };
    assert_eq!(m(json!({})), 1234);
    assert_eq!(m(json!({"max_tokens":50})), 50);
    assert_eq!(m(json!({"max_tokens":50,"max_completion_tokens":70})), 70);
    assert_eq!(
        m(json!({"max_completion_tokens":null,"max_tokens":null})),
        1234
    );
    assert_eq!(
        rejected(json!({"messages":[user("q")],"max_tokens":"many"})),
        "max_tokens"
    );
    assert_eq!(
        rejected(json!({"messages":[user("q")],"max_completion_tokens":-1})),
        "max_completion_tokens"
    );
}

#[test]
fn stop_string_is_wrapped_and_empties_dropped() {
    // A single stop string becomes a one-element list; empty strings vanish, and so does an empty list.
    let stop = |s: Value| {
        translate(json!({"messages":[user("q")],"stop":s}))
            .get("stop_sequences")
            .cloned()
    };
    assert_eq!(stop(json!("END")), Some(json!(["END"])));
    assert_eq!(stop(json!(["a", "", "b"])), Some(json!(["a", "b"])));
    assert_eq!(stop(json!("")), None);
    assert_eq!(stop(json!([""])), None);
    assert_eq!(stop(json!(null)), None);
    assert_eq!(rejected(json!({"messages":[user("q")],"stop":[1]})), "stop");
    assert_eq!(
        rejected(json!({"messages":[user("q")],"stop":true})),
        "stop"
    );
}

#[test]
fn temperature_is_clamped_not_scaled() {
    // Values above 1.0 become 1.0; values in range are untouched.
    let t = |v: Value| {
        translate(json!({"messages":[user("q")],"temperature":v}))["temperature"].clone()
    };
    assert_eq!(t(json!(1.7)), json!(1.0));
    assert_eq!(t(json!(2)), json!(1.0));
    assert_eq!(t(json!(0.2)), json!(0.2));
    assert_eq!(t(json!(1)), json!(1));
    assert!(
        translate(json!({"messages":[user("q")],"temperature":null}))
            .get("temperature")
            .is_none()
    );
    assert_eq!(
        rejected(json!({"messages":[user("q")],"temperature":"hot"})),
        "temperature"
    );
}

#[test]
fn top_p_passes_through() {
    // top_p has the same meaning on both sides.
    assert_eq!(
        translate(json!({"messages":[user("q")],"top_p":0.9}))["top_p"],
        json!(0.9)
    );
    assert_eq!(
        rejected(json!({"messages":[user("q")],"top_p":[]})),
        "top_p"
    );
}

#[test]
fn n_above_one_is_rejected() {
    // Anthropic has no `n`: only 1 (or absent) is served.
    assert_eq!(rejected(json!({"messages":[user("q")],"n":2})), "n");
    assert_eq!(rejected(json!({"messages":[user("q")],"n":0})), "n");
    assert_eq!(rejected(json!({"messages":[user("q")],"n":"2"})), "n");
    assert!(
        translate(json!({"messages":[user("q")],"n":1}))
            .get("n")
            .is_none()
    );
}

#[test]
fn tools_get_default_schema_and_description() {
    // A tool without parameters gets an empty object schema; description is carried, strict dropped.
    let req = json!({"messages":[user("q")],"tools":[
        {"type":"function","function":{"name":"now","description":"Current time","strict":true}},
        {"type":"function","function":{"name":"w","parameters":{"type":"object","properties":{"c":{"type":"string"}}}}}]});
    assert_eq!(
        translate(req)["tools"],
        json!([
        {"name":"now","description":"Current time","input_schema":{"type":"object","properties":{}}},
        {"name":"w","input_schema":{"type":"object","properties":{"c":{"type":"string"}}}}])
    );
}

#[test]
fn bad_tools_are_rejected() {
    // Custom tools, nameless functions and non-object schemas cannot be translated.
    for tools in [
        json!({"name":"x"}),
        json!([{"type":"custom","custom":{"name":"x"}}]),
        json!([{"type":"function","function":{}}]),
        json!([{"type":"function","function":{"name":"x","parameters":"{}"}}]),
    ] {
        assert_eq!(
            rejected(json!({"messages":[user("q")],"tools":tools})),
            "tools"
        );
    }
}

fn with_tools(extra: Value) -> Value {
    let mut req =
        obj(json!({"messages":[user("q")],"tools":[{"type":"function","function":{"name":"w"}}]}));
    req.extend(obj(extra));
    to_messages_request(&req, MODEL, 10).unwrap()
}

#[test]
fn tool_choice_mapping() {
    // auto/none/required/function map to auto/none/any/tool.
    let choice = |c: Value| {
        with_tools(json!({"tool_choice":c}))
            .get("tool_choice")
            .cloned()
    };
    assert_eq!(choice(json!("auto")), Some(json!({"type":"auto"})));
    assert_eq!(choice(json!("none")), Some(json!({"type":"none"})));
    assert_eq!(choice(json!("required")), Some(json!({"type":"any"})));
    assert_eq!(
        choice(json!({"type":"function","function":{"name":"w"}})),
        Some(json!({"type":"tool","name":"w"}))
    );
    assert_eq!(choice(json!(null)), None);
    for bad in [
        json!("sometimes"),
        json!({"type":"allowed_tools"}),
        json!(3),
    ] {
        let req = json!({"messages":[user("q")],"tools":[{"type":"function","function":{"name":"w"}}],"tool_choice":bad});
        assert_eq!(rejected(req), "tool_choice");
    }
}

#[test]
fn parallel_tool_calls_false_disables_parallel_use() {
    // parallel_tool_calls:false sets the flag, on `auto` when no tool_choice was given; `none` takes none.
    assert_eq!(
        with_tools(json!({"parallel_tool_calls":false}))["tool_choice"],
        json!({"type":"auto","disable_parallel_tool_use":true})
    );
    assert_eq!(
        with_tools(json!({"parallel_tool_calls":false,"tool_choice":"required"}))["tool_choice"],
        json!({"type":"any","disable_parallel_tool_use":true})
    );
    assert_eq!(
        with_tools(json!({"parallel_tool_calls":false,"tool_choice":"none"}))["tool_choice"],
        json!({"type":"none"})
    );
    assert!(
        with_tools(json!({"parallel_tool_calls":true}))
            .get("tool_choice")
            .is_none()
    );
}

#[test]
fn tool_choice_without_tools_is_omitted() {
    // With no tools there is nothing to choose, so no tool_choice goes upstream.
    let out = translate(
        json!({"messages":[user("q")],"tools":[],"tool_choice":"auto","parallel_tool_calls":false}),
    );
    assert!(out.get("tools").is_none());
    assert!(out.get("tool_choice").is_none());
}

#[test]
fn user_and_safety_identifier_become_metadata() {
    // safety_identifier wins over the deprecated `user`.
    let meta = |extra: Value| {
        let mut req = obj(json!({"messages":[user("q")]}));
        req.extend(obj(extra));
        to_messages_request(&req, MODEL, 10)
            .unwrap()
            .get("metadata")
            .cloned()
    };
    assert_eq!(meta(json!({"user":"u1"})), Some(json!({"user_id":"u1"})));
    assert_eq!(
        meta(json!({"user":"u1","safety_identifier":"s1"})),
        Some(json!({"user_id":"s1"}))
    );
    assert_eq!(meta(json!({})), None);
    assert_eq!(rejected(json!({"messages":[user("q")],"user":5})), "user");
}

#[test]
fn stream_only_when_true() {
    // stream:true is kept; false or absent leaves the field out.
    assert_eq!(
        translate(json!({"messages":[user("q")],"stream":true}))["stream"],
        json!(true)
    );
    assert!(
        translate(json!({"messages":[user("q")],"stream":false}))
            .get("stream")
            .is_none()
    );
}

#[test]
fn response_format_json_schema_becomes_output_config() {
    // json_schema maps to output_config.format; text leaves nothing behind; json_object and a
    // schema-less json_schema have no equivalent and are refused, never silently dropped.
    let schema = json!({"type":"object","properties":{"a":{"type":"string"}}});
    let out = translate(json!({"messages":[user("q")],
        "response_format":{"type":"json_schema","json_schema":{"name":"x","schema":schema,"strict":true}}}));
    assert_eq!(
        out["output_config"],
        json!({"format":{"type":"json_schema","schema":schema}})
    );
    assert!(
        translate(json!({"messages":[user("q")],"response_format":{"type":"text"}}))
            .get("output_config")
            .is_none()
    );
    for rf in [
        json!({"type":"json_object"}),
        json!({"type":"json_schema","json_schema":{"name":"x"}}),
    ] {
        assert_eq!(
            rejected(json!({"messages":[user("q")],"response_format":rf})),
            "response_format"
        );
    }
    assert_eq!(
        rejected(json!({"messages":[user("q")],"response_format":"json"})),
        "response_format"
    );
}

#[test]
fn ignorable_fields_are_dropped_and_model_is_the_routes() {
    // metadata, store, service_tier and neutral values never reach Anthropic; the model comes
    // from the route.
    let out = translate(
        json!({"model":"gpt-4o","messages":[user("q")],"logprobs":false,"presence_penalty":0,
        "metadata":{"a":"b"},"store":true,"service_tier":"auto","stream_options":{"include_usage":true}}),
    );
    assert_eq!(
        out,
        json!({"model":MODEL,"max_tokens":4096,"messages":[user("q")]})
    );
}

#[test]
fn fields_anthropic_cannot_express_are_refused() {
    // Every field that would change the answer and has no Anthropic equivalent is refused by name.
    for (field, value) in [
        ("seed", json!(1)),
        ("logprobs", json!(true)),
        ("top_logprobs", json!(3)),
        ("presence_penalty", json!(0.5)),
        ("frequency_penalty", json!(0.5)),
        ("logit_bias", json!({"50256": -100})),
        ("functions", json!([{"name": "f"}])),
        ("function_call", json!("auto")),
        ("reasoning_effort", json!("high")),
    ] {
        let mut req = json!({"messages":[user("q")]});
        req[field] = value;
        assert_eq!(rejected(req), field);
    }
}

#[test]
fn odd_shapes_never_panic() {
    // Every field at a wrong type yields Ok or an error, never a panic.
    let odd = [
        json!(null),
        json!(1),
        json!("s"),
        json!([]),
        json!({}),
        json!([null]),
        json!([{}]),
        json!(true),
    ];
    let keys = [
        "messages",
        "max_tokens",
        "stop",
        "temperature",
        "top_p",
        "n",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "user",
        "stream",
        "response_format",
    ];
    for key in keys {
        for v in &odd {
            let mut req = obj(json!({"messages":[user("q")]}));
            req.insert(key.into(), v.clone());
            let _ = to_messages_request(&req, MODEL, 10);
        }
    }
    for v in &odd {
        for field in ["content", "role", "tool_calls", "tool_call_id"] {
            let mut msg = obj(json!({"role":"assistant","content":"x"}));
            msg.insert(field.into(), v.clone());
            let req = obj(
                json!({"messages":[user("q"), msg, {"role":"tool","tool_call_id":v,"content":v}]}),
            );
            let _ = to_messages_request(&req, MODEL, 10);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Responses

fn response(stop_reason: Value, content: Value, usage: Value) -> Completion {
    let body = json!({"id":"msg_1","type":"message","role":"assistant","model":MODEL,
        "content":content,"stop_reason":stop_reason,"stop_sequence":null,"usage":usage});
    from_messages_response(body.to_string().as_bytes(), 7).unwrap()
}

fn text_content() -> Value {
    json!([{"type":"text","text":"Hello"}])
}

#[test]
fn plain_text_response() {
    // The §2.2 example: text, end_turn, usage, id kept and created supplied by the gateway.
    let c = response(
        json!("end_turn"),
        json!([{"type":"text","text":"Hello! How can I help?"}]),
        json!({"input_tokens":12,"output_tokens":9,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}),
    );
    assert_eq!(c.body["id"], "msg_1");
    assert_eq!(c.body["object"], "chat.completion");
    assert_eq!(c.body["created"], 7);
    assert_eq!(c.body["model"], MODEL);
    assert_eq!(
        c.body["choices"][0]["message"],
        json!({"role":"assistant","content":"Hello! How can I help?","refusal":null})
    );
    assert_eq!(c.body["usage"]["total_tokens"], 21);
    assert_eq!(c.text, "Hello! How can I help?");
    assert_eq!(c.finish_reason.as_deref(), Some("stop"));
}

#[test]
fn text_blocks_join_and_thinking_is_dropped() {
    // Several text blocks join with no separator; thinking and server-tool blocks are ignored.
    let c = response(
        json!("end_turn"),
        json!([
        {"type":"thinking","thinking":"hmm","signature":"x"},
        {"type":"text","text":"Hel"},
        {"type":"redacted_thinking","data":"..."},
        {"type":"server_tool_use","id":"s","name":"web_search","input":{}},
        {"type":"text","text":"lo","citations":[]}]),
        json!({"input_tokens":1,"output_tokens":1}),
    );
    assert_eq!(c.text, "Hello");
    assert_eq!(c.body["choices"][0]["message"]["content"], "Hello");
    assert!(c.body["choices"][0]["message"].get("tool_calls").is_none());
}

#[test]
fn content_is_null_only_for_tool_calls_without_text() {
    // Tool calls alone give null content; no blocks at all give "".
    let c = response(
        json!("tool_use"),
        json!([{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]),
        json!(null),
    );
    assert_eq!(c.body["choices"][0]["message"]["content"], Value::Null);
    assert_eq!(
        c.body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
        "{}"
    );
    assert_eq!(c.text, "");
    let empty = response(json!("end_turn"), json!([]), json!(null));
    assert_eq!(empty.body["choices"][0]["message"]["content"], "");
}

#[test]
fn usage_counts_cache_tokens_in_the_prompt() {
    // prompt = input + cache creation + cache read; cached_tokens = cache read.
    let c = response(
        json!("end_turn"),
        text_content(),
        json!({"input_tokens":10,"output_tokens":5,
        "cache_creation_input_tokens":100,"cache_read_input_tokens":1000,"service_tier":"standard"}),
    );
    assert_eq!(
        c.body["usage"],
        json!({"prompt_tokens":1110,"completion_tokens":5,"total_tokens":1115,
        "prompt_tokens_details":{"cached_tokens":1000}})
    );
    assert_eq!(c.input_tokens, Some(1110));
    assert_eq!(c.output_tokens, Some(5));
}

#[test]
fn missing_usage_gives_no_token_counts() {
    // Without usage the OpenAI body has none and the counts are unknown, not zero.
    let body =
        json!({"id":"msg_1","model":MODEL,"content":text_content(),"stop_reason":"end_turn"});
    let c = from_messages_response(body.to_string().as_bytes(), 1).unwrap();
    assert!(c.body.get("usage").is_none());
    assert_eq!(c.input_tokens, None);
}

#[test]
fn every_stop_reason_maps() {
    // Each documented stop_reason, plus null and an unknown one, has a finish_reason.
    for (stop, finish) in [
        (json!("end_turn"), "stop"),
        (json!("stop_sequence"), "stop"),
        (json!("max_tokens"), "length"),
        (json!("tool_use"), "tool_calls"),
        (json!("refusal"), "content_filter"),
        (json!("model_context_window_exceeded"), "length"),
        (json!("pause_turn"), "stop"),
        (json!(null), "stop"),
        (json!("brand_new_reason"), "stop"),
    ] {
        let c = response(stop.clone(), text_content(), json!(null));
        assert_eq!(c.finish_reason.as_deref(), Some(finish), "{stop}");
        assert_eq!(c.body["choices"][0]["finish_reason"], finish);
    }
}

#[test]
fn invalid_bodies_are_invalid_responses() {
    // Non-JSON, non-object and content-less bodies are InvalidResponse with a short reason.
    let long_garbage = "<html>".repeat(500);
    for body in [
        b"not json".as_slice(),
        b"",
        b"[]",
        br#"{"type":"message"}"#,
        br#"{"content":"text"}"#,
        long_garbage.as_bytes(),
    ] {
        match from_messages_response(body, 1) {
            Err(UpstreamError::InvalidResponse(reason)) => assert!(reason.len() < 200, "{reason}"),
            other => panic!("expected InvalidResponse, got {other:?}"),
        }
    }
}

#[test]
fn odd_block_shapes_are_tolerated() {
    // Blocks with missing or mistyped fields are read leniently rather than failing the answer.
    let c = response(
        json!(1),
        json!([1, null, {"type":"text"}, {"type":"text","text":5},
        {"type":"tool_use"}, {"type":"tool_use","id":"t","name":"f","input":"raw"}]),
        json!({"input_tokens":"x"}),
    );
    assert_eq!(c.text, "");
    let calls = &c.body["choices"][0]["message"]["tool_calls"];
    assert_eq!(
        calls[0],
        json!({"id":"","type":"function","function":{"name":"","arguments":"{}"}})
    );
    assert_eq!(calls[1]["function"]["arguments"], "\"raw\"");
    assert_eq!(c.input_tokens, Some(0));
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

#[test]
fn overloaded_529_becomes_503() {
    // 529 is not a standard code; OpenAI clients retry 503. retry-after is forwarded.
    let body = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let got = status_fields(error_from_response(529, body, Some("3".into())));
    assert_eq!(
        got,
        (
            503,
            "overloaded_error".into(),
            Some("overloaded_error".into()),
            "Overloaded".into(),
            Some("3".into())
        )
    );
}

#[test]
fn rate_limit_keeps_status_type_and_retry_after() {
    // 429 keeps its status; kind and code are the upstream error.type.
    let body = br#"{"type":"error","error":{"type":"rate_limit_error","message":"Slow down"},"request_id":"req_1"}"#;
    let got = status_fields(error_from_response(429, body, Some("20".into())));
    assert_eq!(
        got,
        (
            429,
            "rate_limit_error".into(),
            Some("rate_limit_error".into()),
            "Slow down".into(),
            Some("20".into())
        )
    );
}

#[test]
fn other_statuses_keep_status_and_drop_retry_after() {
    // 400/401/404/413/500/504 pass through; retry-after only matters on 429/503/529.
    for (status, kind) in [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (500, "api_error"),
        (504, "timeout_error"),
    ] {
        let body = json!({"type":"error","error":{"type":kind,"message":"m"}}).to_string();
        let got = status_fields(error_from_response(
            status,
            body.as_bytes(),
            Some("1".into()),
        ));
        assert_eq!(
            got,
            (status, kind.into(), Some(kind.into()), "m".into(), None)
        );
    }
}

#[test]
fn non_json_error_body_uses_status_defaults() {
    // An HTML error page gives the status' default type, no code and a truncated snippet.
    let page = format!("<html>{}</html>", "x".repeat(1000));
    let (status, kind, code, message, _) =
        status_fields(error_from_response(502, page.as_bytes(), None));
    assert_eq!((status, kind.as_str(), code), (502, "api_error", None));
    assert!(
        message.starts_with("HTTP 502: <html>") && message.chars().count() < 220,
        "{message}"
    );
    let (status, kind, code, _, retry) =
        status_fields(error_from_response(529, b"", Some("5".into())));
    assert_eq!(
        (status, kind.as_str(), code, retry.as_deref()),
        (503, "overloaded_error", None, Some("5"))
    );
    let (_, kind, _, message, _) = status_fields(error_from_response(429, b"   ", None));
    assert_eq!(
        (kind.as_str(), message.as_str()),
        ("rate_limit_error", "HTTP 429 with an empty body")
    );
}
