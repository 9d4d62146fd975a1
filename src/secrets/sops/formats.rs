//! Per-format reading (into a [`Tree`] plus the raw `sops` metadata) and writing of the
//! plaintext document.
//!
//! - YAML: parsed with kiln's own YAML layer; scalars typed as go-yaml v3 (what sops uses) types
//!   them. Metadata comes from the first document; `sops` keys of later documents are dropped.
//!   kiln's tree has no comments: comments are never in the MAC, so verification is exact, but
//!   encrypted comments (`#ENC[…]`) are not decrypted, and files whose rule depends on comments
//!   are refused. The plaintext document is the source text with each encrypted value replaced
//!   by its plaintext (as a plain or double-quoted scalar) and the `sops` entries removed, so
//!   layout and comments are kept (an encrypted comment stays encrypted).
//! - JSON and binary: parsed in key order (kiln's `serde_json` has no `preserve_order`, so the
//!   order-preserving parse is done here). JSON is written as sops writes it: tab indent,
//!   `": "`, Go's escaping, trailing newline. Binary gives back the `data` value's bytes.
//! - dotenv: sops' own line format (`key=value`, `\n` escapes, `#` comments, metadata as
//!   `sops_…` lines).
//! - INI: sections as top-level maps, `[sops]` metadata; the plaintext is written as
//!   `key = value` lines without sops' column alignment.
//!
//! For writing ([`super::write`]), [`parse_plain`] reads a plaintext document (YAML, JSON,
//! dotenv, binary; not INI) into a tree with sops' checks, and [`emit_json`]/[`emit_dotenv`]
//! print the encrypted tree with its metadata.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;
use zeroize::{Zeroize as _, Zeroizing};

use super::rules::EncryptionRule;
use super::tree::{Item, Leaf, Tree, TreeValue};
use super::value::ValueType;
use super::{AgeStanza, Format, Metadata, SopsError, mac};
use crate::yaml::{self, KustomizeValue, Node, NodeKind, ScalarStyle};

/// What a format's reader returns.
pub(crate) struct Parsed {
    pub tree: Tree,
    pub metadata: Json,
    pub layout: Layout,
}

/// What is needed to write the plaintext document besides the tree.
pub(crate) enum Layout {
    /// The encrypted source and the byte ranges of its `sops` entries.
    Yaml {
        source: String,
        remove: Vec<Range<usize>>,
    },
    Json,
    Dotenv,
    Ini,
    Binary,
}

/// Reads a file into its tree and raw metadata.
pub(crate) fn parse(format: Format, bytes: &[u8]) -> Result<Parsed, SopsError> {
    let text = std::str::from_utf8(bytes).map_err(|_| SopsError::Parse {
        format,
        message: "not UTF-8".to_owned(),
    });
    match format {
        Format::Yaml => parse_yaml(text?),
        Format::Json | Format::Binary => parse_json(format, text?),
        Format::Dotenv => parse_dotenv(text?),
        Format::Ini => parse_ini(text?),
    }
}

/// Reads a plaintext document (to be encrypted) into a tree, with the checks sops makes before
/// encrypting: YAML documents and the JSON top level must be mappings, map keys strings, and no
/// key may collide with the metadata (`sops`, or `sops_…` in dotenv).
///
/// YAML comments are refused: kiln's YAML layer does not keep them, and sops would write them
/// (encrypted) into the file. INI is not supported yet.
pub(crate) fn parse_plain(format: Format, bytes: &[u8]) -> Result<Tree, SopsError> {
    let text = || {
        std::str::from_utf8(bytes).map_err(|_| SopsError::Parse {
            format,
            message: "not UTF-8".to_owned(),
        })
    };
    let reserved = || SopsError::Malformed {
        what: "the document already has a `sops` key: it is encrypted already, or the key is \
               reserved for sops metadata"
            .to_owned(),
    };
    let tree = match format {
        Format::Binary => {
            let leaf = Leaf::clear(ValueType::Str, bytes.to_vec());
            Tree {
                branches: vec![vec![Item::Entry("data".to_owned(), TreeValue::Leaf(leaf))]],
            }
        }
        Format::Yaml => {
            let text = text()?;
            let mut docs = yaml::parse_documents(text).map_err(|e| SopsError::Parse {
                format,
                message: e.to_string(),
            })?;
            // The parsed nodes hold plaintext in ordinary strings: zero them once copied.
            let docs = ZeroDocs(&mut docs);
            if docs.is_empty() {
                return Err(SopsError::Malformed {
                    what: "the YAML document is empty".to_owned(),
                });
            }
            let mut tree = Tree::default();
            let mut scalars = Vec::new();
            for (index, doc) in docs.iter().enumerate() {
                let Some(entries) = doc.root.as_map() else {
                    return Err(SopsError::Malformed {
                        what: format!("YAML document {} is not a mapping", index + 1),
                    });
                };
                let mut items = Vec::new();
                for (key, value) in entries {
                    let key = yaml_key(key)?;
                    if key == "sops" {
                        return Err(reserved());
                    }
                    items.push(Item::Entry(key, yaml_value(value)?));
                }
                tree.branches.push(items);
                scalar_spans(&doc.root, &mut scalars)?;
            }
            if has_comment(text, &mut scalars) {
                return Err(SopsError::Unsupported {
                    what: "comments in YAML documents to encrypt (kiln's YAML layer does not \
                           keep them; sops would write them encrypted)"
                        .to_owned(),
                });
            }
            tree
        }
        Format::Json => {
            let root: JsonNode = serde_json::from_str(text()?).map_err(|e| SopsError::Parse {
                format,
                message: e.to_string(),
            })?;
            let JsonNode::Object(entries) = root else {
                return Err(SopsError::Malformed {
                    what: "the JSON document is not an object".to_owned(),
                });
            };
            let mut items = Vec::new();
            for (key, value) in entries {
                if key == "sops" {
                    return Err(reserved());
                }
                items.push(Item::Entry(key, json_tree(value)));
            }
            Tree {
                branches: vec![items],
            }
        }
        Format::Dotenv => {
            let mut items = Vec::new();
            for line in text()?.split('\n') {
                if line.is_empty() {
                    continue;
                }
                if let Some(comment) = line.strip_prefix('#') {
                    items.push(Item::Comment(Leaf::clear(ValueType::Comment, comment)));
                    continue;
                }
                let (key, value) = line.split_once('=').ok_or_else(|| SopsError::Parse {
                    format,
                    message: "a line has no `=`".to_owned(),
                })?;
                if key.starts_with("sops_") {
                    return Err(reserved());
                }
                items.push(Item::Entry(
                    key.to_owned(),
                    TreeValue::Leaf(Leaf::clear(ValueType::Str, value.replace("\\n", "\n"))),
                ));
            }
            Tree {
                branches: vec![items],
            }
        }
        Format::Ini => {
            return Err(SopsError::Unsupported {
                what: "encrypting INI files".to_owned(),
            });
        }
    };
    Ok(tree)
}

/// Zeroes the scalars of parsed YAML documents when dropped.
struct ZeroDocs<'d>(&'d mut Vec<yaml::Document>);

impl std::ops::Deref for ZeroDocs<'_> {
    type Target = Vec<yaml::Document>;
    fn deref(&self) -> &Self::Target {
        self.0
    }
}

impl Drop for ZeroDocs<'_> {
    fn drop(&mut self) {
        fn zero(node: &mut Node) {
            match &mut node.kind {
                NodeKind::Scalar(scalar) => scalar.text.zeroize(),
                NodeKind::Seq(items) => items.iter_mut().for_each(zero),
                NodeKind::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
                    zero(k);
                    zero(v);
                }),
            }
        }
        self.0.iter_mut().for_each(|doc| zero(&mut doc.root));
    }
}

/// Collects the byte ranges of every scalar (keys and values); refuses `<<` merge keys, which
/// sops and kiln read differently.
fn scalar_spans(node: &Node, out: &mut Vec<Range<usize>>) -> Result<(), SopsError> {
    match &node.kind {
        NodeKind::Scalar(_) => out.push(node.span.range()),
        NodeKind::Seq(items) => {
            for item in items {
                scalar_spans(item, out)?;
            }
        }
        NodeKind::Map(entries) => {
            for (key, value) in entries {
                if key.as_str() == Some("<<") && key.tag.is_none() {
                    return Err(SopsError::Unsupported {
                        what: "YAML merge keys (`<<`)".to_owned(),
                    });
                }
                scalar_spans(key, out)?;
                scalar_spans(value, out)?;
            }
        }
    }
    Ok(())
}

/// Whether the YAML text has a comment: a `#` outside every scalar, at the start of a line or
/// after a blank.
fn has_comment(text: &str, scalars: &mut [Range<usize>]) -> bool {
    scalars.sort_by_key(|r| r.start);
    let bytes = text.as_bytes();
    let mut next = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b != b'#' {
            continue;
        }
        while next < scalars.len() && scalars[next].end <= i {
            next += 1;
        }
        let inside = scalars[next..]
            .iter()
            .take_while(|r| r.start <= i)
            .any(|r| r.contains(&i));
        let after_blank = i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\n' | b'\r');
        if !inside && after_blank {
            return true;
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// YAML

fn parse_yaml(text: &str) -> Result<Parsed, SopsError> {
    let docs = yaml::parse_documents(text).map_err(|e| SopsError::Parse {
        format: Format::Yaml,
        message: e.to_string(),
    })?;
    let mut metadata = None;
    let mut remove = Vec::new();
    let mut tree = Tree::default();
    for (index, doc) in docs.iter().enumerate() {
        let Some(entries) = doc.root.as_map() else {
            return Err(if index == 0 {
                SopsError::NotSops {
                    reason: "the document is not a mapping",
                }
            } else {
                SopsError::Malformed {
                    what: format!("document {} is not a mapping", index + 1),
                }
            });
        };
        let mut items = Vec::new();
        for (key, value) in entries {
            let key = yaml_key(key)?;
            if key == "sops" {
                if metadata.is_none() {
                    metadata = Some(yaml_to_json(value));
                }
                remove.push(line_range(text, key_start(entries, &key), value.span.end));
                continue;
            }
            items.push(Item::Entry(key, yaml_value(value)?));
        }
        tree.branches.push(items);
    }
    let metadata = metadata.ok_or(SopsError::NotSops {
        reason: "no `sops` metadata",
    })?;
    Ok(Parsed {
        tree,
        metadata,
        layout: Layout::Yaml {
            source: text.to_owned(),
            remove,
        },
    })
}

fn key_start(entries: &[(Node, Node)], key: &str) -> usize {
    entries
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map_or(0, |(k, _)| k.span.start)
}

/// From the start of `start`'s line to the end of `end`'s line (with its line break).
fn line_range(text: &str, start: usize, end: usize) -> Range<usize> {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
    line_start..line_end
}

fn yaml_key(key: &Node) -> Result<String, SopsError> {
    let non_string = || SopsError::Malformed {
        what: "the tree contains a non-string key".to_owned(),
    };
    let scalar = key.as_scalar().ok_or_else(non_string)?;
    match yaml::scalar_value(key.tag.as_deref(), scalar) {
        KustomizeValue::Str(_) => Ok(scalar.text.clone()),
        _ => Err(non_string()),
    }
}

fn yaml_value(node: &Node) -> Result<TreeValue, SopsError> {
    Ok(match &node.kind {
        NodeKind::Seq(items) => {
            TreeValue::Seq(items.iter().map(yaml_value).collect::<Result<_, _>>()?)
        }
        NodeKind::Map(entries) => TreeValue::Map(
            entries
                .iter()
                .map(|(k, v)| Ok(Item::Entry(yaml_key(k)?, yaml_value(v)?)))
                .collect::<Result<_, SopsError>>()?,
        ),
        NodeKind::Scalar(scalar) => {
            let tag = node.tag.as_deref();
            let (value_type, text): (ValueType, Cow<'_, str>) =
                match yaml::scalar_value(tag, scalar) {
                    KustomizeValue::Null => return Ok(TreeValue::Null),
                    KustomizeValue::Bool(b) => (
                        ValueType::Bool,
                        Cow::Borrowed(if b { "true" } else { "false" }),
                    ),
                    KustomizeValue::Int(i) => (ValueType::Int, Cow::Owned(i.to_string())),
                    KustomizeValue::UInt(_) => {
                        // go-yaml v3 gives a uint64 here, a type sops refuses ("unknown type").
                        return Err(SopsError::Unsupported {
                            what: "integers above 9223372036854775807".to_owned(),
                        });
                    }
                    KustomizeValue::Float(f) => {
                        (ValueType::Float, Cow::Owned(mac::format_float(f)))
                    }
                    // A plain timestamp is a `time.Time` for sops; kiln's reader gives its RFC 3339
                    // form, which is what sops hashes.
                    KustomizeValue::Str(Cow::Owned(t))
                        if tag != Some("!!binary")
                            && (tag == Some("!!timestamp")
                                || scalar.style == ScalarStyle::Plain) =>
                    {
                        (ValueType::Time, Cow::Owned(t))
                    }
                    KustomizeValue::Str(s) => (ValueType::Str, s),
                };
            let mut leaf = Leaf::clear(value_type, text.into_owned());
            leaf.span = Some(node.span.range());
            TreeValue::Leaf(leaf)
        }
    })
}

/// Metadata values: strings as written, except booleans, integers and nulls.
fn yaml_to_json(node: &Node) -> Json {
    match &node.kind {
        NodeKind::Scalar(scalar) => match yaml::scalar_value(node.tag.as_deref(), scalar) {
            KustomizeValue::Null => Json::Null,
            KustomizeValue::Bool(b) => Json::Bool(b),
            KustomizeValue::Int(i) => Json::from(i),
            _ => Json::String(scalar.text.clone()),
        },
        NodeKind::Seq(items) => Json::Array(items.iter().map(yaml_to_json).collect()),
        NodeKind::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), yaml_to_json(v)))
                .collect(),
        ),
    }
}

/// The YAML document: the source with encrypted values replaced and `sops` entries removed.
fn emit_yaml(
    source: &str,
    remove: &[Range<usize>],
    tree: &Tree,
) -> Result<Zeroizing<Vec<u8>>, SopsError> {
    let mut edits: Vec<(Range<usize>, Zeroizing<String>)> = remove
        .iter()
        .map(|r| (r.clone(), Zeroizing::new(String::new())))
        .collect();
    let mut pending = Vec::new();
    for branch in &tree.branches {
        collect_encrypted(branch, &mut pending);
    }
    for leaf in pending {
        let Some(span) = &leaf.span else { continue };
        edits.push((span.clone(), yaml_scalar(leaf)?));
    }
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = Zeroizing::new(Vec::with_capacity(source.len()));
    let mut at = 0;
    for (range, text) in &edits {
        if range.start < at {
            continue;
        }
        out.extend_from_slice(&source.as_bytes()[at..range.start]);
        out.extend_from_slice(text.as_bytes());
        at = range.end;
    }
    out.extend_from_slice(&source.as_bytes()[at..]);
    Ok(out)
}

fn collect_encrypted<'t>(items: &'t [Item], out: &mut Vec<&'t Leaf>) {
    fn value<'t>(v: &'t TreeValue, out: &mut Vec<&'t Leaf>) {
        match v {
            TreeValue::Leaf(leaf) if leaf.encrypted => out.push(leaf),
            TreeValue::Map(items) => collect_encrypted(items, out),
            TreeValue::Seq(values) => values.iter().for_each(|v| value(v, out)),
            _ => {}
        }
    }
    for item in items {
        if let Item::Entry(_, v) = item {
            value(v, out);
        }
    }
}

/// A decrypted value as a YAML scalar that reads back as the same value.
fn yaml_scalar(leaf: &Leaf) -> Result<Zeroizing<String>, SopsError> {
    let text = leaf.as_str().ok_or_else(|| SopsError::Malformed {
        what: "a decrypted value is not UTF-8 and cannot be written as YAML".to_owned(),
    })?;
    Ok(Zeroizing::new(match leaf.value_type {
        ValueType::Bool => match mac::parse_bool(text) {
            Some(true) => "true".to_owned(),
            Some(false) => "false".to_owned(),
            None => double_quoted(text),
        },
        ValueType::Int | ValueType::Float | ValueType::Time => text.to_owned(),
        ValueType::Str | ValueType::Bytes | ValueType::Comment => {
            if is_plain_safe(text) {
                text.to_owned()
            } else {
                double_quoted(text)
            }
        }
    }))
}

/// Whether a string can be written unquoted and still read back as this string, by go-yaml v3
/// (sops, kustomize) and go-yaml v2 (Kubernetes) alike. Conservative: anything unusual is quoted.
fn is_plain_safe(text: &str) -> bool {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-./@%+=,~ ".contains(c);
    if !(first.is_ascii_alphanumeric() || "_./".contains(first))
        || !text.chars().all(allowed)
        || text.ends_with(' ')
        || text.contains("  ")
    {
        return false;
    }
    let scalar = yaml::Scalar {
        text: text.to_owned(),
        style: ScalarStyle::Plain,
    };
    let v3_string = matches!(yaml::scalar_value(None, &scalar), KustomizeValue::Str(Cow::Borrowed(s)) if s == text);
    let node = Node {
        kind: NodeKind::Scalar(scalar),
        span: yaml::Span::default(),
        tag: None,
    };
    v3_string && matches!(node.resolve(), Some(yaml::Value::Str(s)) if s == text)
}

fn double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{FEFF}' => {
                out.push_str(&format!("\\u{:04X}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------------------------
// JSON and binary

/// A JSON value in document order.
enum JsonNode {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<JsonNode>),
    Object(Vec<(String, JsonNode)>),
}

impl<'de> Deserialize<'de> for JsonNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonNode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<JsonNode, E> {
                Ok(JsonNode::Null)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<JsonNode, E> {
                Ok(JsonNode::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<JsonNode, E> {
                Ok(JsonNode::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<JsonNode, E> {
                // sops: integral text that does not fit int64 is a float64.
                Ok(i64::try_from(v).map_or(JsonNode::Float(v as f64), JsonNode::Int))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<JsonNode, E> {
                Ok(JsonNode::Float(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<JsonNode, E> {
                Ok(JsonNode::Str(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<JsonNode, E> {
                Ok(JsonNode::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonNode, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(JsonNode::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonNode, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry()? {
                    entries.push((k, v));
                }
                Ok(JsonNode::Object(entries))
            }
        }
        deserializer.deserialize_any(V)
    }
}

fn parse_json(format: Format, text: &str) -> Result<Parsed, SopsError> {
    let root: JsonNode = serde_json::from_str(text).map_err(|e| SopsError::Parse {
        format,
        message: e.to_string(),
    })?;
    let JsonNode::Object(entries) = root else {
        return Err(SopsError::NotSops {
            reason: "the document is not an object",
        });
    };
    let mut metadata = None;
    let mut items = Vec::new();
    for (key, value) in entries {
        if key == "sops" {
            metadata = Some(json_to_value(value));
        } else {
            items.push(Item::Entry(key, json_tree(value)));
        }
    }
    let metadata = metadata.ok_or(SopsError::NotSops {
        reason: "no `sops` metadata",
    })?;
    if format == Format::Binary
        && !matches!(items.as_slice(), [Item::Entry(k, TreeValue::Leaf(_))] if k == "data")
    {
        return Err(SopsError::Malformed {
            what: "a binary file's envelope must hold exactly one string `data`".to_owned(),
        });
    }
    Ok(Parsed {
        tree: Tree {
            branches: vec![items],
        },
        metadata,
        layout: if format == Format::Binary {
            Layout::Binary
        } else {
            Layout::Json
        },
    })
}

fn json_tree(node: JsonNode) -> TreeValue {
    match node {
        JsonNode::Null => TreeValue::Null,
        JsonNode::Bool(b) => TreeValue::Leaf(Leaf::clear(
            ValueType::Bool,
            if b { "true" } else { "false" },
        )),
        JsonNode::Int(i) => TreeValue::Leaf(Leaf::clear(ValueType::Int, i.to_string())),
        JsonNode::Float(f) => TreeValue::Leaf(Leaf::clear(ValueType::Float, mac::format_float(f))),
        JsonNode::Str(s) => TreeValue::Leaf(Leaf::clear(ValueType::Str, s)),
        JsonNode::Array(items) => TreeValue::Seq(items.into_iter().map(json_tree).collect()),
        JsonNode::Object(entries) => TreeValue::Map(
            entries
                .into_iter()
                .map(|(k, v)| Item::Entry(k, json_tree(v)))
                .collect(),
        ),
    }
}

fn json_to_value(node: JsonNode) -> Json {
    match node {
        JsonNode::Null => Json::Null,
        JsonNode::Bool(b) => Json::Bool(b),
        JsonNode::Int(i) => Json::from(i),
        JsonNode::Float(f) => Json::String(mac::format_float(f)),
        JsonNode::Str(s) => Json::String(s),
        JsonNode::Array(items) => Json::Array(items.into_iter().map(json_to_value).collect()),
        JsonNode::Object(entries) => Json::Object(
            entries
                .into_iter()
                .map(|(k, v)| (k, json_to_value(v)))
                .collect(),
        ),
    }
}

/// JSON as sops writes it: `json.Indent` with a tab, then a newline.
pub(crate) fn emit_json(tree: &Tree) -> Result<Zeroizing<Vec<u8>>, SopsError> {
    let mut out = Zeroizing::new(String::new());
    let items = tree.branches.first().map_or(&[][..], Vec::as_slice);
    json_object(items, 0, &mut out)?;
    out.push('\n');
    Ok(Zeroizing::new(std::mem::take(&mut *out).into_bytes()))
}

fn json_object(items: &[Item], depth: usize, out: &mut String) -> Result<(), SopsError> {
    let entries: Vec<(&String, &TreeValue)> = items
        .iter()
        .filter_map(|i| match i {
            Item::Entry(k, v) => Some((k, v)),
            Item::Comment(_) => None,
        })
        .collect();
    if entries.is_empty() {
        out.push_str("{}");
        return Ok(());
    }
    out.push('{');
    for (n, (key, value)) in entries.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        newline(out, depth + 1);
        go_json_string(key, out);
        out.push_str(": ");
        json_value(value, depth + 1, out)?;
    }
    newline(out, depth);
    out.push('}');
    Ok(())
}

fn json_value(value: &TreeValue, depth: usize, out: &mut String) -> Result<(), SopsError> {
    match value {
        TreeValue::Null => out.push_str("null"),
        TreeValue::Map(items) => json_object(items, depth, out)?,
        TreeValue::Seq(values) if values.is_empty() => out.push_str("[]"),
        TreeValue::Seq(values) => {
            out.push('[');
            for (n, v) in values.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                json_value(v, depth + 1, out)?;
            }
            newline(out, depth);
            out.push(']');
        }
        TreeValue::Leaf(leaf) => {
            let text = leaf.as_str().ok_or_else(|| SopsError::Malformed {
                what: "a decrypted value is not UTF-8 and cannot be written as JSON".to_owned(),
            })?;
            let invalid = || SopsError::Malformed {
                what: format!(
                    "a decrypted {} value cannot be written as JSON",
                    leaf.value_type.tag()
                ),
            };
            match leaf.value_type {
                ValueType::Bool => out.push_str(if mac::parse_bool(text).ok_or_else(invalid)? {
                    "true"
                } else {
                    "false"
                }),
                ValueType::Int => {
                    out.push_str(&text.parse::<i64>().map_err(|_| invalid())?.to_string())
                }
                ValueType::Float => {
                    let f = mac::parse_float(text)
                        .filter(|f| f.is_finite())
                        .ok_or_else(invalid)?;
                    out.push_str(&go_json_float(f));
                }
                _ => go_json_string(text, out),
            }
        }
    }
    Ok(())
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    out.extend(std::iter::repeat_n('\t', depth));
}

/// Go's `json.Marshal` of a float64: `'f'` formatting between 1e-6 and 1e21, otherwise the
/// shortest exponent form with at least two exponent digits dropped to one (`1e+21`, `1e-7`).
pub(crate) fn go_json_float(f: f64) -> String {
    let abs = f.abs();
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        return mac::format_float(f);
    }
    // Rust's `{:e}` gives the shortest digits too (`1e21`, `1.5e-7`); Go writes the exponent
    // sign always and at least two digits, then `encoding/json` trims `e-07` to `e-7`.
    let text = format!("{f:e}");
    let Some((mantissa, exp)) = text.split_once('e') else {
        return text;
    };
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    format!("{mantissa}e{sign}{digits}")
}

/// Go's `json.Marshal` of a string: escapes `<`, `>`, `&`, U+2028 and U+2029 too.
pub(crate) fn go_json_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)))
            }
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------------------------------
// dotenv

fn parse_dotenv(text: &str) -> Result<Parsed, SopsError> {
    let mut items = Vec::new();
    let mut flat = Vec::new();
    for line in text.split('\n') {
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            items.push(Item::Comment(Leaf::clear(ValueType::Comment, comment)));
            continue;
        }
        let (key, value) = line.split_once('=').ok_or_else(|| SopsError::Parse {
            format: Format::Dotenv,
            message: "a line has no `=`".to_owned(),
        })?;
        let value = value.replace("\\n", "\n");
        if let Some(meta_key) = key.strip_prefix("sops_") {
            flat.push((meta_key.to_owned(), value));
        } else {
            items.push(Item::Entry(
                key.to_owned(),
                TreeValue::Leaf(Leaf::clear(ValueType::Str, value)),
            ));
        }
    }
    if flat.is_empty() {
        return Err(SopsError::NotSops {
            reason: "no `sops_` metadata lines",
        });
    }
    Ok(Parsed {
        tree: Tree {
            branches: vec![items],
        },
        metadata: unflatten(flat)?,
        layout: Layout::Dotenv,
    })
}

pub(crate) fn emit_dotenv(tree: &Tree) -> Result<Zeroizing<Vec<u8>>, SopsError> {
    let mut out = Zeroizing::new(Vec::new());
    for item in tree.branches.iter().flatten() {
        match item {
            Item::Comment(leaf) => {
                out.push(b'#');
                out.extend_from_slice(&leaf.bytes);
            }
            Item::Entry(key, TreeValue::Leaf(leaf)) => {
                out.extend_from_slice(key.as_bytes());
                out.push(b'=');
                for &b in leaf.bytes.iter() {
                    if b == b'\n' {
                        out.extend_from_slice(b"\\n");
                    } else {
                        out.push(b);
                    }
                }
            }
            Item::Entry(..) => {
                return Err(SopsError::Malformed {
                    what: "dotenv values must be strings".to_owned(),
                });
            }
        }
        out.push(b'\n');
    }
    Ok(out)
}

/// Rebuilds nested metadata from flattened keys (`age__list_0__map_enc`).
fn unflatten(flat: Vec<(String, String)>) -> Result<Json, SopsError> {
    let malformed = || SopsError::Malformed {
        what: "a flattened metadata key is malformed".to_owned(),
    };
    let mut root = Json::Object(serde_json::Map::new());
    for (key, value) in flat {
        let mut parts = key.split("__");
        let first = parts.next().ok_or_else(malformed)?;
        let mut node = &mut root;
        let mut step = Step::Key(first.to_owned());
        for part in parts {
            node = descend(node, step, part.starts_with("list_")).ok_or_else(malformed)?;
            step = if let Some(i) = part.strip_prefix("list_") {
                Step::Index(i.parse().map_err(|_| malformed())?)
            } else if let Some(k) = part.strip_prefix("map_") {
                Step::Key(k.to_owned())
            } else {
                return Err(malformed());
            };
        }
        *descend(node, step, false).ok_or_else(malformed)? = Json::String(value);
    }
    Ok(root)
}

enum Step {
    Key(String),
    Index(usize),
}

/// The child at `step`, created (as an array if `array`, else an object) when missing.
fn descend(node: &mut Json, step: Step, array: bool) -> Option<&mut Json> {
    let empty = || {
        if array {
            Json::Array(Vec::new())
        } else {
            Json::Object(serde_json::Map::new())
        }
    };
    match step {
        Step::Key(k) => Some(node.as_object_mut()?.entry(k).or_insert_with(empty)),
        Step::Index(i) => {
            let items = node.as_array_mut()?;
            if i > 1000 {
                return None;
            }
            while items.len() <= i {
                items.push(Json::Null);
            }
            if items[i].is_null() {
                items[i] = empty();
            }
            items.get_mut(i)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// INI

/// A subset of gopkg.in/ini.v1 as sops configures it: `[section]`, `key = value` (or `:`),
/// `#`/`;` comments (also inline, for unquoted values), quoted and `"""` multi-line values.
fn parse_ini(text: &str) -> Result<Parsed, SopsError> {
    let mut sections: Vec<(String, Vec<Item>)> = vec![("DEFAULT".to_owned(), Vec::new())];
    let mut pending_comment: Option<String> = None;
    let mut lines = text.lines();
    let syntax = |message: &str| SopsError::Parse {
        format: Format::Ini,
        message: message.to_owned(),
    };
    while let Some(raw) = lines.next() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') || line.starts_with(';') {
            let comment = line.trim_start_matches(['#', ';', ' ']).to_owned();
            pending_comment = Some(match pending_comment {
                Some(prev) => format!("{prev}\n{comment}"),
                None => comment,
            });
            continue;
        }
        let items = if let Some(name) = line.strip_prefix('[') {
            let name = name
                .strip_suffix(']')
                .ok_or_else(|| syntax("unclosed section header"))?;
            sections.push((name.trim().to_owned(), Vec::new()));
            if let (Some(comment), Some((_, items))) = (pending_comment.take(), sections.last_mut())
            {
                items.push(Item::Comment(Leaf::clear(ValueType::Comment, comment)));
            }
            continue;
        } else {
            let Some((_, items)) = sections.last_mut() else {
                return Err(syntax("no section"));
            };
            items
        };
        let at = line
            .find(['=', ':'])
            .ok_or_else(|| syntax("a line has no `=`"))?;
        let key = line[..at].trim().to_owned();
        let rest = line[at + 1..].trim_start();
        let value = if let Some(body) = rest.strip_prefix("\"\"\"") {
            let mut value = String::new();
            let mut current = body.to_owned();
            loop {
                if let Some(end) = current.find("\"\"\"") {
                    value.push_str(&current[..end]);
                    break;
                }
                value.push_str(&current);
                value.push('\n');
                current = lines
                    .next()
                    .ok_or_else(|| syntax("unclosed \"\"\" value"))?
                    .to_owned();
            }
            value
        } else if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'')
            && rest.len() > 1
            && let Some(end) = rest[1..].find(q)
        {
            rest[1..=end].to_owned()
        } else {
            let cut = rest.find(['#', ';']).unwrap_or(rest.len());
            rest[..cut].trim().to_owned()
        };
        items.push(Item::Entry(
            key,
            TreeValue::Leaf(Leaf::clear(ValueType::Str, value)),
        ));
        // sops attaches a key's comment as the item after the key.
        if let Some(comment) = pending_comment.take() {
            items.push(Item::Comment(Leaf::clear(ValueType::Comment, comment)));
        }
    }
    let mut metadata = None;
    let mut branch = Vec::new();
    for (name, items) in sections {
        if name == "sops" {
            let mut flat = Vec::new();
            for item in items {
                if let Item::Entry(key, TreeValue::Leaf(leaf)) = item {
                    let value = leaf.as_str().unwrap_or_default().replace("\\n", "\n");
                    flat.push((key, value));
                }
            }
            metadata = Some(unflatten(flat)?);
        } else if !(name == "DEFAULT" && items.is_empty()) {
            branch.push(Item::Entry(name, TreeValue::Map(items)));
        }
    }
    Ok(Parsed {
        tree: Tree {
            branches: vec![branch],
        },
        metadata: metadata.ok_or(SopsError::NotSops {
            reason: "no [sops] section",
        })?,
        layout: Layout::Ini,
    })
}

fn emit_ini(tree: &Tree) -> Result<Zeroizing<Vec<u8>>, SopsError> {
    let mut out = Zeroizing::new(String::new());
    for (n, item) in tree.branches.iter().flatten().enumerate() {
        let Item::Entry(section, TreeValue::Map(items)) = item else {
            continue;
        };
        if n > 0 {
            out.push('\n');
        }
        out.push_str(&format!("[{section}]\n"));
        for item in items {
            match item {
                Item::Comment(leaf) => {
                    for line in leaf.as_str().unwrap_or_default().lines() {
                        out.push_str("; ");
                        out.push_str(line);
                        out.push('\n');
                    }
                }
                Item::Entry(key, TreeValue::Leaf(leaf)) => {
                    let value = leaf.as_str().ok_or_else(|| SopsError::Malformed {
                        what: "a decrypted value is not UTF-8 and cannot be written as INI"
                            .to_owned(),
                    })?;
                    out.push_str(key);
                    out.push_str(" = ");
                    if value.contains('\n') || value.contains(['#', ';']) || value.trim() != value {
                        out.push_str("\"\"\"");
                        out.push_str(value);
                        out.push_str("\"\"\"");
                    } else {
                        out.push_str(value);
                    }
                    out.push('\n');
                }
                Item::Entry(..) => {}
            }
        }
    }
    Ok(Zeroizing::new(std::mem::take(&mut *out).into_bytes()))
}

// ---------------------------------------------------------------------------------------------
// Emission and metadata

/// The plaintext document.
pub(crate) fn emit(layout: &Layout, tree: &Tree) -> Result<Zeroizing<Vec<u8>>, SopsError> {
    match layout {
        Layout::Yaml { source, remove } => emit_yaml(source, remove, tree),
        Layout::Json => emit_json(tree),
        Layout::Dotenv => emit_dotenv(tree),
        Layout::Ini => emit_ini(tree),
        Layout::Binary => match tree.leaf(&["data"]) {
            Some(leaf) => Ok(Zeroizing::new(leaf.bytes.to_vec())),
            None => Err(SopsError::Malformed {
                what: "no `data` value".to_owned(),
            }),
        },
    }
}

/// Reads the metadata fields sops defines; unknown fields are ignored, lists may be null.
pub(crate) fn metadata(raw: &Json) -> Result<Metadata, SopsError> {
    let malformed = |what: &str| SopsError::Malformed {
        what: format!("metadata: {what}"),
    };
    let object = raw.as_object().ok_or_else(|| malformed("not a mapping"))?;
    let string = |v: &Json| match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let list = |o: &serde_json::Map<String, Json>, field: &str| -> Result<Vec<Json>, SopsError> {
        match o.get(field) {
            None | Some(Json::Null) => Ok(Vec::new()),
            Some(Json::Array(items)) => Ok(items.clone()),
            Some(_) => Err(malformed(&format!("`{field}` is not a list"))),
        }
    };

    let groups: Vec<serde_json::Map<String, Json>> = match object.get("key_groups") {
        None | Some(Json::Null) => vec![object.clone()],
        Some(Json::Array(groups)) => groups
            .iter()
            .map(|g| {
                g.as_object()
                    .cloned()
                    .ok_or_else(|| malformed("a key group is not a mapping"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(malformed("`key_groups` is not a list")),
    };
    let mut age = Vec::new();
    let mut other_keys = Vec::new();
    for group in &groups {
        for entry in list(group, "age")? {
            let field = |f: &str| entry.get(f).and_then(string);
            age.push(AgeStanza {
                recipient: field("recipient")
                    .ok_or_else(|| malformed("an age key has no recipient"))?,
                enc: field("enc").ok_or_else(|| malformed("an age key has no enc"))?,
            });
        }
        for (kind, id_field) in [
            ("pgp", "fp"),
            ("kms", "arn"),
            ("gcp_kms", "resource_id"),
            ("azure_kv", "vault_url"),
            ("hc_vault", "vault_address"),
            ("hckms", "key_id"),
        ] {
            for entry in list(group, kind)? {
                let id = entry.get(id_field).and_then(string).unwrap_or_default();
                other_keys.push(format!("{kind}:{id}"));
            }
        }
    }
    let mut rule = None;
    for field in EncryptionRule::FIELDS {
        if let Some(value) = object.get(field).and_then(string).filter(|s| !s.is_empty()) {
            if rule.is_some() {
                return Err(malformed("more than one encryption rule"));
            }
            rule = EncryptionRule::from_field(field, value);
        }
    }
    let mac_only_encrypted = match object.get("mac_only_encrypted") {
        None | Some(Json::Null) => false,
        Some(Json::Bool(b)) => *b,
        Some(Json::String(s)) => {
            mac::parse_bool(s).ok_or_else(|| malformed("mac_only_encrypted is not a boolean"))?
        }
        Some(_) => return Err(malformed("mac_only_encrypted is not a boolean")),
    };
    Ok(Metadata {
        age,
        other_keys,
        lastmodified: object
            .get("lastmodified")
            .and_then(string)
            .ok_or_else(|| malformed("no lastmodified"))?,
        mac: object.get("mac").and_then(string).filter(|m| !m.is_empty()),
        version: object.get("version").and_then(string),
        rule,
        mac_only_encrypted,
        key_groups: if object.contains_key("key_groups") {
            groups.len()
        } else {
            1
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unflattens_metadata() {
        let flat = vec![
            ("age__list_0__map_enc".to_owned(), "E".to_owned()),
            ("age__list_0__map_recipient".to_owned(), "R".to_owned()),
            ("lastmodified".to_owned(), "T".to_owned()),
            (
                "key_groups__list_1__map_pgp__list_0__map_fp".to_owned(),
                "F".to_owned(),
            ),
        ];
        let json = unflatten(flat).expect("unflattens");
        assert_eq!(
            json,
            serde_json::json!({
                "age": [{"enc": "E", "recipient": "R"}],
                "lastmodified": "T",
                "key_groups": [null, {"pgp": [{"fp": "F"}]}],
            })
        );
    }

    #[test]
    fn plain_safety() {
        for (text, plain) in [
            ("postgres", true),
            ("s3cr3t-P4ss.word", true),
            ("Welcome to SOPS", true),
            ("yes", false),
            ("true", false),
            ("123", false),
            ("1.5", false),
            ("2024-01-01", false),
            ("null", false),
            ("", false),
            ("a: b", false),
            ("#x", false),
            ("-x", false),
            (" x", false),
            ("multi\nline", false),
        ] {
            assert_eq!(is_plain_safe(text), plain, "{text:?}");
        }
        assert_eq!(double_quoted("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }
}
