//! `kt demo`: the README's first command. Starts a gateway on the built-in simulated
//! providers, sends the tutorial's prompts, drains, and prints the mirror report, with no
//! API keys and nothing but the bundled SQLite.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::cli::DemoArgs;
use crate::config;
use crate::gateway::Gateway;
use crate::output;
use crate::report;

/// The built-in demo config (also shipped as `examples/demo-config.yaml`).
const DEMO_CONFIG: &str = include_str!("../../examples/demo-config.yaml");

/// The tutorial's Step 3 and Step 5 prompts.
const PROMPTS: &[&str] = &[
    "Explain the concept of technical debt in software engineering.",
    "What is Kubernetes?",
    "Explain CORS in simple terms.",
    "Write a Python function to calculate Fibonacci numbers.",
    "What are the SOLID principles?",
    "Describe the differences between SQL and NoSQL databases.",
];

pub async fn run(args: &DemoArgs, db: PathBuf) -> anyhow::Result<ExitCode> {
    let lint = config::lint_str(DEMO_CONFIG, "examples/demo-config.yaml", &|k| {
        std::env::var(k).ok()
    })?;
    let Some(cfg) = lint.config.clone() else {
        bail!(
            "the built-in demo config is invalid:\n{}",
            lint.render_text()
        );
    };
    let started_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .context("binding the demo gateway")?;
    let gw = Gateway::start(cfg, &db, listener, 65_536, Duration::from_secs(10), None).await?;
    let url = format!("http://{}/v1/chat/completions", gw.addr);
    let http = reqwest::Client::new();
    let mut sent = 0;
    for round in 0..args.rounds.max(1) {
        for prompt in PROMPTS {
            // The last round also shows what is not mirrored: a model with no mapping.
            let model = if round == args.rounds.max(1) - 1 && sent % 6 == 5 {
                "gpt-3.5-turbo"
            } else {
                "gpt-4o-mini"
            };
            // Every other round streams, so the report shows time to first token too.
            let stream = round % 2 == 1;
            let body = json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": prompt}]});
            let resp = http
                .post(&url)
                .json(&body)
                .send()
                .await
                .context("sending a demo request")?;
            let status = resp.status();
            let answer: Value = if stream {
                // Read the stream to the end, as a client would.
                let _ = resp.text().await;
                Value::Null
            } else {
                resp.json().await.unwrap_or(Value::Null)
            };
            sent += 1;
            if round == 0 {
                output::print_error(&format!(
                    "Sent: {prompt} → {} ({status})",
                    answer
                        .get("provider")
                        .and_then(Value::as_str)
                        .unwrap_or("error")
                ));
            }
        }
    }
    // A request that trips the content filter's flag (recorded, never blocked).
    let flagged = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Email jane.doe@example.com about the invoice."}]});
    http.post(&url)
        .json(&flagged)
        .send()
        .await
        .context("sending a demo request")?;
    sent += 1;
    output::print_error(&format!(
        "Sent {sent} requests through http://{}; waiting for shadows…",
        gw.addr
    ));
    gw.stop().await?;

    let conn = super::open_db(&db)?;
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(started_ms, |d| {
            i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
        });
    let r = report::build(&conn, &report::Options::new(Some(started_ms), None, now_ms))?;
    output::print_text(&report::render_table(&r));
    output::print_text(&format!(
        "Events are in {db}. Next:\n  kt events list --last 5\n  kt events tail --last 1 --format json | jq '.traffic_mirror'\n  kt mirror report --format json",
        db = db.display()
    ));
    Ok(ExitCode::SUCCESS)
}
