//! A generic YAML tree that remembers where every key and value came from, so lint
//! findings can point at line:column instead of only naming a key path.
//!
//! Parsing goes through `serde-saphyr` with duplicate keys passed through, so the
//! linter (not the parser) reports them with the duplicate's own location.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::options::DuplicateKeyPolicy;
use serde_saphyr::{Location, Spanned};

/// A node with its source location.
pub(crate) type SNode = Spanned<Node>;

/// One parsed YAML value. Scalars are already typed by YAML's core schema.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// A mapping, entries in file order (duplicates kept, see [`Entry`]).
    Map(Vec<Entry>),
    /// A sequence.
    Seq(Vec<SNode>),
    /// A string scalar (quoted, or plain text that is not a number/bool/null).
    Str(String),
    /// An integer scalar; `i128` holds every `i64` and `u64` YAML can produce.
    Int(i128),
    /// A floating-point scalar.
    Float(f64),
    /// A boolean scalar.
    Bool(bool),
    /// `~`, `null` or an empty value.
    Null,
}

/// One `key: value` pair of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The key as text (scalars are rendered; collections become an empty string).
    pub key: Spanned<String>,
    /// `None` for a string key; otherwise what the key was ("a number", ...), so the
    /// linter can reject it rather than silently matching `1` against `"1"`.
    pub key_kind: Option<&'static str>,
    /// The value.
    pub value: SNode,
}

impl Node {
    /// What this node is, phrased for "expected X, found Y" messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Node::Map(_) => "a mapping",
            Node::Seq(_) => "a list",
            Node::Str(_) => "a string",
            Node::Int(_) => "an integer",
            Node::Float(_) => "a decimal number",
            Node::Bool(_) => "a boolean",
            Node::Null => "nothing (null)",
        }
    }

    /// Scalar text as a user would have written it; `None` for collections.
    pub(crate) fn scalar_text(&self) -> Option<String> {
        match self {
            Node::Str(s) => Some(s.clone()),
            Node::Int(i) => Some(i.to_string()),
            // `{:?}` keeps the `.0` of whole floats, so `1.0` stays `1.0`.
            Node::Float(f) => Some(format!("{f:?}")),
            Node::Bool(b) => Some(b.to_string()),
            Node::Null => Some(String::new()),
            Node::Map(_) | Node::Seq(_) => None,
        }
    }
}

/// Where a parse failed, already rendered without the source snippet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseFailure {
    pub line: u64,
    pub column: u64,
    pub message: String,
}

/// Parses one YAML document into a spanned tree. Duplicate keys are kept in order.
pub(crate) fn parse(text: &str) -> Result<SNode, ParseFailure> {
    let options = serde_saphyr::options! {
        duplicate_keys: DuplicateKeyPolicy::PassThrough,
        // YAML 1.2 booleans only: `no`/`on` stay strings, so a model called `no` is
        // not silently turned into `false`.
        strict_booleans: true,
    };
    serde_saphyr::from_str_with_options::<SNode>(text, options).map_err(|err| {
        let inner = err.without_snippet();
        let (line, column) = inner
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        ParseFailure {
            line: line.max(1),
            column: column.max(1),
            message: strip_location(&inner.to_string()).to_owned(),
        }
    })
}

/// Drops a trailing ` at line N, column M`: `LoadError::Syntax` prints the location
/// itself, in the same `file:line:col` form as findings.
fn strip_location(message: &str) -> &str {
    let Some((head, tail)) = message.rsplit_once(" at line ") else {
        return message;
    };
    let is_location = tail.split_once(", column ").is_some_and(|(l, c)| {
        !l.is_empty()
            && !c.is_empty()
            && l.chars().all(|ch| ch.is_ascii_digit())
            && c.chars().all(|ch| ch.is_ascii_digit())
    });
    if is_location { head } else { message }
}

/// Location of a node for findings: where it is used (an alias points at `*name`).
pub(crate) fn pos(loc: &Location) -> (u64, u64) {
    (loc.line(), loc.column())
}

/// Whether two nodes hold the same YAML, wherever each was written: the same
/// settings given in two places agree even though their spans differ. Mapping keys
/// may come in any order (YAML mappings are unordered).
pub(crate) fn same(a: &SNode, b: &SNode) -> bool {
    match (&a.value, &b.value) {
        (Node::Map(x), Node::Map(y)) => {
            x.len() == y.len()
                && x.iter().all(|p| {
                    y.iter().any(|q| {
                        p.key.value == q.key.value
                            && p.key_kind == q.key_kind
                            && same(&p.value, &q.value)
                    })
                })
        }
        (Node::Seq(x), Node::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (x, y) => x == y,
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        // Beyond i128 nothing in kt's schema could use it; keep the text instead.
        Ok(i128::try_from(v).map_or_else(|_| Node::Str(v.to_string()), Node::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Node, E> {
        Ok(Node::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<SNode>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<SNode>()? {
            let value = map.next_value::<SNode>()?;
            let (text, key_kind) = match &key.value {
                Node::Str(s) => (s.clone(), None),
                other => (other.scalar_text().unwrap_or_default(), Some(other.kind())),
            };
            entries.push(Entry {
                key: Spanned::new(text, key.referenced, key.defined),
                key_kind,
                value,
            });
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: &SNode) -> &[Entry] {
        match &n.value {
            Node::Map(e) => e,
            other => panic!("not a map: {other:?}"),
        }
    }

    // Keys and values carry 1-based line:column; a block mapping sits at its first key.
    #[test]
    fn spans_are_one_based() {
        let root = parse("a: 1\nb:\n  - x: 'q'\n    y: 2.5\n").unwrap();
        let top = entries(&root);
        assert_eq!(pos(&top[0].key.referenced), (1, 1));
        assert_eq!(pos(&top[0].value.referenced), (1, 4));
        assert_eq!(top[0].value.value, Node::Int(1));
        let Node::Seq(items) = &top[1].value.value else {
            panic!("not a list");
        };
        assert_eq!(pos(&items[0].referenced), (3, 5));
        let item = entries(&items[0]);
        assert_eq!(
            (item[1].key.value.as_str(), pos(&item[1].key.referenced)),
            ("y", (4, 5))
        );
        assert_eq!(item[0].value.value, Node::Str("q".into()));
        assert_eq!(item[1].value.value, Node::Float(2.5));
    }

    // Duplicates reach the linter in order; non-string keys are marked, not coerced.
    #[test]
    fn duplicates_and_key_kinds_are_kept() {
        let root = parse("k: 1\nk: 2\n3: x\n? [a]\n: y\n").unwrap();
        let e = entries(&root);
        assert_eq!(e.len(), 4);
        assert_eq!(pos(&e[1].key.referenced), (2, 1));
        assert_eq!(e[1].value.value, Node::Int(2));
        assert_eq!(
            (e[2].key.value.as_str(), e[2].key_kind),
            ("3", Some("an integer"))
        );
        assert_eq!(e[3].key_kind, Some("a list"));
    }

    // YAML 1.1 booleans stay strings; nulls and empty values are Null.
    #[test]
    fn scalars_follow_yaml_1_2() {
        let root = parse("a: yes\nb: true\nc:\nd: ~\n").unwrap();
        let e = entries(&root);
        assert_eq!(e[0].value.value, Node::Str("yes".into()));
        assert_eq!(e[1].value.value, Node::Bool(true));
        assert_eq!(e[2].value.value, Node::Null);
        assert_eq!(e[3].value.value, Node::Null);
    }

    // Hostile input is a parse failure, not a stack overflow or an alias explosion.
    #[test]
    fn hostile_input_is_rejected() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(&deep).is_err());
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(parse(&bomb).is_err());
    }

    // Equal settings written in two places (other spans, other key order) are the same.
    #[test]
    fn same_ignores_spans_and_key_order() {
        let root =
            parse("a: {x: 1, y: [p, q]}\nb:\n  y: [p, q]\n  x: 1\nc: {x: 2, y: [p, q]}\n").unwrap();
        let e = entries(&root);
        assert!(same(&e[0].value, &e[1].value));
        assert!(!same(&e[0].value, &e[2].value));
    }

    // Parser messages lose their trailing location, which LoadError prints itself.
    #[test]
    fn message_location_is_stripped() {
        assert_eq!(
            strip_location("unclosed quote at line 1, column 6"),
            "unclosed quote"
        );
        assert_eq!(strip_location("look at line two"), "look at line two");
        let err = parse("a: 'x\n").unwrap_err();
        assert_eq!(
            (err.line, err.column, err.message.as_str()),
            (1, 4, "unclosed quote")
        );
    }
}
