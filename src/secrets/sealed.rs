//! Bitnami SealedSecrets: sealing a rendered `v1` Secret for a controller's public certificate,
//! producing the `SealedSecret` object that `kubeseal --cert CERT -o yaml` prints.
//!
//! This module owns:
//! - reading the controller's certificate ([`Certificate::from_pem`]): the first PEM
//!   `CERTIFICATE` block, which must hold an RSA public key (kubeseal's `ParseKey`), and its
//!   validity ([`Certificate::check_valid_at`]: kubeseal refuses a certificate whose `notAfter`
//!   has passed);
//! - the value encryption ([`seal_value`], kubeseal's `HybridEncrypt`):
//!   `u16_be(len(rsa)) ‖ rsa ‖ aes ‖ tag`, where `rsa` is RSA-OAEP (SHA-256, MGF1-SHA-256) of a
//!   fresh 32-byte session key with the scope's label ([`Scope::label`]) and `aes ‖ tag` is
//!   AES-256-GCM of the value under that key with a 12-byte zero nonce and no associated data;
//! - building the `SealedSecret` from a Secret ([`seal_secret`], kubeseal's `Seal` plus
//!   `NewSealedSecret`): `data` values are base64-decoded and `stringData` values taken as
//!   UTF-8 bytes, each sealed on its own; the Secret's metadata (minus server-side fields,
//!   owner references and last-applied annotations), `type` and `immutable` go to
//!   `spec.template`; the scope annotation goes on the SealedSecret's own metadata, where the
//!   controller reads it back to compute the label;
//! - the randomness used for sealing ([`Entropy`]): the operating system's by default
//!   ([`OsEntropy`]), injectable so that tests are reproducible.
//!
//! It does not own:
//! - printing: the returned [`Node`] is printed by [`crate::yaml::emit_node`] like every other
//!   object (kubeseal's YAML output goes through the same JSON→YAML round trip, so field
//!   order and quoting agree);
//! - fetching or pinning certificates, choosing a scope per Secret, or keeping a previous
//!   ciphertext when nothing changed (sealing is randomised: every call gives new values);
//! - unsealing: only the controller (or `kubeseal --recovery-unseal`) holds private keys.
//!
//! Output follows kubeseal ≥ 0.32.0 (built on apimachinery ≥ 0.34), which no longer prints
//! `creationTimestamp: null` in `metadata` and `spec.template.metadata`; older kubeseal
//! releases print it in both places. The two forms mean the same object.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::{DecodePaddingMode, general_purpose::STANDARD_NO_PAD};
use rsa::rand_core::{CryptoRng, RngCore};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, Oaep, RsaPublicKey};
use sha2::{Digest, Sha256};
use x509_cert::der::Decode;
use zeroize::{Zeroize, Zeroizing};

use crate::yaml::{KustomizeValue, Node, scalar_value};

/// `apiVersion` of the objects [`seal_secret`] builds.
pub const API_VERSION: &str = "bitnami.com/v1alpha1";
/// `kind` of the objects [`seal_secret`] builds.
pub const KIND: &str = "SealedSecret";
/// Annotation that marks a namespace-wide SealedSecret (value `"true"`).
pub const NAMESPACE_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/namespace-wide";
/// Annotation that marks a cluster-wide SealedSecret (value `"true"`; wins over namespace-wide).
pub const CLUSTER_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/cluster-wide";

/// Annotations kubeseal strips from the template because they hold a full copy of the Secret
/// (`StripLastAppliedAnnotations`).
const LAST_APPLIED_ANNOTATIONS: [&str; 2] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    "kubecfg.ksonnet.io/last-applied-configuration",
];

/// Length of the AES-256 session key, and of the OAEP seed (the SHA-256 output size).
const SESSION_KEY_LEN: usize = 32;
const OAEP_SEED_LEN: usize = 32;
/// Go's `crypto/rsa` (since Go 1.24, which kubeseal is built with) refuses smaller keys.
const MIN_KEY_BITS: usize = 1024;
/// Largest modulus accepted (the controller's default is 4096 bits; `--key-size` may raise it).
const MAX_KEY_BITS: usize = 16384;

/// OID of `rsaEncryption`, the only public key algorithm Go's `x509` turns into an RSA key.
const RSA_ENCRYPTION_OID: &str = "1.2.840.113549.1.1.1";

/// Why a certificate could not be used or a Secret could not be sealed. Messages never contain
/// secret values: at most a field path such as `data.password`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The text has no `-----BEGIN CERTIFICATE-----` block.
    #[error(
        "no PEM certificate found (expected a `-----BEGIN CERTIFICATE-----` block, as printed by `kubeseal --fetch-cert`)"
    )]
    NoCertificate,
    /// A `CERTIFICATE` block is not valid base64 or not a valid X.509 certificate.
    #[error("invalid certificate: {0}")]
    InvalidCertificate(String),
    /// The certificate's key is not an RSA key.
    #[error("expected an RSA public key, but the certificate's key is {algorithm}")]
    NotRsa {
        /// The key algorithm's name (or OID when unknown).
        algorithm: String,
    },
    /// The RSA key is malformed or outside the accepted sizes.
    #[error("invalid RSA public key in certificate: {0}")]
    InvalidKey(String),
    /// The certificate's `notAfter` has passed.
    #[error(
        "the certificate expired on {not_after}; fetch the controller's current one (`kubeseal --fetch-cert`)"
    )]
    Expired {
        /// `notAfter`, RFC 3339.
        not_after: String,
    },
    /// The randomness source failed.
    #[error("cannot get random bytes: {0}")]
    Entropy(String),
    /// Encryption failed (a label or key the RSA layer refuses).
    #[error("encryption failed: {0}")]
    Encrypt(String),
    /// The object to seal is not a `v1` Secret.
    #[error("only a v1 Secret can be sealed, found {found}")]
    NotASecret {
        /// `apiVersion`/`kind` as found.
        found: String,
    },
    /// The Secret has no `metadata.name` (kubeseal: "missing metadata.name in input Secret").
    #[error("the Secret has no metadata.name")]
    MissingName,
    /// The Secret has no namespace but the scope binds the value to one.
    #[error(
        "Secret {name:?} has no metadata.namespace, which {scope} sealing needs (kubeseal would take the current kubectl context's namespace; set it explicitly)"
    )]
    MissingNamespace {
        /// The Secret's name.
        name: String,
        /// The requested scope.
        scope: Scope,
    },
    /// A field has a value the Kubernetes API would refuse for a Secret.
    #[error("Secret {name:?}: {field} {problem}")]
    InvalidField {
        /// The Secret's name (empty when the name itself is the problem).
        name: String,
        /// Path of the field, e.g. `data.password` or `metadata.labels.app`.
        field: String,
        /// What is wrong (never the value).
        problem: &'static str,
    },
}

/// Where a sealed value may be unsealed: the scope decides the RSA-OAEP label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scope {
    /// Only as a Secret of this exact name in this namespace (kubeseal's default).
    #[default]
    Strict,
    /// As a Secret of any name in this namespace.
    NamespaceWide,
    /// As a Secret of any name in any namespace.
    ClusterWide,
}

impl Scope {
    /// The OAEP label (`EncryptionLabel`): `namespace/name`, `namespace`, or empty.
    #[must_use]
    pub fn label(self, namespace: &str, name: &str) -> String {
        match self {
            Scope::Strict => format!("{namespace}/{name}"),
            Scope::NamespaceWide => namespace.to_owned(),
            Scope::ClusterWide => String::new(),
        }
    }

    /// The scope kubeseal infers from an object's `metadata.annotations` when no `--scope` is
    /// given (`SecretScope`): cluster-wide if `sealedsecrets.bitnami.com/cluster-wide` is
    /// `"true"`, else namespace-wide if `…/namespace-wide` is `"true"`, else strict.
    #[must_use]
    pub fn of_object(object: &Node) -> Scope {
        let annotation = |key: &str| {
            object
                .path(&["metadata", "annotations", key])
                .and_then(Node::as_str)
                == Some("true")
        };
        if annotation(CLUSTER_WIDE_ANNOTATION) {
            Scope::ClusterWide
        } else if annotation(NAMESPACE_WIDE_ANNOTATION) {
            Scope::NamespaceWide
        } else {
            Scope::Strict
        }
    }

    /// The name kubeseal's `--scope` flag uses.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Strict => "strict",
            Scope::NamespaceWide => "namespace-wide",
            Scope::ClusterWide => "cluster-wide",
        }
    }

    /// The annotation that marks this scope (`None` for strict).
    fn annotation(self) -> Option<&'static str> {
        match self {
            Scope::Strict => None,
            Scope::NamespaceWide => Some(NAMESPACE_WIDE_ANNOTATION),
            Scope::ClusterWide => Some(CLUSTER_WIDE_ANNOTATION),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;

    /// Parses kubeseal's `--scope` values (`strict`, `namespace-wide`, `cluster-wide`).
    fn from_str(s: &str) -> Result<Scope, String> {
        match s {
            "strict" => Ok(Scope::Strict),
            "namespace-wide" => Ok(Scope::NamespaceWide),
            "cluster-wide" => Ok(Scope::ClusterWide),
            other => Err(format!(
                "unknown SealedSecret scope {other:?}: must be one of strict, namespace-wide, cluster-wide"
            )),
        }
    }
}

/// A sealed-secrets controller's certificate: its RSA public key and validity.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    key: RsaPublicKey,
    not_before: i64,
    not_after: i64,
    not_after_text: String,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("key_bits", &self.key_bits())
            .field("fingerprint", &self.fingerprint())
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after_text)
            .finish()
    }
}

impl Certificate {
    /// Reads the first `CERTIFICATE` block of PEM text, as kubeseal's `--cert` does: text
    /// around and between blocks and blocks of other types are skipped; the certificate must
    /// hold an RSA key (`rsaEncryption`) of 1024 to 16384 bits.
    ///
    /// The validity period is not checked here: call [`Certificate::check_valid_at`].
    ///
    /// # Errors
    /// [`SealError::NoCertificate`], [`SealError::InvalidCertificate`], [`SealError::NotRsa`],
    /// [`SealError::InvalidKey`].
    pub fn from_pem(pem: &[u8]) -> Result<Certificate, SealError> {
        let der = pem_blocks(pem)
            .find(|(label, _)| *label == b"CERTIFICATE")
            .ok_or(SealError::NoCertificate)?
            .1?;
        Certificate::from_der(&der)
    }

    /// Reads a DER-encoded X.509 certificate (see [`Certificate::from_pem`]).
    ///
    /// # Errors
    /// As [`Certificate::from_pem`], without [`SealError::NoCertificate`].
    pub fn from_der(der: &[u8]) -> Result<Certificate, SealError> {
        let cert = x509_cert::Certificate::from_der(der)
            .map_err(|e| SealError::InvalidCertificate(e.to_string()))?;
        let tbs = &cert.tbs_certificate;
        let spki = &tbs.subject_public_key_info;
        let oid = spki.algorithm.oid.to_string();
        if oid != RSA_ENCRYPTION_OID {
            return Err(SealError::NotRsa {
                algorithm: algorithm_name(&oid),
            });
        }
        let key_der = spki.subject_public_key.as_bytes().ok_or_else(|| {
            SealError::InvalidKey("the public key bit string has unused bits".into())
        })?;
        let parts = rsa::pkcs1::RsaPublicKey::from_der(key_der)
            .map_err(|e| SealError::InvalidKey(e.to_string()))?;
        let n = BigUint::from_bytes_be(parts.modulus.as_bytes());
        let e = BigUint::from_bytes_be(parts.public_exponent.as_bytes());
        let key = RsaPublicKey::new_with_max_size(n, e, MAX_KEY_BITS)
            .map_err(|e| SealError::InvalidKey(e.to_string()))?;
        let bits = key.n().bits();
        if bits < MIN_KEY_BITS {
            return Err(SealError::InvalidKey(format!(
                "{bits}-bit modulus, at least {MIN_KEY_BITS} bits are needed"
            )));
        }
        let unix = |t: x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        Ok(Certificate {
            key,
            not_before: unix(tbs.validity.not_before),
            not_after: unix(tbs.validity.not_after),
            not_after_text: tbs.validity.not_after.to_date_time().to_string(),
        })
    }

    /// Checks the certificate at a point in time (seconds since the Unix epoch), as kubeseal
    /// does: an error once `notAfter` has passed. Like kubeseal, a `notBefore` in the future is
    /// accepted (a controller's fresh certificate seen from a client with a slow clock).
    ///
    /// # Errors
    /// [`SealError::Expired`].
    pub fn check_valid_at(&self, unix_seconds: i64) -> Result<(), SealError> {
        if unix_seconds > self.not_after {
            return Err(SealError::Expired {
                not_after: self.not_after_text.clone(),
            });
        }
        Ok(())
    }

    /// [`Certificate::check_valid_at`] the system clock's current time.
    ///
    /// # Errors
    /// [`SealError::Expired`].
    pub fn check_valid_now(&self) -> Result<(), SealError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        self.check_valid_at(now)
    }

    /// `notBefore`, seconds since the Unix epoch.
    #[must_use]
    pub fn not_before(&self) -> i64 {
        self.not_before
    }

    /// `notAfter`, seconds since the Unix epoch.
    #[must_use]
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    /// Size of the RSA modulus in bits (4096 for a controller with default settings).
    #[must_use]
    pub fn key_bits(&self) -> usize {
        self.key.n().bits()
    }

    /// The key's fingerprint as the controller and kubeseal name keys
    /// (`crypto.PublicKeyFingerprint`): OpenSSH's `SHA256:` fingerprint of the public key,
    /// as `ssh-keygen -l -E sha256` prints it.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        let mut wire = Vec::with_capacity(self.key.size() + 32);
        ssh_string(&mut wire, b"ssh-rsa");
        ssh_mpint(&mut wire, &self.key.e().to_bytes_be());
        ssh_mpint(&mut wire, &self.key.n().to_bytes_be());
        format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(&wire)))
    }
}

/// A source of random bytes for session keys and OAEP seeds.
pub trait Entropy {
    /// Fills `buf` entirely with random bytes.
    ///
    /// # Errors
    /// [`SealError::Entropy`] when no randomness is available.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), SealError>;
}

/// The operating system's randomness (`getrandom`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), SealError> {
        getrandom::fill(buf).map_err(|e| SealError::Entropy(e.to_string()))
    }
}

/// Seals one value with `label` (see [`Scope::label`]) and returns the raw bytes
/// `u16_be(len(rsa)) ‖ rsa ‖ aes ‖ tag` (kubeseal's `HybridEncrypt`; base64 of them is what
/// `encryptedData` and `kubeseal --raw` hold).
///
/// Draws 64 bytes from `rng`: the session key, then the OAEP seed.
///
/// # Errors
/// [`SealError::Entropy`], or [`SealError::Encrypt`] if the RSA layer refuses the label.
pub fn seal_value(
    cert: &Certificate,
    label: &str,
    plaintext: &[u8],
    rng: &mut dyn Entropy,
) -> Result<Vec<u8>, SealError> {
    let mut session_key = Zeroizing::new([0u8; SESSION_KEY_LEN]);
    rng.fill(session_key.as_mut_slice())?;
    let mut seed = SeedRng {
        bytes: Zeroizing::new([0u8; OAEP_SEED_LEN]),
        used: 0,
        overdrawn: false,
    };
    rng.fill(seed.bytes.as_mut_slice())?;

    let padding = Oaep::new_with_label::<Sha256, _>(label);
    let rsa_ct = cert
        .key
        .encrypt(&mut seed, padding, session_key.as_slice())
        .map_err(|e| SealError::Encrypt(e.to_string()))?;
    if seed.overdrawn || seed.used != OAEP_SEED_LEN {
        return Err(SealError::Encrypt(
            "the RSA layer used an unexpected amount of randomness".into(),
        ));
    }
    let rsa_len = u16::try_from(rsa_ct.len())
        .map_err(|_| SealError::Encrypt("RSA ciphertext longer than 65535 bytes".into()))?;

    let cipher = Aes256Gcm::new_from_slice(session_key.as_slice())
        .map_err(|_| SealError::Encrypt("bad AES key length".into()))?;
    let aes_ct = cipher
        .encrypt(&Nonce::default(), plaintext)
        .map_err(|_| SealError::Encrypt("AES-GCM refused the value".into()))?;

    let mut out = Vec::with_capacity(2 + rsa_ct.len() + aes_ct.len());
    out.extend_from_slice(&rsa_len.to_be_bytes());
    out.extend_from_slice(&rsa_ct);
    out.extend_from_slice(&aes_ct);
    Ok(out)
}

/// Seals one value for a Secret `name` in `namespace` with `scope` and returns it base64-encoded,
/// as `kubeseal --raw --scope SCOPE --namespace NAMESPACE --name NAME` prints it (`name` is
/// ignored unless strict, `namespace` too when cluster-wide).
///
/// # Errors
/// As [`seal_value`].
pub fn seal_raw(
    cert: &Certificate,
    scope: Scope,
    namespace: &str,
    name: &str,
    plaintext: &[u8],
    rng: &mut dyn Entropy,
) -> Result<String, SealError> {
    let sealed = seal_value(cert, &scope.label(namespace, name), plaintext, rng)?;
    Ok(STANDARD.encode(sealed))
}

/// Seals a rendered `v1` Secret into the `SealedSecret` object `kubeseal --scope SCOPE` builds.
///
/// `secret` is a Secret as kiln renders it (merge keys already applied). The result has:
/// - `metadata`: the Secret's `name` and `namespace`, and for a non-strict scope the scope
///   annotation (`"true"`);
/// - `spec.encryptedData`: every `data` item (base64-decoded first, as the API decodes it) and
///   every `stringData` item (its UTF-8 bytes; it wins over a `data` item of the same key),
///   each sealed with the scope's label; a null value seals the empty value;
/// - `spec.template`: the Secret's `metadata` (`name`, `generateName`, `namespace`,
///   `labels`, `annotations`, `finalizers`, `managedFields`; not server-set fields, nor
///   `ownerReferences`, nor the kubectl/kubecfg last-applied annotations, which hold the
///   plaintext), its `type` and its `immutable`.
///
/// The scope passed here decides: the scope annotations of the Secret are replaced by the one
/// of `scope` in the template too (kubeseal does the same for `--scope namespace-wide` and
/// `--scope cluster-wide`; without `--scope` it takes the scope from those annotations, which
/// [`Scope::of_object`] reproduces). A Secret without `data` and `stringData` gives an empty
/// `encryptedData`, as `kubeseal --allow-empty-data` does.
///
/// Neither the certificate's validity nor `rng`'s quality is checked here.
///
/// # Errors
/// [`SealError::NotASecret`], [`SealError::MissingName`], [`SealError::MissingNamespace`]
/// (strict and namespace-wide scopes), [`SealError::InvalidField`] (a value the API would
/// refuse: non-string `data`/`stringData`/label/annotation values, invalid base64 in `data`,
/// non-boolean `immutable`...), and the errors of [`seal_value`].
pub fn seal_secret(
    secret: &Node,
    cert: &Certificate,
    scope: Scope,
    rng: &mut dyn Entropy,
) -> Result<Node, SealError> {
    let api_version = secret.field_str("apiVersion").unwrap_or_default();
    let kind = secret.field_str("kind").unwrap_or_default();
    if !secret.is_map() || api_version != "v1" || kind != "Secret" {
        return Err(SealError::NotASecret {
            found: format!("apiVersion {api_version:?}, kind {kind:?}"),
        });
    }
    let metadata = secret.field("metadata").filter(|m| !m.is_null());
    if metadata.is_some_and(|m| !m.is_map()) {
        return Err(invalid("", "metadata", "must be a mapping"));
    }
    let meta_str = |key: &str| -> Result<String, SealError> {
        match metadata.and_then(|m| m.field(key)).filter(|n| !n.is_null()) {
            None => Ok(String::new()),
            Some(node) => string_value(node).ok_or_else(|| {
                invalid(
                    metadata
                        .and_then(|m| m.field_str("name"))
                        .unwrap_or_default(),
                    &format!("metadata.{key}"),
                    "must be a string",
                )
            }),
        }
    };
    let name = meta_str("name")?;
    if name.is_empty() {
        return Err(SealError::MissingName);
    }
    let namespace = meta_str("namespace")?;
    if namespace.is_empty() && scope != Scope::ClusterWide {
        return Err(SealError::MissingNamespace { name, scope });
    }
    let label = scope.label(&namespace, &name);

    // Plaintext items: `data` decoded, then `stringData` over it.
    let mut items: BTreeMap<String, Zeroizing<Vec<u8>>> = BTreeMap::new();
    for (key, value) in string_map(secret, &name, "data")? {
        items.insert(key.clone(), decode_data(value, &name, &key)?);
    }
    for (key, value) in string_map(secret, &name, "stringData")? {
        let bytes = match scalar_value(
            value.tag.as_deref(),
            scalar(value, &name, "stringData", &key)?,
        ) {
            KustomizeValue::Null => Vec::new(),
            KustomizeValue::Str(s) => s.as_bytes().to_vec(),
            _ => {
                return Err(invalid(
                    &name,
                    &format!("stringData.{key}"),
                    "must be a string",
                ));
            }
        };
        items.insert(key, Zeroizing::new(bytes));
    }
    let mut encrypted = Vec::with_capacity(items.len());
    for (key, plaintext) in &items {
        let sealed = seal_value(cert, &label, plaintext, rng)?;
        encrypted.push((
            Node::string(key.as_str()),
            Node::string(STANDARD.encode(sealed)),
        ));
    }
    drop(items);

    let mut template = Node::map();
    template.set("metadata", template_metadata(metadata, &name, scope)?);
    if let Some(node) = secret.field("type").filter(|n| !n.is_null()) {
        let text = string_value(node).ok_or_else(|| invalid(&name, "type", "must be a string"))?;
        if !text.is_empty() {
            template.set("type", Node::string(text));
        }
    }
    if let Some(node) = secret.field("immutable").filter(|n| !n.is_null()) {
        let value = match node
            .as_scalar()
            .map(|s| scalar_value(node.tag.as_deref(), s))
        {
            Some(KustomizeValue::Bool(b)) => b,
            _ => return Err(invalid(&name, "immutable", "must be a boolean")),
        };
        template.set(
            "immutable",
            Node::plain(if value { "true" } else { "false" }),
        );
    }

    let mut sealed_meta = Node::map();
    sealed_meta.set("name", Node::string(name.as_str()));
    if !namespace.is_empty() {
        sealed_meta.set("namespace", Node::string(namespace.as_str()));
    }
    if let Some(annotation) = scope.annotation() {
        let mut annotations = Node::map();
        annotations.set(annotation, Node::string("true"));
        sealed_meta.set("annotations", annotations);
    }

    let mut spec = Node::map();
    spec.set("encryptedData", Node::from_entries(encrypted));
    spec.set("template", template);

    let mut out = Node::map();
    out.set("apiVersion", Node::string(API_VERSION));
    out.set("kind", Node::string(KIND));
    out.set("metadata", sealed_meta);
    out.set("spec", spec);
    Ok(out)
}

/// `spec.template.metadata`: the Secret's `ObjectMeta` after kubeseal's clean-up.
fn template_metadata(metadata: Option<&Node>, name: &str, scope: Scope) -> Result<Node, SealError> {
    let mut out = Node::map();
    let Some(metadata) = metadata else {
        return Ok(out);
    };
    // Fields in the order of Go's `ObjectMeta` (the printer sorts them anyway).
    for key in ["name", "generateName", "namespace"] {
        if let Some(node) = metadata.field(key).filter(|n| !n.is_null()) {
            let text = string_value(node)
                .ok_or_else(|| invalid(name, &format!("metadata.{key}"), "must be a string"))?;
            if !text.is_empty() {
                out.set(key, Node::string(text));
            }
        }
    }
    let labels = string_entries(metadata, name, "labels")?;
    if !labels.is_empty() {
        out.set("labels", entries_node(labels));
    }
    let mut annotations = string_entries(metadata, name, "annotations")?;
    annotations.retain(|(k, _)| {
        !LAST_APPLIED_ANNOTATIONS.contains(&k.as_str())
            && k != NAMESPACE_WIDE_ANNOTATION
            && k != CLUSTER_WIDE_ANNOTATION
    });
    if let Some(annotation) = scope.annotation() {
        annotations.push((annotation.to_owned(), "true".to_owned()));
    }
    if !annotations.is_empty() {
        out.set("annotations", entries_node(annotations));
    }
    if let Some(node) = metadata.field("finalizers").filter(|n| !n.is_null()) {
        let items = node
            .as_seq()
            .ok_or_else(|| invalid(name, "metadata.finalizers", "must be a list of strings"))?;
        let items = items
            .iter()
            .map(|item| string_value(item).map(Node::string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid(name, "metadata.finalizers", "must be a list of strings"))?;
        if !items.is_empty() {
            out.set("finalizers", Node::seq(items));
        }
    }
    if let Some(node) = metadata.field("managedFields").filter(|n| !n.is_null()) {
        let items = node
            .as_seq()
            .ok_or_else(|| invalid(name, "metadata.managedFields", "must be a list"))?;
        if !items.is_empty() {
            out.set("managedFields", node.clone());
        }
    }
    Ok(out)
}

/// The entries of the mapping at `key` of `parent` (null or absent: none).
fn string_map<'a>(
    parent: &'a Node,
    name: &str,
    key: &str,
) -> Result<Vec<(String, &'a Node)>, SealError> {
    let Some(node) = parent.field(key).filter(|n| !n.is_null()) else {
        return Ok(Vec::new());
    };
    let entries = node
        .as_map()
        .ok_or_else(|| invalid(name, key, "must be a mapping"))?;
    entries
        .iter()
        .map(|(k, v)| {
            k.as_str()
                .map(|k| (k.to_owned(), v))
                .ok_or_else(|| invalid(name, key, "has a key that is not a string"))
        })
        .collect()
}

/// A `map[string]string` field of `metadata` (labels, annotations); a null value is `""`, as
/// Go's JSON decoder leaves it.
fn string_entries(
    metadata: &Node,
    name: &str,
    key: &str,
) -> Result<Vec<(String, String)>, SealError> {
    string_map(metadata, name, key)?
        .into_iter()
        .map(|(k, v)| {
            let value = if v.is_null() {
                Some(String::new())
            } else {
                string_value(v)
            };
            value
                .map(|value| (k.clone(), value))
                .ok_or_else(|| invalid(name, &format!("metadata.{key}.{k}"), "must be a string"))
        })
        .collect()
}

fn entries_node(entries: Vec<(String, String)>) -> Node {
    Node::from_entries(
        entries
            .into_iter()
            .map(|(k, v)| (Node::string(k), Node::string(v)))
            .collect(),
    )
}

/// The string a scalar holds as kustomize reads it; `None` for other values and collections.
fn string_value(node: &Node) -> Option<String> {
    match scalar_value(node.tag.as_deref(), node.as_scalar()?) {
        KustomizeValue::Str(s) => Some(s.into_owned()),
        _ => None,
    }
}

fn scalar<'a>(
    node: &'a Node,
    name: &str,
    field: &str,
    key: &str,
) -> Result<&'a crate::yaml::Scalar, SealError> {
    node.as_scalar()
        .ok_or_else(|| invalid(name, &format!("{field}.{key}"), "must be a string"))
}

/// A `data` value as the API server decodes it: Go's `base64.StdEncoding` (padding required,
/// line breaks ignored, non-zero trailing bits accepted); null is the empty value.
fn decode_data(value: &Node, name: &str, key: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
    const GO_STD: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    );
    let field = || format!("data.{key}");
    let text = match scalar_value(value.tag.as_deref(), scalar(value, name, "data", key)?) {
        KustomizeValue::Null => return Ok(Zeroizing::new(Vec::new())),
        KustomizeValue::Str(s) => s,
        _ => return Err(invalid(name, &field(), "must be a base64 string")),
    };
    let mut compact = Zeroizing::new(Vec::with_capacity(text.len()));
    compact.extend(text.bytes().filter(|b| *b != b'\n' && *b != b'\r'));
    GO_STD
        .decode(compact.as_slice())
        .map(Zeroizing::new)
        .map_err(|_| invalid(name, &field(), "is not valid base64"))
}

fn invalid(name: &str, field: &str, problem: &'static str) -> SealError {
    SealError::InvalidField {
        name: name.to_owned(),
        field: field.to_owned(),
        problem,
    }
}

/// Hands the RSA layer the OAEP seed drawn from [`Entropy`] beforehand, so that errors of the
/// entropy source surface as errors and a fixed source gives fixed output.
struct SeedRng {
    bytes: Zeroizing<[u8; OAEP_SEED_LEN]>,
    used: usize,
    overdrawn: bool,
}

impl RngCore for SeedRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        let available = &self.bytes[self.used..];
        if dest.len() > available.len() {
            // Never hand out predictable bytes silently: the caller checks `overdrawn`.
            self.overdrawn = true;
            dest.zeroize();
            return;
        }
        dest.copy_from_slice(&available[..dest.len()]);
        self.used += dest.len();
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for SeedRng {}

/// PEM blocks of `text` as `(label, decoded body)`, tolerating text around blocks like Go's
/// `pem.Decode`. A block whose body is not base64 yields an error.
fn pem_blocks(text: &[u8]) -> impl Iterator<Item = (&[u8], Result<Vec<u8>, SealError>)> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    const DASHES: &[u8] = b"-----";
    let mut rest = text;
    std::iter::from_fn(move || {
        loop {
            let start = find(rest, BEGIN)?;
            let after = &rest[start + BEGIN.len()..];
            let line_end = after
                .iter()
                .position(|b| *b == b'\n')
                .unwrap_or(after.len());
            let header = trim_cr(&after[..line_end]);
            let Some(label) = header.strip_suffix(DASHES) else {
                rest = after;
                continue;
            };
            let body_start = (line_end + 1).min(after.len());
            let body = &after[body_start..];
            let mut end_marker = b"-----END ".to_vec();
            end_marker.extend_from_slice(label);
            end_marker.extend_from_slice(DASHES);
            let Some(end) = find(body, &end_marker) else {
                rest = after;
                continue;
            };
            rest = &body[end + end_marker.len()..];
            let compact: Vec<u8> = body[..end]
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            let decoded = STANDARD.decode(&compact).map_err(|_| {
                SealError::InvalidCertificate(format!(
                    "the PEM {} block is not valid base64",
                    String::from_utf8_lossy(label)
                ))
            });
            return Some((label, decoded));
        }
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn algorithm_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.2.1" => "ECDSA".into(),
        "1.3.101.112" => "Ed25519".into(),
        "1.3.101.113" => "Ed448".into(),
        "1.2.840.10040.4.1" => "DSA".into(),
        "1.2.840.113549.1.1.10" => "RSASSA-PSS (not usable for encryption)".into(),
        other => format!("non-RSA ({other})"),
    }
}

/// SSH wire `string`: u32 length then bytes.
fn ssh_string(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// SSH wire `mpint` of a non-negative big-endian integer: minimal, with a 0 byte in front
/// when the high bit is set.
fn ssh_mpint(out: &mut Vec<u8>, be: &[u8]) {
    let first = be.iter().position(|b| *b != 0).unwrap_or(be.len());
    let digits = &be[first..];
    let pad = digits.first().is_some_and(|b| b & 0x80 != 0);
    let len = u32::try_from(digits.len() + usize::from(pad)).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    if pad {
        out.push(0);
    }
    out.extend_from_slice(digits);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{emit_node, parse_one};
    use aes_gcm::aead::Aead;
    use rsa::RsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;

    const CERT: &str = include_str!("../../testdata/sealed/cert.pem");
    const CERT_4096: &str = include_str!("../../testdata/sealed/cert-4096.pem");
    const EXPIRED_CERT: &str = include_str!("../../testdata/sealed/expired-cert.pem");
    const EC_CERT: &str = include_str!("../../testdata/sealed/ec-cert.pem");
    const KEY: &str = include_str!("../../testdata/sealed/key.pem");

    /// 2026-11-21T00:00:00Z.
    const NOW: i64 = 1_795_219_200;

    /// A reproducible byte stream: SHA-256 of a seed and a counter.
    struct FixedEntropy {
        seed: u64,
        counter: u64,
    }

    impl FixedEntropy {
        fn new(seed: u64) -> FixedEntropy {
            FixedEntropy { seed, counter: 0 }
        }
    }

    impl Entropy for FixedEntropy {
        fn fill(&mut self, buf: &mut [u8]) -> Result<(), SealError> {
            for chunk in buf.chunks_mut(32) {
                let mut h = Sha256::new();
                h.update(self.seed.to_be_bytes());
                h.update(self.counter.to_be_bytes());
                self.counter += 1;
                chunk.copy_from_slice(&h.finalize()[..chunk.len()]);
            }
            Ok(())
        }
    }

    struct BrokenEntropy;

    impl Entropy for BrokenEntropy {
        fn fill(&mut self, _buf: &mut [u8]) -> Result<(), SealError> {
            Err(SealError::Entropy("no entropy today".into()))
        }
    }

    fn cert() -> Certificate {
        Certificate::from_pem(CERT.as_bytes()).expect("test certificate parses")
    }

    fn private_key() -> RsaPrivateKey {
        let der = pem_blocks(KEY.as_bytes())
            .find(|(label, _)| *label == b"PRIVATE KEY")
            .expect("a PRIVATE KEY block")
            .1
            .expect("base64");
        RsaPrivateKey::from_pkcs8_der(&der).expect("PKCS#8 RSA key")
    }

    /// Independent unseal (the controller's `HybridDecrypt`), written from the format alone.
    fn unseal(key: &RsaPrivateKey, label: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        let (len, rest) = sealed.split_at_checked(2)?;
        let rsa_len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let (rsa_ct, aes_ct) = rest.split_at_checked(rsa_len)?;
        let session = key
            .decrypt(Oaep::new_with_label::<Sha256, _>(label), rsa_ct)
            .ok()?;
        let cipher = Aes256Gcm::new_from_slice(&session).ok()?;
        cipher.decrypt(&Nonce::default(), aes_ct).ok()
    }

    fn parse(text: &str) -> Node {
        parse_one(text).expect("valid YAML").expect("a document")
    }

    fn encrypted_items(sealed: &Node) -> Vec<(String, Vec<u8>)> {
        sealed
            .path(&["spec", "encryptedData"])
            .and_then(Node::as_map)
            .expect("encryptedData mapping")
            .iter()
            .map(|(k, v)| {
                let key = k.as_str().expect("string key").to_owned();
                let value = STANDARD
                    .decode(v.as_str().expect("string value"))
                    .expect("base64 value");
                (key, value)
            })
            .collect()
    }

    /// The Secret used by most tests: labels, annotations (including ones kubeseal drops),
    /// server-set fields, type, immutable, data and stringData.
    const SECRET: &str = r#"apiVersion: v1
kind: Secret
metadata:
  name: db-credentials
  namespace: team-a
  uid: 6b1c0d4e-0000-4000-8000-000000000000
  resourceVersion: "4711"
  generation: 3
  selfLink: /api/v1/namespaces/team-a/secrets/db-credentials
  creationTimestamp: "2024-01-02T03:04:05Z"
  deletionGracePeriodSeconds: 30
  labels:
    app.kubernetes.io/name: db
    tier: backend
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"stringData":{"password":"hunter2"}}'
    kubecfg.ksonnet.io/last-applied-configuration: '{}'
    team.example.com/owner: "platform"
    sealedsecrets.bitnami.com/cluster-wide: "true"
  ownerReferences:
  - apiVersion: v1
    kind: ConfigMap
    name: owner
    uid: 1
  finalizers:
  - example.com/keep
  unknownField: dropped
type: kubernetes.io/basic-auth
immutable: true
data:
  username: YWRtaW4=
  ca.crt: "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="
  empty:
  shadowed: ZnJvbS1kYXRh
stringData:
  password: hunter2
  shadowed: from-stringData
  unicode: "pässwörd ✓"
status: ignored
"#;

    fn expected_plaintext() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("ca.crt", b"-----BEGIN CERTIFICATE-----\n".to_vec()),
            ("empty", Vec::new()),
            ("password", b"hunter2".to_vec()),
            ("shadowed", b"from-stringData".to_vec()),
            ("unicode", "pässwörd ✓".as_bytes().to_vec()),
            ("username", b"admin".to_vec()),
        ]
    }

    #[test]
    fn every_value_unseals_with_the_scope_label_only() {
        let cert = cert();
        let key = private_key();
        let secret = parse(SECRET);
        let labels = [
            (Scope::Strict, "team-a/db-credentials"),
            (Scope::NamespaceWide, "team-a"),
            (Scope::ClusterWide, ""),
        ];
        for (scope, label) in labels {
            let sealed = seal_secret(&secret, &cert, scope, &mut OsEntropy).expect("seals");
            // The controller computes the label from the SealedSecret's own metadata.
            let meta = sealed.field("metadata").expect("metadata");
            let controller_label = Scope::of_object(&sealed).label(
                meta.field_str("namespace").unwrap_or_default(),
                meta.field_str("name").unwrap_or_default(),
            );
            assert_eq!(controller_label, label, "{scope}");
            assert_eq!(scope.label("team-a", "db-credentials"), label);

            let items = encrypted_items(&sealed);
            let names: Vec<&str> = items.iter().map(|(k, _)| k.as_str()).collect();
            let expected = expected_plaintext();
            let expected_names: Vec<&str> = expected.iter().map(|(k, _)| *k).collect();
            assert_eq!(names, expected_names, "{scope}");
            for ((name, value), (_, plaintext)) in items.iter().zip(&expected) {
                assert_eq!(
                    unseal(&key, label, value).as_deref(),
                    Some(plaintext.as_slice()),
                    "{scope} {name}"
                );
                // Any other label fails: other scopes, other names, other namespaces.
                for wrong in [
                    "team-a/db-credentials",
                    "team-a",
                    "",
                    "team-b/db-credentials",
                    "team-a/other",
                    "team-b",
                ] {
                    if wrong != label {
                        assert_eq!(unseal(&key, wrong, value), None, "{scope} {name} {wrong:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn value_layout() {
        let cert = cert();
        let sealed =
            seal_value(&cert, "ns/name", b"abc", &mut FixedEntropy::new(1)).expect("seals");
        // u16 length of a 2048-bit RSA ciphertext, the ciphertext, then 3 bytes and a 16-byte tag.
        assert_eq!(&sealed[..2], &[0x01, 0x00]);
        assert_eq!(sealed.len(), 2 + 256 + 3 + 16);
        assert_eq!(
            unseal(&private_key(), "ns/name", &sealed).as_deref(),
            Some(&b"abc"[..])
        );

        // The controller's default 4096-bit key: prefix 02 00, so values start with `AgA`/`AgB`/`AgC`…
        let big = Certificate::from_pem(CERT_4096.as_bytes()).expect("parses");
        assert_eq!(big.key_bits(), 4096);
        let raw =
            seal_raw(&big, Scope::Strict, "ns", "name", b"abc", &mut OsEntropy).expect("seals");
        assert!(
            raw.starts_with("AgA")
                || raw.starts_with("AgB")
                || raw.starts_with("AgC")
                || raw.starts_with("AgD"),
            "{raw}"
        );
        assert_eq!(
            STANDARD.decode(&raw).map(|b| b.len()).ok(),
            Some(2 + 512 + 3 + 16)
        );

        // The session key is the first 32 bytes drawn: AES-GCM with a zero nonce under it.
        let mut entropy = FixedEntropy::new(7);
        let mut session = [0u8; 32];
        entropy.fill(&mut session).expect("fills");
        let sealed = seal_value(&cert, "", b"hello", &mut FixedEntropy::new(7)).expect("seals");
        let expected_aes = Aes256Gcm::new_from_slice(&session)
            .expect("key")
            .encrypt(&Nonce::default(), &b"hello"[..])
            .expect("encrypts");
        assert_eq!(&sealed[2 + 256..], expected_aes.as_slice());
    }

    #[test]
    fn raw_value_and_strict_label() {
        let key = private_key();
        let raw =
            seal_raw(&cert(), Scope::Strict, "ns", "name", b"v", &mut OsEntropy).expect("seals");
        let bytes = STANDARD.decode(raw).expect("base64");
        assert_eq!(unseal(&key, "ns/name", &bytes).as_deref(), Some(&b"v"[..]));
        let raw = seal_raw(
            &cert(),
            Scope::ClusterWide,
            "ns",
            "name",
            b"v",
            &mut OsEntropy,
        )
        .expect("seals");
        let bytes = STANDARD.decode(raw).expect("base64");
        assert_eq!(unseal(&key, "", &bytes).as_deref(), Some(&b"v"[..]));
    }

    /// Replaces every `encryptedData` value by a placeholder so the printed shape can be compared.
    fn shape(mut sealed: Node) -> String {
        if let Some(entries) = sealed
            .path_mut(&["spec", "encryptedData"])
            .and_then(Node::as_map_mut)
        {
            for (_, v) in entries.iter_mut() {
                *v = Node::string("SEALED");
            }
        }
        emit_node(&sealed)
    }

    #[test]
    fn manifest_shape_matches_kubeseal() {
        let secret = parse(SECRET);
        let sealed = seal_secret(&secret, &cert(), Scope::Strict, &mut OsEntropy).expect("seals");
        // What `kubeseal --cert cert.pem -o yaml` (≥ 0.32) prints for this Secret with
        // `--scope strict`, ignoring the leading `---` and with values replaced:
        // - metadata: name and namespace only (strict: no scope annotation);
        // - template.metadata: ObjectMeta minus uid/resourceVersion/generation/selfLink/
        //   creationTimestamp/deletionGracePeriodSeconds (cleared by `Seal`), ownerReferences
        //   (cleared by `NewSealedSecret`), last-applied annotations (stripped) and unknown
        //   fields (dropped by Go's decoder); the scope annotation follows `scope`;
        // - type and immutable copied; status of the input dropped.
        let expected = "\
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: db-credentials
  namespace: team-a
spec:
  encryptedData:
    ca.crt: SEALED
    empty: SEALED
    password: SEALED
    shadowed: SEALED
    unicode: SEALED
    username: SEALED
  template:
    immutable: true
    metadata:
      annotations:
        team.example.com/owner: platform
      finalizers:
      - example.com/keep
      labels:
        app.kubernetes.io/name: db
        tier: backend
      name: db-credentials
      namespace: team-a
    type: kubernetes.io/basic-auth
";
        assert_eq!(shape(sealed), expected);

        let sealed =
            seal_secret(&secret, &cert(), Scope::NamespaceWide, &mut OsEntropy).expect("seals");
        let expected = "\
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  annotations:
    sealedsecrets.bitnami.com/namespace-wide: \"true\"
  name: db-credentials
  namespace: team-a
spec:
  encryptedData:
    ca.crt: SEALED
    empty: SEALED
    password: SEALED
    shadowed: SEALED
    unicode: SEALED
    username: SEALED
  template:
    immutable: true
    metadata:
      annotations:
        sealedsecrets.bitnami.com/namespace-wide: \"true\"
        team.example.com/owner: platform
      finalizers:
      - example.com/keep
      labels:
        app.kubernetes.io/name: db
        tier: backend
      name: db-credentials
      namespace: team-a
    type: kubernetes.io/basic-auth
";
        assert_eq!(shape(sealed), expected);
    }

    #[test]
    fn minimal_and_cluster_wide_shapes() {
        // A Secret without namespace sealed cluster-wide: no namespace anywhere, and a minimal
        // Secret gives a template with only metadata.name (no type: the client does not default).
        let secret =
            parse("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  k: v\n");
        let sealed =
            seal_secret(&secret, &cert(), Scope::ClusterWide, &mut OsEntropy).expect("seals");
        let expected = "\
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  annotations:
    sealedsecrets.bitnami.com/cluster-wide: \"true\"
  name: s
spec:
  encryptedData:
    k: SEALED
  template:
    metadata:
      annotations:
        sealedsecrets.bitnami.com/cluster-wide: \"true\"
      name: s
";
        assert_eq!(shape(sealed.clone()), expected);
        let items = encrypted_items(&sealed);
        assert_eq!(
            unseal(&private_key(), "", &items[0].1).as_deref(),
            Some(&b"v"[..])
        );

        // No data at all: `encryptedData: {}` (kubeseal --allow-empty-data); `n` is quoted as
        // go-yaml v2 would read it as a boolean.
        let secret = parse(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: n\ntype: Opaque\n",
        );
        let sealed = seal_secret(&secret, &cert(), Scope::Strict, &mut OsEntropy).expect("seals");
        let expected = "\
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: s
  namespace: \"n\"
spec:
  encryptedData: {}
  template:
    metadata:
      name: s
      namespace: \"n\"
    type: Opaque
";
        assert_eq!(emit_node(&sealed), expected);
    }

    #[test]
    fn fixed_entropy_is_deterministic() {
        let secret = parse(SECRET);
        let a = seal_secret(&secret, &cert(), Scope::Strict, &mut FixedEntropy::new(42))
            .expect("seals");
        let b = seal_secret(&secret, &cert(), Scope::Strict, &mut FixedEntropy::new(42))
            .expect("seals");
        assert_eq!(emit_node(&a), emit_node(&b));
        let c = seal_secret(&secret, &cert(), Scope::Strict, &mut FixedEntropy::new(43))
            .expect("seals");
        assert_ne!(emit_node(&a), emit_node(&c));
        let d = seal_secret(&secret, &cert(), Scope::Strict, &mut OsEntropy).expect("seals");
        let e = seal_secret(&secret, &cert(), Scope::Strict, &mut OsEntropy).expect("seals");
        assert_ne!(emit_node(&d), emit_node(&e));
        // Every item has its own session key: equal plaintexts give unrelated values.
        let twins = parse(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: n}\nstringData: {a: x, b: x}\n",
        );
        let sealed =
            seal_secret(&twins, &cert(), Scope::Strict, &mut FixedEntropy::new(1)).expect("seals");
        let items = encrypted_items(&sealed);
        assert_ne!(items[0].1[..34], items[1].1[..34]);
        assert_ne!(
            items[0].1[items[0].1.len() - 17..],
            items[1].1[items[1].1.len() - 17..]
        );
    }

    #[test]
    fn entropy_failure_is_an_error() {
        let secret = parse(SECRET);
        let err = seal_secret(&secret, &cert(), Scope::Strict, &mut BrokenEntropy).err();
        assert_eq!(err, Some(SealError::Entropy("no entropy today".into())));
    }

    #[test]
    fn certificate_fields_and_fingerprint() {
        let cert = cert();
        assert_eq!(cert.key_bits(), 2048);
        assert_eq!(cert.not_before(), 1_767_225_600); // 2026-01-01T00:00:00Z
        assert_eq!(cert.not_after(), 2_082_758_400); // 2036-01-01T00:00:00Z
        // `ssh-keygen -i -m PKCS8` of the certificate's key, then `ssh-keygen -l -E sha256`.
        assert_eq!(
            cert.fingerprint(),
            "SHA256:DWQ4Mk2akbPLXaSDmHcUVmTHEJzU+PIX8lryeoUjzDI"
        );
        assert_eq!(cert.check_valid_at(NOW), Ok(()));
        assert_eq!(cert.check_valid_at(cert.not_after()), Ok(()));
        assert!(cert.check_valid_now().is_ok());
        // A notBefore in the future is accepted, as kubeseal does.
        assert_eq!(cert.check_valid_at(0), Ok(()));
        assert!(format!("{cert:?}").contains("2036-01-01T00:00:00Z"));

        // Text around the block, another block before it, CRLF line ends.
        let noisy = format!(
            "issued by the controller\r\n-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n{}\ntrailer\n",
            CERT.replace('\n', "\r\n")
        );
        assert_eq!(
            Certificate::from_pem(noisy.as_bytes()).ok(),
            Some(cert.clone())
        );
        // Only the first certificate counts.
        let two = format!("{CERT}{CERT_4096}");
        assert_eq!(
            Certificate::from_pem(two.as_bytes()).map(|c| c.key_bits()),
            Ok(2048)
        );
    }

    #[test]
    fn certificate_errors() {
        let expired = Certificate::from_pem(EXPIRED_CERT.as_bytes()).expect("parses");
        let err = expired.check_valid_at(NOW).err();
        assert_eq!(
            err,
            Some(SealError::Expired {
                not_after: "2020-01-01T12:00:00Z".into()
            })
        );
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("expired on 2020-01-01T12:00:00Z"),
            "{message}"
        );
        assert!(expired.check_valid_now().is_err());
        assert_eq!(expired.check_valid_at(expired.not_after()), Ok(()));
        assert!(expired.check_valid_at(expired.not_after() + 1).is_err());

        let ec = Certificate::from_pem(EC_CERT.as_bytes()).err();
        assert_eq!(
            ec,
            Some(SealError::NotRsa {
                algorithm: "ECDSA".into()
            })
        );
        assert_eq!(
            ec.map(|e| e.to_string()).as_deref(),
            Some("expected an RSA public key, but the certificate's key is ECDSA")
        );

        assert_eq!(
            Certificate::from_pem(b"garbage").err(),
            Some(SealError::NoCertificate)
        );
        assert_eq!(
            Certificate::from_pem(b"").err(),
            Some(SealError::NoCertificate)
        );
        assert_eq!(
            Certificate::from_pem(KEY.as_bytes()).err(),
            Some(SealError::NoCertificate)
        );
        let bad_base64 = "-----BEGIN CERTIFICATE-----\nnot*base64\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            Certificate::from_pem(bad_base64.as_bytes()),
            Err(SealError::InvalidCertificate(_))
        ));
        let not_der = "-----BEGIN CERTIFICATE-----\nAAECAwQ=\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            Certificate::from_pem(not_der.as_bytes()),
            Err(SealError::InvalidCertificate(_))
        ));
        // A truncated certificate.
        let der = pem_blocks(CERT.as_bytes())
            .next()
            .expect("block")
            .1
            .expect("base64");
        assert!(matches!(
            Certificate::from_der(&der[..der.len() / 2]),
            Err(SealError::InvalidCertificate(_))
        ));
        // Unterminated block.
        let open = CERT.replace("-----END CERTIFICATE-----", "");
        assert_eq!(
            Certificate::from_pem(open.as_bytes()).err(),
            Some(SealError::NoCertificate)
        );
    }

    #[test]
    fn secret_errors_are_clear_and_leak_nothing() {
        let cert = cert();
        let seal = |text: &str, scope: Scope| {
            seal_secret(&parse(text), &cert, scope, &mut OsEntropy).map(|_| ())
        };
        let no_ns = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: hunter2}\n";
        for scope in [Scope::Strict, Scope::NamespaceWide] {
            assert_eq!(
                seal(no_ns, scope),
                Err(SealError::MissingNamespace {
                    name: "s".into(),
                    scope
                })
            );
        }
        assert_eq!(seal(no_ns, Scope::ClusterWide), Ok(()));
        let message = seal(no_ns, Scope::Strict)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.contains("no metadata.namespace") && message.contains("strict"),
            "{message}"
        );

        assert_eq!(
            seal(
                "apiVersion: v1\nkind: Secret\nmetadata: {namespace: n}\n",
                Scope::Strict
            ),
            Err(SealError::MissingName)
        );
        assert_eq!(
            seal("apiVersion: v1\nkind: Secret\n", Scope::ClusterWide),
            Err(SealError::MissingName)
        );
        assert_eq!(
            seal(
                "apiVersion: v1\nkind: Secret\nmetadata: {name: ~}\n",
                Scope::ClusterWide
            ),
            Err(SealError::MissingName)
        );
        assert!(matches!(
            seal(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s, namespace: n}\n",
                Scope::Strict
            ),
            Err(SealError::NotASecret { .. })
        ));
        assert!(matches!(
            seal(
                "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: s, namespace: n}\n",
                Scope::Strict
            ),
            Err(SealError::NotASecret { .. })
        ));

        let head = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: n}\n";
        let cases = [
            ("data: {k: 'hunter2!'}\n", "data.k", "is not valid base64"),
            ("data: {k: aHVudGVyMg}\n", "data.k", "is not valid base64"),
            ("data: {k: 12345}\n", "data.k", "must be a base64 string"),
            ("data: {k: [hunter2]}\n", "data.k", "must be a string"),
            ("data: [hunter2]\n", "data", "must be a mapping"),
            (
                "stringData: {k: 12345}\n",
                "stringData.k",
                "must be a string",
            ),
            (
                "stringData: {k: true}\n",
                "stringData.k",
                "must be a string",
            ),
            (
                "stringData: {k: {a: hunter2}}\n",
                "stringData.k",
                "must be a string",
            ),
            ("immutable: \"yes\"\n", "immutable", "must be a boolean"),
            ("type: 3\n", "type", "must be a string"),
        ];
        for (tail, field, problem) in cases {
            let text = format!("{head}{tail}");
            let err = seal(&text, Scope::Strict).err();
            assert_eq!(
                err,
                Some(SealError::InvalidField {
                    name: "s".into(),
                    field: field.into(),
                    problem
                }),
                "{tail}"
            );
            let message = err.map(|e| e.to_string()).unwrap_or_default();
            assert!(
                !message.contains("hunter2") && !message.contains("12345"),
                "{message}"
            );
        }
        let labels = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: n\n  labels: {v: 1}\n";
        assert_eq!(
            seal(labels, Scope::Strict),
            Err(invalid("s", "metadata.labels.v", "must be a string"))
        );
    }

    #[test]
    fn data_is_decoded_like_the_api_server() {
        let key = private_key();
        let text = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: n}\ndata:\n  wrapped: \"aGVs\\nbG8=\\r\\n\"\n  trailing-bits: YR==\n  binary: /wD+\n  block: |\n    aGVs\n    bG8=\n";
        let sealed =
            seal_secret(&parse(text), &cert(), Scope::Strict, &mut OsEntropy).expect("seals");
        let values: Vec<(String, Option<Vec<u8>>)> = encrypted_items(&sealed)
            .into_iter()
            .map(|(k, v)| (k, unseal(&key, "n/s", &v)))
            .collect();
        assert_eq!(
            values,
            vec![
                ("binary".to_owned(), Some(vec![0xff, 0x00, 0xfe])),
                ("block".to_owned(), Some(b"hello".to_vec())),
                ("trailing-bits".to_owned(), Some(b"a".to_vec())),
                ("wrapped".to_owned(), Some(b"hello".to_vec())),
            ]
        );
    }

    #[test]
    fn scope_from_annotations_and_names() {
        let annotated = |a: &str| parse(&format!("metadata:\n  annotations: {{{a}}}\n"));
        assert_eq!(Scope::of_object(&annotated("x: y")), Scope::Strict);
        assert_eq!(
            Scope::of_object(&annotated(
                "sealedsecrets.bitnami.com/namespace-wide: \"true\""
            )),
            Scope::NamespaceWide
        );
        assert_eq!(
            Scope::of_object(&annotated(
                "sealedsecrets.bitnami.com/namespace-wide: \"true\", sealedsecrets.bitnami.com/cluster-wide: \"true\""
            )),
            Scope::ClusterWide
        );
        assert_eq!(
            Scope::of_object(&annotated(
                "sealedsecrets.bitnami.com/cluster-wide: \"false\""
            )),
            Scope::Strict
        );
        for scope in [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide] {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
        }
        assert!("wide".parse::<Scope>().is_err());
        assert_eq!(Scope::default(), Scope::Strict);
    }

    /// Cross-check with an independent implementation (Python `cryptography`, i.e. OpenSSL):
    /// it unseals what this module seals. Skipped when python3 or the package is missing.
    #[test]
    fn python_cryptography_unseals() {
        const SCRIPT: &str = r#"
import base64, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
label = sys.argv[2].encode()
for line in sys.stdin.read().split():
    raw = base64.b64decode(line)
    n = int.from_bytes(raw[:2], "big")
    session = key.decrypt(raw[2:2 + n], padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), label or None))
    print(base64.b64encode(AESGCM(session).decrypt(bytes(12), raw[2 + n:], None)).decode())
"#;
        use std::io::Write as _;
        use std::process::{Command, Stdio};
        let available = Command::new("python3")
            .args(["-c", "import cryptography"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !available {
            eprintln!("skipped: python3 with the cryptography package is not available");
            return;
        }
        let key_path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/sealed/key.pem");
        let secret = parse(SECRET);
        for (scope, label) in [
            (Scope::Strict, "team-a/db-credentials"),
            (Scope::NamespaceWide, "team-a"),
            (Scope::ClusterWide, ""),
        ] {
            let sealed = seal_secret(&secret, &cert(), scope, &mut OsEntropy).expect("seals");
            let input: Vec<String> = encrypted_items(&sealed)
                .iter()
                .map(|(_, v)| STANDARD.encode(v))
                .collect();
            let mut child = Command::new("python3")
                .args(["-c", SCRIPT, key_path, label])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("python3 starts");
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.join("\n").as_bytes())
                .expect("writes");
            let output = child.wait_with_output().expect("python3 runs");
            assert!(output.status.success(), "{scope}");
            let got: Vec<Vec<u8>> = String::from_utf8_lossy(&output.stdout)
                .lines()
                .map(|l| STANDARD.decode(l).expect("base64"))
                .collect();
            let want: Vec<Vec<u8>> = expected_plaintext().into_iter().map(|(_, v)| v).collect();
            assert_eq!(got, want, "{scope}");
        }
    }
}
