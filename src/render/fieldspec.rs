//! kustomize's field specs: which field of which kind of object a transformer touches
//! (`FieldSpec`), the built-in transformer configurations as data (kustomize v5.5.0's
//! `builtinpluginconsts`), the `configurations:` files that extend them and how
//! configurations merge ([`TransformerConfig`]), and walking an object along a field spec's path
//! ([`apply`], kustomize's `fieldspec.Filter`).
//!
//! This module owns the data and the traversal. It does not own what a transformer does at the
//! field it reaches (labels, prefixes, namespaces, name references: their own modules), nor
//! choosing the objects a spec applies to beyond [`FieldSpec::selects`], nor reading the
//! configuration files from disk (the caller parses them and hands over the [`Node`]).
//!
//! Behaviour notes (kustomize v5.5.0):
//! - Every configuration kustomize uses has been through `sortFields` (parsing sorts, merging
//!   sorts): each list is ordered by [`gvk_less`]. Go's `sort.Sort` is not stable; this module
//!   sorts stably. Entries that tie (same group/version/kind) only ever differ in path, and the
//!   transformers' effects at different paths do not depend on their order, so the outcome is
//!   the same.
//! - Merging a list skips an incoming spec whose path equals an existing one's and whose
//!   group/version/kind selects the existing one's; if their `create` differ it is an error.
//!   Name-reference entries with equal group/version/kind merge their referrer lists that way.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::OnceLock;

use crate::render::order::{ORDER_FIRST, ORDER_LAST};
use crate::render::resource::Gvk;
use crate::yaml::emit::{KustomizeValue, scalar_value};
use crate::yaml::{Node, NodeKind, ScalarStyle, Span, Value};

/// One kustomizable field of a kind of object: kustomize's `types.FieldSpec`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSpec {
    /// Which objects: empty parts match anything.
    pub gvk: Gvk,
    /// `/`-separated path; `\/` is a literal slash; `name[]` marks a sequence field.
    pub path: String,
    /// Whether missing fields along the path are created (`create:`), for the transformers that
    /// create anything at all (see [`Create`]).
    pub create: bool,
}

impl FieldSpec {
    /// A spec.
    #[must_use]
    pub fn new(gvk: Gvk, path: impl Into<String>, create: bool) -> FieldSpec {
        FieldSpec {
            gvk,
            path: path.into(),
            create,
        }
    }

    /// Whether the spec applies to an object of this group/version/kind (kustomize's
    /// `isMatchGVK` / `Gvk.IsSelected`).
    #[must_use]
    pub fn selects(&self, gvk: &Gvk) -> bool {
        gvk.is_selected_by(&self.gvk)
    }
}

/// kustomize's rank of a kind in `Gvk.IsLessThan`: the legacy output order's first and last
/// kinds ([`ORDER_FIRST`], [`ORDER_LAST`]).
fn type_order(kind: &str) -> i64 {
    if let Some(i) = ORDER_FIRST.iter().position(|k| *k == kind) {
        return i as i64 - ORDER_FIRST.len() as i64;
    }
    if let Some(i) = ORDER_LAST.iter().position(|k| *k == kind) {
        return 1 + i as i64;
    }
    0
}

/// kustomize's `Gvk.IsLessThan` as an ordering: kinds of `orderFirst` first, `orderLast` last,
/// then by the text `group_version_kind` with `~G`, `~V`, `~K` for empty parts.
#[must_use]
pub fn gvk_cmp(a: &Gvk, b: &Gvk) -> Ordering {
    type_order(&a.kind)
        .cmp(&type_order(&b.kind))
        .then_with(|| stable_sort_bytes(a).cmp(stable_sort_bytes(b)))
}

/// Whether `a` sorts before `b` (kustomize's `Gvk.IsLessThan`).
#[must_use]
pub fn gvk_less(a: &Gvk, b: &Gvk) -> bool {
    gvk_cmp(a, b) == Ordering::Less
}

fn stable_sort_bytes(g: &Gvk) -> impl Iterator<Item = u8> + '_ {
    nonempty(&g.group, "~G")
        .bytes()
        .chain(std::iter::once(b'_'))
        .chain(nonempty(&g.version, "~V").bytes())
        .chain(std::iter::once(b'_'))
        .chain(nonempty(&g.kind, "~K").bytes())
}

fn nonempty<'a>(s: &'a str, blank: &'static str) -> &'a str {
    if s.is_empty() { blank } else { s }
}

/// A kind of object that others refer to by name, and the fields that do (kustomize's
/// `NameBackReferences`): when a `gvk` object is renamed, `fields` are updated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameBackRef {
    /// The referred-to kind (the referral target).
    pub gvk: Gvk,
    /// The referring fields (`fieldSpecs:`), each with the referrer's group/version/kind.
    pub fields: Vec<FieldSpec>,
}

/// The field specs of every built-in transformer: kustomize's `TransformerConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransformerConfig {
    /// `namePrefix:` (where `namePrefix` applies).
    pub name_prefix: Vec<FieldSpec>,
    /// `nameSuffix:`.
    pub name_suffix: Vec<FieldSpec>,
    /// `namespace:` (fields besides `metadata/namespace` that hold the namespace).
    pub namespace: Vec<FieldSpec>,
    /// `commonLabels:` (labels and selectors; also `labels:` with `includeSelectors`).
    pub common_labels: Vec<FieldSpec>,
    /// `labels:` (extra specs merged into every `labels:` entry of a kustomization).
    pub labels: Vec<FieldSpec>,
    /// `templateLabels:` (metadata and pod template labels, for `labels:` with
    /// `includeTemplates`).
    pub template_labels: Vec<FieldSpec>,
    /// `commonAnnotations:`.
    pub common_annotations: Vec<FieldSpec>,
    /// `nameReference:`.
    pub name_reference: Vec<NameBackRef>,
    /// `varReference:` (where `$(VAR)` is substituted).
    pub var_reference: Vec<FieldSpec>,
    /// `images:`.
    pub images: Vec<FieldSpec>,
    /// `replicas:`.
    pub replicas: Vec<FieldSpec>,
}

/// Why a configuration could not be read or merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Two specs for the same path and kind disagree on `create` (kustomize: "failed to merge
    /// X fieldSpec: conflicting fieldspecs").
    #[error("failed to merge {list} fieldSpec: conflicting fieldspecs (path {path:?}, {gvk})")]
    Conflict {
        /// The list (`CommonLabels`, `NameReference`...), named as kustomize does.
        list: &'static str,
        /// The incoming spec's path.
        path: String,
        /// The incoming spec's group/version/kind.
        gvk: Gvk,
    },
    /// The configuration document does not have the expected shape (kustomize's strict
    /// unmarshalling: unknown fields and wrongly typed values are errors).
    #[error("invalid transformer configuration at line {}, column {}: {message}", .span.line, .span.col)]
    Invalid {
        /// What is wrong.
        message: String,
        /// Where.
        span: Span,
    },
}

/// The built-in configurations (kustomize v5.5.0's `builtinpluginconsts`, in its order:
/// `GetDefaultFieldSpecs`). Paths are quoted only so that the YAML stays valid.
const BUILTIN: &str = r#"
namePrefix:
- {path: 'metadata/name'}
nameSuffix:
- {path: 'metadata/name'}
commonLabels:
- {version: v1, kind: Service, path: 'spec/selector', create: true}
- {version: v1, kind: ReplicationController, path: 'spec/selector', create: true}
- {kind: Deployment, path: 'spec/selector/matchLabels', create: true}
- {group: apps, kind: Deployment, path: 'spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels', create: false}
- {group: apps, kind: Deployment, path: 'spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels', create: false}
- {group: apps, kind: Deployment, path: 'spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels', create: false}
- {group: apps, kind: Deployment, path: 'spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels', create: false}
- {group: apps, kind: Deployment, path: 'spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels', create: false}
- {kind: ReplicaSet, path: 'spec/selector/matchLabels', create: true}
- {kind: DaemonSet, path: 'spec/selector/matchLabels', create: true}
- {group: apps, kind: StatefulSet, path: 'spec/selector/matchLabels', create: true}
- {group: apps, kind: StatefulSet, path: 'spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels', create: false}
- {group: apps, kind: StatefulSet, path: 'spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels', create: false}
- {group: apps, kind: StatefulSet, path: 'spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels', create: false}
- {group: apps, kind: StatefulSet, path: 'spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels', create: false}
- {group: apps, kind: StatefulSet, path: 'spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels', create: false}
- {group: batch, kind: Job, path: 'spec/selector/matchLabels', create: false}
- {group: batch, kind: CronJob, path: 'spec/jobTemplate/spec/selector/matchLabels', create: false}
- {group: policy, kind: PodDisruptionBudget, path: 'spec/selector/matchLabels', create: false}
- {group: networking.k8s.io, kind: NetworkPolicy, path: 'spec/podSelector/matchLabels', create: false}
- {group: networking.k8s.io, kind: NetworkPolicy, path: 'spec/ingress/from/podSelector/matchLabels', create: false}
- {group: networking.k8s.io, kind: NetworkPolicy, path: 'spec/egress/to/podSelector/matchLabels', create: false}
- {path: 'metadata/labels', create: true}
- {version: v1, kind: ReplicationController, path: 'spec/template/metadata/labels', create: true}
- {kind: Deployment, path: 'spec/template/metadata/labels', create: true}
- {kind: ReplicaSet, path: 'spec/template/metadata/labels', create: true}
- {kind: DaemonSet, path: 'spec/template/metadata/labels', create: true}
- {group: apps, kind: StatefulSet, path: 'spec/template/metadata/labels', create: true}
- {group: apps, kind: StatefulSet, path: 'spec/volumeClaimTemplates[]/metadata/labels', create: true}
- {group: batch, kind: Job, path: 'spec/template/metadata/labels', create: true}
- {group: batch, kind: CronJob, path: 'spec/jobTemplate/metadata/labels', create: true}
- {group: batch, kind: CronJob, path: 'spec/jobTemplate/spec/template/metadata/labels', create: true}
templateLabels:
- {path: 'metadata/labels', create: true}
- {version: v1, kind: ReplicationController, path: 'spec/template/metadata/labels', create: true}
- {kind: Deployment, path: 'spec/template/metadata/labels', create: true}
- {kind: ReplicaSet, path: 'spec/template/metadata/labels', create: true}
- {kind: DaemonSet, path: 'spec/template/metadata/labels', create: true}
- {group: apps, kind: StatefulSet, path: 'spec/template/metadata/labels', create: true}
- {group: apps, kind: StatefulSet, path: 'spec/volumeClaimTemplates[]/metadata/labels', create: true}
- {group: batch, kind: Job, path: 'spec/template/metadata/labels', create: true}
- {group: batch, kind: CronJob, path: 'spec/jobTemplate/metadata/labels', create: true}
- {group: batch, kind: CronJob, path: 'spec/jobTemplate/spec/template/metadata/labels', create: true}
commonAnnotations:
- {path: 'metadata/annotations', create: true}
- {version: v1, kind: ReplicationController, path: 'spec/template/metadata/annotations', create: true}
- {kind: Deployment, path: 'spec/template/metadata/annotations', create: true}
- {kind: ReplicaSet, path: 'spec/template/metadata/annotations', create: true}
- {kind: DaemonSet, path: 'spec/template/metadata/annotations', create: true}
- {kind: StatefulSet, path: 'spec/template/metadata/annotations', create: true}
- {group: batch, kind: Job, path: 'spec/template/metadata/annotations', create: true}
- {group: batch, kind: CronJob, path: 'spec/jobTemplate/metadata/annotations', create: true}
- {group: batch, kind: CronJob, path: 'spec/jobTemplate/spec/template/metadata/annotations', create: true}
namespace:
- {kind: Namespace, path: 'metadata/name', create: true}
- {group: apiregistration.k8s.io, kind: APIService, path: 'spec/service/namespace', create: true}
- {group: apiextensions.k8s.io, kind: CustomResourceDefinition, path: 'spec/conversion/webhook/clientConfig/service/namespace'}
varReference:
- {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/containers/args'}
- {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/containers/command'}
- {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/containers/env/value'}
- {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/containers/volumeMounts/mountPath'}
- {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/initContainers/args'}
- {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/initContainers/command'}
- {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/initContainers/env/value'}
- {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/initContainers/volumeMounts/mountPath'}
- {kind: CronJob, path: 'spec/jobTemplate/spec/template/volumes/nfs/server'}
- {kind: DaemonSet, path: 'spec/template/spec/containers/args'}
- {kind: DaemonSet, path: 'spec/template/spec/containers/command'}
- {kind: DaemonSet, path: 'spec/template/spec/containers/env/value'}
- {kind: DaemonSet, path: 'spec/template/spec/containers/volumeMounts/mountPath'}
- {kind: DaemonSet, path: 'spec/template/spec/initContainers/args'}
- {kind: DaemonSet, path: 'spec/template/spec/initContainers/command'}
- {kind: DaemonSet, path: 'spec/template/spec/initContainers/env/value'}
- {kind: DaemonSet, path: 'spec/template/spec/initContainers/volumeMounts/mountPath'}
- {kind: DaemonSet, path: 'spec/template/spec/volumes/nfs/server'}
- {kind: Deployment, path: 'spec/template/spec/containers/args'}
- {kind: Deployment, path: 'spec/template/spec/containers/command'}
- {kind: Deployment, path: 'spec/template/spec/containers/env/value'}
- {kind: Deployment, path: 'spec/template/spec/containers/volumeMounts/mountPath'}
- {kind: Deployment, path: 'spec/template/spec/initContainers/args'}
- {kind: Deployment, path: 'spec/template/spec/initContainers/command'}
- {kind: Deployment, path: 'spec/template/spec/initContainers/env/value'}
- {kind: Deployment, path: 'spec/template/spec/initContainers/volumeMounts/mountPath'}
- {kind: Deployment, path: 'spec/template/spec/volumes/nfs/server'}
- {kind: Deployment, path: 'spec/template/metadata/annotations'}
- {kind: Ingress, path: 'spec/rules/host'}
- {kind: Ingress, path: 'spec/tls/hosts'}
- {kind: Ingress, path: 'spec/tls/secretName'}
- {kind: Job, path: 'spec/template/spec/containers/args'}
- {kind: Job, path: 'spec/template/spec/containers/command'}
- {kind: Job, path: 'spec/template/spec/containers/env/value'}
- {kind: Job, path: 'spec/template/spec/containers/volumeMounts/mountPath'}
- {kind: Job, path: 'spec/template/spec/initContainers/args'}
- {kind: Job, path: 'spec/template/spec/initContainers/command'}
- {kind: Job, path: 'spec/template/spec/initContainers/env/value'}
- {kind: Job, path: 'spec/template/spec/initContainers/volumeMounts/mountPath'}
- {kind: Job, path: 'spec/template/spec/volumes/nfs/server'}
- {kind: Pod, path: 'spec/containers/args'}
- {kind: Pod, path: 'spec/containers/command'}
- {kind: Pod, path: 'spec/containers/env/value'}
- {kind: Pod, path: 'spec/containers/volumeMounts/mountPath'}
- {kind: Pod, path: 'spec/initContainers/args'}
- {kind: Pod, path: 'spec/initContainers/command'}
- {kind: Pod, path: 'spec/initContainers/env/value'}
- {kind: Pod, path: 'spec/initContainers/volumeMounts/mountPath'}
- {kind: Pod, path: 'spec/volumes/nfs/server'}
- {kind: ReplicaSet, path: 'spec/template/spec/containers/args'}
- {kind: ReplicaSet, path: 'spec/template/spec/containers/command'}
- {kind: ReplicaSet, path: 'spec/template/spec/containers/env/value'}
- {kind: ReplicaSet, path: 'spec/template/spec/containers/volumeMounts/mountPath'}
- {kind: ReplicaSet, path: 'spec/template/spec/initContainers/args'}
- {kind: ReplicaSet, path: 'spec/template/spec/initContainers/command'}
- {kind: ReplicaSet, path: 'spec/template/spec/initContainers/env/value'}
- {kind: ReplicaSet, path: 'spec/template/spec/initContainers/volumeMounts/mountPath'}
- {kind: ReplicaSet, path: 'spec/template/spec/volumes/nfs/server'}
- {kind: Service, path: 'spec/ports/port'}
- {kind: Service, path: 'spec/ports/targetPort'}
- {kind: StatefulSet, path: 'spec/template/spec/containers/args'}
- {kind: StatefulSet, path: 'spec/template/spec/containers/command'}
- {kind: StatefulSet, path: 'spec/template/spec/containers/env/value'}
- {kind: StatefulSet, path: 'spec/template/spec/containers/volumeMounts/mountPath'}
- {kind: StatefulSet, path: 'spec/template/spec/initContainers/args'}
- {kind: StatefulSet, path: 'spec/template/spec/initContainers/command'}
- {kind: StatefulSet, path: 'spec/template/spec/initContainers/env/value'}
- {kind: StatefulSet, path: 'spec/template/spec/initContainers/volumeMounts/mountPath'}
- {kind: StatefulSet, path: 'spec/volumeClaimTemplates/spec/nfs/server'}
- {kind: PersistentVolume, path: 'spec/nfs/server'}
- {path: 'metadata/labels'}
- {path: 'metadata/annotations'}
nameReference:
- kind: Deployment
  fieldSpecs:
  - {kind: HorizontalPodAutoscaler, path: 'spec/scaleTargetRef/name'}
- kind: ReplicationController
  fieldSpecs:
  - {kind: HorizontalPodAutoscaler, path: 'spec/scaleTargetRef/name'}
- kind: ReplicaSet
  fieldSpecs:
  - {kind: HorizontalPodAutoscaler, path: 'spec/scaleTargetRef/name'}
- kind: StatefulSet
  fieldSpecs:
  - {kind: HorizontalPodAutoscaler, path: 'spec/scaleTargetRef/name'}
- version: v1
  kind: ConfigMap
  fieldSpecs:
  - {version: v1, kind: Pod, path: 'spec/volumes/configMap/name'}
  - {version: v1, kind: Pod, path: 'spec/containers/env/valueFrom/configMapKeyRef/name'}
  - {version: v1, kind: Pod, path: 'spec/initContainers/env/valueFrom/configMapKeyRef/name'}
  - {version: v1, kind: Pod, path: 'spec/containers/envFrom/configMapRef/name'}
  - {version: v1, kind: Pod, path: 'spec/initContainers/envFrom/configMapRef/name'}
  - {version: v1, kind: Pod, path: 'spec/volumes/projected/sources/configMap/name'}
  - {kind: PodTemplate, path: 'template/spec/volumes/configMap/name'}
  - {kind: PodTemplate, path: 'template/spec/containers/env/valueFrom/configMapKeyRef/name'}
  - {kind: PodTemplate, path: 'template/spec/initContainers/env/valueFrom/configMapKeyRef/name'}
  - {kind: PodTemplate, path: 'template/spec/containers/envFrom/configMapRef/name'}
  - {kind: PodTemplate, path: 'template/spec/initContainers/envFrom/configMapRef/name'}
  - {kind: PodTemplate, path: 'template/spec/volumes/projected/sources/configMap/name'}
  - {kind: Deployment, path: 'spec/template/spec/volumes/configMap/name'}
  - {kind: Deployment, path: 'spec/template/spec/containers/env/valueFrom/configMapKeyRef/name'}
  - {kind: Deployment, path: 'spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name'}
  - {kind: Deployment, path: 'spec/template/spec/containers/envFrom/configMapRef/name'}
  - {kind: Deployment, path: 'spec/template/spec/initContainers/envFrom/configMapRef/name'}
  - {kind: Deployment, path: 'spec/template/spec/volumes/projected/sources/configMap/name'}
  - {kind: ReplicaSet, path: 'spec/template/spec/volumes/configMap/name'}
  - {kind: ReplicaSet, path: 'spec/template/spec/containers/env/valueFrom/configMapKeyRef/name'}
  - {kind: ReplicaSet, path: 'spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name'}
  - {kind: ReplicaSet, path: 'spec/template/spec/containers/envFrom/configMapRef/name'}
  - {kind: ReplicaSet, path: 'spec/template/spec/initContainers/envFrom/configMapRef/name'}
  - {kind: ReplicaSet, path: 'spec/template/spec/volumes/projected/sources/configMap/name'}
  - {kind: DaemonSet, path: 'spec/template/spec/volumes/configMap/name'}
  - {kind: DaemonSet, path: 'spec/template/spec/containers/env/valueFrom/configMapKeyRef/name'}
  - {kind: DaemonSet, path: 'spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name'}
  - {kind: DaemonSet, path: 'spec/template/spec/containers/envFrom/configMapRef/name'}
  - {kind: DaemonSet, path: 'spec/template/spec/initContainers/envFrom/configMapRef/name'}
  - {kind: DaemonSet, path: 'spec/template/spec/volumes/projected/sources/configMap/name'}
  - {kind: StatefulSet, path: 'spec/template/spec/volumes/configMap/name'}
  - {kind: StatefulSet, path: 'spec/template/spec/containers/env/valueFrom/configMapKeyRef/name'}
  - {kind: StatefulSet, path: 'spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name'}
  - {kind: StatefulSet, path: 'spec/template/spec/containers/envFrom/configMapRef/name'}
  - {kind: StatefulSet, path: 'spec/template/spec/initContainers/envFrom/configMapRef/name'}
  - {kind: StatefulSet, path: 'spec/template/spec/volumes/projected/sources/configMap/name'}
  - {kind: Job, path: 'spec/template/spec/volumes/configMap/name'}
  - {kind: Job, path: 'spec/template/spec/containers/env/valueFrom/configMapKeyRef/name'}
  - {kind: Job, path: 'spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name'}
  - {kind: Job, path: 'spec/template/spec/containers/envFrom/configMapRef/name'}
  - {kind: Job, path: 'spec/template/spec/initContainers/envFrom/configMapRef/name'}
  - {kind: Job, path: 'spec/template/spec/volumes/projected/sources/configMap/name'}
  - {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/volumes/configMap/name'}
  - {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/volumes/projected/sources/configMap/name'}
  - {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/containers/env/valueFrom/configMapKeyRef/name'}
  - {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name'}
  - {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/containers/envFrom/configMapRef/name'}
  - {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/initContainers/envFrom/configMapRef/name'}
  - {kind: Node, path: 'spec/configSource/configMap'}
  - {kind: Role, path: 'rules/resourceNames'}
  - {kind: ClusterRole, path: 'rules/resourceNames'}
  - {kind: Ingress, path: 'metadata/annotations/nginx.ingress.kubernetes.io\/fastcgi-params-configmap'}
- version: v1
  kind: Secret
  fieldSpecs:
  - {version: v1, kind: Pod, path: 'spec/volumes/secret/secretName'}
  - {version: v1, kind: Pod, path: 'spec/containers/env/valueFrom/secretKeyRef/name'}
  - {version: v1, kind: Pod, path: 'spec/initContainers/env/valueFrom/secretKeyRef/name'}
  - {version: v1, kind: Pod, path: 'spec/containers/envFrom/secretRef/name'}
  - {version: v1, kind: Pod, path: 'spec/initContainers/envFrom/secretRef/name'}
  - {version: v1, kind: Pod, path: 'spec/imagePullSecrets/name'}
  - {version: v1, kind: Pod, path: 'spec/volumes/projected/sources/secret/name'}
  - {kind: PodTemplate, path: 'template/spec/volumes/secret/secretName'}
  - {kind: PodTemplate, path: 'template/spec/containers/env/valueFrom/secretKeyRef/name'}
  - {kind: PodTemplate, path: 'template/spec/initContainers/env/valueFrom/secretKeyRef/name'}
  - {kind: PodTemplate, path: 'template/spec/containers/envFrom/secretRef/name'}
  - {kind: PodTemplate, path: 'template/spec/initContainers/envFrom/secretRef/name'}
  - {kind: PodTemplate, path: 'template/spec/imagePullSecrets/name'}
  - {kind: PodTemplate, path: 'template/spec/volumes/projected/sources/secret/name'}
  - {kind: Deployment, path: 'spec/template/spec/volumes/secret/secretName'}
  - {kind: Deployment, path: 'spec/template/spec/containers/env/valueFrom/secretKeyRef/name'}
  - {kind: Deployment, path: 'spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name'}
  - {kind: Deployment, path: 'spec/template/spec/containers/envFrom/secretRef/name'}
  - {kind: Deployment, path: 'spec/template/spec/initContainers/envFrom/secretRef/name'}
  - {kind: Deployment, path: 'spec/template/spec/imagePullSecrets/name'}
  - {kind: Deployment, path: 'spec/template/spec/volumes/projected/sources/secret/name'}
  - {kind: ReplicaSet, path: 'spec/template/spec/volumes/secret/secretName'}
  - {kind: ReplicaSet, path: 'spec/template/spec/containers/env/valueFrom/secretKeyRef/name'}
  - {kind: ReplicaSet, path: 'spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name'}
  - {kind: ReplicaSet, path: 'spec/template/spec/containers/envFrom/secretRef/name'}
  - {kind: ReplicaSet, path: 'spec/template/spec/initContainers/envFrom/secretRef/name'}
  - {kind: ReplicaSet, path: 'spec/template/spec/imagePullSecrets/name'}
  - {kind: ReplicaSet, path: 'spec/template/spec/volumes/projected/sources/secret/name'}
  - {kind: DaemonSet, path: 'spec/template/spec/volumes/secret/secretName'}
  - {kind: DaemonSet, path: 'spec/template/spec/containers/env/valueFrom/secretKeyRef/name'}
  - {kind: DaemonSet, path: 'spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name'}
  - {kind: DaemonSet, path: 'spec/template/spec/containers/envFrom/secretRef/name'}
  - {kind: DaemonSet, path: 'spec/template/spec/initContainers/envFrom/secretRef/name'}
  - {kind: DaemonSet, path: 'spec/template/spec/imagePullSecrets/name'}
  - {kind: DaemonSet, path: 'spec/template/spec/volumes/projected/sources/secret/name'}
  - {kind: StatefulSet, path: 'spec/template/spec/volumes/secret/secretName'}
  - {kind: StatefulSet, path: 'spec/template/spec/containers/env/valueFrom/secretKeyRef/name'}
  - {kind: StatefulSet, path: 'spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name'}
  - {kind: StatefulSet, path: 'spec/template/spec/containers/envFrom/secretRef/name'}
  - {kind: StatefulSet, path: 'spec/template/spec/initContainers/envFrom/secretRef/name'}
  - {kind: StatefulSet, path: 'spec/template/spec/imagePullSecrets/name'}
  - {kind: StatefulSet, path: 'spec/template/spec/volumes/projected/sources/secret/name'}
  - {kind: Job, path: 'spec/template/spec/volumes/secret/secretName'}
  - {kind: Job, path: 'spec/template/spec/containers/env/valueFrom/secretKeyRef/name'}
  - {kind: Job, path: 'spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name'}
  - {kind: Job, path: 'spec/template/spec/containers/envFrom/secretRef/name'}
  - {kind: Job, path: 'spec/template/spec/initContainers/envFrom/secretRef/name'}
  - {kind: Job, path: 'spec/template/spec/imagePullSecrets/name'}
  - {kind: Job, path: 'spec/template/spec/volumes/projected/sources/secret/name'}
  - {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/volumes/secret/secretName'}
  - {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/volumes/projected/sources/secret/name'}
  - {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/containers/env/valueFrom/secretKeyRef/name'}
  - {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name'}
  - {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/containers/envFrom/secretRef/name'}
  - {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/initContainers/envFrom/secretRef/name'}
  - {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/imagePullSecrets/name'}
  - {kind: Ingress, path: 'spec/tls/secretName'}
  - {kind: Ingress, path: 'metadata/annotations/ingress.kubernetes.io\/auth-secret'}
  - {kind: Ingress, path: 'metadata/annotations/nginx.ingress.kubernetes.io\/auth-secret'}
  - {kind: Ingress, path: 'metadata/annotations/nginx.ingress.kubernetes.io\/auth-tls-secret'}
  - {kind: Ingress, path: 'spec/tls/secretName'}
  - {kind: ServiceAccount, path: 'imagePullSecrets/name'}
  - {kind: StorageClass, path: 'parameters/secretName'}
  - {kind: StorageClass, path: 'parameters/adminSecretName'}
  - {kind: StorageClass, path: 'parameters/userSecretName'}
  - {kind: StorageClass, path: 'parameters/secretRef'}
  - {kind: Role, path: 'rules/resourceNames'}
  - {kind: ClusterRole, path: 'rules/resourceNames'}
  - {group: serving.knative.dev, version: v1, kind: Service, path: 'spec/template/spec/containers/env/valueFrom/secretKeyRef/name'}
  - {kind: PersistentVolume, path: 'spec/azureFile/secretName'}
- version: v1
  kind: Service
  fieldSpecs:
  - {group: apps, kind: StatefulSet, path: 'spec/serviceName'}
  - {kind: Ingress, path: 'spec/rules/http/paths/backend/serviceName'}
  - {kind: Ingress, path: 'spec/backend/serviceName'}
  - {kind: Ingress, path: 'spec/rules/http/paths/backend/service/name'}
  - {kind: Ingress, path: 'spec/defaultBackend/service/name'}
  - {group: apiregistration.k8s.io, kind: APIService, path: 'spec/service/name'}
  - {group: admissionregistration.k8s.io, kind: ValidatingWebhookConfiguration, path: 'webhooks/clientConfig/service'}
  - {group: admissionregistration.k8s.io, kind: MutatingWebhookConfiguration, path: 'webhooks/clientConfig/service'}
- group: rbac.authorization.k8s.io
  kind: Role
  fieldSpecs:
  - {group: rbac.authorization.k8s.io, kind: RoleBinding, path: 'roleRef/name'}
- group: rbac.authorization.k8s.io
  kind: ClusterRole
  fieldSpecs:
  - {group: rbac.authorization.k8s.io, kind: RoleBinding, path: 'roleRef/name'}
  - {group: rbac.authorization.k8s.io, kind: ClusterRoleBinding, path: 'roleRef/name'}
- version: v1
  kind: ServiceAccount
  fieldSpecs:
  - {group: rbac.authorization.k8s.io, kind: RoleBinding, path: 'subjects'}
  - {group: rbac.authorization.k8s.io, kind: ClusterRoleBinding, path: 'subjects'}
  - {kind: Pod, path: 'spec/serviceAccountName'}
  - {kind: StatefulSet, path: 'spec/template/spec/serviceAccountName'}
  - {kind: Deployment, path: 'spec/template/spec/serviceAccountName'}
  - {kind: ReplicationController, path: 'spec/template/spec/serviceAccountName'}
  - {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/serviceAccountName'}
  - {kind: Job, path: 'spec/template/spec/serviceAccountName'}
  - {kind: DaemonSet, path: 'spec/template/spec/serviceAccountName'}
- version: v1
  kind: PersistentVolumeClaim
  fieldSpecs:
  - {kind: Pod, path: 'spec/volumes/persistentVolumeClaim/claimName'}
  - {kind: StatefulSet, path: 'spec/template/spec/volumes/persistentVolumeClaim/claimName'}
  - {kind: Deployment, path: 'spec/template/spec/volumes/persistentVolumeClaim/claimName'}
  - {kind: ReplicationController, path: 'spec/template/spec/volumes/persistentVolumeClaim/claimName'}
  - {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/volumes/persistentVolumeClaim/claimName'}
  - {kind: Job, path: 'spec/template/spec/volumes/persistentVolumeClaim/claimName'}
  - {kind: DaemonSet, path: 'spec/template/spec/volumes/persistentVolumeClaim/claimName'}
- version: v1
  kind: PersistentVolume
  fieldSpecs:
  - {kind: PersistentVolumeClaim, path: 'spec/volumeName'}
  - {kind: ClusterRole, path: 'rules/resourceNames'}
- group: storage.k8s.io
  version: v1
  kind: StorageClass
  fieldSpecs:
  - {kind: PersistentVolume, path: 'spec/storageClassName'}
  - {kind: PersistentVolumeClaim, path: 'spec/storageClassName'}
  - {kind: StatefulSet, path: 'spec/volumeClaimTemplates/spec/storageClassName'}
- group: scheduling.k8s.io
  version: v1
  kind: PriorityClass
  fieldSpecs:
  - {kind: Pod, path: 'spec/priorityClassName'}
  - {kind: StatefulSet, path: 'spec/template/spec/priorityClassName'}
  - {kind: Deployment, path: 'spec/template/spec/priorityClassName'}
  - {kind: ReplicationController, path: 'spec/template/spec/priorityClassName'}
  - {kind: CronJob, path: 'spec/jobTemplate/spec/template/spec/priorityClassName'}
  - {kind: Job, path: 'spec/template/spec/priorityClassName'}
  - {kind: DaemonSet, path: 'spec/template/spec/priorityClassName'}
- group: networking.k8s.io/v1
  version: v1
  kind: IngressClass
  fieldSpecs:
  - {kind: Ingress, path: 'spec/ingressClassName'}
- group: admissionregistration.k8s.io
  kind: ValidatingAdmissionPolicy
  fieldSpecs:
  - {group: admissionregistration.k8s.io, kind: ValidatingAdmissionPolicyBinding, path: 'spec/policyName'}
images:
- {path: 'spec/containers[]/image', create: true}
- {path: 'spec/initContainers[]/image', create: true}
- {path: 'spec/template/spec/containers[]/image', create: true}
- {path: 'spec/template/spec/initContainers[]/image', create: true}
replicas:
- {kind: Deployment, path: 'spec/replicas', create: true}
- {kind: ReplicationController, path: 'spec/replicas', create: true}
- {kind: ReplicaSet, path: 'spec/replicas', create: true}
- {kind: StatefulSet, path: 'spec/replicas', create: true}
"#;

/// The lists of a configuration with their YAML key and the name kustomize uses in merge errors.
type ListAccess = (
    &'static str,
    &'static str,
    fn(&mut TransformerConfig) -> &mut Vec<FieldSpec>,
    fn(&TransformerConfig) -> &[FieldSpec],
);

const LISTS: &[ListAccess] = &[
    (
        "namePrefix",
        "NamePrefix",
        |c| &mut c.name_prefix,
        |c| &c.name_prefix,
    ),
    (
        "nameSuffix",
        "NameSuffix",
        |c| &mut c.name_suffix,
        |c| &c.name_suffix,
    ),
    (
        "namespace",
        "NameSpace",
        |c| &mut c.namespace,
        |c| &c.namespace,
    ),
    (
        "commonAnnotations",
        "CommonAnnotations",
        |c| &mut c.common_annotations,
        |c| &c.common_annotations,
    ),
    (
        "commonLabels",
        "CommonLabels",
        |c| &mut c.common_labels,
        |c| &c.common_labels,
    ),
    ("labels", "Labels", |c| &mut c.labels, |c| &c.labels),
    (
        "templateLabels",
        "TemplateLabels",
        |c| &mut c.template_labels,
        |c| &c.template_labels,
    ),
    (
        "varReference",
        "VarReference",
        |c| &mut c.var_reference,
        |c| &c.var_reference,
    ),
    ("images", "Images", |c| &mut c.images, |c| &c.images),
    ("replicas", "Replicas", |c| &mut c.replicas, |c| &c.replicas),
];

impl TransformerConfig {
    /// The built-in configuration, as kustomize's `MakeDefaultConfig` returns it (parsed, then
    /// sorted). Parsed once.
    #[must_use]
    pub fn builtin() -> &'static TransformerConfig {
        static BUILTIN_CONFIG: OnceLock<TransformerConfig> = OnceLock::new();
        BUILTIN_CONFIG.get_or_init(|| {
            let node = crate::yaml::parse_one(BUILTIN)
                .ok()
                .flatten()
                .expect("the built-in configuration is valid YAML (checked by a test)");
            TransformerConfig::from_yaml(&node)
                .expect("the built-in configuration is a valid configuration (checked by a test)")
        })
    }

    /// What kustomize's accumulator holds after reading one kustomization with no
    /// `configurations:` and no `crds:`: the empty configuration merged with the built-in one.
    /// Computed once.
    #[must_use]
    pub fn builtin_merged() -> &'static TransformerConfig {
        static MERGED: OnceLock<TransformerConfig> = OnceLock::new();
        MERGED.get_or_init(|| {
            let mut c = TransformerConfig::default();
            c.merge(TransformerConfig::builtin())
                .expect("merging the built-in configuration into nothing cannot conflict");
            c
        })
    }

    /// Whether every list is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.name_reference.is_empty()
            && [
                &self.name_prefix,
                &self.name_suffix,
                &self.namespace,
                &self.common_labels,
                &self.labels,
                &self.template_labels,
                &self.common_annotations,
                &self.var_reference,
                &self.images,
                &self.replicas,
            ]
            .iter()
            .all(|l| l.is_empty())
    }

    /// Reads one `configurations:` file (kustomize's `makeTransformerConfigFromBytes`: strict
    /// unmarshalling, then sorting). A null document is the empty configuration.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for an unknown key or a wrongly typed value.
    pub fn from_yaml(node: &Node) -> Result<TransformerConfig, ConfigError> {
        let mut config = TransformerConfig::default();
        if node.is_null() {
            return Ok(config);
        }
        let entries = node
            .as_map()
            .ok_or_else(|| invalid(node, "expected a mapping"))?;
        for (key, value) in entries {
            let key_text = key.as_str().unwrap_or("");
            if json_field(key_text, "nameReference") {
                config.name_reference = parse_back_refs(value)?;
                continue;
            }
            let Some((_, _, list, _)) = LISTS.iter().find(|(k, _, _, _)| json_field(key_text, k))
            else {
                return Err(invalid(key, &format!("unknown field {key_text:?}")));
            };
            *list(&mut config) = parse_specs(value)?;
        }
        config.sort_fields();
        Ok(config)
    }

    /// Merges `other` into this configuration (kustomize's `TransformerConfig.Merge`): specs
    /// already present are skipped, new ones appended, name-reference entries of the same
    /// group/version/kind merged; then every list is sorted.
    ///
    /// # Errors
    /// [`ConfigError::Conflict`] when an incoming spec matches an existing one but differs in
    /// `create`.
    pub fn merge(&mut self, other: &TransformerConfig) -> Result<(), ConfigError> {
        for (_, name, list, incoming) in LISTS {
            merge_specs(list(self), incoming(other), name)?;
        }
        for incoming in &other.name_reference {
            let mut found = false;
            for existing in &mut self.name_reference {
                if existing.gvk == incoming.gvk {
                    merge_specs(&mut existing.fields, &incoming.fields, "NameReference")?;
                    found = true;
                }
            }
            if !found {
                self.name_reference.push(incoming.clone());
            }
        }
        self.sort_fields();
        Ok(())
    }

    /// Sorts every list by [`gvk_cmp`] (kustomize's `sortFields`; referrer lists inside
    /// name-reference entries are not sorted).
    fn sort_fields(&mut self) {
        for (_, _, list, _) in LISTS {
            let list = list(self);
            if !list.is_sorted_by(|a, b| gvk_cmp(&a.gvk, &b.gvk) != Ordering::Greater) {
                list.sort_by(|a, b| gvk_cmp(&a.gvk, &b.gvk));
            }
        }
        let refs = &mut self.name_reference;
        if !refs.is_sorted_by(|a, b| gvk_cmp(&a.gvk, &b.gvk) != Ordering::Greater) {
            refs.sort_by(|a, b| gvk_cmp(&a.gvk, &b.gvk));
        }
    }
}

/// Merges `incoming` into `list` (kustomize's `FsSlice.MergeAll`): an incoming spec is skipped
/// when the first existing spec with the same path whose group/version/kind it selects has the
/// same `create`, is an error when that `create` differs, and is appended otherwise.
fn merge_specs(
    list: &mut Vec<FieldSpec>,
    incoming: &[FieldSpec],
    name: &'static str,
) -> Result<(), ConfigError> {
    if incoming.is_empty() {
        return Ok(());
    }
    let mut added: Vec<&FieldSpec> = Vec::new();
    {
        let mut by_path: HashMap<&str, Vec<usize>> = HashMap::with_capacity(list.len());
        for (i, spec) in list.iter().enumerate() {
            by_path.entry(spec.path.as_str()).or_default().push(i);
        }
        for x in incoming {
            let existing = by_path
                .get(x.path.as_str())
                .and_then(|ids| {
                    ids.iter()
                        .map(|&i| &list[i])
                        .find(|s| s.gvk.is_selected_by(&x.gvk))
                })
                .or_else(|| {
                    added
                        .iter()
                        .copied()
                        .find(|s| s.path == x.path && s.gvk.is_selected_by(&x.gvk))
                });
            match existing {
                Some(s) if s.create != x.create => {
                    return Err(ConfigError::Conflict {
                        list: name,
                        path: x.path.clone(),
                        gvk: x.gvk.clone(),
                    });
                }
                Some(_) => {}
                None => added.push(x),
            }
        }
    }
    list.extend(added.into_iter().cloned());
    Ok(())
}

/// Whether a JSON key matches a Go struct field's JSON name (exact, else ignoring case, as
/// `encoding/json` does).
fn json_field(key: &str, field: &str) -> bool {
    key == field || key.eq_ignore_ascii_case(field)
}

fn invalid(node: &Node, message: &str) -> ConfigError {
    ConfigError::Invalid {
        message: message.to_owned(),
        span: node.span,
    }
}

fn parse_back_refs(node: &Node) -> Result<Vec<NameBackRef>, ConfigError> {
    if node.is_null() {
        return Ok(Vec::new());
    }
    let items = node
        .as_seq()
        .ok_or_else(|| invalid(node, "nameReference must be a list"))?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let mut back_ref = NameBackRef::default();
        if !item.is_null() {
            let entries = item
                .as_map()
                .ok_or_else(|| invalid(item, "a nameReference entry must be a mapping"))?;
            for (key, value) in entries {
                let k = key.as_str().unwrap_or("");
                if json_field(k, "fieldSpecs") {
                    back_ref.fields = parse_specs(value)?;
                } else if !set_gvk_field(&mut back_ref.gvk, k, value)? {
                    return Err(invalid(key, &format!("unknown field {k:?}")));
                }
            }
        }
        out.push(back_ref);
    }
    Ok(out)
}

/// Reads a list of field specs (`- path: ..., kind: ..., create: ...`).
///
/// # Errors
/// A malformed entry.
pub fn parse_specs(node: &Node) -> Result<Vec<FieldSpec>, ConfigError> {
    if node.is_null() {
        return Ok(Vec::new());
    }
    let items = node
        .as_seq()
        .ok_or_else(|| invalid(node, "expected a list of field specs"))?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let mut spec = FieldSpec::default();
        if !item.is_null() {
            let entries = item
                .as_map()
                .ok_or_else(|| invalid(item, "a field spec must be a mapping"))?;
            for (key, value) in entries {
                let k = key.as_str().unwrap_or("");
                if json_field(k, "path") {
                    spec.path = string_value(value)?;
                } else if json_field(k, "create") {
                    spec.create = match value.resolve() {
                        Some(Value::Null) => false,
                        Some(Value::Bool(b)) => b,
                        _ => return Err(invalid(value, "create must be a boolean")),
                    };
                } else if !set_gvk_field(&mut spec.gvk, k, value)? {
                    return Err(invalid(key, &format!("unknown field {k:?}")));
                }
            }
        }
        out.push(spec);
    }
    Ok(out)
}

/// Sets `group`, `version` or `kind`; `false` if `key` is none of them.
fn set_gvk_field(gvk: &mut Gvk, key: &str, value: &Node) -> Result<bool, ConfigError> {
    let slot = if json_field(key, "group") {
        &mut gvk.group
    } else if json_field(key, "version") {
        &mut gvk.version
    } else if json_field(key, "kind") {
        &mut gvk.kind
    } else {
        return Ok(false);
    };
    *slot = string_value(value)?;
    Ok(true)
}

/// A string field as Go's JSON decoder fills it from kustomize's YAML→JSON conversion: null
/// leaves it empty, non-strings are errors.
fn string_value(node: &Node) -> Result<String, ConfigError> {
    match node.resolve() {
        Some(Value::Null) => Ok(String::new()),
        Some(Value::Str(s)) => Ok(s.to_owned()),
        _ => Err(invalid(node, "expected a string")),
    }
}

/// The field specs of one `labels:` entry of a kustomization (kustomize's label transformer
/// configuration): the entry's own `fields:`, then the configuration's `labels:` specs, then
/// either all `commonLabels:` specs (`includeSelectors: true`), or the `templateLabels:` specs
/// when `includeTemplates: true` followed by `metadata/labels` (created).
///
/// # Errors
/// [`ConfigError::Conflict`] as kustomize's merge.
pub fn label_field_specs(
    own: &[FieldSpec],
    include_selectors: bool,
    include_templates: bool,
    config: &TransformerConfig,
) -> Result<Vec<FieldSpec>, ConfigError> {
    let mut specs = own.to_vec();
    merge_specs(&mut specs, &config.labels, "Labels")?;
    if include_selectors {
        merge_specs(&mut specs, &config.common_labels, "CommonLabels")?;
    } else {
        if include_templates {
            merge_specs(&mut specs, &config.template_labels, "TemplateLabels")?;
        }
        let metadata = FieldSpec::new(Gvk::default(), "metadata/labels", true);
        merge_specs(&mut specs, std::slice::from_ref(&metadata), "Labels")?;
    }
    Ok(specs)
}

/// What a transformer creates where a spec with `create: true` finds no field (kustomize's
/// `CreateKind`/`CreateTag` of `fieldspec.Filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Nothing, whatever the spec says (name references, images, variable references).
    Nothing,
    /// A mapping at the end and along the way (labels, annotations). A null field on the way or
    /// at the end becomes an empty mapping.
    Map,
    /// Mappings along the way and, at the end, an empty plain scalar without a tag, which the
    /// transformer then sets (prefix, suffix, namespace: tag `!!str`; replicas: `!!int`). A null
    /// field at the end keeps its text and gets the tag.
    Scalar(&'static str),
}

/// Why a spec's path could not be followed in an object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("considering field '{path}': {reason}")]
pub struct FieldPathError {
    /// The spec's path.
    pub path: String,
    /// What went wrong.
    pub reason: PathErrorReason,
}

/// The ways a path can fail (kustomize's messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathErrorReason {
    /// An empty path element (`a//b`, a trailing `/`, an empty path).
    #[error("cannot set or create an empty field name")]
    EmptyFieldName,
    /// The path continues below a scalar.
    #[error("expected sequence or mapping node")]
    NotAContainer,
    /// A path element that kyaml reads as a sequence index (`0`, `-`, `*`, `[a=b]`) meets a
    /// mapping.
    #[error("path element {part:?} indexes a sequence, but the node is a mapping")]
    IndexOnMapping {
        /// The element.
        part: String,
    },
}

/// Splits a field spec path as kustomize's `PathSplitter`: on `/`, a leading `/` ignored, and a
/// `\` ending an element joining it with the next one by a literal `/` (the `\` dropped).
#[must_use]
pub fn split_path(path: &str) -> Vec<Cow<'_, str>> {
    let mut pieces = path.split('/').peekable();
    let mut out: Vec<Cow<'_, str>> = Vec::new();
    if path.contains('/') && path.starts_with('/') {
        pieces.next();
    }
    for piece in pieces {
        match out.last_mut() {
            Some(last) if last.ends_with('\\') => {
                let joined = last.to_mut();
                joined.pop();
                joined.push('/');
                joined.push_str(piece);
            }
            _ => out.push(Cow::Borrowed(piece)),
        }
    }
    out
}

/// Visits the field(s) at `spec`'s path in `node` and calls `f` on each, as kustomize's
/// `fieldspec.Filter` (the caller has checked [`FieldSpec::selects`]):
/// - a sequence met on the way is traversed: the same remaining path is followed in each item
///   (so `containers[]` and `containers` both work); `name[]` only hints that `name` holds a
///   sequence: a null `name` becomes an empty sequence, a missing one is never created;
/// - a missing field ends the walk silently, unless `spec.create` and `create` say to create it
///   (see [`Create`]); a null field on the way ends it too (after the conversion [`Create`]
///   describes);
/// - `f` is called on the last field even if it is null.
///
/// # Errors
/// [`FieldPathError`] (converted into `E`) when the path meets a scalar with elements left, has
/// an empty element, or indexes a mapping; and whatever `f` returns.
pub fn apply<E: From<FieldPathError>>(
    node: &mut Node,
    spec: &FieldSpec,
    create: Create,
    f: &mut dyn FnMut(&mut Node) -> Result<(), E>,
) -> Result<(), E> {
    let parts = split_path(&spec.path);
    let mut walk = Walk {
        spec,
        create: if spec.create { create } else { Create::Nothing },
        f,
    };
    walk.visit(node, &parts)
}

struct Walk<'a, 'f, E> {
    spec: &'a FieldSpec,
    create: Create,
    f: &'a mut (dyn FnMut(&mut Node) -> Result<(), E> + 'f),
}

/// What a missing field is created as, or a null one converted to.
#[derive(Clone, Copy)]
enum Shape {
    Map,
    Seq,
    Scalar(&'static str),
}

impl<E: From<FieldPathError>> Walk<'_, '_, E> {
    fn error(&self, reason: PathErrorReason) -> E {
        E::from(FieldPathError {
            path: self.spec.path.clone(),
            reason,
        })
    }

    fn visit(&mut self, node: &mut Node, parts: &[Cow<'_, str>]) -> Result<(), E> {
        let Some((first, rest)) = parts.split_first() else {
            return (self.f)(node);
        };
        if is_null(node) {
            return Ok(());
        }
        match &mut node.kind {
            NodeKind::Seq(items) => {
                for item in items {
                    self.visit(item, parts)?;
                }
                Ok(())
            }
            NodeKind::Map(_) => self.visit_field(node, first, rest),
            NodeKind::Scalar(_) => Err(self.error(PathErrorReason::NotAContainer)),
        }
    }

    fn visit_field(&mut self, node: &mut Node, part: &str, rest: &[Cow<'_, str>]) -> Result<(), E> {
        let (name, is_seq) = match part.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (part, false),
        };
        if name.is_empty() {
            return Err(self.error(PathErrorReason::EmptyFieldName));
        }
        // What to create when missing, and what a null field becomes.
        let (make, null_to) = match self.create {
            _ if is_seq => (None, Some(Shape::Seq)),
            Create::Nothing => (None, None),
            _ if !rest.is_empty() => (Some(Shape::Map), Some(Shape::Map)),
            Create::Map => (Some(Shape::Map), Some(Shape::Map)),
            Create::Scalar(tag) => (Some(Shape::Scalar("")), Some(Shape::Scalar(tag))),
        };
        let key = name.trim();
        if key.is_empty() {
            // kyaml drops blank path elements: the lookup returns the mapping itself.
            return self.visit(node, rest);
        }
        if is_index_part(key) {
            return Err(self.error(PathErrorReason::IndexOnMapping {
                part: key.to_owned(),
            }));
        }
        let Some(entries) = node.as_map_mut() else {
            return Ok(());
        };
        let (index, created) = match entries.iter().position(|(k, _)| k.as_str() == Some(key)) {
            Some(i) => (i, false),
            None => {
                let Some(shape) = make else {
                    return Ok(());
                };
                let value = match shape {
                    Shape::Map => Node::map(),
                    Shape::Seq => Node::seq(Vec::new()),
                    Shape::Scalar(_) => Node::plain(""),
                };
                entries.push((Node::plain(key), value));
                (entries.len() - 1, true)
            }
        };
        let Some((_, field)) = entries.get_mut(index) else {
            return Ok(());
        };
        // Only a null written in the object is converted (kyaml: tag `!!null`), not the untagged
        // empty scalar just created.
        if let Some(shape) = null_to
            && !created
            && is_null(field)
        {
            match shape {
                Shape::Map => {
                    field.kind = NodeKind::Map(Vec::new());
                    field.tag = None;
                }
                Shape::Seq => {
                    field.kind = NodeKind::Seq(Vec::new());
                    field.tag = None;
                }
                Shape::Scalar(tag) => field.tag = Some(tag.to_owned()),
            }
        }
        self.visit(field, rest)
    }
}

/// Whether kyaml's `PathGetter` reads this element as a sequence index rather than a field: an
/// integer (Go's `strconv.Atoi`), `-`, `*`, or `[...]`.
fn is_index_part(part: &str) -> bool {
    part == "-"
        || part == "*"
        || (part.starts_with('[') && part.ends_with(']'))
        || part.parse::<i64>().is_ok()
}

/// Whether the node is a scalar go-yaml v3 tags `!!null` (plain `null`, `~`, empty, `!!null`).
#[must_use]
pub fn is_null(node: &Node) -> bool {
    match &node.kind {
        NodeKind::Scalar(s) => matches!(scalar_value(node.tag.as_deref(), s), KustomizeValue::Null),
        _ => false,
    }
}

/// A replacement for a scalar that kyaml's `FieldSetter` writes over an existing field: the new
/// text, the old node's style and no tag (so plain text is read for what it looks like, as
/// kustomize does).
#[must_use]
pub fn replaced_scalar(old: &Node, text: &str) -> Node {
    let style = old.as_scalar().map_or(ScalarStyle::Plain, |s| s.style);
    let mut node = Node::scalar(text, style);
    node.span = old.span;
    node
}

/// A scalar that kyaml's `FieldSetter` creates for a new field: plain, or double-quoted when
/// YAML 1.1 would read the plain text as something other than a string.
#[must_use]
pub fn new_string_scalar(text: &str) -> Node {
    let plain = Node::plain(text);
    if text.is_empty() || text.contains('\n') {
        return plain;
    }
    match plain.resolve() {
        Some(Value::Str(_)) => plain,
        _ => Node::string(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::emit::emit_node;
    use crate::yaml::{parse_documents, parse_one};

    fn parse(text: &str) -> Node {
        parse_one(text).expect("valid yaml").expect("one document")
    }

    fn gvk(group: &str, version: &str, kind: &str) -> Gvk {
        Gvk {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
        }
    }

    #[test]
    fn builtin_configuration_has_kustomizes_lists() {
        let c = TransformerConfig::builtin();
        let lens = [
            c.name_prefix.len(),
            c.name_suffix.len(),
            c.common_labels.len(),
            c.template_labels.len(),
            c.common_annotations.len(),
            c.namespace.len(),
            c.var_reference.len(),
            c.name_reference.len(),
            c.images.len(),
            c.replicas.len(),
        ];
        assert_eq!(lens, [1, 1, 32, 10, 9, 3, 72, 16, 4, 4]);
        assert!(c.labels.is_empty());
        let referrers: usize = c.name_reference.iter().map(|b| b.fields.len()).sum();
        assert_eq!(referrers, 167);
        // Sorted by kustomize's GVK order: orderFirst kinds first (Service before Deployment),
        // then `group_version_kind` (`apps` before no group).
        assert_eq!(c.common_labels[0].gvk, gvk("", "v1", "Service"));
        let deployment = &c.common_labels[1];
        assert_eq!(deployment.gvk, gvk("apps", "", "Deployment"));
        assert!(
            deployment
                .path
                .starts_with("spec/template/spec/affinity/podAffinity/preferred")
        );
        let kinds: Vec<&str> = c
            .name_reference
            .iter()
            .map(|b| b.gvk.kind.as_str())
            .collect();
        assert_eq!(
            kinds,
            [
                "StorageClass",
                "ServiceAccount",
                "Role",
                "ClusterRole",
                "ConfigMap",
                "Secret",
                "Service",
                "PriorityClass",
                "PersistentVolume",
                "PersistentVolumeClaim",
                "Deployment",
                "StatefulSet",
                "ValidatingAdmissionPolicy",
                "IngressClass",
                "ReplicaSet",
                "ReplicationController",
            ]
        );
        // Escaped slashes are kept as written; kustomize's odd IngressClass group too.
        assert!(
            c.name_reference[5]
                .fields
                .iter()
                .any(|f| f.path == r"metadata/annotations/nginx.ingress.kubernetes.io\/auth-secret")
        );
        assert_eq!(c.name_reference[13].gvk.group, "networking.k8s.io/v1");
        // Merging it into nothing keeps it (the Secret list keeps its duplicate entry: kustomize
        // appends a new name-reference entry whole).
        assert_eq!(TransformerConfig::builtin_merged(), c);
    }

    #[test]
    fn split_path_handles_leading_and_escaped_slashes() {
        assert_eq!(split_path("a/b[]/c"), ["a", "b[]", "c"]);
        assert_eq!(split_path("/a/b"), ["a", "b"]);
        assert_eq!(
            split_path("/"),
            ["", ""].get(1..).map(<[&str]>::to_vec).unwrap_or_default()
        );
        assert_eq!(
            split_path(r"metadata/annotations/nginx.ingress.kubernetes.io\/auth-secret"),
            [
                "metadata",
                "annotations",
                "nginx.ingress.kubernetes.io/auth-secret"
            ]
        );
        assert_eq!(split_path(r"a\/b\/c/d"), ["a/b/c", "d"]);
        assert_eq!(split_path(""), [""]);
    }

    /// Applies commonLabels `app: x` and image `nginx` → `nginx:1.2` the way the label and image
    /// transformers use this module.
    fn labels_and_images(node: &mut Node) -> Result<(), FieldPathError> {
        let g = {
            let api = node.field_str("apiVersion").unwrap_or("");
            let (group, version) = api.split_once('/').unwrap_or(("", api));
            gvk(group, version, node.field_str("kind").unwrap_or(""))
        };
        let config = TransformerConfig::builtin_merged();
        for spec in config.common_labels.iter().filter(|s| s.selects(&g)) {
            apply(node, spec, Create::Map, &mut |f: &mut Node| {
                f.set("app", Node::string("x"));
                Ok::<(), FieldPathError>(())
            })?;
        }
        for spec in config.images.iter().filter(|s| s.selects(&g)) {
            apply(node, spec, Create::Nothing, &mut |f: &mut Node| {
                if f.as_str() == Some("nginx") {
                    *f = Node::string("nginx:1.2");
                }
                Ok::<(), FieldPathError>(())
            })?;
        }
        Ok(())
    }

    #[test]
    fn traversal_creates_converts_nulls_and_follows_sequences() {
        // Checked against kubectl kustomize v5.5.0 (commonLabels {app: x}, images nginx:1.2):
        // `containers: null` becomes `[]` (the `[]` hint), null maps become mappings, selectors
        // are created where the spec says create (not for a Job, nor for a StatefulSet outside
        // the `apps` group).
        let input = "\
apiVersion: v1
kind: Pod
metadata:
  name: pod
spec:
  containers: null
  initContainers: ~
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: dep
  labels: null
spec:
  template:
    metadata: ~
---
apiVersion: foo/v1
kind: StatefulSet
metadata:
  name: sts
spec: {}
---
apiVersion: v1
kind: Service
metadata:
  name: svc
spec:
  selector: ~
---
apiVersion: batch/v1
kind: Job
metadata:
  name: job
spec:
  template:
    spec:
      containers:
      - image: nginx
";
        let expected = [
            "apiVersion: v1\nkind: Pod\nmetadata:\n  labels:\n    app: x\n  name: pod\nspec:\n  containers: []\n  initContainers: []\n",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels:\n    app: x\n  name: dep\nspec:\n  selector:\n    matchLabels:\n      app: x\n  template:\n    metadata:\n      labels:\n        app: x\n",
            "apiVersion: foo/v1\nkind: StatefulSet\nmetadata:\n  labels:\n    app: x\n  name: sts\nspec: {}\n",
            "apiVersion: v1\nkind: Service\nmetadata:\n  labels:\n    app: x\n  name: svc\nspec:\n  selector:\n    app: x\n",
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  labels:\n    app: x\n  name: job\nspec:\n  template:\n    metadata:\n      labels:\n        app: x\n    spec:\n      containers:\n      - image: nginx:1.2\n",
        ];
        let docs = parse_documents(input).expect("valid yaml");
        for (doc, want) in docs.into_iter().zip(expected) {
            let mut node = doc.root;
            labels_and_images(&mut node).expect("paths are fine");
            assert_eq!(emit_node(&node), want);
        }
    }

    #[test]
    fn scalars_created_empty_and_nulls_tagged() {
        let spec = FieldSpec::new(Gvk::default(), "spec/service/namespace", true);
        let mut seen = Vec::new();
        let mut node = parse("kind: X\n");
        apply(
            &mut node,
            &spec,
            Create::Scalar("!!str"),
            &mut |f: &mut Node| {
                seen.push((f.as_str().map(str::to_owned), f.tag.clone(), is_null(f)));
                Ok::<(), FieldPathError>(())
            },
        )
        .expect("creates");
        let mut node = parse("spec:\n  service:\n    namespace: ~\n");
        apply(
            &mut node,
            &spec,
            Create::Scalar("!!str"),
            &mut |f: &mut Node| {
                seen.push((f.as_str().map(str::to_owned), f.tag.clone(), is_null(f)));
                Ok::<(), FieldPathError>(())
            },
        )
        .expect("converts");
        assert_eq!(
            seen,
            [
                (Some(String::new()), None, true),
                (Some("~".into()), Some("!!str".into()), false)
            ]
        );
        // Without `create`, a missing field is left alone and the setter never runs.
        let spec = FieldSpec::new(Gvk::default(), "spec/service/namespace", false);
        let mut node = parse("kind: X\n");
        apply(
            &mut node,
            &spec,
            Create::Scalar("!!str"),
            &mut |_: &mut Node| {
                Err(FieldPathError {
                    path: "unexpected".into(),
                    reason: PathErrorReason::NotAContainer,
                })
            },
        )
        .expect("nothing visited");
        assert_eq!(emit_node(&node), "kind: X\n");
    }

    #[test]
    fn path_errors() {
        let mut count = 0;
        let mut visit = |spec: &str, text: &str| {
            let mut node = parse(text);
            apply(
                &mut node,
                &FieldSpec::new(Gvk::default(), spec, true),
                Create::Map,
                &mut |_: &mut Node| {
                    count += 1;
                    Ok::<(), FieldPathError>(())
                },
            )
            .err()
            .map(|e| e.reason)
        };
        assert_eq!(
            visit("spec/template/x", "spec:\n  template: abc\n"),
            Some(PathErrorReason::NotAContainer)
        );
        assert_eq!(
            visit("spec//x", "spec: {}\n"),
            Some(PathErrorReason::EmptyFieldName)
        );
        assert_eq!(
            visit("spec/0/x", "spec: {}\n"),
            Some(PathErrorReason::IndexOnMapping { part: "0".into() })
        );
        // A sequence is followed with the same path in each item; scalar items are errors.
        assert_eq!(visit("items/name", "items: [{name: a}, {name: b}]\n"), None);
        assert_eq!(
            visit("items/name", "items: [{name: a}, b]\n"),
            Some(PathErrorReason::NotAContainer)
        );
        assert_eq!(count, 3);
    }

    #[test]
    fn configurations_merge_by_kind_and_sort() {
        // The `configurations:` file of a probe checked with kubectl kustomize v5.5.0.
        let file = parse(
            "nameReference:\n- kind: Issuer\n  group: cert-manager.io\n  fieldSpecs:\n  - kind: Certificate\n    group: cert-manager.io\n    path: spec/issuerRef/name\n- kind: ConfigMap\n  version: v1\n  fieldSpecs:\n  - kind: Widget\n    path: spec/configs\n  - {kind: Deployment, path: spec/template/spec/volumes/configMap/name}\nvarReference:\n- path: metadata/annotations\n- path: data/config\n  kind: ConfigMap\n",
        );
        let user = TransformerConfig::from_yaml(&file).expect("valid");
        let mut config = TransformerConfig::builtin().clone();
        config.merge(&user).expect("no conflict");
        let mut accumulated = TransformerConfig::default();
        accumulated.merge(&config).expect("no conflict");
        let config = accumulated;
        let config_map = config
            .name_reference
            .iter()
            .find(|b| b.gvk.kind == "ConfigMap")
            .expect("built in");
        let builtin_len = TransformerConfig::builtin().name_reference[4].fields.len();
        // The Deployment spec was already there: only the Widget one is added, at the end.
        assert_eq!(config_map.fields.len(), builtin_len + 1);
        assert_eq!(
            config_map.fields.last().map(|f| f.path.as_str()),
            Some("spec/configs")
        );
        // A new kind sorts among the others by `group_version_kind`.
        let kinds: Vec<&str> = config
            .name_reference
            .iter()
            .map(|b| b.gvk.kind.as_str())
            .collect();
        assert_eq!(
            kinds.get(12..15),
            Some(&["ValidatingAdmissionPolicy", "Issuer", "IngressClass"][..])
        );
        // `metadata/annotations` without a kind was already there; the ConfigMap one is new and
        // sorts first (orderFirst kind).
        assert_eq!(config.var_reference.len(), 73);
        assert_eq!(config.var_reference[0].path, "data/config");

        let conflicting = TransformerConfig::from_yaml(&parse(
            "commonLabels:\n- {kind: Deployment, path: spec/selector/matchLabels, create: false}\n",
        ))
        .expect("valid");
        let mut config = TransformerConfig::builtin().clone();
        assert!(matches!(
            config.merge(&conflicting),
            Err(ConfigError::Conflict {
                list: "CommonLabels",
                ..
            })
        ));
    }

    #[test]
    fn configuration_files_are_strict() {
        for bad in [
            "commonLabels:\n- {kind: X, path: a, bogus: 1}\n",
            "unknownList: []\n",
            "commonLabels:\n- {kind: X, path: a, create: maybe}\n",
            "commonLabels: {kind: X}\n",
            "nameReference:\n- {kind: X, fieldSpecs: [{path: 3}]}\n",
        ] {
            assert!(
                matches!(
                    TransformerConfig::from_yaml(&parse(bad)),
                    Err(ConfigError::Invalid { .. })
                ),
                "{bad}"
            );
        }
        let ok = TransformerConfig::from_yaml(&parse(
            "images:\n- {path: 'spec/x[]/image', create: yes}\ncommonLabels:\n",
        ))
        .expect("valid");
        assert_eq!(
            ok.images,
            [FieldSpec::new(Gvk::default(), "spec/x[]/image", true)]
        );
        assert!(
            TransformerConfig::from_yaml(&Node::null())
                .expect("empty")
                .is_empty()
        );
    }

    #[test]
    fn label_specs_follow_the_include_flags() {
        let config = TransformerConfig::builtin_merged();
        let plain = label_field_specs(&[], false, false, config).expect("no conflict");
        assert_eq!(
            plain,
            [FieldSpec::new(Gvk::default(), "metadata/labels", true)]
        );
        let templates = label_field_specs(&[], false, true, config).expect("no conflict");
        assert_eq!(templates, config.template_labels);
        let selectors = label_field_specs(&[], true, true, config).expect("no conflict");
        assert_eq!(selectors, config.common_labels);
        let own = [FieldSpec::new(gvk("", "", "Foo"), "spec/sel", true)];
        let with_own = label_field_specs(&own, false, false, config).expect("no conflict");
        assert_eq!(with_own.len(), 2);
        assert_eq!(with_own[0], own[0]);
    }
}
