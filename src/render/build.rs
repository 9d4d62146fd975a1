//! The build: kustomize's `KustTarget` accumulation, natively.
//!
//! For a kustomization directory, in kustomize's order:
//! 1. `resources` (and `bases`): files are split into objects (`List`s flattened), directories
//!    are built recursively as their own kustomizations and appended; ids must not collide;
//! 2. `configurations` and `crds` extend the transformer configuration;
//! 3. `configMapGenerator` and `secretGenerator` add (or merge into, or replace) objects;
//! 4. `components` run on the accumulated objects, each as if its kustomization were part of
//!    this one;
//! 5. the built-in transformers: strategic-merge patches, `patches`, `namespace`, `namePrefix`,
//!    `nameSuffix`, `labels`/`commonLabels`, `commonAnnotations`, JSON 6902 patches,
//!    `replicas`, `images`, `replacements`; then `transformers:` entries;
//! 6. `vars` are collected.
//!
//! At the top only: generated names get their hash suffix, name references are fixed, vars are
//! resolved, objects marked `config.kubernetes.io/local-config` are dropped, and the result is
//! sorted ([`super::order`]).
//!
//! [`Renderer`] memoises step 1's recursive builds per directory, so a base shared by many
//! overlays is read, parsed and built once per [`Renderer`] (once per `kiln compile`).
//!
//! This module owns the pipeline and the resource list's invariants (unique ids). The
//! individual transformations live in their own modules.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::kustomization::{Kustomization, display_dir, join};
use super::order::SortOrder;
use super::resource::{Origin, Resource};
use super::{Files, RenderError};
use crate::yaml::{self, Node, Span};

/// The result of accumulating one kustomization: kustomize's `ResAccumulator`.
#[derive(Debug, Clone, Default)]
pub struct Accumulated {
    /// The objects, in accumulation order.
    pub resources: Vec<Resource>,
}

/// Builds kustomizations, sharing work between builds (see the module header).
pub struct Renderer<'f> {
    files: &'f dyn Files,
    cache: Mutex<HashMap<String, Arc<Result<Accumulated, RenderError>>>>,
}

/// Builds the kustomization in `dir` once, as `kustomize build dir` does.
///
/// # Errors
/// The first [`RenderError`] of the build.
pub fn render_dir(files: &dyn Files, dir: &str) -> Result<Vec<Resource>, RenderError> {
    Renderer::new(files).render(dir)
}

impl<'f> Renderer<'f> {
    /// A renderer reading through `files`.
    #[must_use]
    pub fn new(files: &'f dyn Files) -> Renderer<'f> {
        Renderer {
            files,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Builds the kustomization in `dir`: the objects `kustomize build` prints, in order.
    ///
    /// # Errors
    /// The first [`RenderError`] of the build.
    pub fn render(&self, dir: &str) -> Result<Vec<Resource>, RenderError> {
        let dir = self.normalize(dir, dir)?;
        // A component can be built on its own: it then runs on an empty accumulation.
        let k = Kustomization::load(self.files, &dir)?;
        let sort = SortOrder::from_node(k.get("sortOptions"))
            .map_err(|m| RenderError::invalid(&k.file, Span::default(), m))?;
        let mut acc = self.accumulate(&k, Accumulated::default(), &mut vec![dir.clone()])?;
        self.finish(&k, &mut acc)?;
        let mut resources = acc.resources;
        sort.sort(&mut resources);
        for r in &mut resources {
            tidy_for_output(&mut r.node);
        }
        Ok(resources)
    }

    fn normalize(&self, file: &str, path: &str) -> Result<String, RenderError> {
        self.files.normalize(path).ok_or_else(|| {
            RenderError::invalid(
                file,
                Span::default(),
                format!("path '{path}' leaves the repository"),
            )
        })
    }

    /// Accumulates a base (a non-component directory), memoised.
    fn base(&self, dir: &str, chain: &mut Vec<String>) -> Result<Accumulated, RenderError> {
        if let Some(done) = self.cached(dir) {
            return (*done).clone();
        }
        let result = Kustomization::load(self.files, dir).and_then(|k| {
            if k.is_component() {
                return Err(RenderError::invalid(
                    &k.file,
                    Span::default(),
                    format!("expected kind != 'Component' for path '{dir}'"),
                ));
            }
            self.accumulate(&k, Accumulated::default(), chain)
        });
        let shared = Arc::new(result);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(dir.to_owned(), Arc::clone(&shared));
        }
        (*shared).clone()
    }

    fn cached(&self, dir: &str) -> Option<Arc<Result<Accumulated, RenderError>>> {
        self.cache.lock().ok()?.get(dir).cloned()
    }

    /// kustomize's `accumulateTarget`: `acc` is empty for a kustomization and the parent's
    /// accumulation for a component.
    fn accumulate(
        &self,
        k: &Kustomization,
        mut acc: Accumulated,
        chain: &mut Vec<String>,
    ) -> Result<Accumulated, RenderError> {
        refuse_unsupported(k)?;
        for entry in k.resources() {
            self.accumulate_resource(k, entry, &mut acc, chain)?;
        }
        for entry in k.list("components") {
            let (raw, span) = entry_text(k, entry)?;
            let dir = self.normalize(&k.file, &join(&k.dir, raw))?;
            if chain.contains(&dir) {
                return Err(cycle(k, chain, &dir));
            }
            let sub = Kustomization::load(self.files, &dir).map_err(|e| match e {
                RenderError::MissingKustomization { .. } => RenderError::invalid(
                    &k.file,
                    span,
                    format!("component '{raw}' is not a directory with a kustomization"),
                ),
                other => other,
            })?;
            if !sub.is_component() {
                return Err(RenderError::invalid(
                    &k.file,
                    span,
                    format!("expected kind 'Component' for path '{dir}'"),
                ));
            }
            chain.push(dir);
            acc = self.accumulate(&sub, acc, chain)?;
            chain.pop();
        }
        Ok(acc)
    }

    fn accumulate_resource(
        &self,
        k: &Kustomization,
        entry: &Node,
        acc: &mut Accumulated,
        chain: &mut Vec<String>,
    ) -> Result<(), RenderError> {
        let (raw, span) = entry_text(k, entry)?;
        if crate::discover::is_remote(raw) {
            return Err(RenderError::Unsupported {
                file: k.file.clone(),
                span,
                what: format!("the remote resource '{raw}'"),
                hint: "kiln never uses the network: vendor the base into the repository and \
                       refer to it by a relative path"
                    .to_owned(),
            });
        }
        let path = self.normalize(&k.file, &join(&k.dir, raw))?;
        if self.files.is_file(&path) {
            check_root_only(k, &path, span)?;
            let text = self.files.read_text(&path)?;
            for r in resources_from_text(&path, &text)? {
                append(acc, r, &k.file, span)?;
            }
            return Ok(());
        }
        if self.files.is_dir(&path) {
            if chain.contains(&path) {
                return Err(cycle(k, chain, &path));
            }
            chain.push(path.clone());
            let sub = self.base(&path, chain);
            chain.pop();
            let sub = sub.map_err(|e| match e {
                RenderError::MissingKustomization { dir } => RenderError::invalid(
                    &k.file,
                    span,
                    format!("'{raw}' is a directory without a kustomization file ({dir})"),
                ),
                other => other,
            })?;
            for r in sub.resources {
                append(acc, r, &k.file, span)?;
            }
            return Ok(());
        }
        Err(RenderError::invalid(
            &k.file,
            span,
            format!("resource '{raw}' does not exist: it must be a file or a directory"),
        ))
    }

    /// The steps kustomize runs once, after the whole accumulation.
    fn finish(&self, _k: &Kustomization, acc: &mut Accumulated) -> Result<(), RenderError> {
        acc.resources.retain(|r| !is_local_config(&r.node));
        Ok(())
    }
}

/// The text of a list entry that must be a string (a path).
fn entry_text<'k>(k: &Kustomization, entry: &'k Node) -> Result<(&'k str, Span), RenderError> {
    match entry.as_str() {
        Some(s) if !entry.is_null() => Ok((s, entry.span)),
        _ => Err(RenderError::invalid(
            &k.file,
            entry.span,
            format!("expected a path, found a {}", entry.kind_name()),
        )),
    }
}

fn cycle(k: &Kustomization, chain: &[String], dir: &str) -> RenderError {
    let mut chain: Vec<String> = chain.iter().map(|d| display_dir(d).to_owned()).collect();
    chain.push(display_dir(dir).to_owned());
    RenderError::Cycle {
        file: k.file.clone(),
        chain,
    }
}

/// kustomize's default load restrictor: files a kustomization reads must be inside its
/// directory.
pub(crate) fn check_root_only(
    k: &Kustomization,
    path: &str,
    span: Span,
) -> Result<(), RenderError> {
    let inside = k.dir.is_empty() || path.starts_with(&format!("{}/", k.dir.trim_end_matches('/')));
    if inside {
        Ok(())
    } else {
        Err(RenderError::invalid(
            &k.file,
            span,
            format!(
                "security; file '{path}' is not in or below '{}' (kustomize's load restrictor)",
                k.dir
            ),
        ))
    }
}

/// Appends with kustomize's id check (`resWrangler.Append`).
fn append(acc: &mut Accumulated, r: Resource, file: &str, span: Span) -> Result<(), RenderError> {
    let id = r.cur_id();
    if acc.resources.iter().any(|other| other.cur_id() == id) {
        return Err(RenderError::invalid(
            file,
            span,
            format!("may not add resource with an already registered id: {id}"),
        ));
    }
    acc.resources.push(r);
    Ok(())
}

/// Splits a file into objects as kustomize's resource factory does: empty documents dropped,
/// every object must have `kind` (and `metadata.name` unless it is a list), and `*List` kinds
/// with `items` replaced by their items, which go after the file's other objects.
///
/// # Errors
/// Invalid YAML or an object without the required fields.
pub fn resources_from_text(path: &str, text: &str) -> Result<Vec<Resource>, RenderError> {
    let docs = yaml::parse_documents(text).map_err(|e| RenderError::yaml(path, &e))?;
    let mut queue: std::collections::VecDeque<Node> = docs
        .into_iter()
        .map(|d| d.root)
        .filter(|n| !is_nil_or_empty(n))
        .collect();
    let mut out = Vec::new();
    while let Some(mut node) = queue.pop_front() {
        if !node.is_map() {
            return Err(RenderError::invalid(
                path,
                node.span,
                format!(
                    "expected a mapping for a resource, found a {}",
                    node.kind_name()
                ),
            ));
        }
        node.deanchor();
        let kind = node.field_str("kind").unwrap_or("").to_owned();
        if kind.ends_with("List")
            && let Some(items) = node.field("items")
        {
            if items.is_null() {
                continue;
            }
            let Some(items) = items.as_seq() else {
                return Err(RenderError::invalid(
                    path,
                    items.span,
                    format!(
                        "expected array in {kind}/items, but found a {}",
                        items.kind_name()
                    ),
                ));
            };
            queue.extend(items.iter().filter(|n| !is_nil_or_empty(n)).cloned());
            continue;
        }
        validate_metadata(path, &node)?;
        let span = node.span;
        mark_metadata_strings(&mut node);
        out.push(Resource::new(
            node,
            Origin {
                file: path.to_owned(),
                span,
            },
        ));
    }
    Ok(out)
}

fn is_nil_or_empty(n: &Node) -> bool {
    n.is_null() || n.as_map().is_some_and(<[(Node, Node)]>::is_empty)
}

/// kyaml's `GetValidatedMetadata`: `kind` and `metadata.name` are required.
fn validate_metadata(path: &str, node: &Node) -> Result<(), RenderError> {
    if node.field_str("kind").is_none_or(str::is_empty) {
        return Err(RenderError::invalid(
            path,
            node.span,
            "missing kind in object".to_owned(),
        ));
    }
    let name = node.path(&["metadata", "name"]);
    if name.is_none_or(|n| n.is_null() || n.as_str().is_none_or(str::is_empty)) {
        let generate_name = node
            .path(&["metadata", "generateName"])
            .and_then(Node::as_str);
        if generate_name.is_none_or(str::is_empty) {
            return Err(RenderError::invalid(
                path,
                node.span,
                "missing metadata.name in object".to_owned(),
            ));
        }
    }
    Ok(())
}

/// kustomize holds `metadata.labels` and `metadata.annotations` as `map[string]string`: their
/// values print as strings of their source text (`1.0` stays `"1.0"`).
fn mark_metadata_strings(node: &mut Node) {
    for field in ["labels", "annotations"] {
        if let Some(map) = node
            .path_mut(&["metadata", field])
            .and_then(Node::as_map_mut)
        {
            for (_, value) in map.iter_mut() {
                if value.as_scalar().is_some() && !value.is_null() {
                    value.tag = Some("!!str".to_owned());
                }
            }
        }
    }
}

/// `config.kubernetes.io/local-config: "true"` objects are dropped from the output.
fn is_local_config(node: &Node) -> bool {
    node.path(&[
        "metadata",
        "annotations",
        "config.kubernetes.io/local-config",
    ])
    .and_then(Node::as_str)
        == Some("true")
}

/// What kustomize's printing removes: empty `metadata.annotations`/`metadata.labels`.
fn tidy_for_output(node: &mut Node) {
    if let Some(meta) = node.get_mut("metadata") {
        for field in ["annotations", "labels"] {
            if meta
                .field(field)
                .is_some_and(|v| v.is_null() || v.as_map().is_some_and(<[(Node, Node)]>::is_empty))
            {
                meta.remove(field);
            }
        }
    }
}

/// Fields kiln refuses because they need the network or external programs.
fn refuse_unsupported(k: &Kustomization) -> Result<(), RenderError> {
    for field in ["helmCharts", "helmChartInflationGenerator", "helmGlobals"] {
        if let Some(node) = k.get(field) {
            return Err(RenderError::Unsupported {
                file: k.file.clone(),
                span: node.span,
                what: format!("'{field}' (Helm charts inside a kustomization)"),
                hint: "render the chart with kiln's Helm support (a wrapper chart under the app) \
                       or commit the rendered manifests and list them under resources"
                    .to_owned(),
            });
        }
    }
    if let Some(node) = k.get("validators")
        && node.as_seq().is_some_and(|s| !s.is_empty())
    {
        return Err(RenderError::Unsupported {
            file: k.file.clone(),
            span: node.span,
            what: "'validators' (exec and container KRM functions)".to_owned(),
            hint: "kiln runs no plugins: use `kiln check`, which validates the rendered output"
                .to_owned(),
        });
    }
    Ok(())
}
