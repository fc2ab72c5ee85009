use serde_json::{Value, json};

use super::*;

fn translate(v: Value) -> Result<Translated, IngressError> {
    to_chat_request(v.as_object().unwrap_or(&Object::new()))
}

/// The Chat body of a request that must translate with nothing unexpressible.
fn chat(v: Value) -> Value {
    let t = translate(v).unwrap();
    assert_eq!(t.unexpressible, Vec::<(String, String)>::new());
    Value::Object(t.chat)
}

/// The unexpressible field names of a request that translates.
fn skipped(v: Value) -> Vec<String> {
    translate(v)
        .unwrap()
        .unexpressible
        .into_iter()
        .map(|(f, _)| f)
        .collect()
}

/// The field an invalid request's error names.
fn error_field(v: Value) -> String {
    translate(v).unwrap_err().field
}

// Proves a full Responses request (instructions, every input item kind, function tools,
// tool choice, JSON schema output, sampling and the same-named fields) maps field by field.
#[test]
fn full_request_maps_to_chat_completions() {
    let got = chat(json!({
        "model": "gpt-4o-mini", "instructions": "Be terse.",
        "input": [
            {"role": "developer", "content": "Use metric units."},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Weather here?"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAA", "detail": "low"}]},
            {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
             "arguments": "{\"city\":\"Paris\"}", "status": "completed"},
            {"type": "function_call", "call_id": "call_2", "name": "get_time", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
            {"type": "function_call_output", "call_id": "call_2",
             "output": [{"type": "input_text", "text": "noon"}]},
            {"role": "user", "content": "And tomorrow?"}
        ],
        "tools": [{"type": "function", "name": "get_weather", "description": "Weather",
                   "parameters": {"type": "object"}, "strict": true},
                  {"type": "function", "name": "get_time", "parameters": null, "strict": null}],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "parallel_tool_calls": false,
        "text": {"format": {"type": "json_schema", "name": "w", "schema": {"type": "object"},
                            "strict": true, "description": "d"}, "verbosity": "low"},
        "reasoning": {"effort": "low", "summary": null},
        "max_output_tokens": 256, "temperature": 0.2, "top_p": 0.9, "top_logprobs": 2,
        "metadata": {"k": "v"}, "store": false, "user": "u", "safety_identifier": "s",
        "service_tier": "auto", "prompt_cache_key": "p", "stream": true,
        "stream_options": {"include_obfuscation": false},
        "previous_response_id": null, "background": false, "truncation": "disabled", "include": []
    }));
    assert_eq!(
        got,
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "Be terse."},
                {"role": "developer", "content": "Use metric units."},
                {"role": "user", "content": [
                    {"type": "text", "text": "Weather here?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA", "detail": "low"}}]},
                {"role": "assistant", "content": "Checking.", "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call_2", "type": "function",
                     "function": {"name": "get_time", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
                {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
                {"role": "user", "content": "And tomorrow?"}
            ],
            "tools": [
                {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                                  "parameters": {"type": "object"}, "strict": true}},
                {"type": "function", "function": {"name": "get_time"}}],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "parallel_tool_calls": false,
            "response_format": {"type": "json_schema", "json_schema":
                {"name": "w", "schema": {"type": "object"}, "description": "d", "strict": true}},
            "verbosity": "low",
            "reasoning_effort": "low",
            "max_completion_tokens": 256,
            "stream": true,
            "temperature": 0.2, "top_p": 0.9, "top_logprobs": 2,
            "metadata": {"k": "v"}, "store": false, "user": "u", "safety_identifier": "s",
            "service_tier": "auto", "prompt_cache_key": "p"
        })
    );
}

// Proves a string input is one user message and the simple text formats and tool choices map.
#[test]
fn string_input_and_simple_options() {
    let got =
        chat(json!({"model": "m", "input": "Hi", "text": {"format": {"type": "json_object"}}}));
    assert_eq!(
        got,
        json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}],
               "response_format": {"type": "json_object"}})
    );
    let got = chat(json!({"model": "m", "input": "Hi", "text": {"format": {"type": "text"}}}));
    assert_eq!(got["response_format"], json!({"type": "text"}));
    let tool = json!([{"type": "function", "name": "f", "parameters": {}}]);
    for choice in ["auto", "none", "required"] {
        let got = chat(json!({"model": "m", "input": "Hi", "tools": tool, "tool_choice": choice}));
        assert_eq!(got["tool_choice"], json!(choice));
    }
    let got = chat(
        json!({"model": "m", "input": "Hi", "tools": tool, "tool_choice":
        {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "f"}]}}),
    );
    assert_eq!(
        got["tool_choice"],
        json!({"type": "allowed_tools", "allowed_tools": {"mode": "required",
               "tools": [{"type": "function", "function": {"name": "f"}}]}})
    );
}

// Proves a tool choice and parallelism setting without any function tool are left out
// (Chat Completions refuses them without tools).
#[test]
fn tool_choice_without_tools_is_dropped() {
    let got = chat(
        json!({"model": "m", "input": "Hi", "tool_choice": "required",
                          "parallel_tool_calls": true}),
    );
    assert_eq!(
        got,
        json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]})
    );
}

// Proves a function call without preceding assistant text becomes its own assistant
// message, and an assistant refusal part becomes the message's `refusal`.
#[test]
fn lone_function_call_and_refusal() {
    let got = chat(json!({"model": "m", "input": [
        {"role": "user", "content": "Go"},
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c", "output": [
            {"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}]},
        {"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]}
    ]}));
    assert_eq!(
        got["messages"],
        json!([
            {"role": "user", "content": "Go"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c", "content": [
                {"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"role": "assistant", "content": null, "refusal": "No."}
        ])
    );
}

// Proves each OpenAI-only top-level field is reported with a reason, and neutral values are not.
#[test]
fn openai_only_fields_are_unexpressible() {
    for (field, value) in [
        ("previous_response_id", json!("resp_1")),
        ("conversation", json!("conv_1")),
        ("background", json!(true)),
        ("prompt", json!({"id": "pmpt_1"})),
        ("include", json!(["reasoning.encrypted_content"])),
        ("truncation", json!("auto")),
        ("max_tool_calls", json!(3)),
        ("context_management", json!([{"type": "compaction"}])),
        ("frequency_penalty", json!(0.5)),
    ] {
        let mut body = json!({"model": "m", "input": "Hi"});
        body[field] = value;
        let t = translate(body).unwrap();
        assert_eq!(t.unexpressible.len(), 1, "{field}");
        assert_eq!(t.unexpressible[0].0, field);
        assert!(!t.unexpressible[0].1.is_empty());
        assert_eq!(
            t.chat["messages"],
            json!([{"role": "user", "content": "Hi"}])
        );
    }
    assert_eq!(
        skipped(
            json!({"model": "m", "input": "Hi", "background": false, "include": [],
                       "truncation": "disabled", "conversation": null, "stream_options": {}})
        ),
        Vec::<String>::new()
    );
}

// Proves reasoning items, item references, built-in tool call items, files, stored images
// and unknown part types are reported by their param path while the rest still translates.
#[test]
fn unexpressible_input_items_and_parts() {
    let t = translate(json!({"model": "m", "input": [
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "item_reference", "id": "msg_0"},
        {"id": "msg_9"},
        {"type": "web_search_call", "id": "ws_1", "status": "completed"},
        {"role": "user", "content": [
            {"type": "input_text", "text": "Read"},
            {"type": "input_file", "file_id": "file_1"},
            {"type": "input_image", "file_id": "file_2", "detail": "auto"},
            {"type": "input_image", "image_url": "https://x/y.png", "detail": "original"},
            {"type": "input_audio", "data": "AAA"}]},
        {"role": "system", "content": [{"type": "input_image", "image_url": "https://x/z.png"}]},
        {"type": "function_call_output", "call_id": "c", "output": [
            {"type": "input_image", "image_url": "https://x/y.png"}]}
    ]}))
    .unwrap();
    let fields: Vec<&str> = t.unexpressible.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "input[0]",
            "input[1]",
            "input[2]",
            "input[3]",
            "input[4].content[1]",
            "input[4].content[2]",
            "input[4].content[3].detail",
            "input[4].content[4]",
            "input[5].content[0]",
            "input[6].output[0]"
        ]
    );
    assert_eq!(
        t.chat["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "Read"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
            {"role": "tool", "tool_call_id": "c", "content": ""}
        ])
    );
}

// Proves built-in tools, extra function-tool fields, built-in tool choices, other text
// formats and reasoning summaries are reported by their path.
#[test]
fn unexpressible_options() {
    let got = skipped(json!({"model": "m", "input": "Hi",
        "tools": [
            {"type": "function", "name": "f", "parameters": {}, "defer_loading": false},
            {"type": "web_search"}, {"type": "web_search_preview"}, {"type": "file_search"},
            {"type": "code_interpreter"}, {"type": "computer_use_preview"},
            {"type": "image_generation"}, {"type": "mcp"}, {"type": "local_shell"},
            {"type": "custom", "name": "c"},
            {"type": "function", "name": "g", "parameters": {}, "output_schema": {}}],
        "tool_choice": {"type": "web_search_preview"},
        "text": {"format": {"type": "grammar"}, "other": 1},
        "reasoning": {"effort": "high", "summary": "auto"}}));
    assert_eq!(
        got,
        [
            "tools[1]",
            "tools[2]",
            "tools[3]",
            "tools[4]",
            "tools[5]",
            "tools[6]",
            "tools[7]",
            "tools[8]",
            "tools[9]",
            "tools[10].output_schema",
            "tool_choice",
            "text.format",
            "text.other",
            "reasoning.summary"
        ]
    );
    let got = skipped(json!({"model": "m", "input": "Hi",
        "tools": [{"type": "function", "name": "f", "parameters": {}}],
        "tool_choice": {"type": "allowed_tools", "mode": "auto",
                        "tools": [{"type": "function", "name": "f"}, {"type": "web_search"}]}}));
    assert_eq!(got, ["tool_choice"]);
}

// Proves malformed shapes are errors naming the field by its OpenAI param path.
#[test]
fn malformed_requests_name_the_field() {
    let m = |input: Value| json!({"model": "m", "input": input});
    let cases = [
        (json!({"input": "Hi"}), "model"),
        (json!({"model": "", "input": "Hi"}), "model"),
        (json!({"model": "m"}), "input"),
        (json!({"model": "m", "input": 3}), "input"),
        (m(json!([3])), "input[0]"),
        (m(json!([{"content": "x"}])), "input[0].role"),
        (
            m(json!([{"role": "tool", "content": "x"}])),
            "input[0].role",
        ),
        (
            m(json!([{"type": 1, "role": "user", "content": "x"}])),
            "input[0].type",
        ),
        (m(json!(["ok", {"role": "user"}])), "input[0]"),
        (m(json!([{"role": "user"}])), "input[0].content"),
        (
            m(json!([{"role": "user", "content": 5}])),
            "input[0].content",
        ),
        (
            m(json!([{"role": "user", "content": [{"text": "x"}]}])),
            "input[0].content[0].type",
        ),
        (
            m(json!([{"role": "user", "content": [{"type": "input_text"}]}])),
            "input[0].content[0].text",
        ),
        (
            m(json!([{"role": "user", "content": [{"type": "input_image"}]}])),
            "input[0].content[0].image_url",
        ),
        (
            m(
                json!([{"role": "user", "content": [{"type": "input_image", "image_url": "ftp://x"}]}]),
            ),
            "input[0].content[0].image_url",
        ),
        (
            m(
                json!([{"role": "user", "content": [{"type": "input_image", "image_url": "https://x", "detail": 1}]}]),
            ),
            "input[0].content[0].detail",
        ),
        (
            m(json!([{"type": "function_call", "name": "f", "arguments": "{}"}])),
            "input[0].call_id",
        ),
        (
            m(json!([{"type": "function_call", "call_id": "c", "arguments": "{}"}])),
            "input[0].name",
        ),
        (
            m(json!([{"type": "function_call", "call_id": "c", "name": "f", "arguments": {}}])),
            "input[0].arguments",
        ),
        (
            m(json!([{"type": "function_call", "call_id": "c", "name": "f"}])),
            "input[0].arguments",
        ),
        (
            m(json!([{"type": "function_call_output", "call_id": "c"}])),
            "input[0].output",
        ),
        (
            m(json!([{"type": "function_call_output", "call_id": "c", "output": 1}])),
            "input[0].output",
        ),
        (
            m(json!([{"type": "function_call_output", "output": "x"}])),
            "input[0].call_id",
        ),
        (
            m(json!([{"type": "function_call_output", "call_id": "c", "output": [{}]}])),
            "input[0].output[0].type",
        ),
        (
            json!({"model": "m", "input": "x", "instructions": 1}),
            "instructions",
        ),
        (json!({"model": "m", "input": "x", "tools": {}}), "tools"),
        (
            json!({"model": "m", "input": "x", "tools": [1]}),
            "tools[0]",
        ),
        (
            json!({"model": "m", "input": "x", "tools": [{"name": "f"}]}),
            "tools[0].type",
        ),
        (
            json!({"model": "m", "input": "x", "tools": [{"type": "function"}]}),
            "tools[0].name",
        ),
        (
            json!({"model": "m", "input": "x", "tools": [{"type": "function", "name": "f", "parameters": "x"}]}),
            "tools[0].parameters",
        ),
        (
            json!({"model": "m", "input": "x", "tools": [{"type": "function", "name": "f", "strict": "x"}]}),
            "tools[0].strict",
        ),
        (
            json!({"model": "m", "input": "x", "tool_choice": "any"}),
            "tool_choice",
        ),
        (
            json!({"model": "m", "input": "x", "tool_choice": {}}),
            "tool_choice.type",
        ),
        (
            json!({"model": "m", "input": "x", "tool_choice": {"type": "function"}}),
            "tool_choice.name",
        ),
        (
            json!({"model": "m", "input": "x", "tool_choice": {"type": "allowed_tools", "mode": "x", "tools": []}}),
            "tool_choice.mode",
        ),
        (
            json!({"model": "m", "input": "x", "tool_choice": {"type": "allowed_tools", "mode": "auto"}}),
            "tool_choice.tools",
        ),
        (json!({"model": "m", "input": "x", "text": 1}), "text"),
        (
            json!({"model": "m", "input": "x", "text": {"format": 1}}),
            "text.format",
        ),
        (
            json!({"model": "m", "input": "x", "text": {"format": {}}}),
            "text.format.type",
        ),
        (
            json!({"model": "m", "input": "x", "text": {"format": {"type": "json_schema", "schema": {}}}}),
            "text.format.name",
        ),
        (
            json!({"model": "m", "input": "x", "text": {"format": {"type": "json_schema", "name": "n"}}}),
            "text.format.schema",
        ),
        (
            json!({"model": "m", "input": "x", "text": {"verbosity": 1}}),
            "text.verbosity",
        ),
        (
            json!({"model": "m", "input": "x", "reasoning": "high"}),
            "reasoning",
        ),
        (
            json!({"model": "m", "input": "x", "reasoning": {"effort": 1}}),
            "reasoning.effort",
        ),
        (
            json!({"model": "m", "input": "x", "max_output_tokens": -1}),
            "max_output_tokens",
        ),
        (
            json!({"model": "m", "input": "x", "stream": "yes"}),
            "stream",
        ),
        (
            json!({"model": "m", "input": "x", "temperature": "hot"}),
            "temperature",
        ),
        (
            json!({"model": "m", "input": "x", "metadata": []}),
            "metadata",
        ),
        (json!({"model": "m", "input": "x", "store": 1}), "store"),
        (
            json!({"model": "m", "input": "x", "top_logprobs": 1.5}),
            "top_logprobs",
        ),
        (
            json!({"model": "m", "input": "x", "tools": [{"type": "function", "name": "f"}], "parallel_tool_calls": 1}),
            "parallel_tool_calls",
        ),
    ];
    for (body, field) in cases {
        assert_eq!(error_field(body.clone()), field, "{body}");
    }
}

// Proves a request whose only input is unexpressible still translates (the OpenAI
// passthrough can serve it), so the gateway decides rather than the translator.
#[test]
fn stateful_request_without_input_translates() {
    let t = translate(json!({"model": "m", "previous_response_id": "resp_1"})).unwrap();
    assert_eq!(t.chat["messages"], json!([]));
    assert_eq!(t.unexpressible[0].0, "previous_response_id");
}
