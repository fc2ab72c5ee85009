//! Property test: the config loader never panics, whatever bytes it is given — random
//! mutations of real configs, random bytes, and deeply nested or huge documents — and
//! every finding it reports carries a location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// The tutorial's two configs and the demo config: realistic seeds for mutation.
const SEEDS: &[&str] = &[
    include_str!("../policy-config.yaml"),
    include_str!("../examples/staging-mirror.yaml"),
    include_str!("../examples/demo-config.yaml"),
];

/// Fragments that make interesting YAML when spliced in.
const SPLICE: &[&str] = &[
    ":",
    "-",
    " ",
    "\n",
    "  ",
    "'",
    "\"",
    "[",
    "]",
    "{",
    "}",
    "&a",
    "*a",
    "!!str",
    "~",
    "null",
    "1e999",
    "-1",
    "0x10",
    "true",
    "yes",
    "<<: *a",
    "\t",
    "#",
    "|",
    ">",
    "?",
    ",",
    "\u{feff}",
    "sample_rate",
    "providers",
    "targets",
    "traffic_mirror",
    "policies",
    "chain",
];

fn lint(text: &str) {
    let env = |_: &str| None;
    if let Ok(report) = kt::config::lint_str(text, "fuzz.yaml", &env) {
        for f in &report.findings {
            assert!(
                f.line >= 1 && f.column >= 1,
                "finding without a location: {f:?}\n{text}"
            );
        }
        // Rendering must not panic either.
        let _ = report.render_text();
        let _ = report.render_json();
    }
}

// Proves random edits of real configs never panic the loader.
#[test]
fn mutated_configs_never_panic() {
    let mut rng = fastrand::Rng::with_seed(0x6b74);
    for round in 0..1500 {
        let seed = SEEDS[round % SEEDS.len()];
        let mut text: Vec<char> = seed.chars().collect();
        for _ in 0..rng.usize(1..6) {
            let at = rng.usize(0..=text.len());
            match rng.u8(0..4) {
                0 if at < text.len() => {
                    let end = (at + rng.usize(1..20)).min(text.len());
                    text.drain(at..end);
                }
                1 => {
                    let piece = SPLICE[rng.usize(0..SPLICE.len())];
                    text.splice(at..at, piece.chars());
                }
                2 if at < text.len() => text[at] = char::from(rng.u8(0x20..0x7f)),
                _ => {
                    // Duplicate a line somewhere else: duplicate keys, odd indentation.
                    let lines: Vec<&str> = seed.lines().collect();
                    let line = lines[rng.usize(0..lines.len())];
                    text.splice(at..at, format!("\n{line}\n").chars());
                }
            }
        }
        lint(&text.into_iter().collect::<String>());
    }
}

// Proves random bytes (valid UTF-8 or not, lossily decoded) never panic the loader.
#[test]
fn random_bytes_never_panic() {
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..1000 {
        let bytes: Vec<u8> = (0..rng.usize(0..400)).map(|_| rng.u8(..)).collect();
        lint(&String::from_utf8_lossy(&bytes));
    }
}

// Proves pathological documents are refused cleanly: deep nesting, alias bombs, huge scalars.
#[test]
fn pathological_documents_are_refused_cleanly() {
    lint(&format!(
        "providers: {}{}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    ));
    lint(&format!("{}x: 1", "a:\n ".repeat(2_000)));
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    lint(bomb);
    lint(&format!("version: '{}'", "9".repeat(1_000_000)));
}
