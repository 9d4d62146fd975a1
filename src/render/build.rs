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
use std::sync::{Arc, Mutex, OnceLock};

use super::fieldspec::{self, TransformerConfig};
use super::generate::{self, GeneratorKind};
use super::images::ImageEntry;
use super::kustomization::{Kustomization, display_dir, join};
use super::openapi::CustomSchemas;
use super::order::SortOrder;
use super::resource::{Behavior, Origin, Resource};
use super::smp::{BuiltinSchemas, SchemaLookup};
use super::transform::{self, End};
use super::vars::{self, Var};
use super::{Files, RenderError};
use super::{crds, ksops, nameref, patch, plugins, replacements};
use crate::yaml::{self, Node, Span};

/// The result of accumulating one kustomization: kustomize's `ResAccumulator`.
#[derive(Debug, Clone, Default)]
pub struct Accumulated {
    /// The objects, in accumulation order.
    pub resources: Vec<Resource>,
    /// The transformer configuration: built-in, plus every `configurations:` file of this
    /// kustomization and the ones it includes.
    pub config: Option<Arc<TransformerConfig>>,
    /// The vars of this kustomization and the ones it includes.
    pub vars: Vec<Var>,
}

impl Accumulated {
    /// The configuration in force (the built-in one when nothing was merged yet).
    #[must_use]
    pub fn config(&self) -> &TransformerConfig {
        self.config
            .as_deref()
            .unwrap_or_else(|| TransformerConfig::builtin_merged())
    }

    /// kustomize's `MergeConfig`, sharing the common case (nothing but the built-in
    /// configuration on both sides) instead of merging it again.
    fn merge_config(&mut self, other: &Arc<TransformerConfig>) -> Result<(), String> {
        match &mut self.config {
            None => self.config = Some(Arc::clone(other)),
            Some(mine) if Arc::ptr_eq(mine, other) => {}
            Some(mine) => Arc::make_mut(mine)
                .merge(other)
                .map_err(|e| e.to_string())?,
        }
        Ok(())
    }

    /// kustomize's `MergeAccumulator`: objects appended (ids must not collide), configuration
    /// and vars merged.
    fn absorb_child(
        &mut self,
        child: Accumulated,
        file: &str,
        span: Span,
    ) -> Result<(), RenderError> {
        for r in child.resources {
            append(self, r, file, span)?;
        }
        if let Some(config) = &child.config {
            self.merge_config(config)
                .map_err(|m| RenderError::invalid(file, span, m))?;
        }
        for var in child.vars {
            if self.vars.iter().any(|v| v.name == var.name) {
                return Err(RenderError::invalid(
                    file,
                    span,
                    format!("var '{}' already encountered", var.name),
                ));
            }
            self.vars.push(var);
        }
        Ok(())
    }
}

/// `buildMetadata:` of the top kustomization (it applies to every level of the build).
#[derive(Debug, Default)]
struct BuildMetadata {
    origin: bool,
    transformers: bool,
    managed_by: bool,
}

impl BuildMetadata {
    fn from_kustomization(k: &Kustomization) -> Result<BuildMetadata, RenderError> {
        let mut meta = BuildMetadata::default();
        for entry in k.list("buildMetadata") {
            match entry.as_str() {
                Some("originAnnotations") => meta.origin = true,
                Some("transformerAnnotations") => meta.transformers = true,
                Some("managedByLabel") => meta.managed_by = true,
                other => {
                    return Err(RenderError::invalid(
                        &k.file,
                        entry.span,
                        format!(
                            "buildMetadata option {:?} is not one of originAnnotations, \
                             transformerAnnotations, managedByLabel",
                            other.unwrap_or("")
                        ),
                    ));
                }
            }
        }
        Ok(meta)
    }

    fn any(&self) -> bool {
        self.origin || self.transformers || self.managed_by
    }

    /// Adds the provenance annotations and label kustomize adds for these options.
    fn annotate(&self, r: &mut Resource, top: &str) {
        if self.origin {
            let text = match &r.generated_by {
                Some((api_version, kind, name)) => {
                    let mut t = format!(
                        "configuredIn: {}\nconfiguredBy:\n  apiVersion: {api_version}\n  kind: {kind}\n",
                        relative_to(top, &r.origin.file)
                    );
                    if !name.is_empty() {
                        t.push_str(&format!("  name: {name}\n"));
                    }
                    t
                }
                None => format!("path: {}\n", relative_to(top, &r.origin.file)),
            };
            set_annotation(&mut r.node, "config.kubernetes.io/origin", text);
        }
        if self.transformers && !r.transformations.is_empty() {
            let mut text = String::new();
            for (file, kind) in &r.transformations {
                text.push_str(&format!(
                    "- configuredIn: {}\n  configuredBy:\n    apiVersion: builtin\n    kind: {kind}\n",
                    relative_to(top, file)
                ));
            }
            set_annotation(
                &mut r.node,
                "alpha.config.kubernetes.io/transformations",
                text,
            );
        }
        if self.managed_by {
            // The version kustomize reports when built into kubectl.
            r.node.map_path(&["metadata", "labels"]).set(
                "app.kubernetes.io/managed-by",
                Node::string("kustomize-(devel)"),
            );
        }
    }
}

fn set_annotation(node: &mut Node, key: &str, value: String) {
    node.map_path(&["metadata", "annotations"])
        .set(key, Node::scalar(value, crate::yaml::ScalarStyle::Literal));
}

/// `path` relative to the directory `top` (both normalised the same way), with `..` where
/// it lies outside: what `filepath.Join(origin.Path, file)` gives in kustomize.
fn relative_to(top: &str, path: &str) -> String {
    let top: Vec<&str> = top.split('/').filter(|s| !s.is_empty()).collect();
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let common = top.iter().zip(&parts).take_while(|(a, b)| a == b).count();
    let mut out: Vec<&str> = std::iter::repeat_n("..", top.len() - common).collect();
    out.extend(&parts[common..]);
    out.join("/")
}

/// A memoised build: the directory, and the top directory when provenance is tracked.
type CacheKey = (String, Option<String>);

/// State of one walk through the kustomization graph.
struct Walk {
    /// The directories being built, outermost first (for cycle detection).
    chain: Vec<String>,
    /// The top kustomization's directory when `buildMetadata` asks for provenance
    /// annotations (`originAnnotations`, `transformerAnnotations`), which every level records.
    track: Option<String>,
}

/// The built-in configuration, shared.
fn builtin_config() -> Arc<TransformerConfig> {
    static SHARED: OnceLock<Arc<TransformerConfig>> = OnceLock::new();
    Arc::clone(SHARED.get_or_init(|| Arc::new(TransformerConfig::builtin_merged().clone())))
}

/// Builds kustomizations, sharing work between builds (see the module header).
pub struct Renderer<'f> {
    files: &'f dyn Files,
    identities: Vec<age::x25519::Identity>,
    cache: Mutex<HashMap<CacheKey, Arc<Result<Accumulated, RenderError>>>>,
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
            identities: Vec::new(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The age identities given by [`Renderer::with_identities`].
    #[must_use]
    pub fn identities(&self) -> &[age::x25519::Identity] {
        &self.identities
    }

    /// The age identities that decrypt SOPS files for KSOPS generators.
    #[must_use]
    pub fn with_identities(mut self, identities: Vec<age::x25519::Identity>) -> Renderer<'f> {
        self.identities = identities;
        self
    }

    /// Builds the kustomization in `dir`: the objects `kustomize build` prints, in order.
    ///
    /// # Errors
    /// The first [`RenderError`] of the build.
    pub fn render(&self, dir: &str) -> Result<Vec<Resource>, RenderError> {
        self.render_with_images(dir, &[])
    }

    /// [`Renderer::render`] as if `kustomize edit set image` had added `images` to the
    /// kustomization in `dir` (an entry replaces the kustomization's entry of the same name).
    ///
    /// # Errors
    /// The first [`RenderError`] of the build.
    pub fn render_with_images(
        &self,
        dir: &str,
        images: &[ImageEntry],
    ) -> Result<Vec<Resource>, RenderError> {
        let dir = self.normalize(dir, dir)?;
        // A component can be built on its own: it then runs on an empty accumulation.
        let k = Kustomization::load(self.files, &dir)?;
        let sort = SortOrder::from_node(k.get("sortOptions"))
            .map_err(|m| RenderError::invalid(&k.file, Span::default(), m))?;
        let meta = BuildMetadata::from_kustomization(&k)?;
        let mut walk = Walk {
            chain: vec![dir.clone()],
            track: meta.any().then(|| dir.clone()),
        };
        let mut acc = self.accumulate(&k, Accumulated::default(), &mut walk, images)?;
        self.finish(&k, &mut acc)?;
        let mut resources = acc.resources;
        sort.sort(&mut resources);
        for r in &mut resources {
            meta.annotate(r, &dir);
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
    fn base(&self, dir: &str, walk: &mut Walk) -> Result<Accumulated, RenderError> {
        let key = (dir.to_owned(), walk.track.clone());
        if let Some(done) = self.cached(&key) {
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
            self.accumulate(&k, Accumulated::default(), walk, &[])
        });
        let shared = Arc::new(result);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, Arc::clone(&shared));
        }
        (*shared).clone()
    }

    fn cached(&self, key: &CacheKey) -> Option<Arc<Result<Accumulated, RenderError>>> {
        self.cache.lock().ok()?.get(key).cloned()
    }

    /// kustomize's `accumulateTarget`: `acc` is empty for a kustomization and the parent's
    /// accumulation for a component.
    fn accumulate(
        &self,
        k: &Kustomization,
        mut acc: Accumulated,
        walk: &mut Walk,
        set_images: &[ImageEntry],
    ) -> Result<Accumulated, RenderError> {
        refuse_unsupported(k)?;
        for entry in k.resources() {
            self.accumulate_resource(k, entry, &mut acc, walk)?;
        }
        self.merge_configurations(k, &mut acc)?;
        self.run_generators(k, &mut acc, walk)?;
        for entry in k.list("components") {
            let (raw, span) = entry_text(k, entry)?;
            let dir = self.normalize(&k.file, &join(&k.dir, raw))?;
            if walk.chain.contains(&dir) {
                return Err(cycle(k, &walk.chain, &dir));
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
            walk.chain.push(dir);
            acc = self.accumulate(&sub, acc, walk, &[])?;
            walk.chain.pop();
        }
        self.run_transformers(k, &mut acc, walk, set_images)?;
        let mut own_vars = Vec::new();
        for entry in k.list("vars") {
            own_vars.push(
                Var::from_node(entry).map_err(|m| RenderError::invalid(&k.file, entry.span, m))?,
            );
        }
        vars::bind(&mut acc.resources, &own_vars, &acc.vars)
            .map_err(|m| RenderError::invalid(&k.file, Span::default(), m))?;
        acc.vars.extend(own_vars);
        Ok(acc)
    }

    /// The built-in configuration plus this kustomization's `configurations:` files, merged
    /// into the accumulation's.
    fn merge_configurations(
        &self,
        k: &Kustomization,
        acc: &mut Accumulated,
    ) -> Result<(), RenderError> {
        let files = k.list("configurations");
        let crd_files = k.list("crds");
        if files.is_empty() && crd_files.is_empty() {
            return acc
                .merge_config(&builtin_config())
                .map_err(|m| RenderError::invalid(&k.file, Span::default(), m));
        }
        let mut own = TransformerConfig::builtin().clone();
        for entry in files {
            let (raw, span) = entry_text(k, entry)?;
            let path = self.normalize(&k.file, &join(&k.dir, raw))?;
            check_root_only(k, &path, span)?;
            let text = self.files.read_text(&path)?;
            let docs = yaml::parse_documents(&text).map_err(|e| RenderError::yaml(&path, &e))?;
            for doc in docs {
                let config = TransformerConfig::from_yaml(&doc.root)
                    .map_err(|e| RenderError::invalid(&path, doc.root.span, e.to_string()))?;
                own.merge(&config)
                    .map_err(|e| RenderError::invalid(&k.file, span, e.to_string()))?;
            }
        }
        for entry in crd_files {
            let (raw, span) = entry_text(k, entry)?;
            let path = self.normalize(&k.file, &join(&k.dir, raw))?;
            check_root_only(k, &path, span)?;
            let text = self.files.read_text(&path)?;
            let config = crds::config_from_crd_file(&text)
                .map_err(|m| RenderError::invalid(&path, Span::default(), m))?;
            own.merge(&config)
                .map_err(|e| RenderError::invalid(&k.file, span, e.to_string()))?;
        }
        acc.merge_config(&Arc::new(own))
            .map_err(|m| RenderError::invalid(&k.file, Span::default(), m))
    }

    /// The built-in transformers, in kustomize's order.
    fn run_transformers(
        &self,
        k: &Kustomization,
        acc: &mut Accumulated,
        walk: &mut Walk,
        set_images: &[ImageEntry],
    ) -> Result<(), RenderError> {
        let at = |span: Span| {
            move |e: transform::TransformError| RenderError::invalid(&k.file, span, e.0)
        };
        let field_span = |field: &str| k.get(field).map(|n| n.span).unwrap_or_default();
        let custom = self.openapi(k)?;
        let schemas: &dyn SchemaLookup = match &custom {
            Some(c) => c,
            None => &BuiltinSchemas,
        };
        let track = walk.track.is_some();
        let record = |acc: &mut Accumulated, kind: &str| {
            if track {
                for r in &mut acc.resources {
                    r.transformations.push((k.file.clone(), kind.to_owned()));
                }
            }
        };
        let strategic = k.list("patchesStrategicMerge").len();
        for (i, p) in patch::load_patches(self.files, k)?.iter().enumerate() {
            patch::apply(&mut acc.resources, p, schemas)?;
            if i + 1 == strategic {
                record(acc, "PatchStrategicMergeTransformer");
            } else if i >= strategic {
                record(acc, "PatchTransformer");
            }
        }
        let config_arc = acc.config.clone().unwrap_or_else(builtin_config);
        let config: &TransformerConfig = &config_arc;
        if let Some(ns) = k.str("namespace").filter(|s| !s.is_empty()) {
            transform::namespace(&mut acc.resources, ns, config)
                .map_err(at(field_span("namespace")))?;
            record(acc, "NamespaceTransformer");
        }
        if let Some(prefix) = k.str("namePrefix") {
            transform::rename(&mut acc.resources, prefix, End::Prefix, &config.name_prefix)
                .map_err(at(field_span("namePrefix")))?;
            if !prefix.is_empty() {
                record(acc, "PrefixTransformer");
            }
        }
        if let Some(suffix) = k.str("nameSuffix") {
            transform::rename(&mut acc.resources, suffix, End::Suffix, &config.name_suffix)
                .map_err(at(field_span("nameSuffix")))?;
            if !suffix.is_empty() {
                record(acc, "SuffixTransformer");
            }
        }
        for entry in k.list("labels") {
            let pairs = entry
                .get_ignore_case("pairs")
                .and_then(Node::as_map)
                .unwrap_or_default();
            let pairs = transform::string_pairs(pairs).map_err(at(entry.span))?;
            let flag =
                |name: &str| entry.get_ignore_case(name).and_then(Node::as_str) == Some("true");
            let own = match entry.get_ignore_case("fields") {
                Some(node) => fieldspec::parse_specs(node)
                    .map_err(|e| RenderError::invalid(&k.file, node.span, e.to_string()))?,
                None => Vec::new(),
            };
            let specs = fieldspec::label_field_specs(
                &own,
                flag("includeSelectors"),
                flag("includeTemplates"),
                config,
            )
            .map_err(|e| RenderError::invalid(&k.file, entry.span, e.to_string()))?;
            transform::set_pairs(&mut acc.resources, &pairs, &specs).map_err(at(entry.span))?;
            record(acc, "LabelTransformer");
        }
        let common = transform::string_pairs(k.pairs("commonLabels"))
            .map_err(at(field_span("commonLabels")))?;
        transform::set_pairs(&mut acc.resources, &common, &config.common_labels)
            .map_err(at(field_span("commonLabels")))?;
        if !k.list("labels").is_empty() || !common.is_empty() {
            record(acc, "LabelTransformer");
        }
        let annotations = transform::string_pairs(k.pairs("commonAnnotations"))
            .map_err(at(field_span("commonAnnotations")))?;
        transform::set_pairs(&mut acc.resources, &annotations, &config.common_annotations)
            .map_err(at(field_span("commonAnnotations")))?;
        if !annotations.is_empty() {
            record(acc, "AnnotationsTransformer");
        }
        for p in patch::load_json6902(self.files, k)? {
            patch::apply(&mut acc.resources, &p, schemas)?;
            record(acc, "PatchJson6902Transformer");
        }
        for entry in k.list("replicas") {
            let name = entry
                .get_ignore_case("name")
                .and_then(Node::as_str)
                .unwrap_or("");
            let count = entry
                .get_ignore_case("count")
                .and_then(Node::as_str)
                .and_then(|c| c.parse::<i64>().ok())
                .ok_or_else(|| {
                    RenderError::invalid(
                        &k.file,
                        entry.span,
                        "replicas need a name and an integer count".to_owned(),
                    )
                })?;
            transform::replicas(&mut acc.resources, name, count, &config.replicas)
                .map_err(at(entry.span))?;
            record(acc, "ReplicaCountTransformer");
        }
        let mut images: Vec<(ImageEntry, Span)> = Vec::new();
        for entry in k.images() {
            let image = ImageEntry::from_node(entry)
                .map_err(|e| RenderError::invalid(&k.file, entry.span, e.to_string()))?;
            let image = match set_images.iter().find(|s| s.name == image.name) {
                Some(set) => set.clone(),
                None => image,
            };
            images.push((image, entry.span));
        }
        for set in set_images {
            if !images.iter().any(|(i, _)| i.name == set.name) {
                images.push((set.clone(), Span::default()));
            }
        }
        for (image, span) in &images {
            transform::image(&mut acc.resources, image, &config.images).map_err(at(*span))?;
            record(acc, "ImageTagTransformer");
        }
        let mut replacements = Vec::new();
        for entry in k.list("replacements") {
            let invalid = |e: replacements::ReplacementError| {
                RenderError::invalid(&k.file, entry.span, e.to_string())
            };
            match replacements::replacement_path(entry).map_err(invalid)? {
                Some(raw) => {
                    let path = self.normalize(&k.file, &join(&k.dir, &raw))?;
                    check_root_only(k, &path, entry.span)?;
                    let text = self.files.read_text(&path)?;
                    for doc in
                        yaml::parse_documents(&text).map_err(|e| RenderError::yaml(&path, &e))?
                    {
                        replacements.extend(
                            replacements::replacements_from_file(&doc.root).map_err(|e| {
                                RenderError::invalid(&path, doc.root.span, e.to_string())
                            })?,
                        );
                    }
                }
                None => replacements.push(entry.clone()),
            }
        }
        if !replacements.is_empty() {
            replacements::apply_replacements(&mut acc.resources, &replacements).map_err(|e| {
                RenderError::invalid(&k.file, field_span("replacements"), e.to_string())
            })?;
            record(acc, "ReplacementTransformer");
        }
        for entry in k.list("transformers") {
            let ctx = plugins::Ctx {
                files: self.files,
                k,
                span: entry.span,
                schemas,
            };
            for config in self.plugin_configs(k, entry, walk)? {
                plugins::transform(&ctx, &config, &mut acc.resources, &config_arc)?;
            }
        }
        Ok(())
    }

    /// The custom schema of `openapi: {path: FILE}`, if the kustomization has one (`openapi:
    /// {version: ...}` selects kustomize's built-in schema, which is the only one kiln has).
    fn openapi(&self, k: &Kustomization) -> Result<Option<CustomSchemas>, RenderError> {
        let Some(node) = k.get("openapi") else {
            return Ok(None);
        };
        let Some(raw) = node.get_ignore_case("path").and_then(Node::as_str) else {
            return Ok(None);
        };
        let path = self.normalize(&k.file, &join(&k.dir, raw))?;
        check_root_only(k, &path, node.span)?;
        let text = self.files.read_text(&path)?;
        CustomSchemas::parse(&text)
            .map(Some)
            .map_err(|m| RenderError::invalid(&path, Span::default(), m))
    }

    /// The configuration objects of a `transformers:`/`generators:` entry: inline YAML, or the
    /// objects of a file or kustomization directory.
    fn plugin_configs(
        &self,
        k: &Kustomization,
        entry: &Node,
        walk: &mut Walk,
    ) -> Result<Vec<Node>, RenderError> {
        let (raw, span) = entry_text(k, entry)?;
        if raw.contains('\n')
            && let Ok(docs) = yaml::parse_documents(raw)
            && docs.iter().any(|d| d.root.is_map())
        {
            return Ok(docs
                .into_iter()
                .map(|d| d.root)
                .filter(|n| !is_nil_or_empty(n))
                .collect());
        }
        let mut acc = Accumulated::default();
        self.accumulate_resource(k, entry, &mut acc, walk)?;
        let _ = span;
        Ok(acc.resources.into_iter().map(|r| r.node).collect())
    }

    fn accumulate_resource(
        &self,
        k: &Kustomization,
        entry: &Node,
        acc: &mut Accumulated,
        walk: &mut Walk,
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
            if walk.chain.contains(&path) {
                return Err(cycle(k, &walk.chain, &path));
            }
            walk.chain.push(path.clone());
            let sub = self.base(&path, walk);
            walk.chain.pop();
            let sub = sub.map_err(|e| match e {
                RenderError::MissingKustomization { dir } => RenderError::invalid(
                    &k.file,
                    span,
                    format!("'{raw}' is a directory without a kustomization file ({dir})"),
                ),
                other => other,
            })?;
            acc.absorb_child(sub, &k.file, span)?;
            return Ok(());
        }
        Err(RenderError::invalid(
            &k.file,
            span,
            format!("resource '{raw}' does not exist: it must be a file or a directory"),
        ))
    }

    /// `configMapGenerator` then `secretGenerator`: each object is added, or merged into (or
    /// replaces) the object it names, per its `behavior` (kustomize's `AbsorbAll`).
    fn run_generators(
        &self,
        k: &Kustomization,
        acc: &mut Accumulated,
        walk: &mut Walk,
    ) -> Result<(), RenderError> {
        let options = k.get("generatorOptions");
        let decrypted = std::cell::Cell::new(false);
        let read = |raw: &str| -> Result<Vec<u8>, String> {
            let path = self
                .files
                .normalize(&join(&k.dir, raw))
                .ok_or_else(|| format!("'{raw}' leaves the repository"))?;
            check_root_only(k, &path, Span::default()).map_err(|e| e.to_string())?;
            let bytes = self.files.read(&path).map_err(|e| e.to_string())?;
            if !looks_like_sops(&bytes) {
                return Ok(bytes);
            }
            // A SOPS-encrypted generator input is decrypted, as with KSOPS.
            decrypted.set(true);
            let format = crate::secrets::sops::Format::from_path(std::path::Path::new(&path));
            let plain = crate::secrets::sops::decrypt(format, &bytes, &self.identities)
                .and_then(|d| d.document())
                .map_err(|e| format!("cannot decrypt the SOPS file {path}: {e}"))?;
            Ok(plain.to_vec())
        };
        for (field, kind) in [
            ("configMapGenerator", GeneratorKind::ConfigMap),
            ("secretGenerator", GeneratorKind::Secret),
        ] {
            for entry in k.list(field) {
                let origin = Origin {
                    file: k.file.clone(),
                    span: entry.span,
                };
                decrypted.set(false);
                let mut generated = generate::generate(kind, entry, options, &read, origin)
                    .map_err(|e| RenderError::invalid(&k.file, entry.span, e.to_string()))?;
                generated.sensitive = decrypted.get();
                generated.generated_by = Some((
                    "builtin".to_owned(),
                    format!("{}Generator", kind.kind()),
                    String::new(),
                ));
                absorb(acc, generated).map_err(|m| RenderError::invalid(&k.file, entry.span, m))?;
            }
        }
        for entry in k.list("generators") {
            for config in self.plugin_configs(k, entry, walk)? {
                let generated = if ksops::is_ksops(&config) {
                    ksops::generate(self.files, k, &config, entry.span, &self.identities)?
                } else {
                    return Err(RenderError::Unsupported {
                        file: k.file.clone(),
                        span: entry.span,
                        what: format!(
                            "the generator {}/{}",
                            config.field_str("apiVersion").unwrap_or(""),
                            config.field_str("kind").unwrap_or("")
                        ),
                        hint: "kiln runs no exec or container plugins; it renders KSOPS \
                               generators itself, and configMapGenerator/secretGenerator \
                               cover the built-in generators"
                            .to_owned(),
                    });
                };
                for mut r in generated {
                    r.generated_by = Some((
                        config.field_str("apiVersion").unwrap_or("").to_owned(),
                        config.field_str("kind").unwrap_or("").to_owned(),
                        config
                            .path(&["metadata", "name"])
                            .and_then(Node::as_str)
                            .unwrap_or("")
                            .to_owned(),
                    ));
                    absorb(acc, r).map_err(|m| RenderError::invalid(&k.file, entry.span, m))?;
                }
            }
        }
        Ok(())
    }

    /// The steps kustomize runs once, after the whole accumulation.
    fn finish(&self, k: &Kustomization, acc: &mut Accumulated) -> Result<(), RenderError> {
        let fail = |m: String| RenderError::invalid(&k.file, Span::default(), m);
        for r in &mut acc.resources {
            if r.needs_hash {
                let hash = generate::content_hash(&r.node).map_err(|e| {
                    RenderError::invalid(&r.origin.file, r.origin.span, e.to_string())
                })?;
                r.store_previous_id();
                let name = format!("{}-{hash}", r.name());
                r.set_name(&name);
            }
        }
        let config = acc.config.clone().unwrap_or_else(builtin_config);
        nameref::fix_name_references(&mut acc.resources, &config)
            .map_err(|e| fail(e.to_string()))?;
        if !acc.vars.is_empty() {
            let values = vars::values(&acc.resources, &acc.vars).map_err(fail)?;
            for r in &mut acc.resources {
                let gvk = r.gvk();
                for spec in config.var_reference.iter().filter(|s| s.selects(&gvk)) {
                    fieldspec::apply(&mut r.node, spec, fieldspec::Create::Nothing, &mut |n| {
                        vars::expand_node(n, &values).map_err(transform::TransformError)
                    })
                    .map_err(|e| fail(e.0))?;
                }
            }
        }
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

/// kustomize's `appendReplaceOrMerge`: a generated object with `behavior: merge|replace`
/// combines with the one object having its id (current or previous); otherwise it is appended.
fn absorb(acc: &mut Accumulated, r: Resource) -> Result<(), String> {
    let id = r.cur_id();
    let matches: Vec<usize> = acc
        .resources
        .iter()
        .enumerate()
        .filter(|(_, other)| other.any_id(|o| o.equals(&id)))
        .map(|(i, _)| i)
        .collect();
    match (matches.as_slice(), r.behavior) {
        ([], Behavior::Merge | Behavior::Replace) => {
            Err(format!("id {id} does not exist; cannot merge or replace"))
        }
        ([], _) => {
            acc.resources.push(r);
            Ok(())
        }
        ([one], Behavior::Merge | Behavior::Replace) => {
            generate::merge_generated(&mut acc.resources[*one], r).map_err(|e| e.to_string())
        }
        ([_], _) => Err(format!("id {id} exists; behavior must be merge or replace")),
        (many, _) => Err(format!(
            "found {} objects that could accept merge of {id}",
            many.len()
        )),
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

/// kustomize re-sets `metadata.labels` and `metadata.annotations` from `map[string]string`
/// before printing: their values print as strings of their source text (`1.0` stays `"1.0"`).
fn mark_metadata_strings(node: &mut Node) {
    for field in ["labels", "annotations"] {
        if let Some(map) = node
            .path_mut(&["metadata", field])
            .and_then(Node::as_map_mut)
        {
            for (_, value) in map.iter_mut() {
                if value.as_scalar().is_some() {
                    value.tag = Some("!!str".to_owned());
                }
            }
        }
    }
}

/// Whether a generator input is a SOPS file (its values are `ENC[...]` and it carries the
/// `sops` metadata), to be decrypted before use.
fn looks_like_sops(bytes: &[u8]) -> bool {
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    has(b"ENC[AES256_GCM,data:") && (has(b"sops") || has(b"\"sops\""))
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
    mark_metadata_strings(node);
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
