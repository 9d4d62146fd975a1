//! kustomize's `replacements` (api/filters/replacement, v5.5.0): copy a value from one field of
//! one resource into fields of other resources.
//!
//! This module owns:
//! - reading replacement entries ([`apply_replacements`] takes the inline mappings;
//!   [`replacement_path`] and [`replacements_from_file`] help the caller with `path:` entries);
//! - choosing the source (exactly one resource whose current or any previous id is selected;
//!   ids are compared exactly, not as regular expressions) and reading `fieldPath`
//!   (default `metadata.name`) with kyaml's `PathGetter`: dotted path, `\.` escapes a dot,
//!   `[a.b]` keeps a dotted key, `[name=value]` picks the first element whose field has exactly
//!   that text, `[=value]` a scalar element, a number an index, `-` the last element;
//! - choosing targets (`select` ids plus label/annotation selectors, minus `reject`) and
//!   writing with kyaml's `PathMatcher`: `[name=regex]` matches *every* element whose field
//!   matches the unanchored regular expression, `*` every element, a number an index;
//!   `options.create` creates missing fields, list entries and the element at index `len`;
//! - kyaml's typing rule: a scalar target keeps its tag and only takes the text, so `"5"` into
//!   `replicas: 3` gives the integer 5, `5` into `name: web` gives the string `"5"`, and text
//!   that does not fit the target's type (`abc` into an integer, anything but null into a
//!   null) is the error kustomize raises when printing;
//! - `options.delimiter`/`index` on the source (pick a part) and on targets (replace, prepend
//!   for a negative index, append past the end).
//!
//! Quirks reproduced (each checked with kubectl kustomize v5.5.0): a created path that passes
//! through an existing `null` value is silently lost (kyaml appends to a scalar node); a
//! `reject` entry with a label or annotation selector rejects on those alone.
//!
//! It does not own loading `path:` files or the order of transformers.

use regex::Regex;

use crate::render::resource::{Gvk, ResId, Resource};
use crate::render::select::{
    CompiledSelector, Selector, config_bool, config_int, config_string, config_strings,
    previous_effective_namespace,
};
use crate::yaml::{KustomizeValue, Node, NodeKind, ScalarStyle, scalar_value};

/// Default `fieldPath`/`fieldPaths`.
const DEFAULT_FIELD_PATH: &str = "metadata.name";

/// Why replacements failed. Messages follow kustomize's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplacementError {
    /// The entry is not a mapping, or a field has the wrong type.
    #[error("invalid replacement: {reason}")]
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// `path:` together with `source`/`targets`.
    #[error("cannot specify both path and inline replacement")]
    PathAndInline,
    /// A replacement file holds neither a mapping nor a list.
    #[error("unsupported replacement type encountered within replacement path: {found}")]
    UnsupportedFile {
        /// What it holds.
        found: &'static str,
    },
    /// No `source` or no `targets`.
    #[error("replacements must specify a source and at least one target")]
    MissingSourceOrTargets,
    /// A target without `select`.
    #[error("target must specify resources to select")]
    MissingSelect,
    /// A selector in a target does not compile.
    #[error(transparent)]
    Select(#[from] crate::render::select::SelectError),
    /// No resource matches the source selector.
    #[error("nothing selected by {selector}")]
    NoSource {
        /// The source selector.
        selector: String,
    },
    /// Several resources match the source selector.
    #[error("multiple matches for selector {selector}")]
    MultipleSources {
        /// The source selector.
        selector: String,
    },
    /// The source field is missing, null or empty.
    #[error("fieldPath `{field_path}` is missing for replacement source {source_id}")]
    SourceFieldMissing {
        /// The source `fieldPath`.
        field_path: String,
        /// The source selector's id.
        source_id: String,
    },
    /// A path could not be walked (wrong node kind, bad index, `*` in a source path...).
    #[error("error looking up {field_path}: {reason}")]
    Lookup {
        /// The field path.
        field_path: String,
        /// What went wrong.
        reason: String,
    },
    /// `delimiter` used on a collection.
    #[error("delimiter option can only be used with scalar nodes")]
    DelimiterOnCollection,
    /// Source `options.index` outside the split value.
    #[error("options.index {index} is out of bounds for value {value}")]
    IndexOutOfBounds {
        /// The index.
        index: i64,
        /// The source value.
        value: String,
    },
    /// A target field was not found (or could not be created).
    #[error("unable to find{} field \"{field_path}\" in replacement target{}", if *.create { " or create" } else { "" }, reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    TargetField {
        /// The target field path.
        field_path: String,
        /// Whether `create` was set.
        create: bool,
        /// The underlying error, if any.
        reason: Option<String>,
    },
    /// The value does not fit the target's type (kustomize fails printing the resource).
    #[error("yaml: cannot decode {found} `{value}` as a {tag}")]
    TypeMismatch {
        /// The value's own type (`!!str`, `!!int`...).
        found: &'static str,
        /// The text.
        value: String,
        /// The target's type.
        tag: String,
    },
}

fn invalid(reason: impl Into<String>) -> ReplacementError {
    ReplacementError::Invalid {
        reason: reason.into(),
    }
}

/// `options` of a source or target.
#[derive(Debug, Clone, Default)]
struct Options {
    delimiter: String,
    index: i64,
    create: bool,
}

struct Source {
    id: ResId,
    field_path: String,
    options: Options,
}

struct TargetSelector {
    select: Selector,
    compiled: CompiledSelector,
    rejects: Vec<(Selector, CompiledSelector)>,
    field_paths: Vec<String>,
    options: Options,
}

struct Replacement {
    source: Source,
    targets: Vec<TargetSelector>,
}

/// The `path:` of a `replacements` entry, if it has one (the caller loads the file and gives
/// its content to [`replacements_from_file`]).
///
/// # Errors
/// `path` together with `source` or `targets`, or a `path` that is not a string.
pub fn replacement_path(entry: &Node) -> Result<Option<String>, ReplacementError> {
    let path = config_string(entry, "path").map_err(|t| invalid(format!("path must be a {t}")))?;
    match path {
        Some(p) if !p.is_empty() => {
            let has_inline = entry
                .get_ignore_case("source")
                .is_some_and(|n| !n.is_null())
                || entry
                    .get_ignore_case("targets")
                    .and_then(Node::as_seq)
                    .is_some_and(|t| !t.is_empty());
            if has_inline {
                Err(ReplacementError::PathAndInline)
            } else {
                Ok(Some(p))
            }
        }
        _ => Ok(None),
    }
}

/// The replacements of a `path:` file (its first document): a list of replacements or a
/// single one.
///
/// # Errors
/// A document that is neither a list nor a mapping.
pub fn replacements_from_file(root: &Node) -> Result<Vec<Node>, ReplacementError> {
    match &root.kind {
        NodeKind::Seq(items) => Ok(items.clone()),
        NodeKind::Map(_) => Ok(vec![root.clone()]),
        _ if root.is_null() => Err(ReplacementError::UnsupportedFile { found: "invalid" }),
        _ => Err(ReplacementError::UnsupportedFile { found: "string" }),
    }
}

/// Applies replacements in order (each sees the results of the previous ones), as kustomize's
/// replacement transformer does. `replacements` are inline entries (mappings with `source` and
/// `targets`), including those read from `path:` files.
///
/// # Errors
/// The first problem, see [`ReplacementError`]. Entries are all read before any is applied.
pub fn apply_replacements(
    resources: &mut [Resource],
    replacements: &[Node],
) -> Result<(), ReplacementError> {
    let parsed = replacements
        .iter()
        .map(parse_replacement)
        .collect::<Result<Vec<_>, _>>()?;
    for r in &parsed {
        let value = source_value(resources, &r.source)?;
        for target in &r.targets {
            apply_target(resources, &value, target)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reading entries.

fn parse_options(node: Option<&Node>) -> Result<Options, ReplacementError> {
    let Some(node) = node.filter(|n| !n.is_null()) else {
        return Ok(Options::default());
    };
    if node.as_map().is_none() {
        return Err(invalid("options must be a mapping"));
    }
    Ok(Options {
        delimiter: config_string(node, "delimiter")
            .map_err(|t| invalid(format!("options.delimiter must be a {t}")))?
            .unwrap_or_default(),
        index: config_int(node, "index")
            .map_err(|t| invalid(format!("options.index must be an {t}")))?,
        create: config_bool(node, "create")
            .map_err(|t| invalid(format!("options.create must be a {t}")))?,
    })
}

fn parse_selector(node: &Node) -> Result<(Selector, CompiledSelector), ReplacementError> {
    let s = Selector::from_node(node)?;
    let c = s.compile_label_selectors()?;
    Ok((s, c))
}

fn parse_replacement(node: &Node) -> Result<Replacement, ReplacementError> {
    if node.as_map().is_none() {
        return Err(invalid(format!(
            "a replacement must be a mapping, found a {}",
            node.kind_name()
        )));
    }
    if replacement_path(node)?.is_some() {
        return Err(invalid("replacement `path` must be loaded by the caller"));
    }
    let source = node.get_ignore_case("source").filter(|n| !n.is_null());
    let targets = node.get_ignore_case("targets").filter(|n| !n.is_null());
    let (Some(source), Some(targets)) = (source, targets) else {
        return Err(ReplacementError::MissingSourceOrTargets);
    };
    if source.as_map().is_none() {
        return Err(invalid("source must be a mapping"));
    }
    let s = |f: &str| {
        config_string(source, f)
            .map(Option::unwrap_or_default)
            .map_err(|t| invalid(format!("source.{f} must be a {t}")))
    };
    let field_path = s("fieldPath")?;
    let source = Source {
        id: ResId {
            gvk: Gvk {
                group: s("group")?,
                version: s("version")?,
                kind: s("kind")?,
            },
            name: s("name")?,
            namespace: s("namespace")?,
        },
        field_path: if field_path.is_empty() {
            DEFAULT_FIELD_PATH.to_owned()
        } else {
            field_path
        },
        options: parse_options(source.get_ignore_case("options"))?,
    };
    let Some(items) = targets.as_seq() else {
        return Err(invalid("targets must be a list"));
    };
    let targets = items
        .iter()
        .map(|t| {
            if t.as_map().is_none() {
                return Err(invalid("a target must be a mapping"));
            }
            let select = t
                .get_ignore_case("select")
                .filter(|n| !n.is_null())
                .ok_or(ReplacementError::MissingSelect)?;
            let (select, compiled) = parse_selector(select)?;
            let rejects = match t.get_ignore_case("reject") {
                None => Vec::new(),
                Some(r) if r.is_null() => Vec::new(),
                Some(r) => r
                    .as_seq()
                    .ok_or_else(|| invalid("reject must be a list"))?
                    .iter()
                    .filter(|n| !n.is_null())
                    .map(parse_selector)
                    .collect::<Result<Vec<_>, _>>()?,
            };
            let mut field_paths = config_strings(t, "fieldPaths")
                .map_err(|e| invalid(format!("fieldPaths must be a {e}")))?
                .unwrap_or_default();
            if field_paths.is_empty() {
                field_paths.push(DEFAULT_FIELD_PATH.to_owned());
            }
            Ok(TargetSelector {
                select,
                compiled,
                rejects,
                field_paths,
                options: parse_options(t.get_ignore_case("options"))?,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Replacement { source, targets })
}

// ---------------------------------------------------------------------------------------------
// Ids (kustomize's MakeResIds + ResId.IsSelectedBy: exact, scope-blind namespaces).

fn unscoped_ns(ns: &str) -> &str {
    if ns.is_empty() { "default" } else { ns }
}

fn id_selected(group: &str, version: &str, kind: &str, name: &str, ns: &str, sel: &ResId) -> bool {
    (sel.name.is_empty() || sel.name == name)
        && (sel.namespace.is_empty() || unscoped_ns(&sel.namespace) == unscoped_ns(ns))
        && (sel.gvk.group.is_empty() || sel.gvk.group == group)
        && (sel.gvk.version.is_empty() || sel.gvk.version == version)
        && (sel.gvk.kind.is_empty() || sel.gvk.kind == kind)
}

/// Whether the current id or any previous id of `r` is selected by `sel`.
fn any_id_selected(r: &Resource, sel: &ResId) -> bool {
    let api_version = r.api_version();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    if id_selected(group, version, r.kind(), r.name(), r.namespace(), sel) {
        return true;
    }
    r.previous.iter().any(|p| {
        // kustomize stored the effective namespace and rebuilds the id with the current
        // apiVersion and the previous kind.
        id_selected(
            group,
            version,
            &p.gvk.kind,
            &p.name,
            previous_effective_namespace(p),
            sel,
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Source.

/// The value to write: the source node and, with a source delimiter, the chosen part.
struct SourceValue {
    node: Node,
    refined: Option<String>,
}

impl SourceValue {
    /// The text a scalar target takes (a collection has none: `""`).
    fn text(&self) -> &str {
        match &self.refined {
            Some(t) => t,
            None => self.node.as_str().unwrap_or(""),
        }
    }

    /// The node a collection target is replaced with.
    fn whole(&self) -> Result<Node, ReplacementError> {
        match &self.refined {
            Some(t) => retext(&self.node, t.clone()),
            None => Ok(self.node.clone()),
        }
    }
}

fn source_value(resources: &[Resource], source: &Source) -> Result<SourceValue, ReplacementError> {
    let describe = || {
        let mut s = source.id.to_string();
        s.push(':');
        s.push_str(&source.field_path);
        s
    };
    let mut found: Option<&Resource> = None;
    for r in resources {
        if any_id_selected(r, &source.id) {
            if found.is_some() {
                return Err(ReplacementError::MultipleSources {
                    selector: describe(),
                });
            }
            found = Some(r);
        }
    }
    let r = found.ok_or_else(|| ReplacementError::NoSource {
        selector: describe(),
    })?;
    let path = split_path(&source.field_path);
    let node = lookup(&r.node, &path).map_err(|reason| ReplacementError::Lookup {
        field_path: source.field_path.clone(),
        reason,
    })?;
    let node = node.filter(|n| !is_nil_or_empty(n)).ok_or_else(|| {
        ReplacementError::SourceFieldMissing {
            field_path: source.field_path.clone(),
            source_id: source.id.to_string(),
        }
    })?;
    let opts = &source.options;
    if opts.delimiter.is_empty() {
        return Ok(SourceValue {
            node: node.clone(),
            refined: None,
        });
    }
    let Some(text) = node.as_str() else {
        return Err(ReplacementError::DelimiterOnCollection);
    };
    let part = usize::try_from(opts.index)
        .ok()
        .and_then(|i| text.split(opts.delimiter.as_str()).nth(i))
        .ok_or_else(|| ReplacementError::IndexOutOfBounds {
            index: opts.index,
            value: text.to_owned(),
        })?;
    Ok(SourceValue {
        node: node.clone(),
        refined: Some(part.to_owned()),
    })
}

/// kyaml's `IsNilOrEmpty`: null, `{}` or `[]`.
fn is_nil_or_empty(n: &Node) -> bool {
    match &n.kind {
        NodeKind::Scalar(_) => n.is_null(),
        NodeKind::Seq(items) => items.is_empty(),
        NodeKind::Map(entries) => entries.is_empty(),
    }
}

/// kyaml's `SmarterPathSplitter(path, ".")`: `\.` escapes a dot, a leading `.` is dropped, and
/// a bracketed part spanning dots is rejoined (its brackets kept only if it contains `=`).
fn split_path(path: &str) -> Vec<String> {
    let mut raw: Vec<&str> = path.split('.').collect();
    if raw.len() > 1 && raw.first() == Some(&"") {
        raw.remove(0);
    }
    let mut escaped: Vec<String> = Vec::with_capacity(raw.len());
    for part in raw {
        match escaped.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('.');
                last.push_str(part);
            }
            _ => escaped.push(part.to_owned()),
        }
    }
    let mut out = Vec::with_capacity(escaped.len());
    let mut i = 0;
    while i < escaped.len() {
        let elem = &escaped[i];
        if elem.starts_with('[') && !elem.ends_with(']') {
            let mut joined = elem.clone();
            while i + 1 < escaped.len() {
                i += 1;
                joined.push('.');
                joined.push_str(&escaped[i]);
                if escaped[i].ends_with(']') {
                    break;
                }
            }
            if joined.contains('=') {
                out.push(joined);
            } else {
                out.push(joined.trim_matches(|c| c == '[' || c == ']').to_owned());
            }
        } else {
            out.push(elem.clone());
        }
        i += 1;
    }
    out
}

fn is_list_index(p: &str) -> bool {
    p.starts_with('[') && p.ends_with(']')
}

/// Go's `strconv.Atoi` accepting only non-negative results (kyaml's `IsIdxNumber`).
fn idx_number(p: &str) -> Option<usize> {
    p.parse::<i64>()
        .ok()
        .filter(|i| *i >= 0)
        .and_then(|i| usize::try_from(i).ok())
}

fn split_name_value(p: &str) -> Result<(&str, &str), String> {
    let inner = p.strip_prefix('[').unwrap_or(p);
    let inner = inner.strip_suffix(']').unwrap_or(inner);
    inner.split_once('=').ok_or_else(|| {
        "list path element must contain fieldName=fieldValue for element to match".to_owned()
    })
}

fn wrong_kind(expected: &str, node: &Node) -> String {
    format!(
        "wrong node kind: expected {expected} but got {}",
        node.kind_name()
    )
}

/// kyaml's `PathGetter` without creation: `Ok(None)` when something is missing.
fn lookup<'n>(node: &'n Node, path: &[String]) -> Result<Option<&'n Node>, String> {
    let mut cur = node;
    for part in path.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let next = if let Ok(idx) = part.parse::<i64>() {
            if idx < 0 {
                return Err(format!("array index {idx} cannot be negative"));
            }
            match &cur.kind {
                NodeKind::Seq(items) => usize::try_from(idx).ok().and_then(|i| items.get(i)),
                _ if cur.is_null() => None,
                _ => return Err(wrong_kind("SequenceNode", cur)),
            }
        } else if part == "-" {
            match &cur.kind {
                NodeKind::Seq(items) => items.last(),
                _ if cur.is_null() => None,
                _ => return Err(wrong_kind("SequenceNode", cur)),
            }
        } else if part == "*" {
            return Err("wildcard is not supported in PathGetter".to_owned());
        } else if is_list_index(part) {
            let (name, value) = split_name_value(part)?;
            match &cur.kind {
                NodeKind::Seq(items) => items.iter().find(|item| {
                    if name.is_empty() {
                        item.as_str().unwrap_or("") == value
                    } else {
                        item.field(name)
                            .is_some_and(|f| f.as_str().unwrap_or("") == value)
                    }
                }),
                _ if cur.is_null() => None,
                _ => return Err(wrong_kind("SequenceNode", cur)),
            }
        } else {
            match &cur.kind {
                NodeKind::Map(_) => cur.field(part),
                _ if cur.is_null() => None,
                _ => return Err(wrong_kind("MappingNode", cur)),
            }
        };
        match next {
            Some(n) => cur = n,
            None => return Ok(None),
        }
    }
    Ok(Some(cur))
}

// ---------------------------------------------------------------------------------------------
// Targets.

fn apply_target(
    resources: &mut [Resource],
    value: &SourceValue,
    target: &TargetSelector,
) -> Result<(), ReplacementError> {
    let sel_id = target.select.res_id();
    for r in resources.iter_mut() {
        if !target.compiled.matches_labels_and_annotations(r) {
            continue;
        }
        let rejected_by_labels = target.rejects.iter().any(|(_, c)| {
            c.has_label_or_annotation_selector() && c.matches_labels_and_annotations(r)
        });
        if rejected_by_labels {
            continue;
        }
        if !any_id_selected(r, &sel_id) {
            continue;
        }
        let rejected_by_id = target.rejects.iter().any(|(s, _)| {
            let id = s.res_id();
            id != ResId::default() && any_id_selected(r, &id)
        });
        if rejected_by_id {
            continue;
        }
        for fp in &target.field_paths {
            copy_to_field(&mut r.node, value, fp, &target.options)?;
        }
    }
    Ok(())
}

/// What a created node is, from the next path part (kyaml's `getPathPartKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Scalar,
    Map,
    Seq,
}

fn part_kind(next: Option<&String>, leaf: Kind) -> Kind {
    match next {
        None => leaf,
        Some(n) if n.is_empty() => leaf,
        Some(n) if is_list_index(n) || idx_number(n).is_some() => Kind::Seq,
        Some(_) => Kind::Map,
    }
}

fn new_node(kind: Kind) -> Node {
    match kind {
        Kind::Scalar => Node::plain(""),
        Kind::Map => Node::map(),
        Kind::Seq => Node::seq(Vec::new()),
    }
}

/// A step from a node to a child: the n-th mapping entry's value or the n-th item.
#[derive(Debug, Clone, Copy)]
enum Step {
    Entry(usize),
    Item(usize),
}

/// One matched field: where it is and whether it was just created.
struct Hit {
    steps: Vec<Step>,
    fresh: bool,
}

struct Matcher<'a> {
    create: Option<Kind>,
    hits: Vec<Hit>,
    regexes: Vec<(&'a str, Regex)>,
}

impl<'a> Matcher<'a> {
    fn regex(&mut self, pattern: &'a str) -> Result<Regex, String> {
        if let Some((_, re)) = self.regexes.iter().find(|(p, _)| *p == pattern) {
            return Ok(re.clone());
        }
        let re = Regex::new(pattern).map_err(|e| e.to_string())?;
        self.regexes.push((pattern, re.clone()));
        Ok(re)
    }

    /// kyaml's `PathMatcher.filter`: records visible hits and returns how many fields were
    /// matched in all (including those created under a `null`, which kyaml loses).
    fn walk(
        &mut self,
        node: &mut Node,
        path: &'a [String],
        steps: &mut Vec<Step>,
        fresh: bool,
        visible: bool,
    ) -> Result<usize, String> {
        let Some((part, rest)) = path.split_first() else {
            if visible {
                self.hits.push(Hit {
                    steps: steps.clone(),
                    fresh,
                });
            }
            return Ok(1);
        };
        let next_kind = self.create.map(|leaf| part_kind(rest.first(), leaf));
        if let Some(idx) = idx_number(part) {
            if !node.is_seq() && !node.is_null() {
                return Err(wrong_kind("SequenceNode", node));
            }
            if node.is_null() {
                // No elements; kyaml appends a created element to the scalar, where it is lost.
                return match next_kind {
                    Some(k) if idx == 0 => {
                        self.walk(&mut new_node(k), rest, &mut Vec::new(), true, false)
                    }
                    _ => Err(format!("index {idx} specified but only 0 elements found")),
                };
            }
            let items = node.as_seq_mut().expect("checked: a sequence");
            let mut created = false;
            if let Some(k) = next_kind
                && items.len() == idx
            {
                items.push(new_node(k));
                created = true;
            }
            let len = items.len();
            let item = items
                .get_mut(idx)
                .ok_or_else(|| format!("index {idx} specified but only {len} elements found"))?;
            steps.push(Step::Item(idx));
            let n = self.walk(item, rest, steps, created, visible);
            steps.pop();
            return n;
        }
        if is_list_index(part) {
            let (name, pattern) = split_name_value(part)?;
            let re = self.regex(pattern)?;
            if !node.is_seq() && !node.is_null() {
                return Err(wrong_kind("SequenceNode", node));
            }
            let mut n = self.match_elements(node, name, &re, rest, steps, visible)?;
            if n == 0 && self.create.is_some() {
                let elem = if name.is_empty() {
                    Node::plain(pattern)
                } else {
                    Node::from_entries(vec![(Node::plain(name), Node::plain(pattern))])
                };
                match node.as_seq_mut() {
                    Some(items) => items.push(elem),
                    // Appended to a null scalar: lost, but kyaml carries on in the copy.
                    None => {
                        let mut detached = Node::seq(vec![elem]);
                        return self.match_elements(
                            &mut detached,
                            name,
                            &re,
                            rest,
                            &mut Vec::new(),
                            false,
                        );
                    }
                }
                n = self.match_elements(node, name, &re, rest, steps, visible)?;
                if n == 0 {
                    return Err(format!(
                        "created element {part} does not match its own pattern"
                    ));
                }
            }
            return Ok(n);
        }
        if part == "*" {
            let Some(items) = node.as_seq_mut() else {
                if node.is_null() {
                    return Ok(0);
                }
                return Err(wrong_kind("SequenceNode", node));
            };
            let mut n = 0;
            for (i, item) in items.iter_mut().enumerate() {
                steps.push(Step::Item(i));
                n += self.walk(item, rest, steps, false, visible)?;
                steps.pop();
            }
            return Ok(n);
        }
        // A field.
        if node.is_null() {
            return match next_kind {
                Some(k) => self.walk(&mut new_node(k), rest, &mut Vec::new(), true, false),
                None => Ok(0),
            };
        }
        let Some(entries) = node.as_map_mut() else {
            return Err(wrong_kind("MappingNode", node));
        };
        let (i, created) = match entries.iter().position(|(k, _)| k.as_str() == Some(part)) {
            Some(i) => (i, false),
            None => match next_kind {
                Some(k) => {
                    entries.push((Node::plain(part.clone()), new_node(k)));
                    (entries.len() - 1, true)
                }
                None => return Ok(0),
            },
        };
        steps.push(Step::Entry(i));
        let n = self.walk(&mut entries[i].1, rest, steps, created, visible);
        steps.pop();
        n
    }

    fn match_elements(
        &mut self,
        node: &mut Node,
        name: &str,
        re: &Regex,
        rest: &'a [String],
        steps: &mut Vec<Step>,
        visible: bool,
    ) -> Result<usize, String> {
        let Some(items) = node.as_seq_mut() else {
            return Ok(0);
        };
        let mut n = 0;
        for (i, item) in items.iter_mut().enumerate() {
            let text = if name.is_empty() {
                item.as_str()
            } else {
                item.field(name).and_then(Node::as_str)
            };
            if !text.is_some_and(|t| re.is_match(t.trim())) {
                continue;
            }
            steps.push(Step::Item(i));
            n += self.walk(item, rest, steps, false, visible)?;
            steps.pop();
        }
        Ok(n)
    }
}

fn follow<'n>(mut node: &'n mut Node, steps: &[Step]) -> Option<&'n mut Node> {
    for step in steps {
        node = match (step, &mut node.kind) {
            (Step::Entry(i), NodeKind::Map(entries)) => &mut entries.get_mut(*i)?.1,
            (Step::Item(i), NodeKind::Seq(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

fn copy_to_field(
    root: &mut Node,
    value: &SourceValue,
    field_path: &str,
    options: &Options,
) -> Result<(), ReplacementError> {
    let path = split_path(field_path);
    let create = options.create.then_some(match &value.node.kind {
        NodeKind::Scalar(_) => Kind::Scalar,
        NodeKind::Map(_) => Kind::Map,
        NodeKind::Seq(_) => Kind::Seq,
    });
    let fail = |reason: Option<String>| ReplacementError::TargetField {
        field_path: field_path.to_owned(),
        create: options.create,
        reason,
    };
    let mut matcher = Matcher {
        create,
        hits: Vec::new(),
        regexes: Vec::new(),
    };
    let count = matcher
        .walk(root, &path, &mut Vec::new(), false, true)
        .map_err(|e| fail(Some(e)))?;
    if count == 0 {
        return Err(fail(None));
    }
    for hit in &matcher.hits {
        let Some(target) = follow(root, &hit.steps) else {
            continue;
        };
        set_field(target, value, options, hit.fresh)?;
    }
    Ok(())
}

/// kyaml's `setFieldValue`.
fn set_field(
    target: &mut Node,
    value: &SourceValue,
    options: &Options,
    fresh: bool,
) -> Result<(), ReplacementError> {
    let text = if options.delimiter.is_empty() {
        value.text().to_owned()
    } else {
        let Some(current) = target.as_str() else {
            return Err(ReplacementError::DelimiterOnCollection);
        };
        let mut parts: Vec<&str> = current.split(options.delimiter.as_str()).collect();
        let v = value.text();
        match usize::try_from(options.index) {
            Err(_) => parts.insert(0, v),
            Ok(i) if i >= parts.len() => parts.push(v),
            Ok(i) => parts[i] = v,
        }
        parts.join(&options.delimiter)
    };
    if matches!(target.kind, NodeKind::Scalar(_)) {
        *target = if fresh {
            Node::plain(text)
        } else {
            retext(target, text)?
        };
    } else {
        *target = value.whole()?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Typing (kyaml keeps a scalar's resolved tag when only its text changes).

/// The tag go-yaml v3 gave a scalar when parsing (`!!str`, `!!int`, ... or the explicit tag).
fn kyaml_tag(node: &Node) -> Option<&str> {
    let NodeKind::Scalar(s) = &node.kind else {
        return None;
    };
    match node.tag.as_deref() {
        Some("!") | None if s.style != ScalarStyle::Plain => Some("!!str"),
        Some("!") | None => Some(plain_tag(&s.text, true)),
        Some(t) => Some(t),
    }
}

/// go-yaml v3's resolution of plain text to a tag; timestamps only when `timestamps`.
fn plain_tag(text: &str, timestamps: bool) -> &'static str {
    let scalar = crate::yaml::Scalar {
        text: text.to_owned(),
        style: ScalarStyle::Plain,
    };
    match scalar_value(None, &scalar) {
        KustomizeValue::Null => "!!null",
        KustomizeValue::Bool(_) => "!!bool",
        KustomizeValue::Int(_) | KustomizeValue::UInt(_) => "!!int",
        KustomizeValue::Float(_) => "!!float",
        KustomizeValue::Str(std::borrow::Cow::Owned(_)) if timestamps => "!!timestamp",
        KustomizeValue::Str(std::borrow::Cow::Owned(_)) => {
            // A timestamp read as something else: go-yaml tries numbers next, and a date is
            // none, so it is a string.
            "!!str"
        }
        KustomizeValue::Str(_) => "!!str",
    }
}

/// `like` with its text replaced by `text`, read as kyaml reads a node whose tag and style are
/// kept: a string stays a string, a typed scalar must still parse as its type.
fn retext(like: &Node, text: String) -> Result<Node, ReplacementError> {
    let NodeKind::Scalar(s) = &like.kind else {
        return Ok(Node::plain(text));
    };
    let style = s.style;
    let mut out = Node::scalar(text, style);
    out.tag = like.tag.clone();
    let Some(tag) = kyaml_tag(like) else {
        return Ok(out);
    };
    let text = out.as_str().unwrap_or_default();
    match tag {
        "!!str" if style == ScalarStyle::Plain && plain_tag(text, true) != "!!str" => {
            out.tag = Some("!!str".to_owned());
        }
        "!!int" | "!!float" | "!!bool" | "!!null" | "!!timestamp" => {
            let found = plain_tag(text, tag == "!!timestamp");
            let fits = found == tag || (tag == "!!float" && found == "!!int");
            if !fits {
                return Err(ReplacementError::TypeMismatch {
                    found,
                    value: text.to_owned(),
                    tag: tag.to_owned(),
                });
            }
            if found != tag {
                out.tag = Some(tag.to_owned());
            }
        }
        _ => {}
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::resource::Origin;
    use crate::yaml::{emit_node, parse_documents, parse_one};

    fn resources(text: &str) -> Vec<Resource> {
        parse_documents(text)
            .expect("valid yaml")
            .into_iter()
            .map(|d| Resource::new(d.root, Origin::default()))
            .collect()
    }

    fn entries(text: &str) -> Vec<Node> {
        let n = parse_one(text).expect("valid yaml").expect("document");
        n.as_seq().expect("a list").to_vec()
    }

    fn run(res: &str, repl: &str) -> Result<Vec<String>, ReplacementError> {
        let mut rs = resources(res);
        apply_replacements(&mut rs, &entries(repl))?;
        Ok(rs.iter().map(|r| emit_node(&r.node)).collect())
    }

    const RES: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: src
data:
  host: a.b.example.com
  num: \"5\"
  word: abc
  port: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.0
        env:
        - name: X
          value: plain
        - name: Y
          value:
      - name: app-sidecar
        image: busybox
      - name: other
        image: busybox
";

    #[test]
    fn typing_regex_lists_wildcards_create_and_delimiters() {
        // Checked against kubectl kustomize v5.5.0 (probe r1).
        let repl = "\
- source: {kind: ConfigMap, fieldPath: data.num}
  targets:
  - select: {kind: Deployment}
    fieldPaths:
    - spec.replicas
    - spec.template.spec.containers.[name=app].env.[name=X].value
    - spec.template.spec.containers.[name=app].image
- source: {kind: ConfigMap, fieldPath: data.port}
  targets:
  - select: {kind: Deployment}
    fieldPaths:
    - spec.template.spec.containers.*.ports.0.containerPort
    - spec.new.deep.0.x
    options: {create: true}
- source: {kind: ConfigMap, fieldPath: data.host, options: {delimiter: \".\", index: 1}}
  targets:
  - select: {kind: Deployment}
    fieldPaths:
    - spec.template.spec.containers.[name=app].image
    options: {delimiter: \":\", index: 5}
";
        let want = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  new:
    deep:
    - x: 8080
  replicas: 5
  template:
    spec:
      containers:
      - env:
        - name: X
          value: \"5\"
        - name: \"Y\"
          value: null
        image: 5:b
        name: app
        ports:
        - containerPort: 8080
      - image: 5:b
        name: app-sidecar
        ports:
        - containerPort: 8080
      - image: busybox
        name: other
        ports:
        - containerPort: 8080
";
        let out = run(RES, repl).expect("applies");
        assert_eq!(out[1], want);
    }

    #[test]
    fn type_mismatches_fail() {
        // Checked against kubectl kustomize v5.5.0: "cannot decode !!str `abc` as a !!int" and
        // "... as a !!null".
        let to_int = "- source: {kind: ConfigMap, fieldPath: data.word}\n  targets:\n  - select: {kind: Deployment}\n    fieldPaths: [spec.replicas]\n";
        assert!(matches!(
            run(RES, to_int),
            Err(ReplacementError::TypeMismatch { tag, .. }) if tag == "!!int"
        ));
        let to_null = "- source: {kind: ConfigMap, fieldPath: data.word}\n  targets:\n  - select: {kind: Deployment}\n    fieldPaths:\n    - spec.template.spec.containers.[name=app].env.[name=Y].value\n";
        assert!(matches!(
            run(RES, to_null),
            Err(ReplacementError::TypeMismatch { tag, .. }) if tag == "!!null"
        ));
    }

    #[test]
    fn create_through_null_is_lost() {
        // Checked against kubectl kustomize v5.5.0 (probe r1): the `app` container's null value
        // is left alone; `app-sidecar` (also matched by the unanchored regex) gets a new env.
        let repl = "- source: {kind: ConfigMap, fieldPath: data.word}\n  targets:\n  - select: {kind: Deployment}\n    fieldPaths:\n    - spec.template.spec.containers.[name=app].env.[name=Y].value.sub\n    options: {create: true}\n";
        let out = run(RES, repl).expect("applies");
        let want = "\
      containers:
      - env:
        - name: X
          value: plain
        - name: \"Y\"
          value: null
        image: nginx:1.0
        name: app
      - env:
        - name: \"Y\"
          value:
            sub: abc
        image: busybox
        name: app-sidecar
";
        assert!(out[1].contains(want), "{}", out[1]);
    }

    #[test]
    fn source_errors() {
        let missing = "- source: {kind: Secret}\n  targets:\n  - select: {kind: Deployment}\n";
        assert!(matches!(
            run(RES, missing),
            Err(ReplacementError::NoSource { .. })
        ));
        let many = "- source: {}\n  targets:\n  - select: {kind: Deployment}\n";
        assert!(matches!(
            run(RES, many),
            Err(ReplacementError::MultipleSources { .. })
        ));
        let field = "- source: {kind: ConfigMap, fieldPath: data.nope}\n  targets:\n  - select: {kind: Deployment}\n";
        assert!(matches!(
            run(RES, field),
            Err(ReplacementError::SourceFieldMissing { .. })
        ));
        let target = "- source: {kind: ConfigMap}\n  targets:\n  - select: {kind: Deployment}\n    fieldPaths: [spec.nope]\n";
        assert_eq!(
            run(RES, target).expect_err("missing").to_string(),
            "unable to find field \"spec.nope\" in replacement target"
        );
        let no_targets = "- source: {kind: ConfigMap}\n";
        assert_eq!(
            run(RES, no_targets).expect_err("no targets"),
            ReplacementError::MissingSourceOrTargets
        );
    }

    #[test]
    fn ids_previous_names_scope_blind_namespaces_and_rejects() {
        // Checked against kubectl kustomize v5.5.0 (probe r2, with `namePrefix: p-`): the
        // source is found by its name before the prefix; `namespace: default` selects the
        // Namespace object through its current id; rejects by labels and by id.
        let text = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: src
data:
  v: hello
---
apiVersion: v1
kind: Namespace
metadata:
  name: ns1
---
apiVersion: v1
kind: Service
metadata:
  name: svc
  labels: {skip: \"yes\"}
---
apiVersion: v1
kind: Service
metadata:
  name: svc2
  namespace: other
";
        let mut rs = resources(text);
        for r in &mut rs {
            r.store_previous_id();
            let name = format!("p-{}", r.name());
            r.set_name(&name);
        }
        let repl = "\
- source: {kind: ConfigMap, name: src}
  targets:
  - select: {namespace: default}
    reject:
    - {labelSelector: skip=yes}
    - {kind: ConfigMap}
    fieldPaths: [metadata.annotations.x]
    options: {create: true}
";
        apply_replacements(&mut rs, &entries(repl)).expect("applies");
        let out: Vec<String> = rs.iter().map(|r| emit_node(&r.node)).collect();
        assert_eq!(
            out[1],
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  annotations:\n    x: p-src\n  name: p-ns1\n"
        );
        assert!(!out[0].contains("annotations"));
        assert!(!out[2].contains("annotations"));
        assert!(!out[3].contains("annotations"));
    }

    #[test]
    fn cert_manager_style_bracketed_keys_with_delimiters() {
        // Checked against kubectl kustomize v5.5.0 (probe r3, the kubebuilder pattern).
        let text = "\
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: serving-cert
  namespace: system
spec:
  dnsNames:
  - SERVICE_NAME.SERVICE_NAMESPACE.svc
---
apiVersion: v1
kind: Service
metadata:
  name: webhook-service
  namespace: system
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: vwh
";
        let repl = "\
- source: {kind: Certificate, group: cert-manager.io, version: v1, name: serving-cert, fieldPath: .metadata.namespace}
  targets:
  - select: {kind: ValidatingWebhookConfiguration}
    fieldPaths:
    - .metadata.annotations.[cert-manager.io/inject-ca-from]
    options: {delimiter: '/', index: 0, create: true}
- source: {kind: Certificate, name: serving-cert, fieldPath: .metadata.name}
  targets:
  - select: {kind: ValidatingWebhookConfiguration}
    fieldPaths:
    - .metadata.annotations.[cert-manager.io/inject-ca-from]
    options: {delimiter: '/', index: 1, create: true}
- source: {kind: Service, fieldPath: .metadata.name}
  targets:
  - select: {kind: Certificate}
    fieldPaths: [.spec.dnsNames.0]
    options: {delimiter: '.', index: 0, create: true}
";
        let out = run(text, repl).expect("applies");
        assert_eq!(
            out[0],
            "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: serving-cert\n  namespace: system\nspec:\n  dnsNames:\n  - webhook-service.SERVICE_NAMESPACE.svc\n"
        );
        assert_eq!(
            out[2],
            "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  annotations:\n    cert-manager.io/inject-ca-from: system/serving-cert\n  name: vwh\n"
        );
    }

    #[test]
    fn path_splitting() {
        assert_eq!(split_path(".metadata.name"), ["metadata", "name"]);
        assert_eq!(
            split_path("metadata.annotations.[cert-manager.io/inject-ca-from]"),
            ["metadata", "annotations", "cert-manager.io/inject-ca-from"]
        );
        assert_eq!(
            split_path("spec.containers.[name=a.b].image"),
            ["spec", "containers", "[name=a.b]", "image"]
        );
        assert_eq!(
            split_path("metadata.labels.postgres-operator\\.crunchydata\\.com/pguser"),
            [
                "metadata",
                "labels",
                "postgres-operator.crunchydata.com/pguser"
            ]
        );
    }
}
