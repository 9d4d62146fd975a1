//! The SOPS reader against files written by real sops releases (`../shared/interop/sops`, see
//! its SOURCES.md) and against the example repository's own secrets.

use std::path::{Path, PathBuf};

use kiln::secrets::sops::keys::Identities;
use kiln::secrets::sops::{self, Decrypted, Format, SopsError};

const INTEROP: &str = "../shared/interop/sops";
const FLUX: &str = "fluxcd-kustomize-controller/internal/controller/testdata/sops";
const NIX: &str = "mic92-sops-nix/pkgs/sops-install-secrets/test-assets";
const ROPS: &str = "gibbz00-rops/crates/lib/tests/sops_references";

fn interop(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(INTEROP)
        .join(rel)
}

fn identities(key_file: &Path) -> Vec<age::x25519::Identity> {
    let text = std::fs::read_to_string(key_file).expect("key file");
    let mut ids = Identities::default();
    ids.add_text(&text, "test").expect("key file parses");
    ids.x25519
}

fn decrypt(path: &Path, key_file: &Path) -> Result<Decrypted, SopsError> {
    let bytes = std::fs::read(path).expect("sops file");
    sops::decrypt(Format::from_path(path), &bytes, &identities(key_file))
}

/// One age-encrypted vector: file, key file, and the plaintext document expected (or, for the
/// rops files, the plaintext twin whose tree must be equal).
struct Case {
    file: String,
    key: String,
    sops_version: &'static str,
    expected: Expected,
}

enum Expected {
    /// The exact plaintext document.
    Document(&'static str),
    /// A plaintext YAML twin: the decrypted document must read as the same tree.
    Twin(String),
}

fn age_cases() -> Vec<Case> {
    let flux = |file: &str, key: &str, version, doc| Case {
        file: format!("{FLUX}/{file}"),
        key: format!("{FLUX}/keys/{key}"),
        sops_version: version,
        expected: Expected::Document(doc),
    };
    let mut cases = vec![
        flux(
            "algorithms/age.yaml",
            "age.txt",
            "3.9.0",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: age\nstringData:\n  key: value\n",
        ),
        flux(
            "patches/merge1.yaml",
            "age.txt",
            "3.9.0",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: secret\nstringData:\n  key: merge1\n",
        ),
        flux(
            "patches/merge2.yaml",
            "age.txt",
            "3.9.0",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: secret\nstringData:\n  merge2: merge2\n",
        ),
        flux(
            "global/secret.yaml",
            "age-global.txt",
            "3.10.2",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: global-age-secret\n  namespace: default\ntype: Opaque\nstringData:\n  key: global-value\n",
        ),
        flux("envs/env.env", "age.txt", "3.9.0", "key=value\n"),
        flux("component/env.env", "age.txt", "3.9.0", "key=value\n"),
        flux("files/file.txt", "age.txt", "3.9.0", "value"),
        Case {
            file: format!("{NIX}/secrets.yaml"),
            key: format!("{NIX}/age-keys.txt"),
            sops_version: "3.7.1",
            expected: Expected::Document(
                "test_key: test_value\na_list:\n    - e1\n    - e3\nnested:\n    test:\n        file: another value\n",
            ),
        },
    ];
    for name in [
        "example",
        "empty_value",
        "encrypted_regex",
        "encrypted_suffix",
        "unencrypted_regex",
        "unencrypted_suffix",
        "mac_only_encrypted",
    ] {
        cases.push(Case {
            file: format!("{ROPS}/age_{name}.yaml"),
            key: "gibbz00-rops/keys.txt".to_owned(),
            sops_version: "none (re-serialised by rops)",
            expected: Expected::Twin(format!("{ROPS}/age_{name}_plaintext.yaml")),
        });
    }
    cases
}

fn yaml_json(text: &str) -> Vec<serde_json::Value> {
    kiln::yaml::parse_documents(text)
        .expect("yaml")
        .iter()
        .map(|d| d.root.to_json())
        .collect()
}

#[test]
fn every_age_vector_decrypts_and_verifies() {
    let mut per_version: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for case in age_cases() {
        let path = interop(&case.file);
        let decrypted =
            decrypt(&path, &interop(&case.key)).unwrap_or_else(|e| panic!("{}: {e}", case.file));
        let document = decrypted.document().expect("document");
        let document = std::str::from_utf8(&document).expect("utf-8");
        match &case.expected {
            Expected::Document(expected) => assert_eq!(document, *expected, "{}", case.file),
            Expected::Twin(twin) => {
                let twin = std::fs::read_to_string(interop(twin)).expect("twin");
                assert_eq!(yaml_json(document), yaml_json(&twin), "{}", case.file);
            }
        }
        let meta = decrypted.metadata();
        assert_eq!(
            meta.version
                .as_deref()
                .unwrap_or("none (re-serialised by rops)"),
            case.sops_version,
            "{}",
            case.file
        );
        assert!(meta.recipients().iter().all(|r| !r.is_empty()));
        *per_version
            .entry((case.sops_version.to_owned(), decrypted.format().to_string()))
            .or_default() += 1;
    }
    // 8 files written by sops (YAML, dotenv, binary) plus the 7 rops files.
    assert_eq!(per_version.values().sum::<usize>(), 15, "{per_version:?}");
}

#[test]
fn typed_values_of_the_rops_example() {
    let d = decrypt(
        &interop(&format!("{ROPS}/age_example.yaml")),
        &interop("gibbz00-rops/keys.txt"),
    )
    .expect("decrypts");
    let leaf = |path: &[&str]| d.tree().leaf(path).expect("leaf");
    assert_eq!(leaf(&["example_number"]).value_type, sops::ValueType::Float);
    assert_eq!(leaf(&["example_number"]).as_str(), Some("1234.56789"));
    assert_eq!(leaf(&["example_key"]).as_str(), Some("example_value"));
    assert!(leaf(&["example_key"]).encrypted);
    // `Debug` never shows a value.
    assert!(!format!("{d:?}{:?}", d.tree()).contains("example_value"));
}

#[test]
fn secret_wrapping_a_binary_sops_file() {
    // kustomize-controller's `inside/secret.yaml`: a plain Secret whose `data.key` is the
    // base64 of a binary-format sops file.
    use base64::Engine as _;
    let text =
        std::fs::read_to_string(interop(&format!("{FLUX}/inside/secret.yaml"))).expect("read");
    assert!(matches!(
        sops::decrypt(Format::Yaml, text.as_bytes(), &[]),
        Err(SopsError::NotSops { .. })
    ));
    let docs = kiln::yaml::parse_documents(&text).expect("yaml");
    let inner = docs[0]
        .root
        .find_pointer("/data/key")
        .and_then(|n| n.as_str())
        .expect("data.key");
    let inner = base64::engine::general_purpose::STANDARD
        .decode(inner)
        .expect("base64");
    let ids = identities(&interop(&format!("{FLUX}/keys/age.txt")));
    let d = sops::decrypt(Format::Binary, &inner, &ids).expect("decrypts");
    assert_eq!(d.metadata().version.as_deref(), Some("3.9.0"));
    assert!(!d.document().expect("document").is_empty());
}

#[test]
fn pgp_only_files_report_no_age_key() {
    let any_key = identities(&interop(&format!("{FLUX}/keys/age.txt")));
    for rel in [
        format!("{FLUX}/algorithms/pgp.yaml"),
        "getsops-sops/example.yaml".to_owned(),
        "getsops-sops/example.json".to_owned(),
        "getsops-sops/example.ini".to_owned(),
        "getsops-sops/example.txt".to_owned(),
        "getsops-sops/functional-tests/res/comments.enc.yaml".to_owned(),
        "getsops-sops/functional-tests/res/format-2.enc.ini".to_owned(),
        "getsops-sops/functional-tests/res/format.enc.env".to_owned(),
        "getsops-sops/functional-tests/res/format.enc.ini".to_owned(),
        "getsops-sops/functional-tests/res/format.enc.json".to_owned(),
        "getsops-sops/functional-tests/res/format.enc.yaml".to_owned(),
        "getsops-sops/functional-tests/res/multiple_keys.yaml".to_owned(),
        format!("{NIX}/secrets.json"),
        format!("{NIX}/secrets.env"),
        format!("{NIX}/secrets.ini"),
        format!("{NIX}/secrets.bin"),
    ] {
        let path = interop(&rel);
        let bytes = std::fs::read(&path).expect("read");
        match sops::decrypt(Format::from_path(&path), &bytes, &any_key) {
            Err(SopsError::NoAgeKey { recipients }) => {
                assert!(!recipients.is_empty(), "{rel}");
                assert!(
                    recipients.iter().all(|r| r.starts_with("pgp:")),
                    "{rel}: {recipients:?}"
                );
            }
            other => panic!("{rel}: {other:?}"),
        }
    }
}

#[test]
fn file_without_mac_is_refused() {
    let path = interop("getsops-sops/functional-tests/res/no_mac.yaml");
    let bytes = std::fs::read(&path).expect("read");
    assert!(matches!(
        sops::decrypt(Format::Yaml, &bytes, &[]),
        Err(SopsError::MissingMac)
    ));
}

#[test]
fn post_quantum_recipient_is_reported() {
    let path = interop(&format!("{FLUX}/algorithms/age-pq.yaml"));
    // The PQ identity is skipped by the key parser; a classic key does not help either.
    let text = std::fs::read_to_string(interop(&format!("{FLUX}/keys/age-pq.txt"))).expect("key");
    let mut ids = Identities::default();
    ids.add_text(&text, "age-pq.txt").expect("parses");
    assert_eq!(ids.skipped, ["post-quantum age identity"]);
    for keys in [
        ids.x25519,
        identities(&interop(&format!("{FLUX}/keys/age.txt"))),
    ] {
        let bytes = std::fs::read(&path).expect("read");
        match sops::decrypt(Format::Yaml, &bytes, &keys) {
            Err(e @ SopsError::PostQuantumRecipient { .. }) => {
                assert!(e.to_string().contains("age1pq1"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }
}

fn age_yaml() -> (String, Vec<age::x25519::Identity>) {
    let text =
        std::fs::read_to_string(interop(&format!("{FLUX}/algorithms/age.yaml"))).expect("read");
    (text, identities(&interop(&format!("{FLUX}/keys/age.txt"))))
}

#[test]
fn tampering_is_detected() {
    let (text, ids) = age_yaml();
    assert!(sops::decrypt(Format::Yaml, text.as_bytes(), &ids).is_ok());
    // A clear value changed: only the MAC catches it.
    let changed = text.replace("name: age", "name: agf");
    assert!(matches!(
        sops::decrypt(Format::Yaml, changed.as_bytes(), &ids),
        Err(SopsError::MacMismatch)
    ));
    // A value added.
    let added = text.replace("kind: Secret\n", "kind: Secret\ntype: Opaque\n");
    assert!(matches!(
        sops::decrypt(Format::Yaml, added.as_bytes(), &ids),
        Err(SopsError::MacMismatch)
    ));
    // lastmodified changed: the stored MAC no longer authenticates.
    let touched = text.replace("2024-11-12T13:33:42Z", "2024-11-12T13:33:43Z");
    assert!(matches!(
        sops::decrypt(Format::Yaml, touched.as_bytes(), &ids),
        Err(SopsError::MacMismatch)
    ));
    // An encrypted value moved to another key fails its AAD.
    let moved = text.replace("  key: ENC", "  other: ENC");
    match sops::decrypt(Format::Yaml, moved.as_bytes(), &ids) {
        Err(e @ SopsError::ValueDecryption { .. }) => {
            assert_eq!(
                e.to_string(),
                "the value at `stringData:other:` does not decrypt: it was changed, moved or encrypted with another key"
            );
        }
        other => panic!("{other:?}"),
    }
    // Two list elements swapped: each still authenticates (same AAD), the MAC does not.
    let path = interop(&format!("{ROPS}/age_example.yaml"));
    let rops = std::fs::read_to_string(&path).expect("read");
    let lines: Vec<&str> = rops.lines().collect();
    let first = lines
        .iter()
        .position(|l| l.starts_with("- ENC"))
        .expect("list");
    let mut swapped = lines.clone();
    swapped.swap(first, first + 1);
    let swapped = swapped.join("\n") + "\n";
    let rops_ids = identities(&interop("gibbz00-rops/keys.txt"));
    assert!(sops::decrypt(Format::Yaml, rops.as_bytes(), &rops_ids).is_ok());
    assert!(matches!(
        sops::decrypt(Format::Yaml, swapped.as_bytes(), &rops_ids),
        Err(SopsError::MacMismatch)
    ));
}

#[test]
fn wrong_or_missing_key() {
    let (text, _) = age_yaml();
    let wrong = identities(&interop(&format!("{FLUX}/keys/age-global.txt")));
    for ids in [wrong, Vec::new()] {
        match sops::decrypt(Format::Yaml, text.as_bytes(), &ids) {
            Err(e @ SopsError::NoAgeKey { .. }) => assert_eq!(
                e.to_string(),
                "no age key for this file (recipients: age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29)"
            ),
            other => panic!("{other:?}"),
        }
    }
    // Garbage never panics.
    for bytes in [
        &b""[..],
        b"\xff\xfe",
        b"sops: 1\n",
        b"- a\n",
        b"{\"sops\": {}}",
        b"a=b\n",
    ] {
        for format in [
            Format::Yaml,
            Format::Json,
            Format::Dotenv,
            Format::Ini,
            Format::Binary,
        ] {
            assert!(sops::decrypt(format, bytes, &[]).is_err());
        }
    }
}

#[test]
fn example_repository_secrets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for env in ["vagrant", "prod"] {
        let path = root.join(format!(
            "apps/{env}/postgres/secret/postgres-credentials.yaml"
        ));
        let d = decrypt(&path, &root.join("testdata/keys/example.agekey"))
            .unwrap_or_else(|e| panic!("{env}: {e}"));
        for key in ["POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"] {
            let leaf = d.tree().leaf(&["stringData", key]).expect("value");
            assert!(leaf.encrypted && !leaf.bytes.is_empty(), "{env} {key}");
        }
        let document = d.document().expect("document");
        let text = std::str::from_utf8(&document).expect("utf-8");
        assert!(!text.contains("ENC[") && !text.contains("sops:"), "{env}");
        assert_eq!(d.metadata().version.as_deref(), Some("3.13.2"));
    }
}
