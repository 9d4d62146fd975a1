//! `kiln publish` end to end on the example repository: git-native, deterministic, in Argo CD's
//! hydrated layout, and safe.

mod common;

use common::{example_key, example_repo, git, kiln};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// With secrets, the ciphertext is random, so a second clone that publishes the same source
/// must start from the published branch (as CI does after fetching it): then it reuses the
/// ciphertext, finds the render unchanged and keeps the same commit.
#[test]
fn publishing_the_same_source_in_two_clones_gives_the_same_commit() {
    let key = example_key();
    let env = [("SOPS_AGE_KEY_FILE", key.as_path())];
    let first = tempfile::tempdir().expect("tempdir");
    example_repo(first.path());
    for env_name in ["vagrant", "prod"] {
        let o = kiln(first.path(), &["publish", "--env", env_name], &env);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    git(first.path(), &["fsck", "--strict"]);
    let files = git(
        first.path(),
        &["ls-tree", "-r", "--name-only", "rendered/vagrant"],
    );
    for f in [
        ".gitattributes",
        "hydrator.metadata",
        "web/manifest.yaml",
        "web/hydrator.metadata",
        "web/README.md",
        "postgres/secrets/postgres.postgres-credentials.yaml",
    ] {
        assert!(files.lines().any(|l| l == f), "{f} missing:\n{files}");
    }
    let second = tempfile::tempdir().expect("tempdir");
    git(
        second.path(),
        &["clone", "-q", &first.path().to_string_lossy(), "."],
    );
    for env_name in ["vagrant", "prod"] {
        let branch = format!("rendered/{env_name}");
        git(
            second.path(),
            &["fetch", "-q", "origin", &format!("{branch}:{branch}")],
        );
        let o = kiln(second.path(), &["publish", "--env", env_name], &env);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("unchanged"));
        assert_eq!(
            git(first.path(), &["rev-parse", &branch]),
            git(second.path(), &["rev-parse", &branch])
        );
    }
    git(second.path(), &["fsck", "--strict"]);
}

#[test]
fn an_environment_without_secrets_publishes_to_the_same_commit_id_anywhere() {
    let first = tempfile::tempdir().expect("tempdir");
    example_repo(first.path());
    // Drop postgres (its Secret is encrypted with fresh randomness) so the render is fully
    // deterministic, then publish from two clones.
    git(
        first.path(),
        &[
            "rm",
            "-r",
            "-q",
            "apps/prod/postgres",
            "apps/vagrant/postgres",
            "apps/base/postgres",
        ],
    );
    git(first.path(), &["commit", "-q", "-m", "no postgres"]);
    let second = tempfile::tempdir().expect("tempdir");
    git(
        second.path(),
        &["clone", "-q", &first.path().to_string_lossy(), "."],
    );
    let mut tips = Vec::new();
    for repo in [first.path(), second.path()] {
        let o = kiln(repo, &["publish", "--env", "prod"], &[]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        git(repo, &["fsck", "--strict"]);
        tips.push(git(repo, &["rev-parse", "rendered/prod"]));
    }
    assert_eq!(tips[0], tips[1]);
    // Publishing again: no new commit, the note records the source.
    let o = kiln(first.path(), &["publish", "--env", "prod"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(git(first.path(), &["rev-parse", "rendered/prod"]), tips[0]);
    let note = git(
        first.path(),
        &["notes", "--ref=hydrator.metadata", "show", "rendered/prod"],
    );
    assert!(note.contains("drySha"), "{note}");
    // The work tree and HEAD are untouched.
    assert!(git(first.path(), &["status", "--porcelain"]).is_empty());
    assert_eq!(
        git(first.path(), &["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "main"
    );
}

#[test]
fn dry_run_moves_nothing_and_foreign_branches_are_refused() {
    let repo = tempfile::tempdir().expect("tempdir");
    example_repo(repo.path());
    let key = example_key();
    let env = [("SOPS_AGE_KEY_FILE", key.as_path())];
    let o = kiln(
        repo.path(),
        &["publish", "--env", "vagrant", "--dry-run"],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("would commit"));
    assert!(git(repo.path(), &["branch", "--list", "rendered/vagrant"]).is_empty());
    // A branch kiln did not write.
    git(repo.path(), &["branch", "rendered/vagrant"]);
    let o = kiln(repo.path(), &["publish", "--env", "vagrant"], &env);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    let o = kiln(
        repo.path(),
        &["publish", "--env", "vagrant", "--force"],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    git(repo.path(), &["fsck", "--strict"]);
}

#[test]
fn a_failing_render_publishes_nothing() {
    let repo = tempfile::tempdir().expect("tempdir");
    example_repo(repo.path());
    // No age key: the KSOPS generator cannot decrypt (a missing key is exit 2).
    let o = kiln(repo.path(), &["publish", "--env", "vagrant"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("nothing was published"));
    assert!(git(repo.path(), &["branch", "--list", "rendered/vagrant"]).is_empty());
}
