//! Applying a kustomization's patches: `patchesStrategicMerge`, `patches` and
//! `patchesJson6902`, as kustomize's three patch transformers do.
//!
//! - A patch is a strategic-merge patch when its text is one or more YAML mappings, and a JSON
//!   6902 patch when it is a list of operations (kustomize refuses text that is both or neither).
//! - A strategic-merge patch without a `target` applies to the one object that has the patch's
//!   own id among its current and previous ids; with a `target` it applies to every selected
//!   object, taking the object's apiVersion (and keeping its own kind unless allowed to change).
//!   `$patch: delete` removes the object.
//! - A JSON 6902 patch needs a `target`; the object's id is remembered before it is applied.
//!
//! This module owns choosing targets and the order of application; merging is [`super::smp`]'s
//! job, operations [`super::json6902`]'s, and selection [`super::select`]'s.

use super::json6902::{self, Op};
use super::kustomization::{Kustomization, join};
use super::resource::{Gvk, ResId, Resource};
use super::select::{CompiledSelector, Selector};
use super::smp::{SchemaLookup, SmpOutcome, apply_sm_patch_to_resource};
use super::{Files, RenderError};
use crate::yaml::{self, Node, Span};

/// A loaded patch, ready to apply.
pub struct Patch {
    body: Body,
    target: Option<CompiledSelector>,
    allow_name_change: bool,
    allow_kind_change: bool,
    /// The kustomization naming it, and where.
    file: String,
    span: Span,
}

enum Body {
    /// Strategic-merge patches (one per document).
    Smp(Vec<Node>),
    /// JSON 6902 operations.
    Json(Vec<Op>),
}

/// Loads every patch of a kustomization, in kustomize's order of application:
/// `patchesStrategicMerge` first, then `patches`, then (after the namespace, name, label and
/// annotation transformers, so separately) `patchesJson6902` via [`load_json6902`].
///
/// # Errors
/// An unreadable patch file, unparsable patch text, or an invalid target.
pub fn load_patches(files: &dyn Files, k: &Kustomization) -> Result<Vec<Patch>, RenderError> {
    let mut out = Vec::new();
    for entry in k.list("patchesStrategicMerge") {
        let Some(raw) = entry.as_str().filter(|_| !entry.is_null()) else {
            return Err(RenderError::invalid(
                &k.file,
                entry.span,
                "a patchesStrategicMerge entry must be a file path or a patch".to_owned(),
            ));
        };
        out.push(strategic_merge(files, k, raw, entry.span)?);
    }
    for entry in k.list("patches") {
        out.push(load_patch_entry(files, k, entry, "patch")?);
    }
    Ok(out)
}

/// A `patchesStrategicMerge` entry: a file (one patch per document) or inline patch text.
///
/// # Errors
/// An unreadable or unparsable patch, or one with no document.
pub fn strategic_merge(
    files: &dyn Files,
    k: &Kustomization,
    raw: &str,
    span: Span,
) -> Result<Patch, RenderError> {
    let path = files.normalize(&join(&k.dir, raw.trim()));
    let (text, origin) = match path.filter(|p| !raw.contains('\n') && files.is_file(p)) {
        Some(path) => {
            super::build::check_root_only(k, &path, span)?;
            (files.read_text(&path)?.to_string(), path)
        }
        None => (raw.to_owned(), k.file.clone()),
    };
    let docs = smp_documents(&origin, &text, span)?;
    if docs.is_empty() {
        return Err(RenderError::invalid(
            &k.file,
            span,
            format!("no patch found in {}", first_line(raw)),
        ));
    }
    Ok(Patch {
        body: Body::Smp(docs),
        target: None,
        allow_name_change: false,
        allow_kind_change: false,
        file: k.file.clone(),
        span,
    })
}

/// Loads `patchesJson6902` (applied after the label and annotation transformers).
///
/// # Errors
/// As [`load_patches`].
pub fn load_json6902(files: &dyn Files, k: &Kustomization) -> Result<Vec<Patch>, RenderError> {
    let mut out = Vec::new();
    for entry in k.list("patchesJson6902") {
        let patch = load_patch_entry(files, k, entry, "patch")?;
        if matches!(patch.body, Body::Smp(_)) {
            return Err(RenderError::invalid(
                &k.file,
                entry.span,
                "a patchesJson6902 entry must be a list of JSON patch operations".to_owned(),
            ));
        }
        out.push(patch);
    }
    Ok(out)
}

/// One `patches:` (or `patchesJson6902:`) entry: `path` or `patch` (or the field named
/// `inline_field`, `jsonOp` in a transformer configuration), `target`, `options`.
///
/// # Errors
/// As [`load_patches`].
pub fn load_patch_entry(
    files: &dyn Files,
    k: &Kustomization,
    entry: &Node,
    inline_field: &str,
) -> Result<Patch, RenderError> {
    let bad = |span: Span, message: String| RenderError::invalid(&k.file, span, message);
    if !entry.is_map() {
        return Err(bad(
            entry.span,
            "a patch entry must be a mapping".to_owned(),
        ));
    }
    let text_of = |field: &str| {
        entry
            .get_ignore_case(field)
            .filter(|n| !n.is_null())
            .and_then(Node::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let inline = text_of(inline_field);
    let path = text_of("path");
    let (text, origin) = match (inline, path) {
        (Some(_), Some(_)) => {
            return Err(bad(
                entry.span,
                "patch and path can't be set at the same time".to_owned(),
            ));
        }
        (None, None) => {
            return Err(bad(
                entry.span,
                "must specify one of patch and path".to_owned(),
            ));
        }
        (Some(text), None) => (text.to_owned(), k.file.clone()),
        (None, Some(raw)) => {
            let path = files.normalize(&join(&k.dir, raw)).ok_or_else(|| {
                bad(
                    entry.span,
                    format!("patch path '{raw}' leaves the repository"),
                )
            })?;
            super::build::check_root_only(k, &path, entry.span)?;
            let text = files.read_text(&path)?;
            (text.to_string(), path)
        }
    };
    let target = match entry.get_ignore_case("target").filter(|n| !n.is_null()) {
        Some(node) => {
            let selector = Selector::from_node(node)
                .map_err(|e| bad(node.span, format!("invalid patch target: {e}")))?;
            Some(
                selector
                    .compile()
                    .map_err(|e| bad(node.span, format!("invalid patch target: {e}")))?,
            )
        }
        None => None,
    };
    let option = |name: &str| {
        entry
            .get_ignore_case("options")
            .and_then(|o| o.get_ignore_case(name))
            .and_then(Node::as_str)
            == Some("true")
    };
    // Errors in a patch file point into that file; in inline text, at the entry.
    let body_span = if origin == k.file {
        entry.span
    } else {
        Span::default()
    };
    let body = parse_body(&origin, &text, body_span)?;
    if matches!(body, Body::Json(_)) && target.is_none() {
        return Err(bad(
            entry.span,
            format!("must specify a target for JSON patch {}", first_line(&text)),
        ));
    }
    Ok(Patch {
        body,
        target,
        allow_name_change: option("allowNameChange"),
        allow_kind_change: option("allowKindChange"),
        file: k.file.clone(),
        span: entry.span,
    })
}

/// Decides between a strategic-merge patch (mappings) and a JSON 6902 patch (one list; JSON
/// is YAML, so one parser reads both).
fn parse_body(origin: &str, text: &str, span: Span) -> Result<Body, RenderError> {
    let docs = yaml::parse_documents(text).map_err(|e| {
        if span == Span::default() {
            RenderError::yaml(origin, &e)
        } else {
            RenderError::invalid(origin, span, format!("invalid patch: {e}"))
        }
    })?;
    if let [doc] = docs.as_slice()
        && doc.root.is_seq()
    {
        return json6902::parse_ops_node(&doc.root)
            .map(Body::Json)
            .map_err(|e| RenderError::invalid(origin, span, format!("invalid JSON patch: {e}")));
    }
    let docs = smp_documents(origin, text, span)?;
    if docs.is_empty() {
        return Err(RenderError::invalid(
            origin,
            span,
            format!("unable to parse SM or JSON patch from {}", first_line(text)),
        ));
    }
    Ok(Body::Smp(docs))
}

/// The non-empty documents of a strategic-merge patch text; each must be a mapping.
fn smp_documents(origin: &str, text: &str, span: Span) -> Result<Vec<Node>, RenderError> {
    let docs = yaml::parse_documents(text).map_err(|e| {
        if origin.ends_with(".yaml") || origin.ends_with(".yml") || origin.ends_with(".json") {
            RenderError::yaml(origin, &e)
        } else {
            RenderError::invalid(origin, span, format!("invalid patch: {e}"))
        }
    })?;
    let mut out = Vec::new();
    for doc in docs {
        let node = doc.root;
        if node.is_null() || node.as_map().is_some_and(<[(Node, Node)]>::is_empty) {
            continue;
        }
        if !node.is_map() {
            return Err(RenderError::invalid(
                origin,
                node.span,
                format!(
                    "a strategic-merge patch must be a mapping, not a {}",
                    node.kind_name()
                ),
            ));
        }
        out.push(node);
    }
    Ok(out)
}

fn first_line(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or("");
    if text.trim().lines().nth(1).is_some() {
        format!("'{line} ...'")
    } else {
        format!("'{line}'")
    }
}

/// Applies one patch to the resource list.
///
/// # Errors
/// A patch without its unique target, or one that fails to apply.
pub fn apply(
    resources: &mut Vec<Resource>,
    patch: &Patch,
    schemas: &dyn SchemaLookup,
) -> Result<(), RenderError> {
    let fail = |message: String| RenderError::invalid(&patch.file, patch.span, message);
    match (&patch.body, &patch.target) {
        (Body::Smp(docs), None) => {
            for doc in docs {
                let id = patch_id(doc);
                let matches: Vec<usize> = resources
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.any_id(|other| other.equals(&id)))
                    .map(|(i, _)| i)
                    .collect();
                let index = match matches.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(fail(format!(
                            "no matches for Id {id}; failed to find unique target for patch {id}"
                        )));
                    }
                    _ => {
                        return Err(fail(format!(
                            "multiple matches for Id {id}; failed to find unique target for patch {id}"
                        )));
                    }
                };
                apply_smp(resources, index, doc, patch, schemas).map_err(fail)?;
            }
            Ok(())
        }
        (Body::Smp(docs), Some(target)) => {
            for doc in docs {
                let selected: Vec<ResId> = resources
                    .iter()
                    .filter(|r| target.matches(r))
                    .map(Resource::cur_id)
                    .collect();
                let mut i = 0;
                while i < resources.len() {
                    if selected.contains(&resources[i].cur_id()) {
                        let mut copy = doc.clone();
                        let api_version = resources[i].api_version().to_owned();
                        copy.set("apiVersion", Node::string(api_version));
                        if copy.field("kind").is_none() {
                            copy.set("kind", Node::string(resources[i].kind()));
                        }
                        let before = resources.len();
                        apply_smp(resources, i, &copy, patch, schemas).map_err(fail)?;
                        if resources.len() == before {
                            i += 1;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            Ok(())
        }
        (Body::Json(ops), Some(target)) => {
            for r in resources.iter_mut().filter(|r| target.matches(r)) {
                r.store_previous_id();
                json6902::apply_to_resource(r, ops).map_err(|e| fail(e.to_string()))?;
            }
            Ok(())
        }
        (Body::Json(_), None) => Err(fail("must specify a target for a JSON patch".to_owned())),
    }
}

fn apply_smp(
    resources: &mut Vec<Resource>,
    index: usize,
    doc: &Node,
    patch: &Patch,
    schemas: &dyn SchemaLookup,
) -> Result<(), String> {
    let outcome = apply_sm_patch_to_resource(
        &mut resources[index],
        doc,
        patch.allow_name_change,
        patch.allow_kind_change,
        schemas,
    )
    .map_err(|e| e.to_string())?;
    if outcome == SmpOutcome::Deleted {
        resources.remove(index);
    }
    Ok(())
}

/// The id a strategic-merge patch names (its apiVersion, kind, name and namespace).
fn patch_id(doc: &Node) -> ResId {
    let text = |keys: &[&str]| {
        doc.path(keys)
            .filter(|n| !n.is_null())
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_owned()
    };
    ResId {
        gvk: Gvk::from_api_version(&text(&["apiVersion"]), &text(&["kind"])),
        name: text(&["metadata", "name"]),
        namespace: text(&["metadata", "namespace"]),
    }
}
