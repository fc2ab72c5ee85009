//! The README's front door: its two set-up commands must keep working as written.

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
