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
