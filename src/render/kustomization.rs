//! A kustomization file, read the way kustomize reads it: found under one of its three names,
//! fields matched case-insensitively (Go's `encoding/json`), unknown fields refused, and the
//! deprecated spellings folded into their successors (`bases` into `resources`, `imageTags`
//! into `images`, `env` into `envs`).
//!
//! This module owns the shape of the file. It does not own what the fields mean (`render::build`
//! and the transformer modules) or reading files (`render::Files`).

use crate::yaml::{self, Node, Span};

use super::{Files, RenderError};

/// The names kustomize recognises, in its order of preference (kustomize refuses a directory
/// that has more than one).
pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Every field kustomize v5.5.0's `types.Kustomization` has (matched ignoring case).
const KNOWN_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "openapi",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patchesStrategicMerge",
    "patchesJson6902",
    "patches",
    "images",
    "imageTags",
    "replacements",
    "replicas",
    "vars",
    "sortOptions",
    "resources",
    "components",
    "crds",
    "bases",
    "configMapGenerator",
    "secretGenerator",
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "generatorOptions",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "buildMetadata",
];

/// A parsed kustomization.
#[derive(Debug, Clone)]
pub struct Kustomization {
    /// The directory (as given to [`Files`]).
    pub dir: String,
    /// The file's path.
    pub file: String,
    /// The file's root mapping, `<<` merges applied.
    pub node: Node,
}

impl Kustomization {
    /// Finds and parses the kustomization file of `dir`.
    ///
    /// # Errors
    /// [`RenderError::MissingKustomization`] when there is none, [`RenderError::Invalid`] for two
    /// kustomization files, unparsable YAML, a non-mapping root, an unknown field, or a `kind`
    /// that is neither `Kustomization` nor `Component`.
    pub fn load(files: &dyn Files, dir: &str) -> Result<Kustomization, RenderError> {
        let found: Vec<String> = FILE_NAMES
            .iter()
            .map(|name| join(dir, name))
            .filter(|path| files.is_file(path))
            .collect();
        let file = match found.as_slice() {
            [] => {
                return Err(RenderError::MissingKustomization {
                    dir: display_dir(dir).to_owned(),
                });
            }
            [one] => one.clone(),
            [first, ..] => {
                return Err(RenderError::invalid(
                    first,
                    Span::default(),
                    format!("found multiple kustomization files under: {dir}"),
                ));
            }
        };
        let text = files.read_text(&file)?;
        let node = match yaml::parse_documents(&text) {
            Ok(docs) => match docs.into_iter().next() {
                Some(doc) => doc.root,
                None => Node::map(),
            },
            Err(e) => return Err(RenderError::yaml(&file, &e)),
        };
        let mut node = if node.is_null() { Node::map() } else { node };
        if !node.is_map() {
            return Err(RenderError::invalid(
                &file,
                node.span,
                "a kustomization must be a mapping".to_owned(),
            ));
        }
        node.deanchor();
        for (key, _) in node.as_map().unwrap_or_default() {
            let name = key.as_str().unwrap_or_default();
            if !KNOWN_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name)) {
                return Err(RenderError::invalid(
                    &file,
                    key.span,
                    format!("invalid Kustomization: json: unknown field \"{name}\""),
                ));
            }
        }
        let k = Kustomization {
            dir: dir.to_owned(),
            file,
            node,
        };
        match k.str("kind") {
            None | Some("Kustomization" | "Component") => Ok(k),
            Some(other) => Err(RenderError::invalid(
                &k.file,
                k.get("kind").map(|n| n.span).unwrap_or_default(),
                format!("kind should be Kustomization or Component, not {other}"),
            )),
        }
    }

    /// Whether this is a `kind: Component`.
    #[must_use]
    pub fn is_component(&self) -> bool {
        self.str("kind") == Some("Component")
    }

    /// A field's value, matched as Go's `encoding/json` matches struct fields (exact name
    /// first, then ignoring case); a null value counts as absent.
    #[must_use]
    pub fn get(&self, field: &str) -> Option<&Node> {
        self.node.get_ignore_case(field).filter(|n| !n.is_null())
    }

    /// A string field.
    #[must_use]
    pub fn str(&self, field: &str) -> Option<&str> {
        self.get(field).and_then(Node::as_str)
    }

    /// The items of a list field (empty when absent or not a list).
    #[must_use]
    pub fn list(&self, field: &str) -> &[Node] {
        self.get(field).and_then(Node::as_seq).unwrap_or_default()
    }

    /// The `(key, value)` pairs of a map field (empty when absent or not a map).
    #[must_use]
    pub fn pairs(&self, field: &str) -> &[(Node, Node)] {
        self.get(field).and_then(Node::as_map).unwrap_or_default()
    }

    /// `resources` followed by the deprecated `bases`, as kustomize merges them.
    pub fn resources(&self) -> impl Iterator<Item = &Node> {
        self.list("resources").iter().chain(self.list("bases"))
    }

    /// `images` followed by the deprecated `imageTags`.
    pub fn images(&self) -> impl Iterator<Item = &Node> {
        self.list("images").iter().chain(self.list("imageTags"))
    }
}

/// Joins a directory and a relative path with `/` (no normalisation).
#[must_use]
pub fn join(dir: &str, rest: &str) -> String {
    if dir.is_empty() || dir == "." {
        rest.to_owned()
    } else if dir.ends_with('/') {
        format!("{dir}{rest}")
    } else {
        format!("{dir}/{rest}")
    }
}

/// A directory as users should read it: `.` for the starting directory.
#[must_use]
pub fn display_dir(dir: &str) -> &str {
    if dir.is_empty() { "." } else { dir }
}
