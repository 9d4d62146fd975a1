//! The order `kustomize build` prints resources in: `sortOptions` (`legacy`, the default, or
//! `fifo`), and the legacy order itself.
//!
//! Legacy order ranks kinds (namespaces and other prerequisites first, webhooks last), then
//! sorts by the id's string form: `group_version_kind` (with `~G` for the core group, so core
//! kinds follow grouped ones), then `namespace|name` (with `~X` for no namespace). Custom
//! `orderFirst`/`orderLast` lists replace the built-in ranks.
//!
//! This module owns ordering only; it does not drop or change resources.

use super::resource::Resource;
use crate::yaml::Node;

/// Kinds printed first, in this order, by the legacy sort.
pub const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds printed last, in this order, by the legacy sort.
pub const ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// How to order the output (`sortOptions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortOrder {
    /// Input order.
    Fifo,
    /// kustomize's legacy order, with the kinds ranked first and last.
    Legacy {
        /// Kinds first, in order.
        first: Vec<String>,
        /// Kinds last, in order.
        last: Vec<String>,
    },
}

impl Default for SortOrder {
    fn default() -> SortOrder {
        SortOrder::Legacy {
            first: ORDER_FIRST.iter().map(|s| (*s).to_owned()).collect(),
            last: ORDER_LAST.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

impl SortOrder {
    /// Reads a kustomization's `sortOptions` (`order: fifo|legacy`, `legacySortOptions:
    /// {orderFirst, orderLast}`); `None` gives the default legacy order.
    ///
    /// # Errors
    /// A message for an unknown `order`, or legacy options given with `fifo`.
    pub fn from_node(node: Option<&Node>) -> Result<SortOrder, String> {
        let Some(node) = node else {
            return Ok(SortOrder::default());
        };
        let order = node.get_ignore_case("order").and_then(Node::as_str);
        let legacy = node
            .get_ignore_case("legacySortOptions")
            .filter(|n| !n.is_null());
        match order {
            Some("fifo") => {
                if legacy.is_some() {
                    return Err("legacySortOptions may only be set with order: legacy".to_owned());
                }
                Ok(SortOrder::Fifo)
            }
            Some("legacy") | None => {
                let Some(legacy) = legacy else {
                    return Ok(SortOrder::default());
                };
                let list = |field: &str| -> Vec<String> {
                    legacy
                        .get_ignore_case(field)
                        .and_then(Node::as_seq)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|n| n.as_str().map(str::to_owned))
                        .collect()
                };
                Ok(SortOrder::Legacy {
                    first: list("orderFirst"),
                    last: list("orderLast"),
                })
            }
            Some(other) => Err(format!(
                "the field 'sortOptions.order' must be one of [fifo, legacy], not {other:?}"
            )),
        }
    }

    /// Sorts `resources` in place (stable).
    pub fn sort(&self, resources: &mut [Resource]) {
        let SortOrder::Legacy { first, last } = self else {
            return;
        };
        let rank = |kind: &str| -> (u8, usize) {
            if let Some(i) = first.iter().position(|k| k == kind) {
                (0, i)
            } else if let Some(i) = last.iter().position(|k| k == kind) {
                (2, i)
            } else {
                (1, 0)
            }
        };
        let mut keyed: Vec<((u8, usize), String, String, usize)> = resources
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let id = r.cur_id();
                let gvk = id.gvk.to_string();
                let ns = if id.namespace.is_empty() {
                    "~X".to_owned()
                } else {
                    id.namespace.clone()
                };
                (rank(&id.gvk.kind), gvk, format!("{ns}|{}", id.name), i)
            })
            .collect();
        keyed.sort();
        let order: Vec<usize> = keyed.into_iter().map(|(_, _, _, i)| i).collect();
        apply_permutation(resources, &order);
    }
}

/// Rearranges `items` so that position `k` holds the item that was at `order[k]` (`order` is
/// a permutation of `0..items.len()`).
fn apply_permutation<T>(items: &mut [T], order: &[usize]) {
    // target[i]: where the item now at position i must go.
    let mut target = vec![0usize; order.len()];
    for (new_pos, &old_pos) in order.iter().enumerate() {
        target[old_pos] = new_pos;
    }
    for start in 0..items.len() {
        while target[start] != start {
            let dest = target[start];
            items.swap(start, dest);
            target.swap(start, dest);
        }
    }
}
