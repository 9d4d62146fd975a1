//! Plaintext secret rules: `secret-decrypted/` folders hold decrypted working copies, so
//! they must be git-ignored and nothing under them may be tracked, staged or committed; and
//! no manifest under `apps/` may be a `kind: Secret` whose `data` or `stringData` values are
//! in clear (SOPS-encrypted files carry a `sops` block and `ENC[...]` values).
//!
//! What "visible" means depends on the source of the view: in the work tree a file under
//! `secret-decrypted/` that the walk did not prune is not ignored; in the index it is
//! staged; in a commit it is committed.

use std::collections::BTreeSet;

use rayon::prelude::*;

use crate::diagnostics::{Code, Diagnostic};
use crate::discover::{APPS_DIR, PLAINTEXT_DIR, Repo, join};
use crate::fs::Source;
use crate::load::Loader;
use crate::project::Project;
use crate::yaml::Node;

/// Runs the plaintext rules.
pub fn check(
    loader: &Loader<'_>,
    project: &Project,
    repo: &Repo,
    opts: &super::Options,
) -> Vec<Diagnostic> {
    let fs = loader.fs();
    let mut out = plaintext_secrets(loader, opts);
    out.extend(half_encrypted(loader, opts));
    out.extend(private_keys(fs, &project.secrets.allowed_key_files, opts));
    let mut not_ignored = BTreeSet::new();

    for entry in fs.files() {
        let Some(dir) = plaintext_dir(&entry.path) else {
            continue;
        };
        match fs.source() {
            Source::WorkTree => {
                not_ignored.insert(dir.to_string());
                if fs.is_tracked(&entry.path) {
                    out.push(tracked(&entry.path, "is tracked by git"));
                }
            }
            Source::Index => out.push(tracked(&entry.path, "is staged")),
            Source::Rev(rev) => out.push(tracked(&entry.path, &format!("is committed in {rev}"))),
        }
    }
    // Ignored folders the work-tree walk pruned may still hold force-added files.
    for dir in fs.ignored_dirs() {
        if plaintext_dir(dir).is_some() && fs.is_tracked(dir) {
            out.push(tracked(dir, "holds files tracked by git"));
        }
    }
    // Every app that keeps encrypted secrets must have its plaintext folder ignored, even
    // before anyone decrypts into it.
    for app in repo.apps() {
        let keeps_secrets =
            fs.is_dir(&join(&app.dir, "secret")) || fs.is_file(&join(&app.dir, ".sops.yaml"));
        let dir = join(&app.dir, PLAINTEXT_DIR);
        if keeps_secrets && !fs.is_ignored(&dir, true) {
            not_ignored.insert(dir);
        }
    }
    for dir in not_ignored {
        out.push(
            Diagnostic::new(
                Code::PlaintextNotIgnored,
                format!("{dir}/ is not git-ignored; decrypted secrets could be committed"),
            )
            .in_file(&dir)
            .hint("add `secret-decrypted/` to the repository's .gitignore"),
        );
    }
    out
}

/// The manifests under `apps/` (YAML and JSON, outside plaintext folders) whose contents the
/// rules read: all of them, or the changed ones for `--staged`.
fn manifests<'a>(loader: &Loader<'a>, opts: &super::Options) -> Vec<&'a str> {
    crate::discover::files_under(loader.fs(), &format!("{APPS_DIR}/"))
        .filter(|p| p.ends_with(".yaml") || p.ends_with(".yml") || p.ends_with(".json"))
        .filter(|p| plaintext_dir(p).is_none())
        .filter(|p| opts.covers_file(p))
        .collect()
}

/// Every `kind: Secret` document under `apps/` with a `data` or `stringData` value in clear.
///
/// Files are read through the loader, which already holds most manifests, and parsed only
/// when their text mentions `Secret`. Files that cannot be read or parsed are left to the
/// rules that use them: this rule only reports what it can see.
fn plaintext_secrets(loader: &Loader<'_>, opts: &super::Options) -> Vec<Diagnostic> {
    let files = manifests(loader, opts);
    files
        .par_iter()
        .flat_map_iter(|&path| {
            let docs = match loader.text(path) {
                Ok(text) if text.contains("Secret") => loader.yaml_docs(path).ok(),
                _ => None,
            };
            let mut found = Vec::new();
            for doc in docs.iter().flat_map(|(_, docs)| docs) {
                if let Some(field) = clear_secret_field(&doc.root) {
                    found.push(
                        Diagnostic::new(
                            Code::PlaintextSecret,
                            format!("{path} holds a Secret whose {} is not encrypted", field.0),
                        )
                        .in_file(path)
                        .at(field.1.span)
                        .sensitive()
                        .hint("encrypt the file with sops (age) and keep the plaintext copy in a git-ignored secret-decrypted/ folder"),
                    );
                }
            }
            found
        })
        .collect()
}

/// Files that hold an age private key (`AGE-SECRET-KEY-1…`), other than those `kiln.yaml`
/// allows. Every file of the view is looked at (up to 1 MiB; a key is 74 bytes), because a key
/// can be pasted anywhere; git-ignored files are not part of the view.
fn private_keys(
    fs: &crate::fs::RepoFs,
    allowed: &[String],
    opts: &super::Options,
) -> Vec<Diagnostic> {
    const MARKER: &[u8] = b"AGE-SECRET-KEY-1";
    let files: Vec<&str> = fs
        .files()
        .iter()
        .filter(|e| !allowed.iter().any(|a| a == &e.path))
        .filter(|e| plaintext_dir(&e.path).is_none())
        .filter(|e| opts.covers_file(&e.path))
        .map(|e| e.path.as_str())
        .collect();
    files
        .par_iter()
        .filter_map(|&path| {
            let bytes = fs.read(path).ok()?;
            if bytes.len() > 1 << 20 {
                return None;
            }
            // A whole key: the marker and 58 bech32 characters (upper case), so text that only
            // mentions the format (`AGE-SECRET-KEY-1...`) is not taken for a key.
            let is_bech32 = |c: &u8| b"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L".contains(c);
            let at = bytes.windows(MARKER.len() + 58).position(|w| {
                w.starts_with(MARKER) && w[MARKER.len()..].iter().all(is_bech32)
            })?;
            let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
            Some(
                Diagnostic::new(
                    Code::PrivateKeyTracked,
                    format!("{path} holds an age private key (line {line})"),
                )
                .in_file(path)
                .sensitive()
                .hint("remove the key from the repository (and rotate it); a published test key can be allowed with secrets.allowedKeyFiles in kiln.yaml"),
            )
        })
        .collect()
}

/// SOPS files under `apps/` with values in clear that their own rule says must be encrypted
/// (edited by hand after encryption). Needs no key; the MAC is verified where keys exist
/// (`kiln secrets status`, rendering).
fn half_encrypted(loader: &Loader<'_>, opts: &super::Options) -> Vec<Diagnostic> {
    use crate::secrets::sops::{Format, unencrypted_values};
    let files = manifests(loader, opts);
    files
        .par_iter()
        .filter_map(|&path| {
            let text = loader.text(path).ok()?;
            if !(text.contains("sops") && text.contains("mac")) {
                return None;
            }
            let format = Format::from_path(std::path::Path::new(path));
            let clear = unencrypted_values(format, text.as_bytes()).ok()?;
            let first = clear.first()?;
            Some(
                Diagnostic::new(
                    Code::PlaintextInSops,
                    format!(
                        "{path} is a SOPS file, but {} value{} that must be encrypted {} in clear ({first}{})",
                        clear.len(),
                        if clear.len() == 1 { "" } else { "s" },
                        if clear.len() == 1 { "is" } else { "are" },
                        if clear.len() > 1 { ", ..." } else { "" }
                    ),
                )
                .in_file(path)
                .sensitive()
                .hint("re-encrypt it from the plaintext copy: kiln secrets encrypt APP"),
            )
        })
        .collect()
}

/// The first `data`/`stringData` key of a Secret document that holds a value in clear.
fn clear_secret_field(doc: &Node) -> Option<(&'static str, &Node)> {
    if doc.get("kind").and_then(Node::as_str) != Some("Secret") || doc.get("sops").is_some() {
        return None;
    }
    ["data", "stringData"].into_iter().find_map(|field| {
        let (key, _) = doc.as_map()?.iter().find(|(k, v)| {
            k.as_str() == Some(field)
                && v.as_map().is_some_and(|entries| {
                    entries.iter().any(|(_, value)| {
                        value
                            .as_str()
                            .is_some_and(|s| !s.is_empty() && !s.starts_with("ENC["))
                    })
                })
        })?;
        Some((field, key))
    })
}

/// The `.../secret-decrypted` prefix of a path, if it lies inside one.
fn plaintext_dir(path: &str) -> Option<&str> {
    let mut end = 0;
    for seg in path.split('/') {
        end += seg.len();
        if seg == PLAINTEXT_DIR {
            return Some(&path[..end]);
        }
        end += 1;
    }
    None
}

fn tracked(path: &str, what: &str) -> Diagnostic {
    Diagnostic::new(
        Code::PlaintextTracked,
        format!("{path} {what}, but it is a plaintext secret"),
    )
    .in_file(path)
    .hint(
        "remove it from git with `git rm --cached` and keep only the encrypted copy under secret/",
    )
}

#[cfg(test)]
mod tests {
    use super::{clear_secret_field, plaintext_dir};

    #[test]
    fn clear_values_make_a_secret_plaintext() {
        let cases = [
            (
                "kind: Secret\nstringData:\n  password: hunter2\n",
                Some("stringData"),
            ),
            (
                "kind: Secret\ndata:\n  password: aHVudGVyMg==\n",
                Some("data"),
            ),
            (
                "kind: Secret\ndata:\n  a: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\nsops:\n  version: 3.9.0\n",
                None,
            ),
            ("kind: Secret\ndata: {}\n", None),
            (
                "kind: Secret\ntype: kubernetes.io/service-account-token\n",
                None,
            ),
            ("kind: ConfigMap\ndata:\n  password: hunter2\n", None),
        ];
        for (text, want) in cases {
            let doc = crate::yaml::parse_one(text).ok().flatten();
            let got = doc
                .as_ref()
                .and_then(|d| clear_secret_field(d))
                .map(|(f, _)| f);
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn plaintext_dir_is_the_prefix_up_to_the_folder() {
        assert_eq!(
            plaintext_dir("apps/prod/db/secret-decrypted/a.yaml"),
            Some("apps/prod/db/secret-decrypted")
        );
        assert_eq!(plaintext_dir("secret-decrypted"), Some("secret-decrypted"));
        assert_eq!(plaintext_dir("apps/prod/db/secret/a.yaml"), None);
    }
}
