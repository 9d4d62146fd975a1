//! The encrypted value string `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`, value types and the
//! additional authenticated data (AAD) built from a value's path.
//!
//! sops encrypts each value with AES-256-GCM under the file's data key, with a 32-byte IV (not
//! the usual 12) and the path of map keys as AAD, so a value moved to another key fails to
//! authenticate. Empty strings are never encrypted: they stay `""`.

use aes_gcm::AesGcm;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::generic_array::typenum::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::SopsError;

/// AES-256-GCM with sops' 32-byte IV (Go's `cipher.NewGCMWithNonceSize(aes, 32)`).
type SopsGcm = AesGcm<Aes256, U32>;

/// Length of the IVs sops writes (and the only length this reader accepts).
pub const IV_LEN: usize = 32;

/// Length of a GCM tag.
const TAG_LEN: usize = 16;

/// The 32-byte key that encrypts every value of one file; zeroed when dropped.
pub type DataKey = Zeroizing<[u8; 32]>;

/// The `type:` field of an encrypted value: how the plaintext bytes are read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// A string (UTF-8, except in the binary format).
    Str,
    /// A 64-bit integer in decimal.
    Int,
    /// A float in Go's `'f', -1` format (shortest digits, no exponent).
    Float,
    /// `True` or `False` (anything Go's `strconv.ParseBool` accepts is read).
    Bool,
    /// A YAML timestamp, RFC 3339 with optional fraction.
    Time,
    /// Raw bytes (read only; sops never writes it).
    Bytes,
    /// A comment line (YAML, dotenv, INI); not covered by the MAC.
    Comment,
}

impl ValueType {
    /// The tag as written after `type:`.
    #[must_use]
    pub fn tag(self) -> &'static str {
        match self {
            ValueType::Str => "str",
            ValueType::Int => "int",
            ValueType::Float => "float",
            ValueType::Bool => "bool",
            ValueType::Time => "time",
            ValueType::Bytes => "bytes",
            ValueType::Comment => "comment",
        }
    }

    /// The type for a `type:` tag, `None` if sops does not know it either.
    #[must_use]
    pub fn from_tag(tag: &str) -> Option<Self> {
        Some(match tag {
            "str" => ValueType::Str,
            "int" => ValueType::Int,
            "float" => ValueType::Float,
            "bool" => ValueType::Bool,
            "time" => ValueType::Time,
            "bytes" => ValueType::Bytes,
            "comment" => ValueType::Comment,
            _ => return None,
        })
    }
}

/// The parts of an `ENC[…]` string, decoded from base64. Holds ciphertext only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncValue {
    /// GCM ciphertext without the tag (as long as the plaintext).
    pub data: Vec<u8>,
    /// The IV.
    pub iv: Vec<u8>,
    /// The 16-byte GCM tag.
    pub tag: Vec<u8>,
    /// How to read the plaintext.
    pub value_type: ValueType,
}

/// Whether `text` looks like an encrypted value (before it is parsed).
#[must_use]
pub fn is_encrypted(text: &str) -> bool {
    text.starts_with("ENC[AES256_GCM,")
}

/// Parses an `ENC[…]` string. sops accepts the fields only in the order `data, iv, tag, type`.
///
/// # Errors
/// [`SopsError::Malformed`] naming the field that is missing or not base64 (never the text).
pub fn parse(text: &str) -> Result<EncValue, SopsError> {
    let malformed = |what: &str| SopsError::Malformed {
        what: format!("encrypted value: {what}"),
    };
    let body = text
        .strip_prefix("ENC[AES256_GCM,data:")
        .and_then(|rest| rest.strip_suffix(']'))
        .ok_or_else(|| malformed("not of the form ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]"))?;
    let (data, rest) = body.split_once(",iv:").ok_or_else(|| malformed("no iv"))?;
    let (iv, rest) = rest
        .split_once(",tag:")
        .ok_or_else(|| malformed("no tag"))?;
    let (tag, value_type) = rest
        .split_once(",type:")
        .ok_or_else(|| malformed("no type"))?;
    let decode = |field: &str, name: &str| {
        STANDARD
            .decode(field)
            .map_err(|_| malformed(&format!("{name} is not base64")))
    };
    let value_type =
        ValueType::from_tag(value_type).ok_or_else(|| malformed("unknown value type"))?;
    Ok(EncValue {
        data: decode(data, "data")?,
        iv: decode(iv, "iv")?,
        tag: decode(tag, "tag")?,
        value_type,
    })
}

/// Formats the parts as sops writes them (standard base64 with padding).
#[must_use]
pub fn format(value: &EncValue) -> String {
    format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]",
        STANDARD.encode(&value.data),
        STANDARD.encode(&value.iv),
        STANDARD.encode(&value.tag),
        value.value_type.tag()
    )
}

/// The AAD of a value: its map keys joined with `:`, plus a final `:` (list indices are not
/// part of the path; a top-level comment has the AAD `:`).
#[must_use]
pub fn aad<S: AsRef<str>>(path: &[S]) -> String {
    let mut out = String::new();
    for key in path {
        out.push_str(key.as_ref());
        out.push(':');
    }
    if path.is_empty() {
        out.push(':');
    }
    out
}

/// Decrypts an `ENC[…]` string. An empty string decrypts to an empty string (sops never
/// encrypts empty values) of type [`ValueType::Str`].
///
/// # Errors
/// [`SopsError::Malformed`] for a malformed string, [`SopsError::ValueDecryption`] when GCM
/// authentication fails (wrong key, tampered value, or a value moved to another path).
pub fn decrypt(
    key: &[u8; 32],
    text: &str,
    aad: &str,
) -> Result<(ValueType, Zeroizing<Vec<u8>>), SopsError> {
    if text.is_empty() {
        return Ok((ValueType::Str, Zeroizing::new(Vec::new())));
    }
    let value = parse(text)?;
    if value.iv.len() != IV_LEN {
        // sops accepts any stored IV length, but it has only ever written 32 bytes, and each
        // length is a different GCM type here.
        return Err(SopsError::Malformed {
            what: format!(
                "encrypted value: iv of {} bytes, expected {IV_LEN}",
                value.iv.len()
            ),
        });
    }
    if value.tag.len() != TAG_LEN {
        return Err(SopsError::Malformed {
            what: format!(
                "encrypted value: tag of {} bytes, expected {TAG_LEN}",
                value.tag.len()
            ),
        });
    }
    let mut sealed = Vec::with_capacity(value.data.len() + TAG_LEN);
    sealed.extend_from_slice(&value.data);
    sealed.extend_from_slice(&value.tag);
    let cipher = SopsGcm::new(GenericArray::from_slice(key));
    let plaintext = cipher
        .decrypt(
            GenericArray::from_slice(&value.iv),
            Payload {
                msg: &sealed,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| SopsError::ValueDecryption {
            path: aad.to_owned(),
        })?;
    Ok((value.value_type, Zeroizing::new(plaintext)))
}

/// Encrypts `plaintext` with the given IV, as sops does; an empty plaintext gives `""`.
///
/// The caller chooses the IV: a fresh random one, or the one the same value had at the same path
/// before (sops' "stash", so unchanged values re-encrypt to identical strings).
#[must_use]
pub fn encrypt(
    key: &[u8; 32],
    plaintext: &[u8],
    iv: &[u8; IV_LEN],
    aad: &str,
    value_type: ValueType,
) -> String {
    if plaintext.is_empty() {
        return String::new();
    }
    let cipher = SopsGcm::new(GenericArray::from_slice(key));
    let sealed = cipher.encrypt(
        GenericArray::from_slice(iv),
        Payload {
            msg: plaintext,
            aad: aad.as_bytes(),
        },
    );
    // GCM encryption only fails for inputs beyond 64 GiB, which no caller can hold in memory
    // as one value; an empty string is returned rather than panicking.
    let Ok(mut sealed) = sealed else {
        return String::new();
    };
    let tag = sealed.split_off(sealed.len() - TAG_LEN);
    format(&EncValue {
        data: sealed,
        iv: iv.to_vec(),
        tag,
        value_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];
    const IV: [u8; 32] = [9; 32];

    /// Encrypts, checks the string's shape, decrypts and compares; then checks that another
    /// path fails to authenticate.
    fn check(plaintext: &[u8], value_type: ValueType, path: &[&str], expected_aad: &str) {
        let aad = aad(path);
        assert_eq!(aad, expected_aad);
        let text = encrypt(&KEY, plaintext, &IV, &aad, value_type);
        if plaintext.is_empty() {
            assert_eq!(text, "");
            let (ty, out) = decrypt(&KEY, &text, &aad).expect("empty decrypts");
            assert_eq!((ty, out.as_slice()), (ValueType::Str, &b""[..]));
            return;
        }
        assert!(is_encrypted(&text), "{text}");
        assert!(
            text.ends_with(&format!(",type:{}]", value_type.tag())),
            "{text}"
        );
        let parsed = parse(&text).expect("parses");
        assert_eq!(parsed.data.len(), plaintext.len());
        assert_eq!(parsed.iv, IV);
        assert_eq!(format(&parsed), text, "format round-trips");
        let (ty, out) = decrypt(&KEY, &text, &aad).expect("decrypts");
        assert_eq!(ty, value_type);
        assert_eq!(out.as_slice(), plaintext);
        assert!(matches!(
            decrypt(&KEY, &text, "elsewhere:"),
            Err(SopsError::ValueDecryption { .. })
        ));
        assert!(matches!(
            decrypt(&[8; 32], &text, &aad),
            Err(SopsError::ValueDecryption { .. })
        ));
    }

    #[test]
    fn value_codec() {
        check(
            b"value",
            ValueType::Str,
            &["stringData", "key"],
            "stringData:key:",
        );
        check("ünïcode".as_bytes(), ValueType::Str, &["a"], "a:");
        check(b"-42", ValueType::Int, &["n"], "n:");
        check(b"1234.56789", ValueType::Float, &["f"], "f:");
        check(b"True", ValueType::Bool, &["list"], "list:");
        check(b"\x00\xff", ValueType::Bytes, &["data"], "data:");
        check(b" a comment", ValueType::Comment, &[], ":");
        check(
            b"2024-01-01T00:00:00Z",
            ValueType::Time,
            &["a", "b", "c"],
            "a:b:c:",
        );
        check(b"", ValueType::Str, &["empty"], "empty:");
        check(b"", ValueType::Comment, &[], ":");
    }

    #[test]
    fn known_vector() {
        // kustomize-controller `algorithms/age.yaml` (sops 3.9.0) with its published data key.
        let key: [u8; 32] =
            decode_hex("558e95c88337865c839703a4e892c03eed324ae6bbcb65c2989558e1a55825bb");
        let text = "ENC[AES256_GCM,data:mHeXsmQ=,iv:vUMpILz3xchORqkzDFvgwENY7EqIHHGJdEF6C8xqbFE=,tag:IroV7hykADvD0IUaq6kikA==,type:str]";
        let (ty, out) = decrypt(&key, text, "stringData:key:").expect("decrypts");
        assert_eq!((ty, out.as_slice()), (ValueType::Str, &b"value"[..]));
        let iv: [u8; 32] = parse(text)
            .expect("parses")
            .iv
            .try_into()
            .expect("32 bytes");
        assert_eq!(
            encrypt(&key, b"value", &iv, "stringData:key:", ValueType::Str),
            text
        );
    }

    #[test]
    fn malformed_values() {
        for text in [
            "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==]",
            "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:uint]",
            "ENC[AES256_GCM,data:!!,iv:AA==,tag:AA==,type:str]",
            "ENC[AES256_GCM,iv:AA==,data:AA==,tag:AA==,type:str]",
            "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]",
            "plain",
        ] {
            assert!(
                matches!(decrypt(&KEY, text, ":"), Err(SopsError::Malformed { .. })),
                "{text}"
            );
        }
    }

    fn decode_hex(hex: &str) -> [u8; 32] {
        let mut out = [0; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex");
        }
        out
    }
}
