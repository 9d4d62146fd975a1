//! kustomize's name-reference fixer (`nameReferenceTransformer` with `filters/nameref`), run
//! once at the end of a build, after every rename (prefix, suffix, namespace, hash suffix): each
//! field that names another object (a Deployment's `configMapRef.name`, a RoleBinding's
//! `roleRef.name` and `subjects`, an Ingress backend's `service.name`...) is rewritten to the
//! current name of the object it named before the renames.
//!
//! This module owns choosing the referred object and rewriting the field. It does not own the
//! renames themselves or the bookkeeping they leave ([`Resource::previous`], `prefixes`,
//! `suffixes`: the transformers push them), nor the list of referring fields
//! ([`TransformerConfig::name_reference`]).
//!
//! How kustomize v5.5.0 picks the object a field refers to, for a referrer R and a field value V:
//! 1. referrers: R is visited for every `nameReference` entry and every field spec of it whose
//!    group/version/kind selects R's *original* id (kind of the oldest previous id, group and
//!    version of the current `apiVersion`), in configuration order;
//! 2. candidates: objects that had a *previous* name equal to V (an object never renamed is
//!    never a candidate: its references need no fix), among those R could refer to: anything if
//!    R is cluster-scoped; else cluster-scoped objects, objects in R's namespace, and, for a
//!    RoleBinding, objects in a namespace one of its ServiceAccount subjects names;
//! 3. for a mapping field (`subjects` items) with a `namespace` key: candidates whose original
//!    namespace is that namespace if any object R could refer to has that original namespace,
//!    else those whose current namespace is;
//! 4. sieves, in order: a previous id of the candidate is selected by the entry's
//!    group/version/kind; for `roleRef/name`, a previous id is selected by the `roleRef`'s
//!    `apiGroup` and `kind` (when both are present); the candidate is cluster-scoped, a
//!    ServiceAccount, or in R's namespace (unless R is cluster-scoped). One left: chosen;
//! 5. else those whose prefixes and suffixes end like R's (an empty list matches anything),
//!    then, if still several, exactly; one left: chosen; none: no change; several with the same
//!    name (and namespace, for mapping fields): the first; else an error.
//!
//! The chosen object's current name replaces V (keeping V's scalar style); for a mapping field
//! the name is written and, when the object has a namespace, the `namespace` key too (created if
//! missing).

use std::collections::{HashMap, HashSet};

use crate::render::fieldspec::{
    self, Create, FieldPathError, FieldSpec, TransformerConfig, new_string_scalar, replaced_scalar,
};
use crate::render::resource::{Gvk, ResId, Resource};
use crate::yaml::emit::{KustomizeValue, scalar_value};
use crate::yaml::{Node, NodeKind};

/// kustomize's effective namespace of cluster-scoped objects.
const NOT_A_NAMESPACE: &str = "_non_namespaceable_";

/// Why name references could not be fixed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NameRefError {
    /// Several objects could be the one a field names (kustomize: "found multiple possible
    /// referrals").
    #[error(
        "updating name reference in '{path}' field of '{referrer}': found multiple possible referrals: {}",
        .candidates.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    )]
    Ambiguous {
        /// The referring object.
        referrer: Box<ResId>,
        /// The field spec's path.
        path: String,
        /// The current ids of the remaining candidates.
        candidates: Vec<ResId>,
    },
    /// The field spec's path could not be followed in the referrer.
    #[error("updating name reference in '{referrer}': {source}")]
    Path {
        /// The referring object.
        referrer: Box<ResId>,
        /// What went wrong.
        source: FieldPathError,
    },
    /// A mapping reached by a field spec has no `name` key (kustomize: "path config error; no
    /// 'name' field in node").
    #[error(
        "updating name reference in '{path}' field of '{referrer}': path config error; no 'name' field in node"
    )]
    MissingName {
        /// The referring object.
        referrer: Box<ResId>,
        /// The field spec's path.
        path: String,
    },
    /// A sequence reached by a field spec holds a sequence (kustomize: "is expected to be either
    /// a string or a map of string").
    #[error(
        "updating name reference in '{path}' field of '{referrer}': a list item is expected to be either a string or a map of string"
    )]
    NotNameOrMap {
        /// The referring object.
        referrer: Box<ResId>,
        /// The field spec's path.
        path: String,
    },
    /// A RoleBinding subject of kind ServiceAccount has a `namespace` that is not a string
    /// (kustomize: "Invalid Input: namespace is blank for resource").
    #[error("Invalid Input: namespace is blank for resource \"{referrer}\"")]
    SubjectNamespace {
        /// The RoleBinding.
        referrer: Box<ResId>,
    },
}

/// What is known of each object while fixing references (names do not change meanwhile).
struct Info {
    group: String,
    version: String,
    kind: String,
    name: String,
    namespace: String,
    cluster_scoped: bool,
    cur_ns: String,
    org_ns: String,
    /// Kinds of the previous ids, oldest first.
    prev_kinds: Vec<String>,
    /// Kind of the original id.
    org_kind: String,
}

impl Info {
    fn new(res: &Resource) -> Info {
        let gvk = res.gvk();
        let cluster_scoped = gvk.is_cluster_scoped();
        let namespace = res.namespace().to_owned();
        let cur_ns = effective_namespace(cluster_scoped, &namespace).to_owned();
        let org_ns = match res.previous.first() {
            Some(first) => effective_namespace(false, &first.namespace).to_owned(),
            None => cur_ns.clone(),
        };
        let prev_kinds: Vec<String> = res.previous.iter().map(|p| p.gvk.kind.clone()).collect();
        let org_kind = prev_kinds
            .first()
            .cloned()
            .unwrap_or_else(|| gvk.kind.clone());
        Info {
            group: gvk.group,
            version: gvk.version,
            kind: gvk.kind,
            name: res.name().to_owned(),
            namespace,
            cluster_scoped,
            cur_ns,
            org_ns,
            prev_kinds,
            org_kind,
        }
    }

    /// Whether one of the previous ids (kind as stored, group and version as now) is selected.
    fn previous_selected_by(&self, selector: &Gvk) -> bool {
        (selector.group.is_empty() || selector.group == self.group)
            && (selector.version.is_empty() || selector.version == self.version)
            && self
                .prev_kinds
                .iter()
                .any(|k| selector.kind.is_empty() || selector.kind == *k)
    }

    fn id(&self) -> ResId {
        ResId {
            gvk: Gvk {
                group: self.group.clone(),
                version: self.version.clone(),
                kind: self.kind.clone(),
            },
            name: self.name.clone(),
            namespace: self.namespace.clone(),
        }
    }
}

/// kustomize's `ResId.EffectiveNamespace`.
fn effective_namespace(cluster_scoped: bool, namespace: &str) -> &str {
    if cluster_scoped {
        NOT_A_NAMESPACE
    } else if namespace.is_empty() {
        "default"
    } else {
        namespace
    }
}

/// Rewrites every name reference in `resources` to the current name of the object it referred
/// to (see the module documentation for the rules).
///
/// # Errors
/// [`NameRefError`] when a reference is ambiguous, a field spec's path cannot be followed, a
/// mapping field has no `name`, or a RoleBinding's ServiceAccount subject has a non-string
/// namespace.
pub fn fix_name_references(
    resources: &mut [Resource],
    config: &TransformerConfig,
) -> Result<(), NameRefError> {
    if config.name_reference.is_empty() || resources.is_empty() {
        return Ok(());
    }
    let infos: Vec<Info> = resources.iter().map(Info::new).collect();

    // Objects by previous name, in resource order.
    let mut by_previous_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (j, res) in resources.iter().enumerate() {
        for (k, prev) in res.previous.iter().enumerate() {
            if res.previous[..k].iter().all(|p| p.name != prev.name) {
                by_previous_name
                    .entry(prev.name.as_str())
                    .or_default()
                    .push(j);
            }
        }
    }
    // The previous names borrow `resources`, which is mutated below: own them.
    let by_previous_name: HashMap<String, Vec<usize>> = by_previous_name
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();

    let mut by_original_namespace: HashMap<String, Vec<usize>> = HashMap::new();
    for (j, info) in infos.iter().enumerate() {
        by_original_namespace
            .entry(info.org_ns.clone())
            .or_default()
            .push(j);
    }
    let indexes = Indexes {
        by_previous_name: &by_previous_name,
        by_original_namespace: &by_original_namespace,
    };

    // Referrer field specs by kind (specs without a kind apply to every kind), as
    // (entry, spec) positions in configuration order.
    let mut by_kind: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
    let mut any_kind: Vec<(usize, usize)> = Vec::new();
    for (b, back_ref) in config.name_reference.iter().enumerate() {
        for (s, spec) in back_ref.fields.iter().enumerate() {
            if spec.gvk.kind.is_empty() {
                any_kind.push((b, s));
            } else {
                by_kind
                    .entry(spec.gvk.kind.as_str())
                    .or_default()
                    .push((b, s));
            }
        }
    }

    let mut applicable: Vec<(usize, usize)> = Vec::new();
    for i in 0..resources.len() {
        let info = &infos[i];
        let org_gvk = Gvk {
            group: info.group.clone(),
            version: info.version.clone(),
            kind: info.org_kind.clone(),
        };
        applicable.clear();
        let same_kind = by_kind
            .get(info.org_kind.as_str())
            .map_or(&[][..], Vec::as_slice);
        merge_ordered(same_kind, &any_kind, &mut applicable);
        applicable
            .retain(|&(b, s)| org_gvk.is_selected_by(&config.name_reference[b].fields[s].gvk));
        if applicable.is_empty() {
            continue;
        }
        let role_binding_namespaces = role_binding_namespaces(&resources[i], info)?;
        let mut node = std::mem::replace(&mut resources[i].node, Node::null());
        let result = fix_referrer(
            &mut node,
            i,
            &applicable,
            config,
            resources,
            &infos,
            &indexes,
            &role_binding_namespaces,
        );
        resources[i].node = node;
        result?;
    }
    Ok(())
}

/// Merges two lists sorted by position into `out`.
fn merge_ordered(a: &[(usize, usize)], b: &[(usize, usize)], out: &mut Vec<(usize, usize)>) {
    let (mut x, mut y) = (0, 0);
    while x < a.len() || y < b.len() {
        let take_a = match (a.get(x), b.get(y)) {
            (Some(p), Some(q)) => p < q,
            (Some(_), None) => true,
            _ => false,
        };
        if take_a {
            out.push(a[x]);
            x += 1;
        } else {
            out.push(b[y]);
            y += 1;
        }
    }
}

/// Namespaces named by a RoleBinding's ServiceAccount subjects (objects there may be referred
/// to from the RoleBinding's namespace).
fn role_binding_namespaces(res: &Resource, info: &Info) -> Result<HashSet<String>, NameRefError> {
    let mut out = HashSet::new();
    if info.kind != "RoleBinding" {
        return Ok(out);
    }
    let Some(subjects) = res.node.field("subjects").and_then(Node::as_seq) else {
        return Ok(out);
    };
    for subject in subjects {
        let (Some(namespace), Some(kind)) = (subject.field("namespace"), subject.field("kind"))
        else {
            continue;
        };
        if json_string(kind).as_deref() != Some("ServiceAccount") {
            continue;
        }
        match json_string(namespace) {
            Some(ns) => {
                out.insert(ns);
            }
            None => {
                return Err(NameRefError::SubjectNamespace {
                    referrer: Box::new(info.id()),
                });
            }
        }
    }
    Ok(out)
}

/// The value as a string, if kustomize's JSON view of it is one.
fn json_string(node: &Node) -> Option<String> {
    let scalar = node.as_scalar()?;
    match scalar_value(node.tag.as_deref(), scalar) {
        KustomizeValue::Str(s) => Some(s.into_owned()),
        _ => None,
    }
}

/// Objects by previous name and by original effective namespace, in resource order.
struct Indexes<'a> {
    by_previous_name: &'a HashMap<String, Vec<usize>>,
    by_original_namespace: &'a HashMap<String, Vec<usize>>,
}

/// Everything a field rewrite needs about the referrer and the candidates.
struct Ctx<'a> {
    referrer: usize,
    resources: &'a [Resource],
    infos: &'a [Info],
    by_previous_name: &'a HashMap<String, Vec<usize>>,
    by_original_namespace: &'a HashMap<String, Vec<usize>>,
    role_binding_namespaces: &'a HashSet<String>,
    target: &'a Gvk,
    role_ref: Option<Gvk>,
    spec: &'a FieldSpec,
}

/// Errors inside a field walk: a path error gets the referrer's id afterwards.
enum WalkError {
    Path(FieldPathError),
    Other(NameRefError),
}

impl From<FieldPathError> for WalkError {
    fn from(e: FieldPathError) -> Self {
        WalkError::Path(e)
    }
}

#[allow(clippy::too_many_arguments)]
fn fix_referrer(
    node: &mut Node,
    referrer: usize,
    applicable: &[(usize, usize)],
    config: &TransformerConfig,
    resources: &[Resource],
    infos: &[Info],
    indexes: &Indexes<'_>,
    role_binding_namespaces: &HashSet<String>,
) -> Result<(), NameRefError> {
    for &(b, s) in applicable {
        let back_ref = &config.name_reference[b];
        let spec = &back_ref.fields[s];
        let role_ref = if spec.path.ends_with("roleRef/name") {
            role_ref_gvk(node)
        } else {
            None
        };
        let cx = Ctx {
            referrer,
            resources,
            infos,
            by_previous_name: indexes.by_previous_name,
            by_original_namespace: indexes.by_original_namespace,
            role_binding_namespaces,
            target: &back_ref.gvk,
            role_ref,
            spec,
        };
        let result = fieldspec::apply(node, spec, Create::Nothing, &mut |field: &mut Node| {
            set_field(field, &cx).map_err(WalkError::Other)
        });
        match result {
            Ok(()) => {}
            Err(WalkError::Other(e)) => return Err(e),
            Err(WalkError::Path(source)) => {
                return Err(NameRefError::Path {
                    referrer: Box::new(infos[referrer].id()),
                    source,
                });
            }
        }
    }
    Ok(())
}

/// The group and kind of the referrer's `roleRef`, when it is a mapping with both `apiGroup`
/// and `kind` (kustomize then only accepts candidates of that group and kind).
fn role_ref_gvk(node: &Node) -> Option<Gvk> {
    let role_ref = node.field("roleRef")?;
    if !role_ref.is_map() {
        return None;
    }
    let group = role_ref.field("apiGroup")?;
    let kind = role_ref.field("kind")?;
    Some(Gvk {
        group: group.as_str().unwrap_or("").to_owned(),
        version: String::new(),
        kind: kind.as_str().unwrap_or("").to_owned(),
    })
}

fn set_field(field: &mut Node, cx: &Ctx<'_>) -> Result<(), NameRefError> {
    if fieldspec::is_null(field) {
        return Ok(());
    }
    match field.kind {
        NodeKind::Scalar(_) => set_scalar(field, cx),
        NodeKind::Map(_) => set_mapping(field, cx),
        NodeKind::Seq(ref mut items) => {
            for item in items {
                if fieldspec::is_null(item) {
                    continue;
                }
                match item.kind {
                    NodeKind::Scalar(_) => set_scalar(item, cx)?,
                    NodeKind::Map(_) => set_mapping(item, cx)?,
                    NodeKind::Seq(_) => {
                        return Err(NameRefError::NotNameOrMap {
                            referrer: Box::new(cx.infos[cx.referrer].id()),
                            path: cx.spec.path.clone(),
                        });
                    }
                }
            }
            Ok(())
        }
    }
}

fn set_scalar(node: &mut Node, cx: &Ctx<'_>) -> Result<(), NameRefError> {
    let old = node.as_str().unwrap_or("");
    let Some(j) = select_referral(old, None, false, cx)? else {
        return Ok(());
    };
    let name = &cx.infos[j].name;
    if name != old {
        *node = replaced_scalar(node, name);
    }
    Ok(())
}

fn set_mapping(node: &mut Node, cx: &Ctx<'_>) -> Result<(), NameRefError> {
    let Some(entries) = node.as_map_mut() else {
        return Ok(());
    };
    let Some(name_at) = entries.iter().position(|(k, _)| k.as_str() == Some("name")) else {
        return Err(NameRefError::MissingName {
            referrer: Box::new(cx.infos[cx.referrer].id()),
            path: cx.spec.path.clone(),
        });
    };
    let namespace_at = entries
        .iter()
        .position(|(k, _)| k.as_str() == Some("namespace"));
    let old = entries[name_at].1.as_str().unwrap_or("").to_owned();
    let ns_filter = namespace_at.map(|at| {
        let ns = entries[at].1.as_str().unwrap_or("");
        namespace_filter(ns, cx)
    });
    let Some(j) = select_referral(&old, ns_filter.as_ref(), true, cx)? else {
        return Ok(());
    };
    let chosen = &cx.infos[j];
    if chosen.name == old && chosen.namespace.is_empty() {
        return Ok(());
    }
    let name_slot = &mut entries[name_at].1;
    *name_slot = replaced_scalar(name_slot, &chosen.name);
    if chosen.namespace.is_empty() {
        return Ok(());
    }
    match namespace_at {
        Some(at) => {
            let slot = &mut entries[at].1;
            *slot = replaced_scalar(slot, &chosen.namespace);
        }
        None => entries.push((
            Node::plain("namespace"),
            new_string_scalar(&chosen.namespace),
        )),
    }
    Ok(())
}

/// Which namespace a mapping field's `namespace` selects candidates by.
enum NamespaceFilter {
    /// Original namespace equal to this.
    Original(String),
    /// Current namespace equal to this.
    Current(String),
}

fn namespace_filter(ns: &str, cx: &Ctx<'_>) -> NamespaceFilter {
    let by_original = ns != NOT_A_NAMESPACE
        && cx
            .by_original_namespace
            .get(ns)
            .is_some_and(|objects| objects.iter().any(|&j| could_refer_to(cx, j)));
    if by_original {
        NamespaceFilter::Original(ns.to_owned())
    } else {
        NamespaceFilter::Current(ns.to_owned())
    }
}

/// kustomize's `SubsetThatCouldBeReferencedByResource`.
fn could_refer_to(cx: &Ctx<'_>, j: usize) -> bool {
    let referrer = &cx.infos[cx.referrer];
    let target = &cx.infos[j];
    referrer.cluster_scoped
        || target.cluster_scoped
        || target.cur_ns == referrer.cur_ns
        || cx.role_binding_namespaces.contains(&target.namespace)
}

/// kustomize's `sameCurrentNamespaceAsReferrer` sieve.
fn same_namespace_as_referrer(cx: &Ctx<'_>, j: usize) -> bool {
    let referrer = &cx.infos[cx.referrer];
    let target = &cx.infos[j];
    referrer.cluster_scoped
        || target.cluster_scoped
        || target.kind == "ServiceAccount"
        || target.cur_ns == referrer.cur_ns
}

/// kustomize's `selectReferral`: the object a field holding `old` refers to, if any.
fn select_referral(
    old: &str,
    ns_filter: Option<&NamespaceFilter>,
    with_namespace: bool,
    cx: &Ctx<'_>,
) -> Result<Option<usize>, NameRefError> {
    let Some(named) = cx.by_previous_name.get(old) else {
        return Ok(None);
    };
    let mut candidates: Vec<usize> = named
        .iter()
        .copied()
        .filter(|&j| could_refer_to(cx, j))
        .filter(|&j| match ns_filter {
            None => true,
            Some(NamespaceFilter::Original(ns)) => {
                cx.infos[j].org_ns == *ns && *ns != NOT_A_NAMESPACE
            }
            Some(NamespaceFilter::Current(ns)) => {
                cx.infos[j].cur_ns == *ns && *ns != NOT_A_NAMESPACE
            }
        })
        .filter(|&j| cx.infos[j].previous_selected_by(cx.target))
        .filter(|&j| {
            cx.role_ref
                .as_ref()
                .is_none_or(|g| cx.infos[j].previous_selected_by(g))
        })
        .filter(|&j| same_namespace_as_referrer(cx, j))
        .collect();
    if candidates.len() == 1 {
        return Ok(candidates.first().copied());
    }
    let referrer = &cx.resources[cx.referrer];
    candidates.retain(|&j| affixes_equal(&cx.resources[j], referrer, true));
    if candidates.len() > 1 {
        candidates.retain(|&j| affixes_equal(&cx.resources[j], referrer, false));
    }
    match candidates.as_slice() {
        [] => Ok(None),
        [only] => Ok(Some(*only)),
        [first, rest @ ..] => {
            let a = &cx.infos[*first];
            let identical = rest.iter().all(|&j| {
                let b = &cx.infos[j];
                b.name == a.name && (!with_namespace || b.namespace == a.namespace)
            });
            if identical {
                Ok(Some(*first))
            } else {
                Err(NameRefError::Ambiguous {
                    referrer: Box::new(cx.infos[cx.referrer].id()),
                    path: cx.spec.path.clone(),
                    candidates: candidates.iter().map(|&j| cx.infos[j].id()).collect(),
                })
            }
        }
    }
}

/// kustomize's `PrefixesSuffixesEquals`.
fn affixes_equal(a: &Resource, b: &Resource, allow_empty: bool) -> bool {
    let prefixes = (allow_empty && (a.prefixes.is_empty() || b.prefixes.is_empty()))
        || same_ending(&a.prefixes, &b.prefixes);
    let suffixes = (allow_empty && (a.suffixes.is_empty() || b.suffixes.is_empty()))
        || same_ending(&a.suffixes, &b.suffixes);
    prefixes && suffixes
}

/// kustomize's `SameEndingSubSlice`: the shorter list is the end of the longer; an empty list
/// only matches an empty list.
fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return long.is_empty();
    }
    long.ends_with(short)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::resource::Origin;
    use crate::yaml::emit::emit_node;
    use crate::yaml::{parse_documents, parse_one};

    fn load(text: &str) -> Vec<Resource> {
        parse_documents(text)
            .expect("valid yaml")
            .into_iter()
            .map(|d| Resource::new(d.root, Origin::default()))
            .collect()
    }

    /// kustomize's `StorePreviousId`: the current name and kind, and the *effective* namespace.
    fn store_previous(res: &mut Resource) {
        let mut id = res.cur_id();
        id.namespace = effective_namespace(id.is_cluster_scoped(), &id.namespace).to_owned();
        res.previous.push(id);
    }

    /// The namespace transformer's bookkeeping: every object gets a previous id, namespaced
    /// ones the namespace.
    fn set_namespace(resources: &mut [Resource], ns: &str) {
        for res in resources {
            store_previous(res);
            if !res.gvk().is_cluster_scoped() {
                res.set_namespace(ns);
            }
        }
    }

    /// The prefix and suffix transformers' bookkeeping and rename.
    fn add_affixes(resources: &mut [Resource], prefix: &str, suffix: &str) {
        for res in resources {
            if !prefix.is_empty() {
                res.prefixes.push(prefix.to_owned());
                store_previous(res);
                let name = format!("{prefix}{}", res.name());
                res.set_name(&name);
            }
            if !suffix.is_empty() {
                res.suffixes.push(suffix.to_owned());
                store_previous(res);
                let name = format!("{}{suffix}", res.name());
                res.set_name(&name);
            }
        }
    }

    /// The hash suffix (value taken from kubectl's output).
    fn add_hash(res: &mut Resource, hash: &str) {
        store_previous(res);
        let name = format!("{}-{hash}", res.name());
        res.set_name(&name);
    }

    /// Compares the documents, in any order, with kubectl's output.
    fn assert_output(resources: &[Resource], expected: &str) {
        let mut got: Vec<String> = resources.iter().map(|r| emit_node(&r.node)).collect();
        let mut want: Vec<String> = parse_documents(expected)
            .expect("valid yaml")
            .iter()
            .map(|d| emit_node(&d.root))
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got.join("---\n"), want.join("---\n"));
    }

    fn config() -> &'static TransformerConfig {
        TransformerConfig::builtin_merged()
    }

    #[test]
    fn prefix_and_hash_are_followed_by_pod_templates_ingresses_and_hpas() {
        // Checked against kubectl kustomize v5.5.0: `namePrefix: p-`, resources below and a
        // `configMapGenerator` `gen` (literal a=b, hash 4h2mbtbbt6). `unknown` and `other` name
        // nothing in the build and stay.
        let mut resources = load(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      imagePullSecrets:\n      - name: pull\n      - name: other\n      containers:\n      - name: c\n        image: nginx\n        envFrom:\n        - configMapRef:\n            name: cm\n        - secretRef:\n            name: sec\n        env:\n        - name: X\n          valueFrom:\n            configMapKeyRef: {name: gen, key: a}\n      volumes:\n      - name: v\n        configMap:\n          name: cm\n      - name: s\n        secret:\n          secretName: sec\n      - name: n\n        configMap:\n          name: unknown\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: sec\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: pull\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: ing\n  annotations:\n    nginx.ingress.kubernetes.io/auth-secret: sec\nspec:\n  defaultBackend:\n    service: {name: svc}\n  rules:\n  - http:\n      paths:\n      - backend:\n          service: {name: svc, port: {number: 80}}\n  tls:\n  - secretName: sec\n---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: hpa\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n---\napiVersion: v1\ndata:\n  a: b\nkind: ConfigMap\nmetadata:\n  name: gen\n",
        );
        add_affixes(&mut resources, "p-", "");
        let last = resources.len() - 1;
        add_hash(&mut resources[last], "4h2mbtbbt6");
        fix_name_references(&mut resources, config()).expect("no ambiguity");
        assert_output(
            &resources,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p-cm\n---\napiVersion: v1\ndata:\n  a: b\nkind: ConfigMap\nmetadata:\n  name: p-gen-4h2mbtbbt6\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: p-pull\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: p-sec\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: p-svc\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: p-web\nspec:\n  template:\n    spec:\n      containers:\n      - env:\n        - name: X\n          valueFrom:\n            configMapKeyRef:\n              key: a\n              name: p-gen-4h2mbtbbt6\n        envFrom:\n        - configMapRef:\n            name: p-cm\n        - secretRef:\n            name: p-sec\n        image: nginx\n        name: c\n      imagePullSecrets:\n      - name: p-pull\n      - name: other\n      volumes:\n      - configMap:\n          name: p-cm\n        name: v\n      - name: s\n        secret:\n          secretName: p-sec\n      - configMap:\n          name: unknown\n        name: \"n\"\n---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: p-hpa\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: p-web\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  annotations:\n    nginx.ingress.kubernetes.io/auth-secret: p-sec\n  name: p-ing\nspec:\n  defaultBackend:\n    service:\n      name: p-svc\n  rules:\n  - http:\n      paths:\n      - backend:\n          service:\n            name: p-svc\n            port:\n              number: 80\n  tls:\n  - secretName: p-sec\n",
        );
    }

    #[test]
    fn rbac_role_refs_and_subjects() {
        // Checked against kubectl kustomize v5.5.0: `namePrefix: p-`, `namespace: app`. The
        // roleRef picks the Role or the ClusterRole of the same old name by `kind`; a subject in
        // another namespace stays; subjects without a namespace, or naming the original
        // namespace (`default`), get the ServiceAccount's name and namespace; so does the User
        // subject (kustomize does not look at a subject's kind).
        let mut resources = load(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: reader\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: rb-role\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}\nsubjects:\n- {kind: ServiceAccount, name: sa, namespace: other}\n- {kind: ServiceAccount, name: sa}\n- {kind: User, name: sa}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: rb-cluster\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}\nsubjects:\n- {kind: ServiceAccount, name: sa, namespace: default}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: crb\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}\nsubjects:\n- {kind: ServiceAccount, name: sa, namespace: app}\n",
        );
        set_namespace(&mut resources, "app");
        add_affixes(&mut resources, "p-", "");
        fix_name_references(&mut resources, config()).expect("no ambiguity");
        assert_output(
            &resources,
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: p-sa\n  namespace: app\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: p-reader\n  namespace: app\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: p-reader\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: p-rb-cluster\n  namespace: app\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: p-reader\nsubjects:\n- kind: ServiceAccount\n  name: p-sa\n  namespace: app\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: p-rb-role\n  namespace: app\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: p-reader\nsubjects:\n- kind: ServiceAccount\n  name: sa\n  namespace: other\n- kind: ServiceAccount\n  name: p-sa\n  namespace: app\n- kind: User\n  name: p-sa\n  namespace: app\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: p-crb\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: p-reader\nsubjects:\n- kind: ServiceAccount\n  name: p-sa\n  namespace: app\n",
        );
    }

    #[test]
    fn configurations_teach_custom_kinds() {
        // Checked against kubectl kustomize v5.5.0: `nameSuffix: -v2` and a `configurations:`
        // file with an Issuer reference and ConfigMap references from a CRD-less kind, through
        // a list of names and a `refs[]` list of mappings (null and missing fields left alone).
        let conf = parse_one(
            "nameReference:\n- kind: Issuer\n  group: cert-manager.io\n  fieldSpecs:\n  - kind: Certificate\n    group: cert-manager.io\n    path: spec/issuerRef/name\n- kind: ConfigMap\n  version: v1\n  fieldSpecs:\n  - kind: Widget\n    path: spec/configs\n  - kind: Widget\n    path: spec/refs[]/cm\n",
        )
        .expect("valid yaml")
        .expect("a document");
        let mut config = TransformerConfig::builtin().clone();
        config
            .merge(&TransformerConfig::from_yaml(&conf).expect("valid"))
            .expect("no conflict");
        let mut resources = load(
            "apiVersion: cert-manager.io/v1\nkind: Issuer\nmetadata:\n  name: selfsigned\n---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: cert\nspec:\n  issuerRef: {name: selfsigned, kind: Issuer}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: two\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  configs: [one, two, three]\n  refs:\n  - cm: one\n  - cm: null\n  - other: x\n",
        );
        add_affixes(&mut resources, "", "-v2");
        fix_name_references(&mut resources, &config).expect("no ambiguity");
        assert_output(
            &resources,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one-v2\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: two-v2\n---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: cert-v2\nspec:\n  issuerRef:\n    kind: Issuer\n    name: selfsigned-v2\n---\napiVersion: cert-manager.io/v1\nkind: Issuer\nmetadata:\n  name: selfsigned-v2\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w-v2\nspec:\n  configs:\n  - one-v2\n  - two-v2\n  - three\n  refs:\n  - cm: one-v2\n  - cm: null\n  - other: x\n",
        );
    }

    const CLUSTER_ROLE: &str = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: cr\nrules:\n- resourceNames: [cm]\n";

    fn config_map_in(ns: &str, data: &str) -> Resource {
        let mut res = load(&format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  k: {data}\n"
        ))
        .remove(0);
        set_namespace(std::slice::from_mut(&mut res), ns);
        res
    }

    #[test]
    fn different_names_for_one_reference_are_an_error() {
        // Checked against kubectl kustomize v5.5.0: bases a and b (namespace ns-a / ns-b) each
        // generate ConfigMap `cm` (hashes h86gkk55b9, 7dhtbt57df); a ClusterRole names `cm`:
        // "found multiple possible referrals: ConfigMap.v1.[noGrp]/cm-h86gkk55b9.ns-a, ...".
        let mut a = config_map_in("ns-a", "a");
        add_hash(&mut a, "h86gkk55b9");
        let mut b = config_map_in("ns-b", "b");
        add_hash(&mut b, "7dhtbt57df");
        let mut resources = vec![a, b];
        resources.extend(load(CLUSTER_ROLE));
        let err = fix_name_references(&mut resources, config()).expect_err("ambiguous");
        let NameRefError::Ambiguous {
            referrer,
            path,
            candidates,
        } = err
        else {
            panic!("expected an ambiguity, got {err}");
        };
        assert_eq!(referrer.name, "cr");
        assert_eq!(path, "rules/resourceNames");
        let names: Vec<(&str, &str)> = candidates
            .iter()
            .map(|c| (c.name.as_str(), c.namespace.as_str()))
            .collect();
        assert_eq!(
            names,
            [("cm-h86gkk55b9", "ns-a"), ("cm-7dhtbt57df", "ns-b")]
        );
    }

    #[test]
    fn same_new_name_everywhere_takes_the_first() {
        // Checked against kubectl kustomize v5.5.0: the same bases without generators, under an
        // overlay with `namePrefix: p-` that also holds the ClusterRole: both ConfigMaps become
        // `p-cm`, the ClusterRole's prefixes equal theirs, and the reference becomes `p-cm`.
        let mut resources = vec![config_map_in("ns-a", "a"), config_map_in("ns-b", "b")];
        resources.extend(load(CLUSTER_ROLE));
        add_affixes(&mut resources, "p-", "");
        fix_name_references(&mut resources, config()).expect("identical names");
        assert_eq!(
            emit_node(&resources[2].node),
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: p-cr\nrules:\n- resourceNames:\n  - p-cm\n"
        );
    }

    #[test]
    fn objects_never_renamed_are_not_candidates() {
        let mut resources = load(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  volumes:\n  - configMap: {name: cm}\n",
        );
        let before: Vec<Node> = resources.iter().map(|r| r.node.clone()).collect();
        fix_name_references(&mut resources, config()).expect("nothing to do");
        let after: Vec<Node> = resources.iter().map(|r| r.node.clone()).collect();
        assert_eq!(before, after);
    }

    #[test]
    fn prefix_lists_compare_by_their_ends() {
        assert!(same_ending(&[], &[]));
        assert!(!same_ending(&[], &["a".into()]));
        assert!(same_ending(&["a".into(), "b".into()], &["b".into()]));
        assert!(!same_ending(&["a".into(), "b".into()], &["a".into()]));
    }
}
