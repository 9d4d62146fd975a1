//! Reading SOPS files: parse the format, recover the data key with age, decrypt every value the
//! file's encryption rule selects, and verify the MAC before anything is returned. Writing them
//! ([`write`]): encrypt a plaintext document for age recipients as sops 3.13 does.
//!
//! The format (value strings, AAD, MAC, metadata per sops version) is described in
//! `shared/research/secrets.md` §1; `tests/sops_interop.rs` checks this reader against files
//! written by sops 3.5–3.13.

use std::fmt;
use std::path::Path;

use age::x25519::Identity;
use zeroize::Zeroizing;

pub mod formats;
mod goyaml;
pub mod keys;
pub mod mac;
pub mod rules;
pub mod tree;
pub mod value;
pub mod write;

pub use rules::EncryptionRule;
pub use tree::{Item, Leaf, Tree, TreeValue};
pub use value::ValueType;
pub use write::{
    EncryptError, EncryptOptions, Entropy, MasterKeys, OsEntropy, Timestamp, age_stanzas, encrypt,
    encrypt_with,
};

use formats::Layout;
use mac::MacHasher;
use rules::Matcher;

/// The file formats sops knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `.yaml`, `.yml`.
    Yaml,
    /// `.json`.
    Json,
    /// `.env`.
    Dotenv,
    /// `.ini`.
    Ini,
    /// Anything else: the whole file is one value, stored in a JSON envelope.
    Binary,
}

impl Format {
    /// The format sops picks for a path, by its extension.
    #[must_use]
    pub fn from_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => Format::Yaml,
            Some("json") => Format::Json,
            Some("env") => Format::Dotenv,
            Some("ini") => Format::Ini,
            _ => Format::Binary,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Yaml => "YAML",
            Format::Json => "JSON",
            Format::Dotenv => "dotenv",
            Format::Ini => "INI",
            Format::Binary => "binary",
        })
    }
}

/// Why a SOPS file could not be read. Never contains plaintext; the caller adds the path.
#[derive(Debug, thiserror::Error)]
pub enum SopsError {
    /// The file has no `sops` metadata.
    #[error("not a sops file: {reason}")]
    NotSops {
        /// What is missing.
        reason: &'static str,
    },
    /// None of the given identities opens the file (also for PGP- or KMS-only files).
    #[error("no age key for this file (recipients: {})", recipients.join(", "))]
    NoAgeKey {
        /// The file's age recipients, then its other master keys (`pgp:<fingerprint>`, …).
        recipients: Vec<String>,
    },
    /// The data key is only encrypted for post-quantum age recipients.
    #[error(
        "the file is encrypted for a post-quantum age recipient ({recipient}), which kiln cannot decrypt yet"
    )]
    PostQuantumRecipient {
        /// The `age1pq1…` recipient.
        recipient: String,
    },
    /// The MAC does not match the values: the file was changed after it was encrypted.
    #[error("mac mismatch: the file's values were changed after it was encrypted")]
    MacMismatch,
    /// The file has no MAC (sops refuses it without `--ignore-mac`).
    #[error("the file has no mac, so its values cannot be verified")]
    MissingMac,
    /// A value does not decrypt with the data key at its path.
    #[error(
        "the value at `{path}` does not decrypt: it was changed, moved or encrypted with another key"
    )]
    ValueDecryption {
        /// The value's AAD path (`stringData:key:`).
        path: String,
    },
    /// The file breaks the format.
    #[error("malformed sops file: {what}")]
    Malformed {
        /// What is wrong.
        what: String,
    },
    /// The file's text does not parse in its format.
    #[error("invalid {format} file: {message}")]
    Parse {
        /// The format.
        format: Format,
        /// The parser's message.
        message: String,
    },
    /// The metadata names a sops version this reader does not know.
    #[error("unsupported sops file version {version}")]
    UnsupportedVersion {
        /// The `version` field.
        version: String,
    },
    /// A feature kiln does not support yet.
    #[error("unsupported: {what}")]
    Unsupported {
        /// The feature.
        what: String,
    },
}

/// An age master key of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeStanza {
    /// The `age1…` recipient.
    pub recipient: String,
    /// The armored age file holding the data key.
    pub enc: String,
}

/// The `sops` metadata of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// age master keys (from `age`, or from the only key group).
    pub age: Vec<AgeStanza>,
    /// Other master keys, as `pgp:<fingerprint>`, `kms:<arn>`, …
    pub other_keys: Vec<String>,
    /// `lastmodified` as written.
    pub lastmodified: String,
    /// The encrypted MAC.
    pub mac: Option<String>,
    /// The sops version that wrote the file.
    pub version: Option<String>,
    /// The stored encryption rule (`None`: sops' default `unencrypted_suffix: _unencrypted`).
    pub rule: Option<EncryptionRule>,
    /// Whether the MAC covers only encrypted values.
    pub mac_only_encrypted: bool,
    /// Number of key groups (more than one means Shamir secret sharing).
    pub key_groups: usize,
}

impl Metadata {
    /// All recipients, age first.
    #[must_use]
    pub fn recipients(&self) -> Vec<String> {
        self.age
            .iter()
            .map(|a| a.recipient.trim().to_owned())
            .chain(self.other_keys.iter().cloned())
            .collect()
    }
}

/// A decrypted and verified file, in memory only.
pub struct Decrypted {
    format: Format,
    tree: Tree,
    metadata: Metadata,
    layout: Layout,
}

impl fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decrypted")
            .field("format", &self.format)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl Decrypted {
    /// The file's format.
    #[must_use]
    pub fn format(&self) -> Format {
        self.format
    }

    /// The plaintext tree.
    #[must_use]
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The metadata.
    #[must_use]
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The plaintext document, without the `sops` metadata (see [`formats`] for each format's
    /// layout). Zeroed when dropped.
    ///
    /// # Errors
    /// [`SopsError::Malformed`] when a value cannot be written in the format (e.g. a non-UTF-8
    /// string in YAML).
    pub fn document(&self) -> Result<Zeroizing<Vec<u8>>, SopsError> {
        formats::emit(&self.layout, &self.tree)
    }
}

/// The key paths (`stringData.password`) of values that the file's own encryption rule says
/// must be encrypted but are written in clear: a SOPS file edited by hand after encryption.
/// Needs no key. Empty values are skipped (sops does not encrypt them).
///
/// # Errors
/// The file does not parse as SOPS, or its rule is unusable.
pub fn unencrypted_values(format: Format, bytes: &[u8]) -> Result<Vec<String>, SopsError> {
    let parsed = formats::parse(format, bytes)?;
    let metadata = formats::metadata(&parsed.metadata)?;
    let matcher = Matcher::new(metadata.rule.as_ref())?;
    let mut found = Vec::new();
    for branch in &parsed.tree.branches {
        let mut path = Vec::new();
        find_clear(branch, &matcher, &mut path, &mut found);
    }
    Ok(found)
}

fn find_clear(items: &[Item], matcher: &Matcher, path: &mut Vec<String>, found: &mut Vec<String>) {
    for item in items {
        if let Item::Entry(key, value) = item {
            path.push(key.clone());
            find_clear_value(value, matcher, path, found);
            path.pop();
        }
    }
}

fn find_clear_value(
    value: &TreeValue,
    matcher: &Matcher,
    path: &mut Vec<String>,
    found: &mut Vec<String>,
) {
    match value {
        TreeValue::Null => {}
        TreeValue::Leaf(leaf) => {
            let clear = !leaf.bytes.is_empty() && !leaf.bytes.starts_with(b"ENC[");
            if clear && matcher.encrypts(path) {
                found.push(path.join("."));
            }
        }
        TreeValue::Map(items) => find_clear(items, matcher, path, found),
        TreeValue::Seq(values) => {
            for v in values {
                find_clear_value(v, matcher, path, found);
            }
        }
    }
}

/// Decrypts a SOPS file with age identities and verifies its MAC.
///
/// # Errors
/// See [`SopsError`]; on any error no plaintext is returned.
pub fn decrypt(
    format: Format,
    bytes: &[u8],
    identities: &[Identity],
) -> Result<Decrypted, SopsError> {
    let parsed = formats::parse(format, bytes)?;
    let metadata = formats::metadata(&parsed.metadata)?;
    if let Some(version) = &metadata.version {
        let major = version.trim().split('.').next().unwrap_or_default();
        // sops 3 reads files of sops 2 and 3; anything else is a format it did not write.
        if !matches!(major, "2" | "3") {
            return Err(SopsError::UnsupportedVersion {
                version: version.clone(),
            });
        }
    }
    let Some(stored_mac) = metadata.mac.clone() else {
        // No key can make such a file verifiable, so say so before asking for one.
        return Err(SopsError::MissingMac);
    };
    if metadata.key_groups > 1 {
        return Err(SopsError::Unsupported {
            what: "files with several key groups (Shamir secret sharing)".to_owned(),
        });
    }
    let matcher = Matcher::new(metadata.rule.as_ref())?;
    let key = keys::recover_data_key(&metadata.age, identities, &metadata.other_keys)?;

    let mut tree = parsed.tree;
    let mut walker = Walker {
        key: &key,
        matcher: &matcher,
        mac_only: metadata.mac_only_encrypted,
        mac: MacHasher::new(metadata.mac_only_encrypted),
        path: Vec::new(),
    };
    for branch in &mut tree.branches {
        walker.items(branch)?;
    }
    let computed = walker.mac.finish();
    let aad = mac_aad(&metadata.lastmodified)?;
    let (_, stored) = value::decrypt(&key, &stored_mac, &aad).map_err(|e| match e {
        // The MAC is authenticated with `lastmodified`: a failure means either was changed.
        SopsError::ValueDecryption { .. } => SopsError::MacMismatch,
        other => other,
    })?;
    if stored.as_slice() != computed.as_bytes() {
        return Err(SopsError::MacMismatch);
    }
    Ok(Decrypted {
        format,
        tree,
        metadata,
        layout: parsed.layout,
    })
}

/// Decrypts values in place and feeds the MAC, in sops' walk order.
struct Walker<'a> {
    key: &'a [u8; 32],
    matcher: &'a Matcher,
    mac_only: bool,
    mac: MacHasher,
    path: Vec<String>,
}

impl Walker<'_> {
    fn items(&mut self, items: &mut [Item]) -> Result<(), SopsError> {
        for item in items {
            match item {
                Item::Entry(key, value) => {
                    self.path.push(key.clone());
                    let result = self.value(value);
                    self.path.pop();
                    result?;
                }
                Item::Comment(leaf) => self.comment(leaf),
            }
        }
        Ok(())
    }

    fn value(&mut self, value: &mut TreeValue) -> Result<(), SopsError> {
        match value {
            TreeValue::Null => Ok(()),
            TreeValue::Leaf(leaf) => self.leaf(leaf),
            TreeValue::Map(items) => self.items(items),
            // List elements share the list's path: indices are not part of the AAD.
            TreeValue::Seq(values) => values.iter_mut().try_for_each(|v| self.value(v)),
        }
    }

    fn leaf(&mut self, leaf: &mut Leaf) -> Result<(), SopsError> {
        let encrypts = self.matcher.encrypts(&self.path);
        let aad = value::aad(&self.path);
        if encrypts {
            if leaf.value_type != ValueType::Str {
                return Err(SopsError::Malformed {
                    what: format!("the value at `{aad}` should be encrypted but is not a string"),
                });
            }
            let text = std::str::from_utf8(&leaf.bytes).map_err(|_| SopsError::Malformed {
                what: format!("the value at `{aad}` is not text"),
            })?;
            if !text.is_empty() {
                if !value::is_encrypted(text) {
                    return Err(SopsError::Malformed {
                        what: format!("the value at `{aad}` should be encrypted but is not"),
                    });
                }
                let (value_type, plaintext) = value::decrypt(self.key, text, &aad)?;
                if value_type == ValueType::Comment {
                    return Err(SopsError::Malformed {
                        what: format!("the value at `{aad}` has type comment"),
                    });
                }
                leaf.value_type = value_type;
                leaf.bytes = plaintext;
                leaf.encrypted = true;
            }
        }
        if encrypts || !self.mac_only {
            let bytes = mac::mac_bytes(leaf.value_type, &leaf.bytes).ok_or_else(|| {
                SopsError::Malformed {
                    what: format!(
                        "the value at `{aad}` is not a valid {}",
                        leaf.value_type.tag()
                    ),
                }
            })?;
            self.mac.update(&bytes);
        }
        Ok(())
    }

    /// Comments use their container's path and are not in the MAC; one that does not decrypt
    /// is kept as it is, as sops does.
    fn comment(&mut self, leaf: &mut Leaf) {
        if !self.matcher.encrypts(&self.path) {
            return;
        }
        let Ok(text) = std::str::from_utf8(&leaf.bytes) else {
            return;
        };
        if !value::is_encrypted(text) {
            return;
        }
        if let Ok((_, plaintext)) = value::decrypt(self.key, text, &value::aad(&self.path)) {
            leaf.bytes = plaintext;
            leaf.encrypted = true;
        }
    }
}

/// The AAD of the MAC: `lastmodified` re-formatted as Go's RFC 3339 (seconds, `Z` for UTC),
/// since sops parses it and formats it again.
fn mac_aad(lastmodified: &str) -> Result<String, SopsError> {
    let malformed = || SopsError::Malformed {
        what: "lastmodified is not an RFC 3339 time".to_owned(),
    };
    let s = lastmodified.trim();
    let b = s.as_bytes();
    if b.len() < 20 || !s.is_char_boundary(19) {
        return Err(malformed());
    }
    let (seconds, mut rest) = s.split_at(19);
    let shape_ok = seconds.bytes().enumerate().all(|(i, c)| match i {
        4 | 7 => c == b'-',
        10 => c == b'T' || c == b't',
        13 | 16 => c == b':',
        _ => c.is_ascii_digit(),
    });
    if !shape_ok {
        return Err(malformed());
    }
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(malformed());
        }
        rest = &frac[digits..];
    }
    let zone = match rest {
        "Z" | "z" | "+00:00" | "-00:00" => "Z".to_owned(),
        zone if zone.len() == 6
            && (zone.starts_with('+') || zone.starts_with('-'))
            && zone.as_bytes()[3] == b':' =>
        {
            zone.to_owned()
        }
        _ => return Err(malformed()),
    };
    Ok(format!("{}T{}{zone}", &seconds[..10], &seconds[11..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_aads() {
        for (input, expected) in [
            ("2024-11-12T13:33:42Z", Some("2024-11-12T13:33:42Z")),
            ("2024-11-12T13:33:42.123456Z", Some("2024-11-12T13:33:42Z")),
            (
                "2024-11-12T13:33:42+02:00",
                Some("2024-11-12T13:33:42+02:00"),
            ),
            ("2024-11-12T13:33:42+00:00", Some("2024-11-12T13:33:42Z")),
            ("2024-11-12 13:33:42Z", None),
            ("yesterday", None),
        ] {
            assert_eq!(mac_aad(input).ok().as_deref(), expected, "{input}");
        }
    }

    #[test]
    fn formats_from_paths() {
        for (path, format) in [
            ("a/secret.yaml", Format::Yaml),
            ("b.yml", Format::Yaml),
            ("c.json", Format::Json),
            ("d.env", Format::Dotenv),
            ("e.ini", Format::Ini),
            ("f.txt", Format::Binary),
            ("noext", Format::Binary),
        ] {
            assert_eq!(Format::from_path(Path::new(path)), format, "{path}");
        }
    }
}
