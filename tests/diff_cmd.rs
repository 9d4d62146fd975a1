//! `kiln diff` end to end on the example repository: per environment, app and resource, in
//! three formats, with secrets redacted.

mod common;

use common::{example_key, example_repo, git, kiln};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_change_on_a_branch_is_diffed_against_the_merge_base() {
    let repo = tempfile::tempdir().expect("tempdir");
    example_repo(repo.path());
    let key = example_key();
    let env = [("SOPS_AGE_KEY_FILE", key.as_path())];
    git(repo.path(), &["checkout", "-q", "-b", "feature"]);
    let patch = repo.path().join("apps/prod/web/deploy/replicas.yaml");
    let text = std::fs::read_to_string(&patch).expect("readable");
    std::fs::write(&patch, text.replace("replicas: 4", "replicas: 6")).expect("write");
    git(
        repo.path(),
        &["commit", "-q", "-am", "more web replicas in prod"],
    );

    // Default: merge base with main, against the work tree.
    let o = kiln(repo.path(), &["diff", "--exit-code"], &env);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("prod/web: 0 added, 1 changed, 0 removed"),
        "{out}"
    );
    assert!(out.contains("-  replicas: 4\n+  replicas: 6"), "{out}");
    assert!(!out.contains("vagrant/"), "only prod changed:\n{out}");

    let o = kiln(
        repo.path(),
        &["--format", "markdown", "diff", "--head", "HEAD"],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let md = stdout(&o);
    assert!(md.contains("| prod | web | 0 | 1 | 0 | 0 |"), "{md}");
    assert!(md.contains("@example/web-team"), "owners named:\n{md}");
    assert!(md.len() < 65_536);

    let o = kiln(
        repo.path(),
        &[
            "--format", "json", "diff", "--base", "main", "--head", "feature",
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(json["version"], 1);

    // No difference: empty diff, exit 0 even with --exit-code.
    let o = kiln(
        repo.path(),
        &["diff", "--base", "HEAD", "--head", "HEAD", "--exit-code"],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn a_changed_secret_shows_keys_never_values() {
    let repo = tempfile::tempdir().expect("tempdir");
    example_repo(repo.path());
    let key = example_key();
    let env = [("SOPS_AGE_KEY_FILE", key.as_path())];
    let secret = "apps/vagrant/postgres/secret/postgres-credentials.yaml";
    let o = kiln(repo.path(), &["secrets", "decrypt", secret], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plain = stdout(&o).replace("vagrant-only-password", "canary-value-7d1e");
    let plain_path = repo.path().join("plain.yaml");
    std::fs::write(&plain_path, plain).expect("write");
    let o = kiln(
        repo.path(),
        &[
            "secrets",
            "encrypt",
            "plain.yaml",
            "--age",
            "age184m538ykd59z6pve834jjurs8v8lszjkzy3vlxrlj8mgcvcayfsq9l9j3m",
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::write(repo.path().join(secret), &o.stdout).expect("write");
    std::fs::remove_file(&plain_path).expect("remove");
    for format in ["human", "markdown", "json"] {
        let o = kiln(
            repo.path(),
            &["--format", format, "diff", "--base", "HEAD"],
            &env,
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let out = stdout(&o);
        assert!(out.contains("POSTGRES_PASSWORD"), "{format}: {out}");
        for leak in [
            "canary-value-7d1e",
            "vagrant-only-password",
            "Y2FuYXJ5LXZhbHVlLTdkMWU",
        ] {
            assert!(!out.contains(leak), "{format} leaks {leak}:\n{out}");
            assert!(!stderr(&o).contains(leak));
        }
    }
}

/// Entry files of one kind of the cache.
fn cache_entries(repo: &std::path::Path, kind: &str) -> Vec<std::path::PathBuf> {
    let dir = repo.join(".git/kiln/cache").join(kind);
    let mut files = Vec::new();
    for sub in std::fs::read_dir(&dir).into_iter().flatten() {
        for entry in std::fs::read_dir(sub.expect("entry").path()).expect("readable") {
            files.push(entry.expect("entry").path());
        }
    }
    files.sort();
    files
}

#[test]
fn a_repeated_diff_reads_renders_from_the_cache_and_prints_the_same() {
    let repo = tempfile::tempdir().expect("tempdir");
    example_repo(repo.path());
    let replicas = repo.path().join("apps/prod/web/deploy/replicas.yaml");
    let text = std::fs::read_to_string(&replicas).expect("readable");
    std::fs::write(&replicas, text.replace("replicas: 4", "replicas: 9")).expect("write");
    // A change to an app with a Secret too: it is rendered on both sides but never stored.
    let postgres = repo
        .path()
        .join("apps/vagrant/postgres/deploy/kustomization.yaml");
    let text = std::fs::read_to_string(&postgres).expect("readable");
    std::fs::write(&postgres, format!("{text}  example.org/touched: \"yes\"\n")).expect("write");
    let key = example_key();
    let env = [("SOPS_AGE_KEY_FILE", key.as_path())];

    let first = kiln(repo.path(), &["diff", "--base", "HEAD"], &env);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(stdout(&first).contains("replicas: 9"), "{}", stdout(&first));
    assert!(
        stdout(&first).contains("example.org/touched"),
        "{}",
        stdout(&first)
    );
    // Both sides of apps/prod/web; nothing of postgres (it holds a Secret).
    let entries = cache_entries(repo.path(), "render");
    assert_eq!(entries.len(), 2, "{entries:?}");
    for entry in &entries {
        let bytes = std::fs::read(entry).expect("read");
        assert!(!String::from_utf8_lossy(&bytes).contains("kind: Secret"));
    }
    let again = kiln(repo.path(), &["diff", "--base", "HEAD"], &env);
    assert_eq!(stdout(&again), stdout(&first));
    let uncached = kiln(repo.path(), &["--no-cache", "diff", "--base", "HEAD"], &env);
    assert_eq!(stdout(&uncached), stdout(&first));

    // A corrupted entry is a miss: the diff is the same, and the entry is rewritten.
    std::fs::write(&entries[0], b"kiln-cache1\ngarbage").expect("write");
    let repaired = kiln(repo.path(), &["diff", "--base", "HEAD"], &env);
    assert_eq!(stdout(&repaired), stdout(&first));
    assert_ne!(
        std::fs::read(&entries[0]).expect("read"),
        b"kiln-cache1\ngarbage"
    );
}
