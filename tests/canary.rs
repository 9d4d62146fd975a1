//! The no-plaintext guarantee, tested with canaries: recognisable values are planted in the
//! example repository's encrypted secrets, every command runs (successfully and not), and no
//! byte of any output, message, file written or git object contains them, in clear or in
//! base64. Only the two commands whose job is to print plaintext on request (`kiln build
//! --decrypt`, `kiln secrets decrypt FILE`) are excluded, and they are checked to need asking.

mod common;

use std::path::Path;

use common::{example_key, example_repo, git, kiln};

const CANARIES: [&str; 2] = ["canary-pw-4f9e1c", "canary-user-8b27d0"];

fn planted(haystack: &[u8]) -> Option<String> {
    use base64::Engine as _;
    let text = String::from_utf8_lossy(haystack);
    for canary in CANARIES {
        let b64 = base64::engine::general_purpose::STANDARD.encode(canary);
        // A base64 encoding inside a longer value shifts; its stable core still shows.
        let core = &b64[..b64.len() - 4];
        if text.contains(canary) || text.contains(core) {
            return Some(canary.to_owned());
        }
    }
    None
}

fn assert_clean(what: &str, bytes: &[u8]) {
    if let Some(canary) = planted(bytes) {
        panic!("{what} contains the canary {canary}");
    }
}

/// Every file under `dir`, recursively (git objects included: they are compressed, so a
/// canary could only appear in a loose, uncompressed file kiln wrote by mistake).
fn assert_tree_clean(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            assert_tree_clean(&path);
        } else {
            assert_clean(
                &path.display().to_string(),
                &std::fs::read(&path).expect("readable"),
            );
        }
    }
}

/// Re-encrypts the example's secrets with canary values, through `kiln secrets`.
fn plant(repo: &Path, env: &[(&str, &Path)]) {
    for env_name in ["vagrant", "prod"] {
        let secret = format!("apps/{env_name}/postgres/secret/postgres-credentials.yaml");
        let o = kiln(repo, &["secrets", "decrypt", &secret], env);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let plain: String = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|line| {
                let key = line.trim_start().split(':').next().unwrap_or_default();
                let indent = &line[..line.len() - line.trim_start().len()];
                match key {
                    "POSTGRES_PASSWORD" => format!("{indent}POSTGRES_PASSWORD: {}\n", CANARIES[0]),
                    "POSTGRES_USER" => format!("{indent}POSTGRES_USER: {}\n", CANARIES[1]),
                    _ => format!("{line}\n"),
                }
            })
            .collect();
        assert!(
            plain.contains(CANARIES[0]) && plain.contains(CANARIES[1]),
            "{plain}"
        );
        let plain_path = repo.join("plain.yaml");
        std::fs::write(&plain_path, plain).expect("write");
        let o = kiln(
            repo,
            &[
                "secrets",
                "encrypt",
                "plain.yaml",
                "--age",
                "age184m538ykd59z6pve834jjurs8v8lszjkzy3vlxrlj8mgcvcayfsq9l9j3m",
            ],
            env,
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::remove_file(&plain_path).expect("remove");
        std::fs::write(repo.join(&secret), &o.stdout).expect("write");
    }
    git(repo, &["commit", "-q", "-am", "canary secrets"]);
}

#[test]
fn no_command_leaks_a_planted_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    example_repo(&repo);
    let key = example_key();
    let with_key = [("SOPS_AGE_KEY_FILE", key.as_path())];
    plant(&repo, &with_key);
    let out = dir.path().join("out");
    let out_arg = out.to_string_lossy().into_owned();

    // Change a plaintext value in the work tree for `diff` (without committing).
    let o = kiln(
        &repo,
        &[
            "secrets",
            "decrypt",
            "apps/vagrant/postgres/secret/postgres-credentials.yaml",
        ],
        &with_key,
    );
    let changed = String::from_utf8_lossy(&o.stdout).replace(CANARIES[0], "canary-pw-4f9e1c-v2");
    std::fs::write(repo.join("changed.yaml"), changed).expect("write");

    let runs: Vec<(Vec<&str>, bool)> = vec![
        (vec!["check"], true),
        (vec!["check", "--staged"], true),
        (vec!["--format", "json", "check"], true),
        (vec!["check", "--rev", "HEAD"], true),
        // Again: now from the cache.
        (vec!["-vv", "check", "--rev", "HEAD"], true),
        (vec!["check", "--rev", "HEAD"], false),
        (vec!["build", "apps/vagrant/postgres/deploy"], true),
        (vec!["compile", "--all", "--out", &out_arg], true),
        (vec!["-vv", "compile", "--all", "--out", &out_arg], true),
        (vec!["publish", "--env", "vagrant"], true),
        (vec!["publish", "--env", "prod"], true),
        (vec!["publish", "--env", "prod", "--dry-run"], true),
        (vec!["diff", "--base", "HEAD"], true),
        (vec!["--format", "markdown", "diff", "--base", "HEAD"], true),
        (vec!["--format", "json", "diff", "--base", "HEAD"], true),
        (vec!["secrets", "status"], true),
        (vec!["--format", "json", "secrets", "status"], true),
        (vec!["secrets", "encrypt", "apps/vagrant/postgres"], true),
        (vec!["images", "--env", "vagrant"], true),
        (
            vec![
                "owners",
                "apps/vagrant/postgres/secret/postgres-credentials.yaml",
            ],
            true,
        ),
        // Without a key: failures must not leak either.
        (vec!["compile", "--all", "--out", &out_arg], false),
        (vec!["build", "apps/prod/postgres/deploy"], false),
        (vec!["diff", "--base", "HEAD"], false),
        (vec!["secrets", "status"], false),
    ];
    for (args, key) in &runs {
        let env: &[(&str, &Path)] = if *key { &with_key } else { &[] };
        let o = kiln(&repo, args, env);
        assert_clean(&format!("stdout of {args:?}"), &o.stdout);
        assert_clean(&format!("stderr of {args:?}"), &o.stderr);
    }
    std::fs::remove_file(repo.join("changed.yaml")).expect("remove");

    // Files kiln wrote (its cache included), and every git object of every branch (rendered
    // ones included).
    assert_tree_clean(&out);
    let cache = repo.join(".git/kiln/cache");
    assert!(cache.join("check").is_dir(), "the checks filled the cache");
    assert_tree_clean(&cache);
    let history = git(&repo, &["log", "--all", "-p", "--format=%H %s%n%b"]);
    assert_clean("git history", history.as_bytes());
    let notes = git(&repo, &["log", "-p", "refs/notes/hydrator.metadata"]);
    assert_clean("notes", notes.as_bytes());

    // The commands that print plaintext do so only on request.
    let o = kiln(
        &repo,
        &["build", "--decrypt", "apps/vagrant/postgres/deploy"],
        &with_key,
    );
    assert!(
        planted(&o.stdout).is_some(),
        "build --decrypt prints the Secret"
    );
}
