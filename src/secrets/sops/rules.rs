//! Encryption rules: which values of a file are encrypted.
//!
//! A file stores at most one rule; without one sops uses `unencrypted_suffix: _unencrypted`.
//! The same rule decides on reading which values to decrypt, and (with `mac_only_encrypted`)
//! which values the MAC covers.

use regex::Regex;

use super::SopsError;

/// The rule stored in a file's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncryptionRule {
    /// `unencrypted_suffix`: keys (or ancestors) ending with it stay clear.
    UnencryptedSuffix(String),
    /// `encrypted_suffix`: only keys (or ancestors) ending with it are encrypted.
    EncryptedSuffix(String),
    /// `unencrypted_regex`: keys (or ancestors) matching it stay clear.
    UnencryptedRegex(String),
    /// `encrypted_regex`: only keys (or ancestors) matching it are encrypted.
    EncryptedRegex(String),
    /// `unencrypted_comment_regex`: values after a matching comment stay clear.
    UnencryptedCommentRegex(String),
    /// `encrypted_comment_regex`: only values after a matching comment are encrypted.
    EncryptedCommentRegex(String),
}

impl EncryptionRule {
    /// The metadata field names, in the order sops checks them.
    pub(crate) const FIELDS: [&'static str; 6] = [
        "unencrypted_suffix",
        "encrypted_suffix",
        "unencrypted_regex",
        "encrypted_regex",
        "unencrypted_comment_regex",
        "encrypted_comment_regex",
    ];

    /// The rule for a metadata field name.
    pub(crate) fn from_field(field: &str, value: String) -> Option<Self> {
        Some(match field {
            "unencrypted_suffix" => EncryptionRule::UnencryptedSuffix(value),
            "encrypted_suffix" => EncryptionRule::EncryptedSuffix(value),
            "unencrypted_regex" => EncryptionRule::UnencryptedRegex(value),
            "encrypted_regex" => EncryptionRule::EncryptedRegex(value),
            "unencrypted_comment_regex" => EncryptionRule::UnencryptedCommentRegex(value),
            "encrypted_comment_regex" => EncryptionRule::EncryptedCommentRegex(value),
            _ => return None,
        })
    }
}

/// A compiled rule.
#[derive(Debug)]
pub(crate) enum Matcher {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(Regex),
    EncryptedRegex(Regex),
}

impl Matcher {
    /// Compiles the stored rule (the default when there is none).
    ///
    /// Comment rules need the comments of YAML files, which kiln's YAML tree does not keep, so
    /// they are refused rather than applied wrongly.
    pub(crate) fn new(rule: Option<&EncryptionRule>) -> Result<Self, SopsError> {
        let regex = |re: &str| {
            // sops uses Go's RE2, unanchored; Rust's regex crate has the same syntax for the
            // patterns seen in practice (`^(data|stringData)$`).
            Regex::new(re).map_err(|_| SopsError::Malformed {
                what: "the encryption rule is not a valid regular expression".to_owned(),
            })
        };
        Ok(match rule {
            None => Matcher::UnencryptedSuffix("_unencrypted".to_owned()),
            Some(EncryptionRule::UnencryptedSuffix(s)) => Matcher::UnencryptedSuffix(s.clone()),
            Some(EncryptionRule::EncryptedSuffix(s)) => Matcher::EncryptedSuffix(s.clone()),
            Some(EncryptionRule::UnencryptedRegex(r)) => Matcher::UnencryptedRegex(regex(r)?),
            Some(EncryptionRule::EncryptedRegex(r)) => Matcher::EncryptedRegex(regex(r)?),
            Some(
                EncryptionRule::UnencryptedCommentRegex(_)
                | EncryptionRule::EncryptedCommentRegex(_),
            ) => {
                return Err(SopsError::Unsupported {
                    what: "comment-based encryption rules (unencrypted_comment_regex, \
                           encrypted_comment_regex)"
                        .to_owned(),
                });
            }
        })
    }

    /// Whether the value at `path` (map keys from the root, the value's own key last) is
    /// encrypted: sops' `shouldBeEncrypted`, where any key of the path may match.
    pub(crate) fn encrypts<S: AsRef<str>>(&self, path: &[S]) -> bool {
        let mut keys = path.iter().map(AsRef::as_ref);
        match self {
            Matcher::UnencryptedSuffix(s) => !keys.any(|k| k.ends_with(s.as_str())),
            Matcher::EncryptedSuffix(s) => keys.any(|k| k.ends_with(s.as_str())),
            Matcher::UnencryptedRegex(r) => !keys.any(|k| r.is_match(k)),
            Matcher::EncryptedRegex(r) => keys.any(|k| r.is_match(k)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(rule: Option<EncryptionRule>, path: &[&str], encrypted: bool) {
        let matcher = Matcher::new(rule.as_ref()).expect("compiles");
        assert_eq!(matcher.encrypts(path), encrypted, "{rule:?} {path:?}");
    }

    #[test]
    fn rules() {
        use EncryptionRule as R;
        let s = |v: &str| v.to_owned();
        check(None, &["a", "b"], true);
        check(None, &["a_unencrypted", "b"], false);
        check(None, &[], true);
        check(
            Some(R::UnencryptedSuffix(s("unencrypted"))),
            &["unencrypted_not"],
            true,
        );
        check(
            Some(R::EncryptedSuffix(s("encrypted"))),
            &["a", "1_encrypted", "a"],
            true,
        );
        check(
            Some(R::EncryptedSuffix(s("encrypted"))),
            &["a", "2_plain"],
            false,
        );
        check(
            Some(R::EncryptedRegex(s("^(data|stringData)$"))),
            &["stringData", "k"],
            true,
        );
        check(
            Some(R::EncryptedRegex(s("^(data|stringData)$"))),
            &["metadata", "name"],
            false,
        );
        check(
            Some(R::UnencryptedRegex(s("^unencrypted"))),
            &["a", "unencrypted_1", "c"],
            false,
        );
        check(Some(R::UnencryptedRegex(s("^unencrypted"))), &["b"], true);
        assert!(matches!(
            Matcher::new(Some(&R::EncryptedCommentRegex(s("x")))),
            Err(SopsError::Unsupported { .. })
        ));
        assert!(matches!(
            Matcher::new(Some(&R::EncryptedRegex(s("(")))),
            Err(SopsError::Malformed { .. })
        ));
    }
}
