//! The renderer's unit of work: one Kubernetes object ([`Resource`]) with what kustomize
//! remembers about it while building (earlier ids, applied prefixes and suffixes, generator
//! options), and its identity ([`ResId`], [`Gvk`]).
//!
//! This module owns identity and bookkeeping. It does not own transforming objects (the
//! transformer modules do) or ordering them for output (`render::order`).

use std::fmt;

use crate::yaml::{Node, Span};

/// group/version/kind, as kustomize's `resid.Gvk`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gvk {
    /// API group; empty for the core group (`v1`).
    pub group: String,
    /// API version (`v1`, `v1beta1`).
    pub version: String,
    /// Kind (`Deployment`).
    pub kind: String,
}

impl Gvk {
    /// Splits `apiVersion` (`apps/v1`, `v1`) and takes `kind`.
    #[must_use]
    pub fn from_api_version(api_version: &str, kind: &str) -> Gvk {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        Gvk {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
        }
    }

    /// `apiVersion` as written in objects.
    #[must_use]
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether `self` is selected by `selector`: each non-empty field of the selector must
    /// equal the field of `self` (kustomize's `Gvk.IsSelected`).
    #[must_use]
    pub fn is_selected_by(&self, selector: &Gvk) -> bool {
        (selector.group.is_empty() || selector.group == self.group)
            && (selector.version.is_empty() || selector.version == self.version)
            && (selector.kind.is_empty() || selector.kind == self.kind)
    }

    /// Whether objects of this kind live outside namespaces (kustomize's built-in list of
    /// cluster-scoped kinds, `resid.IsClusterScoped`... extended with the CRDs of the build by
    /// the caller where needed).
    #[must_use]
    pub fn is_cluster_scoped(&self) -> bool {
        CLUSTER_SCOPED_KINDS.contains(&self.kind.as_str())
    }
}

impl fmt::Display for Gvk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // kustomize's Gvk.String(): `[group_]version_kind` with `~G`, `~V`, `~K` for blanks.
        let or = |s: &str, blank: &'static str| {
            if s.is_empty() {
                blank.to_owned()
            } else {
                s.to_owned()
            }
        };
        write!(
            f,
            "{}_{}_{}",
            or(&self.group, "~G"),
            or(&self.version, "~V"),
            or(&self.kind, "~K")
        )
    }
}

/// Kinds kustomize treats as cluster-scoped (from kyaml's `openapi` data: the built-in
/// Kubernetes kinds whose objects have no namespace).
pub const CLUSTER_SCOPED_KINDS: &[&str] = &[
    "APIService",
    "CSIDriver",
    "CSINode",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "ComponentStatus",
    "CustomResourceDefinition",
    "FlowSchema",
    "IngressClass",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PodSecurityPolicy",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "RuntimeClass",
    "SelfSubjectAccessReview",
    "SelfSubjectReview",
    "SelfSubjectRulesReview",
    "StorageClass",
    "StorageVersion",
    "SubjectAccessReview",
    "TokenReview",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
    "VolumeAttributesClass",
    "IPAddress",
    "ServiceCIDR",
    "ClusterTrustBundle",
    "DeviceClass",
];

/// A resource's identity: kustomize's `resid.ResId`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResId {
    /// group/version/kind.
    pub gvk: Gvk,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`; empty when unset.
    pub namespace: String,
}

impl ResId {
    /// Whether both ids are in the same namespace, counting an unset namespace as `default`
    /// (kustomize's `IsNsEquals`).
    #[must_use]
    pub fn is_ns_equals(&self, other: &ResId) -> bool {
        self.effective_namespace() == other.effective_namespace()
    }

    /// kustomize's `EffectiveNamespace`: `_non_namespaceable_` for cluster-scoped kinds,
    /// `default` when unset, else the namespace.
    #[must_use]
    pub fn effective_namespace(&self) -> &str {
        if self.is_cluster_scoped() {
            NOT_A_NAMESPACE
        } else if self.namespace.is_empty() {
            "default"
        } else {
            &self.namespace
        }
    }

    /// kustomize's `ResId.Equals`: same group, version, kind and name, in the same effective
    /// namespace.
    #[must_use]
    pub fn equals(&self, other: &ResId) -> bool {
        self.gvk == other.gvk && self.name == other.name && self.is_ns_equals(other)
    }

    /// Whether the object is cluster-scoped (see [`Gvk::is_cluster_scoped`]).
    #[must_use]
    pub fn is_cluster_scoped(&self) -> bool {
        self.gvk.is_cluster_scoped()
    }
}

/// The namespace kustomize gives cluster-scoped objects in ids (`TotallyNotANamespace`).
pub const NOT_A_NAMESPACE: &str = "_non_namespaceable_";

impl fmt::Display for ResId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // kustomize's ResId.String(): `gvk|namespace|name` with `~X` for no namespace.
        let ns = if self.namespace.is_empty() {
            "~X"
        } else {
            &self.namespace
        };
        write!(f, "{}|{}|{}", self.gvk, ns, self.name)
    }
}

/// How a generated object combines with an existing one of the same id (`behavior:`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Behavior {
    /// Not generated, or generated without a behavior.
    #[default]
    Unspecified,
    /// `create`: an existing object with the same id is an error.
    Create,
    /// `merge`: data merged into the existing object.
    Merge,
    /// `replace`: the existing object is replaced.
    Replace,
}

/// Where a resource came from, for diagnostics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// Repository-relative path of the file it was read from, or of the kustomization whose
    /// generator made it.
    pub file: String,
    /// The document (or generator entry) in that file.
    pub span: Span,
}

/// One object being rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// The object, a mapping, after `<<` merges were applied ([`Node::deanchor`]).
    pub node: Node,
    /// Where it came from.
    pub origin: Origin,
    /// Ids it had before each rename (prefix, suffix, namespace, hash), oldest first: kustomize's
    /// `internal.config.kubernetes.io/previous{Names,Kinds,Namespaces}` annotations.
    pub previous: Vec<ResId>,
    /// Name prefixes applied to it, in order (kustomize's `internal.config.kubernetes.io/prefixes`).
    pub prefixes: Vec<String>,
    /// Name suffixes applied to it, in order.
    pub suffixes: Vec<String>,
    /// Generator behavior, for generated objects.
    pub behavior: Behavior,
    /// Whether the name gets a content hash suffix at the end of the build (generated
    /// ConfigMaps and Secrets unless disabled).
    pub needs_hash: bool,
    /// Names of `vars` whose references were found in this object.
    pub ref_var_names: Vec<String>,
    /// Whether the object holds plaintext decrypted from a SOPS file (KSOPS): it must never be
    /// written anywhere unencrypted.
    pub sensitive: bool,
    /// The generator that made it (`apiVersion`, `kind`, `name` of its configuration), for
    /// `buildMetadata: [originAnnotations]`.
    pub generated_by: Option<(String, String, String)>,
    /// The transformers that ran over it, as (kustomization file, transformer kind), for
    /// `buildMetadata: [transformerAnnotations]`.
    pub transformations: Vec<(String, String)>,
}

impl Resource {
    /// A resource read from `origin`.
    #[must_use]
    pub fn new(mut node: Node, origin: Origin) -> Resource {
        node.deanchor();
        Resource {
            node,
            origin,
            previous: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            behavior: Behavior::Unspecified,
            needs_hash: false,
            ref_var_names: Vec::new(),
            sensitive: false,
            generated_by: None,
            transformations: Vec::new(),
        }
    }

    /// `apiVersion`, or empty.
    #[must_use]
    pub fn api_version(&self) -> &str {
        self.node.field_str("apiVersion").unwrap_or("")
    }

    /// `kind`, or empty.
    #[must_use]
    pub fn kind(&self) -> &str {
        self.node.field_str("kind").unwrap_or("")
    }

    /// `metadata.name`, or empty.
    #[must_use]
    pub fn name(&self) -> &str {
        self.node
            .path(&["metadata", "name"])
            .filter(|n| !n.is_null())
            .and_then(Node::as_str)
            .unwrap_or("")
    }

    /// `metadata.namespace`, or empty.
    #[must_use]
    pub fn namespace(&self) -> &str {
        self.node
            .path(&["metadata", "namespace"])
            .filter(|n| !n.is_null())
            .and_then(Node::as_str)
            .unwrap_or("")
    }

    /// group/version/kind.
    #[must_use]
    pub fn gvk(&self) -> Gvk {
        Gvk::from_api_version(self.api_version(), self.kind())
    }

    /// The current id (kustomize's `CurId`).
    #[must_use]
    pub fn cur_id(&self) -> ResId {
        ResId {
            gvk: self.gvk(),
            name: self.name().to_owned(),
            namespace: self.namespace().to_owned(),
        }
    }

    /// Whether any of its ids, previous or current, satisfies `pred` (kustomize's
    /// `GetMatchingResourcesByAnyId`).
    pub fn any_id(&self, mut pred: impl FnMut(&ResId) -> bool) -> bool {
        self.previous.iter().any(&mut pred) || pred(&self.cur_id())
    }

    /// The original id: the oldest previous id, else the current one (kustomize's `OrgId`).
    #[must_use]
    pub fn org_id(&self) -> ResId {
        self.previous
            .first()
            .cloned()
            .unwrap_or_else(|| self.cur_id())
    }

    /// Remembers the current id as a previous one, before a rename (kustomize's
    /// `StorePreviousId`).
    pub fn store_previous_id(&mut self) {
        let mut id = self.cur_id();
        // kustomize stores the effective namespace in its previous-id annotations.
        id.namespace = id.effective_namespace().to_owned();
        self.previous.push(id);
    }

    /// Sets `metadata.name`.
    pub fn set_name(&mut self, name: &str) {
        self.node
            .map_entry("metadata")
            .set("name", Node::string(name));
    }

    /// Sets `metadata.namespace`.
    pub fn set_namespace(&mut self, namespace: &str) {
        self.node
            .map_entry("metadata")
            .set("namespace", Node::string(namespace));
    }
}
