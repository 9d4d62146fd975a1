//! How rendered Secrets leave the process: the `secrets` stage between `render` and `emit`.
//!
//! A rendered `v1` Secret with values is never written in plaintext. Per environment
//! (`kiln.yaml` `environments.<env>.secrets`) it is either
//! - re-encrypted with SOPS for age recipients and written as its own file
//!   `secrets/<namespace>.<name>.yaml` (values only, `encrypted_regex: ^(data|stringData)$`, as
//!   KSOPS and Flux read them), or
//! - sealed into a Bitnami `SealedSecret` for the controller's certificate, which takes the
//!   Secret's place in `manifest.yaml`;
//!
//! and without either, the app fails with [`ProtectError::NotConfigured`].
//!
//! Stable output: encryption is randomised, so an unchanged Secret keeps its previous output.
//! SOPS files are decrypted and compared; SealedSecrets cannot be unsealed without the
//! cluster's key, so kiln stamps them with an HMAC of the plaintext (annotation
//! [`PLAINTEXT_HMAC`]) keyed by a secret derived from the user's age identity, and reuses the
//! previous SealedSecret when the stamp matches. Without an age identity there is no key and
//! Secrets are sealed afresh on every run.
//!
//! This module owns choosing the protection and producing the app's files. It does not own
//! rendering, printing objects (`yaml::emit`), writing files, or the ciphers (`sops`, `sealed`).

use std::path::Path;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::sealed::{self, Certificate, Scope};
use super::sops;
use crate::render::Resource;
use crate::yaml::{Node, emit_documents, emit_node, parse_documents};

/// The annotation carrying the keyed hash of a SealedSecret's plaintext.
pub const PLAINTEXT_HMAC: &str = "kiln.dev/plaintext-hmac";

/// The protection of one environment's Secrets.
pub enum Protection {
    /// None configured: Secrets with values are refused.
    None,
    /// SOPS for these age recipients.
    Sops {
        /// `age1…` recipients.
        recipients: Vec<String>,
    },
    /// SealedSecrets for this certificate.
    Sealed {
        /// The controller's certificate, checked valid.
        certificate: Box<Certificate>,
        /// The scope.
        scope: Scope,
    },
}

/// Why an app's Secrets could not be written. Never contains plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtectError {
    /// A Secret with values and no protection configured.
    #[error("the output would contain the Secret {secret} in plaintext")]
    NotConfigured {
        /// `namespace/name`.
        secret: String,
    },
    /// Encryption or sealing failed.
    #[error("cannot protect the Secret {secret}: {reason}")]
    Failed {
        /// `namespace/name`.
        secret: String,
        /// Why (from the cipher; never plaintext).
        reason: String,
    },
}

/// Keys and previous output the protection may reuse.
pub struct Context<'a> {
    /// Identities that read previous SOPS output and key the SealedSecret stamps.
    pub identities: &'a [age::x25519::Identity],
    /// The app's previous output: a file by its path relative to the app's output folder
    /// (`manifest.yaml`, `secrets/...`), from disk for `kiln compile`, from the rendered
    /// branch for `kiln publish`.
    pub previous: &'a (dyn Fn(&str) -> Option<Vec<u8>> + Sync),
}

/// [`Context::previous`] for an output folder on disk.
pub fn previous_on_disk(folder: &Path) -> impl Fn(&str) -> Option<Vec<u8>> + Sync + '_ {
    move |path| std::fs::read(folder.join(path)).ok()
}

/// Whether a resource is a `v1` Secret holding values.
#[must_use]
pub fn is_secret_with_values(r: &Resource) -> bool {
    r.kind() == "Secret"
        && r.api_version() == "v1"
        && ["data", "stringData"].iter().any(|f| {
            r.node
                .field(f)
                .and_then(Node::as_map)
                .is_some_and(|m| !m.is_empty())
        })
}

fn describe(r: &Resource) -> String {
    let id = r.cur_id();
    if id.namespace.is_empty() {
        id.name
    } else {
        format!("{}/{}", id.namespace, id.name)
    }
}

/// The files of an app, relative to its output folder: `manifest.yaml` and, for SOPS,
/// `secrets/*.yaml`.
///
/// # Errors
/// See [`ProtectError`].
pub fn app_files(
    resources: &[Resource],
    protection: &Protection,
    ctx: &Context<'_>,
) -> Result<Vec<(String, Vec<u8>)>, ProtectError> {
    let mut files = Vec::new();
    let mut manifest: Vec<Node> = Vec::with_capacity(resources.len());
    let previous_manifest =
        (ctx.previous)("manifest.yaml").and_then(|bytes| String::from_utf8(bytes).ok());
    for r in resources {
        if !is_secret_with_values(r) {
            manifest.push(r.node.clone());
            continue;
        }
        let secret = describe(r);
        let failed = |reason: String| ProtectError::Failed {
            secret: secret.clone(),
            reason,
        };
        match protection {
            Protection::None => return Err(ProtectError::NotConfigured { secret }),
            Protection::Sops { recipients } => {
                let id = r.cur_id();
                let name = if id.namespace.is_empty() {
                    format!("secrets/{}.yaml", id.name)
                } else {
                    format!("secrets/{}.{}.yaml", id.namespace, id.name)
                };
                let document = Zeroizing::new(emit_node(&r.node));
                let bytes = match reuse_sops(
                    (ctx.previous)(&name),
                    document.as_bytes(),
                    recipients,
                    ctx.identities,
                ) {
                    Some(bytes) => bytes,
                    None => encrypt_sops(document.as_bytes(), recipients).map_err(failed)?,
                };
                files.push((name, bytes));
            }
            Protection::Sealed { certificate, scope } => {
                let document = Zeroizing::new(emit_node(&r.node));
                let stamp =
                    stamp_key(ctx.identities).map(|key| hmac_hex(&key, document.as_bytes()));
                let reused = stamp.as_deref().and_then(|stamp| {
                    reuse_sealed(previous_manifest.as_deref()?, &r.cur_id(), stamp)
                });
                let node = match reused {
                    Some(node) => node,
                    None => {
                        let mut node = sealed::seal_secret(
                            &r.node,
                            certificate,
                            *scope,
                            &mut sealed::OsEntropy,
                        )
                        .map_err(|e| failed(e.to_string()))?;
                        if let Some(stamp) = stamp {
                            node.map_path(&["metadata", "annotations"])
                                .set(PLAINTEXT_HMAC, Node::string(stamp));
                        }
                        node
                    }
                };
                manifest.push(node);
            }
        }
    }
    let refs: Vec<&Node> = manifest.iter().collect();
    files.insert(
        0,
        (
            "manifest.yaml".to_owned(),
            emit_documents(&refs).into_bytes(),
        ),
    );
    Ok(files)
}

/// Encrypts a rendered Secret for `recipients`, values only, stamped with the current time.
fn encrypt_sops(document: &[u8], recipients: &[String]) -> Result<Vec<u8>, String> {
    let mut options = sops::EncryptOptions::new(sops::Timestamp::now());
    options.rule = Some(sops::EncryptionRule::EncryptedRegex(
        "^(data|stringData)$".to_owned(),
    ));
    sops::encrypt(sops::Format::Yaml, document, recipients, &options).map_err(|e| e.to_string())
}

/// The previous SOPS file's bytes when it decrypts to the same object for the same recipients.
fn reuse_sops(
    previous: Option<Vec<u8>>,
    document: &[u8],
    recipients: &[String],
    identities: &[age::x25519::Identity],
) -> Option<Vec<u8>> {
    let bytes = previous?;
    let decrypted = sops::decrypt(sops::Format::Yaml, &bytes, identities).ok()?;
    let mut had: Vec<String> = decrypted.metadata().recipients();
    let mut want: Vec<String> = recipients.iter().map(|r| r.trim().to_owned()).collect();
    had.sort();
    want.sort();
    if had != want {
        return None;
    }
    // Compare as kustomize prints objects: the SOPS file holds the object in sops' layout.
    let plain = decrypted.document().ok()?;
    let node = crate::yaml::parse_one(std::str::from_utf8(&plain).ok()?).ok()??;
    let again = Zeroizing::new(emit_node(&node));
    (again.as_bytes() == document).then_some(bytes)
}

/// The previous SealedSecret with the same id whose plaintext stamp matches.
fn reuse_sealed(previous_manifest: &str, id: &crate::render::ResId, stamp: &str) -> Option<Node> {
    let docs = parse_documents(previous_manifest).ok()?;
    docs.into_iter().map(|d| d.root).find(|n| {
        n.field_str("kind") == Some(sealed::KIND)
            && n.path(&["metadata", "name"]).and_then(Node::as_str) == Some(id.name.as_str())
            && n.path(&["metadata", "namespace"])
                .and_then(Node::as_str)
                .unwrap_or("")
                == id.namespace
            && n.path(&["metadata", "annotations", PLAINTEXT_HMAC])
                .and_then(Node::as_str)
                == Some(stamp)
    })
}

/// The key of the plaintext stamps: derived from the user's first age identity (sorted, so the
/// same keys give the same stamp whatever their order), `None` without one.
fn stamp_key(identities: &[age::x25519::Identity]) -> Option<Zeroizing<[u8; 32]>> {
    use age::secrecy::ExposeSecret;
    let mut secrets: Vec<Zeroizing<String>> = identities
        .iter()
        .map(|i| Zeroizing::new(i.to_string().expose_secret().to_owned()))
        .collect();
    secrets.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let first = secrets.first()?;
    let mut hasher = Sha256::new();
    hasher.update(b"kiln sealed-secrets plaintext stamp v1\0");
    hasher.update(first.as_bytes());
    Some(Zeroizing::new(hasher.finalize().into()))
}

/// HMAC-SHA256 (RFC 2104), hex.
fn hmac_hex(key: &[u8; 32], message: &[u8]) -> String {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_style_vector() {
        // HMAC-SHA256 with a 32-byte key of 0x0b and "Hi There" (computed with Python's hmac).
        let key = [0x0bu8; 32];
        assert_eq!(
            hmac_hex(&key, b"Hi There"),
            "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7"
        );
    }
}
