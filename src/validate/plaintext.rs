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
use crate::yaml::Node;

/// Runs the plaintext rules.
pub fn check(loader: &Loader<'_>, repo: &Repo) -> Vec<Diagnostic> {
    let fs = loader.fs();
    let mut out = plaintext_secrets(loader);
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

/// Every `kind: Secret` document under `apps/` with a `data` or `stringData` value in clear.
///
/// Files are read through the loader, which already holds most manifests, and parsed only
/// when their text mentions `Secret`. Files that cannot be read or parsed are left to the
/// rules that use them: this rule only reports what it can see.
fn plaintext_secrets(loader: &Loader<'_>) -> Vec<Diagnostic> {
    let files: Vec<&str> = crate::discover::files_under(loader.fs(), &format!("{APPS_DIR}/"))
        .filter(|p| p.ends_with(".yaml") || p.ends_with(".yml") || p.ends_with(".json"))
        .filter(|p| plaintext_dir(p).is_none())
        .collect();
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
