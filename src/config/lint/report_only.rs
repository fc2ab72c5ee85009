//! What `kt mirror report --policy-config` reads: only `pricing:` and `gates:`. A gateway
//! config (it has `providers:`) is linted whole, as `kt gateway run` would; a file without
//! `providers:` is a report-settings file and may hold just those two blocks.

use super::{Ctx, ROOT_KEYS, check_version, finish, gates, parse_root, pricing};
use crate::config::node::{Node, SNode};
use crate::config::{Gates, LintReport, LoadError, ModelPrice};

/// Keys a report-settings file (no `providers:`) may have.
const REPORT_KEYS: [&str; 3] = ["version", "pricing", "gates"];

/// The parts of a config the report uses.
#[derive(Debug, Clone, Default)]
pub struct ReportSettings {
    /// `pricing:` entries, replacing built-in prices of the same model names.
    pub pricing: Vec<(String, ModelPrice)>,
    /// `gates:`.
    pub gates: Gates,
}

/// Lints text for the report. The report's `config` is always `None` for a
/// report-settings file; the settings are `Some` exactly when there is no error.
pub fn lint_report_str(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(LintReport, Option<ReportSettings>), LoadError> {
    let root = parse_root(text, file)?;
    let mut cx = Ctx::new(env);
    if has_providers(&root) {
        let config = super::check_root(&mut cx, &root);
        let (findings, config) = finish(cx, config);
        let settings = config.as_ref().map(|c| ReportSettings {
            pricing: c.pricing.clone(),
            gates: c.gates,
        });
        let report = LintReport {
            file: file.to_owned(),
            findings,
            config,
        };
        return Ok((report, settings));
    }
    let settings = check_settings(&mut cx, &root);
    let (findings, settings) = finish(cx, settings);
    let report = LintReport {
        file: file.to_owned(),
        findings,
        config: None,
    };
    Ok((report, settings))
}

fn has_providers(root: &SNode) -> bool {
    matches!(&root.value, Node::Map(entries) if entries.iter().any(|e| e.key.value == "providers"))
}

/// A file without `providers:`: `version`, `pricing` and `gates`; any other config key
/// belongs to a gateway config, which needs its targets.
fn check_settings(cx: &mut Ctx<'_>, root: &SNode) -> Option<ReportSettings> {
    let f = cx.fields("", root, &ROOT_KEYS)?;
    let mut ok = true;
    for key in ROOT_KEYS.iter().filter(|k| !REPORT_KEYS.contains(k)) {
        if let Some(at) = f.key_at(key) {
            ok = false;
            cx.error(
                key,
                at,
                format!(
                    "`{key}` belongs to a gateway config, which needs `providers:`; a file \
                     without `providers:` may hold only `pricing:` and `gates:`"
                ),
            );
        }
    }
    if let Some(n) = f.get("version") {
        ok &= check_version(cx, n).is_some();
    }
    let pricing = match f.get("pricing") {
        Some(n) => pricing::check(cx, n),
        None => Some(Vec::new()),
    };
    let gates = match f.get("gates") {
        Some(n) => gates::check(cx, n),
        None => Some(Gates::default()),
    };
    let settings = ReportSettings {
        pricing: pricing?,
        gates: gates?,
    };
    ok.then_some(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lint(text: &str) -> (LintReport, Option<ReportSettings>) {
        lint_report_str(text, "report.yaml", &|_| None).unwrap()
    }

    // Regression: a file holding only `gates:` and `pricing:` was refused for lacking
    // `providers:`; the report needs nothing else, so it is read.
    #[test]
    fn gates_and_pricing_alone_are_read() {
        let (r, s) = lint(
            "gates:\n  min_similarity: 0.6\npricing:\n  my-model:\n    input_per_mtok: 1\n    output_per_mtok: 2\n",
        );
        assert!(r.findings.is_empty(), "{:#?}", r.findings);
        let s = s.unwrap();
        assert_eq!(s.gates.min_similarity, Some(0.6));
        assert_eq!(s.pricing[0].0, "my-model");
    }

    // Mistakes in those blocks, and gateway keys without `providers:`, are still errors.
    #[test]
    fn settings_file_findings() {
        let (r, s) = lint("gates:\n  min_similarity: 2\ntraffic_mirror: {}\npricng: {}\n");
        assert!(s.is_none());
        let paths: Vec<(&str, u64)> = r
            .findings
            .iter()
            .map(|f| (f.path.as_str(), f.line))
            .collect();
        assert_eq!(
            paths,
            [
                ("gates.min_similarity", 2),
                ("traffic_mirror", 3),
                ("pricng", 4)
            ]
        );
    }

    // A gateway config is linted whole: its own errors still refuse it.
    #[test]
    fn a_gateway_config_is_linted_whole() {
        let (r, s) = lint("providers:\n  targets: []\ngates:\n  min_similarity: 0.5\n");
        assert!(s.is_none());
        assert!(r.errors() > 0, "{:#?}", r.findings);
        let (r, s) = lint(
            "providers:\n  targets:\n    - {id: sim, provider: simulated}\ngates:\n  min_similarity: 0.5\n",
        );
        assert!(r.is_valid(), "{:#?}", r.findings);
        assert_eq!(s.unwrap().gates.min_similarity, Some(0.5));
    }
}
