//! Plaintext secret rules: `secret-decrypted/` folders hold decrypted working copies, so
//! they must be git-ignored and nothing under them may be tracked, staged or committed.
//!
//! What "visible" means depends on the source of the view: in the work tree a file under
//! `secret-decrypted/` that the walk did not prune is not ignored; in the index it is
//! staged; in a commit it is committed.

use std::collections::BTreeSet;

use crate::diagnostics::{Code, Diagnostic};
use crate::discover::{PLAINTEXT_DIR, Repo, join};
use crate::fs::{RepoFs, Source};

/// Runs the plaintext rules.
pub fn check(fs: &RepoFs, repo: &Repo) -> Vec<Diagnostic> {
    let mut out = Vec::new();
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
    use super::plaintext_dir;

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
