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
            let hit = r.any_id(|id| id.name == name && spec.selects(&id.gvk));
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

#[cfg(test)]
mod tests {
    //! Expected values checked against `kubectl kustomize` (kustomize v5.5.0).
    use super::*;
    use crate::render::resource::Origin;

    fn resources(text: &str) -> Vec<Resource> {
        crate::yaml::parse_documents(text)
            .expect("valid yaml")
            .into_iter()
            .map(|d| Resource::new(d.root, Origin::default()))
            .collect()
    }

    fn config() -> TransformerConfig {
        TransformerConfig::builtin_merged().clone()
    }

    #[test]
    fn namespace_sets_namespaced_objects_and_default_subjects_only() {
        let mut rs = resources(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: old}\n---\n\
             apiVersion: v1\nkind: Namespace\nmetadata: {name: old}\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n\
             metadata: {name: b}\nsubjects:\n- {kind: ServiceAccount, name: default, namespace: x}\n\
             - {kind: ServiceAccount, name: other, namespace: x}\n",
        );
        namespace(&mut rs, "shop", &config()).expect("namespace applies");
        assert_eq!(rs[0].namespace(), "shop");
        // `namespace:` renames Namespace objects (apiVersion v1) and does not namespace them.
        assert_eq!(rs[1].name(), "shop");
        assert_eq!(rs[1].namespace(), "");
        let subjects = rs[2]
            .node
            .field("subjects")
            .and_then(Node::as_seq)
            .expect("subjects");
        assert_eq!(subjects[0].field_str("namespace"), Some("shop"));
        assert_eq!(subjects[1].field_str("namespace"), Some("x"));
        // Every object remembers its id before the change.
        assert!(rs.iter().all(|r| r.previous.len() == 1));
    }

    #[test]
    fn namespace_conflicts_are_errors() {
        let mut rs = resources(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: one}\n---\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: two}\n",
        );
        let err = namespace(&mut rs, "shop", &config()).expect_err("two objects collide");
        assert!(err.0.contains("ID conflict"), "{err}");
    }

    #[test]
    fn prefix_skips_namespaces_and_crds_and_records_the_rename() {
        let mut rs = resources(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n\
             apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n---\n\
             apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n\
             metadata: {name: things.example.com}\n",
        );
        rename(&mut rs, "p-", End::Prefix, &config().name_prefix).expect("prefix applies");
        assert_eq!(rs[0].name(), "p-a");
        assert_eq!(rs[0].prefixes, ["p-"]);
        assert_eq!(rs[0].previous[0].name, "a");
        assert_eq!(rs[1].name(), "n");
        assert_eq!(rs[2].name(), "things.example.com");
        rename(&mut rs, "-s", End::Suffix, &config().name_suffix).expect("suffix applies");
        assert_eq!(rs[0].name(), "p-a-s");
    }

    #[test]
    fn labels_reach_selectors_and_templates_of_workloads() {
        let mut rs = resources(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n\
             spec:\n  template:\n    spec:\n      containers: []\n",
        );
        let pairs = vec![("team".to_owned(), "blue".to_owned())];
        set_pairs(&mut rs, &pairs, &config().common_labels).expect("labels apply");
        for path in [
            &["metadata", "labels", "team"][..],
            &["spec", "selector", "matchLabels", "team"][..],
            &["spec", "template", "metadata", "labels", "team"][..],
        ] {
            assert_eq!(
                rs[0].node.path(path).and_then(Node::as_str),
                Some("blue"),
                "{path:?}"
            );
        }
    }

    #[test]
    fn replicas_must_match_an_object() {
        let mut rs = resources(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 1}\n",
        );
        replicas(&mut rs, "d", 3, &config().replicas).expect("replicas apply");
        assert_eq!(
            rs[0]
                .node
                .path(&["spec", "replicas"])
                .and_then(Node::as_str),
            Some("3")
        );
        let err = replicas(&mut rs, "missing", 3, &config().replicas).expect_err("no match");
        assert!(err.0.contains("missing"), "{err}");
    }

    #[test]
    fn string_pairs_take_source_text() {
        let node = crate::yaml::parse_one("a: 1.0\nb: yes\nc:\n")
            .expect("yaml")
            .expect("doc");
        let pairs = string_pairs(node.as_map().expect("map")).expect("scalars");
        assert_eq!(
            pairs,
            [
                ("a".to_owned(), "1.0".to_owned()),
                ("b".to_owned(), "yes".to_owned()),
                ("c".to_owned(), String::new())
            ]
        );
    }
}
