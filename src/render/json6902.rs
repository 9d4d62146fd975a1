//! RFC 6902 JSON patches as kustomize v5.5.0 applies them (`patches:` entries whose text is a
//! list of operations, and the older `patchesJson6902`).
//!
//! kustomize does not edit the YAML tree: it converts the resource to JSON (go-yaml v3 reading,
//! Go's JSON encoder), applies the operations with `gopkg.in/evanphx/json-patch.v4` v4.12.0 and
//! reads the result back (Go's JSON decoder into `map[string]interface{}`, so every number
//! becomes a float64, then go-yaml v3's encoder). This module reproduces that pipeline and the
//! library's exact behaviour, quirks included:
//! - `add` inserts into arrays (`-` appends, negative indices count from the end, an index past
//!   the end is an error) and sets object keys (replacing an existing value);
//! - `replace` of a missing object key adds it (v4 only checks array indices);
//! - `remove` of a missing key or index is an error;
//! - `copy` from a missing object key copies `null`; `move` removes first, then adds;
//! - intermediate objects are never created: a missing parent is
//!   `doc is missing path`; a path without a leading `/` ignores its first segment;
//! - `test` compares structurally, numbers by their JSON text (`3` is not `3.0`);
//! - an unknown `op` (they are case-sensitive) fails with `Unexpected kind`, but only when the
//!   operation is reached: errors in an operation list surface when it is applied;
//! - patch text starting with `[` is JSON; anything else is YAML read with go-yaml v2's rules
//!   (sigs.k8s.io/yaml: `yes` is `true`, `0755` is 493), first document only.
//!
//! [`apply_to_resource`] adds what kustomize's patch transformer does around the filter: it
//! records the previous id, makes `metadata.annotations` exist during the patch (kustomize's
//! bookkeeping annotations live there) and rewrites every annotation as a string of its
//! round-tripped text afterwards (`0755` becomes `"493"`, `1e7` becomes `"1e+07"`).
//!
//! It does not own choosing targets (`render::select`), deciding whether patch text is a JSON
//! or a strategic-merge patch, or reading patch files.

use std::cmp::Ordering;

use crate::render::resource::Resource;
use crate::yaml::{KustomizeValue, Node, NodeKind, natural_cmp, parse_documents, scalar_value};

/// Deepest JSON nesting accepted in patch text (Go's decoder allows 10000; YAML input is
/// bounded by the YAML parser).
const MAX_JSON_DEPTH: usize = 1000;

/// kustomize's bookkeeping annotations present on every resource while a JSON patch runs.
const PREVIOUS_ANNOTATIONS: [&str; 3] = [
    "internal.config.kubernetes.io/previousKinds",
    "internal.config.kubernetes.io/previousNames",
    "internal.config.kubernetes.io/previousNamespaces",
];

/// Why a JSON patch could not be read or applied. Messages follow evanphx/json-patch's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Json6902Error {
    /// The patch text is empty.
    #[error("empty json patch operations")]
    Empty,
    /// The patch text is not valid JSON or YAML.
    #[error("invalid JSON patch: {reason}")]
    Syntax {
        /// The parser's message.
        reason: String,
    },
    /// The patch is not a list of operation objects.
    #[error("json: cannot unmarshal {found} into Go value of type jsonpatch.Patch")]
    NotAList {
        /// What was found (`object`, `string`...).
        found: &'static str,
    },
    /// An operation has no usable `path` (or `from`).
    #[error("{op} operation failed to decode {field}")]
    BadField {
        /// The operation.
        op: String,
        /// `path` or `from`.
        field: &'static str,
    },
    /// The parent of the path does not exist (or is not an object or array).
    #[error("{op} operation does not apply: doc is missing path: \"{path}\": missing value")]
    MissingPath {
        /// The operation.
        op: String,
        /// The path (or `from`) as written.
        path: String,
    },
    /// A key or index at the end of the path does not exist or is not valid.
    #[error("error in {op} for path: '{path}': {reason}")]
    Invalid {
        /// The operation.
        op: String,
        /// The path as written.
        path: String,
        /// What went wrong (`Unable to remove nonexistent key: x`, `Unable to access invalid
        /// index: 5`...).
        reason: String,
    },
    /// A `test` operation did not hold.
    #[error("testing value {path} failed: test failed")]
    TestFailed {
        /// The tested path.
        path: String,
    },
    /// The `op` is not one of the six operations.
    #[error("Unexpected kind: {kind}")]
    UnexpectedKind {
        /// The op as written (`unknown` when missing or not a string).
        kind: String,
    },
    /// `replace` of the whole document with something that is not an object.
    #[error("replace operation value must be object or array")]
    BadRootValue,
    /// The patched document is not an object, or holds a value kustomize cannot convert.
    #[error("cannot convert the patched resource: {reason}")]
    Convert {
        /// Why.
        reason: String,
    },
}

/// A JSON value as the patch library holds it: numbers keep their JSON text, so `test` can
/// compare them as the library does.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

/// A field of an operation as decoded lazily by the library.
#[derive(Debug, Clone, PartialEq)]
enum Field {
    Missing,
    NotString,
    Str(String),
}

/// One operation of a JSON patch.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    kind: String,
    path: Field,
    from: Field,
    /// `None` when the operation has no `value` key.
    value: Option<Json>,
}

impl Op {
    /// The operation name as written (`unknown` when missing or not a string).
    #[must_use]
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The `path`, when it is a string.
    #[must_use]
    pub fn path(&self) -> Option<&str> {
        match &self.path {
            Field::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Reads patch text: JSON if it starts with `[`, else YAML (first document only). Operations
/// are checked only for shape here; bad fields fail when applied, as in kustomize.
///
/// # Errors
/// Empty text, text that does not parse, or a value that is not a list of objects.
pub fn parse_ops(text: &str) -> Result<Vec<Op>, Json6902Error> {
    if text.is_empty() {
        return Err(Json6902Error::Empty);
    }
    let json = if text.starts_with('[') {
        JsonParser::new(text).parse_document()?
    } else {
        let docs = parse_documents(text).map_err(|e| Json6902Error::Syntax {
            reason: e.to_string(),
        })?;
        match docs.first() {
            Some(doc) => from_serde(doc.root.to_json()),
            None => Json::Null,
        }
    };
    ops_from_json(json)
}

/// Reads operations from an already parsed YAML node (a sequence of operation mappings), with
/// the same go-yaml v2 reading as [`parse_ops`] gives YAML text.
///
/// # Errors
/// A value that is not a list of objects.
pub fn parse_ops_node(node: &Node) -> Result<Vec<Op>, Json6902Error> {
    ops_from_json(from_serde(node.to_json()))
}

fn ops_from_json(json: Json) -> Result<Vec<Op>, Json6902Error> {
    let items = match json {
        Json::Null => return Ok(Vec::new()),
        Json::Arr(items) => items,
        other => {
            return Err(Json6902Error::NotAList {
                found: json_kind(&other),
            });
        }
    };
    items
        .into_iter()
        .map(|item| {
            let entries = match item {
                Json::Obj(entries) => entries,
                Json::Null => Vec::new(),
                other => {
                    return Err(Json6902Error::NotAList {
                        found: json_kind(&other),
                    });
                }
            };
            let mut op = Op {
                kind: "unknown".to_owned(),
                path: Field::Missing,
                from: Field::Missing,
                value: None,
            };
            let field = |v: Json| match v {
                Json::Null => Field::Missing,
                Json::Str(s) => Field::Str(s),
                _ => Field::NotString,
            };
            for (k, v) in entries {
                match k.as_str() {
                    "op" => {
                        op.kind = match v {
                            Json::Str(s) => s,
                            _ => "unknown".to_owned(),
                        }
                    }
                    "path" => op.path = field(v),
                    "from" => op.from = field(v),
                    "value" => op.value = Some(v),
                    _ => {}
                }
            }
            Ok(op)
        })
        .collect()
}

fn json_kind(j: &Json) -> &'static str {
    match j {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Num(_) => "number",
        Json::Str(_) => "string",
        Json::Arr(_) => "array",
        Json::Obj(_) => "object",
    }
}

/// Applies `ops` to `target` (a resource mapping) through kustomize's JSON round trip. The
/// round trip happens even with no operations, normalising every value.
///
/// # Errors
/// The first operation that fails, or a resource kustomize cannot convert.
pub fn apply(target: &mut Node, ops: &[Op]) -> Result<(), Json6902Error> {
    let mut doc = node_to_json(target)?;
    run(&mut doc, ops)?;
    *target = json_to_node(doc)?;
    Ok(())
}

/// Applies `ops` to one selected resource as kustomize's patch transformer does: records the
/// previous id, applies the patch with kustomize's bookkeeping annotations present under
/// `metadata.annotations`, then rewrites the annotations as strings (see the module docs).
///
/// # Errors
/// As [`apply`].
pub fn apply_to_resource(res: &mut Resource, ops: &[Op]) -> Result<(), Json6902Error> {
    res.store_previous_id();
    let mut doc = node_to_json(&res.node)?;
    add_bookkeeping(&mut doc, res);
    run(&mut doc, ops)?;
    strip_bookkeeping(&mut doc);
    res.node = json_to_node(doc)?;
    reset_annotations(&mut res.node);
    Ok(())
}

fn add_bookkeeping(doc: &mut Json, res: &Resource) {
    let Json::Obj(root) = doc else { return };
    let meta = match root.iter().position(|(k, _)| k == "metadata") {
        Some(i) => &mut root[i].1,
        None => {
            root.push(("metadata".to_owned(), Json::Obj(Vec::new())));
            let last = root.len() - 1;
            &mut root[last].1
        }
    };
    let Json::Obj(meta) = meta else { return };
    let annotations = match meta.iter().position(|(k, _)| k == "annotations") {
        Some(i) => &mut meta[i].1,
        None => {
            meta.push(("annotations".to_owned(), Json::Obj(Vec::new())));
            let last = meta.len() - 1;
            &mut meta[last].1
        }
    };
    if matches!(annotations, Json::Null) {
        *annotations = Json::Obj(Vec::new());
    }
    let Json::Obj(annotations) = annotations else {
        return;
    };
    let join = |f: &dyn Fn(&crate::render::resource::ResId) -> String| {
        res.previous.iter().map(f).collect::<Vec<_>>().join(",")
    };
    let values = [
        join(&|id| id.gvk.kind.clone()),
        join(&|id| id.name.clone()),
        join(&|id| crate::render::select::previous_effective_namespace(id).to_owned()),
    ];
    for (key, value) in PREVIOUS_ANNOTATIONS.iter().zip(values) {
        obj_set(annotations, (*key).to_owned(), Json::Str(value));
    }
}

fn strip_bookkeeping(doc: &mut Json) {
    let Json::Obj(root) = doc else { return };
    let Some((_, Json::Obj(meta))) = root.iter_mut().find(|(k, _)| k == "metadata") else {
        return;
    };
    if let Some((_, Json::Obj(annotations))) = meta.iter_mut().find(|(k, _)| k == "annotations") {
        annotations.retain(|(k, _)| !PREVIOUS_ANNOTATIONS.contains(&k.as_str()));
    }
}

/// kustomize's `SetAnnotations(GetAnnotations())` after a JSON patch: every value becomes a
/// string of its text (a collection gives `""`), an empty or non-mapping `annotations` is
/// removed, `metadata` exists.
fn reset_annotations(node: &mut Node) {
    let meta = node.map_entry("metadata");
    let mut values: Vec<(String, String)> = match meta.field("annotations").map(|a| &a.kind) {
        Some(NodeKind::Map(entries)) => entries
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().unwrap_or_default().to_owned(),
                    v.as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    meta.remove("annotations");
    if values.is_empty() {
        return;
    }
    values.sort();
    let entries = values
        .into_iter()
        .map(|(k, v)| (key_node(k), Node::string(v)))
        .collect();
    meta.set("annotations", Node::from_entries(entries));
}

// ---------------------------------------------------------------------------------------------
// Applying operations (evanphx/json-patch v4.12.0).

fn run(doc: &mut Json, ops: &[Op]) -> Result<(), Json6902Error> {
    for op in ops {
        match op.kind.as_str() {
            "add" => {
                let path = field(op, &op.path, "path")?;
                let (con, key) = find_object(doc, path).ok_or_else(|| missing(op, path))?;
                let value = op.value.clone().unwrap_or(Json::Null);
                add(con, &key, value).map_err(|r| invalid(op, path, r))?;
            }
            "remove" => {
                let path = field(op, &op.path, "path")?;
                let (con, key) = find_object(doc, path).ok_or_else(|| missing(op, path))?;
                remove(con, &key).map_err(|r| invalid(op, path, r))?;
            }
            "replace" => {
                let path = field(op, &op.path, "path")?;
                if path.is_empty() {
                    match &op.value {
                        Some(v @ (Json::Obj(_) | Json::Arr(_))) => *doc = v.clone(),
                        _ => return Err(Json6902Error::BadRootValue),
                    }
                    continue;
                }
                let (con, key) = find_object(doc, path).ok_or_else(|| missing(op, path))?;
                // v4 only fails for arrays here: a missing object key is added.
                get(con, &key).map_err(|_| Json6902Error::MissingPath {
                    op: op.kind.clone(),
                    path: path.to_owned(),
                })?;
                set(con, &key, op.value.clone().unwrap_or(Json::Null));
            }
            "move" => {
                let from = field(op, &op.from, "from")?;
                let (con, key) = find_object(doc, from).ok_or_else(|| missing(op, from))?;
                let value = get(con, &key)
                    .map_err(|r| invalid(op, &key, r))?
                    .cloned()
                    .unwrap_or(Json::Null);
                remove(con, &key).map_err(|r| invalid(op, &key, r))?;
                let path = field(op, &op.path, "path")?;
                let (con, key) = find_object(doc, path).ok_or_else(|| missing(op, path))?;
                add(con, &key, value).map_err(|r| invalid(op, path, r))?;
            }
            "copy" => {
                let from = field(op, &op.from, "from")?;
                let (con, key) = find_object(doc, from).ok_or_else(|| missing(op, from))?;
                let value = get(con, &key)
                    .map_err(|r| invalid(op, from, r))?
                    .cloned()
                    .unwrap_or(Json::Null);
                let path = field(op, &op.path, "path")?;
                let (con, key) = find_object(doc, path).ok_or_else(|| missing(op, path))?;
                add(con, &key, value).map_err(|r| invalid(op, path, r))?;
            }
            "test" => test(doc, op)?,
            other => {
                return Err(Json6902Error::UnexpectedKind {
                    kind: other.to_owned(),
                });
            }
        }
    }
    Ok(())
}

fn test(doc: &mut Json, op: &Op) -> Result<(), Json6902Error> {
    let path = field(op, &op.path, "path")?;
    let failed = || Json6902Error::TestFailed {
        path: path.to_owned(),
    };
    if path.is_empty() {
        return match &op.value {
            Some(v) if json_equal(doc, v) => Ok(()),
            _ => Err(failed()),
        };
    }
    let (con, key) = find_object(doc, path).ok_or_else(|| missing(op, path))?;
    let value = get(con, &key).map_err(|r| invalid(op, path, r))?;
    match (value, &op.value) {
        // A missing or null value only equals an explicit `null`.
        (None, Some(Json::Null)) => Ok(()),
        (Some(have), Some(want)) if json_equal(have, want) => Ok(()),
        _ => Err(failed()),
    }
}

fn field<'o>(op: &'o Op, f: &'o Field, name: &'static str) -> Result<&'o str, Json6902Error> {
    match f {
        Field::Str(s) => Ok(s),
        _ => Err(Json6902Error::BadField {
            op: op.kind.clone(),
            field: name,
        }),
    }
}

fn missing(op: &Op, path: &str) -> Json6902Error {
    Json6902Error::MissingPath {
        op: op.kind.clone(),
        path: path.to_owned(),
    }
}

fn invalid(op: &Op, path: &str, reason: String) -> Json6902Error {
    Json6902Error::Invalid {
        op: op.kind.clone(),
        path: path.to_owned(),
        reason,
    }
}

/// RFC 6901 unescaping in one left-to-right pass (`~1` is `/`, `~0` is `~`).
fn decode_key(s: &str) -> String {
    if !s.contains('~') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.peek() {
                Some('1') => {
                    out.push('/');
                    chars.next();
                }
                Some('0') => {
                    out.push('~');
                    chars.next();
                }
                _ => out.push('~'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The container holding the last segment of `path`, and that segment unescaped. Segments
/// are split on `/` and the first one is ignored (it is empty for a proper pointer).
fn find_object<'d>(doc: &'d mut Json, path: &str) -> Option<(&'d mut Json, String)> {
    let parts: Vec<&str> = path.split('/').collect();
    let (last, rest) = parts.split_last()?;
    let middle = rest.get(1..)?;
    let mut cur = doc;
    for part in middle {
        let key = decode_key(part);
        let next = match cur {
            Json::Obj(entries) => entries
                .iter_mut()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v)?,
            Json::Arr(items) => {
                let i = array_index(&key, items.len()).ok()?;
                items.get_mut(i)?
            }
            _ => return None,
        };
        if !matches!(next, Json::Obj(_) | Json::Arr(_)) {
            return None;
        }
        cur = next;
    }
    Some((cur, decode_key(last)))
}

/// An existing element's index: Go's `strconv.Atoi`, negative counting from the end.
fn array_index(key: &str, len: usize) -> Result<usize, String> {
    let idx: i64 = key
        .parse()
        .map_err(|_| format!("strconv.Atoi: parsing \"{key}\": invalid syntax"))?;
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let resolved = if idx < 0 { idx + len } else { idx };
    if resolved < 0 || resolved >= len {
        return Err(format!(
            "Unable to access invalid index: {idx}: invalid index referenced"
        ));
    }
    usize::try_from(resolved).map_err(|_| format!("Unable to access invalid index: {idx}"))
}

/// The value at `key` of a container; `Ok(None)` for a missing or null object entry (the
/// library does not tell them apart).
fn get<'c>(con: &'c Json, key: &str) -> Result<Option<&'c Json>, String> {
    match con {
        Json::Obj(entries) => Ok(entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .filter(|v| !matches!(v, Json::Null))),
        Json::Arr(items) => {
            let i = array_index(key, items.len())?;
            Ok(items.get(i).filter(|v| !matches!(v, Json::Null)))
        }
        _ => Err("invalid state detected".to_owned()),
    }
}

fn obj_set(entries: &mut Vec<(String, Json)>, key: String, value: Json) {
    match entries.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => entries.push((key, value)),
    }
}

fn add(con: &mut Json, key: &str, value: Json) -> Result<(), String> {
    match con {
        Json::Obj(entries) => {
            obj_set(entries, key.to_owned(), value);
            Ok(())
        }
        Json::Arr(items) => {
            if key == "-" {
                items.push(value);
                return Ok(());
            }
            let idx: i64 = key.parse().map_err(|_| {
                format!(
                    "value was not a proper array index: '{key}': strconv.Atoi: parsing \"{key}\": \
                     invalid syntax"
                )
            })?;
            let size = i64::try_from(items.len()).unwrap_or(i64::MAX) + 1;
            let bad = || format!("Unable to access invalid index: {idx}: invalid index referenced");
            if idx >= size || idx < -size {
                return Err(bad());
            }
            let at = if idx < 0 { idx + size } else { idx };
            let at = usize::try_from(at).map_err(|_| bad())?;
            items.insert(at, value);
            Ok(())
        }
        _ => Err("invalid state detected".to_owned()),
    }
}

/// `replace` after `get` succeeded: the key or index exists (or is an object key to add).
fn set(con: &mut Json, key: &str, value: Json) {
    match con {
        Json::Obj(entries) => obj_set(entries, key.to_owned(), value),
        Json::Arr(items) => {
            if let Some(slot) = array_index(key, items.len())
                .ok()
                .and_then(|i| items.get_mut(i))
            {
                *slot = value;
            }
        }
        _ => {}
    }
}

fn remove(con: &mut Json, key: &str) -> Result<(), String> {
    match con {
        Json::Obj(entries) => {
            let i = entries
                .iter()
                .position(|(k, _)| k == key)
                .ok_or_else(|| format!("Unable to remove nonexistent key: {key}: missing value"))?;
            entries.remove(i);
            Ok(())
        }
        Json::Arr(items) => {
            let i = array_index(key, items.len())?;
            items.remove(i);
            Ok(())
        }
        _ => Err("invalid state detected".to_owned()),
    }
}

/// The library's structural equality: objects by key set, arrays by position, scalars by
/// their JSON text (numbers are not normalised: `3` differs from `3.0`).
fn json_equal(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Obj(x), Json::Obj(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| {
                    y.iter()
                        .find(|(k2, _)| k2 == k)
                        .is_some_and(|(_, w)| json_equal(v, w))
                })
        }
        (Json::Arr(x), Json::Arr(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| json_equal(v, w))
        }
        _ => a == b,
    }
}

// ---------------------------------------------------------------------------------------------
// Conversions.

/// The resource as kustomize's `MarshalJSON` writes it: values read as go-yaml v3 reads them.
fn node_to_json(node: &Node) -> Result<Json, Json6902Error> {
    Ok(match &node.kind {
        NodeKind::Scalar(s) => match scalar_value(node.tag.as_deref(), s) {
            KustomizeValue::Null => Json::Null,
            KustomizeValue::Bool(b) => Json::Bool(b),
            KustomizeValue::Int(i) => Json::Num(i.to_string()),
            KustomizeValue::UInt(u) => Json::Num(u.to_string()),
            KustomizeValue::Float(f) if f.is_finite() => Json::Num(go_json_float(f)),
            KustomizeValue::Float(f) => {
                return Err(Json6902Error::Convert {
                    reason: format!("json: unsupported value: {f}"),
                });
            }
            KustomizeValue::Str(s) => Json::Str(s.into_owned()),
        },
        NodeKind::Seq(items) => Json::Arr(
            items
                .iter()
                .map(node_to_json)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        NodeKind::Map(entries) => {
            let mut out: Vec<(String, Json)> = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let key = k.as_str().unwrap_or_default().to_owned();
                obj_set(&mut out, key, node_to_json(v)?);
            }
            Json::Obj(out)
        }
    })
}

/// serde_json's reading of YAML (sigs.k8s.io/yaml `YAMLToJSON`) with numbers written as Go's
/// JSON encoder writes them.
fn from_serde(v: serde_json::Value) -> Json {
    match v {
        serde_json::Value::Null => Json::Null,
        serde_json::Value::Bool(b) => Json::Bool(b),
        serde_json::Value::Number(n) => Json::Num(match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => go_json_float(f),
            _ => n.to_string(),
        }),
        serde_json::Value::String(s) => Json::Str(s),
        serde_json::Value::Array(items) => Json::Arr(items.into_iter().map(from_serde).collect()),
        serde_json::Value::Object(map) => {
            Json::Obj(map.into_iter().map(|(k, v)| (k, from_serde(v))).collect())
        }
    }
}

/// Go's JSON encoding of a finite float64: `'f'` format between 1e-6 and 1e21, else `'e'`
/// with a one-digit negative exponent unpadded (`1.5e-7`, `1e+21`).
fn go_json_float(f: f64) -> String {
    let abs = f.abs();
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        return format!("{f}");
    }
    let s = format!("{f:e}");
    match s.split_once('e') {
        Some((mantissa, exp)) if exp.starts_with('-') => format!("{mantissa}e{exp}"),
        Some((mantissa, exp)) => format!("{mantissa}e+{exp}"),
        None => s,
    }
}

/// go-yaml v3's encoding of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`).
fn go_yaml_float(f: f64) -> String {
    let s = format!("{:e}", f.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    crate::yaml::emit::format_g(f.is_sign_negative(), &digits, exp)
}

/// A mapping key: plain when go-yaml v3 reads the text as that string, else quoted.
fn key_node(key: String) -> Node {
    let plain = Node::plain(key);
    let is_string = plain.as_scalar().is_some_and(
        |s| matches!(scalar_value(None, s), KustomizeValue::Str(t) if t == s.text.as_str()),
    );
    if is_string {
        plain
    } else {
        let NodeKind::Scalar(s) = plain.kind else {
            unreachable!("Node::plain makes a scalar")
        };
        Node::string(s.text)
    }
}

/// The patched document read back as kustomize does: a JSON object decoded by Go (numbers
/// become float64) and re-encoded by go-yaml v3 (keys sorted).
fn json_to_node(doc: Json) -> Result<Node, Json6902Error> {
    match doc {
        Json::Obj(_) => value_to_node(doc),
        other => Err(Json6902Error::Convert {
            reason: format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(&other)
            ),
        }),
    }
}

fn value_to_node(v: Json) -> Result<Node, Json6902Error> {
    Ok(match v {
        Json::Null => Node::null(),
        Json::Bool(b) => Node::plain(if b { "true" } else { "false" }),
        Json::Num(text) => {
            let f: f64 = text.parse().map_err(|_| Json6902Error::Convert {
                reason: format!("invalid number {text}"),
            })?;
            if !f.is_finite() {
                return Err(Json6902Error::Convert {
                    reason: format!(
                        "json: cannot unmarshal number {text} into Go value of type float64"
                    ),
                });
            }
            Node::plain(go_yaml_float(f))
        }
        Json::Str(s) => Node::string(s),
        Json::Arr(items) => Node::seq(
            items
                .into_iter()
                .map(value_to_node)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Json::Obj(mut entries) => {
            entries.sort_by(|a, b| match natural_cmp(&a.0, &b.0) {
                Ordering::Equal => a.0.cmp(&b.0),
                o => o,
            });
            Node::from_entries(
                entries
                    .into_iter()
                    .map(|(k, v)| Ok((key_node(k), value_to_node(v)?)))
                    .collect::<Result<Vec<_>, Json6902Error>>()?,
            )
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Strict JSON text (patch text starting with `[`), numbers kept as written.

struct JsonParser<'t> {
    text: &'t str,
    pos: usize,
}

impl<'t> JsonParser<'t> {
    fn new(text: &'t str) -> Self {
        JsonParser { text, pos: 0 }
    }

    fn err(&self, what: &str) -> Json6902Error {
        Json6902Error::Syntax {
            reason: format!("{what} at offset {}", self.pos),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn parse_document(&mut self) -> Result<Json, Json6902Error> {
        let v = self.value(0)?;
        self.skip_ws();
        if self.pos != self.text.len() {
            return Err(self.err("invalid character after top-level value"));
        }
        Ok(v)
    }

    fn expect(&mut self, lit: &str) -> Result<(), Json6902Error> {
        if self.text[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            Ok(())
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, Json6902Error> {
        if depth > MAX_JSON_DEPTH {
            return Err(self.err("exceeded max depth"));
        }
        self.skip_ws();
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                let mut entries = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(Json::Obj(entries));
                }
                loop {
                    self.skip_ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.err("expected object key"));
                    }
                    let key = self.string()?;
                    self.skip_ws();
                    if self.peek() != Some(b':') {
                        return Err(self.err("expected ':'"));
                    }
                    self.pos += 1;
                    let v = self.value(depth + 1)?;
                    // Go's decoder into a map keeps the last duplicate.
                    obj_set(&mut entries, key, v);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Json::Obj(entries));
                        }
                        _ => return Err(self.err("expected ',' or '}'")),
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(Json::Arr(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Json::Arr(items));
                        }
                        _ => return Err(self.err("expected ',' or ']'")),
                    }
                }
            }
            Some(b'"') => Ok(Json::Str(self.string()?)),
            Some(b't') => self.expect("true").map(|()| Json::Bool(true)),
            Some(b'f') => self.expect("false").map(|()| Json::Bool(false)),
            Some(b'n') => self.expect("null").map(|()| Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err("invalid character looking for beginning of value")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Json, Json6902Error> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.err("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("invalid number"));
            }
        }
        Ok(Json::Num(self.text[start..self.pos].to_owned()))
    }

    fn hex4(&mut self) -> Result<u32, Json6902Error> {
        let s = self
            .text
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("invalid escape"))?;
        let v = u32::from_str_radix(s, 16).map_err(|_| self.err("invalid escape"))?;
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, Json6902Error> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let Some(stop) = rest.find(|c: char| c == '"' || c == '\\' || c < ' ') else {
                return Err(self.err("unterminated string"));
            };
            out.push_str(&rest[..stop]);
            self.pos += stop;
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.peek().ok_or_else(|| self.err("invalid escape"))?;
                    self.pos += 1;
                    match c {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let ch = if (0xD800..0xDC00).contains(&hi)
                                && self.text[self.pos..].starts_with("\\u")
                            {
                                let save = self.pos;
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                                } else {
                                    self.pos = save;
                                    None
                                }
                            } else {
                                char::from_u32(hi)
                            };
                            // Go replaces lone surrogates with U+FFFD.
                            out.push(ch.unwrap_or('\u{FFFD}'));
                        }
                        _ => return Err(self.err("invalid escape")),
                    }
                }
                _ => return Err(self.err("invalid character in string literal")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::resource::Origin;
    use crate::yaml::{emit_node, parse_one};

    fn node(text: &str) -> Node {
        parse_one(text).expect("valid yaml").expect("one document")
    }

    fn patched(resource: &str, patch: &str) -> Result<String, Json6902Error> {
        let mut res = Resource::new(node(resource), Origin::default());
        let ops = parse_ops(patch)?;
        apply_to_resource(&mut res, &ops)?;
        Ok(emit_node(&res.node))
    }

    const DEPLOY: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    a: \"1\"
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: app
        image: nginx
        args: [\"a\", \"b\"]
      - name: app-sidecar
        image: busybox
";

    #[test]
    fn yaml_ops_and_library_quirks() {
        // Checked against kubectl kustomize v5.5.0 (probe j1).
        let patch = "\
- op: replace
  path: /spec/newkey
  value: yes
- op: add
  path: /spec/template/spec/containers/0/args/-
  value: 0755
- op: add
  path: /spec/template/spec/containers/-1/args
  value: [\"x\"]
- op: copy
  from: /spec/missing
  path: /spec/copied
- op: add
  path: /metadata/labels
  value: {\"a/b\": \"1\", c: 1.0, d: 1e3, e: \"2001-12-14\"}
- op: test
  path: /spec/replicas
  value: 3
- op: move
  from: /metadata/annotations/a
  path: /metadata/annotations/b
";
        let want = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    b: \"1\"
  labels:
    a/b: \"1\"
    c: 1
    d: 1000
    e: \"2001-12-14\"
  name: web
spec:
  copied: null
  newkey: true
  replicas: 3
  template:
    spec:
      containers:
      - args:
        - a
        - b
        - 493
        image: nginx
        name: app
      - args:
        - x
        image: busybox
        name: app-sidecar
";
        assert_eq!(patched(DEPLOY, patch).expect("applies"), want);
    }

    #[test]
    fn json_text_path_without_slash_and_escapes() {
        // Checked against kubectl kustomize v5.5.0: `metadata/labels` ignores its first
        // segment (adds top-level `labels`), numbers lose precision through float64.
        let patch = r#"[{"op": "add", "path": "metadata/labels", "value": {"x~y": "1", "n": 12345678901234567890, "f": 1.5e-7, "g": 1e300}},
 {"op": "add", "path": "/metadata/annotations/p~1q~0r", "value": true},
 {"op": "test", "path": "/spec/replicas", "value": 3}]"#;
        let got = patched(DEPLOY, patch).expect("applies");
        let want_head = "\
apiVersion: apps/v1
kind: Deployment
labels:
  f: 1.5e-07
  g: 1e+300
  \"n\": 12345678901234567000
  x~y: \"1\"
metadata:
  annotations:
    a: \"1\"
    p/q~r: \"true\"
  name: web
";
        assert!(got.starts_with(want_head), "{got}");
    }

    #[test]
    fn errors_match_the_library() {
        // Each checked against kubectl kustomize v5.5.0 (same messages).
        let cases = [
            (
                "- op: remove\n  path: /spec/nothere\n",
                "error in remove for path: '/spec/nothere': Unable to remove nonexistent key: nothere: missing value",
            ),
            (
                "- op: add\n  path: /spec/template/spec/containers/5\n  value: {}\n",
                "error in add for path: '/spec/template/spec/containers/5': Unable to access invalid index: 5: invalid index referenced",
            ),
            (
                "- op: add\n  path: /spec/a/b\n  value: {}\n",
                "add operation does not apply: doc is missing path: \"/spec/a/b\": missing value",
            ),
            (
                "- op: test\n  path: /spec/replicas\n  value: \"3\"\n",
                "testing value /spec/replicas failed: test failed",
            ),
            (
                "- op: Add\n  path: /spec/y\n  value: 1\n",
                "Unexpected kind: Add",
            ),
        ];
        for (patch, want) in cases {
            let err = patched(DEPLOY, patch).expect_err(patch);
            assert_eq!(err.to_string(), want);
        }
        // `3.0` in JSON text is not `3`.
        let err = patched(
            DEPLOY,
            r#"[{"op": "test", "path": "/spec/replicas", "value": 3.0}]"#,
        );
        assert!(matches!(err, Err(Json6902Error::TestFailed { .. })));
        // In YAML `3.0` goes through go-yaml v2 and JSON, and becomes `3`.
        assert!(patched(DEPLOY, "- op: test\n  path: /spec/replicas\n  value: 3.0\n").is_ok());
    }

    #[test]
    fn annotations_exist_during_the_patch_and_become_strings() {
        // Checked against kubectl kustomize v5.5.0 (probe j1, res2/res3).
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm3\ndata:\n  k: v\n";
        let got = patched(
            cm,
            "- op: add\n  path: /metadata/annotations/foo\n  value: bar\n",
        );
        assert_eq!(
            got.expect("applies"),
            "apiVersion: v1\ndata:\n  k: v\nkind: ConfigMap\nmetadata:\n  annotations:\n    foo: bar\n  name: cm3\n"
        );
        assert!(patched(cm, "- op: remove\n  path: /metadata/annotations\n").is_ok());
        assert!(
            patched(
                cm,
                "- op: test\n  path: /metadata/annotations\n  value: {}\n"
            )
            .is_err()
        );
        let cm2 = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  annotations:\n    i: 1\n    t: 2001-12-14\n    y: yes\n    o: 0755\ndata:\n  k: v\n";
        let patch = "\
- op: add
  path: /metadata/annotations/n
  value: null
- op: add
  path: /metadata/annotations/f
  value: 1.5e-7
- op: add
  path: /metadata/annotations/m
  value: {a: 1}
- op: add
  path: /metadata/annotations/big
  value: 10000000
- op: add
  path: /data/big
  value: 10000000
";
        let want = "\
apiVersion: v1
data:
  big: 10000000
  k: v
kind: ConfigMap
metadata:
  annotations:
    big: \"1e+07\"
    f: \"1.5e-07\"
    i: \"1\"
    m: \"\"
    \"n\": \"null\"
    o: \"493\"
    t: \"2001-12-14T00:00:00Z\"
    \"y\": \"yes\"
  name: cm
";
        assert_eq!(patched(cm2, patch).expect("applies"), want);
    }

    #[test]
    fn previous_id_is_recorded() {
        let mut res = Resource::new(node(DEPLOY), Origin::default());
        let ops = parse_ops("[]").expect("parses");
        apply_to_resource(&mut res, &ops).expect("applies");
        assert_eq!(res.previous.len(), 1);
        assert_eq!(res.previous[0].name, "web");
    }

    #[test]
    fn parse_errors() {
        assert_eq!(parse_ops(""), Err(Json6902Error::Empty));
        assert!(matches!(
            parse_ops("a: b"),
            Err(Json6902Error::NotAList { .. })
        ));
        assert!(matches!(
            parse_ops("[1]"),
            Err(Json6902Error::NotAList { .. })
        ));
        assert!(matches!(
            parse_ops("[{]"),
            Err(Json6902Error::Syntax { .. })
        ));
        assert_eq!(parse_ops("# only a comment\n").map(|o| o.len()), Ok(0));
        let ops = parse_ops(r#"[{"op":"add","path":"/a","value":"\u00e9\ud83d\ude00"}]"#)
            .expect("parses");
        assert_eq!(ops[0].value, Some(Json::Str("é😀".to_owned())));
    }

    #[test]
    fn float_formats() {
        assert_eq!(go_json_float(1.5e-7), "1.5e-7");
        assert_eq!(go_json_float(1e21), "1e+21");
        assert_eq!(go_json_float(1e20), "100000000000000000000");
        assert_eq!(go_json_float(0.5), "0.5");
        assert_eq!(go_yaml_float(1e7), "1e+07");
        assert_eq!(go_yaml_float(3.0), "3");
        assert_eq!(go_yaml_float(123456.0), "123456");
        assert_eq!(go_yaml_float(1.5e-7), "1.5e-07");
    }
}
