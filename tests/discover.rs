//! Discovery on the example repository: environments, apps, and each app's dependency set
//! (the files its render reads), which later decides what `kiln check --staged` re-checks.

use std::path::Path;

use kiln::discover::{Repo, discover};
use kiln::fs::{RepoFs, Source};
use kiln::load::Loader;

fn example() -> Repo {
    let fs = RepoFs::open(Path::new(env!("CARGO_MANIFEST_DIR")), Source::WorkTree)
        .expect("the repository opens");
    let loader = Loader::new(&fs);
    discover(&loader)
}

/// Asserts that the app's dependency set holds every `present` path and none of `absent`.
#[track_caller]
fn check(repo: &Repo, app_dir: &str, present: &[&str], absent: &[&str]) {
    let app = repo
        .apps()
        .find(|a| a.dir == app_dir)
        .unwrap_or_else(|| panic!("no app {app_dir}"));
    for p in present {
        assert!(
            app.deps.contains(*p),
            "{app_dir} should depend on {p}: {:#?}",
            app.deps
        );
    }
    for p in absent {
        assert!(!app.deps.contains(*p), "{app_dir} should not depend on {p}");
    }
}

#[test]
fn environments_apps_and_bases() {
    let repo = example();
    let envs: Vec<&str> = repo.envs.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(envs, ["prod", "vagrant"]);
    let apps: Vec<&str> = repo.envs[0].apps.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(apps, ["cert-issuer", "postgres", "web"]);
    let bases: Vec<&str> = repo.bases.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(
        bases,
        ["cert-issuer", "postgres", "web"],
        "_common is not an app"
    );
    assert!(repo.diagnostics.is_empty(), "{:?}", repo.diagnostics);
}

#[test]
fn web_depends_on_its_overlay_base_common_resources_and_build_folders() {
    check(
        &example(),
        "apps/prod/web",
        &[
            "apps/prod/web/deploy/kustomization.yaml",
            "apps/prod/web/deploy/replicas.yaml",
            "apps/prod/web/deploy/config/web.env",
            "apps/base/web/deploy/kustomization.yaml",
            "apps/base/web/deploy/config/default.conf",
            "apps/base/web/build/web/Dockerfile",
            "apps/base/web/build/web-worker/vars.yaml",
            "apps/base/_common/deploy/kustomization.yaml",
            "apps/base/_common/deploy/deny-all-ingress.yaml",
        ],
        &[
            "apps/vagrant/web/deploy/kustomization.yaml",
            "apps/base/postgres/deploy/kustomization.yaml",
            "CODEOWNERS",
        ],
    );
}

#[test]
fn postgres_depends_on_its_ksops_generator_and_encrypted_secret() {
    check(
        &example(),
        "apps/vagrant/postgres",
        &[
            "apps/vagrant/postgres/deploy/secret-generator.yaml",
            "apps/vagrant/postgres/secret/postgres-credentials.yaml",
            "apps/vagrant/postgres/.sops.yaml",
            "apps/base/postgres/deploy/statefulset.yaml",
        ],
        &["apps/prod/postgres/secret/postgres-credentials.yaml"],
    );
}
