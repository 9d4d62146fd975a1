//! Helpers shared by the end-to-end tests that drive git and the kiln binary.
#![allow(dead_code)] // Each test binary uses a different subset.

use std::path::Path;
use std::process::{Command, Output};

/// `git` set up hermetically in `dir`: no global or system configuration, fixed identity and
/// dates, and none of the `GIT_*` variables a surrounding hook may have exported.
pub fn git_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("git");
    command
        .current_dir(dir)
        .args([
            "-c",
            "user.name=kiln tests",
            "-c",
            "user.email=tests@kiln.invalid",
            "-c",
            "core.autocrlf=false",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z");
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_CEILING_DIRECTORIES",
        "GIT_PREFIX",
        "GIT_NOTES_REF",
    ] {
        command.env_remove(var);
    }
    command
}

/// Runs `git` hermetically in `dir` (see [`git_command`]) and returns its stdout; panics with
/// git's stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = git_command(dir, args).output().expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs the kiln binary with `-C dir`, no colour, no age keys but `env`.
pub fn kiln(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    for key in [
        "GIT_INDEX_FILE",
        "SOPS_AGE_KEY",
        "SOPS_AGE_KEY_FILE",
        "XDG_CONFIG_HOME",
    ] {
        cmd.env_remove(key);
    }
    cmd.env("HOME", "/nonexistent");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.arg("-C")
        .arg(dir)
        .arg("--color")
        .arg("never")
        .args(args);
    cmd.output().expect("kiln runs")
}

/// Copies the example repository (apps/, kiln.yaml, CODEOWNERS, .gitignore and the test
/// certificate its prod environment seals for) into `dir` and commits it.
pub fn example_repo(dir: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_tree(&root.join("apps"), &dir.join("apps"));
    copy_tree(&root.join("testdata/sealed"), &dir.join("testdata/sealed"));
    for file in ["kiln.yaml", "CODEOWNERS", ".gitignore"] {
        std::fs::copy(root.join(file), dir.join(file)).expect("copy");
    }
    git(dir, &["init", "-q"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "example repository"]);
}

/// Copies a directory tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("readable") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The example's public age key.
pub fn example_key() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/keys/example.agekey")
}
