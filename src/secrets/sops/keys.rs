//! age identities: where sops looks for them, parsing key files, and recovering a file's data
//! key from its `sops.age` stanzas.
//!
//! The lookup takes the environment and the home directory as inputs and reads nothing itself,
//! so tests are hermetic; only the command layer reads the real environment and the files.
//! Sources, in sops' order (its SSH-key sources are not supported): `SOPS_AGE_KEY` (identities
//! inline), `SOPS_AGE_KEY_FILE` (must exist), then sops' user key file
//! `$XDG_CONFIG_HOME/sops/age/keys.txt` (default `~/.config/…`; on macOS
//! `~/Library/Application Support/…` unless `XDG_CONFIG_HOME` is set), which may be absent.

use std::ffi::OsString;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use age::armor::ArmoredReader;
use age::x25519::Identity;
use zeroize::Zeroizing;

use super::value::DataKey;
use super::{AgeStanza, SopsError};

/// Where identities may come from.
pub enum KeySource {
    /// Identities given as text (`SOPS_AGE_KEY`).
    Inline {
        /// The variable it came from, for messages.
        origin: &'static str,
        /// The text (secret: zeroed on drop, never shown by `Debug`).
        text: Zeroizing<String>,
    },
    /// A key file to read.
    File {
        /// The variable or default it came from, for messages.
        origin: &'static str,
        /// The file.
        path: PathBuf,
        /// Whether a missing file is an error (`SOPS_AGE_KEY_FILE`) or skipped (the default).
        required: bool,
    },
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Inline { origin, .. } => f
                .debug_struct("Inline")
                .field("origin", origin)
                .finish_non_exhaustive(),
            KeySource::File {
                origin,
                path,
                required,
            } => f
                .debug_struct("File")
                .field("origin", origin)
                .field("path", path)
                .field("required", required)
                .finish(),
        }
    }
}

/// The identity sources sops would use, given a way to read environment variables and the home
/// directory.
pub fn key_sources(var: impl Fn(&str) -> Option<OsString>, home: Option<&Path>) -> Vec<KeySource> {
    let non_empty = |name: &str| var(name).filter(|v| !v.is_empty());
    let mut sources = Vec::new();
    if let Some(text) = non_empty("SOPS_AGE_KEY") {
        sources.push(KeySource::Inline {
            origin: "SOPS_AGE_KEY",
            text: Zeroizing::new(text.to_string_lossy().into_owned()),
        });
    }
    if let Some(path) = non_empty("SOPS_AGE_KEY_FILE") {
        sources.push(KeySource::File {
            origin: "SOPS_AGE_KEY_FILE",
            path: PathBuf::from(path),
            required: true,
        });
    }
    // Go's os.UserConfigDir: an absolute $XDG_CONFIG_HOME wins (sops also honours it on macOS).
    let config = non_empty("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            home.map(|home| {
                if cfg!(target_os = "macos") {
                    home.join("Library").join("Application Support")
                } else {
                    home.join(".config")
                }
            })
        });
    if let Some(config) = config {
        sources.push(KeySource::File {
            origin: "the sops age key file",
            path: config.join("sops").join("age").join("keys.txt"),
            required: false,
        });
    }
    sources
}

/// Why identities could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A line is not an identity kiln understands (the line itself is secret and not shown).
    #[error("{origin}: line {line} is not an age identity (AGE-SECRET-KEY-1…)")]
    Malformed {
        /// Where the text came from.
        origin: String,
        /// 1-based line.
        line: usize,
    },
    /// A passphrase-protected identity file.
    #[error("{origin}: passphrase-protected identity files are not supported")]
    Encrypted {
        /// Where the text came from.
        origin: String,
    },
}

/// Identities parsed from key files.
#[derive(Default)]
pub struct Identities {
    /// The X25519 identities (`AGE-SECRET-KEY-1…`).
    pub x25519: Vec<Identity>,
    /// Identities of kinds kiln skips, by kind (post-quantum `AGE-SECRET-KEY-PQ-1…`, plugins).
    pub skipped: Vec<&'static str>,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identities")
            .field("x25519", &self.x25519.len())
            .field("skipped", &self.skipped)
            .finish()
    }
}

impl Identities {
    /// Adds the identities of a key file or `SOPS_AGE_KEY` value: one per line or separated by
    /// whitespace; blank lines and `#` comments ignored.
    ///
    /// # Errors
    /// [`KeyError`] for a line that is not an identity, or a passphrase-protected file.
    pub fn add_text(&mut self, text: &str, origin: &str) -> Result<(), KeyError> {
        if text
            .trim_start()
            .starts_with("-----BEGIN AGE ENCRYPTED FILE-----")
        {
            return Err(KeyError::Encrypted {
                origin: origin.to_owned(),
            });
        }
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            for token in line.split_whitespace() {
                if token.starts_with("AGE-SECRET-KEY-PQ-1") {
                    self.skipped.push("post-quantum age identity");
                } else if token.starts_with("AGE-PLUGIN-") {
                    self.skipped.push("age plugin identity");
                } else {
                    let identity = token.parse::<Identity>().map_err(|_| KeyError::Malformed {
                        origin: origin.to_owned(),
                        line: index + 1,
                    })?;
                    self.x25519.push(identity);
                }
            }
        }
        Ok(())
    }

    /// Reads every source with `read` (which returns `Ok(None)` for a missing file).
    ///
    /// # Errors
    /// A required file that is missing or unreadable, or [`KeyError`] as text.
    pub fn load(
        sources: &[KeySource],
        mut read: impl FnMut(&Path) -> std::io::Result<Option<Zeroizing<String>>>,
    ) -> Result<Self, LoadError> {
        let mut identities = Identities::default();
        for source in sources {
            match source {
                KeySource::Inline { origin, text } => identities.add_text(text, origin)?,
                KeySource::File {
                    origin,
                    path,
                    required,
                } => match read(path) {
                    Ok(Some(text)) => {
                        let origin = format!("{origin} {}", path.display());
                        identities.add_text(&text, &origin)?;
                    }
                    Ok(None) if !required => {}
                    Ok(None) => {
                        return Err(LoadError::Missing {
                            origin,
                            path: path.clone(),
                        });
                    }
                    Err(source) => {
                        return Err(LoadError::Io {
                            path: path.clone(),
                            source,
                        });
                    }
                },
            }
        }
        Ok(identities)
    }
}

/// Why [`Identities::load`] failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A key file named by `SOPS_AGE_KEY_FILE` does not exist.
    #[error("{origin} names {}, which does not exist", path.display())]
    Missing {
        /// The variable.
        origin: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// A key file could not be read.
    #[error("cannot read age key file {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A key file's content is not usable.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Whether a recipient is an age post-quantum hybrid (ML-KEM-768 + X25519) recipient, which the
/// `age` crate cannot decrypt yet.
#[must_use]
pub fn is_post_quantum(recipient: &str) -> bool {
    recipient.trim().starts_with("age1pq1")
}

/// Recovers the data key from the first age stanza one of `identities` opens.
///
/// # Errors
/// [`SopsError::PostQuantumRecipient`] when only post-quantum stanzas could hold the key,
/// [`SopsError::NoAgeKey`] when no identity opens any stanza, [`SopsError::Malformed`] when a
/// stanza is not an age file or does not hold a 32-byte key.
pub(crate) fn recover_data_key(
    stanzas: &[AgeStanza],
    identities: &[Identity],
    other_recipients: &[String],
) -> Result<DataKey, SopsError> {
    let mut malformed = None;
    for stanza in stanzas.iter().filter(|s| !is_post_quantum(&s.recipient)) {
        if identities.is_empty() {
            break;
        }
        match open_stanza(&stanza.enc, identities) {
            Ok(Some(key)) => return Ok(key),
            Ok(None) => {}
            Err(what) => {
                malformed.get_or_insert(what);
            }
        }
    }
    if let Some(what) = malformed {
        return Err(SopsError::Malformed { what });
    }
    let classic = stanzas.iter().any(|s| !is_post_quantum(&s.recipient));
    if let Some(pq) = stanzas.iter().find(|s| is_post_quantum(&s.recipient))
        && !classic
    {
        return Err(SopsError::PostQuantumRecipient {
            recipient: pq.recipient.trim().to_owned(),
        });
    }
    let mut recipients: Vec<String> = stanzas
        .iter()
        .map(|s| s.recipient.trim().to_owned())
        .collect();
    recipients.extend(other_recipients.iter().cloned());
    Err(SopsError::NoAgeKey { recipients })
}

/// Decrypts one armored `enc` block; `Ok(None)` when none of the identities matches.
fn open_stanza(enc: &str, identities: &[Identity]) -> Result<Option<DataKey>, String> {
    let decryptor = age::Decryptor::new_buffered(ArmoredReader::new(enc.as_bytes()))
        .map_err(|e| format!("age stanza is not an age file: {e}"))?;
    let mut reader = match decryptor.decrypt(identities.iter().map(|i| i as &dyn age::Identity)) {
        Ok(reader) => reader,
        Err(age::DecryptError::NoMatchingKeys) => return Ok(None),
        Err(e) => return Err(format!("age stanza does not decrypt: {e}")),
    };
    let mut plaintext = Zeroizing::new(Vec::with_capacity(32));
    reader
        .read_to_end(&mut plaintext)
        .map_err(|_| "age stanza payload does not decrypt".to_owned())?;
    let key: [u8; 32] = plaintext.as_slice().try_into().map_err(|_| {
        format!(
            "age stanza holds {} bytes, not a 32-byte data key",
            plaintext.len()
        )
    })?;
    Ok(Some(Zeroizing::new(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AGE-SECRET-KEY-1RH87A5Z54ZGUR9S0AS3R6WHFSEFNPLYMAKF5Z2CEU7R06VRJ0A3Q7242AM";

    fn check(vars: &[(&str, &str)], home: Option<&str>, expected: &[(&str, &str)]) {
        let var = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        };
        let sources = key_sources(var, home.map(Path::new));
        let got: Vec<(&str, String)> = sources
            .iter()
            .map(|s| match s {
                KeySource::Inline { origin, text } => (*origin, text.to_string()),
                KeySource::File { origin, path, .. } => (*origin, path.display().to_string()),
            })
            .collect();
        let expected: Vec<(&str, String)> = expected
            .iter()
            .map(|(o, p)| (*o, (*p).to_owned()))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    #[cfg(not(target_os = "macos"))]
    fn lookup() {
        let default = "the sops age key file";
        check(&[], None, &[]);
        check(
            &[],
            Some("/home/u"),
            &[(default, "/home/u/.config/sops/age/keys.txt")],
        );
        check(
            &[
                ("SOPS_AGE_KEY", KEY),
                ("SOPS_AGE_KEY_FILE", "/k.txt"),
                ("XDG_CONFIG_HOME", "/x"),
            ],
            Some("/home/u"),
            &[
                ("SOPS_AGE_KEY", KEY),
                ("SOPS_AGE_KEY_FILE", "/k.txt"),
                (default, "/x/sops/age/keys.txt"),
            ],
        );
        // A relative XDG_CONFIG_HOME is ignored, as Go does; empty variables count as unset.
        check(
            &[("XDG_CONFIG_HOME", "rel"), ("SOPS_AGE_KEY", "")],
            Some("/h"),
            &[(default, "/h/.config/sops/age/keys.txt")],
        );
    }

    #[test]
    fn parse_identities() {
        let mut ids = Identities::default();
        let text = format!("# created: …\n\n{KEY}\nAGE-SECRET-KEY-PQ-1XYZ\n  {KEY} {KEY}\n");
        ids.add_text(&text, "test").expect("parses");
        assert_eq!(ids.x25519.len(), 3);
        assert_eq!(ids.skipped, ["post-quantum age identity"]);
        let err = ids
            .add_text("\nnot-a-key\n", "test")
            .expect_err("malformed");
        assert_eq!(
            err.to_string(),
            "test: line 2 is not an age identity (AGE-SECRET-KEY-1…)"
        );
        assert!(matches!(
            ids.add_text("-----BEGIN AGE ENCRYPTED FILE-----\n", "f"),
            Err(KeyError::Encrypted { .. })
        ));
        let loaded = Identities::load(
            &[KeySource::File {
                origin: "SOPS_AGE_KEY_FILE",
                path: PathBuf::from("/nope"),
                required: true,
            }],
            |_| Ok(None),
        );
        assert!(matches!(loaded, Err(LoadError::Missing { .. })));
    }
}
