#![allow(clippy::unwrap_used, clippy::expect_used)]
//! CLI conveniences: `--version`, shell completions, `kt db path|schema`, and an example
//! in the `--help` of every subcommand. Real `kt` binary.
mod common;
use common::*;

use clap::CommandFactory;
use serde_json::Value;

fn run_ok(args: &[&str]) -> String {
    stdout_ok(&kt_cmd(args).output().unwrap())
}

// Proves `kt --version` prints the crate version.
#[test]
fn version() {
    assert_eq!(
        run_ok(&["--version"]).trim(),
        format!("kt {}", env!("CARGO_PKG_VERSION"))
    );
}

// Proves each shell's completion script is generated from the real command tree.
#[test]
fn completions_for_bash_zsh_fish() {
    let bash = run_ok(&["completions", "bash"]);
    assert!(
        bash.contains("_kt()") && bash.contains("complete -F _kt"),
        "{bash}"
    );
    let zsh = run_ok(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef kt"), "{zsh}");
    let fish = run_ok(&["completions", "fish"]);
    assert!(fish.contains("complete -c kt"), "{fish}");
    for script in [&bash, &zsh, &fish] {
        for sub in [
            "gateway",
            "events",
            "mirror",
            "report",
            "completions",
            "schema",
        ] {
            assert!(
                script.contains(sub),
                "`{sub}` missing from a completion script"
            );
        }
    }
    let bad = kt_cmd(&["completions", "tcsh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

// Proves `kt db path` resolves --db, then KT_DB.
#[test]
fn db_path_follows_flag_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("flag.db");
    let out = run_ok(&["--db", flag.to_str().unwrap(), "db", "path"]);
    assert_eq!(out.trim(), flag.to_str().unwrap());
    let env = dir.path().join("env.db");
    let out = kt_cmd(&["db", "path"]).env("KT_DB", &env).output().unwrap();
    assert_eq!(stdout_ok(&out).trim(), env.to_str().unwrap());
    assert!(!env.exists(), "`db path` must not create the database");
}

// Proves `kt db schema` shows the migrated schema as SQL and as JSON columns, on a new
// database (created and migrated) as on an existing one.
#[test]
fn db_schema_sql_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kt.db");
    let db = db.to_str().unwrap();
    let sql = run_ok(&["--db", db, "db", "schema"]);
    for needle in [
        "CREATE TABLE requests",
        "CREATE TABLE shadow_results",
        "CREATE VIEW mirror_pairs",
        "CREATE TABLE request_extra_shadows",
        "CREATE INDEX requests_ts",
        "CREATE TRIGGER requests_no_update",
    ] {
        assert!(sql.contains(needle), "{needle} missing:\n{sql}");
    }
    assert!(!sql.contains("refinery"), "bookkeeping tables are left out");
    let json: Value =
        serde_json::from_str(&run_ok(&["--db", db, "db", "schema", "--format", "json"])).unwrap();
    let rel = |name: &str| -> Vec<String> {
        json.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {json}"))["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    let pairs = rel("mirror_pairs");
    for c in [
        "request_id",
        "source",
        "shadow_target",
        "content_similarity",
    ] {
        assert!(pairs.contains(&c.to_string()), "{c} not in {pairs:?}");
    }
    assert!(rel("requests").contains(&"request_body".to_string()));
    let requests = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "requests")
        .unwrap();
    assert_eq!(requests["type"], "table");
    assert_eq!(requests["columns"][0]["name"], "id");
    assert_eq!(requests["columns"][0]["pk"], 1);
}

/// Every leaf subcommand, as the words after `kt`.
fn leaves(cmd: &clap::Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let subs: Vec<_> = cmd
        .get_subcommands()
        .filter(|c| c.get_name() != "help")
        .collect();
    if subs.is_empty() {
        out.push(prefix);
        return;
    }
    for c in subs {
        let mut p = prefix.clone();
        p.push(c.get_name().to_string());
        leaves(c, p, out);
    }
}

// Proves every subcommand's --help shows at least one example command line.
#[test]
fn every_subcommand_help_has_an_example() {
    let mut all = Vec::new();
    leaves(&kt::cli::Cli::command(), Vec::new(), &mut all);
    assert!(all.len() >= 12, "{all:?}");
    for words in all {
        let mut args: Vec<&str> = words.iter().map(String::as_str).collect();
        args.push("--help");
        let help = run_ok(&args);
        assert!(
            help.contains("Example: kt "),
            "`kt {}` has no example in its --help:\n{help}",
            words.join(" ")
        );
    }
}

// Regression: a config file that cannot be read printed the OS error twice
// ("... (os error 2): No such file or directory (os error 2)"); it prints once.
#[test]
fn unreadable_config_prints_the_os_error_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kt.db");
    for args in [
        ["mirror", "report", "--policy-config"],
        ["gateway", "run", "--policy-config"],
    ] {
        let out = kt_cmd(&args)
            .arg("/nonexistent.yaml")
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            "error: cannot read /nonexistent.yaml: No such file or directory (os error 2)",
            "{args:?}"
        );
    }
}

// Regression: `kt mirror report --policy-config` refused a file holding only `gates:` and
// `pricing:` (no `providers:`); the report reads both from it.
#[test]
fn report_reads_a_gates_and_pricing_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("report.yaml");
    std::fs::write(
        &cfg,
        "gates:\n  min_similarity: 0.5\npricing:\n  gpt-4o-mini:\n    input_per_mtok: 1\n    output_per_mtok: 2\n",
    )
    .unwrap();
    let out = kt_cmd(&["mirror", "report", "--format", "json", "--policy-config"])
        .arg(&cfg)
        .arg("--db")
        .arg(dir.path().join("kt.db"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(report["gates"][0]["name"], "min_similarity", "{report}");
    assert_eq!(report["gates"][0]["threshold"], 0.5, "{report}");
}

// Regression: `--max-cost` did not say it is a budget per run (a rerun after a cap stop
// spends a new one); `kt mirror replay --help` says so.
#[test]
fn replay_help_says_max_cost_is_per_run() {
    let help = run_ok(&["mirror", "replay", "--help"]);
    let flag = help.split("--max-cost <USD>").nth(1).unwrap_or_default();
    let flag: String = flag
        .split("\n  -")
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        flag.contains("this run's estimated spend")
            && flag.contains("a rerun (also after a cap stop) starts from $0"),
        "{help}"
    );
}
