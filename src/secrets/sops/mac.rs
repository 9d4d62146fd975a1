//! The MAC: SHA-512 over the cleartext of every value, in tree order.
//!
//! No keys, separators or lengths are hashed (the AAD protects keys and structure); comments
//! and nulls are skipped. With `mac_only_encrypted`, the hash starts with `SHA-256("sops")` and
//! covers only the values the rules encrypt. The result is written as uppercase hex and stored
//! encrypted with `lastmodified` as AAD.

use std::borrow::Cow;

use sha2::{Digest, Sha256, Sha512};

use super::value::ValueType;

/// Accumulates the MAC of one file.
pub struct MacHasher {
    hasher: Sha512,
}

impl MacHasher {
    /// A new hash; `mac_only_encrypted` files start with `SHA-256("sops")`.
    #[must_use]
    pub fn new(mac_only_encrypted: bool) -> Self {
        let mut hasher = Sha512::new();
        if mac_only_encrypted {
            hasher.update(Sha256::digest(b"sops"));
        }
        MacHasher { hasher }
    }

    /// Feeds one value's cleartext (already in the form of [`mac_bytes`]).
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
    }

    /// The MAC as sops writes it: 128 uppercase hex digits.
    #[must_use]
    pub fn finish(self) -> String {
        self.hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }
}

/// The bytes sops hashes for a value of `value_type` whose text is `text`: the value as Go reads
/// it back and prints it (`strconv.Itoa`, `FormatFloat(f, 'f', -1, 64)`, `True`/`False`); strings,
/// bytes and times as they are. `None` when the text is not a value of that type, or for a
/// comment (comments are not hashed).
#[must_use]
pub fn mac_bytes(value_type: ValueType, text: &[u8]) -> Option<Cow<'_, [u8]>> {
    let as_str = || std::str::from_utf8(text).ok();
    Some(match value_type {
        ValueType::Str | ValueType::Bytes | ValueType::Time => Cow::Borrowed(text),
        ValueType::Int => Cow::Owned(as_str()?.parse::<i64>().ok()?.to_string().into_bytes()),
        ValueType::Float => Cow::Owned(format_float(parse_float(as_str()?)?).into_bytes()),
        ValueType::Bool => Cow::Borrowed(if parse_bool(as_str()?)? {
            &b"True"[..]
        } else {
            &b"False"[..]
        }),
        ValueType::Comment => return None,
    })
}

/// Go's `strconv.ParseBool`.
#[must_use]
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the forms sops writes and YAML/JSON produce.
#[must_use]
pub fn parse_float(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => text.parse().ok().filter(|f: &f64| f.is_finite()),
    }
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: the shortest digits that read back to `f`, never
/// an exponent. Rust's `Display` for `f64` has the same contract; only the non-finite values are
/// spelled differently.
#[must_use]
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f == f64::INFINITY {
        "+Inf".to_owned()
    } else if f == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashes `values` (type, text) and compares the MAC's first and last hex digits.
    fn check(mac_only: bool, values: &[(ValueType, &str)], prefix: &str, suffix: &str) {
        let mut mac = MacHasher::new(mac_only);
        for (ty, text) in values {
            if let Some(bytes) = mac_bytes(*ty, text.as_bytes()) {
                mac.update(&bytes);
            }
        }
        let hex = mac.finish();
        assert_eq!(hex.len(), 128);
        assert!(hex.starts_with(prefix) && hex.ends_with(suffix), "{hex}");
    }

    #[test]
    fn macs() {
        // Published worked example: kustomize-controller `algorithms/age.yaml`.
        let age_yaml = [
            (ValueType::Str, "v1"),
            (ValueType::Str, "Secret"),
            (ValueType::Str, "age"),
            (ValueType::Str, "value"),
        ];
        check(false, &age_yaml, "5E6C78D06EF2D302", "B48862");
        // Comments are not hashed; the same MAC.
        let mut with_comment = age_yaml.to_vec();
        with_comment.insert(1, (ValueType::Comment, " note"));
        check(false, &with_comment, "5E6C78D06EF2D302", "B48862");
        // Empty file: SHA-512 of nothing.
        check(false, &[], "CF83E1357EEFB8BD", "A538327AF927DA3E");
        check(
            false,
            &[(ValueType::Str, "")],
            "CF83E1357EEFB8BD",
            "A538327AF927DA3E",
        );
        // Typed values hash in their canonical Go form: `true` as `True`, `1e3` as `1000`.
        let canonical = [(ValueType::Bool, "True"), (ValueType::Float, "1000")];
        let spelled = [(ValueType::Bool, "true"), (ValueType::Float, "1e3")];
        let mut a = MacHasher::new(false);
        let mut b = MacHasher::new(false);
        for ((ta, xa), (tb, xb)) in canonical.iter().zip(&spelled) {
            a.update(&mac_bytes(*ta, xa.as_bytes()).expect("valid"));
            b.update(&mac_bytes(*tb, xb.as_bytes()).expect("valid"));
        }
        assert_eq!(a.finish(), b.finish());
        // mac_only_encrypted starts from SHA-256("sops"), so differs from the plain empty MAC.
        let mut only = MacHasher::new(true);
        only.update(b"");
        assert!(!only.finish().starts_with("CF83E135"));
    }

    #[test]
    fn go_formats() {
        for (f, text) in [
            (1234.0, "1234"),
            (1234.56789, "1234.56789"),
            (1e21, "1000000000000000000000"),
            (1.5e-7, "0.00000015"),
            (-0.5, "-0.5"),
            (f64::INFINITY, "+Inf"),
        ] {
            assert_eq!(format_float(f), text);
        }
        assert_eq!(
            mac_bytes(ValueType::Int, b"-042").as_deref(),
            Some(&b"-42"[..])
        );
        assert_eq!(mac_bytes(ValueType::Int, b"1.5"), None);
        assert_eq!(mac_bytes(ValueType::Bool, b"yes"), None);
        assert_eq!(mac_bytes(ValueType::Comment, b"x"), None);
    }
}
