//! The field-spec transformers of a kustomization: `namespace`, `namePrefix`, `nameSuffix`,
//! `labels`/`commonLabels`, `commonAnnotations`, `replicas` and `images`, each a filter over the
//! resource list driven by the field specs of the [`TransformerConfig`] in force.
//!
//! This module owns what each transformer writes at the fields it reaches and which objects it
//! skips; walking the paths is [`super::fieldspec`]'s job, image references
//! [`super::images`]'.

use super::fieldspec::{self, Create, FieldPathError, FieldSpec, TransformerConfig};
use super::images::{self, ImageEntry};
use super::resource::{Gvk, Resource};
use crate::yaml::{Node, ScalarStyle};

/// Kinds whose names prefixes and suffixes never change (kustomize's
/// `prefixSuffixFieldSpecsToSkip`).
fn skips_renames(gvk: &Gvk) -> bool {
    gvk.kind == "CustomResourceDefinition"
        || gvk.kind == "Namespace"
        || (gvk.kind == "APIService" && gvk.group == "apiregistration.k8s.io")
}

/// A transformer failure, with a message in kustomize's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TransformError(pub String);

impl From<FieldPathError> for TransformError {
    fn from(e: FieldPathError) -> TransformError {
        TransformError(e.to_string())
    }
}

/// Sets a scalar field to a string.
fn set_string(node: &mut Node, value: &str) {
    *node = Node::string(value);
}

/// `namespace:`: every namespaced object gets the namespace (an existing one is overridden);
/// `(Cluster)RoleBinding` subjects named `default` get it too; the other namespace field specs
/// (webhook services, `Namespace` objects' own name for apiVersion `v1`) are set. Every object's
/// id is remembered first, and two objects may not end up with the same id.
///
/// # Errors
/// A field spec path that cannot be followed, or an id conflict.
pub fn namespace(
    resources: &mut [Resource],
    ns: &str,
    config: &TransformerConfig,
) -> Result<(), TransformError> {
    for r in resources.iter_mut() {
        if r.node.as_map().is_none_or(<[(Node, Node)]>::is_empty) {
            continue;
        }
        r.store_previous_id();
        let gvk = r.gvk();
        let api_version = r.api_version().to_owned();
        if !gvk.is_cluster_scoped() {
            r.node
                .map_entry("metadata")
                .set("namespace", Node::string(ns));
        }
        let is_binding = gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding";
        if is_binding && let Some(subjects) = r.node.get_mut("subjects").and_then(Node::as_seq_mut)
        {
            for subject in subjects.iter_mut() {
                if subject.field_str("name") == Some("default") && subject.is_map() {
                    subject.set("namespace", Node::string(ns));
                }
            }
        }
        for spec in &config.namespace {
            if spec.path == "metadata/namespace"
                || (spec.path == "metadata/name" && api_version != "v1")
                || (is_binding
                    && (spec.gvk.kind == "RoleBinding" || spec.gvk.kind == "ClusterRoleBinding")
                    && spec.path == "subjects/namespace")
                || !spec.selects(&gvk)
            {
                continue;
            }
            fieldspec::apply(&mut r.node, spec, Create::Scalar("!!str"), &mut |n| {
                set_string(n, ns);
                Ok::<(), TransformError>(())
            })?;
        }
    }
    for (i, r) in resources.iter().enumerate() {
        let id = r.cur_id();
        if resources[i + 1..].iter().any(|o| o.cur_id() == id) {
            return Err(TransformError(format!(
                "namespace transformation produces ID conflict: {id}"
            )));
        }
    }
    Ok(())
}

/// Which end of the name [`rename`] changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// `namePrefix`.
    Prefix,
    /// `nameSuffix`.
    Suffix,
}

/// `namePrefix:` / `nameSuffix:`: the fields of the prefix (suffix) field specs get the text
/// added, for every object but CRDs, Namespaces and APIServices; renaming `metadata/name`
/// records the prefix (suffix) and the previous id first.
///
/// # Errors
/// A field spec path that cannot be followed.
pub fn rename(
    resources: &mut [Resource],
    text: &str,
    end: End,
    specs: &[FieldSpec],
) -> Result<(), TransformError> {
    if text.is_empty() {
        return Ok(());
    }
    for r in resources.iter_mut() {
        let org = r.org_id();
        if skips_renames(&org.gvk) {
            continue;
        }
        for spec in specs {
            if !spec.selects(&org.gvk) {
                continue;
            }
            if spec.path == "metadata/name" {
                match end {
                    End::Prefix => r.prefixes.push(text.to_owned()),
                    End::Suffix => r.suffixes.push(text.to_owned()),
                }
                r.store_previous_id();
            }
            fieldspec::apply(&mut r.node, spec, Create::Scalar("!!str"), &mut |n| {
                let old = n.as_str().filter(|_| !fieldspec::is_null(n)).unwrap_or("");
                let new = match end {
                    End::Prefix => format!("{text}{old}"),
                    End::Suffix => format!("{old}{text}"),
                };
                set_string(n, &new);
                Ok::<(), TransformError>(())
            })?;
        }
    }
    Ok(())
}

/// Labels or annotations: each pair is set (as a string) in the mapping at every field the
/// specs reach in an object they select, creating mappings where the spec says so.
///
/// # Errors
/// A field spec path that cannot be followed, or a field that is not a mapping.
pub fn set_pairs(
    resources: &mut [Resource],
    pairs: &[(String, String)],
    specs: &[FieldSpec],
) -> Result<(), TransformError> {
    if pairs.is_empty() {
        return Ok(());
    }
    for r in resources.iter_mut() {
        let gvk = r.gvk();
        for spec in specs.iter().filter(|s| s.selects(&gvk)) {
            fieldspec::apply(&mut r.node, spec, Create::Map, &mut |n| {
                if fieldspec::is_null(n) {
                    *n = Node::map();
                }
                if !n.is_map() {
                    return Err(TransformError(format!(
                        "considering field '{}': expected a mapping, found a {}",
                        spec.path,
                        n.kind_name()
                    )));
                }
                for (k, v) in pairs {
                    let mut value = Node::scalar(v.clone(), ScalarStyle::DoubleQuoted);
                    value.tag = Some("!!str".to_owned());
                    n.set(k, value);
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}

/// `replicas:` entry: every object named `name` (by any of its ids) that a replicas field spec
/// selects gets `count` at the spec's path.
///
/// # Errors
/// No object matched (kustomize fails), or a path that cannot be followed.
pub fn replicas(
    resources: &mut [Resource],
    name: &str,
    count: i64,
    specs: &[FieldSpec],
) -> Result<(), TransformError> {
    let mut found = false;
    for spec in specs {
        for r in resources.iter_mut() {
            let hit = r
                .previous
                .iter()
                .chain(std::iter::once(&r.cur_id()))
                .any(|id| id.name == name && spec.selects(&id.gvk));
            if !hit {
                continue;
            }
            found = true;
            let gvk = r.gvk();
            if !spec.selects(&gvk) {
                continue;
            }
            fieldspec::apply(&mut r.node, spec, Create::Scalar("!!int"), &mut |n| {
                *n = Node::plain(count.to_string());
                Ok::<(), TransformError>(())
            })?;
        }
    }
    if found {
        Ok(())
    } else {
        let kinds: Vec<String> = specs.iter().map(|s| s.gvk.to_string()).collect();
        Err(TransformError(format!(
            "resource with name {name} does not match a config with the following GVK [{}]",
            kinds.join(" ")
        )))
    }
}

/// One `images:` entry: kustomize's legacy pass (every `containers`/`initContainers` list at
/// any depth) then the images field specs, on every object but CRDs.
///
/// # Errors
/// An image field that is not a scalar, or a path that cannot be followed.
pub fn image(
    resources: &mut [Resource],
    entry: &ImageEntry,
    specs: &[FieldSpec],
) -> Result<(), TransformError> {
    for r in resources.iter_mut() {
        let gvk = r.gvk();
        if gvk.kind == "CustomResourceDefinition" {
            continue;
        }
        images::apply_legacy(&mut r.node, entry).map_err(|e| TransformError(e.to_string()))?;
        for spec in specs.iter().filter(|s| s.selects(&gvk)) {
            fieldspec::apply(&mut r.node, spec, Create::Nothing, &mut |n| {
                images::rewrite_image_node(n, entry)
                    .map(|_| ())
                    .map_err(|e| TransformError(e.to_string()))
            })?;
        }
    }
    Ok(())
}

/// The `(key, value)` pairs of a labels or annotations map in a kustomization, values as the
/// strings Go's `map[string]string` decoding would give (source text of scalars).
///
/// # Errors
/// A value that is not a scalar.
pub fn string_pairs(map: &[(Node, Node)]) -> Result<Vec<(String, String)>, TransformError> {
    map.iter()
        .map(|(k, v)| {
            let key = k.as_str().unwrap_or_default().to_owned();
            match v.as_str() {
                Some(text) if !v.is_null() => Ok((key, text.to_owned())),
                Some(_) => Ok((key, String::new())),
                None => Err(TransformError(format!(
                    "the value of '{key}' must be a string, not a {}",
                    v.kind_name()
                ))),
            }
        })
        .collect()
}
