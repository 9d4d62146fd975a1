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
