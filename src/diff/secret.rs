//! Secrets in diffs: which objects hold secret values, where those values are, and how two
//! versions of such an object are compared without any value reaching the output.
//!
//! This module owns:
//! - recognising secret-bearing objects ([`is_secret`]): `kind: Secret`, `kind: SealedSecret`,
//!   an object with a top-level `sops` block, or any object holding a SOPS `ENC[...]` value;
//! - the locations of secret values in such objects: every entry of `data` and `stringData`,
//!   of `spec.encryptedData` and `spec.template.data` (SealedSecret), the
//!   `kubectl.kubernetes.io/last-applied-configuration` annotation (it embeds the data), the
//!   whole `sops` block, and any scalar starting with `ENC[`;
//! - [`compare`]: a redacted copy of each side, with every secret value replaced by a
//!   placeholder (`<redacted>`, or `<redacted: changed>` on the head side where the value
//!   changed), and the names of the keys added, removed or changed.
//!
//! Values are compared in memory, structurally, and then dropped: nothing derived from a
//! value (not even a hash) is kept in the result. It does not own decryption: SOPS values are
//! compared as ciphertext.

use std::collections::BTreeMap;

use crate::yaml::{Node, NodeKind};

use super::SecretChange;

/// Placeholder for a secret value.
pub const REDACTED: &str = "<redacted>";
/// Placeholder for a secret value that differs from the base side.
pub const REDACTED_CHANGED: &str = "<redacted: changed>";

/// Both sides of a secret object, redacted, and the keys that changed.
#[derive(Debug, Clone)]
pub struct Redacted {
    /// The base object with secret values replaced by [`REDACTED`].
    pub base: Node,
    /// The head object with secret values replaced by [`REDACTED`] or [`REDACTED_CHANGED`].
    pub head: Node,
    /// Names (paths) of the secret values added, removed or changed.
    pub keys: SecretChange,
}

/// Whether the object may hold secret values and must be shown redacted.
#[must_use]
pub fn is_secret(object: &Node) -> bool {
    let kind = object.get("kind").and_then(Node::as_str);
    matches!(kind, Some("Secret" | "SealedSecret"))
        || object.get("sops").is_some()
        || has_encrypted_value(object)
}

fn has_encrypted_value(node: &Node) -> bool {
    match &node.kind {
        NodeKind::Scalar(s) => is_encrypted(&s.text),
        NodeKind::Seq(items) => items.iter().any(has_encrypted_value),
        NodeKind::Map(entries) => entries.iter().any(|(_, v)| has_encrypted_value(v)),
    }
}

fn is_encrypted(text: &str) -> bool {
    text.starts_with("ENC[")
}

/// Redacts both sides and names the secret keys that differ.
#[must_use]
pub fn compare(base: &Node, head: &Node) -> Redacted {
    let mut base_view = base.clone();
    let mut base_values: BTreeMap<String, Node> = BTreeMap::new();
    visit_secret_values(&mut base_view, &mut |path, value| {
        let old = std::mem::replace(value, Node::string(REDACTED));
        base_values.insert(path.to_owned(), old);
    });

    let mut head_view = head.clone();
    let mut keys = SecretChange::default();
    let mut seen: Vec<String> = Vec::new();
    visit_secret_values(&mut head_view, &mut |path, value| {
        let old = std::mem::replace(value, Node::string(REDACTED));
        match base_values.get(path) {
            None => keys.added.push(path.to_owned()),
            Some(before) if !same_value(before, &old) => {
                keys.changed.push(path.to_owned());
                *value = Node::string(REDACTED_CHANGED);
            }
            Some(_) => {}
        }
        seen.push(path.to_owned());
    });
    seen.sort_unstable();
    keys.removed = base_values
        .keys()
        .filter(|path| seen.binary_search(path).is_err())
        .cloned()
        .collect();
    keys.added.sort_unstable();
    keys.added.dedup();
    keys.changed.sort_unstable();
    keys.changed.dedup();
    // `base_values` (the only copy of the base's secret values) is dropped here.
    drop(base_values);
    Redacted {
        base: base_view,
        head: head_view,
        keys,
    }
}

/// Structural equality as Kubernetes reads the values (resolved scalars, ignoring positions
/// and styles that do not change the value).
fn same_value(a: &Node, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (NodeKind::Scalar(_), NodeKind::Scalar(_)) => a.resolve() == b.resolve(),
        (NodeKind::Seq(x), NodeKind::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_value(p, q))
        }
        (NodeKind::Map(x), NodeKind::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| same_value(ka, kb) && same_value(va, vb))
        }
        _ => false,
    }
}

/// Calls `f(path, value)` for every secret value of the object, in document order.
fn visit_secret_values(object: &mut Node, f: &mut dyn FnMut(&str, &mut Node)) {
    for field in ["data", "stringData"] {
        if let Some(value) = object.get_mut(field) {
            visit_entries(field, value, f);
        }
    }
    for (path, keys) in [
        ("spec.encryptedData", ["spec", "encryptedData"].as_slice()),
        (
            "spec.template.data",
            ["spec", "template", "data"].as_slice(),
        ),
    ] {
        if let Some(value) = object.path_mut(keys) {
            visit_entries(path, value, f);
        }
    }
    if let Some(value) = object.path_mut(&[
        "metadata",
        "annotations",
        "kubectl.kubernetes.io/last-applied-configuration",
    ]) {
        f(
            "metadata.annotations.kubectl.kubernetes.io/last-applied-configuration",
            value,
        );
    }
    if let Some(value) = object.get_mut("sops") {
        f("sops", value);
    }
    visit_encrypted(object, &mut String::new(), f);
}

/// Each entry of a map as `<prefix>.<key>`; anything else (not null) as a whole.
fn visit_entries(prefix: &str, value: &mut Node, f: &mut dyn FnMut(&str, &mut Node)) {
    if value.is_null() {
        return;
    }
    if let NodeKind::Map(entries) = &mut value.kind {
        for (key, entry) in entries {
            let path = format!("{prefix}.{}", key.as_str().unwrap_or("?"));
            f(&path, entry);
        }
    } else {
        f(prefix, value);
    }
}

/// Every remaining `ENC[...]` scalar, by its path.
fn visit_encrypted(node: &mut Node, path: &mut String, f: &mut dyn FnMut(&str, &mut Node)) {
    if let NodeKind::Scalar(s) = &node.kind {
        if is_encrypted(&s.text) {
            f(path, node);
        }
        return;
    }
    match &mut node.kind {
        NodeKind::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                visit_encrypted(item, path, f);
                path.truncate(len);
            }
        }
        NodeKind::Map(entries) => {
            for (key, value) in entries {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key.as_str().unwrap_or("?"));
                visit_encrypted(value, path, f);
                path.truncate(len);
            }
        }
        NodeKind::Scalar(_) => {}
    }
}
