//! The pricing table behind the report's cost figures and the spend guard: built-in list
//! prices (USD per million tokens, standard tier, no caching, batch or long-context prices)
//! of common models on OpenAI, Anthropic, the Gemini API and Vertex AI, and Amazon Bedrock,
//! each platform's prices dated ([`GROUPS`]), overridden per model by the config's
//! `pricing:` block. [`PriceTable::lookup`] prices the ids each platform's API takes: Bedrock
//! inference profiles (`us.anthropic.claude-…-v1:0`) and Vertex AI's `claude-…@date`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::config::ModelPrice;

/// One platform's built-in prices and the day they were taken from its published price list.
#[derive(Debug, Clone, Copy)]
pub struct Group {
    /// The platform, as the README's pricing tables name it.
    pub platform: &'static str,
    /// `YYYY-MM-DD` the prices were checked.
    pub as_of: &'static str,
    /// (model, USD per million input tokens, per million output tokens).
    pub prices: &'static [(&'static str, f64, f64)],
}

/// The built-in prices, by platform, in the README's order. Entries are unique across groups.
pub const GROUPS: &[Group] = &[
    Group {
        platform: "OpenAI",
        as_of: "2025-10-15",
        prices: OPENAI,
    },
    Group {
        platform: "Anthropic",
        as_of: "2025-10-15",
        prices: ANTHROPIC,
    },
    Group {
        platform: "Gemini API and Vertex AI",
        as_of: "2026-12-04",
        prices: GEMINI,
    },
    Group {
        platform: "Amazon Bedrock",
        as_of: "2026-12-04",
        prices: BEDROCK,
    },
];

/// The report's `pricing.as_of`: the oldest [`Group::as_of`], so every built-in price was
/// checked on that day or later (each platform's own date is in [`GROUPS`]).
pub const AS_OF: &str = "2025-10-15";

/// OpenAI. Azure OpenAI's global standard deployments are billed the same for these models,
/// under the same names. Dated snapshots not listed fall back to their undated name.
const OPENAI: &[(&str, f64, f64)] = &[
    ("gpt-5", 1.25, 10.0),
    ("gpt-5-mini", 0.25, 2.0),
    ("gpt-5-nano", 0.05, 0.40),
    ("gpt-4.1", 2.0, 8.0),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("gpt-4o", 2.50, 10.0),
    ("gpt-4o-2024-05-13", 5.0, 15.0),
    ("gpt-4o-mini", 0.15, 0.60),
    ("o1", 15.0, 60.0),
    ("o3", 2.0, 8.0),
    ("o3-mini", 1.10, 4.40),
    ("o4-mini", 1.10, 4.40),
    ("gpt-4-turbo", 10.0, 30.0),
    ("gpt-4", 30.0, 60.0),
    ("gpt-3.5-turbo", 0.50, 1.50),
    // Embeddings (input only: an embedding has no output tokens), for the
    // `traffic_mirror.semantic` evaluator's spend cap.
    ("text-embedding-3-small", 0.02, 0.0),
    ("text-embedding-3-large", 0.13, 0.0),
    ("text-embedding-ada-002", 0.10, 0.0),
];

/// Anthropic: dated names as the API takes them, plus their aliases. Bedrock's
/// `anthropic.…-v1:0` and Vertex AI's `…@date` ids of these models resolve here.
const ANTHROPIC: &[(&str, f64, f64)] = &[
    ("claude-sonnet-4-5-20250929", 3.0, 15.0),
    ("claude-sonnet-4-5", 3.0, 15.0),
    ("claude-haiku-4-5-20251001", 1.0, 5.0),
    ("claude-haiku-4-5", 1.0, 5.0),
    ("claude-opus-4-1-20250805", 15.0, 75.0),
    ("claude-opus-4-1", 15.0, 75.0),
    ("claude-opus-4-20250514", 15.0, 75.0),
    ("claude-opus-4-0", 15.0, 75.0),
    ("claude-sonnet-4-20250514", 3.0, 15.0),
    ("claude-sonnet-4-0", 3.0, 15.0),
    ("claude-3-7-sonnet-20250219", 3.0, 15.0),
    ("claude-3-7-sonnet-latest", 3.0, 15.0),
    ("claude-3-5-sonnet-20241022", 3.0, 15.0),
    ("claude-3-5-sonnet-latest", 3.0, 15.0),
    ("claude-3-5-haiku-20241022", 0.80, 4.0),
    ("claude-3-5-haiku-latest", 0.80, 4.0),
    ("claude-3-opus-20240229", 15.0, 75.0),
    ("claude-3-haiku-20240307", 0.25, 1.25),
];

/// Gemini models, as both the Gemini API and Vertex AI name them. Pro models are listed at
/// their price for prompts of at most 200k tokens (longer prompts cost more).
const GEMINI: &[(&str, f64, f64)] = &[
    ("gemini-3.1-pro-preview", 2.0, 12.0),
    ("gemini-3.5-flash", 1.50, 9.0),
    ("gemini-3.5-flash-lite", 0.30, 2.50),
    ("gemini-2.5-pro", 1.25, 10.0),
    ("gemini-2.5-flash", 0.30, 2.50),
    ("gemini-2.5-flash-lite", 0.10, 0.40),
];

/// Amazon Bedrock on-demand prices in us-east-1 (a cross-region profile is billed at its
/// source region's price). Claude models not listed resolve to their Anthropic entry; the
/// Claude 4.5 models are listed because a regional endpoint (in-region, or a `us.`, `eu.`,
/// `jp.`, `au.` or `apac.` profile) costs 10% more than a `global.` profile.
const BEDROCK: &[(&str, f64, f64)] = &[
    ("anthropic.claude-sonnet-4-5-20250929-v1:0", 3.30, 16.50),
    (
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        3.0,
        15.0,
    ),
    ("anthropic.claude-haiku-4-5-20251001-v1:0", 1.10, 5.50),
    ("global.anthropic.claude-haiku-4-5-20251001-v1:0", 1.0, 5.0),
    ("amazon.nova-pro-v1:0", 0.80, 3.20),
    ("amazon.nova-lite-v1:0", 0.06, 0.24),
    ("amazon.nova-micro-v1:0", 0.035, 0.14),
    ("meta.llama4-maverick-17b-instruct-v1:0", 0.24, 0.97),
    ("meta.llama3-3-70b-instruct-v1:0", 0.72, 0.72),
];

/// Every built-in price, in [`GROUPS`] order.
pub fn defaults() -> impl Iterator<Item = &'static (&'static str, f64, f64)> {
    GROUPS.iter().flat_map(|g| g.prices.iter())
}

/// The built-in prices' dates for a sentence: `2025-10-15 (OpenAI, Anthropic) and
/// 2026-12-04 (…)`, groups of one date together, oldest first.
pub fn dates() -> String {
    let mut by_date: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for g in GROUPS {
        by_date.entry(g.as_of).or_default().push(g.platform);
    }
    let parts: Vec<String> = by_date
        .iter()
        .map(|(date, platforms)| format!("{date} ({})", platforms.join(", ")))
        .collect();
    match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => parts.concat(),
    }
}

/// Where a price came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// [`GROUPS`].
    Builtin,
    /// The config's `pricing:` block.
    Config,
}

/// Model → price, built-in entries replaced by the config's.
#[derive(Debug, Clone)]
pub struct PriceTable {
    entries: BTreeMap<String, (ModelPrice, Source)>,
    /// Bedrock-style entries (`provider.name-v1:0`) by their name without the version suffix,
    /// so another version of the same model finds them.
    unversioned: BTreeMap<String, String>,
}

/// A price found for a model, and under which table entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolved {
    /// The table entry used (the model itself, or the name it resolved to).
    pub entry: String,
    /// Its price.
    #[serde(flatten)]
    pub price: ModelPrice,
    /// Whether the entry is built in or from the config.
    pub source: Source,
}

/// Bedrock's cross-region inference profile prefixes: a profile is priced as its model.
/// GovCloud's `us-gov.` is not among them (its prices differ).
const REGION_PREFIXES: [&str; 6] = ["us.", "eu.", "apac.", "jp.", "au.", "global."];

impl PriceTable {
    /// The built-in table with `overrides` (the config's `pricing:`) applied on top.
    pub fn new(overrides: &[(String, ModelPrice)]) -> Self {
        let mut entries: BTreeMap<String, (ModelPrice, Source)> = defaults()
            .map(|&(m, i, o)| {
                let price = ModelPrice {
                    input_per_mtok: i,
                    output_per_mtok: o,
                };
                (m.to_owned(), (price, Source::Builtin))
            })
            .collect();
        for (model, price) in overrides {
            entries.insert(model.clone(), (*price, Source::Config));
        }
        let unversioned = entries
            .keys()
            .filter_map(|k| unversioned(k).map(|base| (base.to_owned(), k.clone())))
            .collect();
        Self {
            entries,
            unversioned,
        }
    }

    /// The price of `model`, from the first of these entries that exists:
    /// 1. the model itself;
    /// 2. without a Bedrock region prefix (`us.`, `eu.`, `apac.`, `jp.`, `au.`, `global.`);
    /// 3. for Vertex AI's `name@date`, `name-date`, then `name`;
    /// 4. for a Bedrock id with a version suffix (`-v1:0`), any listed version of the same
    ///    model, and for `anthropic.name-v1:0` the Anthropic entry `name`;
    /// 5. any of these without a date suffix (`gpt-4o-2024-08-06` → `gpt-4o`).
    pub fn lookup(&self, model: &str) -> Option<Resolved> {
        candidates(model).iter().find_map(|name| self.entry(name))
    }

    fn entry(&self, name: &str) -> Option<Resolved> {
        let (key, (price, source)) = self.entries.get_key_value(name).or_else(|| {
            let listed = self.unversioned.get(unversioned(name)?)?;
            self.entries.get_key_value(listed.as_str())
        })?;
        Some(Resolved {
            entry: key.clone(),
            price: *price,
            source: *source,
        })
    }

    /// The `:pricing` parameter of the report queries for these models: a JSON object
    /// `{model: {input_per_mtok, output_per_mtok}}` holding the models that have a price.
    pub fn sql_param(&self, models: &[String]) -> String {
        let mut obj = Map::new();
        for m in models {
            if let Some(r) = self.lookup(m) {
                obj.insert(
                    m.clone(),
                    json!({"input_per_mtok": r.price.input_per_mtok,
                           "output_per_mtok": r.price.output_per_mtok}),
                );
            }
        }
        Value::Object(obj).to_string()
    }
}

/// The names `model` may be priced under, most specific first (see [`PriceTable::lookup`]).
fn candidates(model: &str) -> Vec<String> {
    let mut direct = vec![model.to_owned()];
    if let Some(rest) = without_region(model) {
        direct.push(rest.to_owned());
    }
    let mut names = direct.clone();
    for name in &direct {
        if let Some((base, tag)) = name.rsplit_once('@') {
            names.push(format!("{base}-{tag}"));
            names.push(base.to_owned());
        }
        if let Some(claude) = unversioned(name).and_then(|b| b.strip_prefix("anthropic.")) {
            names.push(claude.to_owned());
        }
    }
    let undated: Vec<String> = names
        .iter()
        .filter_map(|n| undated(n))
        .map(str::to_owned)
        .collect();
    names.extend(undated);
    let mut seen = BTreeSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

/// `name` without a Bedrock region prefix, if it has one and names a `provider.model`.
fn without_region(name: &str) -> Option<&str> {
    REGION_PREFIXES
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .filter(|rest| rest.contains('.'))
}

/// A Bedrock-style `provider.name-vN` or `provider.name-vN:M` without its version suffix.
fn unversioned(name: &str) -> Option<&str> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (head, version) = name.rsplit_once("-v")?;
    let (major, minor) = version.split_once(':').unwrap_or((version, "0"));
    (head.contains('.') && digits(major) && digits(minor)).then_some(head)
}

/// `name` without a trailing `-YYYYMMDD` or `-YYYY-MM-DD`, if it has one.
fn undated(name: &str) -> Option<&str> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some((head, tail)) = name.rsplit_once('-')
        && tail.len() == 8
        && digits(tail)
    {
        return Some(head);
    }
    // -YYYY-MM-DD: three dash-separated numeric parts of 4, 2 and 2 digits.
    let mut parts = name.rsplitn(4, '-');
    let (d, m, y, head) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    (y.len() == 4 && m.len() == 2 && d.len() == 2 && digits(y) && digits(m) && digits(d))
        .then_some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(i: f64, o: f64) -> ModelPrice {
        ModelPrice {
            input_per_mtok: i,
            output_per_mtok: o,
        }
    }

    /// The entry `model` resolves to in the built-in table, and its price.
    fn resolves(t: &PriceTable, model: &str) -> Option<(String, f64, f64)> {
        t.lookup(model)
            .map(|r| (r.entry, r.price.input_per_mtok, r.price.output_per_mtok))
    }

    fn some(entry: &str, i: f64, o: f64) -> Option<(String, f64, f64)> {
        Some((entry.to_owned(), i, o))
    }

    // Proves exact names win, dated snapshots fall back to the undated entry, and unknown
    // models have no price.
    #[test]
    fn lookup_rules() {
        let t = PriceTable::new(&[]);
        assert_eq!(t.lookup("gpt-4o-mini").unwrap().price, price(0.15, 0.6));
        let dated = t.lookup("gpt-4o-mini-2024-07-18").unwrap();
        assert_eq!(
            (dated.entry.as_str(), dated.source),
            ("gpt-4o-mini", Source::Builtin)
        );
        // A listed snapshot keeps its own (different) price.
        assert_eq!(
            t.lookup("gpt-4o-2024-05-13").unwrap().price,
            price(5.0, 15.0)
        );
        assert_eq!(t.lookup("gpt-4o-2024-08-06").unwrap().entry, "gpt-4o");
        assert_eq!(
            t.lookup("claude-sonnet-4-20250514").unwrap().price,
            price(3.0, 15.0)
        );
        assert_eq!(
            resolves(&t, "gemini-2.5-flash"),
            some("gemini-2.5-flash", 0.3, 2.5)
        );
        assert!(t.lookup("my-local-llama").is_none());
        assert!(t.lookup("gpt-4o-mini-x").is_none());
        assert_eq!(undated("a-2024-1-18"), None);
    }

    // Proves Bedrock region prefixes are stripped unless a profile has its own price (not us-gov.).
    #[test]
    fn bedrock_region_prefixes() {
        let t = PriceTable::new(&[]);
        for prefix in ["us.", "eu.", "apac.", "global."] {
            assert_eq!(
                resolves(
                    &t,
                    &format!("{prefix}anthropic.claude-sonnet-4-20250514-v1:0")
                ),
                some("claude-sonnet-4-20250514", 3.0, 15.0),
                "{prefix}"
            );
        }
        for prefix in ["", "us.", "eu.", "jp.", "au."] {
            assert_eq!(
                resolves(
                    &t,
                    &format!("{prefix}anthropic.claude-sonnet-4-5-20250929-v1:0")
                ),
                some("anthropic.claude-sonnet-4-5-20250929-v1:0", 3.3, 16.5),
                "{prefix}"
            );
        }
        assert_eq!(
            resolves(&t, "global.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            some(
                "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
                3.0,
                15.0
            )
        );
        assert_eq!(
            resolves(&t, "eu.anthropic.claude-haiku-4-5-20251001-v1:0"),
            some("anthropic.claude-haiku-4-5-20251001-v1:0", 1.1, 5.5)
        );
        assert_eq!(
            resolves(&t, "us.amazon.nova-lite-v1:0"),
            some("amazon.nova-lite-v1:0", 0.06, 0.24)
        );
        assert!(
            t.lookup("us-gov.anthropic.claude-sonnet-4-20250514-v1:0")
                .is_none()
        );
        assert_eq!(without_region("us.gpt-4o"), None);
    }

    // Proves Bedrock version suffixes resolve: Claude to Anthropic, others to a listed version.
    #[test]
    fn bedrock_version_suffixes() {
        let t = PriceTable::new(&[]);
        assert_eq!(
            resolves(&t, "anthropic.claude-opus-4-1-20250805-v1:0"),
            some("claude-opus-4-1-20250805", 15.0, 75.0)
        );
        assert_eq!(
            resolves(&t, "anthropic.claude-3-5-haiku-20241022-v1:0"),
            some("claude-3-5-haiku-20241022", 0.8, 4.0)
        );
        assert_eq!(
            resolves(&t, "us.meta.llama3-3-70b-instruct-v2:0"),
            some("meta.llama3-3-70b-instruct-v1:0", 0.72, 0.72)
        );
        assert_eq!(
            resolves(&t, "amazon.nova-micro-v1"),
            some("amazon.nova-micro-v1:0", 0.035, 0.14)
        );
        // An unlisted Claude on Bedrock has no price (no guessing from a neighbour).
        assert!(
            t.lookup("global.anthropic.claude-opus-4-5-20251101-v1:0")
                .is_none()
        );
        assert_eq!(unversioned("amazon.nova-pro-v1:0"), Some("amazon.nova-pro"));
        assert_eq!(unversioned("gpt-4o-v1"), None);
        assert_eq!(unversioned("amazon.nova-pro-vx"), None);
    }

    // Proves Vertex `name@date` resolves to the dated, else undated, Anthropic entry.
    #[test]
    fn vertex_at_dates() {
        let t = PriceTable::new(&[]);
        for (vertex, entry, i, o) in [
            (
                "claude-sonnet-4@20250514",
                "claude-sonnet-4-20250514",
                3.0,
                15.0,
            ),
            (
                "claude-sonnet-4-5@20250929",
                "claude-sonnet-4-5-20250929",
                3.0,
                15.0,
            ),
            (
                "claude-opus-4-1@20250805",
                "claude-opus-4-1-20250805",
                15.0,
                75.0,
            ),
            (
                "claude-haiku-4-5@20251001",
                "claude-haiku-4-5-20251001",
                1.0,
                5.0,
            ),
            // A date the table does not list falls back to the undated alias.
            ("claude-haiku-4-5@20261231", "claude-haiku-4-5", 1.0, 5.0),
        ] {
            assert_eq!(resolves(&t, vertex), some(entry, i, o), "{vertex}");
        }
        assert!(t.lookup("claude-unknown@20250101").is_none());
        let o = PriceTable::new(&[("claude-sonnet-4-20250514".into(), price(2.0, 10.0))]);
        let r = o.lookup("claude-sonnet-4@20250514").unwrap();
        assert_eq!((r.price, r.source), (price(2.0, 10.0), Source::Config));
    }

    // Proves config entries replace built-in ones and add new models.
    #[test]
    fn overrides_win() {
        let t = PriceTable::new(&[
            ("gpt-4o".into(), price(1.0, 2.0)),
            ("mine".into(), price(0.0, 0.5)),
            (
                "us.anthropic.claude-sonnet-4-20250514-v1:0".into(),
                price(9.0, 9.0),
            ),
        ]);
        let r = t.lookup("gpt-4o-2024-11-20").unwrap();
        assert_eq!((r.price, r.source), (price(1.0, 2.0), Source::Config));
        assert_eq!(t.lookup("mine").unwrap().price, price(0.0, 0.5));
        // An exact config entry wins over the region rule.
        assert_eq!(
            t.lookup("us.anthropic.claude-sonnet-4-20250514-v1:0")
                .unwrap()
                .price,
            price(9.0, 9.0)
        );
        let param: Value =
            serde_json::from_str(&t.sql_param(&["mine".into(), "nope".into()])).unwrap();
        assert_eq!(
            param,
            json!({"mine": {"input_per_mtok": 0.0, "output_per_mtok": 0.5}})
        );
    }

    // Proves every built-in entry is unique and non-negative, and output costs at least
    // input for chat models (embeddings models have no output tokens).
    #[test]
    fn defaults_are_sane() {
        let mut names: Vec<&str> = defaults().map(|d| d.0).collect();
        let total = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), total);
        assert!(defaults().all(|&(m, i, o)| i >= 0.0
            && o >= 0.0
            && (o >= i || m.starts_with("text-embedding-"))));
    }

    // Proves every group is dated YYYY-MM-DD, AS_OF is the oldest, and dates() names each platform.
    #[test]
    fn group_dates() {
        let well_formed = |d: &str| {
            d.len() == 10
                && d.bytes().enumerate().all(|(i, b)| {
                    if i == 4 || i == 7 {
                        b == b'-'
                    } else {
                        b.is_ascii_digit()
                    }
                })
        };
        assert!(
            GROUPS
                .iter()
                .all(|g| well_formed(g.as_of) && !g.prices.is_empty())
        );
        assert_eq!(GROUPS.iter().map(|g| g.as_of).min(), Some(AS_OF));
        assert_eq!(
            dates(),
            "2025-10-15 (OpenAI, Anthropic) and 2026-12-04 (Gemini API and Vertex AI, Amazon Bedrock)"
        );
    }
}
