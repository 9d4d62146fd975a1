//! Validation of rendered output: every resource an environment deploys, checked against the
//! schemas of the environment's Kubernetes version and of the CustomResourceDefinitions it can
//! see, plus the invariants of a deployable environment.
//!
//! This module owns:
//! - [`validate_rendered`], a pure function from the project settings, the parsed schema files
//!   and the rendered apps to diagnostics (codes `KLN04xx`); `kiln compile` and `kiln check`
//!   call it after rendering;
//! - [`Checker`], the per-resource checks shared with `kiln validate FILE`: identity
//!   (`apiVersion`, `kind`, `metadata.name`), removed and deprecated APIs, schema violations
//!   with the field's source position, custom resources without schema;
//! - which CRDs an environment's schemas include (its own rendered CRDs, then the schema files
//!   of `kiln.yaml`, then the CRDs other rendered environments define), and sharing one
//!   compiled [`SchemaSet`] between environments whose version and CRDs are the same;
//! - the invariants of an environment: unique group/kind/namespace/name across apps, a
//!   namespace on every namespaced resource, references from workloads to ConfigMaps, Secrets,
//!   ServiceAccounts and PVCs that are rendered nowhere (warnings);
//! - reading the `schemas:` files of `kiln.yaml` ([`SchemaFiles::load`], the only I/O here,
//!   kept apart from the checks).
//!
//! It does not own the schema engine ([`super::schema`]), rendering ([`crate::render`]), or
//! printing diagnostics. A Secret's values never appear in a message: its diagnostics are
//! marked sensitive and say where, not what.

use std::collections::{BTreeMap, HashMap, HashSet};

use rayon::prelude::*;
use serde_json::Value;

use crate::diagnostics::{Code, Diagnostic, Severity, SourceLookup, Span};
use crate::load::Loader;
use crate::project::{PROJECT_FILE, Project, UnknownCustomResources};
use crate::render::Resource;
use crate::render::resource::CLUSTER_SCOPED_KINDS;
use crate::validate::schema::{
    ApiStatus, CrdAdded, CrdError, SchemaError, SchemaSet, ValidateError, Violation, api_status,
    supported_versions,
};
use crate::yaml::{Node, NodeKind, ScalarStyle};

const CRD_GROUP: &str = "apiextensions.k8s.io";
const CRD_KIND: &str = "CustomResourceDefinition";
/// Replaces a Secret's value in a message.
const HIDDEN: &str = "<hidden>";

/// The rendered resources of one app of one environment.
#[derive(Debug, Clone, Copy)]
pub struct RenderedApp<'a> {
    /// The environment (`apps/<env>/`).
    pub env: &'a str,
    /// The app's name.
    pub app: &'a str,
    /// What the app renders, in output order.
    pub resources: &'a [Resource],
}

/// One document of a schema file listed in `kiln.yaml` (`environments.<env>.schemas`).
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaDocument {
    /// The repository-relative file.
    pub file: String,
    /// The document in that file.
    pub span: Span,
    /// The document.
    pub node: Node,
}

/// The parsed schema files of every environment (`environments.<env>.schemas` in `kiln.yaml`).
#[derive(Debug, Clone, Default)]
pub struct SchemaFiles {
    by_env: BTreeMap<String, Vec<SchemaDocument>>,
}

impl SchemaFiles {
    /// Reads and parses the schema files `project` lists, each file once. Files that cannot
    /// be read or parsed are diagnostics (and left out); the documents are checked later, by
    /// [`validate_rendered`].
    pub fn load(loader: &Loader<'_>, project: &Project) -> (SchemaFiles, Vec<Diagnostic>) {
        let mut parsed: HashMap<&str, Vec<SchemaDocument>> = HashMap::new();
        let mut diags = Vec::new();
        let mut files = SchemaFiles::default();
        for (env, config) in &project.environments {
            for file in &config.schemas {
                if !parsed.contains_key(file.as_str()) {
                    let docs = match loader.yaml_docs(file) {
                        Ok((_, docs)) => docs
                            .into_iter()
                            .map(|d| SchemaDocument {
                                file: file.clone(),
                                span: d.span,
                                node: d.root,
                            })
                            .collect(),
                        Err(d) => {
                            diags.push(d.hint(format!(
                                "{PROJECT_FILE} lists it under environments.{env}.schemas"
                            )));
                            Vec::new()
                        }
                    };
                    parsed.insert(file, docs);
                }
                if let Some(docs) = parsed.get(file.as_str()) {
                    files.add(env, docs.iter().cloned());
                }
            }
        }
        (files, diags)
    }

    /// Adds documents to an environment's schemas.
    pub fn add(&mut self, env: &str, docs: impl IntoIterator<Item = SchemaDocument>) {
        self.by_env.entry(env.to_string()).or_default().extend(docs);
    }

    /// The documents of an environment.
    pub fn of(&self, env: &str) -> &[SchemaDocument] {
        self.by_env.get(env).map_or(&[], Vec::as_slice)
    }
}

/// One finding about one resource, before it is tied to an environment and app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The diagnostic code.
    pub code: Code,
    /// How bad it is.
    pub severity: Severity,
    /// What is wrong, starting with the field path where there is one
    /// (`spec.replicas: expected integer, got string "three"`); never a Secret's value.
    pub message: String,
    /// The JSON pointer of the field (`/spec/replicas`), when the finding concerns one.
    pub pointer: Option<String>,
    /// Where the field is written in the resource's source file, when that is known.
    pub span: Option<Span>,
    /// What to do about it.
    pub hint: Option<String>,
    /// Point at the field's key rather than its value (an unknown field).
    pub at_key: bool,
    /// A label for the excerpt.
    pub label: Option<String>,
}

impl Finding {
    /// A finding with the code's severity and nothing else.
    pub fn new(code: Code, message: String) -> Finding {
        Finding {
            code,
            severity: code.severity(),
            message,
            pointer: None,
            span: None,
            hint: None,
            at_key: false,
            label: None,
        }
    }
}

/// The checks of single resources against one [`SchemaSet`]: identity, API status, schema,
/// custom resources without schema. Shared by every thread; API statuses are looked up once per
/// apiVersion/kind.
pub struct Checker<'s> {
    set: &'s SchemaSet,
    unknown: Severity,
    /// By apiVersion, then kind.
    statuses: HashMap<String, HashMap<String, ApiStatus>>,
}

impl<'s> Checker<'s> {
    /// A checker over `set`; `unknown` is the severity of a custom resource without schema.
    /// `docs` are the resources about to be checked (their API statuses are computed up front;
    /// others are computed on use).
    pub fn new<'r>(
        set: &'s SchemaSet,
        unknown: Severity,
        docs: impl IntoIterator<Item = &'r Value>,
    ) -> Checker<'s> {
        let mut pairs: HashSet<(&str, &str)> = HashSet::new();
        for doc in docs {
            if let (Some(av), Some(kind)) = (str_at(doc, "/apiVersion"), str_at(doc, "/kind")) {
                pairs.insert((av, kind));
            }
        }
        let mut statuses: HashMap<String, HashMap<String, ApiStatus>> = HashMap::new();
        for (av, kind) in pairs {
            statuses
                .entry(av.to_string())
                .or_default()
                .insert(kind.to_string(), set.api_status(av, kind));
        }
        Checker {
            set,
            unknown,
            statuses,
        }
    }

    /// The schema set checked against.
    pub fn set(&self) -> &SchemaSet {
        self.set
    }

    fn status(&self, api_version: &str, kind: &str) -> ApiStatus {
        self.statuses
            .get(api_version)
            .and_then(|m| m.get(kind))
            .cloned()
            .unwrap_or_else(|| self.set.api_status(api_version, kind))
    }

    /// Whether the apiVersion/kind belongs to a built-in API group (served or not).
    fn is_builtin(&self, api_version: &str, kind: &str) -> bool {
        match self.statuses.get(api_version).and_then(|m| m.get(kind)) {
            Some(status) => !matches!(status, ApiStatus::NotBuiltin),
            None => !matches!(
                self.set.api_status(api_version, kind),
                ApiStatus::NotBuiltin
            ),
        }
    }

    /// Checks one resource. `doc` is its JSON form ([`Node::to_json`]). With `sensitive` no
    /// value appears in any message. The findings have no position yet: see [`locate`].
    pub fn check(&self, doc: &Value, sensitive: bool) -> Vec<Finding> {
        let mut out = Vec::new();
        if !doc.is_object() {
            out.push(Finding::new(
                Code::MissingIdentity,
                format!("a resource must be a mapping, got {}", json_type(doc)),
            ));
            return out;
        }
        out.extend(identity_only(doc));
        let api_version = str_at(doc, "/apiVersion").filter(|s| !s.is_empty());
        let kind = str_at(doc, "/kind").filter(|s| !s.is_empty());
        let (Some(api_version), Some(kind)) = (api_version, kind) else {
            return out;
        };
        let status = self.statuses.get(api_version).and_then(|m| m.get(kind));
        let deprecated = match status {
            Some(ApiStatus::Deprecated { .. }) => Some(self.status(api_version, kind)),
            Some(_) => None,
            None => Some(self.status(api_version, kind)),
        };
        if let Some(ApiStatus::Deprecated {
            replacement,
            removed_in,
        }) = deprecated
        {
            let mut message = format!(
                "{api_version} {kind} is deprecated in Kubernetes {}",
                self.set.version()
            );
            if let Some(r) = &removed_in {
                message.push_str(&format!(" and removed in {r}"));
            }
            if let Some(r) = &replacement {
                message.push_str(&format!("; use {r}"));
            }
            let mut f = Finding::new(Code::ApiDeprecated, message);
            f.pointer = Some("/apiVersion".to_string());
            f.hint = Some(match replacement {
                Some(r) => format!("change apiVersion to {r}"),
                None => "migrate before upgrading the cluster".to_string(),
            });
            out.push(f);
        }
        match self.set.validate(doc) {
            Ok(violations) => {
                out.extend(
                    violations
                        .iter()
                        .map(|v| violation_finding(v, doc, sensitive)),
                );
            }
            Err(ValidateError::NoSchema { .. }) => {
                let mut f = Finding::new(
                    Code::UnknownCustomResource,
                    format!(
                        "no schema for {api_version} {kind}: no CustomResourceDefinition defines it"
                    ),
                );
                f.severity = self.unknown;
                f.pointer = Some("/kind".to_string());
                f.hint = Some(
                    "render its CustomResourceDefinition, or list a file holding it under \
                     environments.<env>.schemas in kiln.yaml (kiln validate: --crds FILE)"
                        .to_string(),
                );
                out.push(f);
            }
            Err(e @ ValidateError::NotServed { .. }) => {
                let mut f = Finding::new(Code::ApiNotServed, e.to_string());
                f.pointer = Some("/apiVersion".to_string());
                f.hint = Some(format!(
                    "the cluster's Kubernetes version is {}; see https://kubernetes.io/docs/reference/using-api/deprecation-guide/",
                    self.set.version()
                ));
                out.push(f);
            }
            Err(e @ ValidateError::BrokenSchema { .. }) => {
                let mut f = Finding::new(Code::BrokenCrdSchema, e.to_string());
                f.hint = Some("fix the schema in the kind's CustomResourceDefinition".to_string());
                out.push(f);
            }
            // Both are reported above as missing identity.
            Err(ValidateError::MissingTypeField(_) | ValidateError::NotAnObject(_)) => {}
        }
        out
    }
}

/// A CRD error without the CRD's name (the diagnostic names the resource already).
pub fn crd_error_text(e: &CrdError) -> String {
    match e {
        CrdError::NotACrd => "not a CustomResourceDefinition".to_string(),
        CrdError::MissingField { field, .. } => format!("{field} is missing or not a string"),
        CrdError::InvalidSchema {
            version,
            path,
            message,
            ..
        } => format!("the schema of version {version} is invalid: {path}: {message}"),
    }
}

fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn violation_finding(v: &Violation, doc: &Value, sensitive: bool) -> Finding {
    let unknown_field = v.message.ends_with(": unknown field");
    let message = if sensitive {
        redact(&v.message, doc.pointer(&v.pointer), v.value.as_deref())
    } else {
        match &v.value {
            Some(value) if !v.message.contains(value.trim_end_matches('…')) => {
                format!("{} (value {value})", v.message)
            }
            _ => v.message.clone(),
        }
    };
    let mut f = Finding::new(Code::SchemaViolation, message);
    f.pointer = Some(v.pointer.clone());
    f.at_key = unknown_field;
    f
}

/// `message` (`path: text`) with the value removed from its text part.
fn redact(message: &str, full: Option<&Value>, shown: Option<&str>) -> String {
    let (path, text) = message.split_once(": ").unwrap_or(("", message));
    let mut text = text.to_string();
    if let Some(full) = full.filter(|v| !v.is_object() && !v.is_array()) {
        let full = full.to_string();
        if !full.is_empty() {
            text = text.replace(&full, HIDDEN);
        }
    }
    if let Some(shown) = shown {
        let cut = shown.trim_end_matches('…');
        if !cut.is_empty() {
            text = text.replace(shown, HIDDEN).replace(cut, HIDDEN);
        }
    }
    if path.is_empty() {
        text
    } else {
        format!("{path}: {text}")
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn str_at<'v>(doc: &'v Value, pointer: &str) -> Option<&'v str> {
    doc.pointer(pointer).and_then(Value::as_str)
}

/// Whether a node's span is a real position inside the resource's document.
fn inside(span: Span, doc_span: Span) -> bool {
    span.line > 0
        && doc_span.line > 0
        && !span.is_empty()
        && span.start >= doc_span.start
        && span.end <= doc_span.end
}

/// The resource's own position: its document, when known.
fn span_of(doc_span: Span) -> Option<Span> {
    (doc_span.line > 0).then_some(doc_span)
}

/// Positions the findings of one resource, then sorts them in source order: a finding about a
/// field points at the field when `text` (the resource's source file) confirms that the node's
/// span is in it, else at the resource's document (`doc_span`). A rendered node keeps the span
/// of the file it was read from, which for a patched field is the patch, not `text`: without the
/// check such a span would point at unrelated bytes of the resource's file.
pub fn locate(findings: &mut [Finding], node: Option<&Node>, doc_span: Span, text: Option<&str>) {
    for f in findings.iter_mut() {
        if f.span.is_some() {
            continue;
        }
        let field = match (&f.pointer, node, text) {
            (Some(p), Some(node), Some(text)) => field_span(node, p, doc_span, f.at_key, text),
            _ => None,
        };
        if let Some((_, false)) = field {
            f.label =
                Some("the rendered value is set elsewhere (a patch or a transformer)".to_string());
        }
        f.span = field.map(|(s, _)| s).or(span_of(doc_span));
    }
    findings.sort_by_key(|f| f.span.map_or(usize::MAX, |s| s.start));
}

/// Where the field at `pointer` (or, for a field that is missing, its nearest ancestor) is
/// written, and whether that is the node wanted: scalars point at the value, collections and
/// `at_key` at the key; a value set elsewhere (by a patch) falls back on its key.
fn field_span(
    node: &Node,
    pointer: &str,
    doc_span: Span,
    at_key: bool,
    text: &str,
) -> Option<(Span, bool)> {
    let mut p = pointer;
    while !p.is_empty() {
        if let Some((key, value)) = node.find_pointer_entry(p) {
            let scalar = matches!(value.kind, NodeKind::Scalar(_));
            let candidates = match key {
                Some(k) if at_key || !scalar => [Some(k), Some(value)],
                Some(k) => [Some(value), Some(k)],
                None => [Some(value), None],
            };
            let [first, second] = candidates;
            let ok = |n: &&Node| inside(n.span, doc_span) && written_at(n, text);
            return match (first.filter(ok), second.filter(ok)) {
                (Some(n), _) => Some((n.span, true)),
                (None, Some(n)) => Some((n.span, false)),
                (None, None) => None,
            };
        }
        p = p.rfind('/').map_or("", |i| &p[..i]);
    }
    None
}

/// Whether `text` holds `node` at its span (its own file), as far as its first scalar shows.
fn written_at(node: &Node, text: &str) -> bool {
    let Some(slice) = text.get(node.span.range()) else {
        return false;
    };
    if crate::yaml::line_col(text, node.span.start) != (node.span.line, node.span.col) {
        return false;
    }
    match &node.kind {
        NodeKind::Scalar(s) => {
            let slice = slice.trim();
            match s.style {
                ScalarStyle::Plain => {
                    let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
                    words(slice) == words(&s.text)
                }
                ScalarStyle::SingleQuoted => slice.starts_with('\'') && slice.ends_with('\''),
                ScalarStyle::DoubleQuoted => slice.starts_with('"') && slice.ends_with('"'),
                ScalarStyle::Literal => slice.starts_with('|'),
                ScalarStyle::Folded => slice.starts_with('>'),
            }
        }
        NodeKind::Map(entries) => match entries.first() {
            Some((k, _)) => k.span.start >= node.span.start && written_at(k, text),
            None => slice.trim_start().starts_with('{'),
        },
        NodeKind::Seq(items) => match items.first() {
            Some(i) => i.span.start >= node.span.start && written_at(i, text),
            None => slice.trim_start().starts_with('['),
        },
    }
}

/// `/spec/template/spec/volumes/0/configMap/name` → `spec.template.spec.volumes[0].configMap.name`.
fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for raw in pointer.split('/').skip(1) {
        let token = raw.replace("~1", "/").replace("~0", "~");
        if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{token}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&token);
        }
    }
    out
}

/// `Deployment shop/web`, `Namespace shop`, `<no kind> <unnamed>`.
pub fn describe(doc: &Value) -> String {
    let kind = str_at(doc, "/kind")
        .filter(|s| !s.is_empty())
        .unwrap_or("<no kind>");
    let name = str_at(doc, "/metadata/name")
        .filter(|s| !s.is_empty())
        .or_else(|| str_at(doc, "/metadata/generateName").filter(|s| !s.is_empty()))
        .unwrap_or("<unnamed>");
    match str_at(doc, "/metadata/namespace").filter(|s| !s.is_empty()) {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// Whether a resource holds secret values: a core Secret, or anything decrypted while rendering.
pub fn is_sensitive(doc: &Value, decrypted: bool) -> bool {
    decrypted
        || (str_at(doc, "/apiVersion") == Some("v1") && str_at(doc, "/kind") == Some("Secret"))
}

fn is_crd(doc: &Value) -> bool {
    str_at(doc, "/kind") == Some(CRD_KIND)
        && str_at(doc, "/apiVersion")
            .and_then(|av| av.split_once('/'))
            .is_some_and(|(group, _)| group == CRD_GROUP)
}

/// The severity `kiln.yaml` gives custom resources without schema.
pub fn unknown_severity(project: &Project) -> Severity {
    match project.validation.unknown_custom_resources {
        UnknownCustomResources::Warn => Severity::Warning,
        UnknownCustomResources::Error => Severity::Error,
    }
}

/// The diagnostic of a Kubernetes version kiln has no schemas for (or whose schemas do not
/// load).
pub fn version_diagnostic(version: &str, error: &SchemaError) -> Diagnostic {
    Diagnostic::new(
        Code::KubernetesVersion,
        format!("cannot validate against Kubernetes {version:?}: {error}"),
    )
    .hint(format!("use a version from {}", version_range()))
}

/// `1.25 to 1.37`.
fn version_range() -> String {
    let versions = supported_versions();
    match (versions.first(), versions.last()) {
        (Some(first), Some(last)) => format!("{first} to {last}"),
        _ => "none".to_string(),
    }
}

/// A rendered resource with what its diagnostics need.
struct Item<'a> {
    app: &'a str,
    resource: &'a Resource,
    doc: Value,
}

/// The distinct CRDs of the whole run.
#[derive(Default)]
struct CrdPool {
    values: Vec<Value>,
}

impl CrdPool {
    fn intern(&mut self, v: &Value) -> usize {
        if let Some(i) = self.values.iter().position(|x| x == v) {
            return i;
        }
        self.values.push(v.clone());
        self.values.len() - 1
    }
}

/// What one environment validates against: its Kubernetes version and CRDs (in the order they
/// are added).
struct Plan<'a> {
    env: &'a str,
    version: String,
    crds: Vec<usize>,
}

/// One compiled schema set and the result of adding each of its CRDs.
struct SetGroup {
    version: String,
    crds: Vec<usize>,
    set: Result<SchemaSet, SchemaError>,
    added: HashMap<usize, Result<CrdAdded, CrdError>>,
}

/// Validates the rendered output of environments: every resource against the schemas of its
/// environment's Kubernetes version (`kiln.yaml` `environments.<env>.kubernetesVersion`,
/// default the newest bundled) and of the CRDs it can see, and the invariants of each
/// environment. `apps` may hold several environments; an environment is what its apps render
/// together. Diagnostics come back unsorted (see `Diagnostics::finish`).
///
/// No I/O of its own: `sources` is asked for the text of a resource's source file only when a
/// finding about one of its fields needs a position (a rendered node's span may belong to a
/// patch rather than to that file, so it is checked against the text first). Give the
/// [`Loader`] diagnostics are printed with; `&|_: &str| None` gives positions of whole
/// resources only.
pub fn validate_rendered(
    project: &Project,
    schema_files: &SchemaFiles,
    apps: &[RenderedApp<'_>],
    sources: &(dyn SourceLookup + Sync),
) -> Vec<Diagnostic> {
    let unknown = unknown_severity(project);
    let mut envs: Vec<&str> = Vec::new();
    for a in apps {
        if !envs.contains(&a.env) {
            envs.push(a.env);
        }
    }
    // The JSON form of every resource, in parallel.
    let flat: Vec<(usize, &Resource)> = apps
        .iter()
        .enumerate()
        .flat_map(|(i, a)| a.resources.iter().map(move |r| (i, r)))
        .collect();
    let items: Vec<(usize, Item<'_>)> = flat
        .par_iter()
        .map(|&(i, r)| {
            (
                i,
                Item {
                    app: apps[i].app,
                    resource: r,
                    doc: r.node.to_json(),
                },
            )
        })
        .collect();
    let mut by_env: HashMap<&str, Vec<&Item<'_>>> = HashMap::new();
    for (i, item) in &items {
        by_env.entry(apps[*i].env).or_default().push(item);
    }

    // The CRDs each environment sees: others' rendered ones, then schema files, then its own
    // (added last, so they win).
    let mut pool = CrdPool::default();
    let mut own: HashMap<&str, Vec<usize>> = HashMap::new();
    for env in &envs {
        let list = own.entry(env).or_default();
        for item in by_env.get(env).into_iter().flatten() {
            if is_crd(&item.doc) {
                let i = pool.intern(&item.doc);
                if !list.contains(&i) {
                    list.push(i);
                }
            }
        }
    }
    let mut diags = Vec::new();
    let mut file_crds: HashMap<&str, Vec<(usize, &SchemaDocument)>> = HashMap::new();
    let mut file_docs_seen: HashSet<(&str, usize)> = HashSet::new();
    for env in &envs {
        let list = file_crds.entry(env).or_default();
        for d in schema_files.of(env) {
            let value = d.node.to_json();
            if is_crd(&value) {
                list.push((pool.intern(&value), d));
            } else if file_docs_seen.insert((d.file.as_str(), d.span.start)) {
                let mut diag = Diagnostic::new(
                    Code::InvalidSchemaFile,
                    format!(
                        "{} in a schema file is not a CustomResourceDefinition",
                        describe(&value)
                    ),
                )
                .in_file(&d.file)
                .hint("files under environments.<env>.schemas hold CustomResourceDefinitions");
                if d.span.line > 0 {
                    diag = diag.at(d.span);
                }
                diags.push(diag);
            }
        }
    }
    let mut plans: Vec<Plan<'_>> = Vec::new();
    let newest = supported_versions().last().copied().unwrap_or("1.37");
    for env in &envs {
        let version = project
            .environments
            .get(*env)
            .and_then(|c| c.kubernetes_version.clone())
            .unwrap_or_else(|| newest.to_string());
        let mine = own.get(env).cloned().unwrap_or_default();
        let files: Vec<usize> = file_crds
            .get(env)
            .map(|l| l.iter().map(|(i, _)| *i).collect())
            .unwrap_or_default();
        let mut list: Vec<usize> = Vec::new();
        for other in envs.iter().filter(|e| *e != env) {
            for &i in own.get(other).into_iter().flatten() {
                if !mine.contains(&i) && !files.contains(&i) && !list.contains(&i) {
                    list.push(i);
                }
            }
        }
        for &i in &files {
            if !mine.contains(&i) && !list.contains(&i) {
                list.push(i);
            }
        }
        list.extend(mine.iter().copied());
        plans.push(Plan {
            env,
            version,
            crds: list,
        });
    }

    // One schema set per distinct (version, CRDs), built in parallel.
    let mut groups: Vec<SetGroup> = Vec::new();
    let mut group_of: HashMap<&str, usize> = HashMap::new();
    for Plan {
        env,
        version,
        crds: list,
    } in &plans
    {
        let crds = list.clone();
        let g = match groups
            .iter()
            .position(|g| &g.version == version && g.crds == crds)
        {
            Some(g) => g,
            None => {
                groups.push(SetGroup {
                    version: version.clone(),
                    crds,
                    set: Err(SchemaError::InvalidVersion(String::new())),
                    added: HashMap::new(),
                });
                groups.len() - 1
            }
        };
        group_of.insert(env, g);
    }
    groups.par_iter_mut().for_each(|g| {
        g.set = SchemaSet::builtin(&g.version);
        if let Ok(set) = &mut g.set {
            for &i in &g.crds {
                g.added.insert(i, set.add_crd(&pool.values[i]));
            }
        }
    });

    // Schema files: broken CRDs and CRD objects that do not validate, once per document.
    let mut reported_files: HashSet<(&str, usize)> = HashSet::new();
    for env in &envs {
        let Some(group) = group_of.get(env).and_then(|&g| groups.get(g)) else {
            continue;
        };
        for (i, d) in file_crds.get(env).into_iter().flatten() {
            if !reported_files.insert((d.file.as_str(), d.span.start)) {
                continue;
            }
            let value = &pool.values[*i];
            let label = describe(value);
            let at = |diag: Diagnostic| {
                let diag = diag.in_file(&d.file);
                if d.span.line > 0 {
                    diag.at(d.span)
                } else {
                    diag
                }
            };
            match group.added.get(i) {
                Some(Err(e)) => diags.push(
                    at(Diagnostic::new(
                        Code::BrokenCrdSchema,
                        format!("{label}: {}", crd_error_text(e)),
                    ))
                    .hint("its kinds are validated without this schema"),
                ),
                Some(Ok(added)) => {
                    for v in &added.violations {
                        let mut f = [violation_finding(v, value, false)];
                        let text = sources.source(&d.file);
                        locate(&mut f, Some(&d.node), d.span, text.as_deref());
                        let [f] = f;
                        let mut diag = Diagnostic::new(f.code, format!("{label}: {}", f.message))
                            .in_file(&d.file);
                        if let Some(span) = f.span {
                            diag = diag.at(span);
                        }
                        diags.push(diag);
                    }
                }
                None => {}
            }
        }
    }

    // Per environment: its schema set (or why there is none) and a checker.
    let mut checkers: HashMap<&str, Option<Checker<'_>>> = HashMap::new();
    for env in &envs {
        let env_items: &[&Item<'_>] = by_env.get(env).map_or(&[], Vec::as_slice);
        let group = group_of.get(env).and_then(|&g| groups.get(g));
        let set = match group.map(|g| &g.set) {
            Some(Ok(set)) => Some(set),
            Some(Err(e)) => {
                let version = group.map_or(newest, |g| g.version.as_str());
                let mut d = version_diagnostic(version, e);
                d.message = format!("environment {env}: {}", d.message);
                diags.push(d.in_file(PROJECT_FILE).hint(format!(
                    "set environments.{env}.kubernetesVersion to a version from {} \
                     (the environment's other checks still ran)",
                    version_range()
                )));
                None
            }
            None => None,
        };
        checkers.insert(
            env,
            set.map(|s| Checker::new(s, unknown, env_items.iter().map(|i| &i.doc))),
        );
        // Rendered CRDs that do not convert.
        if let Some(g) = group {
            for item in env_items.iter().filter(|i| is_crd(&i.doc)) {
                let idx = pool.values.iter().position(|v| v == &item.doc);
                if let Some(Some(Err(e))) = idx.map(|i| g.added.get(&i)) {
                    let mut f = Finding::new(Code::BrokenCrdSchema, crd_error_text(e));
                    f.hint = Some("its kinds are validated without this schema".to_string());
                    diags.push(to_diag(env, item, f, sources));
                }
            }
        }
    }

    // Every resource of every environment, in parallel.
    let found: Vec<Diagnostic> = items
        .par_iter()
        .flat_map_iter(|(i, item)| {
            let env = apps[*i].env;
            let findings = match checkers.get(env) {
                Some(Some(checker)) => {
                    checker.check(&item.doc, is_sensitive(&item.doc, item.resource.sensitive))
                }
                // No schemas: identity is still checked.
                _ => identity_only(&item.doc).into_iter().collect(),
            };
            findings
                .into_iter()
                .map(move |f| to_diag(env, item, f, sources))
        })
        .collect();
    diags.extend(found);

    // The invariants of each environment, environments in parallel.
    let invariant_diags: Vec<Diagnostic> = envs
        .par_iter()
        .flat_map_iter(|env| {
            let env_items: &[&Item<'_>] = by_env.get(env).map_or(&[], Vec::as_slice);
            let group = group_of.get(env).and_then(|&g| groups.get(g));
            let scopes = crd_scopes(group.map_or(&[], |g| g.crds.as_slice()), &pool);
            let checker = checkers.get(env).and_then(Option::as_ref);
            let builtin = |av: &str, kind: &str| -> bool {
                match checker {
                    Some(c) => c.is_builtin(av, kind),
                    None => !matches!(
                        api_status(newest, av, kind),
                        Ok(ApiStatus::NotBuiltin) | Err(_)
                    ),
                }
            };
            let mut out = Vec::new();
            invariants(env, env_items, &builtin, &scopes, &mut |item, f| {
                out.push(to_diag(env, item, f, sources));
            });
            out
        })
        .collect();
    diags.extend(invariant_diags);

    // Freeing thousands of JSON trees is a sizeable part of the run and nobody waits for it.
    drop(by_env);
    drop(checkers);
    let docs: Vec<Value> = items.into_iter().map(|(_, item)| item.doc).collect();
    rayon::spawn(move || drop(docs));
    diags
}

/// A finding about a rendered resource as a diagnostic: the resource, environment and app in
/// the message; the field's position in the resource's source file when `sources` confirms it,
/// else the resource's; sensitive for Secrets.
fn to_diag(
    env: &str,
    item: &Item<'_>,
    f: Finding,
    sources: &(dyn SourceLookup + Sync),
) -> Diagnostic {
    let r = item.resource;
    let sensitive = is_sensitive(&item.doc, r.sensitive);
    let mut located = [f];
    // The source is looked up only for findings about a field.
    let text = match &located[0].pointer {
        Some(_) if located[0].span.is_none() => sources.source(&r.origin.file),
        _ => None,
    };
    locate(&mut located, Some(&r.node), r.origin.span, text.as_deref());
    let [f] = located;
    let mut d = Diagnostic::new(
        f.code,
        format!(
            "{} (environment {env}, app {}): {}",
            describe(&item.doc),
            item.app,
            f.message
        ),
    )
    .severity(f.severity)
    .in_file(&r.origin.file);
    if let Some(span) = f.span {
        d = d.at(span);
    }
    if let Some(h) = f.hint {
        d = d.hint(h);
    }
    if let Some(l) = f.label {
        d = d.label(l);
    }
    if sensitive {
        d = d.sensitive();
    }
    d
}

/// The identity finding alone, for environments without schemas.
fn identity_only(doc: &Value) -> Option<Finding> {
    let ok = |p: &str| str_at(doc, p).is_some_and(|s| !s.is_empty());
    if ok("/apiVersion") && ok("/kind") && (ok("/metadata/name") || ok("/metadata/generateName")) {
        return None;
    }
    let mut missing = Vec::new();
    for (p, name) in [
        ("/apiVersion", "apiVersion"),
        ("/kind", "kind"),
        ("/metadata/name", "metadata.name"),
    ] {
        let generated = p == "/metadata/name" && ok("/metadata/generateName");
        if !(ok(p) || generated) {
            missing.push(name);
        }
    }
    let mut f = Finding::new(
        Code::MissingIdentity,
        format!(
            "{} {} missing",
            join_and(&missing),
            if missing.len() == 1 { "is" } else { "are" }
        ),
    );
    f.hint = Some("every resource needs apiVersion, kind and metadata.name".to_string());
    Some(f)
}

/// Whether the kinds the CRDs define are namespaced, by (group, kind).
fn crd_scopes<'p>(crds: &[usize], pool: &'p CrdPool) -> HashMap<(&'p str, &'p str), bool> {
    let mut out = HashMap::new();
    for v in crds.iter().filter_map(|&i| pool.values.get(i)) {
        if let (Some(group), Some(kind)) = (str_at(v, "/spec/group"), str_at(v, "/spec/names/kind"))
        {
            out.insert((group, kind), str_at(v, "/spec/scope") != Some("Cluster"));
        }
    }
    out
}

/// Kinds a workload reference can name.
const REFERENCED: &[&str] = &[
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "PersistentVolumeClaim",
];

fn invariants<'i>(
    env: &str,
    items: &[&'i Item<'i>],
    builtin: &dyn Fn(&str, &str) -> bool,
    scopes: &HashMap<(&str, &str), bool>,
    report: &mut dyn FnMut(&Item<'_>, Finding),
) {
    // Unique ids, and what references can resolve to.
    let mut seen: HashMap<(&str, &str, &str, &str), &Item<'_>> = HashMap::new();
    let mut provided: HashSet<(&str, &str, &str)> = HashSet::new();
    for item in items {
        let doc = &item.doc;
        let (Some(av), Some(kind), Some(name)) = (
            str_at(doc, "/apiVersion"),
            str_at(doc, "/kind"),
            str_at(doc, "/metadata/name"),
        ) else {
            continue;
        };
        if kind.is_empty() || name.is_empty() {
            continue;
        }
        let ns = str_at(doc, "/metadata/namespace").unwrap_or("");
        let group = group_of(av);
        if group.is_empty() && REFERENCED.contains(&kind) {
            provided.insert((kind, ns, name));
        }
        // Controllers that create a Secret of the same name.
        match (group, kind) {
            ("bitnami.com", "SealedSecret") => {
                let target = str_at(doc, "/spec/template/metadata/name").unwrap_or(name);
                provided.insert(("Secret", ns, target));
            }
            ("external-secrets.io", "ExternalSecret") => {
                let target = str_at(doc, "/spec/target/name").unwrap_or(name);
                provided.insert(("Secret", ns, target));
            }
            _ => {}
        }
        match seen.get(&(group, kind, ns, name)) {
            Some(first) => {
                let r = &first.resource.origin;
                let mut f = Finding::new(
                    Code::DuplicateResource,
                    format!(
                        "rendered twice in environment {env}: app {} renders it too (from {}{})",
                        first.app,
                        r.file,
                        if r.span.line > 0 {
                            format!(":{}", r.span.line)
                        } else {
                            String::new()
                        }
                    ),
                );
                f.hint = Some(
                    "resources of one environment need distinct group, kind, namespace and name"
                        .to_string(),
                );
                report(item, f);
            }
            None => {
                seen.insert((group, kind, ns, name), item);
            }
        }
    }
    for item in items {
        let doc = &item.doc;
        let (Some(av), Some(kind), Some(name)) = (
            str_at(doc, "/apiVersion"),
            str_at(doc, "/kind"),
            str_at(doc, "/metadata/name"),
        ) else {
            continue;
        };
        if kind.is_empty() || name.is_empty() || kind == "List" {
            continue;
        }
        let ns = str_at(doc, "/metadata/namespace").unwrap_or("");
        let group = group_of(av);
        if ns.is_empty() {
            let namespaced = match scopes.get(&(group, kind)) {
                Some(n) => Some(*n),
                None if builtin(av, kind) => Some(!CLUSTER_SCOPED_KINDS.contains(&kind)),
                None => None,
            };
            if namespaced == Some(true) {
                let mut f = Finding::new(
                    Code::ResourceWithoutNamespace,
                    format!("{kind} is namespaced, but no namespace is set"),
                );
                f.hint = Some(
                    "set `namespace:` in the app's kustomization, or metadata.namespace"
                        .to_string(),
                );
                report(item, f);
            }
        }
        if matches!(group, "" | "apps" | "batch") {
            for (pointer, ref_kind, ref_name) in pod_references(doc, kind) {
                if ref_kind == "ServiceAccount" && ref_name == "default" {
                    continue;
                }
                if provided.contains(&(ref_kind, ns, ref_name.as_str())) {
                    continue;
                }
                let mut f = Finding::new(
                    Code::DanglingReference,
                    format!(
                        "{}: {ref_kind} {ref_name:?} is rendered nowhere in namespace {} of environment {env}",
                        dotted(&pointer),
                        if ns.is_empty() { "(none)" } else { ns }
                    ),
                );
                f.pointer = Some(pointer);
                f.hint = Some(if ref_kind == "ServiceAccount" {
                    "render the ServiceAccount in this environment, or make sure the cluster has it"
                        .to_string()
                } else {
                    format!(
                        "render the {ref_kind} in this environment, or mark the reference \
                         `optional: true` if something else creates it"
                    )
                });
                report(item, f);
            }
        }
    }
}

/// The group of an apiVersion (`apps/v1` → `apps`, `v1` → the core group ``).
fn group_of(api_version: &str) -> &str {
    api_version.split_once('/').map_or("", |(g, _)| g)
}

/// The pod spec of a workload kind, as a JSON pointer.
fn pod_spec_pointer(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some("/spec"),
        "PodTemplate" => Some("/template/spec"),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => Some("/spec/template/spec"),
        "CronJob" => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

/// The non-optional references of a workload's pod spec: (pointer of the name, kind, name).
fn pod_references(doc: &Value, kind: &str) -> Vec<(String, &'static str, String)> {
    let mut out = Vec::new();
    let Some(base) = pod_spec_pointer(kind) else {
        return out;
    };
    let Some(spec) = doc.pointer(base) else {
        return out;
    };
    let optional = |v: &Value| v.get("optional").and_then(Value::as_bool) == Some(true);
    let mut push = |pointer: String, kind: &'static str, v: Option<&Value>| {
        if let Some(name) = v.and_then(Value::as_str).filter(|n| !n.is_empty()) {
            out.push((pointer, kind, name.to_string()));
        }
    };
    if spec.get("serviceAccountName").is_some() {
        push(
            format!("{base}/serviceAccountName"),
            "ServiceAccount",
            spec.get("serviceAccountName"),
        );
    } else {
        push(
            format!("{base}/serviceAccount"),
            "ServiceAccount",
            spec.get("serviceAccount"),
        );
    }
    for (i, s) in array(spec, "imagePullSecrets") {
        push(
            format!("{base}/imagePullSecrets/{i}/name"),
            "Secret",
            s.get("name"),
        );
    }
    for (i, vol) in array(spec, "volumes") {
        let at = format!("{base}/volumes/{i}");
        if let Some(c) = vol.get("configMap").filter(|c| !optional(c)) {
            push(format!("{at}/configMap/name"), "ConfigMap", c.get("name"));
        }
        if let Some(s) = vol.get("secret").filter(|s| !optional(s)) {
            push(
                format!("{at}/secret/secretName"),
                "Secret",
                s.get("secretName"),
            );
        }
        if let Some(p) = vol.get("persistentVolumeClaim") {
            push(
                format!("{at}/persistentVolumeClaim/claimName"),
                "PersistentVolumeClaim",
                p.get("claimName"),
            );
        }
        if let Some(projected) = vol.get("projected") {
            for (j, src) in array(projected, "sources") {
                let at = format!("{at}/projected/sources/{j}");
                if let Some(c) = src.get("configMap").filter(|c| !optional(c)) {
                    push(format!("{at}/configMap/name"), "ConfigMap", c.get("name"));
                }
                if let Some(s) = src.get("secret").filter(|s| !optional(s)) {
                    push(format!("{at}/secret/name"), "Secret", s.get("name"));
                }
            }
        }
    }
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for (c, container) in array(spec, list) {
            let at = format!("{base}/{list}/{c}");
            for (e, env) in array(container, "env") {
                let from = env.get("valueFrom");
                if let Some(r) = from
                    .and_then(|f| f.get("configMapKeyRef"))
                    .filter(|r| !optional(r))
                {
                    push(
                        format!("{at}/env/{e}/valueFrom/configMapKeyRef/name"),
                        "ConfigMap",
                        r.get("name"),
                    );
                }
                if let Some(r) = from
                    .and_then(|f| f.get("secretKeyRef"))
                    .filter(|r| !optional(r))
                {
                    push(
                        format!("{at}/env/{e}/valueFrom/secretKeyRef/name"),
                        "Secret",
                        r.get("name"),
                    );
                }
            }
            for (e, env_from) in array(container, "envFrom") {
                if let Some(r) = env_from.get("configMapRef").filter(|r| !optional(r)) {
                    push(
                        format!("{at}/envFrom/{e}/configMapRef/name"),
                        "ConfigMap",
                        r.get("name"),
                    );
                }
                if let Some(r) = env_from.get("secretRef").filter(|r| !optional(r)) {
                    push(
                        format!("{at}/envFrom/{e}/secretRef/name"),
                        "Secret",
                        r.get("name"),
                    );
                }
            }
        }
    }
    out
}

fn array<'v>(v: &'v Value, key: &str) -> impl Iterator<Item = (usize, &'v Value)> {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_redacted_from_secret_messages() {
        let v = json!(12345);
        assert_eq!(
            redact(
                "data.token: expected string, got integer 12345",
                Some(&v),
                Some("12345")
            ),
            "data.token: expected string, got integer <hidden>"
        );
        let long = Value::String("x".repeat(100));
        let shown = format!("\"{}…", "x".repeat(79));
        let message = format!("stringData.k: {long} does not match the pattern ^a$");
        assert_eq!(
            redact(&message, Some(&long), Some(&shown)),
            "stringData.k: <hidden> does not match the pattern ^a$"
        );
    }

    #[test]
    fn pointers_become_dotted_paths() {
        assert_eq!(
            dotted("/spec/template/spec/volumes/0/configMap/name"),
            "spec.template.spec.volumes[0].configMap.name"
        );
        assert_eq!(
            dotted("/metadata/annotations/a~1b"),
            "metadata.annotations.a/b"
        );
    }

    #[test]
    fn optional_references_are_not_reported() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "envFrom": [
                {"configMapRef": {"name": "a"}},
                {"secretRef": {"name": "b", "optional": true}}]}],
             "serviceAccountName": "runner"}});
        let refs: Vec<(String, &str, String)> = pod_references(&pod, "Pod");
        assert_eq!(
            refs,
            vec![
                (
                    "/spec/serviceAccountName".to_string(),
                    "ServiceAccount",
                    "runner".to_string()
                ),
                (
                    "/spec/containers/0/envFrom/0/configMapRef/name".to_string(),
                    "ConfigMap",
                    "a".to_string()
                ),
            ]
        );
    }

    #[test]
    fn identity_lists_what_is_missing() {
        let f = identity_only(&json!({"apiVersion": "v1", "metadata": {}})).expect("missing");
        assert_eq!(f.message, "kind and metadata.name are missing");
        assert!(
            identity_only(
                &json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "j-"}})
            )
            .is_none()
        );
    }
}
