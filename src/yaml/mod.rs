//! YAML layer: parses YAML text into position-carrying trees with Kubernetes scalar semantics.
//!
//! This module owns:
//! - turning YAML text (one file, possibly several `---` documents) into [`Node`] trees built
//!   from `saphyr-parser`'s event stream, where every node carries a [`Span`] (byte range, 1-based
//!   line and column), its [`ScalarStyle`], its explicit tag and the document order of map keys;
//! - the checks Kubernetes' decoder (sigs.k8s.io/yaml on top of go-yaml v2) makes beyond plain
//!   YAML syntax: duplicate keys, map keys that cannot become JSON keys, `<<` merges of non-maps,
//!   explicitly tagged scalars whose value does not fit the tag;
//! - YAML 1.1 scalar resolution as go-yaml v2 does it ([`Node::resolve`]) and the YAML→JSON
//!   conversion Kubernetes applies ([`Node::to_json`]: merge keys applied, keys turned into
//!   strings, whole floats written as integers);
//! - mapping a JSON pointer back to a node ([`Node::find_pointer`]) for diagnostics.
//!
//! It does not own:
//! - serialisation: printing trees the way kustomize prints them is [`emit`]'s job (re-exported
//!   here: [`emit_documents`], [`emit_node`]);
//! - schema validation or any knowledge of Kubernetes kinds;
//! - reading files or rendering diagnostics.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle as SaphyrStyle, Tag};

pub mod edit;
pub mod emit;
pub use emit::{
    KustomizeValue, Unprintable, check_printable, emit_documents, emit_node, emit_node_into,
    natural_cmp, scalar_value,
};

/// Maximum nesting of sequences and mappings. Deeper input is rejected so that the recursive
/// helpers (`to_json`, `Clone`, `Drop`) cannot overflow a thread stack.
const MAX_DEPTH: usize = 1000;

/// Maximum number of nodes that alias expansion may create in one `parse_documents` call
/// ("billion laughs" guard; real manifests are several orders of magnitude below it).
const MAX_ALIAS_NODES: usize = 200_000;

/// Number of keys above which duplicate detection switches from a linear scan over key hashes
/// to a hash map of key strings.
const LINEAR_KEY_SCAN: usize = 64;

/// The prefix of YAML core schema tags (`!!str` is `tag:yaml.org,2002:str`).
const CORE_TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// A region of the source text.
///
/// `start..end` are byte offsets into the text given to [`parse_documents`] (so a leading byte
/// order mark counts 3 bytes); `line` and `col` locate `start`, both 1-based, with `col` counted
/// in characters (a tab is one column, a leading byte order mark is not counted).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// 1-based line of `start`.
    pub line: u32,
    /// 1-based column of `start`, in characters.
    pub col: u32,
}

impl Span {
    /// The byte range `start..end`.
    #[must_use]
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Whether the span covers no text (e.g. an implicit null value).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarStyle {
    /// Unquoted (`a: value`); the only style whose value is resolved (`yes`, `0755`, `~`, ...).
    Plain,
    /// `'single quoted'`.
    SingleQuoted,
    /// `"double quoted"`.
    DoubleQuoted,
    /// Literal block scalar (`|`).
    Literal,
    /// Folded block scalar (`>`).
    Folded,
}

/// A YAML node with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Scalar, sequence or mapping.
    pub kind: NodeKind,
    /// Where the node is written. For a collection this runs from its first character (the `-`
    /// of a block sequence, the first key of a block mapping, `[`/`{` of a flow collection, or
    /// its anchor/tag) to the end of its last child (or its closing bracket). For a node expanded
    /// from an alias, the root's span is the alias (`*name`) and the children keep the spans of
    /// the anchored original.
    pub span: Span,
    /// Explicit tag. YAML core schema tags are written in short form (`!!str`, `!!int`, also when
    /// given verbatim as `!<tag:yaml.org,2002:int>`); local tags as written (`!foo`); the
    /// non-specific tag as `!`; tags using a `%TAG` handle as the full expanded tag.
    pub tag: Option<String>,
}

/// The content of a [`Node`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// A scalar.
    Scalar(Scalar),
    /// A sequence, in document order.
    Seq(Vec<Node>),
    /// A mapping as `(key, value)` pairs in document order. `<<` merge keys are kept as written;
    /// [`Node::get`], [`Node::find_pointer`] and [`Node::to_json`] apply them.
    Map(Vec<(Node, Node)>),
}

/// A scalar's text and style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar {
    /// The value after YAML unescaping and line folding (not the source text).
    pub text: String,
    /// How it was written.
    pub style: ScalarStyle,
}

/// A resolved scalar, following go-yaml v2 (what Kubernetes uses) rather than YAML 1.2.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// `~`, `null`, `Null`, `NULL` or nothing.
    Null,
    /// `true`/`false`, and the YAML 1.1 words `y`, `yes`, `on`, `n`, `no`, `off` (see
    /// [`Node::resolve`] for the exact list).
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// An integer above `i64::MAX` that fits `u64` (go-yaml v2 falls back to `uint64` there;
    /// only larger integers become floats).
    UInt(u64),
    /// A float, including `.inf`, `-.inf`, `.nan` and integers too large for `u64`.
    Float(f64),
    /// Anything else, and every quoted or block scalar.
    Str(&'a str),
}

/// A YAML document of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The document's content.
    pub root: Node,
    /// From the `---` marker (or the first token of an implicit document) to the end of the root
    /// node (or of the `...` marker).
    pub span: Span,
}

/// Why YAML text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    /// The text is not well-formed YAML (including tab indentation and unknown aliases).
    #[error("YAML syntax error at line {}, column {}: {message}", .span.line, .span.col)]
    Syntax {
        /// What the parser expected or found.
        message: String,
        /// Where (usually a single character).
        span: Span,
    },
    /// A mapping has the same key twice. Keys are compared by the string they become in JSON, so
    /// `1` and `"1"`, or `yes` and `true`, are the same key.
    #[error(
        "duplicate key {key:?} at line {}, column {} (first defined at line {}, column {})",
        .span.line, .span.col, .first.line, .first.col
    )]
    DuplicateKey {
        /// The key as a JSON object key.
        key: String,
        /// The second occurrence.
        span: Span,
        /// The first occurrence.
        first: Span,
    },
    /// Well-formed YAML that Kubernetes' YAML→JSON conversion rejects: a null, collection or
    /// out-of-range integer map key, a `<<` merge whose value is not a mapping or a sequence of
    /// mappings, or a scalar whose explicit tag does not fit its value (`!!int abc`).
    #[error("{message} at line {}, column {}", .span.line, .span.col)]
    Invalid {
        /// What is wrong.
        message: String,
        /// The offending node.
        span: Span,
    },
    /// The input exceeds a resource limit: nesting depth or alias expansion size.
    #[error("{message} at line {}, column {}", .span.line, .span.col)]
    Limit {
        /// Which limit.
        message: String,
        /// Where it was exceeded.
        span: Span,
    },
    /// [`parse_one`] found more than one non-empty document.
    #[error(
        "expected a single YAML document, found a second one at line {}, column {}",
        .span.line, .span.col
    )]
    MultipleDocuments {
        /// The second document.
        span: Span,
        /// The first document.
        first: Span,
    },
}

impl YamlError {
    /// The primary location of the error.
    #[must_use]
    pub fn span(&self) -> Span {
        match self {
            YamlError::Syntax { span, .. }
            | YamlError::DuplicateKey { span, .. }
            | YamlError::Invalid { span, .. }
            | YamlError::Limit { span, .. }
            | YamlError::MultipleDocuments { span, .. } => *span,
        }
    }
}

/// Parses every document of a YAML stream.
///
/// Empty documents (a bare `---`, only comments, or a root that resolves to null such as `~`)
/// are skipped, as kubectl does; text without any document gives an empty `Vec`. A leading byte
/// order mark is accepted. Lines inside a flow collection (`[...]`, `{...}`) that are indented
/// no further than the enclosing block, which YAML 1.2 forbids but libyaml, go-yaml and so
/// kubectl and kustomize accept, are accepted too.
///
/// # Errors
/// The first problem found, in document order: [`YamlError::Syntax`],
/// [`YamlError::DuplicateKey`], [`YamlError::Invalid`] or [`YamlError::Limit`].
pub fn parse_documents(text: &str) -> Result<Vec<Document>, YamlError> {
    let mut patches: Vec<Patch> = Vec::new();
    let mut patched: Cow<'_, str> = Cow::Borrowed(text);
    loop {
        match Builder::new(&patched).run() {
            Ok(mut docs) => {
                if !patches.is_empty() {
                    for doc in &mut docs {
                        doc.span = unpatch_span(text, &patches, doc.span);
                        unpatch_tree(text, &patches, &mut doc.root);
                    }
                }
                return Ok(docs);
            }
            Err((error, fix)) => {
                let applied = fix.is_some_and(|fix| add_patch(&mut patches, fix));
                if !applied {
                    return Err(unpatch_error(text, &patches, error));
                }
                patched = Cow::Owned(apply_patches(text, &patches));
            }
        }
    }
}

/// Parses a file that must hold at most one document (e.g. `kustomization.yaml`).
///
/// Returns `Ok(None)` when the text has no non-empty document.
///
/// # Errors
/// As [`parse_documents`], plus [`YamlError::MultipleDocuments`] when a second non-empty
/// document follows.
pub fn parse_one(text: &str) -> Result<Option<Node>, YamlError> {
    let mut docs = parse_documents(text)?.into_iter();
    let first = docs.next();
    if let (Some(first), Some(second)) = (&first, docs.next()) {
        return Err(YamlError::MultipleDocuments {
            span: second.span,
            first: first.span,
        });
    }
    Ok(first.map(|d| d.root))
}

/// The 1-based line and column (in characters) of `byte_offset` in `text`.
///
/// Line breaks are `\n`, `\r\n` and a lone `\r`, as in YAML. Byte order marks at the start of a
/// line are not counted as columns, matching the spans of parsed nodes. Offsets past the end are
/// clamped to the end; an offset inside a multi-byte character counts as that character.
#[must_use]
pub fn line_col(text: &str, byte_offset: usize) -> (u32, u32) {
    let mut off = byte_offset.min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    let bytes = text.as_bytes();
    let mut line: u32 = 1;
    let mut line_start = 0;
    for (i, &b) in bytes[..off].iter().enumerate() {
        let is_break = b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
        if is_break {
            line = line.saturating_add(1);
            line_start = i + 1;
        }
    }
    let prefix = text.get(line_start..off).unwrap_or_default();
    let col = prefix.trim_start_matches('\u{FEFF}').chars().count();
    (line, to_u32(col).saturating_add(1))
}

/// Line and column of byte `to`, counting forward from the known position `from` (falls back to
/// [`line_col`] when `from` lies after `to`).
fn advance(text: &str, from: Pos, to: usize) -> (u32, u32) {
    const BOM: &[u8] = "\u{FEFF}".as_bytes();
    let bytes = text.as_bytes();
    let to = to.min(bytes.len());
    if from.byte > to || !text.is_char_boundary(from.byte) {
        return line_col(text, to);
    }
    let (mut line, mut col) = (from.line, from.col);
    let mut at = from.byte;
    while at < to {
        let b = bytes[at];
        if col == 1 && bytes[at..to].starts_with(BOM) {
            at += BOM.len();
            continue;
        }
        if b == b'\n' || (b == b'\r' && bytes.get(at + 1) != Some(&b'\n')) {
            line = line.saturating_add(1);
            col = 1;
        } else if b != b'\r' && (b & 0xC0) != 0x80 {
            col = col.saturating_add(1);
        }
        at += 1;
    }
    (line, col)
}

/// go-yaml v3 (kustomize's reader) differs from the YAML spec in one folding case: the line
/// break between a normal line and a following more-indented line is doubled (`>` with `a`,
/// `  b` reads as `"a\n\n  b"`, not `"a\n  b"`), also across blank lines. Applied to the
/// spec-folded text saphyr gives, where each output line starting with a space or tab is one
/// more-indented source line. `None` when nothing changes.
fn go_yaml_folding(folded: &str) -> Option<String> {
    let mut out = String::with_capacity(folded.len() + 8);
    let mut last_content_normal = false;
    let mut changed = false;
    for (i, line) in folded.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.is_empty() {
            out.push_str(line);
            continue;
        }
        let more_indented = line.starts_with([' ', '\t']);
        if more_indented && last_content_normal && i > 0 {
            out.push('\n');
            changed = true;
        }
        last_content_normal = !more_indented;
        out.push_str(line);
    }
    changed.then_some(out)
}

impl Node {
    /// The scalar's text (any style, before resolution: `"0755"` and `0755` both give `0755`);
    /// `None` for sequences and mappings.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(&s.text),
            _ => None,
        }
    }

    /// The scalar, if this is one.
    #[must_use]
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The items, if this is a sequence.
    #[must_use]
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The `(key, value)` pairs as written, if this is a mapping.
    #[must_use]
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// `"scalar"`, `"sequence"` or `"mapping"`, for messages.
    #[must_use]
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar(_) => "scalar",
            NodeKind::Seq(_) => "sequence",
            NodeKind::Map(_) => "mapping",
        }
    }

    /// Whether this is a scalar that resolves to null (`~`, `null`, an empty value, `!!null`).
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self.resolve(), Some(Value::Null))
    }

    /// The value of the entry whose key is `key`, comparing with the string each key becomes in
    /// JSON (so an unquoted `y` key is found as `"true"`, as Kubernetes sees it).
    ///
    /// Keys merged in with `<<` are found too, with the precedence of [`Node::to_json`].
    /// `None` if this is not a mapping or has no such key.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Node> {
        let entries = self.as_map()?;
        // Fast path for the common case, a key that no non-string scalar prints as (not
        // `true`, `null`, a number...): then only a key written with exactly this text can
        // match, and resolving every key of the map (the slow path) is not needed.
        if !could_print_as_non_string(key) {
            let mut has_merge = false;
            for (k, v) in entries {
                if is_merge_key(k) {
                    has_merge = true;
                } else if let NodeKind::Scalar(s) = &k.kind
                    && s.text == key
                    && key_string(k).is_ok_and(|s| s == key)
                {
                    return Some(v);
                }
            }
            if !has_merge {
                return None;
            }
        }
        lookup(entries, &|k: &str| k == key, 0).map(|(_, v)| v)
    }

    /// Like [`Node::get`], but when no key matches exactly, the first key equal to `key` ignoring
    /// case is taken (the rule Go's `encoding/json` applies to struct fields).
    #[must_use]
    pub fn get_ignore_case(&self, key: &str) -> Option<&Node> {
        let entries = self.as_map()?;
        lookup(entries, &|k: &str| k == key, 0)
            .or_else(|| lookup(entries, &|k: &str| eq_ignore_case(k, key), 0))
            .map(|(_, v)| v)
    }

    /// Resolves a scalar the way Kubernetes' YAML decoder (go-yaml v2, YAML 1.1 rules) does;
    /// `None` for sequences and mappings.
    ///
    /// Only plain scalars without a tag are resolved; quoted and block scalars are strings. An
    /// explicit core tag decides the type whatever the style: `!!str` (and `!!binary`,
    /// `!!timestamp`, `!!merge`, local and unknown tags) give a string, `!!int`, `!!float`,
    /// `!!bool` and `!!null` resolve the text and must match (checked when parsing; `!!float`
    /// also accepts integers).
    ///
    /// Plain resolution, exactly as go-yaml v2:
    /// - null: empty, `~`, `null`, `Null`, `NULL`;
    /// - booleans: `y Y yes Yes YES true True TRUE on On ON` and
    ///   `n N no No NO false False FALSE off Off OFF`;
    /// - integers: Go's `strconv.ParseInt(s, 0, 64)` after removing every `_`: optional sign,
    ///   decimal, `0x` hex, `0b` binary, `0o` or `0`-prefixed octal (`0755` = 493, `0o755` = 493),
    ///   then `ParseUint` for values above `i64::MAX`;
    /// - floats: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` (so `08` is the float 8,
    ///   and integers beyond `u64` are floats), `.inf`, `+.inf`, `-.inf`, `.nan` in lower, title
    ///   or upper case; a float literal that overflows stays a string, as in Go;
    /// - everything else is a string: sexagesimal `1:30` (go-yaml v2 deliberately dropped base
    ///   60), timestamps (go-yaml v2 returns them to untyped targets as strings), `0x` alone.
    #[must_use]
    pub fn resolve(&self) -> Option<Value<'_>> {
        let NodeKind::Scalar(s) = &self.kind else {
            return None;
        };
        Some(resolve_scalar(&s.text, s.style, self.tag.as_deref()).unwrap_or(Value::Str(&s.text)))
    }

    /// Converts the tree to JSON as Kubernetes does (sigs.k8s.io/yaml `YAMLToJSON`).
    ///
    /// - scalars are resolved with [`Node::resolve`]; a float with no fractional part becomes a
    ///   JSON integer (`replicas: 3.0` gives `3`), as Go's `json.Marshal` writes it; `.inf` and
    ///   `.nan`, which Go cannot marshal at all, become their text as a JSON string;
    /// - `<<` merge keys are applied: explicit keys win over merged ones, and among merged
    ///   mappings (a sequence, or several `<<` keys) the earlier one wins;
    /// - keys become strings: booleans `true`/`false`, integers in decimal, floats as Go's
    ///   `strconv.FormatFloat(f, 'g', -1, 32)` (`.inf`, `-.inf`, `.nan` for the specials).
    ///   Keys Kubernetes rejects (null, collections, integers above `i64::MAX`) are refused by the
    ///   parser; in a hand-built tree they are written as their text.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        match &self.kind {
            NodeKind::Scalar(s) => match self.resolve() {
                None | Some(Value::Null) => serde_json::Value::Null,
                Some(Value::Bool(b)) => serde_json::Value::Bool(b),
                Some(Value::Int(i)) => serde_json::Value::from(i),
                Some(Value::UInt(u)) => serde_json::Value::from(u),
                Some(Value::Float(f)) => float_to_json(f, &s.text),
                Some(Value::Str(t)) => serde_json::Value::String(t.to_owned()),
            },
            NodeKind::Seq(items) => {
                serde_json::Value::Array(items.iter().map(Node::to_json).collect())
            }
            NodeKind::Map(entries) => {
                let mut object = serde_json::Map::new();
                let mut merges = Vec::new();
                for (key, value) in entries {
                    if is_merge_key(key) {
                        merges.push(value);
                    } else {
                        object.insert(key_string_lossy(key).into_owned(), value.to_json());
                    }
                }
                for source in merges {
                    let sources = match &source.kind {
                        NodeKind::Seq(items) => items.as_slice(),
                        _ => std::slice::from_ref(source),
                    };
                    for src in sources {
                        if let serde_json::Value::Object(merged) = src.to_json() {
                            for (k, v) in merged {
                                object.entry(k).or_insert(v);
                            }
                        }
                    }
                }
                serde_json::Value::Object(object)
            }
        }
    }

    /// The node at an RFC 6901 JSON pointer into [`Node::to_json`]'s view of the tree (`""` is
    /// this node; `~1` is `/`, `~0` is `~`; sequence indices are decimal without leading zeros).
    /// Map keys are matched as JSON keys, and keys merged in with `<<` are found in their source.
    #[must_use]
    pub fn find_pointer(&self, pointer: &str) -> Option<&Node> {
        self.find_pointer_entry(pointer).map(|(_, v)| v)
    }

    /// Like [`Node::find_pointer`], but returns the key node of the last step when it is a map
    /// entry (to point at `replica:` rather than at its value when a schema rejects the key).
    /// The key is `None` for the root and for sequence items.
    #[must_use]
    pub fn find_pointer_entry(&self, pointer: &str) -> Option<(Option<&Node>, &Node)> {
        if pointer.is_empty() {
            return Some((None, self));
        }
        let rest = pointer.strip_prefix('/')?;
        let mut current = (None, self);
        for raw in rest.split('/') {
            let token: Cow<'_, str> = if raw.contains('~') {
                Cow::Owned(unescape_pointer_token(raw)?)
            } else {
                Cow::Borrowed(raw)
            };
            let node = current.1;
            current = match &node.kind {
                NodeKind::Map(entries) => {
                    let (k, v) = lookup(entries, &|k: &str| k == token, 0)?;
                    (Some(k), v)
                }
                NodeKind::Seq(items) => (None, items.get(parse_pointer_index(&token)?)?),
                NodeKind::Scalar(_) => return None,
            };
        }
        Some(current)
    }
}

impl Scalar {
    /// Whether the scalar is plain (the only style that is resolved without a tag).
    #[must_use]
    pub fn is_plain(&self) -> bool {
        self.style == ScalarStyle::Plain
    }
}

// ---------------------------------------------------------------------------------------------
// Tree building from the event stream.

/// A position in the source.
#[derive(Debug, Clone, Copy, Default)]
struct Pos {
    byte: usize,
    line: u32,
    col: u32,
}

/// Converts saphyr's markers to byte offsets.
///
/// For ASCII text a marker's character index is the byte offset. Otherwise the marker's line and
/// column are used: saphyr counts some characters by their UTF-8 length in the index (the names
/// and parameters of `%` directives), so the index can drift, while line and column stay exact.
struct Offsets<'t> {
    text: &'t str,
    ascii: bool,
    /// Byte offset of the start of each line (non-ASCII text only, built on first use).
    line_starts: Vec<usize>,
}

impl<'t> Offsets<'t> {
    fn new(text: &'t str) -> Self {
        Offsets {
            text,
            ascii: text.is_ascii(),
            line_starts: Vec::new(),
        }
    }

    fn byte_of(&mut self, m: saphyr_parser::Marker) -> usize {
        let text = self.text;
        if self.ascii {
            return m.index().min(text.len());
        }
        if self.line_starts.is_empty() {
            let bytes = text.as_bytes();
            self.line_starts.push(0);
            for (i, &b) in bytes.iter().enumerate() {
                if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                    self.line_starts.push(i + 1);
                }
            }
        }
        // saphyr reports the end of the stream one line past the text.
        let Some(&line_start) = m
            .line()
            .checked_sub(1)
            .and_then(|l| self.line_starts.get(l))
        else {
            return text.len();
        };
        let line = text.get(line_start..).unwrap_or_default();
        // Byte order marks at the start of a line are not counted as columns by saphyr.
        let content = line.trim_start_matches('\u{FEFF}');
        let mut byte = line_start + (line.len() - content.len());
        for c in content.chars().take(m.col()) {
            if c == '\n' || c == '\r' {
                break;
            }
            byte += c.len_utf8();
        }
        byte
    }
}

/// An open collection.
enum FrameKind {
    Seq(Vec<Node>),
    Map(MapFrame),
}

struct MapFrame {
    entries: Vec<(Node, Node)>,
    pending_key: Option<Node>,
    /// (hash of the JSON key, index of the entry) of each non-merge key, while the map is small.
    key_hashes: Vec<(u64, usize)>,
    /// JSON key → index of the entry; replaces `key_hashes` once the map grows past
    /// [`LINEAR_KEY_SCAN`] keys.
    index: Option<HashMap<String, usize>>,
}

struct Frame {
    kind: FrameKind,
    start: Pos,
    /// End of the start event (`[`/`{` for flow collections).
    header_end: usize,
    flow: bool,
    tag: Option<String>,
    anchor: usize,
    /// Number of nodes below this one.
    size: usize,
}

struct Builder<'t> {
    text: &'t str,
    offsets: Offsets<'t>,
    stack: Vec<Frame>,
    /// saphyr anchor id → (anchored node, its node count).
    anchors: HashMap<usize, (Node, usize)>,
    alias_nodes: usize,
    docs: Vec<Document>,
    doc_start: Pos,
    root: Option<Node>,
    /// End of the previous event, where the search for a block scalar's `|`/`>` starts.
    last_end: Pos,
    /// Line and column of the end of the text, computed on first use (saphyr's markers at the
    /// end of the stream may point one line past the text).
    eof: Option<(u32, u32)>,
}

impl<'t> Builder<'t> {
    fn new(text: &'t str) -> Self {
        Builder {
            text,
            offsets: Offsets::new(text),
            stack: Vec::new(),
            anchors: HashMap::new(),
            alias_nodes: 0,
            docs: Vec::new(),
            doc_start: Pos::default(),
            root: None,
            last_end: Pos {
                byte: 0,
                line: 1,
                col: 1,
            },
            eof: None,
        }
    }

    /// For an "invalid indentation" error at `byte`: when it is inside a flow collection and
    /// only blanks precede it on its line, the number of spaces to insert before it so that the
    /// line is indented past the enclosing block collection.
    fn flow_indent_fix(&self, byte: usize) -> Option<FlowIndentFix> {
        let outer_flow = self.stack.iter().position(|f| f.flow)?;
        let block_col = outer_flow
            .checked_sub(1)
            .and_then(|i| self.stack.get(i))
            .map_or(1, |f| f.start.col);
        let bytes = self.text.as_bytes();
        let line_start = bytes[..byte.min(bytes.len())]
            .iter()
            .rposition(|&b| b == b'\n' || b == b'\r')
            .map_or(0, |i| i + 1);
        let indent = bytes.get(line_start..byte)?;
        if !indent.iter().all(|&b| b == b' ') {
            return None;
        }
        // Columns are 1-based: content at 0-based column `block_col` is one past the block.
        let needed = usize::try_from(block_col).unwrap_or(1);
        Some(FlowIndentFix {
            at: byte,
            spaces: needed.saturating_sub(indent.len()).max(1),
        })
    }

    fn pos(&mut self, m: saphyr_parser::Marker) -> Pos {
        let byte = self.offsets.byte_of(m);
        if byte >= self.text.len() {
            let (text, from) = (self.text, self.last_end);
            let (line, col) = *self
                .eof
                .get_or_insert_with(|| advance(text, from, text.len()));
            return Pos { byte, line, col };
        }
        Pos {
            byte,
            line: to_u32(m.line()),
            col: to_u32(m.col()).saturating_add(1),
        }
    }

    fn span(start: Pos, end: usize) -> Span {
        Span {
            start: start.byte,
            end: end.max(start.byte),
            line: start.line,
            col: start.col,
        }
    }

    /// A span for an error at `byte`: one character wide, line/column computed from the text.
    fn error_span(&self, byte: usize) -> Span {
        let (line, col) = line_col(self.text, byte);
        let start = byte.min(self.text.len());
        let end = self.text[start..]
            .chars()
            .next()
            .map_or(start, |c| start + c.len_utf8());
        Span {
            start,
            end,
            line,
            col,
        }
    }

    /// Builds the documents; on failure also says how the text could be re-indented when the
    /// error is saphyr's stricter-than-Kubernetes indentation rule inside flow collections.
    fn run(mut self) -> Result<Vec<Document>, (YamlError, Option<FlowIndentFix>)> {
        let mut parser = Parser::new_from_str(self.text);
        while let Some(next) = parser.next_event() {
            let (event, span) = match next {
                Ok(ok) => ok,
                Err(e)
                    if matches!(
                        e.info(),
                        "invalid indentation" | "invalid indentation in flow construct"
                    ) =>
                {
                    let byte = self.offsets.byte_of(*e.marker());
                    let fix = self.flow_indent_fix(byte);
                    let error = YamlError::Syntax {
                        message: e.info().to_owned(),
                        span: self.error_span(byte),
                    };
                    return Err((error, fix));
                }
                Err(e) => {
                    let mut byte = self.offsets.byte_of(*e.marker());
                    // Tab errors point after the tabs, or at the start of the scalar in which a
                    // tab was found; point at the (first) tab itself.
                    let bytes = self.text.as_bytes();
                    if e.info().contains("tab") {
                        if byte > 0 && bytes.get(byte - 1) == Some(&b'\t') {
                            while byte > 0 && bytes.get(byte - 1) == Some(&b'\t') {
                                byte -= 1;
                            }
                        } else if let Some(i) = self.text.get(byte..).and_then(|t| t.find('\t')) {
                            byte += i;
                        }
                    }
                    let error = YamlError::Syntax {
                        message: e.info().to_owned(),
                        span: self.error_span(byte),
                    };
                    return Err((error, None));
                }
            };
            let start = self.pos(span.start);
            let end = self.pos(span.end);
            let stop = matches!(event, Event::StreamEnd);
            self.event(event, start, end).map_err(|e| (e, None))?;
            self.last_end = end;
            if stop {
                break;
            }
        }
        Ok(self.docs)
    }

    fn event(&mut self, event: Event<'_>, start: Pos, end: Pos) -> Result<(), YamlError> {
        let is_seq = matches!(event, Event::SequenceStart(..));
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart(_) => {
                self.anchors.clear();
                self.doc_start = start;
                self.root = None;
            }
            Event::DocumentEnd => {
                if let Some(root) = self.root.take() {
                    let mut doc_end = root.span.end;
                    if self.text.get(start.byte..end.byte) == Some("...") {
                        doc_end = doc_end.max(end.byte);
                    }
                    if !root.is_null() {
                        let doc_start = if self.doc_start.byte <= root.span.start {
                            self.doc_start
                        } else {
                            Pos {
                                byte: root.span.start,
                                line: root.span.line,
                                col: root.span.col,
                            }
                        };
                        self.docs.push(Document {
                            span: Self::span(doc_start, doc_end),
                            root,
                        });
                    }
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                self.scalar(value, style, anchor, tag.as_deref(), start, end)?;
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(YamlError::Limit {
                        message: format!("nesting deeper than {MAX_DEPTH} levels"),
                        span: Self::span(start, end.byte),
                    });
                }
                let opener = end
                    .byte
                    .checked_sub(1)
                    .and_then(|i| self.text.as_bytes().get(i));
                let flow = end.byte > start.byte && matches!(opener, Some(b'[' | b'{'));
                let kind = if is_seq {
                    FrameKind::Seq(Vec::new())
                } else {
                    FrameKind::Map(MapFrame {
                        entries: Vec::new(),
                        pending_key: None,
                        key_hashes: Vec::new(),
                        index: None,
                    })
                };
                self.stack.push(Frame {
                    kind,
                    start,
                    header_end: end.byte,
                    flow,
                    tag: tag.as_deref().map(render_tag),
                    anchor,
                    size: 0,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(frame) = self.stack.pop() {
                    self.close(frame, start, end)?;
                }
            }
            Event::Alias(id) => {
                let span = Self::span(start, end.byte);
                let Some((original, size)) = self.anchors.get(&id) else {
                    return Err(YamlError::Syntax {
                        message: "unknown anchor (aliases cannot refer to an enclosing node or \
                                  to another document)"
                            .to_owned(),
                        span,
                    });
                };
                let size = *size;
                self.alias_nodes = self.alias_nodes.saturating_add(size);
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(YamlError::Limit {
                        message: format!("aliases expand to more than {MAX_ALIAS_NODES} nodes"),
                        span,
                    });
                }
                let mut node = original.clone();
                node.span = span;
                self.attach(node, size, 0)?;
            }
        }
        Ok(())
    }

    fn scalar(
        &mut self,
        value: Cow<'_, str>,
        style: SaphyrStyle,
        anchor: usize,
        tag: Option<&Tag>,
        start: Pos,
        end: Pos,
    ) -> Result<(), YamlError> {
        let style = match style {
            SaphyrStyle::Plain => ScalarStyle::Plain,
            SaphyrStyle::SingleQuoted => ScalarStyle::SingleQuoted,
            SaphyrStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
            SaphyrStyle::Literal => ScalarStyle::Literal,
            SaphyrStyle::Folded => ScalarStyle::Folded,
        };
        let tag = tag.map(render_tag);
        let mut start = start;
        let mut end = end.byte;
        let bytes = self.text.as_bytes();
        let mut value = value;
        if style == ScalarStyle::Folded
            && let Some(fixed) = go_yaml_folding(&value)
        {
            value = Cow::Owned(fixed);
        }
        if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
            && end >= bytes.len()
            && !matches!(bytes.last(), Some(b'\n' | b'\r'))
            && value.ends_with('\n')
        {
            // The last line of the input has no line break, so there is none to keep (YAML
            // 1.2 chomping keeps only breaks that exist; saphyr adds one at the end of input,
            // go-yaml does not).
            value.to_mut().pop();
        }
        match style {
            ScalarStyle::Literal | ScalarStyle::Folded => {
                // saphyr's span starts at the content; start at the `|`/`>` indicator instead
                // (unless an anchor or tag already comes first) and drop trailing blank lines.
                if let Some(indicator) = self.find_block_indicator(start.byte)
                    && indicator.byte < start.byte
                {
                    start = indicator;
                }
                while end > start.byte + 1 && matches!(bytes[end - 1], b' ' | b'\t' | b'\n' | b'\r')
                {
                    end -= 1;
                }
            }
            ScalarStyle::Plain if value.is_empty() && tag.is_none() && anchor == 0 => {
                // An implicit null: an empty span (for a value, right after its `:`).
                let is_key = matches!(
                    self.stack.last(),
                    Some(Frame {
                        kind: FrameKind::Map(MapFrame {
                            pending_key: None,
                            ..
                        }),
                        ..
                    })
                );
                if !is_key && bytes.get(start.byte) == Some(&b':') {
                    start.byte += 1;
                    start.col = start.col.saturating_add(1);
                }
                end = start.byte;
            }
            _ => {}
        }
        let span = Self::span(start, end);
        if let Some(tag) = &tag {
            check_tagged(tag, &value, span)?;
        }
        let node = Node {
            kind: NodeKind::Scalar(Scalar {
                text: value.into_owned(),
                style,
            }),
            span,
            tag,
        };
        self.attach(node, 1, anchor)
    }

    /// Finds the `|` or `>` of a block scalar whose content starts at `content`, scanning forward
    /// from the end of the previous event over what may separate them (indicators, anchors,
    /// tags, comments, line breaks).
    fn find_block_indicator(&self, content: usize) -> Option<Pos> {
        let bytes = self.text.as_bytes();
        let mut p = self.last_end;
        let limit = content.min(bytes.len());
        while p.byte < limit {
            match bytes[p.byte] {
                b'|' | b'>' => return Some(p),
                b' ' | b'\t' | b':' | b'-' | b'?' | b',' => {
                    p.byte += 1;
                    p.col = p.col.saturating_add(1);
                }
                b'\n' | b'\r' => {
                    if bytes[p.byte] == b'\r' && bytes.get(p.byte + 1) == Some(&b'\n') {
                        p.byte += 1;
                    }
                    p.byte += 1;
                    p.line = p.line.saturating_add(1);
                    p.col = 1;
                }
                b'#' | b'&' | b'!' => {
                    // A comment runs to the end of the line; an anchor or tag to a blank.
                    let comment = bytes[p.byte] == b'#';
                    let from = p.byte;
                    while p.byte < limit {
                        let b = bytes[p.byte];
                        if b == b'\n' || b == b'\r' || (!comment && (b == b' ' || b == b'\t')) {
                            break;
                        }
                        p.byte += 1;
                    }
                    let chars = to_u32(count_chars(&bytes[from..p.byte]));
                    p.col = p.col.saturating_add(chars);
                }
                _ => return None,
            }
        }
        None
    }

    fn close(&mut self, frame: Frame, end_start: Pos, end_end: Pos) -> Result<(), YamlError> {
        let Frame {
            kind,
            mut start,
            header_end,
            flow,
            tag,
            anchor,
            size,
        } = frame;
        let closer_len = end_end.byte.saturating_sub(end_start.byte);
        let (kind, last_end, first_start) = match kind {
            FrameKind::Seq(items) => {
                let last = items.last().map(|n| n.span.end);
                let first = items.first().map(|n| n.span);
                (NodeKind::Seq(items), last, first)
            }
            FrameKind::Map(map) => {
                let entries = map.entries;
                let last = map
                    .pending_key
                    .as_ref()
                    .map(|k| k.span.end)
                    .or_else(|| entries.last().map(|(k, v)| v.span.end.max(k.span.end)));
                (NodeKind::Map(entries), last, None)
            }
        };
        let end = if flow && closer_len > 0 {
            end_end.byte
        } else {
            last_end.unwrap_or(header_end).max(header_end)
        };
        // A block sequence that is a mapping value may be written without indentation
        // ("key:\n- a"); saphyr then starts it after the first `- `. Start it at the `-`.
        if let (false, Some(first)) = (flow, first_start) {
            let bytes = self.text.as_bytes();
            let mut i = first.start;
            while i > 0 && matches!(bytes[i - 1], b' ' | b'\t') {
                i -= 1;
            }
            if i > 0 && bytes[i - 1] == b'-' && i - 1 < start.byte {
                let dash = i - 1;
                let back = to_u32(first.start - dash);
                start = Pos {
                    byte: dash,
                    line: first.line,
                    col: first.col.saturating_sub(back).max(1),
                };
            }
        }
        let node = Node {
            kind,
            span: Self::span(start, end),
            tag,
        };
        self.attach(node, size.saturating_add(1), anchor)
    }

    fn attach(&mut self, node: Node, size: usize, anchor: usize) -> Result<(), YamlError> {
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        frame.size = frame.size.saturating_add(size);
        match &mut frame.kind {
            FrameKind::Seq(items) => items.push(node),
            FrameKind::Map(map) => match map.pending_key.take() {
                None => {
                    check_key(map, &node)?;
                    map.pending_key = Some(node);
                }
                Some(key) => {
                    if is_merge_key(&key) {
                        check_merge_value(&node)?;
                    }
                    map.entries.push((key, node));
                }
            },
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Working around saphyr's indentation rule for flow collections.
//
// YAML 1.2 wants the lines of a flow collection inside a block collection indented past it, and
// saphyr enforces that; libyaml, go-yaml and so kubectl and kustomize do not, and real manifests
// rely on it:
//
//     command: [
//       "/bin/server",
//     ]
//
// When saphyr reports "invalid indentation" inside a flow collection at the first character of a
// line, the line is indented (in a copy of the text) and the text parsed again; spans are mapped
// back to the original text afterwards. Text that saphyr accepts never takes this path.

/// Upper bound on re-indented lines (each costs a re-parse).
const MAX_FLOW_INDENT_PATCHES: usize = 256;

/// Upper bound on the spaces inserted before one line.
const MAX_FLOW_INDENT_SPACES: usize = 32;

/// Spaces to insert at a byte of the (patched) text being parsed.
struct FlowIndentFix {
    at: usize,
    spaces: usize,
}

/// Spaces inserted at a byte offset of the original text.
#[derive(Debug, Clone, Copy)]
struct Patch {
    at: usize,
    spaces: usize,
}

/// Records `fix` (given in patched coordinates) in `patches` (original coordinates, sorted).
/// Returns `false`, changing nothing, when a limit is reached.
fn add_patch(patches: &mut Vec<Patch>, fix: FlowIndentFix) -> bool {
    if patches.len() >= MAX_FLOW_INDENT_PATCHES || fix.spaces > MAX_FLOW_INDENT_SPACES {
        return false;
    }
    let at = unpatch_byte(patches, fix.at);
    match patches.iter().position(|p| p.at >= at) {
        Some(i) if patches[i].at == at => {
            let spaces = patches[i].spaces + fix.spaces;
            if spaces > MAX_FLOW_INDENT_SPACES {
                return false;
            }
            patches[i].spaces = spaces;
        }
        Some(i) => patches.insert(
            i,
            Patch {
                at,
                spaces: fix.spaces,
            },
        ),
        None => patches.push(Patch {
            at,
            spaces: fix.spaces,
        }),
    }
    true
}

fn apply_patches(text: &str, patches: &[Patch]) -> String {
    let extra: usize = patches.iter().map(|p| p.spaces).sum();
    let mut out = String::with_capacity(text.len() + extra);
    let mut from = 0;
    for p in patches {
        out.push_str(text.get(from..p.at).unwrap_or_default());
        out.extend(std::iter::repeat_n(' ', p.spaces));
        from = p.at;
    }
    out.push_str(text.get(from..).unwrap_or_default());
    out
}

/// Maps a byte offset of the patched text to the original text (inserted spaces map to the
/// position they were inserted at).
fn unpatch_byte(patches: &[Patch], byte: usize) -> usize {
    let mut shift = 0;
    for p in patches {
        let patched_at = p.at + shift;
        if byte < patched_at {
            break;
        }
        if byte < patched_at + p.spaces {
            return p.at;
        }
        shift += p.spaces;
    }
    byte - shift
}

/// Maps a span of the patched text back to `text`, the original.
fn unpatch_span(text: &str, patches: &[Patch], span: Span) -> Span {
    let start = unpatch_byte(patches, span.start);
    let end = unpatch_byte(patches, span.end).max(start);
    // Spaces are only inserted before the first character of a line, so a span's column moved
    // only if it starts on a patched line at or after the insertion.
    let shift = patches
        .iter()
        .rev()
        .find(|p| p.at <= start)
        .filter(|p| {
            text.get(p.at..start)
                .is_some_and(|between| !between.contains(['\n', '\r']))
        })
        .map_or(0, |p| p.spaces);
    Span {
        start,
        end,
        line: span.line,
        col: span.col.saturating_sub(to_u32(shift)).max(1),
    }
}

fn unpatch_tree(text: &str, patches: &[Patch], node: &mut Node) {
    node.span = unpatch_span(text, patches, node.span);
    match &mut node.kind {
        NodeKind::Scalar(_) => {}
        NodeKind::Seq(items) => items
            .iter_mut()
            .for_each(|n| unpatch_tree(text, patches, n)),
        NodeKind::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            unpatch_tree(text, patches, k);
            unpatch_tree(text, patches, v);
        }),
    }
}

fn unpatch_error(text: &str, patches: &[Patch], mut error: YamlError) -> YamlError {
    if patches.is_empty() {
        return error;
    }
    match &mut error {
        YamlError::Syntax { span, .. }
        | YamlError::Invalid { span, .. }
        | YamlError::Limit { span, .. } => *span = unpatch_span(text, patches, *span),
        YamlError::DuplicateKey { span, first, .. }
        | YamlError::MultipleDocuments { span, first } => {
            *span = unpatch_span(text, patches, *span);
            *first = unpatch_span(text, patches, *first);
        }
    }
    error
}

/// Checks that `key` can be a JSON object key and is not already in the map.
fn check_key(map: &mut MapFrame, key: &Node) -> Result<(), YamlError> {
    if is_merge_key(key) {
        // go-yaml v2 applies every `<<` entry; they are not map keys.
        return Ok(());
    }
    let text = key_string(key).map_err(|message| YamlError::Invalid {
        message: message.to_owned(),
        span: key.span,
    })?;
    // The key becomes `entries[slot]` when its value arrives; earlier keys are all in `entries`.
    let MapFrame {
        entries,
        key_hashes,
        index,
        ..
    } = map;
    let slot = entries.len();
    let duplicate = |entries: &[(Node, Node)], i: usize, text: &str| {
        entries.get(i).map(|(first, _)| YamlError::DuplicateKey {
            key: text.to_owned(),
            span: key.span,
            first: first.span,
        })
    };
    if let Some(index) = index {
        if let Some(&i) = index.get(text.as_ref())
            && let Some(err) = duplicate(entries, i, &text)
        {
            return Err(err);
        }
        index.insert(text.into_owned(), slot);
        return Ok(());
    }
    let hash = fnv1a(text.as_bytes());
    for &(h, i) in key_hashes.iter() {
        if h == hash
            && entries
                .get(i)
                .is_some_and(|(k, _)| key_string(k).is_ok_and(|s| s == text))
            && let Some(err) = duplicate(entries, i, &text)
        {
            return Err(err);
        }
    }
    key_hashes.push((hash, slot));
    if key_hashes.len() > LINEAR_KEY_SCAN {
        let mut by_key = HashMap::with_capacity(key_hashes.len() * 2);
        for &(_, i) in key_hashes.iter() {
            if let Some((k, _)) = entries.get(i)
                && let Ok(s) = key_string(k)
            {
                by_key.insert(s.into_owned(), i);
            }
        }
        by_key.insert(text.into_owned(), slot);
        *index = Some(by_key);
        *key_hashes = Vec::new();
    }
    Ok(())
}

/// 64-bit FNV-1a, to compare map keys cheaply.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn check_merge_value(value: &Node) -> Result<(), YamlError> {
    let ok = match &value.kind {
        NodeKind::Map(_) => true,
        NodeKind::Seq(items) => items.iter().all(|n| matches!(n.kind, NodeKind::Map(_))),
        NodeKind::Scalar(_) => false,
    };
    if ok {
        Ok(())
    } else {
        Err(YamlError::Invalid {
            message: "map merge requires a mapping or a sequence of mappings as the value"
                .to_owned(),
            span: value.span,
        })
    }
}

/// Checks that an explicitly tagged scalar's value fits its tag, as go-yaml v2 does.
fn check_tagged(tag: &str, text: &str, span: Span) -> Result<(), YamlError> {
    let fits = match tag {
        "!!int" => matches!(resolve_plain(text), Value::Int(_) | Value::UInt(_)),
        "!!float" => matches!(
            resolve_plain(text),
            Value::Int(_) | Value::UInt(_) | Value::Float(_)
        ),
        "!!bool" => matches!(resolve_plain(text), Value::Bool(_)),
        "!!null" => matches!(resolve_plain(text), Value::Null),
        "!!timestamp" => looks_like_timestamp(text),
        _ => true,
    };
    if fits {
        Ok(())
    } else {
        Err(YamlError::Invalid {
            message: format!("cannot decode {text:?} as {tag}"),
            span,
        })
    }
}

/// go-yaml v2 only tries timestamps that start with `YYYY-`.
fn looks_like_timestamp(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

/// Renders a saphyr tag as described on [`Node::tag`].
fn render_tag(tag: &Tag) -> String {
    if tag.handle == CORE_TAG_PREFIX {
        return format!("!!{}", tag.suffix);
    }
    if tag.handle.is_empty() {
        // Verbatim `!<...>` or the non-specific `!`.
        if tag.suffix == "!" {
            return "!".to_owned();
        }
        if let Some(rest) = tag.suffix.strip_prefix(CORE_TAG_PREFIX) {
            return format!("!!{rest}");
        }
        return format!("!<{}>", tag.suffix);
    }
    if tag.handle == "!" {
        return format!("!{}", tag.suffix);
    }
    let full = format!("{}{}", tag.handle, tag.suffix);
    match full.strip_prefix(CORE_TAG_PREFIX) {
        Some(rest) => format!("!!{rest}"),
        None => full,
    }
}

/// Whether `key` is a `<<` merge key (plain and untagged, or tagged `!!merge`).
fn is_merge_key(key: &Node) -> bool {
    match &key.kind {
        NodeKind::Scalar(s) if s.text == "<<" => match key.tag.as_deref() {
            None => s.style == ScalarStyle::Plain,
            Some(tag) => tag == "!!merge",
        },
        _ => false,
    }
}

/// The JSON object key a YAML key becomes in sigs.k8s.io/yaml, or why it cannot be one.
fn key_string(key: &Node) -> Result<Cow<'_, str>, &'static str> {
    match key.resolve() {
        Some(Value::Str(s)) => Ok(Cow::Borrowed(s)),
        Some(Value::Bool(true)) => Ok(Cow::Borrowed("true")),
        Some(Value::Bool(false)) => Ok(Cow::Borrowed("false")),
        Some(Value::Int(i)) => Ok(Cow::Owned(i.to_string())),
        Some(Value::Float(f)) => Ok(Cow::Owned(go_format_float32(f))),
        Some(Value::UInt(_)) => {
            Err("unsupported map key: integers above 9223372036854775807 cannot be JSON keys")
        }
        Some(Value::Null) => Err("unsupported map key: a null key cannot be a JSON key"),
        None => Err("unsupported map key: a sequence or mapping cannot be a JSON key"),
    }
}

/// Whether a JSON key could be the printed form of a non-string scalar (a boolean, null or
/// number), so that a key written differently could still resolve to it.
fn could_print_as_non_string(key: &str) -> bool {
    matches!(key, "true" | "false" | "null")
        || key.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.'))
}

/// [`key_string`], falling back to the text for keys the parser would have refused.
fn key_string_lossy(key: &Node) -> Cow<'_, str> {
    key_string(key).unwrap_or_else(|_| match &key.kind {
        NodeKind::Scalar(s) if !s.text.is_empty() => Cow::Borrowed(s.text.as_str()),
        NodeKind::Scalar(_) => Cow::Borrowed("null"),
        _ => Cow::Owned(key.to_json().to_string()),
    })
}

/// Finds the entry whose JSON key satisfies `matches`: explicit entries first, then the sources
/// of `<<` merge keys in order (recursively), which is [`Node::to_json`]'s precedence.
fn lookup<'n>(
    entries: &'n [(Node, Node)],
    matches: &dyn Fn(&str) -> bool,
    depth: usize,
) -> Option<(&'n Node, &'n Node)> {
    let mut has_merge = false;
    for (k, v) in entries {
        if is_merge_key(k) {
            has_merge = true;
        } else if key_string(k).is_ok_and(|s| matches(&s)) {
            return Some((k, v));
        }
    }
    if !has_merge || depth > MAX_DEPTH {
        return None;
    }
    for (k, v) in entries {
        if !is_merge_key(k) {
            continue;
        }
        let sources = match &v.kind {
            NodeKind::Seq(items) => items.as_slice(),
            _ => std::slice::from_ref(v),
        };
        for src in sources {
            if let NodeKind::Map(inner) = &src.kind
                && let Some(found) = lookup(inner, matches, depth + 1)
            {
                return Some(found);
            }
        }
    }
    None
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

fn unescape_pointer_token(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

fn parse_pointer_index(token: &str) -> Option<usize> {
    let valid = !token.is_empty()
        && token.bytes().all(|b| b.is_ascii_digit())
        && (token == "0" || !token.starts_with('0'));
    if valid { token.parse().ok() } else { None }
}

// ---------------------------------------------------------------------------------------------
// Scalar resolution (go-yaml v2's `resolve`).

fn resolve_scalar<'a>(text: &'a str, style: ScalarStyle, tag: Option<&str>) -> Option<Value<'a>> {
    let resolved = match tag {
        None if style == ScalarStyle::Plain => resolve_plain(text),
        None => Value::Str(text),
        Some("!!int" | "!!bool" | "!!null") => resolve_plain(text),
        Some("!!float") => match resolve_plain(text) {
            Value::Int(i) => Value::Float(i as f64),
            Value::UInt(u) => Value::Float(u as f64),
            other => other,
        },
        // !!str, !!binary (kept as its base64 text), !!timestamp (a string for untyped
        // targets in go-yaml v2), !!merge, the non-specific `!`, local and unknown tags.
        Some(_) => Value::Str(text),
    };
    Some(resolved)
}

/// go-yaml v2's resolution of a plain scalar (see [`Node::resolve`]).
fn resolve_plain(s: &str) -> Value<'_> {
    let Some(&first) = s.as_bytes().first() else {
        return Value::Null;
    };
    // go-yaml's first-byte hint table: anything else is a string without further checks.
    if !matches!(
        first,
        b'+' | b'-' | b'0'
            ..=b'9'
                | b'.'
                | b'y'
                | b'Y'
                | b'n'
                | b'N'
                | b't'
                | b'T'
                | b'f'
                | b'F'
                | b'o'
                | b'O'
                | b'~'
    ) {
        return Value::Str(s);
    }
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        "~" | "null" | "Null" | "NULL" => return Value::Null,
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        _ => {}
    }
    let resolved = match first {
        b'.' => go_parse_float(s).map(Value::Float),
        b'+' | b'-' | b'0'..=b'9' => resolve_number(s),
        _ => None,
    };
    resolved.unwrap_or(Value::Str(s))
}

/// The numeric branch of go-yaml v2's resolve for text starting with a digit or a sign.
fn resolve_number(s: &str) -> Option<Value<'static>> {
    let plain: Cow<'_, str> = if s.contains('_') {
        Cow::Owned(s.replace('_', ""))
    } else {
        Cow::Borrowed(s)
    };
    if let Some(i) = go_parse_int(&plain) {
        return Some(Value::Int(i));
    }
    if let Some(u) = go_parse_uint(plain.as_bytes()) {
        return Some(Value::UInt(u));
    }
    if is_yaml_style_float(plain.as_bytes()) {
        let f: f64 = plain.parse().ok()?;
        // Go's ParseFloat reports overflow as an error; go-yaml then keeps the string.
        return f.is_finite().then_some(Value::Float(f));
    }
    None
}

/// `strconv.ParseInt(s, 0, 64)` on text without underscores.
fn go_parse_int(s: &str) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s.as_bytes()[1..]),
        b'+' => (false, &s.as_bytes()[1..]),
        _ => (false, s.as_bytes()),
    };
    let magnitude = go_parse_uint(digits)?;
    if negative {
        if magnitude <= i64::MAX as u64 {
            Some(-(magnitude as i64))
        } else if magnitude == i64::MAX as u64 + 1 {
            Some(i64::MIN)
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// `strconv.ParseUint(s, 0, 64)` on text without underscores: `0x`, `0o`, `0b` prefixes (each
/// needing at least one digit), a leading `0` for octal, else decimal; no sign.
fn go_parse_uint(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let (base, digits): (u64, &[u8]) = if s[0] == b'0' {
        match s.get(1).map(u8::to_ascii_lowercase) {
            Some(b'x') if s.len() >= 3 => (16, &s[2..]),
            Some(b'o') if s.len() >= 3 => (8, &s[2..]),
            Some(b'b') if s.len() >= 3 => (2, &s[2..]),
            _ => (8, &s[1..]),
        }
    } else {
        (10, s)
    };
    let mut n: u64 = 0;
    for &c in digits {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'z' => c - b'a' + 10,
            b'A'..=b'Z' => c - b'A' + 10,
            _ => return None,
        };
        if u64::from(d) >= base {
            return None;
        }
        n = n.checked_mul(base)?.checked_add(u64::from(d))?;
    }
    Some(n)
}

/// go-yaml's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &[u8]) -> bool {
    let mut i = 0;
    if matches!(s.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let from = *i;
        while s.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - from
    };
    if s.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if s.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == s.len()
}

/// Go's `strconv.ParseFloat(s, 64)` for text starting with `.` (go-yaml's `.` hint): a decimal
/// fraction with optional exponent, `_` allowed only between digits. Overflow is a failure.
fn go_parse_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut clean = String::with_capacity(b.len());
    let mut i = 0;
    let run = |i: &mut usize, clean: &mut String| -> bool {
        // digits, with single underscores between digits
        let mut n = 0;
        while let Some(&c) = b.get(*i) {
            if c.is_ascii_digit() {
                clean.push(char::from(c));
                n += 1;
                *i += 1;
            } else if c == b'_' && n > 0 && b.get(*i + 1).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            } else {
                break;
            }
        }
        n > 0
    };
    if b.first() != Some(&b'.') {
        return None;
    }
    clean.push('.');
    i += 1;
    if !run(&mut i, &mut clean) {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        clean.push('e');
        i += 1;
        if let Some(&sign @ (b'+' | b'-')) = b.get(i) {
            clean.push(char::from(sign));
            i += 1;
        }
        if !run(&mut i, &mut clean) {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    let f: f64 = clean.parse().ok()?;
    f.is_finite().then_some(f)
}

/// JSON for a float, as Go's `json.Marshal` writes it: whole numbers as integers.
fn float_to_json(f: f64, text: &str) -> serde_json::Value {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
    if f.is_finite() && f.fract() == 0.0 {
        if (-TWO_POW_63..TWO_POW_63).contains(&f) {
            return serde_json::Value::from(f as i64);
        }
        if (0.0..TWO_POW_64).contains(&f) {
            return serde_json::Value::from(f as u64);
        }
    }
    serde_json::Number::from_f64(f).map_or_else(
        || serde_json::Value::String(text.to_owned()),
        serde_json::Value::Number,
    )
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)` with sigs.k8s.io/yaml's spelling of the specials,
/// used for float map keys.
fn go_format_float32(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    let single = f as f32;
    if single.is_infinite() {
        return if single > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    if single == 0.0 {
        return if single.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    // Rust's `{:e}` gives the shortest digits that round-trip as f32, like Go's -1 precision.
    let sci = format!("{:e}", single.abs());
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return sci;
    };
    let Ok(exp) = exp.parse::<i32>() else {
        return sci;
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    emit::format_g(single.is_sign_negative(), &digits, exp)
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

/// Number of characters in valid UTF-8 `bytes` (counts non-continuation bytes).
fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    #[test]
    fn folded_scalar_doubles_the_break_before_a_more_indented_line_like_go_yaml() {
        // Checked against kubectl kustomize v5.5.0.
        let root = parse_one("k: >\n  a\n    b\n  c\n\n    d\n")
            .expect("yaml")
            .expect("doc");
        assert_eq!(
            root.get("k").and_then(Node::as_str),
            Some("a\n\n  b\nc\n\n\n  d\n")
        );
    }

    #[test]
    fn block_scalar_at_end_of_input_without_line_break_has_no_trailing_newline() {
        // Checked against kubectl kustomize v5.5.0 (argo-workflows webhooks secret).
        let root = parse_one("k: |\n  x\n  y").expect("yaml").expect("doc");
        assert_eq!(root.get("k").and_then(Node::as_str), Some("x\ny"));
    }

    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Node {
        match parse_one(text) {
            Ok(Some(node)) => node,
            other => panic!("{text:?}: expected one document, got {other:?}"),
        }
    }

    /// (JSON pointer, line, column, source text of the node)
    type SpanCase<'a> = (&'a str, u32, u32, &'a str);

    /// Parses `text` and checks, for each JSON pointer, the node's line, column and source text.
    fn check_spans(text: &str, expected: &[SpanCase<'_>]) {
        let root = parse(text);
        for &(pointer, line, col, source) in expected {
            let node = root
                .find_pointer(pointer)
                .unwrap_or_else(|| panic!("{text:?}: no node at {pointer:?}"));
            let got = (node.span.line, node.span.col, &text[node.span.range()]);
            assert_eq!(got, (line, col, source), "{text:?} at {pointer:?}");
        }
    }

    #[test]
    fn spans_of_nested_keys_values_and_items() {
        let deployment = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: \"front\"}
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.27
        args: [--port, \"8080\"]
        ports:
          - containerPort: 80
            protocol: TCP
";
        check_spans(
            deployment,
            &[
                ("", 1, 1, &deployment[..deployment.len() - 1]),
                ("/kind", 2, 7, "Deployment"),
                (
                    "/metadata",
                    4,
                    3,
                    "name: web\n  labels: {app: web, tier: \"front\"}",
                ),
                ("/metadata/labels", 5, 11, "{app: web, tier: \"front\"}"),
                ("/metadata/labels/tier", 5, 28, "\"front\""),
                ("/spec/replicas", 7, 13, "3"),
                (
                    "/spec/template/spec/containers",
                    11,
                    7,
                    &deployment[deployment.find("- name").unwrap_or(0)..deployment.len() - 1],
                ),
                ("/spec/template/spec/containers/0/name", 11, 15, "app"),
                (
                    "/spec/template/spec/containers/0/image",
                    12,
                    16,
                    "nginx:1.27",
                ),
                (
                    "/spec/template/spec/containers/0/args",
                    13,
                    15,
                    "[--port, \"8080\"]",
                ),
                (
                    "/spec/template/spec/containers/0/args/1",
                    13,
                    24,
                    "\"8080\"",
                ),
                (
                    "/spec/template/spec/containers/0/ports",
                    15,
                    11,
                    "- containerPort: 80\n            protocol: TCP",
                ),
                (
                    "/spec/template/spec/containers/0/ports/0/containerPort",
                    15,
                    28,
                    "80",
                ),
                (
                    "/spec/template/spec/containers/0/ports/0/protocol",
                    16,
                    23,
                    "TCP",
                ),
            ],
        );
    }

    #[test]
    fn spans_of_other_constructs() {
        let cases: &[(&str, &[SpanCase<'_>])] = &[
            // Block scalars start at their indicator and end at their last content character.
            (
                "a: |\n  line 1\n  line 2\n\n\nb: 1\n",
                &[("/a", 1, 4, "|\n  line 1\n  line 2"), ("/b", 6, 4, "1")],
            ),
            (
                "a: >-\n  folded\n  text\n",
                &[("/a", 1, 4, ">-\n  folded\n  text")],
            ),
            (
                "- |\n  x\n- >\n  y\n",
                &[("/0", 1, 3, "|\n  x"), ("/1", 3, 3, ">\n  y")],
            ),
            ("a: # note | here\n  |\n  x\n", &[("/a", 2, 3, "|\n  x")]),
            ("a: &anchor |\n  x\n", &[("/a", 1, 4, "&anchor |\n  x")]),
            // Multi-line plain and quoted scalars.
            (
                "a: one\n  two\nb: 'x\n  y'\n",
                &[("/a", 1, 4, "one\n  two"), ("/b", 3, 4, "'x\n  y'")],
            ),
            // Anchors and tags belong to the node's span.
            (
                "a: !!str &x 5\nb: *x\n",
                &[("/a", 1, 4, "!!str &x 5"), ("/b", 2, 4, "*x")],
            ),
            // Implicit nulls are empty spans right after the colon.
            ("a:\nb: 1\n", &[("/a", 1, 3, "")]),
            // Indentless and nested sequences start at their dash.
            (
                "k:\n- a\n- b\n",
                &[("/k", 2, 1, "- a\n- b"), ("/k/1", 3, 3, "b")],
            ),
            (
                "- - a\n  - b\n- c\n",
                &[("", 1, 1, "- - a\n  - b\n- c"), ("/0", 1, 3, "- a\n  - b")],
            ),
            (
                "k:\n  - &x a\n  - b\n",
                &[("/k", 2, 3, "- &x a\n  - b"), ("/k/0", 2, 5, "&x a")],
            ),
            // Columns count characters, offsets count bytes.
            ("é: ü\nb: ñ\n", &[("/é", 1, 4, "ü"), ("/b", 2, 4, "ñ")]),
            (
                "a: \"日本\"\nb: x\n",
                &[("/a", 1, 4, "\"日本\""), ("/b", 2, 4, "x")],
            ),
            // Windows line endings.
            (
                "a: 1\r\nb:\r\n  c: 2\r\n",
                &[("/b/c", 3, 6, "2"), ("/b", 3, 3, "c: 2")],
            ),
            // A byte order mark is skipped and not counted as a column.
            (
                "\u{FEFF}a: 1\nb: 2\n",
                &[("/a", 1, 4, "1"), ("/b", 2, 4, "2")],
            ),
            // Flow collections include their brackets.
            (
                "a: [1, [2, 3]]\n",
                &[("/a", 1, 4, "[1, [2, 3]]"), ("/a/1", 1, 8, "[2, 3]")],
            ),
            ("a: {}\nb: []\n", &[("/a", 1, 4, "{}"), ("/b", 2, 4, "[]")]),
        ];
        for (text, expected) in cases {
            check_spans(text, expected);
        }
    }

    #[test]
    fn flow_collections_indented_like_kubectl_accepts() {
        // saphyr requires these lines to be indented past `command:`; libyaml-based tools do not.
        let text = "spec:\n  command: [\n    \"/bin/a\",\n    #\"--debug\",\n  ]\n  args: [\n  x,\n  w]\n  env: {\n  a: 1\n  }\n  after: z\n";
        check_spans(
            text,
            &[
                (
                    "/spec/command",
                    2,
                    12,
                    "[\n    \"/bin/a\",\n    #\"--debug\",\n  ]",
                ),
                ("/spec/command/0", 3, 5, "\"/bin/a\""),
                ("/spec/args/0", 7, 3, "x"),
                ("/spec/args/1", 8, 3, "w"),
                ("/spec/env/a", 10, 6, "1"),
                ("/spec/after", 12, 10, "z"),
            ],
        );
        assert_eq!(
            parse(text).to_json(),
            json!({"spec": {"command": ["/bin/a"], "args": ["x", "w"], "env": {"a": 1}, "after": "z"}})
        );
        // Errors after a re-indented line still point into the original text.
        check_errors(&[(
            "a:\n  b: [\n  1,\n  ]\n  b: 2\n",
            "duplicate",
            5,
            3,
            "\"b\"",
        )]);
    }

    #[test]
    fn key_spans_via_find_pointer_entry() {
        let text = "spec:\n  replica: 3\n";
        let root = parse(text);
        let Some((Some(key), value)) = root.find_pointer_entry("/spec/replica") else {
            panic!("entry not found");
        };
        assert_eq!(
            (key.span.line, key.span.col, &text[key.span.range()]),
            (2, 3, "replica")
        );
        assert_eq!(&text[value.span.range()], "3");
        assert!(matches!(root.find_pointer_entry(""), Some((None, _))));
    }

    #[test]
    fn scalar_styles() {
        let text = "plain: a\nsingle: 'b'\ndouble: \"c\"\nliteral: |\n  d\nfolded: >\n  e\n  f\n";
        let root = parse(text);
        let cases = [
            ("plain", ScalarStyle::Plain, "a"),
            ("single", ScalarStyle::SingleQuoted, "b"),
            ("double", ScalarStyle::DoubleQuoted, "c"),
            ("literal", ScalarStyle::Literal, "d\n"),
            ("folded", ScalarStyle::Folded, "e f\n"),
        ];
        for (key, style, value) in cases {
            let scalar = root.get(key).and_then(Node::as_scalar);
            assert_eq!(
                scalar.map(|s| (s.style, s.text.as_str())),
                Some((style, value)),
                "{key}"
            );
        }
        // Escapes are decoded; the tree keeps key order.
        let root = parse("z: \"a\\tb\\u00e9\"\nw: 'it''s'\nx: 1\n");
        assert_eq!(root.get("z").and_then(Node::as_str), Some("a\tbé"));
        assert_eq!(root.get("w").and_then(Node::as_str), Some("it's"));
        let keys: Vec<_> = root
            .as_map()
            .unwrap_or_default()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(keys, [Some("z"), Some("w"), Some("x")]);
    }

    fn value_of(text: &str) -> (Option<Value<'static>>, serde_json::Value) {
        let root = parse(&format!("v: {text}\n"));
        let node = root
            .get("v")
            .unwrap_or_else(|| panic!("{text:?}: no value"));
        // Leak-free comparison: turn borrowed strings into a marker and compare them separately.
        let value = match node.resolve() {
            Some(Value::Str(_)) => None,
            Some(Value::Null) => Some(Value::Null),
            Some(Value::Bool(b)) => Some(Value::Bool(b)),
            Some(Value::Int(i)) => Some(Value::Int(i)),
            Some(Value::UInt(u)) => Some(Value::UInt(u)),
            Some(Value::Float(f)) => Some(Value::Float(f)),
            None => panic!("{text:?}: not a scalar"),
        };
        (value, node.to_json())
    }

    #[test]
    fn yaml_1_1_resolution() {
        use Value::{Bool, Float, Int, Null, UInt};
        // (plain scalar, resolved value or None for a string, JSON)
        let cases: &[(&str, Option<Value<'static>>, serde_json::Value)] = &[
            ("~", Some(Null), json!(null)),
            ("null", Some(Null), json!(null)),
            ("Null", Some(Null), json!(null)),
            ("NULL", Some(Null), json!(null)),
            ("", Some(Null), json!(null)),
            ("nULL", None, json!("nULL")),
            ("yes", Some(Bool(true)), json!(true)),
            ("Yes", Some(Bool(true)), json!(true)),
            ("YES", Some(Bool(true)), json!(true)),
            ("y", Some(Bool(true)), json!(true)),
            ("Y", Some(Bool(true)), json!(true)),
            ("on", Some(Bool(true)), json!(true)),
            ("ON", Some(Bool(true)), json!(true)),
            ("True", Some(Bool(true)), json!(true)),
            ("no", Some(Bool(false)), json!(false)),
            ("n", Some(Bool(false)), json!(false)),
            ("off", Some(Bool(false)), json!(false)),
            ("Off", Some(Bool(false)), json!(false)),
            ("FALSE", Some(Bool(false)), json!(false)),
            ("yEs", None, json!("yEs")),
            ("0", Some(Int(0)), json!(0)),
            ("-0", Some(Int(0)), json!(0)),
            ("42", Some(Int(42)), json!(42)),
            ("+42", Some(Int(42)), json!(42)),
            ("-42", Some(Int(-42)), json!(-42)),
            ("1_000", Some(Int(1000)), json!(1000)),
            ("1__0_", Some(Int(10)), json!(10)),
            ("0755", Some(Int(493)), json!(493)),
            ("-0755", Some(Int(-493)), json!(-493)),
            ("0o755", Some(Int(493)), json!(493)),
            ("0O17", Some(Int(15)), json!(15)),
            ("0x1F", Some(Int(31)), json!(31)),
            ("0X1f", Some(Int(31)), json!(31)),
            ("-0x1F", Some(Int(-31)), json!(-31)),
            ("0x_1F", Some(Int(31)), json!(31)),
            ("0b1010", Some(Int(10)), json!(10)),
            ("-0b11", Some(Int(-3)), json!(-3)),
            ("0x", None, json!("0x")),
            ("0xG", None, json!("0xG")),
            ("08", Some(Float(8.0)), json!(8)),
            ("0b102", None, json!("0b102")),
            ("9223372036854775807", Some(Int(i64::MAX)), json!(i64::MAX)),
            ("-9223372036854775808", Some(Int(i64::MIN)), json!(i64::MIN)),
            (
                "9223372036854775808",
                Some(UInt(1 << 63)),
                json!(1_u64 << 63),
            ),
            (
                "18446744073709551615",
                Some(UInt(u64::MAX)),
                json!(u64::MAX),
            ),
            (
                "18446744073709551616",
                Some(Float(18_446_744_073_709_551_616.0)),
                json!(1.8446744073709552e19),
            ),
            ("0xFFFFFFFFFFFFFFFFF", None, json!("0xFFFFFFFFFFFFFFFFF")),
            ("1.5", Some(Float(1.5)), json!(1.5)),
            ("3.0", Some(Float(3.0)), json!(3)),
            ("-2.", Some(Float(-2.0)), json!(-2)),
            (".5", Some(Float(0.5)), json!(0.5)),
            ("-.5", Some(Float(-0.5)), json!(-0.5)),
            (".5_0", Some(Float(0.5)), json!(0.5)),
            ("._5", None, json!("._5")),
            ("1e3", Some(Float(1000.0)), json!(1000)),
            ("1E-2", Some(Float(0.01)), json!(0.01)),
            ("1_000.5", Some(Float(1000.5)), json!(1000.5)),
            ("1e999", None, json!("1e999")),
            (".inf", Some(Float(f64::INFINITY)), json!(".inf")),
            ("+.Inf", Some(Float(f64::INFINITY)), json!("+.Inf")),
            ("-.INF", Some(Float(f64::NEG_INFINITY)), json!("-.INF")),
            (".iNf", None, json!(".iNf")),
            ("1:30", None, json!("1:30")),
            ("190:20:30", None, json!("190:20:30")),
            ("2001-12-14", None, json!("2001-12-14")),
            ("1.2.3", None, json!("1.2.3")),
            ("+", None, json!("+")),
            ("<<", None, json!("<<")),
            ("hello world", None, json!("hello world")),
        ];
        for (text, value, json) in cases {
            assert_eq!(value_of(text), (*value, json.clone()), "{text:?}");
        }
        let (nan, nan_json) = value_of(".NaN");
        assert!(matches!(nan, Some(Float(f)) if f.is_nan()));
        assert_eq!(nan_json, json!(".NaN"));
    }

    #[test]
    fn quoted_block_and_tagged_scalars() {
        // (value as written, JSON)
        let cases: &[(&str, serde_json::Value)] = &[
            ("\"0755\"", json!("0755")),
            ("'yes'", json!("yes")),
            ("\"~\"", json!("~")),
            ("''", json!("")),
            ("|\n  123", json!("123\n")),
            ("!!str 0755", json!("0755")),
            ("!!str", json!("")),
            ("!<tag:yaml.org,2002:str> true", json!("true")),
            ("!!int \"0x10\"", json!(16)),
            ("!!int '42'", json!(42)),
            ("!!float 3", json!(3)),
            ("!!float '1.5'", json!(1.5)),
            ("!!bool \"on\"", json!(true)),
            ("!!null ''", json!(null)),
            ("!!null", json!(null)),
            ("! 42", json!("42")),
            ("!custom 42", json!("42")),
            ("!!binary aGVsbG8=", json!("aGVsbG8=")),
            ("!!timestamp 2001-12-14", json!("2001-12-14")),
        ];
        for (text, json) in cases {
            assert_eq!(value_of(text).1, *json, "{text:?}");
        }
        let root =
            parse("a: !!str 1\nb: !foo x\nc: ! y\nd: !<tag:yaml.org,2002:int> 3\ne: !<urn:x> z\n");
        let tags: Vec<_> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|k| root.get(k).and_then(|n| n.tag.as_deref()))
            .collect();
        assert_eq!(
            tags,
            [
                Some("!!str"),
                Some("!foo"),
                Some("!"),
                Some("!!int"),
                Some("!<urn:x>")
            ]
        );
        let root = parse("%TAG !e! tag:example.com,2000:\n---\na: !e!thing 1\nb: !!map {}\n");
        assert_eq!(
            root.get("a").and_then(|n| n.tag.as_deref()),
            Some("tag:example.com,2000:thing")
        );
        assert_eq!(root.get("b").and_then(|n| n.tag.as_deref()), Some("!!map"));
    }

    #[test]
    fn to_json_conversion() {
        let cases: &[(&str, serde_json::Value)] = &[
            (
                "apiVersion: v1\nkind: ConfigMap\ndata:\n  enabled: \"yes\"\n  mode: 0755\n",
                json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"enabled": "yes", "mode": 493}}),
            ),
            (
                "replicas: 3.0\nratio: 0.25\n",
                json!({"replicas": 3, "ratio": 0.25}),
            ),
            (
                "a: [1, two, {b: ~}]\n",
                json!({"a": [1, "two", {"b": null}]}),
            ),
            // Non-string keys become strings the way sigs.k8s.io/yaml writes them.
            (
                "1: a\ny: c\n1.5: d\n3.0: e\n1e6: f\n0.0001: g\n0x10: h\n.inf: i\n-.inf: j\n",
                json!({"1": "a", "true": "c", "1.5": "d", "3": "e", "1e+06": "f", "0.0001": "g", "16": "h", ".inf": "i", "-.inf": "j"}),
            ),
            (
                "123456: a\n1234567.0: b\n3.14159265358979: c\n0.00001: d\n",
                json!({"123456": "a", "1.234567e+06": "b", "3.1415927": "c", "1e-05": "d"}),
            ),
            // Merge keys: explicit keys win, earlier merged maps win over later ones.
            (
                "base: &base {a: 1, b: 2}\nx:\n  <<: *base\n  b: 3\n",
                json!({"base": {"a": 1, "b": 2}, "x": {"a": 1, "b": 3}}),
            ),
            (
                "p: &p {a: 1, b: 1}\nq: &q {b: 2, c: 2}\nx:\n  c: 0\n  <<: [*p, *q]\n",
                json!({"p": {"a": 1, "b": 1}, "q": {"b": 2, "c": 2}, "x": {"a": 1, "b": 1, "c": 0}}),
            ),
            (
                "p: &p {a: 1}\nq: &q {a: 2, b: 2}\nx:\n  <<: *p\n  <<: *q\n",
                json!({"p": {"a": 1}, "q": {"a": 2, "b": 2}, "x": {"a": 1, "b": 2}}),
            ),
            // Nested merges are applied inside the merged map too.
            (
                "a: &a {x: 1}\nb: &b {<<: *a, w: 2}\nc: {<<: *b, z: 3}\n",
                json!({"a": {"x": 1}, "b": {"x": 1, "w": 2}, "c": {"x": 1, "w": 2, "z": 3}}),
            ),
            // A quoted "<<" is an ordinary key.
            ("\"<<\": 1\n", json!({"<<": 1})),
            // Aliases are expanded.
            (
                "a: &x [1, 2]\nb: *x\nc: &s hi\nd: *s\n",
                json!({"a": [1, 2], "b": [1, 2], "c": "hi", "d": "hi"}),
            ),
        ];
        for (text, json) in cases {
            assert_eq!(parse(text).to_json(), *json, "{text:?}");
        }
    }

    #[test]
    fn merged_keys_are_visible_to_get_and_find_pointer() {
        let text = "base: &base\n  image: nginx\n  port: 80\nweb:\n  <<: *base\n  port: 8080\n";
        let root = parse(text);
        let web = root.get("web");
        assert_eq!(
            web.and_then(|w| w.get("port")).and_then(Node::as_str),
            Some("8080")
        );
        let image = root.find_pointer("/web/image");
        assert_eq!(image.map(|n| (n.span.line, n.span.col)), Some((2, 10)));
        // The tree itself keeps the merge key as written.
        let first_key = web
            .and_then(Node::as_map)
            .and_then(|m| m.first())
            .and_then(|(k, _)| k.as_str());
        assert_eq!(first_key, Some("<<"));
    }

    #[test]
    fn get_variants() {
        let root = parse("Name: a\nname: b\nKind: c\ny: d\n");
        assert_eq!(root.get("name").and_then(Node::as_str), Some("b"));
        assert_eq!(root.get("kind"), None);
        assert_eq!(
            root.get_ignore_case("kind").and_then(Node::as_str),
            Some("c")
        );
        assert_eq!(
            root.get_ignore_case("NAME").and_then(Node::as_str),
            Some("a")
        );
        assert_eq!(
            root.get_ignore_case("Name").and_then(Node::as_str),
            Some("a")
        );
        // Keys are compared as Kubernetes sees them: an unquoted `y` is the boolean true.
        assert_eq!(root.get("true").and_then(Node::as_str), Some("d"));
        assert_eq!(root.get("y"), None);
        assert!(parse("- a\n").get("a").is_none());
        // A `<<` merge key is not an entry; a quoted "<<" is.
        let merged = parse("a: &a {k: v}\nb: {<<: *a}\nc: {\"<<\": q}\n");
        assert_eq!(merged.get("b").and_then(|b| b.get("<<")), None);
        assert_eq!(
            merged
                .get("b")
                .and_then(|b| b.get("k"))
                .and_then(Node::as_str),
            Some("v")
        );
        assert_eq!(
            merged
                .get("c")
                .and_then(|c| c.get("<<"))
                .and_then(Node::as_str),
            Some("q")
        );
        assert_eq!(parse("yes: 1\n").get("yes"), None);
        assert!(parse("1: a\n").get("1").is_some());
        assert!(parse("a: ~\n").get("a").is_some_and(Node::is_null));
        assert!(parse("a: ''\n").get("a").is_some_and(|n| !n.is_null()));
    }

    #[test]
    fn find_pointer_cases() {
        let text = "a/b: 1\nm~n: 2\nlist: [x, y, {z: 3}]\n\"\": 4\nnested: {k: {deep: 5}}\n";
        let root = parse(text);
        // (pointer, expected scalar text or None)
        let cases: &[(&str, Option<&str>)] = &[
            ("/a~1b", Some("1")),
            ("/m~0n", Some("2")),
            ("/list/0", Some("x")),
            ("/list/1", Some("y")),
            ("/list/2/z", Some("3")),
            ("/list/3", None),
            ("/list/01", None),
            ("/list/-1", None),
            ("/list/x", None),
            ("/", Some("4")),
            ("/nested/k/deep", Some("5")),
            ("/nested/k/deep/more", None),
            ("/missing", None),
            ("/a~2b", None),
            ("no-slash", None),
        ];
        for (pointer, expected) in cases {
            assert_eq!(
                root.find_pointer(pointer).and_then(Node::as_str),
                *expected,
                "{pointer:?}"
            );
        }
        assert_eq!(root.find_pointer("").map(|n| n.span.start), Some(0));
        assert_eq!(
            root.find_pointer("/list").map(Node::kind_name),
            Some("sequence")
        );
    }

    #[test]
    fn documents_and_empty_documents() {
        // (text, number of documents, line of each document's span)
        let cases: &[(&str, &[u32])] = &[
            ("", &[]),
            ("\n\n", &[]),
            ("# only a comment\n", &[]),
            ("---\n", &[]),
            ("---\n---\n...\n", &[]),
            ("~\n", &[]),
            ("--- null\n", &[]),
            ("a: 1\n", &[1]),
            ("---\na: 1\n---\n---\nb: 2\n", &[1, 4]),
            ("a: 1\n---\n# nothing\n---\nb: 2\n...\n", &[1, 4]),
            ("# head\nkind: A\n---\nkind: B\n", &[2, 3]),
            ("--- ''\n", &[1]),
            ("- a\n---\nscalar\n", &[1, 2]),
        ];
        for (text, lines) in cases {
            let docs = parse_documents(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            let got: Vec<u32> = docs.iter().map(|d| d.span.line).collect();
            assert_eq!(got, *lines, "{text:?}");
        }
        let text = "---\na: 1\n...\n";
        let docs = parse_documents(text).unwrap_or_default();
        assert_eq!(
            docs.first().map(|d| &text[d.span.range()]),
            Some("---\na: 1\n...")
        );
        // Anchors do not leak from one document into the next.
        let err = parse_documents("a: &x 1\n---\nb: *x\n");
        assert!(
            matches!(err, Err(YamlError::Syntax { span, .. }) if span.line == 3),
            "{err:?}"
        );
    }

    #[test]
    fn parse_one_cases() {
        assert_eq!(parse_one(""), Ok(None));
        assert_eq!(parse_one("---\n---\n"), Ok(None));
        assert!(matches!(parse_one("---\na: 1\n---\n"), Ok(Some(_))));
        match parse_one("a: 1\n---\nb: 2\n") {
            Err(YamlError::MultipleDocuments { span, first }) => {
                assert_eq!((first.line, span.line, span.col), (1, 2, 1));
            }
            other => panic!("{other:?}"),
        }
    }

    /// (text, error kind, line, column, substring of the message)
    fn check_errors(cases: &[(&str, &str, u32, u32, &str)]) {
        for &(text, kind, line, col, message) in cases {
            let err = match parse_documents(text) {
                Err(err) => err,
                Ok(docs) => panic!("{text:?}: expected an error, got {docs:?}"),
            };
            let got_kind = match &err {
                YamlError::Syntax { .. } => "syntax",
                YamlError::DuplicateKey { .. } => "duplicate",
                YamlError::Invalid { .. } => "invalid",
                YamlError::Limit { .. } => "limit",
                YamlError::MultipleDocuments { .. } => "multiple",
            };
            let span = err.span();
            assert_eq!(
                (got_kind, span.line, span.col),
                (kind, line, col),
                "{text:?}: {err}"
            );
            assert!(err.to_string().contains(message), "{text:?}: {err}");
            assert!(
                span.end <= text.len() && span.start <= span.end,
                "{text:?}: {span:?}"
            );
            assert_eq!(
                line_col(text, span.start),
                (span.line, span.col),
                "{text:?}"
            );
        }
    }

    #[test]
    fn syntax_errors_have_positions() {
        check_errors(&[
            ("a:\n\tb: 1\n", "syntax", 2, 1, "tabs"),
            ("a:\n  b: 1\n\tc: 2\n", "syntax", 3, 1, "tab"),
            (
                "a:\n  b: 1\n c: 2\n",
                "syntax",
                3,
                2,
                "did not find expected key",
            ),
            ("a: \"abc\n", "syntax", 1, 4, "quoted scalar"),
            ("a: [1, 2\n", "syntax", 2, 1, "expected ',' or ']'"),
            ("a: {b: 1\n", "syntax", 2, 1, ""),
            ("a: *nope\n", "syntax", 1, 4, "unknown anchor"),
            ("a: &x [*x]\n", "syntax", 1, 8, "unknown anchor"),
            ("key: value: other\n", "syntax", 1, 11, ""),
            ("- a\nb: c\n", "syntax", 2, 1, ""),
            ("a: !e!x y\n", "syntax", 1, 4, "handle"),
            ("é: [ü\n", "syntax", 2, 1, ""),
            ("a: 1\n\u{FEFF}b: 2\n", "syntax", 2, 1, "byte order mark"),
        ]);
    }

    #[test]
    fn duplicate_keys_report_both_positions() {
        type LineCol = (u32, u32);
        // (text, key, second occurrence, first occurrence)
        let cases: &[(&str, &str, LineCol, LineCol)] = &[
            ("a: 1\na: 2\n", "a", (2, 1), (1, 1)),
            (
                "x:\n  name: a\n  other: b\n  name: c\n",
                "name",
                (4, 3),
                (2, 3),
            ),
            ("{a: 1, b: 2, a: 3}\n", "a", (1, 14), (1, 2)),
            ("1: a\n\"1\": b\n", "1", (2, 1), (1, 1)),
            ("yes: a\ntrue: b\n", "true", (2, 1), (1, 1)),
            ("0x10: a\n16: b\n", "16", (2, 1), (1, 1)),
            ("- a: 1\n  b: 2\n  a: 3\n", "a", (3, 3), (1, 3)),
        ];
        for &(text, key, second, first) in cases {
            match parse_documents(text) {
                Err(YamlError::DuplicateKey {
                    key: k,
                    span,
                    first: f,
                }) => {
                    assert_eq!(
                        (k.as_str(), (span.line, span.col), (f.line, f.col)),
                        (key, second, first),
                        "{text:?}"
                    );
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
        // A large mapping uses the hash index; the duplicate is still found with both positions.
        let mut big: String = (0..100).map(|i| format!("k{i}: {i}\n")).collect();
        big.push_str("k42: again\n");
        match parse_documents(&big) {
            Err(YamlError::DuplicateKey { key, span, first }) => {
                assert_eq!((key.as_str(), span.line, first.line), ("k42", 101, 43));
            }
            other => panic!("{other:?}"),
        }
        // Merged keys are not duplicates, nor are several `<<` entries.
        assert!(parse_documents("a: &a {x: 1}\nb: {<<: *a, x: 2}\n").is_ok());
        assert!(parse_documents("a: &a {x: 1}\nb:\n  <<: *a\n  <<: *a\n").is_ok());
    }

    #[test]
    fn values_kubernetes_rejects() {
        check_errors(&[
            ("~: a\n", "invalid", 1, 1, "null key"),
            (": a\n", "invalid", 1, 1, "null key"),
            ("? [a]\n: b\n", "invalid", 1, 3, "sequence or mapping"),
            ("{a: 1}: b\n", "invalid", 1, 1, "sequence or mapping"),
            (
                "18446744073709551615: a\n",
                "invalid",
                1,
                1,
                "integers above",
            ),
            ("a: &s x\nb:\n  <<: *s\n", "invalid", 3, 7, "map merge"),
            ("b:\n  <<: [{a: 1}, 2]\n", "invalid", 2, 7, "map merge"),
            ("a: !!int abc\n", "invalid", 1, 4, "!!int"),
            ("a: !!int 1.5\n", "invalid", 1, 4, "!!int"),
            ("a: !!bool 1\n", "invalid", 1, 4, "!!bool"),
            ("a: !!null x\n", "invalid", 1, 4, "!!null"),
            ("a: !!float x\n", "invalid", 1, 4, "!!float"),
            ("a: !!timestamp x\n", "invalid", 1, 4, "!!timestamp"),
        ]);
    }

    #[test]
    fn limits() {
        // Block nesting: up to MAX_DEPTH levels are accepted (and safe to convert), deeper is refused.
        let nested = |levels: usize| -> String {
            (0..levels)
                .map(|i| format!("{}a:\n", " ".repeat(i)))
                .collect()
        };
        let deep = parse_documents(&nested(MAX_DEPTH));
        assert!(matches!(&deep, Ok(docs) if docs.len() == 1), "{deep:?}");
        if let Ok(docs) = &deep {
            let json: Vec<_> = docs.iter().map(|d| d.root.to_json()).collect();
            assert_eq!(json.len(), 1);
        }
        match parse_documents(&nested(MAX_DEPTH + 5)) {
            Err(YamlError::Limit { span, message }) => {
                assert!(message.contains("nesting"), "{message}");
                assert_eq!(span.line, u32::try_from(MAX_DEPTH + 1).unwrap_or(0));
            }
            other => panic!("{other:?}"),
        }
        // Flow nesting is bounded by saphyr itself (255 levels).
        let flow = format!("{}{}", "[".repeat(400), "]".repeat(400));
        assert!(matches!(
            parse_documents(&flow),
            Err(YamlError::Syntax { .. })
        ));
        // "Billion laughs": nine levels of ten aliases each.
        let mut laughs =
            String::from("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for level in 1..9 {
            let refs = vec![format!("*l{}", level - 1); 10].join(", ");
            laughs.push_str(&format!("l{level}: &l{level} [{refs}]\n"));
        }
        match parse_documents(&laughs) {
            Err(YamlError::Limit { span, message }) => {
                assert!(message.contains("aliases"), "{message}");
                assert!(span.line > 1);
            }
            other => panic!("{other:?}"),
        }
        // A few levels are fine.
        let small: String = laughs.lines().take(4).map(|l| format!("{l}\n")).collect();
        let root = parse(&small);
        assert_eq!(
            root.find_pointer("/l3/9/9/9/9").and_then(Node::as_str),
            Some("lol")
        );
    }

    #[test]
    fn line_col_cases() {
        let text = "ab\ncé\r\nx\ry";
        let cases = [
            (0, (1, 1)),
            (2, (1, 3)),
            (3, (2, 1)),
            (4, (2, 2)),
            (6, (2, 3)),
            (7, (2, 4)),
            (8, (3, 1)),
            (10, (4, 1)),
            (5, (2, 2)),
            (999, (4, 2)),
        ];
        for (offset, expected) in cases {
            assert_eq!(line_col(text, offset), expected, "offset {offset}");
        }
        assert_eq!(line_col("\u{FEFF}a", 3), (1, 1));
        assert_eq!(line_col("\u{FEFF}a", 4), (1, 2));
        assert_eq!(line_col("", 0), (1, 1));
    }

    #[test]
    fn error_display_and_span() {
        let err = parse_documents("a: 1\na: 2\n").err();
        let text = err.as_ref().map(ToString::to_string);
        assert_eq!(
            text.as_deref(),
            Some("duplicate key \"a\" at line 2, column 1 (first defined at line 1, column 1)")
        );
        assert_eq!(err.map(|e| e.span().range()), Some(5..6));
    }

    const SAMPLES: &[&str] = &[
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web # the name\n  labels: {app: web, \"tier\": 'front'}\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - name: app\n        image: \"nginx:1.27\"\n        args: [--port, '8080', {x: [1, 2]}]\n        env:\n          - name: A\n            value: |\n              multi\n              line\n          - name: B\n            value: >-\n              folded\n              text\n---\napiVersion: v1\nkind: ConfigMap\ndata:\n  mode: 0755\n  flag: yes\n",
        "base: &base\n  a: 1\n  b: [x, y]\nderived:\n  <<: *base\n  c: !!str 3\n  d: !!int \"4\"\nlist:\n- *base\n- ? complex\n  : value\n- - nested\n  - seq\n...\n--- |\n  literal document\n",
        "%YAML 1.2\n%TAG !e! tag:example.com,2000:\n---\na: !e!x \"é\\u00e9\\x41\\n\"\nb: 'it''s'\nc: [\u{1F600}, ~, null, .inf]\nd: {e: f, g: [h, {i: j}]}\n",
        "\u{FEFF}# comment\r\nkey: value\r\nlist:\r\n  - a\r\n  - b: c\r\n    d: e\r\n",
    ];

    /// Asserts the invariants every parsed tree must hold.
    fn check_tree(text: &str, node: &Node) {
        let span = node.span;
        assert!(
            span.start <= span.end && span.end <= text.len(),
            "{text:?}: {span:?}"
        );
        assert!(
            text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
            "{text:?}"
        );
        assert_eq!(
            line_col(text, span.start),
            (span.line, span.col),
            "{text:?}: {span:?}"
        );
        match &node.kind {
            NodeKind::Scalar(_) => {}
            NodeKind::Seq(items) => items.iter().for_each(|n| check_tree(text, n)),
            NodeKind::Map(entries) => entries.iter().for_each(|(k, v)| {
                check_tree(text, k);
                check_tree(text, v);
            }),
        }
    }

    fn parse_and_check(text: &str) {
        match parse_documents(text) {
            Ok(docs) => {
                for doc in &docs {
                    check_tree(text, &doc.root);
                    let _ = doc.root.to_json();
                    let _ = doc.root.find_pointer("/a/0/b");
                }
            }
            Err(err) => {
                let span = err.span();
                assert!(
                    span.start <= span.end && span.end <= text.len(),
                    "{text:?}: {err:?}"
                );
                assert_eq!(
                    line_col(text, span.start),
                    (span.line, span.col),
                    "{text:?}: {err:?}"
                );
                let _ = err.to_string();
            }
        }
    }

    #[test]
    fn samples_parse() {
        for sample in SAMPLES {
            let docs = parse_documents(sample).unwrap_or_else(|e| panic!("{sample:?}: {e}"));
            assert!(!docs.is_empty());
            parse_and_check(sample);
        }
    }

    #[test]
    fn no_panic_on_prefixes_and_mutations() {
        let mut inputs = 0;
        for sample in SAMPLES {
            for (i, _) in sample.char_indices() {
                parse_and_check(&sample[..i]);
                parse_and_check(&sample[i..]);
                inputs += 2;
            }
        }
        // Deterministic pseudo-random mutations: replace, insert or delete characters.
        let alphabet: Vec<char> = " \t\n\r-:?,[]{}#&*!|>'\"%@`~.0aé\u{FEFF}\\"
            .chars()
            .collect();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % (bound.max(1) as u64)).unwrap_or(0)
        };
        for round in 0..600 {
            let sample = SAMPLES[round % SAMPLES.len()];
            let mut chars: Vec<char> = sample.chars().collect();
            for _ in 0..(1 + next(4)) {
                let at = next(chars.len() + 1);
                let c = alphabet[next(alphabet.len())];
                match next(3) {
                    0 if at < chars.len() => chars[at] = c,
                    1 => chars.insert(at, c),
                    _ if at < chars.len() => {
                        chars.remove(at);
                    }
                    _ => chars.push(c),
                }
            }
            let text: String = chars.into_iter().collect();
            parse_and_check(&text);
            inputs += 1;
        }
        // Entirely random strings over the same alphabet.
        for _ in 0..300 {
            let len = next(60);
            let text: String = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
            parse_and_check(&text);
            inputs += 1;
        }
        assert!(inputs > 1000, "{inputs}");
    }

    /// Parse throughput on a generated repository:
    /// `python3 shared/tools/gen_monorepo.py /tmp/mono1000 --apps 1000`, then
    /// `KILN_YAML_BENCH_DIR=/tmp/mono1000 cargo test --release -- --ignored parse_throughput --nocapture`.
    #[test]
    #[ignore = "benchmark; needs a generated repository"]
    fn parse_throughput() {
        let dir = std::env::var("KILN_YAML_BENCH_DIR").unwrap_or_else(|_| "/tmp/mono1000".into());
        let mut files = Vec::new();
        let mut pending = vec![std::path::PathBuf::from(dir)];
        while let Some(path) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&path) else {
                continue;
            };
            for entry in entries.flatten() {
                let p = entry.path();
                if p.is_dir() {
                    pending.push(p);
                } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml")
                    && let Ok(text) = std::fs::read_to_string(&p)
                {
                    files.push(text);
                }
            }
        }
        assert!(!files.is_empty(), "no YAML files found");
        let bytes: usize = files.iter().map(String::len).sum();
        let mut best = std::time::Duration::MAX;
        let mut docs = 0;
        for _ in 0..5 {
            let start = std::time::Instant::now();
            docs = 0;
            for text in &files {
                docs += parse_documents(text).map(|d| d.len()).unwrap_or(0);
            }
            best = best.min(start.elapsed());
        }
        let secs = best.as_secs_f64();
        println!(
            "{} files, {} documents, {:.1} MB: {:.1} ms ({:.0} files/s, {:.1} MB/s)",
            files.len(),
            docs,
            bytes as f64 / 1e6,
            secs * 1e3,
            files.len() as f64 / secs,
            bytes as f64 / 1e6 / secs
        );
    }
}

#[cfg(test)]
mod float_key_tests {
    /// Float map keys become JSON keys the way sigs.k8s.io/yaml spells them: Go's
    /// `FormatFloat(f, 'g', -1, 32)`.
    #[test]
    fn float_keys_are_spelled_like_go_float32() {
        let cases = [
            ("1.5", "1.5"),
            ("3.0", "3"),
            ("1e6", "1e+06"),
            ("0.0001", "0.0001"),
            ("0.00001", "1e-05"),
            ("100000.5", "100000.5"),
            ("-2.5e-7", "-2.5e-07"),
            ("123456.7", "123456.7"),
        ];
        for (key, want) in cases {
            let node = super::parse_one(&format!("{key}: x\n"))
                .expect("parses")
                .expect("has a document");
            let json = node.to_json();
            let keys: Vec<&String> = json.as_object().expect("a map").keys().collect();
            assert_eq!(keys, [want], "{key}");
        }
    }
}
