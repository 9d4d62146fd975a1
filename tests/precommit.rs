//! kiln's hook under the real `pre-commit` framework (PyPI package `pre-commit`, pinned below):
//! a temporary GitOps repository (the example) uses the hooks declared in this repository's
//! `.pre-commit-hooks.yaml` (hook `kiln-check-system`, with the kiln under test on the PATH),
//! `pre-commit install` writes its git hook, and real `git commit`s go through it.
//!
//! `.ci/run` installs the package; without it, the test installs it with pip into
//! `CARGO_TARGET_TMPDIR`, and fails when it cannot: this test is the evidence that the hook
//! works under the framework users run.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{example_repo, git};

const PINNED: &str = "4.7.0";

/// How to run pre-commit: its program, and the PYTHONPATH it needs (when pip installed it here).
struct PreCommit {
    program: Vec<String>,
    pythonpath: Option<PathBuf>,
}

fn pre_commit() -> PreCommit {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(home.map(|h| h.join(".local/bin")));
    for dir in candidates {
        let program = dir.join("pre-commit");
        if program.is_file() {
            return PreCommit {
                program: vec![program.display().to_string()],
                pythonpath: None,
            };
        }
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("pre-commit-{PINNED}"));
    if !dir.join("pre_commit").is_dir() {
        let out = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
            ])
            .arg(&dir)
            .arg(format!("pre-commit=={PINNED}"))
            .output()
            .expect("python3 runs (pre-commit is a Python package)");
        assert!(
            out.status.success(),
            "pip install pre-commit=={PINNED} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    PreCommit {
        program: vec!["python3".into(), "-m".into(), "pre_commit".into()],
        pythonpath: Some(dir),
    }
}

/// A git repository holding this repository's `.pre-commit-hooks.yaml`, as pre-commit clones
/// hook repositories; returns its commit id.
fn hooks_repo(dir: &Path) -> String {
    std::fs::create_dir_all(dir).expect("mkdir");
    let hooks = Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml");
    std::fs::copy(hooks, dir.join(".pre-commit-hooks.yaml")).expect("copy");
    git(dir, &["init", "-q"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "hooks"]);
    git(dir, &["rev-parse", "HEAD"]).trim().to_owned()
}

struct Env {
    pre_commit: PreCommit,
    path: std::ffi::OsString,
    home: PathBuf,
}

impl Env {
    fn command(&self, program: &str, dir: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(dir)
            .env("PATH", &self.path)
            .env("PRE_COMMIT_HOME", self.home.join("cache"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "kiln tests")
            .env("GIT_AUTHOR_EMAIL", "tests@kiln.invalid")
            .env("GIT_COMMITTER_NAME", "kiln tests")
            .env("GIT_COMMITTER_EMAIL", "tests@kiln.invalid")
            .env("NO_COLOR", "1");
        for var in [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "SOPS_AGE_KEY",
            "SOPS_AGE_KEY_FILE",
        ] {
            cmd.env_remove(var);
        }
        if let Some(p) = &self.pre_commit.pythonpath {
            cmd.env("PYTHONPATH", p);
        }
        cmd
    }

    fn pre_commit(&self, dir: &Path, args: &[&str]) -> Output {
        let (program, rest) = self
            .pre_commit
            .program
            .split_first()
            .expect("a program to run");
        let out = self
            .command(program, dir)
            .args(rest)
            .args(args)
            .output()
            .expect("pre-commit runs");
        assert!(out.status.success(), "pre-commit {args:?}: {}", text(&out));
        out
    }

    /// `git commit`, through the hook pre-commit installed.
    fn commit(&self, dir: &Path, message: &str) -> Output {
        self.command("git", dir)
            .args(["commit", "-q", "-m", message])
            .output()
            .expect("git runs")
    }
}

/// Stages a change in the repository.
type Stage = fn(&Path);

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_pre_commit_framework_runs_kilns_hook_and_refuses_what_kiln_refuses() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let rev = hooks_repo(&tmp.path().join("kiln-hooks"));
    let repo = tmp.path().join("gitops");
    std::fs::create_dir_all(&repo).expect("mkdir");
    example_repo(&repo);
    let kiln_dir = Path::new(env!("CARGO_BIN_EXE_kiln"))
        .parent()
        .expect("the binary is in a folder")
        .to_owned();
    let path = std::env::join_paths(std::iter::once(kiln_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("a valid PATH");
    let env = Env {
        pre_commit: pre_commit(),
        path,
        home: tmp.path().to_owned(),
    };
    std::fs::write(
        repo.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n- repo: {}\n  rev: {rev}\n  hooks:\n  - id: kiln-check-system\n",
            tmp.path().join("kiln-hooks").display()
        ),
    )
    .expect("write config");
    env.pre_commit(&repo, &["install"]);

    // A clean change commits.
    let replicas = repo.join("apps/prod/web/deploy/replicas.yaml");
    let original = std::fs::read_to_string(&replicas).expect("readable");
    std::fs::write(&replicas, original.replace("replicas: 4", "replicas: 5")).expect("write");
    git(&repo, &["add", "-A"]);
    let out = env.commit(&repo, "more replicas");
    assert!(
        out.status.success(),
        "a clean commit passes:\n{}",
        text(&out)
    );
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");

    // Each of these is refused, with kiln's diagnostic in what the user sees, and nothing is
    // committed.
    let refusals: [(&str, Stage, &str); 3] = [
        (
            "a plaintext Secret",
            |repo: &Path| {
                std::fs::write(
                    repo.join("apps/base/web/deploy/leak.yaml"),
                    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: leak\nstringData:\n  password: hunter2\n",
                )
                .expect("write");
                git(repo, &["add", "-A"]);
            },
            "KLN0132",
        ),
        (
            "a broken kustomization",
            |repo: &Path| {
                let k = repo.join("apps/prod/web/deploy/kustomization.yaml");
                let text = std::fs::read_to_string(&k).expect("readable");
                std::fs::write(
                    &k,
                    text.replace(
                        "../../../base/web/deploy",
                        "../../../base/web/deploy\n- missing.yaml",
                    ),
                )
                .expect("write");
                git(repo, &["add", "-A"]);
            },
            "KLN0107",
        ),
        (
            "a file under secret-decrypted/",
            |repo: &Path| {
                let dir = repo.join("apps/prod/postgres/secret-decrypted");
                std::fs::create_dir_all(&dir).expect("mkdir");
                std::fs::write(dir.join("db.yaml"), "password: hunter2\n").expect("write");
                git(repo, &["add", "-f", "-A"]);
            },
            "KLN0131",
        ),
    ];
    let head = git(&repo, &["rev-parse", "HEAD"]);
    for (what, stage, code) in refusals {
        stage(&repo);
        let out = env.commit(&repo, what);
        let shown = text(&out);
        assert!(!out.status.success(), "{what} is refused:\n{shown}");
        assert!(
            shown.contains("kiln check") && shown.contains(code),
            "{what}: pre-commit shows kiln's {code}:\n{shown}"
        );
        assert!(!shown.contains("hunter2"), "{what}: no secret value shown");
        assert_eq!(
            git(&repo, &["rev-parse", "HEAD"]),
            head,
            "{what}: nothing committed"
        );
        git(&repo, &["reset", "-q", "--hard", "HEAD"]);
        git(&repo, &["clean", "-q", "-f", "-d", "-x", "apps"]);
    }
}
