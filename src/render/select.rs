//! Choosing resources: kustomize's `types.Selector` as `patches[].target` uses it
//! (`ResMap.Select`), and the Kubernetes label selector language shared with `replacements`.
//!
//! This module owns:
//! - reading a selector from a kustomization node ([`Selector::from_node`]: field names matched
//!   case-insensitively like Go's `encoding/json`, values read as sigs.k8s.io/yaml does);
//! - compiling it once ([`Selector::compile`]) and matching resources
//!   ([`CompiledSelector::matches`]): `group`, `version`, `kind`, `name` and `namespace` are
//!   regular expressions anchored to the whole value (`^(?:p)$`), an empty or absent field
//!   matches everything; `name` and `namespace` match if either the original id (the oldest
//!   previous id) or the current id matches; namespaces are compared in kustomize's "effective"
//!   form (`default` for an unset namespace, `_non_namespaceable_` for cluster-scoped kinds);
//!   the kind is matched against the current group/version/kind only;
//! - label selector parsing and matching ([`LabelSelector`]), exactly as the k8s `labels.Parse`
//!   copy in kyaml (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`,
//!   `a<1`, comma-separated; keys and values validated);
//! - small helpers reading typed fields of kustomize config nodes, shared with `replacements`.
//!
//! It does not own replacements' own id matching (exact, over every previous id; see
//! `render::replacements`), nor applying patches to what is selected.

use std::fmt;

use regex::Regex;

use crate::render::resource::{Gvk, ResId, Resource};
use crate::yaml::{Node, NodeKind};

/// Namespace kustomize gives ids of cluster-scoped kinds when comparing namespaces.
const NOT_A_NAMESPACE: &str = "_non_namespaceable_";
/// Namespace an unset namespace counts as.
const DEFAULT_NAMESPACE: &str = "default";

/// Why a selector could not be read or compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// The selector is not a mapping.
    #[error("selector must be a mapping, found a {found}")]
    NotAMap {
        /// What was found instead.
        found: &'static str,
    },
    /// A field holds a value of the wrong type (kustomize: `cannot unmarshal ... into Go struct
    /// field`).
    #[error("selector field `{field}` must be a {expected}")]
    FieldType {
        /// The field name.
        field: String,
        /// The expected type.
        expected: &'static str,
    },
    /// A regular expression does not compile.
    #[error("invalid regular expression `{pattern}` in selector field `{field}`: {reason}")]
    Regex {
        /// `group`, `version`, `kind`, `name` or `namespace`.
        field: &'static str,
        /// The pattern as written.
        pattern: String,
        /// The regex engine's message.
        reason: String,
    },
    /// A label or annotation selector does not parse.
    #[error("invalid {field} `{selector}`: {reason}")]
    LabelSelector {
        /// `labelSelector` or `annotationSelector`.
        field: &'static str,
        /// The selector text.
        selector: String,
        /// What is wrong, in the words of the k8s parser.
        reason: String,
    },
}

/// kustomize's `types.Selector`: which resources a patch applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// group/version/kind patterns (regular expressions; empty matches all).
    pub gvk: Gvk,
    /// Name pattern.
    pub name: Option<String>,
    /// Namespace pattern.
    pub namespace: Option<String>,
    /// Label selector (`app=web,tier!=db`).
    pub label_selector: Option<String>,
    /// Annotation selector, same syntax, matched against annotations.
    pub annotation_selector: Option<String>,
}

impl Selector {
    /// Reads a selector mapping (`patches[].target`, `replacements[].targets[].select`). Field
    /// names are matched case-insensitively (Go `encoding/json`); unknown fields are ignored;
    /// `null` counts as absent; values must be strings.
    ///
    /// # Errors
    /// [`SelectError::NotAMap`] or [`SelectError::FieldType`].
    pub fn from_node(node: &Node) -> Result<Selector, SelectError> {
        if node.is_null() {
            return Ok(Selector::default());
        }
        if node.as_map().is_none() {
            return Err(SelectError::NotAMap {
                found: node.kind_name(),
            });
        }
        let get = |field: &str| {
            config_string(node, field).map_err(|expected| SelectError::FieldType {
                field: field.to_owned(),
                expected,
            })
        };
        Ok(Selector {
            gvk: Gvk {
                group: get("group")?.unwrap_or_default(),
                version: get("version")?.unwrap_or_default(),
                kind: get("kind")?.unwrap_or_default(),
            },
            name: get("name")?,
            namespace: get("namespace")?,
            label_selector: get("labelSelector")?,
            annotation_selector: get("annotationSelector")?,
        })
    }

    /// The id part (group/version/kind, name, namespace) as a [`ResId`], empty fields unset.
    #[must_use]
    pub fn res_id(&self) -> ResId {
        ResId {
            gvk: self.gvk.clone(),
            name: self.name.clone().unwrap_or_default(),
            namespace: self.namespace.clone().unwrap_or_default(),
        }
    }

    /// Compiles the patterns and label selectors once, for matching many resources.
    ///
    /// # Errors
    /// A pattern that is not a valid regular expression, or a label/annotation selector that
    /// does not parse.
    pub fn compile(&self) -> Result<CompiledSelector, SelectError> {
        Ok(CompiledSelector {
            group: anchored("group", &self.gvk.group)?,
            version: anchored("version", &self.gvk.version)?,
            kind: anchored("kind", &self.gvk.kind)?,
            name: anchored("name", self.name.as_deref().unwrap_or(""))?,
            namespace: anchored("namespace", self.namespace.as_deref().unwrap_or(""))?,
            labels: LabelSelector::parse_field(
                "labelSelector",
                self.label_selector.as_deref().unwrap_or(""),
            )?,
            annotations: LabelSelector::parse_field(
                "annotationSelector",
                self.annotation_selector.as_deref().unwrap_or(""),
            )?,
        })
    }
}

impl Selector {
    /// Compiles only the label and annotation selectors (ids are then matched exactly by the
    /// caller, as `replacements` does); the id patterns are not compiled as regexes, so they
    /// match everything here.
    ///
    /// # Errors
    /// A label or annotation selector that does not parse.
    pub fn compile_label_selectors(&self) -> Result<CompiledSelector, SelectError> {
        Ok(CompiledSelector {
            group: None,
            version: None,
            kind: None,
            name: None,
            namespace: None,
            labels: LabelSelector::parse_field(
                "labelSelector",
                self.label_selector.as_deref().unwrap_or(""),
            )?,
            annotations: LabelSelector::parse_field(
                "annotationSelector",
                self.annotation_selector.as_deref().unwrap_or(""),
            )?,
        })
    }
}

impl fmt::Display for Selector {
    /// kustomize's `Selector.String()` shape: `<id>:a=<annotations>:l=<labels>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:a={}:l={}",
            self.res_id(),
            self.annotation_selector.as_deref().unwrap_or(""),
            self.label_selector.as_deref().unwrap_or("")
        )
    }
}

/// `^(?:pattern)$`, or `None` for an empty pattern (matches everything).
fn anchored(field: &'static str, pattern: &str) -> Result<Option<Regex>, SelectError> {
    if pattern.is_empty() {
        return Ok(None);
    }
    Regex::new(&format!("^(?:{pattern})$"))
        .map(Some)
        .map_err(|e| SelectError::Regex {
            field,
            pattern: pattern.to_owned(),
            reason: e.to_string(),
        })
}

fn is_match(re: Option<&Regex>, value: &str) -> bool {
    re.is_none_or(|re| re.is_match(value))
}

/// A [`Selector`] ready to match resources.
#[derive(Debug, Clone)]
pub struct CompiledSelector {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: LabelSelector,
    annotations: LabelSelector,
}

impl CompiledSelector {
    /// Whether `r` is selected, as kustomize's `ResMap.Select`.
    #[must_use]
    pub fn matches(&self, r: &Resource) -> bool {
        let cur = r.cur_id();
        let org = r.previous.first();
        if let Some(ns) = &self.namespace {
            let org_match = org.is_some_and(|o| ns.is_match(effective_namespace(o, true)));
            if !org_match && !ns.is_match(effective_namespace(&cur, true)) {
                return false;
            }
        }
        if let Some(name) = &self.name {
            let org_match = org.is_some_and(|o| name.is_match(&o.name));
            if !org_match && !name.is_match(&cur.name) {
                return false;
            }
        }
        is_match(self.group.as_ref(), &cur.gvk.group)
            && is_match(self.version.as_ref(), &cur.gvk.version)
            && is_match(self.kind.as_ref(), &cur.gvk.kind)
            && self.labels.matches(&|k| meta_value(&r.node, "labels", k))
            && self
                .annotations
                .matches(&|k| meta_value(&r.node, "annotations", k))
    }

    /// Whether the label and annotation selectors match (the part of a selector that
    /// `replacements` checks separately from ids).
    #[must_use]
    pub fn matches_labels_and_annotations(&self, r: &Resource) -> bool {
        self.labels.matches(&|k| meta_value(&r.node, "labels", k))
            && self
                .annotations
                .matches(&|k| meta_value(&r.node, "annotations", k))
    }

    /// Whether the selector has a label or an annotation selector.
    #[must_use]
    pub fn has_label_or_annotation_selector(&self) -> bool {
        !self.labels.is_empty() || !self.annotations.is_empty()
    }
}

/// kustomize's `ResId.EffectiveNamespace`: `_non_namespaceable_` for a cluster-scoped kind
/// (when `scoped` and the kind is known to be cluster-scoped), `default` for no namespace or
/// `default`, else the namespace.
///
/// Ids rebuilt from kustomize's bookkeeping annotations (replacements' view) never know their
/// scope: pass `scoped = false` there; but a previous id of a cluster-scoped object was stored
/// as `_non_namespaceable_`, which [`previous_effective_namespace`] reproduces.
#[must_use]
pub fn effective_namespace(id: &ResId, scoped: bool) -> &str {
    if scoped && id.is_cluster_scoped() {
        NOT_A_NAMESPACE
    } else if id.namespace.is_empty() || id.namespace == DEFAULT_NAMESPACE {
        DEFAULT_NAMESPACE
    } else {
        &id.namespace
    }
}

/// The namespace kustomize recorded for a previous id (it stores the effective namespace).
#[must_use]
pub fn previous_effective_namespace(id: &ResId) -> &str {
    effective_namespace(id, true)
}

/// The text of `metadata.<field>.<key>` (kyaml's `GetLabels`/`GetAnnotations`: the scalar's
/// text, empty for a non-scalar), `None` if absent.
fn meta_value<'n>(node: &'n Node, field: &str, key: &str) -> Option<&'n str> {
    let map = node.field("metadata")?.field(field)?;
    let value = map.field(key)?;
    Some(value.as_str().unwrap_or(""))
}

// ---------------------------------------------------------------------------------------------
// Label selectors.

/// A parsed label selector: requirements that must all hold. Empty selects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Op,
    values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    End,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
    Identifier(String),
    Error(String),
}

impl Token {
    fn literal(&self) -> &str {
        match self {
            Token::End => "",
            Token::ClosedPar => ")",
            Token::Comma => ",",
            Token::DoesNotExist => "!",
            Token::DoubleEquals => "==",
            Token::Equals => "=",
            Token::GreaterThan => ">",
            Token::In => "in",
            Token::LessThan => "<",
            Token::NotEquals => "!=",
            Token::NotIn => "notin",
            Token::OpenPar => "(",
            Token::Identifier(s) | Token::Error(s) => s,
        }
    }

    /// In value position `in` and `notin` are plain identifiers.
    fn into_value(self) -> Token {
        match self {
            Token::In => Token::Identifier("in".to_owned()),
            Token::NotIn => Token::Identifier("notin".to_owned()),
            t => t,
        }
    }
}

fn is_special(c: u8) -> bool {
    matches!(c, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn symbol_token(s: &[u8]) -> Option<Token> {
    Some(match s {
        b")" => Token::ClosedPar,
        b"," => Token::Comma,
        b"!" => Token::DoesNotExist,
        b"==" => Token::DoubleEquals,
        b"=" => Token::Equals,
        b">" => Token::GreaterThan,
        b"<" => Token::LessThan,
        b"!=" => Token::NotEquals,
        b"(" => Token::OpenPar,
        _ => return None,
    })
}

/// The k8s selector lexer: identifiers run until whitespace or a special character; special
/// characters combine greedily while they form a known operator.
fn lex(s: &str) -> Vec<Token> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    loop {
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            out.push(Token::End);
            return out;
        }
        if is_special(b[i]) {
            let start = i;
            let mut last: Option<(Token, usize)> = None;
            while i < b.len() && is_special(b[i]) {
                match symbol_token(&b[start..=i]) {
                    Some(t) => {
                        last = Some((t, i + 1));
                        i += 1;
                    }
                    None if last.is_some() => break,
                    None => i += 1,
                }
            }
            match last {
                Some((t, end)) => {
                    i = end;
                    out.push(t);
                }
                None => {
                    let text = String::from_utf8_lossy(&b[start..i]);
                    out.push(Token::Error(format!(
                        "error expected: keyword found '{text}'"
                    )));
                }
            }
        } else {
            let start = i;
            while i < b.len() && !is_special(b[i]) && !is_space(b[i]) {
                i += 1;
            }
            // Identifiers end at ASCII bytes, so the slice is on char boundaries.
            let word = s.get(start..i).unwrap_or_default();
            out.push(match word {
                "in" => Token::In,
                "notin" => Token::NotIn,
                w => Token::Identifier(w.to_owned()),
            });
        }
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn lookahead(&self) -> Token {
        self.tokens
            .get(self.pos)
            .cloned()
            .unwrap_or(Token::End)
            .into_value()
    }

    /// The next token; `values` turns `in`/`notin` into identifiers.
    fn consume(&mut self, values: bool) -> Token {
        let t = self.tokens.get(self.pos).cloned().unwrap_or(Token::End);
        self.pos += 1;
        if values { t.into_value() } else { t }
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut reqs = Vec::new();
        loop {
            match self.lookahead() {
                Token::Identifier(_) | Token::DoesNotExist => {
                    let r = self
                        .requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    reqs.push(r);
                    match self.consume(true) {
                        Token::End => return Ok(reqs),
                        Token::Comma => match self.lookahead() {
                            Token::Identifier(_) | Token::DoesNotExist => {}
                            t => {
                                return Err(format!(
                                    "found '{}', expected: identifier after ','",
                                    t.literal()
                                ));
                            }
                        },
                        t => {
                            return Err(format!(
                                "found '{}', expected: ',' or 'end of string'",
                                t.literal()
                            ));
                        }
                    }
                }
                Token::End => return Ok(reqs),
                t => {
                    return Err(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        t.literal()
                    ));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let mut negated = false;
        let mut tok = self.consume(true);
        if tok == Token::DoesNotExist {
            negated = true;
            tok = self.consume(true);
        }
        let Token::Identifier(key) = tok else {
            return Err(format!("found '{}', expected: identifier", tok.literal()));
        };
        validate_key(&key)?;
        if matches!(self.lookahead(), Token::End | Token::Comma) || negated {
            let op = if negated {
                Op::DoesNotExist
            } else {
                Op::Exists
            };
            return Ok(Requirement {
                key,
                op,
                values: Vec::new(),
            });
        }
        let (op, single) = match self.consume(false) {
            Token::In => (Op::In, false),
            Token::NotIn => (Op::NotIn, false),
            Token::Equals | Token::DoubleEquals => (Op::In, true),
            Token::NotEquals => (Op::NotIn, true),
            Token::GreaterThan => (Op::GreaterThan, true),
            Token::LessThan => (Op::LessThan, true),
            t => {
                return Err(format!(
                    "found '{}', expected: '=', '!=', '==', 'in', notin'",
                    t.literal()
                ));
            }
        };
        // `single` marks the operators taking one value.
        let mut values = if single {
            self.exact_value()?
        } else {
            self.value_set()?
        };
        values.sort();
        values.dedup();
        if matches!(op, Op::GreaterThan | Op::LessThan)
            && values.iter().any(|v| v.parse::<i64>().is_err())
        {
            return Err("for 'Gt', 'Lt' operators, the value must be an integer".to_owned());
        }
        for v in &values {
            validate_value(&key, v)?;
        }
        Ok(Requirement { key, op, values })
    }

    fn exact_value(&mut self) -> Result<Vec<String>, String> {
        if matches!(self.lookahead(), Token::End | Token::Comma) {
            return Ok(vec![String::new()]);
        }
        match self.consume(true) {
            Token::Identifier(v) => Ok(vec![v]),
            t => Err(format!("found '{}', expected: identifier", t.literal())),
        }
    }

    fn value_set(&mut self) -> Result<Vec<String>, String> {
        let t = self.consume(true);
        if t != Token::OpenPar {
            return Err(format!("found '{}' expected: '('", t.literal()));
        }
        let look = self.lookahead();
        match look {
            Token::Identifier(_) | Token::Comma => {
                let set = self.identifiers()?;
                if self.consume(true) != Token::ClosedPar {
                    return Err(format!("found '{}', expected: ')'", look.literal()));
                }
                Ok(set)
            }
            Token::ClosedPar => {
                self.consume(true);
                Ok(vec![String::new()])
            }
            t => Err(format!(
                "found '{}', expected: ',', ')' or identifier",
                t.literal()
            )),
        }
    }

    fn identifiers(&mut self) -> Result<Vec<String>, String> {
        let mut set: Vec<String> = Vec::new();
        loop {
            match self.consume(true) {
                Token::Identifier(v) => {
                    set.push(v);
                    match self.lookahead() {
                        Token::Comma => {}
                        Token::ClosedPar => return Ok(set),
                        t => {
                            return Err(format!("found '{}', expected: ',' or ')'", t.literal()));
                        }
                    }
                }
                Token::Comma => {
                    if set.is_empty() {
                        set.push(String::new());
                    }
                    match self.lookahead() {
                        Token::ClosedPar => {
                            set.push(String::new());
                            return Ok(set);
                        }
                        Token::Comma => {
                            self.consume(true);
                            set.push(String::new());
                        }
                        _ => {}
                    }
                }
                t => {
                    return Err(format!(
                        "found '{}', expected: ',', or identifier",
                        t.literal()
                    ));
                }
            }
        }
    }
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// RFC 1123 subdomain: at most 253 characters of lowercase alphanumerics, `-` and `.`, each
/// dot-separated label starting and ending with an alphanumeric.
fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            match (b.first(), b.last()) {
                (Some(f), Some(l)) => {
                    (f.is_ascii_lowercase() || f.is_ascii_digit())
                        && (l.is_ascii_lowercase() || l.is_ascii_digit())
                        && b.iter()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                }
                _ => false,
            }
        })
}

fn validate_key(key: &str) -> Result<(), String> {
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() || !is_dns1123_subdomain(prefix) {
                return Err(format!(
                    "invalid label key \"{key}\": prefix part is invalid"
                ));
            }
            *name
        }
        _ => {
            return Err(format!(
                "invalid label key \"{key}\": a qualified name is invalid"
            ));
        }
    };
    if name.len() > 63 || !is_qualified_name_part(name) {
        return Err(format!("invalid label key \"{key}\": name part is invalid"));
    }
    Ok(())
}

fn validate_value(key: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || (value.len() <= 63 && is_qualified_name_part(value)) {
        Ok(())
    } else {
        Err(format!(
            "invalid label value: \"{value}\": at key: \"{key}\": a valid label must be an empty \
             string or consist of alphanumeric characters, '-', '_' or '.', and must start and \
             end with an alphanumeric character"
        ))
    }
}

impl LabelSelector {
    /// Parses a selector (`""` selects everything).
    ///
    /// # Errors
    /// The k8s parser's message for text that is not a valid selector.
    pub fn parse(text: &str) -> Result<LabelSelector, String> {
        let mut parser = Parser {
            tokens: lex(text),
            pos: 0,
        };
        let mut requirements = parser.parse()?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements })
    }

    fn parse_field(field: &'static str, text: &str) -> Result<LabelSelector, SelectError> {
        LabelSelector::parse(text).map_err(|reason| SelectError::LabelSelector {
            field,
            selector: text.to_owned(),
            reason,
        })
    }

    /// Whether there are no requirements.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether the labels given by `get` (value of a key, `None` when absent) satisfy every
    /// requirement.
    pub fn matches<'a>(&self, get: &dyn Fn(&str) -> Option<&'a str>) -> bool {
        self.requirements.iter().all(|r| {
            let value = get(&r.key);
            match r.op {
                Op::In => value.is_some_and(|v| r.values.iter().any(|x| x == v)),
                Op::NotIn => value.is_none_or(|v| !r.values.iter().any(|x| x == v)),
                Op::Exists => value.is_some(),
                Op::DoesNotExist => value.is_none(),
                Op::GreaterThan | Op::LessThan => {
                    let Some(Ok(have)) = value.map(str::parse::<i64>) else {
                        return false;
                    };
                    let Some(Ok(want)) = r.values.first().map(|v| v.parse::<i64>()) else {
                        return false;
                    };
                    if r.op == Op::GreaterThan {
                        have > want
                    } else {
                        have < want
                    }
                }
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Reading kustomize config fields (sigs.k8s.io/yaml: YAML → JSON with go-yaml v2's reading, then
// Go `encoding/json` into a struct: case-insensitive field names, `null` leaves the zero value).

/// The string at `field`, `None` when absent or null.
///
/// # Errors
/// `"string"` when the value is not a string (a number, a boolean, `yes`, a collection).
pub(crate) fn config_string(node: &Node, field: &str) -> Result<Option<String>, &'static str> {
    match node.get_ignore_case(field) {
        None => Ok(None),
        Some(v) => match v.to_json() {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::String(s) => Ok(Some(s)),
            _ => Err("string"),
        },
    }
}

/// The boolean at `field` (`false` when absent or null).
///
/// # Errors
/// `"boolean"` when the value is not a boolean.
pub(crate) fn config_bool(node: &Node, field: &str) -> Result<bool, &'static str> {
    match node.get_ignore_case(field).map(Node::to_json) {
        None | Some(serde_json::Value::Null) => Ok(false),
        Some(serde_json::Value::Bool(b)) => Ok(b),
        Some(_) => Err("boolean"),
    }
}

/// The integer at `field` (0 when absent or null); a whole float (`1.0`) is accepted, as the
/// JSON round trip writes it without a fraction.
///
/// # Errors
/// `"integer"` when the value is not a whole number.
pub(crate) fn config_int(node: &Node, field: &str) -> Result<i64, &'static str> {
    match node.get_ignore_case(field).map(Node::to_json) {
        None | Some(serde_json::Value::Null) => Ok(0),
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                    .map(|f| f as i64)
            })
            .ok_or("integer"),
        Some(_) => Err("integer"),
    }
}

/// The strings of the sequence at `field` (`None` when absent or null).
///
/// # Errors
/// `"list of strings"` when the value is not a sequence of strings.
pub(crate) fn config_strings(
    node: &Node,
    field: &str,
) -> Result<Option<Vec<String>>, &'static str> {
    let Some(v) = node.get_ignore_case(field) else {
        return Ok(None);
    };
    match &v.kind {
        NodeKind::Seq(items) => items
            .iter()
            .map(|i| match i.to_json() {
                serde_json::Value::String(s) => Ok(s),
                // Go leaves a null item as the zero value.
                serde_json::Value::Null => Ok(String::new()),
                _ => Err("list of strings"),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ if v.is_null() => Ok(None),
        _ => Err("list of strings"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::resource::Origin;
    use crate::yaml::parse_one;

    fn node(text: &str) -> Node {
        parse_one(text).expect("valid yaml").expect("one document")
    }

    fn res(text: &str) -> Resource {
        Resource::new(node(text), Origin::default())
    }

    fn sel(text: &str) -> CompiledSelector {
        Selector::from_node(&node(text))
            .expect("selector")
            .compile()
            .expect("compiles")
    }

    const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n    app: web\n    tier: front\n  annotations:\n    team: a\n";
    const NS: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n";

    #[test]
    fn regex_fields_are_anchored_and_empty_matches_all() {
        let d = res(DEPLOY);
        assert!(sel("kind: Deployment").matches(&d));
        assert!(sel("kind: Deploy.*").matches(&d));
        assert!(!sel("kind: Deploy").matches(&d));
        assert!(sel("name: we|web").matches(&d));
        assert!(sel("group: apps\nversion: v1").matches(&d));
        assert!(!sel("group: ''\nversion: v2").matches(&d));
        assert!(sel("{}").matches(&d));
        // Field names are case-insensitive.
        assert!(!sel("KIND: Service").matches(&d));
    }

    #[test]
    fn namespace_matching_uses_effective_namespaces() {
        // Checked against kubectl kustomize v5.5.0: `namespace: default` selects objects without
        // a namespace; cluster-scoped objects only match `_non_namespaceable_`.
        let d = res(DEPLOY);
        assert!(sel("namespace: default").matches(&d));
        assert!(!sel("namespace: other").matches(&d));
        let n = res(NS);
        assert!(!sel("namespace: default").matches(&n));
        assert!(sel("namespace: _non_namespaceable_").matches(&n));
    }

    #[test]
    fn name_matches_original_or_current() {
        let mut d = res(DEPLOY);
        d.store_previous_id();
        d.set_name("pre-web");
        assert!(sel("name: web").matches(&d));
        assert!(sel("name: pre-web").matches(&d));
        assert!(!sel("name: pre").matches(&d));
    }

    #[test]
    fn label_and_annotation_selectors() {
        let d = res(DEPLOY);
        for (s, want) in [
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app!=db", true),
            ("missing!=x", true),
            ("app in (x, web)", true),
            ("app notin (web)", false),
            ("tier", true),
            ("!tier", false),
            ("!missing", true),
            ("app=web,tier=front", true),
            ("app=web,tier=back", false),
            ("app in (in,notin)", false),
            ("", true),
        ] {
            assert_eq!(
                sel(&format!("labelSelector: '{s}'")).matches(&d),
                want,
                "{s}"
            );
        }
        assert!(sel("annotationSelector: team=a").matches(&d));
        assert!(!sel("annotationSelector: team=b").matches(&d));
    }

    #[test]
    fn bad_selectors_are_errors() {
        for s in [
            "app=", "=x", "a in x", "a b", "a=b c", "a,", "-a=b", "a=-b", "a>b",
        ] {
            let r = LabelSelector::parse(s);
            if s == "app=" {
                assert!(r.is_ok(), "{s}: empty value is allowed");
            } else {
                assert!(r.is_err(), "{s}");
            }
        }
        let s = Selector::from_node(&node("name: '('")).expect("reads");
        assert!(matches!(s.compile(), Err(SelectError::Regex { .. })));
        assert!(matches!(
            Selector::from_node(&node("name: 1")),
            Err(SelectError::FieldType { .. })
        ));
    }
}
