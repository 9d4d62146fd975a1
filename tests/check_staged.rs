//! `kiln check --staged` renders and validates only the apps a staged change can affect,
//! and every app when a shared file (`kiln.yaml`, CODEOWNERS, `_common`) changes.

mod common;

use common::{example_repo, git, kiln};

fn rendered_apps(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.ends_with("rendered and validated)"))
        .filter_map(|l| {
            l.strip_prefix("checked ")?
                .split(' ')
                .next()
                .map(str::to_owned)
        })
        .collect()
}

#[test]
fn staged_checks_render_only_affected_apps() {
    let repo = tempfile::tempdir().expect("tempdir");
    example_repo(repo.path());
    let patch = repo.path().join("apps/prod/web/deploy/replicas.yaml");
    let text = std::fs::read_to_string(&patch).expect("readable");
    std::fs::write(&patch, text.replace("replicas: 4", "replicas: 5")).expect("write");
    git(repo.path(), &["add", "-A"]);
    let o = kiln(repo.path(), &["-v", "check", "--staged"], &[]);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert_eq!(rendered_apps(&stderr), ["apps/prod/web"], "{stderr}");

    // A change to a shared base reaches every app that uses it: web in both environments.
    let base = repo.path().join("apps/base/web/deploy/kustomization.yaml");
    let text = std::fs::read_to_string(&base).expect("readable");
    std::fs::write(&base, format!("{text}\n# touched\n")).expect("write");
    git(repo.path(), &["add", "-A"]);
    let o = kiln(repo.path(), &["-v", "check", "--staged"], &[]);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(
        rendered_apps(&stderr),
        ["apps/prod/web", "apps/vagrant/web"],
        "{stderr}"
    );

    // kiln.yaml is shared: every app is rendered (postgres then warns: no key here).
    let config = repo.path().join("kiln.yaml");
    let text = std::fs::read_to_string(&config).expect("readable");
    std::fs::write(&config, format!("{text}\n# touched\n")).expect("write");
    git(repo.path(), &["add", "-A"]);
    let o = kiln(repo.path(), &["-v", "check", "--staged"], &[]);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert_eq!(rendered_apps(&stderr).len(), 6, "every app:\n{stderr}");
}

/// Every entry file under `dir`, recursively.
fn cache_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for entry in entries.map(|e| e.expect("entry").path()) {
        if entry.is_dir() {
            files.extend(cache_files(&entry));
        } else {
            files.push(entry);
        }
    }
    files
}

#[test]
fn an_identical_check_is_replayed_from_the_cache_with_the_same_output() {
    let repo = tempfile::tempdir().expect("tempdir");
    example_repo(repo.path());
    let cache = repo.path().join(".git/kiln/cache");
    // A finding, so the replay has a diagnostic with an excerpt to show.
    let leak = repo.path().join("apps/base/web/deploy/leak.yaml");
    std::fs::write(
        &leak,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b\n",
    )
    .expect("write");
    let kustomization = repo.path().join("apps/prod/web/deploy/kustomization.yaml");
    let text = std::fs::read_to_string(&kustomization).expect("readable");
    std::fs::write(
        &kustomization,
        text.replace(
            "- ../../../base/web/deploy",
            "- ../../../base/web/deploy\n- missing.yaml",
        ),
    )
    .expect("write");
    git(repo.path(), &["add", "-A"]);

    let first = kiln(repo.path(), &["-v", "check", "--staged"], &[]);
    assert_eq!(first.status.code(), Some(1));
    assert_eq!(cache_files(&cache).len(), 1, "one entry written");
    let again = kiln(repo.path(), &["-vv", "check", "--staged"], &[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("the result of an identical check"),
        "{stderr}"
    );
    let replayed = kiln(repo.path(), &["-v", "check", "--staged"], &[]);
    assert_eq!(replayed.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&replayed.stderr),
        String::from_utf8_lossy(&first.stderr),
        "the replay shows exactly what the check showed"
    );
    let json = kiln(
        repo.path(),
        &["--format", "json", "--no-cache", "check", "--staged"],
        &[],
    );
    let cached_json = kiln(repo.path(), &["--format", "json", "check", "--staged"], &[]);
    assert_eq!(json.stdout, cached_json.stdout);

    // Corrupted entries are ignored and rewritten.
    for file in cache_files(&cache) {
        let mut bytes = std::fs::read(&file).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x20;
        std::fs::write(&file, bytes).expect("write");
    }
    let after = kiln(repo.path(), &["-vv", "check", "--staged"], &[]);
    let stderr = String::from_utf8_lossy(&after.stderr);
    assert!(
        !stderr.contains("the result of an identical check"),
        "{stderr}"
    );
    assert!(stderr.contains("KLN0107"), "{stderr}");
    let hit = kiln(repo.path(), &["-vv", "check", "--staged"], &[]);
    assert!(String::from_utf8_lossy(&hit.stderr).contains("the result of an identical check"));

    // Fixing the input is another key: no stale result.
    std::fs::write(&kustomization, text).expect("write");
    git(repo.path(), &["add", "-A"]);
    let fixed = kiln(repo.path(), &["check", "--staged"], &[]);
    assert_eq!(
        fixed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&fixed.stderr)
    );

    // An age key changes what check can do (postgres is rendered, not a warning): another key.
    let with_key = kiln(
        repo.path(),
        &["-vv", "check", "--staged"],
        &[("SOPS_AGE_KEY_FILE", &common::example_key())],
    );
    let stderr = String::from_utf8_lossy(&with_key.stderr);
    assert!(
        !stderr.contains("the result of an identical check"),
        "{stderr}"
    );
    assert!(!stderr.contains("KLN0141"), "{stderr}");

    let cleared = kiln(repo.path(), &["cache", "clear"], &[]);
    assert_eq!(cleared.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&cleared.stderr).contains("removed 3 entries"),
        "{}",
        String::from_utf8_lossy(&cleared.stderr)
    );
    assert!(cache_files(&cache).is_empty());
    let nothing = kiln(repo.path(), &["--no-cache", "check", "--staged"], &[]);
    assert_eq!(nothing.status.code(), Some(0));
    assert!(cache_files(&cache).is_empty(), "--no-cache writes nothing");
}

fn stderr_of(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn before_the_first_commit_every_app_is_checked() {
    let repo = tempfile::tempdir().expect("tempdir");
    example_repo(repo.path());
    git(repo.path(), &["update-ref", "-d", "refs/heads/main"]);
    let o = kiln(repo.path(), &["-v", "check", "--staged"], &[]);
    let stderr = stderr_of(&o);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("no commit yet"), "{stderr}");
    assert_eq!(rendered_apps(&stderr).len(), 6, "{stderr}");
}

#[test]
fn an_empty_commit_renders_nothing_and_says_so() {
    let repo = tempfile::tempdir().expect("tempdir");
    example_repo(repo.path());
    let o = kiln(repo.path(), &["-v", "check", "--staged"], &[]);
    let stderr = stderr_of(&o);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("nothing is staged"), "{stderr}");
    assert!(rendered_apps(&stderr).is_empty(), "{stderr}");
}

#[test]
fn paths_with_spaces_and_non_ascii_characters_reach_their_app() {
    let repo = tempfile::tempdir().expect("tempdir");
    example_repo(repo.path());
    let dir = repo.path().join("apps/prod/web/deploy");
    std::fs::write(
        dir.join("extra config é.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: web\ndata:\n  a: b\n",
    )
    .expect("write");
    let k = dir.join("kustomization.yaml");
    let text = std::fs::read_to_string(&k).expect("readable");
    std::fs::write(
        &k,
        text.replace(
            "- ../../../base/web/deploy",
            "- ../../../base/web/deploy\n- extra config é.yaml",
        ),
    )
    .expect("write");
    git(repo.path(), &["add", "-A"]);
    let o = kiln(repo.path(), &["-v", "check", "--staged"], &[]);
    let stderr = stderr_of(&o);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert_eq!(rendered_apps(&stderr), ["apps/prod/web"], "{stderr}");
}

#[test]
fn a_staged_deletion_of_a_whole_app_is_reported_not_rendered() {
    let repo = tempfile::tempdir().expect("tempdir");
    example_repo(repo.path());
    git(repo.path(), &["rm", "-r", "-q", "apps/prod/web"]);
    let o = kiln(repo.path(), &["-v", "check", "--staged"], &[]);
    let stderr = stderr_of(&o);
    assert_ne!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("removed apps/prod/web: its folder is deleted"),
        "{stderr}"
    );
    assert!(rendered_apps(&stderr).is_empty(), "{stderr}");
}

/// Two branches that change the same line of `apps/prod/web`; returns the repository.
fn diverged() -> tempfile::TempDir {
    let repo = tempfile::tempdir().expect("tempdir");
    example_repo(repo.path());
    let replicas = repo.path().join("apps/prod/web/deploy/replicas.yaml");
    let text = std::fs::read_to_string(&replicas).expect("readable");
    git(repo.path(), &["checkout", "-q", "-b", "feature"]);
    std::fs::write(&replicas, text.replace("replicas: 4", "replicas: 6")).expect("write");
    git(repo.path(), &["commit", "-q", "-am", "six"]);
    git(repo.path(), &["checkout", "-q", "main"]);
    std::fs::write(&replicas, text.replace("replicas: 4", "replicas: 7")).expect("write");
    git(repo.path(), &["commit", "-q", "-am", "seven"]);
    repo
}

/// Runs git expecting it to fail (a conflict).
fn git_fails(dir: &std::path::Path, args: &[&str]) {
    let o = common::git_command(dir, args).output().expect("git runs");
    assert!(!o.status.success(), "git {args:?} conflicts");
}

#[test]
fn a_merge_or_rebase_in_progress_is_named_and_conflicts_are_warned_about() {
    let repo = diverged();
    git_fails(repo.path(), &["merge", "-q", "feature"]);
    let o = kiln(repo.path(), &["-v", "check", "--staged"], &[]);
    let stderr = stderr_of(&o);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("a merge is in progress"), "{stderr}");
    assert!(
        stderr.contains("apps/prod/web/deploy/replicas.yaml has unresolved merge conflicts"),
        "{stderr}"
    );
    // Resolved and staged: an ordinary check of the merge result.
    let replicas = repo.path().join("apps/prod/web/deploy/replicas.yaml");
    let text = std::fs::read_to_string(&replicas).expect("readable");
    let resolved: String = text
        .lines()
        .filter(|l| {
            !l.starts_with("<<<<<<<")
                && !l.starts_with("=======")
                && !l.starts_with(">>>>>>>")
                && !l.contains("replicas: 6")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&replicas, resolved).expect("write");
    git(repo.path(), &["add", "-A"]);
    let o = kiln(repo.path(), &["-v", "check", "--staged"], &[]);
    let stderr = stderr_of(&o);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("unresolved"), "{stderr}");

    let repo = diverged();
    git(repo.path(), &["checkout", "-q", "feature"]);
    git_fails(repo.path(), &["rebase", "main"]);
    let o = kiln(repo.path(), &["-v", "check", "--staged"], &[]);
    let stderr = stderr_of(&o);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("a rebase is in progress"), "{stderr}");
    assert!(stderr.contains("unresolved merge conflicts"), "{stderr}");
}

#[test]
fn when_kiln_itself_fails_the_hook_says_it_was_kiln() {
    let repo = tempfile::tempdir().expect("tempdir");
    example_repo(repo.path());
    std::fs::write(repo.path().join(".git/index"), b"DIRC garbage").expect("write");
    let o = kiln(repo.path(), &["check", "--staged"], &[]);
    let stderr = stderr_of(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("kiln check --staged could not check this commit (exit 2)"),
        "{stderr}"
    );
}

#[test]
fn the_hook_without_kiln_on_the_path_stops_the_commit_and_says_why() {
    let hook = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks/pre-commit");
    let o = std::process::Command::new("/bin/sh")
        .arg(hook)
        .env("PATH", "/nonexistent")
        .output()
        .expect("sh runs");
    let stderr = stderr_of(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("kiln is not on the PATH"), "{stderr}");
}
