//! End-to-end tests of the `kiln` binary on repositories built in temporary directories:
//! the three sources (`--staged`, `--rev`, the work tree), the example repository, the
//! `owners` and `images` commands, and bad input that cannot be committed as a fixture
//! (unreadable files, an oversized CODEOWNERS, a corrupt object database).
//!
//! Git runs hermetically: no global or system configuration, a fixed identity and date.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// Runs kiln in `dir` with `args`, optionally feeding `stdin`.
fn kiln(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    kiln_env(dir, args, stdin, &[])
}

/// [`kiln`] with extra environment variables.
fn kiln_env(dir: &Path, args: &[&str], stdin: Option<&str>, env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    cmd.env_remove("GIT_INDEX_FILE");
    for key in ["SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "XDG_CONFIG_HOME"] {
        cmd.env_remove(key);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.arg("-C")
        .arg(dir)
        .arg("--color")
        .arg("never")
        .args(args);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("kiln binary runs");
    let mut input = child.stdin.take().expect("stdin is piped");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("write stdin");
    drop(input);
    child.wait_with_output().expect("kiln finishes")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("kiln exits normally")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts that kiln's stderr mentions `needle`, printing all of it when not.
#[track_caller]
fn assert_stderr_has(o: &Output, needle: &str) {
    assert!(stderr(o).contains(needle), "{}", stderr(o));
}

/// `git` in `dir`, isolated from the user's configuration, with a fixed identity and date.
fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .args(["-c", "user.name=kiln", "-c", "user.email=kiln@example.org"])
        .args(["-c", "init.defaultBranch=main", "-c", "core.autocrlf=false"])
        .args(args)
        .stdout(Stdio::null())
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?} failed");
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir(from) {
        let rel = entry.strip_prefix(from).expect("walked below from");
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().expect("has a parent")).expect("mkdir");
        std::fs::copy(&entry, &dest).expect("copy");
    }
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(walkdir(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A committed git repository holding the clean fixture, with `secret-decrypted/` ignored.
fn clean_repo() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_dir(
        &Path::new(MANIFEST_DIR).join("testdata/check/clean/repo"),
        tmp.path(),
    );
    std::fs::write(tmp.path().join(".gitignore"), "secret-decrypted/\n").expect("write");
    git(tmp.path(), &["init", "-q"]);
    git(tmp.path(), &["add", "-A"]);
    git(tmp.path(), &["commit", "-q", "-m", "init"]);
    tmp
}

const DEPLOYMENT: &str = "apps/base/shop/deploy/deployment.yaml";

fn edit(dir: &Path, path: &str, from: &str, to: &str) {
    let p = dir.join(path);
    let text = std::fs::read_to_string(&p).expect("read");
    assert!(text.contains(from), "{path} contains {from}");
    std::fs::write(&p, text.replace(from, to)).expect("write");
}

#[test]
fn the_example_repository_is_clean() {
    let o = kiln(Path::new(MANIFEST_DIR), &["check"], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_stderr_has(&o, "6 apps, 2 environments, 3 bases: ok");
}

#[test]
fn staged_sees_a_staged_change_the_work_tree_no_longer_has() {
    let repo = clean_repo();
    let dir = repo.path();
    edit(dir, DEPLOYMENT, "shop:1.0.0", "shop:6.6.6");
    git(dir, &["add", DEPLOYMENT]);
    edit(dir, DEPLOYMENT, "shop:6.6.6", "shop:1.0.0");

    let staged = kiln(dir, &["check", "--staged"], None);
    assert_eq!(code(&staged), 1, "{}", stderr(&staged));
    assert_stderr_has(&staged, "KLN0121");
    assert!(stderr(&staged).contains("registry.lan/shop:6.6.6"));

    let worktree = kiln(dir, &["check"], None);
    assert_eq!(code(&worktree), 0, "{}", stderr(&worktree));
}

#[test]
fn staged_reads_the_index_a_hook_is_given() {
    // `git commit -a` runs the hook with GIT_INDEX_FILE naming a temporary index.
    let repo = clean_repo();
    let dir = repo.path();
    let index = dir.join(".git/next-index");
    std::fs::copy(dir.join(".git/index"), &index).expect("copy the index");
    edit(dir, DEPLOYMENT, "shop:1.0.0", "shop:6.6.6");
    let status = Command::new("git")
        .current_dir(dir)
        .env("GIT_INDEX_FILE", &index)
        .args(["add", DEPLOYMENT])
        .status()
        .expect("git add");
    assert!(status.success());
    edit(dir, DEPLOYMENT, "shop:6.6.6", "shop:1.0.0");

    let hook = kiln_env(
        dir,
        &["check", "--staged"],
        None,
        &[("GIT_INDEX_FILE", &index)],
    );
    assert_eq!(code(&hook), 1, "{}", stderr(&hook));
    assert_stderr_has(&hook, "registry.lan/shop:6.6.6");
    let plain = kiln(dir, &["check", "--staged"], None);
    assert_eq!(code(&plain), 0, "{}", stderr(&plain));
}

#[test]
fn staged_ignores_an_unstaged_change() {
    let repo = clean_repo();
    let dir = repo.path();
    edit(dir, DEPLOYMENT, "shop:1.0.0", "shop:6.6.6");

    let staged = kiln(dir, &["check", "--staged"], None);
    assert_eq!(code(&staged), 0, "{}", stderr(&staged));
    let worktree = kiln(dir, &["check"], None);
    assert_eq!(code(&worktree), 1, "{}", stderr(&worktree));
    assert!(stderr(&worktree).contains("KLN0121"));
}

#[test]
fn rev_reads_an_older_commit() {
    let repo = clean_repo();
    let dir = repo.path();
    edit(dir, DEPLOYMENT, "shop:1.0.0", "shop:6.6.6");
    git(dir, &["commit", "-q", "-am", "break the tag"]);
    assert_eq!(code(&kiln(dir, &["check", "--rev", "HEAD"], None)), 1);
    let old = kiln(dir, &["check", "--rev", "HEAD~1"], None);
    assert_eq!(code(&old), 0, "{}", stderr(&old));
    let bad = kiln(dir, &["check", "--rev", "no-such-branch"], None);
    assert_eq!(code(&bad), 2, "{}", stderr(&bad));
    assert_stderr_has(&bad, "KLN0007");
}

#[test]
fn a_staged_plaintext_secret_is_refused() {
    let repo = clean_repo();
    let dir = repo.path();
    let plain = dir.join("apps/prod/shop/secret-decrypted/db.yaml");
    std::fs::create_dir_all(plain.parent().expect("parent")).expect("mkdir");
    std::fs::write(&plain, "password: hunter2\n").expect("write");
    // Ignored, so only a forced add stages it.
    git(
        dir,
        &["add", "-f", "apps/prod/shop/secret-decrypted/db.yaml"],
    );

    let staged = kiln(dir, &["check", "--staged"], None);
    assert_eq!(code(&staged), 1, "{}", stderr(&staged));
    assert_stderr_has(&staged, "KLN0131");
    assert!(
        !stderr(&staged).contains("hunter2"),
        "plaintext must never be printed"
    );
    let worktree = kiln(dir, &["check"], None);
    assert_stderr_has(&worktree, "KLN0131");
}

#[test]
fn a_staged_plaintext_secret_manifest_is_refused_without_printing_it() {
    let repo = clean_repo();
    let dir = repo.path();
    let secret = "apps/prod/shop/deploy/db-secret.yaml";
    std::fs::write(
        dir.join(secret),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: canary-7f3a9\n",
    )
    .expect("write");
    edit(
        dir,
        "apps/prod/shop/deploy/kustomization.yaml",
        "patches:",
        "- db-secret.yaml\npatches:",
    );
    git(dir, &["add", "-A"]);
    for format in ["human", "json"] {
        let o = kiln(dir, &["--format", format, "check", "--staged"], None);
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert!(all.contains("KLN0132") && all.contains(secret), "{all}");
        assert!(
            !all.contains("canary-7f3a9"),
            "plaintext must never be printed: {all}"
        );
    }
}

#[test]
fn a_plaintext_folder_that_is_not_ignored_is_refused() {
    let repo = clean_repo();
    let dir = repo.path();
    std::fs::write(dir.join(".gitignore"), "").expect("write");
    std::fs::create_dir_all(dir.join("apps/prod/shop/secret")).expect("mkdir");
    std::fs::write(dir.join("apps/prod/shop/secret/db.yaml"), "sops: {}\n").expect("write");
    let o = kiln(dir, &["check"], None);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_stderr_has(&o, "apps/prod/shop/secret-decrypted/ is not git-ignored");
}

#[test]
fn an_unreadable_blob_is_fatal() {
    let repo = clean_repo();
    let dir = repo.path();
    edit(dir, DEPLOYMENT, "shop:1.0.0", "shop:1.0.0 # changed");
    git(dir, &["add", DEPLOYMENT]);
    // Remove the staged blob from the object database: the index now names content that
    // cannot be read.
    let out = Command::new("git")
        .current_dir(dir)
        .args(["rev-parse", &format!(":{DEPLOYMENT}")])
        .output()
        .expect("git rev-parse");
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    std::fs::remove_file(dir.join(".git/objects").join(&id[..2]).join(&id[2..]))
        .expect("loose object exists");

    let o = kiln(dir, &["check", "--staged"], None);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert_stderr_has(&o, "KLN0004");
    assert_stderr_has(&o, DEPLOYMENT);
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_is_fatal() {
    use std::os::unix::fs::PermissionsExt;
    let repo = clean_repo();
    let dir = repo.path();
    let path = dir.join(DEPLOYMENT);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    if std::fs::read(&path).is_ok() {
        // Running as root: permissions do not stop reads, so there is nothing to test.
        return;
    }
    let o = kiln(dir, &["check"], None);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("KLN0004") && stderr(&o).contains(DEPLOYMENT));
}

#[test]
fn a_codeowners_over_three_megabytes_is_reported() {
    let repo = clean_repo();
    let dir = repo.path();
    let mut text = std::fs::read_to_string(dir.join("CODEOWNERS")).expect("read");
    while text.len() <= 3 * 1024 * 1024 {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(dir.join("CODEOWNERS"), &text).expect("write");
    let o = kiln(dir, &["check"], None);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_stderr_has(&o, "KLN0202");
}

#[test]
fn owners_prints_path_line_and_owners() {
    let o = kiln(
        Path::new(MANIFEST_DIR),
        &[
            "owners",
            "apps/base/web/deploy/kustomization.yaml",
            "./apps/prod/postgres/secret/new.yaml",
            "README.md",
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let want = "apps/base/web/deploy/kustomization.yaml\t12\t@example/web-team @example/platform\n\
                apps/prod/postgres/secret/new.yaml\t14\t@example/data-team\n\
                README.md\t3\t@example/platform\n";
    assert_eq!(stdout(&o), want);
}

#[test]
fn owners_reads_paths_from_stdin_and_reports_unowned_ones() {
    let repo = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        repo.path().join("CODEOWNERS"),
        "/docs/ @acme/docs\n/docs/drafts/\n",
    )
    .expect("write");
    let o = kiln(
        repo.path(),
        &["owners", "--stdin"],
        Some("docs/a.md\ndocs/drafts/b.md\nsrc/main.rs\n"),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "docs/a.md\t1\t@acme/docs\ndocs/drafts/b.md\t2\t\nsrc/main.rs\t\t\n"
    );
}

#[test]
fn owners_without_codeowners_cannot_run() {
    let repo = tempfile::tempdir().expect("tempdir");
    let o = kiln(repo.path(), &["owners", "a"], None);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("KLN0201"));
}

#[test]
fn images_lists_what_an_environment_needs() {
    let o = kiln(Path::new(MANIFEST_DIR), &["images", "--env", "prod"], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("IMAGE"), "{out}");
    for line in [
        "registry.lan/cert-issuer-controller:0.9.0",
        "registry.lan/web:2.3.1",
        "registry.lan/web-worker:2.3.0",
    ] {
        assert!(out.contains(line), "{out}");
    }
    let json = kiln(
        Path::new(MANIFEST_DIR),
        &["--format", "json", "images", "--env", "prod"],
        None,
    );
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("valid JSON");
    assert_eq!(doc["env"], "prod");
    assert_eq!(doc["images"].as_array().map(Vec::len), Some(3));
    assert_eq!(doc["images"][0]["changed"], serde_json::Value::Null);
}

#[test]
fn images_reports_a_tag_reused_for_a_changed_context() {
    let repo = clean_repo();
    let dir = repo.path();
    let dockerfile = "apps/base/shop/build/shop/Dockerfile";
    std::fs::write(dir.join(dockerfile), "FROM scratch\nCOPY app /app\n").expect("write");

    let o = kiln(
        dir,
        &["images", "--env", "prod", "--changed-since", "HEAD"],
        None,
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stdout(&o).contains("yes (tag reused)"), "{}", stdout(&o));
    assert_stderr_has(&o, "KLN0123");

    let vars = "apps/base/shop/build/shop/vars.yaml";
    edit(dir, vars, "1.0.0", "1.0.1");
    edit(dir, DEPLOYMENT, "shop:1.0.0", "shop:1.0.1");
    let o = kiln(
        dir,
        &[
            "--format",
            "json",
            "images",
            "--env",
            "prod",
            "--changed-since",
            "HEAD",
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(doc["images"][0]["tag"], "1.0.1");
    assert_eq!(doc["images"][0]["changed"], true);
    assert_eq!(doc["images"][0]["tag_reused"], false);
}

#[test]
fn an_unknown_environment_is_a_usage_error() {
    let o = kiln(Path::new(MANIFEST_DIR), &["images", "--env", "nope"], None);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("there is no environment `nope`"));
}

/// `git` in `dir` with kiln on the PATH, as a developer's shell would have it.
fn git_with_kiln(dir: &Path, args: &[&str]) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_kiln"))
        .parent()
        .expect("the binary is in a folder");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("git")
        .current_dir(dir)
        .env("PATH", path)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["-c", "user.name=kiln", "-c", "user.email=kiln@example.org"])
        .args(args)
        .output()
        .expect("git runs")
}

#[test]
fn the_installed_hook_refuses_a_bad_commit_and_lets_a_good_one_through() {
    let repo = clean_repo();
    let dir = repo.path();
    let o = kiln(dir, &["hook", "install"], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let hook = dir.join(".git/hooks/pre-commit");
    assert_eq!(
        std::fs::read_to_string(&hook).expect("hook written"),
        std::fs::read_to_string(Path::new(MANIFEST_DIR).join("hooks/pre-commit")).expect("read")
    );

    edit(dir, DEPLOYMENT, "shop:1.0.0", "shop:6.6.6");
    git(dir, &["add", DEPLOYMENT]);
    let refused = git_with_kiln(dir, &["commit", "-q", "-m", "bad tag"]);
    assert!(!refused.status.success(), "the hook must refuse the commit");
    assert_stderr_has(&refused, "KLN0121");

    edit(dir, DEPLOYMENT, "shop:6.6.6", "shop:1.0.0");
    edit(
        dir,
        "apps/prod/shop/deploy/replicas.yaml",
        "replicas: 2",
        "replicas: 3",
    );
    git(dir, &["add", "-A"]);
    let accepted = git_with_kiln(dir, &["commit", "-q", "-m", "three replicas"]);
    assert!(accepted.status.success(), "{}", stderr(&accepted));
}

#[test]
fn hook_install_respects_hooks_path_and_foreign_hooks() {
    let repo = clean_repo();
    let dir = repo.path();
    git(dir, &["config", "core.hooksPath", ".githooks"]);
    std::fs::create_dir_all(dir.join(".githooks")).expect("mkdir");
    let hook = dir.join(".githooks/pre-commit");
    std::fs::write(&hook, "#!/bin/sh\nexec lint-everything\n").expect("write");

    let refused = kiln(dir, &["hook", "install"], None);
    assert_eq!(code(&refused), 2, "{}", stderr(&refused));
    assert_stderr_has(&refused, "--force");
    assert!(
        std::fs::read_to_string(&hook)
            .expect("read")
            .contains("lint-everything")
    );

    let forced = kiln(dir, &["hook", "install", "--force"], None);
    assert_eq!(code(&forced), 0, "{}", stderr(&forced));
    assert!(
        std::fs::read_to_string(&hook)
            .expect("read")
            .contains("kiln check --staged")
    );
    assert!(dir.join(".githooks/pre-commit.kiln-backup").exists());
    assert!(
        !dir.join(".git/hooks/pre-commit").exists(),
        "core.hooksPath wins"
    );

    let removed = kiln(dir, &["hook", "uninstall"], None);
    assert_eq!(code(&removed), 0, "{}", stderr(&removed));
    assert!(
        std::fs::read_to_string(&hook)
            .expect("restored")
            .contains("lint-everything"),
        "uninstall puts the previous hook back"
    );
    let foreign = kiln(dir, &["hook", "uninstall"], None);
    assert_eq!(code(&foreign), 2, "a hook kiln did not write is left alone");
}

/// A 100 MB resource file is refused with a diagnostic naming it, not read into the renderer.
#[test]
fn build_refuses_a_100_mb_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources:\n- big.yaml\n",
    )
    .expect("write");
    let mut big = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n");
    let line = format!("  k: {}\n", "x".repeat(1000));
    while big.len() < 100 << 20 {
        big.push_str(&line.replacen('k', &format!("k{}", big.len()), 1));
    }
    std::fs::write(dir.path().join("big.yaml"), big).expect("write");
    let o = kiln(dir.path(), &["build", "."], None);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    assert_stderr_has(&o, "big.yaml");
    assert_stderr_has(&o, "up to 64 MB");
}

/// `kiln compile` renders the example repository's environments and writes one manifest per
/// app; a second run with a broken app writes nothing and keeps the previous output.
#[test]
fn compile_writes_atomically() {
    let out = tempfile::tempdir().expect("tempdir");
    let repo = tempfile::tempdir().expect("tempdir");
    let app = repo.path().join("apps/base/web/deploy");
    std::fs::create_dir_all(&app).expect("mkdir");
    std::fs::create_dir_all(repo.path().join("apps/dev/web/deploy")).expect("mkdir");
    std::fs::write(
        app.join("kustomization.yaml"),
        "namespace: web\nresources:\n- cm.yaml\n",
    )
    .expect("write");
    std::fs::write(
        app.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
    )
    .expect("write");
    std::fs::write(
        repo.path().join("apps/dev/web/deploy/kustomization.yaml"),
        "resources:\n- ../../../base/web/deploy\n",
    )
    .expect("write");
    let out_arg = out.path().join("out");
    let out_str = out_arg.to_string_lossy().into_owned();
    let o = kiln(
        repo.path(),
        &["compile", "--env", "dev", "--out", &out_str],
        None,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let manifest = std::fs::read_to_string(out_arg.join("dev/web/manifest.yaml")).expect("written");
    assert_eq!(
        manifest,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: web\n"
    );
    std::fs::write(app.join("cm.yaml"), "kind: [broken\n").expect("write");
    let o = kiln(
        repo.path(),
        &["compile", "--env", "dev", "--out", &out_str],
        None,
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_stderr_has(&o, "nothing was written");
    let kept = std::fs::read_to_string(out_arg.join("dev/web/manifest.yaml")).expect("kept");
    assert_eq!(kept, manifest);
}

/// `images.setFromBuild`: `kiln compile` sets each app's images to the tags its base's
/// build folders declare, as `kustomize edit set image` would in the overlay.
#[test]
fn compile_sets_images_from_build_folders() {
    let repo = tempfile::tempdir().expect("tempdir");
    let root = repo.path();
    let write = |path: &str, text: &str| {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    write(
        "kiln.yaml",
        "apiVersion: kiln.dev/v1alpha1\nkind: Project\nimages:\n  registries: [registry.lan]\n  setFromBuild: true\n",
    );
    write("apps/base/web/build/web/Dockerfile", "FROM scratch\n");
    write(
        "apps/base/web/build/web/vars.yaml",
        "image_name: web\nimage_tag: \"2.0\"\n",
    );
    write(
        "apps/base/web/deploy/kustomization.yaml",
        "namespace: web\nresources:\n- pod.yaml\n",
    );
    write(
        "apps/base/web/deploy/pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: web\n    image: registry.lan/web:1.0\n",
    );
    write(
        "apps/dev/web/deploy/kustomization.yaml",
        "resources:\n- ../../../base/web/deploy\n",
    );
    let out = root.join("out");
    let o = kiln(
        root,
        &["compile", "--all", "--out", &out.to_string_lossy()],
        None,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let manifest = std::fs::read_to_string(out.join("dev/web/manifest.yaml")).expect("written");
    assert!(
        manifest.contains("image: registry.lan/web:2.0"),
        "{manifest}"
    );
}

/// The example's KSOPS generator renders natively with the example key, and fails with a
/// diagnostic naming the encrypted file (never its content) without one.
#[test]
fn build_renders_ksops_generators_natively() {
    let root = Path::new(MANIFEST_DIR);
    let key = root.join("testdata/keys/example.agekey");
    let o = kiln_env(
        root,
        &["build", "--decrypt", "apps/vagrant/postgres/deploy"],
        None,
        &[
            ("SOPS_AGE_KEY_FILE", &key),
            ("HOME", Path::new("/nonexistent")),
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("kind: Secret"), "{out}");
    assert!(out.contains("name: postgres-credentials"), "{out}");
    assert!(!out.contains("ENC[AES256_GCM"), "{out}");

    let o = kiln_env(
        root,
        &["build", "apps/vagrant/postgres/deploy"],
        None,
        &[("HOME", Path::new("/nonexistent"))],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    assert_stderr_has(&o, "apps/vagrant/postgres/secret/postgres-credentials.yaml");
    assert_stderr_has(&o, "no age key");
}

/// The README's first command: the example repository compiles for both environments with
/// both output modes for secrets (vagrant: SOPS, prod: SealedSecrets); no plaintext is
/// written, and a second run of unchanged input produces identical bytes.
#[test]
fn example_repository_compiles_for_both_environments() {
    let root = Path::new(MANIFEST_DIR);
    let key = root.join("testdata/keys/example.agekey");
    let out = tempfile::tempdir().expect("tempdir");
    let out_str = out.path().to_string_lossy().into_owned();
    let env = [
        ("SOPS_AGE_KEY_FILE", key.as_path()),
        ("HOME", Path::new("/nonexistent")),
    ];
    let o = kiln_env(root, &["compile", "--all", "--out", &out_str], None, &env);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let snapshot = || {
        let mut files = std::collections::BTreeMap::new();
        let mut stack = vec![out.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("readable") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    files.insert(path.clone(), std::fs::read(&path).expect("readable"));
                }
            }
        }
        files
    };
    let first = snapshot();
    for (path, bytes) in &first {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains("vagrant-only-password"),
            "{}",
            path.display()
        );
        if path.ends_with("manifest.yaml") {
            assert!(
                !text.contains("kind: Secret\n"),
                "Secret in {}",
                path.display()
            );
        } else {
            assert!(text.contains("ENC[AES256_GCM"), "{}", path.display());
        }
    }
    // vagrant: a SOPS file the example key reads.
    let sops_file = out
        .path()
        .join("vagrant/postgres/secrets/postgres.postgres-credentials.yaml");
    let text = std::fs::read_to_string(&sops_file).expect("secret written");
    let identities = {
        let mut ids = kiln::secrets::sops::keys::Identities::default();
        ids.add_text(&std::fs::read_to_string(&key).expect("key"), "test")
            .expect("valid key");
        ids.x25519
    };
    let decrypted = kiln::secrets::sops::decrypt(
        kiln::secrets::sops::Format::Yaml,
        text.as_bytes(),
        &identities,
    )
    .expect("decrypts with the example key");
    let plain = decrypted.document().expect("document");
    assert!(String::from_utf8_lossy(&plain).contains("POSTGRES_PASSWORD"));
    // prod: a SealedSecret in the manifest.
    let prod = std::fs::read_to_string(out.path().join("prod/postgres/manifest.yaml"))
        .expect("manifest written");
    assert!(prod.contains("kind: SealedSecret"), "{prod}");
    assert!(
        prod.contains("encryptedData:\n    POSTGRES_DB: A"),
        "{prod}"
    );
    // A second run changes nothing.
    let o = kiln_env(root, &["compile", "--all", "--out", &out_str], None, &env);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(first, snapshot(), "unchanged input gives identical bytes");
}

/// Without re-encryption configured, a Secret with values is never written: the compile
/// fails with KLN0304, naming the Secret but not its values.
#[test]
fn compile_refuses_plaintext_secrets() {
    let repo = tempfile::tempdir().expect("tempdir");
    let root = repo.path();
    let write = |path: &str, text: &str| {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    write(
        "apps/base/db/deploy/kustomization.yaml",
        "secretGenerator:\n- name: creds\n  literals:\n  - password=canary-3141\n",
    );
    write(
        "apps/dev/db/deploy/kustomization.yaml",
        "resources:\n- ../../../base/db/deploy\n",
    );
    let out = root.join("out");
    let o = kiln(
        root,
        &["compile", "--all", "--out", &out.to_string_lossy()],
        None,
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_stderr_has(&o, "KLN0304");
    assert_stderr_has(&o, "creds");
    assert!(!stderr(&o).contains("canary-3141"));
    assert!(!stderr(&o).contains("Y2FuYXJ5LTMxNDE"));
    assert!(!out.exists());
}

/// Shell completions and the man page come from the same clap definitions as the parser.
#[test]
fn completions_and_man_page_cover_every_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    for shell in ["bash", "zsh", "fish"] {
        let o = kiln(dir.path(), &["completions", shell], None);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let out = stdout(&o);
        for command in ["compile", "publish", "diff", "secrets", "build"] {
            assert!(out.contains(command), "{shell} completion lacks {command}");
        }
    }
    let o = kiln(dir.path(), &["man"], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).starts_with(".ie"), "roff output");
    assert!(stdout(&o).contains("publish"));
}
