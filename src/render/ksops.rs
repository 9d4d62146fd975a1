//! The KSOPS generator (`apiVersion: viaduct.ai/v1`, `kind: ksops`), rendered natively: what
//! the KSOPS exec plugin would give, with no plugin installed.
//!
//! - `files:` are SOPS-encrypted manifests: each is decrypted (MAC verified) and its objects
//!   join the build;
//! - `secretFrom:` entries generate Secrets (`metadata`, `type`) whose `data` comes from
//!   decrypted files (`files:`, key = file name or `key=path`; `binaryFiles:` the same) and
//!   decrypted dotenv files (`envs:`);
//! - as for any generator plugin, the annotations `kustomize.config.k8s.io/needs-hash: "true"`
//!   and `kustomize.config.k8s.io/behavior` on the output ask for a name hash and say how to
//!   combine with an existing object; kustomize removes them.
//!
//! Paths are relative to the kustomization listing the generator (KSOPS runs there). Plaintext
//! lives only in the returned objects (marked [`Resource::sensitive`]) and in zeroed buffers;
//! errors never contain it.

use std::path::Path;

use base64::Engine as _;
use zeroize::Zeroizing;

use super::build::resources_from_text;
use super::kustomization::{Kustomization, join};
use super::resource::{Behavior, Origin, Resource};
use super::{Files, RenderError};
use crate::secrets::sops::{self, Format};
use crate::yaml::{Node, Span};

/// Annotation asking kustomize to add a content hash to the generated name.
pub const NEEDS_HASH: &str = "kustomize.config.k8s.io/needs-hash";
/// Annotation giving a generated object's behavior (`create`, `merge`, `replace`).
pub const BEHAVIOR: &str = "kustomize.config.k8s.io/behavior";

/// Whether a generator configuration is a KSOPS generator.
#[must_use]
pub fn is_ksops(config: &Node) -> bool {
    config.field_str("kind") == Some("ksops")
        && config
            .field_str("apiVersion")
            .is_some_and(|v| v.starts_with("viaduct.ai/"))
}

/// Renders one KSOPS generator configuration.
///
/// # Errors
/// A missing or unreadable file, a file that is not SOPS or does not verify, no usable age
/// key, or a malformed configuration.
pub fn generate(
    files: &dyn Files,
    k: &Kustomization,
    config: &Node,
    span: Span,
    identities: &[age::x25519::Identity],
) -> Result<Vec<Resource>, RenderError> {
    let mut out = Vec::new();
    for entry in config
        .field("files")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let raw = entry.as_str().unwrap_or_default();
        let (path, plain) = decrypt(files, k, raw, span, identities)?;
        let text = std::str::from_utf8(&plain).map_err(|_| {
            RenderError::invalid(
                &path,
                Span::default(),
                "the decrypted file is not UTF-8".to_owned(),
            )
        })?;
        for mut r in resources_from_text(&path, text)? {
            r.sensitive = true;
            apply_plugin_annotations(&mut r);
            out.push(r);
        }
    }
    for entry in config
        .field("secretFrom")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let mut r = secret_from(files, k, entry, span, identities)?;
        apply_plugin_annotations(&mut r);
        out.push(r);
    }
    Ok(out)
}

/// Reads and decrypts one file named by the generator.
fn decrypt(
    files: &dyn Files,
    k: &Kustomization,
    raw: &str,
    span: Span,
    identities: &[age::x25519::Identity],
) -> Result<(String, Zeroizing<Vec<u8>>), RenderError> {
    let path = files.normalize(&join(&k.dir, raw)).ok_or_else(|| {
        RenderError::invalid(&k.file, span, format!("'{raw}' leaves the repository"))
    })?;
    // KSOPS reads its files itself: kustomize's load restrictor does not apply, the view's
    // root does (`normalize` refuses paths that leave it).
    let bytes = files.read(&path)?;
    let format = Format::from_path(Path::new(&path));
    let decrypted = sops::decrypt(format, &bytes, identities).map_err(|e| {
        if let sops::SopsError::NoAgeKey { .. } = e {
            return RenderError::NoKey {
                file: path.clone(),
                message: e.to_string(),
            };
        }
        RenderError::invalid(
            &path,
            Span::default(),
            format!("cannot decrypt this SOPS file: {e}"),
        )
    })?;
    let plain = decrypted.document().map_err(|e| {
        RenderError::invalid(
            &path,
            Span::default(),
            format!("cannot decrypt this SOPS file: {e}"),
        )
    })?;
    Ok((path, plain))
}

/// One `secretFrom:` entry.
fn secret_from(
    files: &dyn Files,
    k: &Kustomization,
    entry: &Node,
    span: Span,
    identities: &[age::x25519::Identity],
) -> Result<Resource, RenderError> {
    let bad = |m: &str| RenderError::invalid(&k.file, span, format!("ksops secretFrom: {m}"));
    let meta = entry
        .field("metadata")
        .filter(|m| m.is_map())
        .ok_or_else(|| bad("needs metadata"))?;
    let name = meta
        .field_str("name")
        .ok_or_else(|| bad("needs metadata.name"))?;
    let mut data: Vec<(String, String)> = Vec::new();
    let b64 = base64::engine::general_purpose::STANDARD;
    for field in ["files", "binaryFiles"] {
        for item in entry
            .field(field)
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            let raw = item.as_str().unwrap_or_default();
            let (key, path) = match raw.split_once('=') {
                Some((key, path)) => (key.to_owned(), path),
                None => (raw.rsplit('/').next().unwrap_or(raw).to_owned(), raw),
            };
            let (_, plain) = decrypt(files, k, path, span, identities)?;
            data.push((key, b64.encode(&*plain)));
        }
    }
    for item in entry
        .field("envs")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let raw = item.as_str().unwrap_or_default();
        let (path, plain) = decrypt(files, k, raw, span, identities)?;
        let text = std::str::from_utf8(&plain).map_err(|_| {
            RenderError::invalid(
                &path,
                Span::default(),
                "the decrypted file is not UTF-8".to_owned(),
            )
        })?;
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            if let Some((key, value)) = line.split_once('=') {
                data.push((key.to_owned(), b64.encode(value)));
            }
        }
    }
    if let Some((key, _)) = data
        .iter()
        .enumerate()
        .find(|(i, (key, _))| data[..*i].iter().any(|(k2, _)| k2 == key))
        .map(|(_, kv)| kv)
    {
        return Err(bad(&format!("the key '{key}' is given twice")));
    }
    let mut metadata = Node::map();
    metadata.set("name", Node::string(name));
    if let Some(ns) = meta.field_str("namespace") {
        metadata.set("namespace", Node::string(ns));
    }
    for field in ["labels", "annotations"] {
        if let Some(map) = meta.field(field).filter(|m| m.is_map()) {
            metadata.set(field, map.clone());
        }
    }
    let mut secret = Node::map();
    secret.set("apiVersion", Node::string("v1"));
    secret.set("kind", Node::string("Secret"));
    secret.set("metadata", metadata);
    secret.set(
        "type",
        Node::string(entry.field_str("type").unwrap_or("Opaque")),
    );
    secret.set(
        "data",
        Node::from_entries(
            data.into_iter()
                .map(|(k, v)| (Node::string(k), Node::string(v)))
                .collect(),
        ),
    );
    let mut r = Resource::new(
        secret,
        Origin {
            file: k.file.clone(),
            span,
        },
    );
    r.sensitive = true;
    Ok(r)
}

/// Applies and removes kustomize's generator annotations.
fn apply_plugin_annotations(r: &mut Resource) {
    let Some(annotations) = r.node.path_mut(&["metadata", "annotations"]) else {
        return;
    };
    if let Some(v) = annotations.remove(NEEDS_HASH) {
        r.needs_hash = v.as_str() == Some("true");
    }
    if let Some(v) = annotations.remove(BEHAVIOR) {
        r.behavior = match v.as_str() {
            Some("merge") => Behavior::Merge,
            Some("replace") => Behavior::Replace,
            Some("create") => Behavior::Create,
            _ => Behavior::Unspecified,
        };
    }
    if annotations.as_map().is_some_and(<[(Node, Node)]>::is_empty)
        && let Some(meta) = r.node.get_mut("metadata")
    {
        meta.remove("annotations");
    }
}
