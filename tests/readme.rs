//! The README as a user follows it: its set-up commands and its `sqlite3` examples must
//! keep working as written.
// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Proves `cargo run -- demo` resolves to the kt binary: with a second binary in the package
// (the benchmark's fake upstream) `cargo run` needs `default-run`, or the README's first
// command fails with "could not determine which binary to run".
#[test]
fn readme_commands_stay_runnable() {
    let readme = include_str!("../README.md");
    assert!(
        readme.contains("cargo run -- demo"),
        "the README's first command moved"
    );
    assert!(
        readme.contains("tests/setup.sh && cargo test"),
        "the README's test command moved"
    );
    let ci = include_str!("../.ci/run");
    assert!(
        ci.contains("tests/setup.sh && cargo test"),
        ".ci/run must run the README's test command"
    );
    let manifest = include_str!("../Cargo.toml");
    let bins = manifest.matches("[[bin]]").count();
    assert!(
        bins < 2 || manifest.contains("default-run = \"kt\""),
        "{bins} binaries but no default-run = \"kt\" in Cargo.toml"
    );
}

/// Every `sqlite3 ...` command in the README's fenced blocks, continuation lines joined.
fn sqlite3_commands(readme: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut fenced = false;
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced || !line.starts_with("sqlite3 ") {
            continue;
        }
        let mut command = line.to_owned();
        while command.ends_with('\\') {
            command.pop();
            command.push_str(lines.next().unwrap_or_default().trim_start());
        }
        commands.push(command);
    }
    commands
}

/// `|`-separated fields of `line` that are numbers.
fn figures(line: &str) -> Vec<f64> {
    line.split('|').filter_map(|f| f.parse().ok()).collect()
}

// Regression: the README's mirror_summary command printed all zeros (it left `:source`
// unset). Every `sqlite3` command the README shows runs verbatim against a database a real
// gateway run filled, exits 0, and prints figures: non-zero ones, and for mirror_summary
// the same as the report's Step 6 summary.
#[test]
fn readme_sqlite3_commands_print_figures() {
    let readme = include_str!("../README.md");
    let commands = sqlite3_commands(readme);
    assert!(commands.len() >= 3, "{commands:#?}");

    // `kt demo` (gateway + simulated providers) writes to the default path under $HOME,
    // the path the README's read-only example names.
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let kt = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kt"))
            .args(args)
            .env("HOME", &home)
            .env_remove("XDG_DATA_HOME")
            .env_remove("KT_DB")
            .output()
            .unwrap()
    };
    let demo = kt(&["demo", "--port", "0"]);
    assert!(demo.status.success(), "{demo:?}");

    // The other examples name `kt.db` in the current directory, run from a kt checkout.
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let db = work.join("kt.db");
    let default_db = home.join(".local/share/kt/kt.db");
    rusqlite::Connection::open(&default_db)
        .unwrap()
        .execute("VACUUM INTO ?1", [db.to_str().unwrap()])
        .unwrap();
    std::os::unix::fs::symlink(
        concat!(env!("CARGO_MANIFEST_DIR"), "/queries"),
        work.join("queries"),
    )
    .unwrap();

    let report = kt(&[
        "mirror",
        "report",
        "--format",
        "json",
        "--db",
        db.to_str().unwrap(),
    ]);
    assert!(report.status.success(), "{report:?}");
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    let summary = report["summary"].as_object().unwrap();
    let step6: Vec<String> = summary.values().map(|v| v.to_string()).collect();
    assert!(
        summary["total_mirrored"].as_u64().unwrap() > 0,
        "{summary:?}"
    );

    for command in &commands {
        let out = std::process::Command::new("sh")
            .args(["-c", command])
            .current_dir(&work)
            .env("HOME", &home)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty() && !stdout.trim().is_empty(),
            "{command}\nexit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            out.status
        );
        if !command.contains("queries/") {
            continue;
        }
        for row in stdout.lines() {
            assert!(
                figures(row).iter().any(|f| *f != 0.0),
                "{command}: a row with no non-zero figure: {row:?}"
            );
        }
        if command.contains("queries/mirror_summary.sql") {
            assert_eq!(
                stdout.trim().split('|').collect::<Vec<_>>(),
                step6,
                "{command}"
            );
        }
    }
}

// Every `report_*.sql` that reads the report's TEMP copy (`report_pairs`) says so in its
// header, so an analyst running it alone knows to run report_materialize.sql first.
#[test]
fn report_queries_needing_the_temp_copy_say_so() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/queries");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("report_") || name.contains("materialize") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let (header, body): (Vec<&str>, Vec<&str>) =
            text.lines().partition(|l| l.starts_with("--"));
        if body.iter().any(|l| l.contains("report_pairs")) {
            assert!(
                header.iter().any(|l| l.contains("report_pairs")),
                "{name} reads report_pairs but its header does not say so"
            );
        }
    }
}

// Regression: the README used `evaluation_cost.calls` without defining it; it says calls
// counts evaluations, not the judge's HTTP requests (twice as many with both_orders), and
// that the replay's `--max-cost` is a budget per run.
#[test]
fn readme_defines_calls_and_the_replay_budget() {
    let readme = include_str!("../README.md");
    let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "`calls` counts evaluations, not HTTP requests: with `judge.both_orders: true` each judge evaluation makes two requests",
        "| `--max-cost USD` | none | Stop before this run's spend could pass USD (below). A budget per run",
        "The cap counts only the current run",
    ] {
        assert!(flat.contains(needle), "README lacks {needle:?}");
    }
}
