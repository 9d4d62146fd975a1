//! Writing SOPS files: encrypting a plaintext document for age recipients exactly as sops 3.13
//! writes it.
//!
//! This module owns:
//! - the encryption walk: every value the encryption rule selects is encrypted with AES-256-GCM
//!   under the file's data key, a fresh 32-byte IV and its path as AAD (`value::encrypt`); the MAC
//!   is computed over the same walk (all values, or only the encrypted ones with
//!   `mac_only_encrypted`) and stored encrypted with `lastmodified` as AAD;
//! - the data key: 32 bytes from an [`Entropy`] source, encrypted for each age recipient as an
//!   armored age file ([`age_stanzas`]), or a data key and stanzas reused from an earlier file
//!   ([`MasterKeys::Reuse`]);
//! - the `sops` metadata block in sops 3.13's layout: keys sorted at every level (`age` entries
//!   `enc` then `recipient`, then the rule, `lastmodified`, `mac`, `mac_only_encrypted`, `version`),
//!   the default rule `unencrypted_suffix: _unencrypted` written when none is given (none for the
//!   binary format, which also drops `mac_only_encrypted`, as sops does);
//! - the output per format: YAML through [`super::goyaml`] (indent 4 by default), JSON and the
//!   binary envelope as sops' JSON store (tab indent), dotenv with `sops_…` lines.
//!
//! Output is deterministic given the data key, the IVs (drawn from the entropy source in walk
//! order, the MAC's last) and the timestamp; age stanzas are randomized by the `age` crate, so
//! byte-identical output needs [`MasterKeys::Reuse`].
//!
//! It does not own: INI output, YAML comments (refused: kiln's YAML tree does not keep them),
//! comment-based rules, PGP/KMS keys, key groups, post-quantum recipients (refused), reusing IVs of
//! unchanged values (sops' "stash") and `updatekeys`/`rotate`.

use std::time::{SystemTime, UNIX_EPOCH};

use zeroize::Zeroizing;

use super::formats;
use super::goyaml;
use super::keys::is_post_quantum;
use super::mac::{self, MacHasher};
use super::rules::{EncryptionRule, Matcher};
use super::tree::{Item, Leaf, TreeValue};
use super::value::{self, DataKey, IV_LEN, ValueType};
use super::{AgeStanza, Format, SopsError};

/// The `version` written into the metadata.
pub const SOPS_VERSION: &str = "3.13.0";

/// sops' default YAML indentation (`stores.yaml.indent`).
pub const DEFAULT_YAML_INDENT: usize = 4;

/// Why a document could not be encrypted. Never contains plaintext.
#[derive(Debug, thiserror::Error)]
pub enum EncryptError {
    /// No recipient was given.
    #[error("no age recipients to encrypt for")]
    NoRecipients,
    /// A recipient is not an `age1…` X25519 recipient.
    #[error("`{recipient}` is not an age recipient (age1…)")]
    InvalidRecipient {
        /// The recipient as given.
        recipient: String,
    },
    /// A post-quantum (`age1pq1…`) recipient, which the `age` crate cannot encrypt to yet.
    #[error(
        "`{recipient}` is a post-quantum age recipient, which kiln cannot encrypt to yet; use an \
         X25519 recipient (age1…)"
    )]
    PostQuantumRecipient {
        /// The recipient.
        recipient: String,
    },
    /// The operating system's random number generator failed.
    #[error("no randomness available for keys and IVs")]
    Entropy,
    /// age failed to encrypt the data key.
    #[error("age could not encrypt the data key for `{recipient}`")]
    Age {
        /// The recipient.
        recipient: String,
    },
    /// The document or the options cannot be encrypted (parse errors, reserved keys, rules).
    #[error(transparent)]
    Document(#[from] SopsError),
}

/// A source of random bytes for the data key and the IVs.
pub trait Entropy {
    /// Fills `buf` with random bytes.
    ///
    /// # Errors
    /// [`EncryptError::Entropy`] when no randomness is available.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EncryptError>;
}

/// The operating system's random number generator.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EncryptError> {
        getrandom::fill(buf).map_err(|_| EncryptError::Entropy)
    }
}

/// A point in time with second precision, written as Go's RFC 3339 in UTC
/// (`2024-11-12T13:33:42Z`), as sops writes `lastmodified`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    unix: i64,
}

impl Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    #[must_use]
    pub fn from_unix_seconds(unix: i64) -> Self {
        Timestamp { unix }
    }

    /// A `SystemTime`, truncated to seconds.
    #[must_use]
    pub fn from_system_time(time: SystemTime) -> Self {
        let unix = match time.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => {
                // Before 1970: round down to the whole second.
                let d = e.duration();
                let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                -secs - i64::from(d.subsec_nanos() > 0)
            }
        };
        Timestamp { unix }
    }

    /// The current time.
    #[must_use]
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// Seconds since the epoch.
    #[must_use]
    pub fn unix_seconds(self) -> i64 {
        self.unix
    }

    /// Go's `time.RFC3339` of the UTC time (`2006-01-02T15:04:05Z`).
    #[must_use]
    pub fn rfc3339(self) -> String {
        let days = self.unix.div_euclid(86_400);
        let secs = self.unix.rem_euclid(86_400);
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        )
    }
}

/// Where the data key and its age stanzas come from.
#[derive(Clone, Copy)]
pub enum MasterKeys<'a> {
    /// A new data key from the entropy source, encrypted with age for each recipient (`age1…`,
    /// surrounding whitespace ignored as sops does).
    Recipients(&'a [String]),
    /// A data key and the age stanzas that hold it, e.g. from the previous version of the file,
    /// so unchanged recipients keep their `enc` blocks (and output is fully deterministic).
    Reuse {
        /// The data key.
        data_key: &'a DataKey,
        /// Its stanzas, written in this order.
        age: &'a [AgeStanza],
    },
}

impl std::fmt::Debug for MasterKeys<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MasterKeys::Recipients(r) => f.debug_tuple("Recipients").field(r).finish(),
            MasterKeys::Reuse { age, .. } => f
                .debug_struct("Reuse")
                .field("age", age)
                .finish_non_exhaustive(),
        }
    }
}

/// The `.sops.yaml` creation-rule options that shape the file, and the timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptOptions {
    /// The encryption rule; `None` (or an empty pattern) is sops' default
    /// `unencrypted_suffix: _unencrypted`, which is then written into the metadata.
    pub rule: Option<EncryptionRule>,
    /// Whether the MAC covers only the encrypted values.
    pub mac_only_encrypted: bool,
    /// `lastmodified`, also the AAD of the MAC.
    pub lastmodified: Timestamp,
    /// YAML indentation (`stores.yaml.indent`; 2 to 9, default 4).
    pub yaml_indent: usize,
}

impl EncryptOptions {
    /// sops' defaults, stamped with `lastmodified`.
    #[must_use]
    pub fn new(lastmodified: Timestamp) -> Self {
        EncryptOptions {
            rule: None,
            mac_only_encrypted: false,
            lastmodified,
            yaml_indent: DEFAULT_YAML_INDENT,
        }
    }
}

/// Encrypts a plaintext document for age recipients with a new data key and OS randomness.
///
/// # Errors
/// See [`EncryptError`]; nothing is returned on error.
pub fn encrypt(
    format: Format,
    plaintext: &[u8],
    recipients: &[String],
    options: &EncryptOptions,
) -> Result<Vec<u8>, EncryptError> {
    encrypt_with(
        format,
        plaintext,
        MasterKeys::Recipients(recipients),
        options,
        &mut OsEntropy,
    )
}

/// Encrypts a plaintext document, drawing the data key (for [`MasterKeys::Recipients`]) and then
/// the IVs, in walk order with the MAC's last, from `entropy`.
///
/// # Errors
/// See [`EncryptError`]; nothing is returned on error.
pub fn encrypt_with(
    format: Format,
    plaintext: &[u8],
    keys: MasterKeys<'_>,
    options: &EncryptOptions,
    entropy: &mut dyn Entropy,
) -> Result<Vec<u8>, EncryptError> {
    // sops' binary store keeps no rule and no `mac_only_encrypted`.
    let (rule, mac_only) = if format == Format::Binary {
        (None, false)
    } else {
        let rule = options.rule.clone().filter(|r| !rule_pattern(r).is_empty());
        (
            Some(rule.unwrap_or_else(|| EncryptionRule::UnencryptedSuffix("_unencrypted".into()))),
            options.mac_only_encrypted,
        )
    };
    let matcher = Matcher::new(rule.as_ref())?;
    let mut tree = formats::parse_plain(format, plaintext)?;

    let (data_key, stanzas) = match keys {
        MasterKeys::Recipients(recipients) => {
            let recipients = check_recipients(recipients)?;
            let mut key: DataKey = Zeroizing::new([0; 32]);
            entropy.fill(key.as_mut_slice())?;
            let stanzas = age_stanzas(&recipients, &key)?;
            (key, stanzas)
        }
        MasterKeys::Reuse { data_key, age } => {
            if age.is_empty() {
                return Err(EncryptError::NoRecipients);
            }
            (Zeroizing::new(**data_key), age.to_vec())
        }
    };

    let mut sealer = Sealer {
        key: &data_key,
        matcher: &matcher,
        mac_only,
        mac: MacHasher::new(mac_only),
        path: Vec::new(),
        entropy,
    };
    for branch in &mut tree.branches {
        sealer.items(branch)?;
    }
    let mac_hex = sealer.mac.finish();
    let lastmodified = options.lastmodified.rfc3339();
    let mut iv = [0; IV_LEN];
    sealer.entropy.fill(&mut iv)?;
    let mac = value::encrypt(
        &data_key,
        mac_hex.as_bytes(),
        &iv,
        &lastmodified,
        ValueType::Str,
    );

    let meta = Meta {
        stanzas: &stanzas,
        lastmodified: &lastmodified,
        mac: &mac,
        rule: rule.as_ref(),
        mac_only,
    };
    Ok(match format {
        Format::Yaml => {
            for branch in &mut tree.branches {
                branch.push(Item::Entry("sops".to_owned(), TreeValue::Map(meta.items())));
            }
            goyaml::emit(&tree.branches, options.yaml_indent)?.into_bytes()
        }
        Format::Json | Format::Binary => {
            if let Some(branch) = tree.branches.first_mut() {
                branch.push(Item::Entry("sops".to_owned(), TreeValue::Map(meta.items())));
            }
            formats::emit_json(&tree)?.to_vec()
        }
        Format::Dotenv => {
            if let Some(branch) = tree.branches.first_mut() {
                branch.extend(meta.flattened("sops_"));
            }
            formats::emit_dotenv(&tree)?.to_vec()
        }
        Format::Ini => {
            return Err(SopsError::Unsupported {
                what: "encrypting INI files".to_owned(),
            }
            .into());
        }
    })
}

/// Encrypts a data key for each recipient as sops does: one armored age file per recipient,
/// holding the raw 32 bytes, ending with a newline.
///
/// # Errors
/// [`EncryptError::PostQuantumRecipient`], [`EncryptError::InvalidRecipient`],
/// [`EncryptError::Age`].
pub fn age_stanzas(
    recipients: &[String],
    data_key: &[u8; 32],
) -> Result<Vec<AgeStanza>, EncryptError> {
    let mut stanzas = Vec::with_capacity(recipients.len());
    for recipient in check_recipients(recipients)? {
        let parsed: age::x25519::Recipient =
            recipient
                .parse()
                .map_err(|_| EncryptError::InvalidRecipient {
                    recipient: recipient.clone(),
                })?;
        let mut enc = age::encrypt_and_armor(&parsed, data_key).map_err(|_| EncryptError::Age {
            recipient: recipient.clone(),
        })?;
        if !enc.ends_with('\n') {
            enc.push('\n');
        }
        stanzas.push(AgeStanza { recipient, enc });
    }
    Ok(stanzas)
}

/// Trims recipients and refuses an empty list and post-quantum ones.
fn check_recipients(recipients: &[String]) -> Result<Vec<String>, EncryptError> {
    if recipients.iter().all(|r| r.trim().is_empty()) {
        return Err(EncryptError::NoRecipients);
    }
    recipients
        .iter()
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
        .map(|r| {
            if is_post_quantum(r) {
                Err(EncryptError::PostQuantumRecipient {
                    recipient: r.to_owned(),
                })
            } else if !r.starts_with("age1") {
                Err(EncryptError::InvalidRecipient {
                    recipient: r.to_owned(),
                })
            } else {
                Ok(r.to_owned())
            }
        })
        .collect()
}

fn rule_pattern(rule: &EncryptionRule) -> &str {
    match rule {
        EncryptionRule::UnencryptedSuffix(s)
        | EncryptionRule::EncryptedSuffix(s)
        | EncryptionRule::UnencryptedRegex(s)
        | EncryptionRule::EncryptedRegex(s)
        | EncryptionRule::UnencryptedCommentRegex(s)
        | EncryptionRule::EncryptedCommentRegex(s) => s,
    }
}

fn rule_field(rule: &EncryptionRule) -> &'static str {
    match rule {
        EncryptionRule::UnencryptedSuffix(_) => "unencrypted_suffix",
        EncryptionRule::EncryptedSuffix(_) => "encrypted_suffix",
        EncryptionRule::UnencryptedRegex(_) => "unencrypted_regex",
        EncryptionRule::EncryptedRegex(_) => "encrypted_regex",
        EncryptionRule::UnencryptedCommentRegex(_) => "unencrypted_comment_regex",
        EncryptionRule::EncryptedCommentRegex(_) => "encrypted_comment_regex",
    }
}

/// Encrypts values in place and feeds the MAC, in sops' walk order.
struct Sealer<'a> {
    key: &'a [u8; 32],
    matcher: &'a Matcher,
    mac_only: bool,
    mac: MacHasher,
    path: Vec<String>,
    entropy: &'a mut dyn Entropy,
}

impl Sealer<'_> {
    fn items(&mut self, items: &mut [Item]) -> Result<(), EncryptError> {
        for item in items {
            match item {
                Item::Entry(key, value) => {
                    self.path.push(key.clone());
                    let result = self.value(value);
                    self.path.pop();
                    result?;
                }
                // Comments use their container's path and are not in the MAC.
                Item::Comment(leaf) => {
                    if self.matcher.encrypts(&self.path) {
                        self.seal(leaf, ValueType::Comment)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn value(&mut self, value: &mut TreeValue) -> Result<(), EncryptError> {
        match value {
            TreeValue::Null => Ok(()),
            TreeValue::Leaf(leaf) => self.leaf(leaf),
            TreeValue::Map(items) => self.items(items),
            // List elements share the list's path: indices are not part of the AAD.
            TreeValue::Seq(values) => values.iter_mut().try_for_each(|v| self.value(v)),
        }
    }

    fn leaf(&mut self, leaf: &mut Leaf) -> Result<(), EncryptError> {
        let encrypts = self.matcher.encrypts(&self.path);
        let value_type = leaf.value_type;
        // The bytes sops hashes and encrypts: Go's canonical form (`True`, `1234.5`).
        let canonical = Zeroizing::new(
            mac::mac_bytes(value_type, &leaf.bytes)
                .ok_or_else(|| SopsError::Malformed {
                    what: format!(
                        "the value at `{}` is not a valid {}",
                        value::aad(&self.path),
                        value_type.tag()
                    ),
                })?
                .into_owned(),
        );
        if encrypts || !self.mac_only {
            self.mac.update(&canonical);
        }
        if encrypts {
            leaf.bytes = canonical;
            self.seal(leaf, value_type)?;
        }
        Ok(())
    }

    /// Replaces a leaf's plaintext with its `ENC[…]` string (empty stays empty).
    fn seal(&mut self, leaf: &mut Leaf, value_type: ValueType) -> Result<(), EncryptError> {
        let mut iv = [0; IV_LEN];
        if !leaf.bytes.is_empty() {
            self.entropy.fill(&mut iv)?;
        }
        let text = value::encrypt(
            self.key,
            &leaf.bytes,
            &iv,
            &value::aad(&self.path),
            value_type,
        );
        // The old buffer is zeroed as it is dropped.
        leaf.bytes = Zeroizing::new(text.into_bytes());
        leaf.value_type = if value_type == ValueType::Comment {
            ValueType::Comment
        } else {
            ValueType::Str
        };
        leaf.encrypted = true;
        Ok(())
    }
}

/// The metadata block, before it is laid out for a format.
struct Meta<'a> {
    stanzas: &'a [AgeStanza],
    lastmodified: &'a str,
    mac: &'a str,
    rule: Option<&'a EncryptionRule>,
    mac_only: bool,
}

fn str_leaf(text: &str) -> TreeValue {
    TreeValue::Leaf(Leaf::clear(ValueType::Str, text))
}

impl Meta<'_> {
    /// The metadata as a map with sops 3.13's key order (sorted by name at every level).
    fn items(&self) -> Vec<Item> {
        let mut fields: Vec<(&str, TreeValue)> = vec![
            (
                "age",
                TreeValue::Seq(
                    self.stanzas
                        .iter()
                        .map(|s| {
                            TreeValue::Map(vec![
                                Item::Entry("enc".to_owned(), str_leaf(&s.enc)),
                                Item::Entry("recipient".to_owned(), str_leaf(&s.recipient)),
                            ])
                        })
                        .collect(),
                ),
            ),
            ("lastmodified", str_leaf(self.lastmodified)),
            ("mac", str_leaf(self.mac)),
            ("version", str_leaf(SOPS_VERSION)),
        ];
        if let Some(rule) = self.rule {
            fields.push((rule_field(rule), str_leaf(rule_pattern(rule))));
        }
        if self.mac_only {
            fields.push((
                "mac_only_encrypted",
                TreeValue::Leaf(Leaf::clear(ValueType::Bool, "true")),
            ));
        }
        fields.sort_by(|a, b| a.0.cmp(b.0));
        fields
            .into_iter()
            .map(|(k, v)| Item::Entry(k.to_owned(), v))
            .collect()
    }

    /// The metadata flattened as sops' dotenv store writes it (`sops_age__list_0__map_enc`),
    /// all values as strings.
    fn flattened(&self, prefix: &str) -> Vec<Item> {
        let mut out = Vec::new();
        for item in self.items() {
            let Item::Entry(key, value) = item else {
                continue;
            };
            flatten(&format!("{prefix}{key}"), value, &mut out);
        }
        out
    }
}

fn flatten(key: &str, value: TreeValue, out: &mut Vec<Item>) {
    match value {
        TreeValue::Map(items) => {
            for item in items {
                if let Item::Entry(k, v) = item {
                    flatten(&format!("{key}__map_{k}"), v, out);
                }
            }
        }
        TreeValue::Seq(values) => {
            for (i, v) in values.into_iter().enumerate() {
                flatten(&format!("{key}__list_{i}"), v, out);
            }
        }
        TreeValue::Leaf(leaf) => {
            // sops' `ValToString`: booleans as `true`/`false`.
            let mut leaf = leaf;
            leaf.value_type = ValueType::Str;
            out.push(Item::Entry(key.to_owned(), TreeValue::Leaf(leaf)));
        }
        TreeValue::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use aes_gcm::AesGcm;
    use aes_gcm::aead::generic_array::GenericArray;
    use aes_gcm::aead::generic_array::typenum::U32;
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    use aes_gcm::aes::Aes256;
    use age::x25519::Identity;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use sha2::{Digest, Sha512};

    use super::*;
    use crate::secrets::sops::{Decrypted, decrypt};

    /// Deterministic "randomness": consecutive byte values.
    struct Counter(u8);

    impl Entropy for Counter {
        fn fill(&mut self, buf: &mut [u8]) -> Result<(), EncryptError> {
            for b in buf {
                *b = self.0;
                self.0 = self.0.wrapping_add(1);
            }
            Ok(())
        }
    }

    /// `shared/interop/sops`, found above the crate (kiln's repository or a scratch copy).
    fn interop(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|dir| dir.join("shared/interop/sops"))
            .find(|dir| dir.is_dir())
            .expect("shared/interop/sops above the crate")
            .join(rel)
    }

    const FLUX_KEY: &str =
        "fluxcd-kustomize-controller/internal/controller/testdata/sops/keys/age.txt";

    fn identity() -> Identity {
        let text = std::fs::read_to_string(interop(FLUX_KEY)).expect("key file");
        let line = text
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
            .expect("identity line");
        line.parse().expect("identity")
    }

    fn recipient() -> String {
        identity().to_public().to_string()
    }

    fn options() -> EncryptOptions {
        // 2024-11-12T13:33:42Z
        EncryptOptions::new(Timestamp::from_unix_seconds(1_731_418_422))
    }

    fn seal(format: Format, plain: &str, options: &EncryptOptions) -> String {
        let out = encrypt_with(
            format,
            plain.as_bytes(),
            MasterKeys::Recipients(&[recipient()]),
            options,
            &mut Counter(1),
        )
        .expect("encrypts");
        String::from_utf8(out).expect("UTF-8")
    }

    fn open(format: Format, file: &str) -> Decrypted {
        decrypt(format, file.as_bytes(), &[identity()]).expect("decrypts with MAC verified")
    }

    /// Every leaf as (AAD path, type, Go-canonical bytes), comments included.
    fn leaves(items: &[Item], path: &mut Vec<String>, out: &mut Vec<(String, String, Vec<u8>)>) {
        fn value(v: &TreeValue, path: &mut Vec<String>, out: &mut Vec<(String, String, Vec<u8>)>) {
            match v {
                TreeValue::Null => out.push((value::aad(path), "null".into(), Vec::new())),
                TreeValue::Leaf(leaf) => {
                    let bytes = mac::mac_bytes(leaf.value_type, &leaf.bytes)
                        .map_or_else(|| leaf.bytes.to_vec(), |b| b.into_owned());
                    out.push((value::aad(path), leaf.value_type.tag().into(), bytes));
                }
                TreeValue::Map(items) => leaves(items, path, out),
                TreeValue::Seq(values) => values.iter().for_each(|v| value(v, path, out)),
            }
        }
        for item in items {
            match item {
                Item::Entry(k, v) => {
                    path.push(k.clone());
                    value(v, path, out);
                    path.pop();
                }
                Item::Comment(leaf) => {
                    out.push((value::aad(path), "comment".into(), leaf.bytes.to_vec()));
                }
            }
        }
    }

    fn flat(tree: &super::super::Tree) -> Vec<(String, String, Vec<u8>)> {
        let mut out = Vec::new();
        for branch in &tree.branches {
            leaves(branch, &mut Vec::new(), &mut out);
        }
        out
    }

    /// Encrypts, decrypts with kiln's reader (MAC verified) and compares the trees; the decrypted
    /// document must parse back to the same tree too.
    fn round_trip(format: Format, plain: &str, options: &EncryptOptions) -> String {
        let file = seal(format, plain, options);
        let decrypted = open(format, &file);
        let expected = flat(&formats::parse_plain(format, plain.as_bytes()).expect("parses"));
        assert_eq!(flat(decrypted.tree()), expected, "{file}");
        let document = decrypted.document().expect("document");
        let again = formats::parse_plain(format, &document).expect("document parses");
        assert_eq!(flat(&again), expected);
        file
    }

    const YAML: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: db
  labels:
    tier: backend
stringData:
  password: s3cr3t
  empty: \"\"
  script: |
    #!/bin/sh
    echo \"hello\"
  folded: >-
    one
    two
numbers:
  count: 42
  negative: -7
  ratio: 0.25
  big: 1e21
flags: [true, false]
when: 2024-01-01
nothing: null
items:
  - name: a
    port: 80
  - - nested
    - 1.5
  - plain
public_unencrypted:
  note: stays clear
  list: [1, two]
---
second: document
yes_string: \"yes\"
";

    #[test]
    fn yaml_round_trip() {
        let file = round_trip(Format::Yaml, YAML, &options());
        // Values are encrypted with their type; `_unencrypted` subtrees stay clear, as sops writes
        // them with go-yaml v3 (indent 4, sequences indented).
        for expected in [
            "apiVersion: ENC[AES256_GCM,data:",
            ",type:int]\n",
            ",type:float]\n",
            ",type:bool]\n",
            ",type:time]\n",
            "    empty: \"\"\n",
            "nothing: null\n",
            "public_unencrypted:\n    note: stays clear\n    list:\n        - 1\n        - two\n",
            "items:\n    - name: ENC[",
            "    - - ENC[",
            "---\nsecond: ENC[",
        ] {
            assert!(file.contains(expected), "{expected:?} in\n{file}");
        }
        // Both documents carry the metadata, as sops writes them.
        assert_eq!(file.matches("\nsops:\n").count(), 2, "{file}");
        assert!(!file.contains("s3cr3t") && !file.contains("hello"));
    }

    #[test]
    fn yaml_rules_and_mac_only() {
        let mut opts = options();
        opts.rule = Some(EncryptionRule::EncryptedRegex("^(data|stringData)$".into()));
        opts.mac_only_encrypted = true;
        let file = round_trip(Format::Yaml, YAML, &opts);
        assert!(file.contains("apiVersion: v1\n"), "{file}");
        assert!(file.contains("    password: ENC["), "{file}");
        assert!(
            file.contains("    encrypted_regex: ^(data|stringData)$\n"),
            "{file}"
        );
        assert!(file.contains("    mac_only_encrypted: true\n"), "{file}");
        assert!(!file.contains("unencrypted_suffix"), "{file}");
        for rule in [
            EncryptionRule::UnencryptedRegex("^(kind|metadata)$".into()),
            EncryptionRule::EncryptedSuffix("word".into()),
            EncryptionRule::UnencryptedSuffix("_plain".into()),
        ] {
            let mut opts = options();
            opts.rule = Some(rule);
            round_trip(Format::Yaml, YAML, &opts);
        }
    }

    const JSON: &str = r#"{
  "name": "app",
  "port": 5432,
  "ratio": 1.5,
  "tiny": 1e-7,
  "enabled": true,
  "nothing": null,
  "tags": ["a", "b<&>", 3],
  "db": {"user": "admin", "password": "p@ss\nword", "empty": {}, "none": []},
  "id_unencrypted": "visible"
}"#;

    #[test]
    fn json_round_trip() {
        let file = round_trip(Format::Json, JSON, &options());
        assert!(
            file.starts_with("{\n\t\"name\": \"ENC[AES256_GCM,data:"),
            "{file}"
        );
        assert!(
            file.contains("\t\"id_unencrypted\": \"visible\",\n"),
            "{file}"
        );
        assert!(
            file.contains("\t\t\"empty\": {},\n\t\t\"none\": []\n"),
            "{file}"
        );
        assert!(file.contains(",type:int]\""), "{file}");
        assert!(
            file.contains("\t\t\"unencrypted_suffix\": \"_unencrypted\",\n"),
            "{file}"
        );
        assert!(
            file.ends_with("\t\t\"version\": \"3.13.0\"\n\t}\n}\n"),
            "{file}"
        );
    }

    #[test]
    fn dotenv_and_binary_round_trip() {
        let env = "# a comment\nUSER=admin\nPASSWORD=multi\\nline\nHOST_unencrypted=db.local\n";
        let file = round_trip(Format::Dotenv, env, &options());
        assert!(file.starts_with("#ENC[AES256_GCM,data:"), "{file}");
        assert!(file.contains(",type:comment]\nUSER=ENC["), "{file}");
        assert!(file.contains("\nHOST_unencrypted=db.local\n"), "{file}");
        assert!(
            file.contains("\nsops_age__list_0__map_enc=-----BEGIN AGE ENCRYPTED FILE-----\\n"),
            "{file}"
        );
        let order: Vec<&str> = file
            .lines()
            .filter_map(|l| l.strip_prefix("sops_"))
            .map(|l| l.split('=').next().unwrap_or_default())
            .collect();
        assert_eq!(
            order,
            [
                "age__list_0__map_enc",
                "age__list_0__map_recipient",
                "lastmodified",
                "mac",
                "unencrypted_suffix",
                "version"
            ]
        );

        let bytes = b"\x00\xffnot text\n";
        let out = encrypt_with(
            Format::Binary,
            bytes,
            MasterKeys::Recipients(&[recipient()]),
            &options(),
            &mut Counter(9),
        )
        .expect("encrypts");
        let decrypted = decrypt(Format::Binary, &out, &[identity()]).expect("decrypts");
        assert_eq!(decrypted.document().expect("document").as_slice(), bytes);
        let text = String::from_utf8(out).expect("UTF-8");
        // sops' binary store writes no rule.
        assert!(!text.contains("_unencrypted"), "{text}");
    }

    /// The `enc` stanza opens with the real `age` command-line tool.
    #[test]
    fn stanza_opens_with_age_cli() {
        if Command::new("age").arg("--version").output().is_err() {
            eprintln!("note: `age` is not installed; skipping the age CLI check");
            return;
        }
        let key: DataKey = Zeroizing::new([0x5a; 32]);
        let stanzas = age_stanzas(&[format!("  {}\n", recipient())], &key).expect("stanzas");
        assert_eq!(stanzas.len(), 1);
        assert_eq!(stanzas[0].recipient, recipient());
        let enc = &stanzas[0].enc;
        assert!(
            enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"),
            "{enc}"
        );
        assert!(
            enc.ends_with("\n-----END AGE ENCRYPTED FILE-----\n"),
            "{enc}"
        );
        assert!(enc.lines().all(|l| l.len() <= 64), "{enc}");
        let dir = tempfile::tempdir().expect("tempdir");
        let enc_path = dir.path().join("enc.age");
        std::fs::write(&enc_path, enc).expect("write");
        let out = Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(interop(FLUX_KEY))
            .arg(&enc_path)
            .output()
            .expect("runs age");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, key.as_slice());
    }

    /// Decrypts one value and the MAC from the format description alone: AES-256-GCM with a
    /// 32-byte IV, the path `stringData:password:` as AAD; MAC = uppercase hex SHA-512 of the
    /// values in order, encrypted with `lastmodified` as AAD.
    #[test]
    fn independent_decryption() {
        let key: DataKey = Zeroizing::new([0x42; 32]);
        let stanzas = age_stanzas(&[recipient()], &key).expect("stanzas");
        let mut opts = options();
        opts.rule = Some(EncryptionRule::EncryptedRegex("^stringData$".into()));
        let plain = "kind: Secret\nstringData:\n    password: hunter2\n    port: 5432\n";
        let out = encrypt_with(
            Format::Yaml,
            plain.as_bytes(),
            MasterKeys::Reuse {
                data_key: &key,
                age: &stanzas,
            },
            &opts,
            &mut Counter(0),
        )
        .expect("encrypts");
        let text = String::from_utf8(out).expect("UTF-8");
        let field = |name: &str| -> String {
            let line = text
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{name}: ")))
                .expect("field");
            line.split_once(": ").expect("value").1.to_owned()
        };
        let open = |enc: &str, aad: &str| -> (Vec<u8>, String) {
            let body = enc
                .strip_prefix("ENC[AES256_GCM,")
                .and_then(|b| b.strip_suffix(']'))
                .expect("ENC[…]");
            let mut parts = std::collections::HashMap::new();
            for part in body.split(',') {
                let (k, v) = part.split_once(':').expect("name:value");
                parts.insert(k, v);
            }
            let b64 = |k: &str| STANDARD.decode(parts[k]).expect("base64");
            let (data, iv, tag) = (b64("data"), b64("iv"), b64("tag"));
            assert_eq!((iv.len(), tag.len()), (32, 16));
            let cipher = AesGcm::<Aes256, U32>::new(GenericArray::from_slice(key.as_slice()));
            let sealed = [data, tag].concat();
            let plain = cipher
                .decrypt(
                    GenericArray::from_slice(&iv),
                    Payload {
                        msg: &sealed,
                        aad: aad.as_bytes(),
                    },
                )
                .expect("authenticates");
            (plain, parts["type"].to_owned())
        };
        assert_eq!(
            open(&field("password"), "stringData:password:"),
            (b"hunter2".to_vec(), "str".to_owned())
        );
        assert_eq!(
            open(&field("port"), "stringData:port:"),
            (b"5432".to_vec(), "int".to_owned())
        );
        // The first IV drawn is the first encrypted value's.
        assert!(field("password").contains(&format!(
                "iv:{}",
                STANDARD.encode(
                    [0u8; 0]
                        .iter()
                        .chain(&(0..32).collect::<Vec<u8>>())
                        .copied()
                        .collect::<Vec<u8>>()
                )
            )));
        let lastmodified = field("lastmodified");
        assert_eq!(lastmodified, "\"2024-11-12T13:33:42Z\"");
        let (mac, ty) = open(&field("mac"), "2024-11-12T13:33:42Z");
        assert_eq!(ty, "str");
        let expected: String = Sha512::digest(b"Secrethunter25432")
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert_eq!(String::from_utf8(mac).expect("hex"), expected);
    }

    /// The shape of each line from `sops:` on: indentation, key, and the kind of value.
    fn skeleton(text: &str) -> Vec<String> {
        let start = text.find("\nsops:\n").expect("sops block") + 1;
        let mut out: Vec<String> = Vec::new();
        let mut block_indent = None;
        for line in text[start..].lines() {
            let indent = line.len() - line.trim_start().len();
            if let Some(bi) = block_indent {
                if line.trim().is_empty() || indent >= bi {
                    let shape = format!("{}…", " ".repeat(bi));
                    if out.last() != Some(&shape) {
                        out.push(shape);
                    }
                    continue;
                }
                block_indent = None;
            }
            let body = line.trim_start();
            let (prefix, body) = match body.strip_prefix("- ") {
                Some(rest) => ("- ", rest),
                None => ("", body),
            };
            let shape = match body.split_once(": ") {
                Some((key, value)) => {
                    let kind = if value.starts_with('|') {
                        block_indent = Some(indent + prefix.len() + 2);
                        value.to_owned()
                    } else if value.starts_with("ENC[") {
                        "ENC[…]".to_owned()
                    } else if value.starts_with('"') {
                        "\"…\"".to_owned()
                    } else {
                        "plain".to_owned()
                    };
                    format!("{}{prefix}{key}: {kind}", " ".repeat(indent))
                }
                None => line.to_owned(),
            };
            out.push(shape);
        }
        out
    }

    /// The data key of `format.enc.yaml` (sops 3.13.1, PGP), with `gpg` and the published test
    /// key; `None` when `gpg` is not installed.
    fn format_enc_yaml_key(text: &str) -> Option<[u8; 32]> {
        if Command::new("gpg").arg("--version").output().is_err() {
            return None;
        }
        let home = tempfile::Builder::new()
            .prefix("kg")
            .tempdir_in("/tmp")
            .expect("tempdir");
        let gpg = |args: &[&str]| {
            Command::new("gpg")
                .arg("--homedir")
                .arg(home.path())
                .args(["--batch", "--quiet"])
                .args(args)
                .output()
                .expect("runs gpg")
        };
        let key = interop("getsops-sops/pgp/sops_functional_tests_key.asc");
        assert!(
            gpg(&["--import", key.to_str().expect("path")])
                .status
                .success()
        );
        let start = text.find("enc: |-\n").expect("pgp enc") + "enc: |-\n".len();
        let end = text[start..].find("          fp:").expect("fp") + start;
        let message: String = text[start..end]
            .lines()
            .map(|l| format!("{}\n", l.get(12..).unwrap_or("")))
            .collect();
        let msg_path = home.path().join("msg.asc");
        std::fs::write(&msg_path, message).expect("write");
        let out = gpg(&["-d", msg_path.to_str().expect("path")]);
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(home.path())
            .args(["--kill", "gpg-agent"])
            .output();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout.try_into().ok()
    }

    /// A real sops 3.13.1 YAML file (the only 3.13 YAML vector, PGP-encrypted): its plaintext
    /// (recovered with `gpg` when installed), re-encrypted for an age recipient, has the same
    /// layout; the age entry has the shape of the file's `pgp` entry and the `|` block of sops'
    /// age stanzas (age-pq.yaml, sops 3.12.1).
    #[test]
    fn layout_matches_sops_3_13() {
        let reference =
            std::fs::read_to_string(interop("getsops-sops/functional-tests/res/format.enc.yaml"))
                .expect("vector");
        let plaintext = match format_enc_yaml_key(&reference) {
            Some(key) => {
                let foo = reference
                    .lines()
                    .find_map(|l| l.strip_prefix("foo: "))
                    .expect("foo");
                let (_, plain) = value::decrypt(&key, foo, "foo:").expect("foo decrypts");
                let mut mac = MacHasher::new(false);
                mac.update(&plain);
                let stored = reference
                    .lines()
                    .find_map(|l| l.strip_prefix("    mac: "))
                    .expect("mac");
                let (_, stored) =
                    value::decrypt(&key, stored, "2026-05-22T20:16:23Z").expect("mac decrypts");
                assert_eq!(stored.as_slice(), mac.finish().as_bytes(), "MAC verified");
                String::from_utf8(plain.to_vec()).expect("UTF-8")
            }
            None => {
                eprintln!("note: `gpg` is not installed; re-encrypting a stand-in value");
                "bar".to_owned()
            }
        };
        let file = seal(Format::Yaml, &format!("foo: {plaintext}\n"), &options());
        assert!(file.starts_with("foo: ENC[AES256_GCM,data:"), "{file}");
        let ours = skeleton(&file);
        let theirs = skeleton(&reference);
        let without = |lines: &[String], key: &str| -> Vec<String> {
            let mut out = Vec::new();
            let mut skipping = false;
            for line in lines {
                if line.starts_with("    ") && !line.starts_with("     ") {
                    skipping = line.starts_with(&format!("    {key}:"));
                }
                if !skipping {
                    out.push(line.clone());
                }
            }
            out
        };
        assert_eq!(without(&ours, "age"), without(&theirs, "pgp"), "{file}");
        assert_eq!(
            without(&theirs, "pgp"),
            [
                "sops:",
                "    lastmodified: \"…\"",
                "    mac: ENC[…]",
                "    unencrypted_suffix: plain",
                "    version: plain",
            ]
        );
        let pgp: Vec<&String> = theirs.iter().skip(3).take(5).collect();
        assert_eq!(
            pgp,
            [
                "    pgp:",
                "        - created_at: \"…\"",
                "          enc: |-",
                "            …",
                "          fp: plain",
            ]
        );
        assert_eq!(
            ours[1..5],
            [
                "    age:",
                "        - enc: |",
                "            …",
                "          recipient: plain",
            ]
        );
        // sops writes an age stanza (which ends with a newline) as a `|` block.
        let pq = std::fs::read_to_string(interop(
            "fluxcd-kustomize-controller/internal/controller/testdata/sops/algorithms/age-pq.yaml",
        ))
        .expect("vector");
        assert!(pq.contains("\n      enc: |\n        -----BEGIN AGE ENCRYPTED FILE-----\n"));
        assert!(file.ends_with("    version: 3.13.0\n"), "{file}");
    }

    /// The text with every value that differs between two encryptions masked: `ENC[…]`
    /// payloads, the armored age block, `lastmodified` and `version`.
    fn mask(text: &str) -> String {
        let mut out = String::new();
        let mut in_armor = false;
        for line in text.lines() {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            if trimmed.starts_with("-----BEGIN AGE") {
                in_armor = true;
            }
            let masked = if in_armor {
                format!("{indent}<armor>")
            } else if let Some(at) = line.find("ENC[AES256_GCM,") {
                let end = line[at..].find(']').map_or(line.len(), |e| at + e + 1);
                let ty = line[at..end].rsplit("type:").next().unwrap_or_default();
                format!("{}ENC[…,type:{ty}{}", &line[..at], &line[end..])
            } else if trimmed.starts_with("lastmodified: ") || trimmed.starts_with("version: ") {
                let (key, value) = line.split_once(": ").unwrap_or_default();
                let quoted = value.starts_with('"');
                format!("{key}: {}", if quoted { "\"…\"" } else { "…" })
            } else {
                line.to_owned()
            };
            if trimmed.starts_with("-----END AGE") {
                in_armor = false;
            }
            if !(masked.ends_with("<armor>") && out.ends_with(&format!("{masked}\n"))) {
                out.push_str(&masked);
                out.push('\n');
            }
        }
        out
    }

    /// kiln's example repository holds sops 3.13.2 files with an age key: decrypted with it and
    /// re-encrypted for the same recipient and rule, the whole file has the same layout (keys,
    /// order, indentation, quoting, block styles), every line.
    #[test]
    fn layout_matches_example_repository_file() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let path = root.join("apps/vagrant/postgres/secret/postgres-credentials.yaml");
        let key_file = root.join("testdata/keys/example.agekey");
        if !path.is_file() || !key_file.is_file() {
            eprintln!("note: kiln's example repository is not here; skipping");
            return;
        }
        let theirs = std::fs::read_to_string(&path).expect("file");
        let mut ids = super::super::keys::Identities::default();
        ids.add_text(&std::fs::read_to_string(&key_file).expect("key"), "example")
            .expect("key parses");
        let d = decrypt(Format::Yaml, theirs.as_bytes(), &ids.x25519).expect("decrypts");
        assert_eq!(d.metadata().version.as_deref(), Some("3.13.2"));
        let mut opts = options();
        opts.rule = d.metadata().rule.clone();
        let plain = d.document().expect("document");
        let recipients = d.metadata().recipients();
        let ours = encrypt(Format::Yaml, &plain, &recipients, &opts).expect("encrypts");
        let ours = String::from_utf8(ours).expect("UTF-8");
        let masked = mask(&theirs);
        for line in [
            "metadata:\n    name: postgres-credentials\n",
            "    POSTGRES_PASSWORD: ENC[…,type:str]\n",
            "        - enc: |\n            <armor>\n          recipient: age1",
            "    encrypted_regex: ^(data|stringData)$\n    lastmodified: \"…\"\n",
            "    mac: ENC[…,type:str]\n    version: …\n",
        ] {
            assert!(masked.contains(line), "{line:?} in\n{masked}");
        }
        assert_eq!(mask(&ours), masked, "{ours}");
        decrypt(Format::Yaml, ours.as_bytes(), &ids.x25519).expect("reads back");
    }

    #[test]
    fn deterministic() {
        let key: DataKey = Zeroizing::new([7; 32]);
        let stanzas = age_stanzas(&[recipient()], &key).expect("stanzas");
        let run = || {
            encrypt_with(
                Format::Yaml,
                YAML.as_bytes(),
                MasterKeys::Reuse {
                    data_key: &key,
                    age: &stanzas,
                },
                &options(),
                &mut Counter(3),
            )
            .expect("encrypts")
        };
        let first = run();
        assert_eq!(first, run());
        open(Format::Yaml, std::str::from_utf8(&first).expect("UTF-8"));
        // Another IV source changes the values, another time the MAC.
        let other = encrypt_with(
            Format::Yaml,
            YAML.as_bytes(),
            MasterKeys::Reuse {
                data_key: &key,
                age: &stanzas,
            },
            &options(),
            &mut Counter(4),
        )
        .expect("encrypts");
        assert_ne!(first, other);
        // OS randomness gives a new data key every time.
        let a = encrypt(Format::Json, JSON.as_bytes(), &[recipient()], &options()).expect("a");
        let b = encrypt(Format::Json, JSON.as_bytes(), &[recipient()], &options()).expect("b");
        assert_ne!(a, b);
        decrypt(Format::Json, &a, &[identity()]).expect("decrypts");
    }

    #[test]
    fn refusals_name_no_plaintext() {
        let err = |format: Format, plain: &str, recipients: &[String]| {
            encrypt_with(
                format,
                plain.as_bytes(),
                MasterKeys::Recipients(recipients),
                &options(),
                &mut Counter(0),
            )
            .expect_err("refused")
        };
        let ok = [recipient()];
        let pq =
            "age1pq1ehusfwsvrente8p6gafr4jemv2urnqfm4c59ng5dgqqzlk2vv9rcekpjxws7tsy".to_owned();
        assert!(matches!(
            err(Format::Yaml, "a: topsecret\n", &[pq]),
            EncryptError::PostQuantumRecipient { .. }
        ));
        assert!(matches!(
            err(
                Format::Yaml,
                "a: topsecret\n",
                &["ssh-ed25519 AAAA".to_owned()]
            ),
            EncryptError::InvalidRecipient { .. }
        ));
        assert!(matches!(
            err(Format::Yaml, "a: topsecret\n", &["age1notvalid".to_owned()]),
            EncryptError::InvalidRecipient { .. }
        ));
        assert!(matches!(
            err(Format::Yaml, "a: topsecret\n", &[]),
            EncryptError::NoRecipients
        ));
        for (format, plain) in [
            (Format::Yaml, "a: topsecret\nsops: topsecret\n"),
            (Format::Yaml, "a: topsecret # topsecret\n"),
            (Format::Yaml, "# topsecret\na: b\n"),
            (Format::Yaml, "- topsecret\n"),
            (Format::Yaml, "1: topsecret\n"),
            (Format::Yaml, "a: &x {b: topsecret}\nc:\n  <<: *x\n"),
            (Format::Yaml, "a: topsecret\na: topsecret\n"),
            (Format::Json, "{\"sops\": \"topsecret\"}"),
            (Format::Json, "[\"topsecret\"]"),
            (Format::Json, "{\"a\": topsecret}"),
            (Format::Dotenv, "sops_x=topsecret\n"),
            (Format::Dotenv, "topsecret\n"),
            (Format::Ini, "[s]\na = topsecret\n"),
        ] {
            let e = err(format, plain, &ok);
            assert!(matches!(e, EncryptError::Document(_)), "{plain:?}: {e:?}");
            assert!(!e.to_string().contains("topsecret"), "{plain:?}: {e}");
        }
        // A `#` inside values is not a comment.
        round_trip(
            Format::Yaml,
            "a: \"x # y\"\nb: c#d\ns: |\n  # not a comment\n",
            &options(),
        );
        let mut opts = options();
        opts.rule = Some(EncryptionRule::EncryptedCommentRegex("x".into()));
        let e = encrypt_with(
            Format::Yaml,
            b"a: b\n",
            MasterKeys::Recipients(&ok),
            &opts,
            &mut Counter(0),
        )
        .expect_err("comment rules");
        assert!(matches!(
            e,
            EncryptError::Document(SopsError::Unsupported { .. })
        ));
    }

    #[test]
    fn timestamps() {
        for (unix, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (1_731_418_422, "2024-11-12T13:33:42Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (-1, "1969-12-31T23:59:59Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
        ] {
            assert_eq!(Timestamp::from_unix_seconds(unix).rfc3339(), text);
        }
        let t = UNIX_EPOCH + std::time::Duration::from_millis(1_731_418_422_999);
        assert_eq!(Timestamp::from_system_time(t).unix_seconds(), 1_731_418_422);
    }
}
