//! The pricing table behind the report's cost figures: built-in list prices of common
//! OpenAI and Anthropic models (USD per million tokens, standard tier, no caching or batch
//! discounts) as of [`AS_OF`], overridden per model by the config's `pricing:` block.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::config::ModelPrice;

/// When the built-in prices were taken from the providers' published price lists.
pub const AS_OF: &str = "2025-10-15";

/// Built-in prices: (model, USD per million input tokens, per million output tokens).
/// Dated snapshots not listed fall back to their undated name (see [`PriceTable::lookup`]).
pub const DEFAULTS: &[(&str, f64, f64)] = &[
    // OpenAI
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
    // OpenAI embeddings (input only: an embedding has no output tokens), for the
    // `traffic_mirror.semantic` evaluator's spend cap.
    ("text-embedding-3-small", 0.02, 0.0),
    ("text-embedding-3-large", 0.13, 0.0),
    ("text-embedding-ada-002", 0.10, 0.0),
    // Anthropic (dated names as the API takes them, plus their aliases)
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

/// Where a price came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// [`DEFAULTS`].
    Builtin,
    /// The config's `pricing:` block.
    Config,
}

/// Model → price, built-in entries replaced by the config's.
#[derive(Debug, Clone)]
pub struct PriceTable {
    entries: BTreeMap<String, (ModelPrice, Source)>,
}

/// A price found for a model, and under which table entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolved {
    /// The table entry used (the model itself, or its undated name).
    pub entry: String,
    #[serde(flatten)]
    pub price: ModelPrice,
    pub source: Source,
}

impl PriceTable {
    /// The built-in table with `overrides` (the config's `pricing:`) applied on top.
    pub fn new(overrides: &[(String, ModelPrice)]) -> Self {
        let mut entries: BTreeMap<String, (ModelPrice, Source)> = DEFAULTS
            .iter()
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
        Self { entries }
    }

    /// The price of `model`: its own entry, else the entry of its name without a date
    /// suffix (`gpt-4o-2024-08-06` → `gpt-4o`, `claude-x-20250101` → `claude-x`).
    pub fn lookup(&self, model: &str) -> Option<Resolved> {
        let found = |name: &str| {
            self.entries.get(name).map(|(price, source)| Resolved {
                entry: name.to_owned(),
                price: *price,
                source: *source,
            })
        };
        found(model).or_else(|| undated(model).and_then(found))
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
        assert!(t.lookup("my-local-llama").is_none());
        assert!(t.lookup("gpt-4o-mini-x").is_none());
        assert_eq!(undated("a-2024-1-18"), None);
    }

    // Proves config entries replace built-in ones and add new models.
    #[test]
    fn overrides_win() {
        let t = PriceTable::new(&[
            ("gpt-4o".into(), price(1.0, 2.0)),
            ("mine".into(), price(0.0, 0.5)),
        ]);
        let r = t.lookup("gpt-4o-2024-11-20").unwrap();
        assert_eq!((r.price, r.source), (price(1.0, 2.0), Source::Config));
        assert_eq!(t.lookup("mine").unwrap().price, price(0.0, 0.5));
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
        let mut names: Vec<&str> = DEFAULTS.iter().map(|d| d.0).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DEFAULTS.len());
        assert!(DEFAULTS.iter().all(|&(m, i, o)| i >= 0.0
            && o >= 0.0
            && (o >= i || m.starts_with("text-embedding-"))));
    }
}
