//! End-to-end tests of `kiln secrets` on small repositories built in temporary directories,
//! with the public example age key (testdata/keys/example.agekey): the app round trip, stable
//! ciphertext for unchanged plaintext, `status`, `rotate` touching only the named files, the
//! `sops -e`/`sops -d` drop-ins, `edit` with scripted editors, the git-ignore guard, and a canary
//! check that failing runs never print plaintext.
//!
//! Every run is hermetic: the key comes only from `SOPS_AGE_KEY_FILE` (or nowhere), `HOME` and
//! `TMPDIR` point into the test's directory, git reads no user configuration.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
/// The example key's recipient.
const R1: &str = "age184m538ykd59z6pve834jjurs8v8lszjkzy3vlxrlj8mgcvcayfsq9l9j3m";
/// Another recipient (its identity is not known to the tests).
const R2: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
/// Recognisable plaintext that must never appear in any message.
const CANARY: &str = "CANARY-pl41nt3xt-7f3a";
const CANARY2: &str = "CANARY-s3cond-91bc";

const APP: &str = "apps/dev/db";
const PLAIN: &str = "apps/dev/db/secret-decrypted/creds.yaml";
const ENC: &str = "apps/dev/db/secret/creds.yaml";

fn example_key() -> PathBuf {
    Path::new(MANIFEST_DIR).join("testdata/keys/example.agekey")
}

fn sops_yaml() -> String {
    format!(
        "creation_rules:\n- path_regex: secret/.*\\.yaml$\n  encrypted_regex: ^(data|stringData)$\n  age: {R1}\n"
    )
}

/// The plaintext as kiln writes it back (sops' YAML layout: 4-space indent).
fn plaintext(user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n    name: creds\ntype: Opaque\nstringData:\n    USER: {user}\n    PASSWORD: {CANARY}\n"
    )
}

/// A committed repository with two apps holding plaintext copies, `secret-decrypted/` ignored.
struct Repo {
    tmp: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let tmp = tempfile::tempdir().expect("tempdir");
        let repo = Repo { tmp };
        repo.write(".gitignore", "secret-decrypted/\n");
        for app in ["apps/dev/db", "apps/dev/web"] {
            repo.write(&format!("{app}/.sops.yaml"), &sops_yaml());
            repo.write(&format!("{app}/kustomization.yaml"), "resources: []\n");
        }
        repo.write(PLAIN, &plaintext("admin"));
        repo.write(
            "apps/dev/web/secret-decrypted/token.yaml",
            &format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n    name: token\nstringData:\n    TOKEN: {CANARY2}\n"
            ),
        );
        std::fs::create_dir_all(repo.path().join("tmp")).expect("mkdir tmp");
        repo.write("tmp/.gitignore", "*\n");
        repo.git(&["init", "-q"]);
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "init"]);
        repo
    }

    fn path(&self) -> &Path {
        self.tmp.path()
    }

    fn join(&self, rel: &str) -> PathBuf {
        self.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.join(rel)).expect("read")
    }

    fn bytes(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.join(rel)).expect("read")
    }

    fn git(&self, args: &[&str]) {
        let status = Command::new("git")
            .current_dir(self.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .args(["-c", "user.name=kiln", "-c", "user.email=kiln@example.org"])
            .args(["-c", "init.defaultBranch=main"])
            .args(args)
            .stdout(Stdio::null())
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    /// The private temporary folder kiln runs get as TMPDIR.
    fn tmpdir(&self) -> PathBuf {
        self.join("tmp")
    }

    /// Runs kiln in the repository with the example key.
    fn kiln(&self, args: &[&str]) -> Output {
        self.kiln_with(args, Some(&example_key()), &[])
    }

    /// Runs kiln in `self.path()` with a key file (or none) and extra environment variables.
    fn kiln_with(&self, args: &[&str], key: Option<&Path>, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
        for var in [
            "SOPS_AGE_KEY",
            "SOPS_AGE_KEY_FILE",
            "XDG_CONFIG_HOME",
            "GIT_INDEX_FILE",
            "EDITOR",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("HOME", self.path())
            .env("TMPDIR", self.tmpdir())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1");
        if let Some(key) = key {
            cmd.env("SOPS_AGE_KEY_FILE", key);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.current_dir(self.path())
            .args(["--color", "never", "secrets"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("kiln runs")
    }

    /// Writes an executable editor script and returns its path.
    fn editor(&self, name: &str, body: &str) -> String {
        let path = self.join(&format!("tmp/{name}"));
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write editor");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        path.display().to_string()
    }

    /// Files kiln left in TMPDIR (the editor scripts and logs aside).
    fn leftovers(&self) -> Vec<String> {
        std::fs::read_dir(self.tmpdir())
            .expect("tmpdir")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("kiln"))
            .collect()
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn assert_ok(o: &Output) {
    assert_eq!(code(o), 0, "stdout:\n{}\nstderr:\n{}", stdout(o), stderr(o));
}

/// Neither output stream holds a canary value.
#[track_caller]
fn assert_no_plaintext(o: &Output) {
    for canary in [CANARY, CANARY2] {
        for (name, text) in [("stdout", stdout(o)), ("stderr", stderr(o))] {
            assert!(!text.contains(canary), "{name} leaks plaintext:\n{text}");
        }
    }
}

/// The armored age `enc` blocks of a SOPS YAML file, unindented.
fn enc_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed == "-----BEGIN AGE ENCRYPTED FILE-----" {
            current = Some(String::new());
        }
        if let Some(block) = current.as_mut() {
            block.push_str(trimmed);
            block.push('\n');
        }
        if trimmed == "-----END AGE ENCRYPTED FILE-----" {
            blocks.extend(current.take());
        }
    }
    blocks
}

/// The data key in an `enc` block, decrypted by the `age` command line tool; `None` when the
/// tool is not installed.
fn age_data_key(block: &str) -> Option<Vec<u8>> {
    let mut child = Command::new("age")
        .args(["--decrypt", "-i"])
        .arg(example_key())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    {
        use std::io::Write;
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(block.as_bytes()).expect("write");
    }
    let out = child.wait_with_output().expect("age finishes");
    assert!(
        out.status.success(),
        "age: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), 32, "a sops data key is 32 bytes");
    Some(out.stdout)
}

#[test]
fn encrypt_and_decrypt_an_app_round_trip() {
    let repo = Repo::new();
    let o = repo.kiln(&["encrypt", APP]);
    assert_ok(&o);
    assert_no_plaintext(&o);
    assert!(stderr(&o).contains("1 file encrypted"), "{}", stderr(&o));
    let enc = repo.read(ENC);
    assert!(!enc.contains(CANARY), "ciphertext holds plaintext");
    assert!(
        enc.contains("encrypted_regex: ^(data|stringData)$"),
        "{enc}"
    );
    assert!(
        enc.contains("    name: creds\n"),
        "metadata stays in clear: {enc}"
    );
    assert!(enc.contains(&format!("recipient: {R1}")), "{enc}");

    std::fs::remove_dir_all(repo.join("apps/dev/db/secret-decrypted")).expect("rm");
    let o = repo.kiln(&["decrypt", "dev/db"]);
    assert_ok(&o);
    assert_no_plaintext(&o);
    assert_eq!(repo.read(PLAIN), plaintext("admin"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |rel: &str| {
            std::fs::metadata(repo.join(rel))
                .expect("meta")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(PLAIN), 0o600);
        assert_eq!(mode("apps/dev/db/secret-decrypted"), 0o700);
    }
    // Decrypting again changes nothing.
    let o = repo.kiln(&["decrypt", APP]);
    assert_ok(&o);
    assert!(
        stderr(&o).contains("0 files decrypted, 1 unchanged"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_unchanged_app_encrypts_to_the_same_bytes() {
    let repo = Repo::new();
    assert_ok(&repo.kiln(&["encrypt", APP]));
    let first = repo.bytes(ENC);
    let o = repo.kiln(&["encrypt", APP]);
    assert_ok(&o);
    assert!(
        stderr(&o).contains("0 files encrypted, 1 unchanged"),
        "{}",
        stderr(&o)
    );
    assert_eq!(repo.bytes(ENC), first);

    // Formatting is not content: a re-indented plaintext with the same values is unchanged.
    repo.write(
        PLAIN,
        &plaintext("admin")
            .replace("    ", "  ")
            .replace("type: Opaque\n", "type: 'Opaque'\n"),
    );
    assert_ok(&repo.kiln(&["encrypt", APP]));
    assert_eq!(repo.bytes(ENC), first);

    // A changed value is re-encrypted with the same data key (the `enc` block is kept).
    repo.write(PLAIN, &plaintext("root"));
    let o = repo.kiln(&["encrypt", APP]);
    assert_ok(&o);
    let second = repo.read(ENC);
    assert_ne!(second.as_bytes(), first.as_slice());
    assert_eq!(
        enc_blocks(&second),
        enc_blocks(&String::from_utf8(first).expect("utf8"))
    );
    let o = repo.kiln(&["decrypt", ENC]);
    assert_ok(&o);
    assert_eq!(stdout(&o), plaintext("root"));

    // Changed recipients in .sops.yaml re-encrypt an unchanged plaintext for them.
    repo.write(
        "apps/dev/db/.sops.yaml",
        &sops_yaml().replace(&format!("age: {R1}"), &format!("age: {R1},{R2}")),
    );
    assert_ok(&repo.kiln(&["encrypt", APP]));
    let third = repo.read(ENC);
    assert!(third.contains(R2), "{third}");
    assert_eq!(enc_blocks(&third).len(), 2);
}

#[test]
fn status_reports_each_file() {
    let repo = Repo::new();
    let o = repo.kiln(&["status"]);
    assert_ok(&o);
    let out = stdout(&o);
    let db = out.lines().find(|l| l.starts_with(ENC)).expect("db row");
    assert!(
        db.contains("missing") && db.contains("not-encrypted-yet"),
        "{out}"
    );

    assert_ok(&repo.kiln(&["encrypt", APP]));
    let o = repo.kiln(&["status", APP]);
    assert_ok(&o);
    assert_no_plaintext(&o);
    let out = stdout(&o);
    assert!(out.starts_with("FILE"), "{out}");
    let row = out.lines().find(|l| l.starts_with(ENC)).expect("row");
    for word in ["yes", "verified", "up-to-date", R1] {
        assert!(row.contains(word), "{word}: {row}");
    }
    assert!(!out.contains("apps/dev/web"), "only the named app: {out}");

    // A plaintext copy older than its encrypted file, with other values, is stale.
    repo.write(PLAIN, &plaintext("old"));
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(repo.join(PLAIN))
        .expect("open")
        .set_modified(old)
        .expect("set mtime");
    let o = repo.kiln(&["status", APP]);
    assert!(stdout(&o).contains("stale"), "{}", stdout(&o));
    // Decrypting refreshes a stale copy.
    assert_ok(&repo.kiln(&["decrypt", APP]));
    assert_eq!(repo.read(PLAIN), plaintext("admin"));

    // A newer one holds changes not encrypted yet; decrypting does not overwrite them.
    repo.write(PLAIN, &plaintext("newer"));
    let o = repo.kiln(&["status", APP, "--format", "json"]);
    assert_ok(&o);
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let file = &json["files"][0];
    assert_eq!(file["file"], ENC);
    assert_eq!(file["plaintext"], "not-encrypted-yet");
    assert_eq!(file["mac"], "verified");
    assert_eq!(file["recipients"][0], R1);
    let o = repo.kiln(&["decrypt", APP]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("KLN0144"), "{}", stderr(&o));
    assert_no_plaintext(&o);
    assert_eq!(repo.read(PLAIN), plaintext("newer"));

    // Without a key: encrypted, for whom, but the MAC cannot be checked.
    let o = repo.kiln_with(&["status", APP], None, &[]);
    assert_ok(&o);
    let row = stdout(&o);
    assert!(row.contains("no-key") && row.contains(R1), "{row}");

    // A tampered file fails the status.
    let enc = repo.read(ENC);
    let at = enc.find("USER: ENC[AES256_GCM,data:").expect("value") + 26;
    let mut tampered = enc.into_bytes();
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(repo.join(ENC), tampered).expect("write");
    let o = repo.kiln(&["status", APP]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stdout(&o).contains("mismatch"), "{}", stdout(&o));
    assert!(stderr(&o).contains("KLN0142"), "{}", stderr(&o));
    assert_no_plaintext(&o);
}

#[test]
fn rotate_changes_only_the_named_files() {
    let repo = Repo::new();
    assert_ok(&repo.kiln(&["encrypt", APP]));
    assert_ok(&repo.kiln(&["encrypt", "apps/dev/web"]));
    let web = "apps/dev/web/secret/token.yaml";
    let (db_before, web_before) = (repo.read(ENC), repo.bytes(web));

    let o = repo.kiln(&["rotate", ENC]);
    assert_ok(&o);
    assert_no_plaintext(&o);
    let db_after = repo.read(ENC);
    assert_eq!(repo.bytes(web), web_before, "an unrelated file changed");
    assert_ne!(enc_blocks(&db_after), enc_blocks(&db_before));
    if let (Some(before), Some(after)) = (
        age_data_key(&enc_blocks(&db_before)[0]),
        age_data_key(&enc_blocks(&db_after)[0]),
    ) {
        assert_ne!(before, after, "rotate must draw a new data key");
    }
    let o = repo.kiln(&["decrypt", ENC]);
    assert_ok(&o);
    assert_eq!(stdout(&o), plaintext("admin"));

    // New recipients, for a whole app.
    let o = repo.kiln(&["rotate", APP, "--add-age", R2]);
    assert_ok(&o);
    assert!(stderr(&o).contains(&format!("+{R2}")), "{}", stderr(&o));
    let text = repo.read(ENC);
    assert!(text.contains(R1) && text.contains(R2), "{text}");
    assert_eq!(repo.bytes(web), web_before);
    let o = repo.kiln(&["status", APP]);
    assert!(stdout(&o).contains(&format!("{R1},{R2}")), "{}", stdout(&o));

    // Without the example recipient, the example key no longer opens it: exit 2.
    assert_ok(&repo.kiln(&["rotate", ENC, "--rm-age", R1]));
    let o = repo.kiln(&["decrypt", ENC]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("KLN0141"), "{}", stderr(&o));
    assert_no_plaintext(&o);

    // Removing the last recipient is refused, and nothing is written.
    let before = repo.bytes(web);
    let o = repo.kiln(&["rotate", web, "--rm-age", R1]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no age recipient would be left"),
        "{}",
        stderr(&o)
    );
    assert_eq!(repo.bytes(web), before);
}

#[test]
fn encrypt_and_decrypt_single_files_like_sops() {
    let repo = Repo::new();
    // `--age` replaces the rules' keys; the output decrypts with the MAC verified.
    let o = repo.kiln(&["encrypt", PLAIN, "--age", &format!("{R2},{R1}")]);
    assert_ok(&o);
    assert!(!stdout(&o).contains(CANARY));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    repo.write("out.yaml", &stdout(&o));
    assert_eq!(enc_blocks(&stdout(&o)).len(), 2);
    // The `age` tool opens the data key stanza kiln wrote.
    let blocks = enc_blocks(&stdout(&o));
    let _ = age_data_key(&blocks[1]);
    let o = repo.kiln(&["decrypt", "out.yaml"]);
    assert_ok(&o);
    assert_eq!(stdout(&o), plaintext("admin"));

    // Without `--age`, the `.sops.yaml` rule matching the file decides; the plaintext path
    // matches no rule (as with sops), unless the rules are matched by another name.
    let o = repo.kiln(&["encrypt", PLAIN]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("KLN0140"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    let o = repo.kiln(&["encrypt", PLAIN, "--filename-override", ENC]);
    assert_ok(&o);
    let text = stdout(&o);
    assert!(
        text.contains("encrypted_regex: ^(data|stringData)$"),
        "{text}"
    );
    assert!(text.contains("    name: creds\n"), "{text}");

    // Relative to the current directory, as sops.
    let o = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .current_dir(repo.join(APP))
        .env_remove("SOPS_AGE_KEY")
        .env("HOME", repo.path())
        .env("SOPS_AGE_KEY_FILE", example_key())
        .args([
            "secrets",
            "encrypt",
            "secret-decrypted/creds.yaml",
            "--filename-override",
        ])
        .arg("secret/creds.yaml")
        .output()
        .expect("kiln runs");
    assert_ok(&o);
    assert!(stdout(&o).contains("encrypted_regex"), "{}", stdout(&o));
}

#[test]
fn edit_re_encrypts_only_a_changed_file_and_removes_its_copy() {
    let repo = Repo::new();
    assert_ok(&repo.kiln(&["encrypt", APP]));
    let log = repo.join("tmp/editor.log");
    let log = log.display();

    // An editor that changes nothing: the file keeps its bytes.
    let before = repo.bytes(ENC);
    let noop = repo.editor(
        "noop.sh",
        &format!("echo \"$1\" >> {log}\nls -ld \"$(dirname \"$1\")\" \"$1\" >> {log}"),
    );
    let o = repo.kiln_with(&["edit", ENC], Some(&example_key()), &[("EDITOR", &noop)]);
    assert_ok(&o);
    assert_no_plaintext(&o);
    assert_eq!(repo.bytes(ENC), before);
    let logged = repo.read("tmp/editor.log");
    let copy = logged
        .lines()
        .next()
        .expect("the editor got a file")
        .to_owned();
    assert!(copy.ends_with("/creds.yaml"), "{logged}");
    assert!(
        logged.contains("drwx------") && logged.contains("-rw-------"),
        "{logged}"
    );
    assert!(
        !Path::new(&copy).exists(),
        "the temporary copy is left: {copy}"
    );
    assert!(repo.leftovers().is_empty(), "{:?}", repo.leftovers());

    // An editor that changes a value: re-encrypted with the same data key.
    let change = repo.editor(
        "change.sh",
        &format!("echo \"$1\" >> {log}\nsed -i.bak 's/USER: admin/USER: edited/' \"$1\""),
    );
    let o = repo.kiln_with(&["edit", ENC], Some(&example_key()), &[("EDITOR", &change)]);
    assert_ok(&o);
    assert_no_plaintext(&o);
    let after = repo.read(ENC);
    assert_ne!(after.as_bytes(), before.as_slice());
    assert_eq!(
        enc_blocks(&after),
        enc_blocks(&String::from_utf8(before).expect("utf8"))
    );
    let o = repo.kiln(&["decrypt", ENC]);
    assert_eq!(stdout(&o), plaintext("edited"));
    assert!(repo.leftovers().is_empty(), "{:?}", repo.leftovers());

    // A failing editor: nothing written, exit 2, the copy removed.
    let before = repo.bytes(ENC);
    let fail = repo.editor(
        "fail.sh",
        "sed -i 's/USER: edited/USER: lost/' \"$1\"\nexit 3",
    );
    let o = repo.kiln_with(&["edit", ENC], Some(&example_key()), &[("EDITOR", &fail)]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("KLN0145"), "{}", stderr(&o));
    assert_no_plaintext(&o);
    assert_eq!(repo.bytes(ENC), before);
    assert!(repo.leftovers().is_empty(), "{:?}", repo.leftovers());

    // An edit that breaks the document: refused without a terminal, nothing written.
    let broken = repo.editor(
        "broken.sh",
        &format!("printf 'stringData:\\n  X: {CANARY}\\n  - [\\n' > \"$1\""),
    );
    let o = repo.kiln_with(&["edit", ENC], Some(&example_key()), &[("EDITOR", &broken)]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("KLN0143"), "{}", stderr(&o));
    assert_no_plaintext(&o);
    assert_eq!(repo.bytes(ENC), before);
    assert!(repo.leftovers().is_empty(), "{:?}", repo.leftovers());
}

/// Ctrl-C reaches the whole foreground process group: kiln and the editor. kiln must survive it
/// to remove the plaintext copy; the editor decides what Ctrl-C means.
#[cfg(unix)]
#[test]
fn ctrl_c_while_editing_leaves_no_copy_behind() {
    use std::os::unix::process::CommandExt;
    let repo = Repo::new();
    assert_ok(&repo.kiln(&["encrypt", APP]));
    let run = |editor: &str| {
        // A test runner started in the background (`cmd &` in a CI script) inherits SIGINT
        // ignored, and an ignored signal stays ignored through exec: the "dies" editor below
        // would survive. Give kiln, and through it the editor, the default disposition a
        // terminal's foreground job has (GNU env).
        Command::new("env")
            .arg("--default-signal=INT")
            .arg(env!("CARGO_BIN_EXE_kiln"))
            .current_dir(repo.path())
            .env_remove("SOPS_AGE_KEY")
            .env_remove("XDG_CONFIG_HOME")
            .env("HOME", repo.path())
            .env("TMPDIR", repo.tmpdir())
            .env("SOPS_AGE_KEY_FILE", example_key())
            .env("EDITOR", editor)
            .args(["--color", "never", "secrets", "edit", ENC])
            .stdin(Stdio::null())
            // Its own process group, so `kill 0` in the editor spares the test runner.
            .process_group(0)
            .output()
            .expect("kiln runs")
    };
    // An editor that handles Ctrl-C (as vi does) and saves afterwards.
    let survives = repo.editor(
        "survives.sh",
        "trap '' INT\nkill -INT 0\nsed -i 's/USER: admin/USER: after-ctrl-c/' \"$1\"",
    );
    let o = run(&survives);
    assert_ok(&o);
    assert_no_plaintext(&o);
    let o = repo.kiln(&["decrypt", ENC]);
    assert_eq!(stdout(&o), plaintext("after-ctrl-c"));
    assert!(repo.leftovers().is_empty(), "{:?}", repo.leftovers());

    // An editor killed by it: kiln reports it, writes nothing, removes the copy.
    let before = repo.bytes(ENC);
    let dies = repo.editor(
        "dies.sh",
        "sed -i 's/USER: after-ctrl-c/USER: lost/' \"$1\"\nkill -INT 0\nsleep 5",
    );
    let o = run(&dies);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("KLN0145"), "{}", stderr(&o));
    assert_no_plaintext(&o);
    assert_eq!(repo.bytes(ENC), before);
    assert!(repo.leftovers().is_empty(), "{:?}", repo.leftovers());
}

#[test]
fn decrypting_into_a_folder_git_does_not_ignore_is_refused() {
    let repo = Repo::new();
    assert_ok(&repo.kiln(&["encrypt", APP]));
    std::fs::remove_dir_all(repo.join("apps/dev/db/secret-decrypted")).expect("rm");
    repo.write(".gitignore", "");
    let o = repo.kiln(&["decrypt", APP]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("KLN0130"), "{}", stderr(&o));
    assert!(!repo.join("apps/dev/db/secret-decrypted").exists());

    // Ignored, but with a tracked file inside: refused too.
    repo.write(".gitignore", "secret-decrypted/\n");
    repo.write("apps/dev/db/secret-decrypted/old.yaml", "a: b\n");
    repo.git(&["add", "-f", "apps/dev/db/secret-decrypted/old.yaml"]);
    let o = repo.kiln(&["decrypt", APP]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("KLN0131"), "{}", stderr(&o));
    assert!(!repo.join(PLAIN).exists());
}

#[test]
fn failing_runs_never_print_plaintext() {
    let repo = Repo::new();
    assert_ok(&repo.kiln(&["encrypt", APP]));
    assert_ok(&repo.kiln(&["encrypt", "apps/dev/web"]));
    let good = repo.read(ENC);

    let mut runs: Vec<(&str, Output, i32)> = Vec::new();
    // No key.
    runs.push(("no key", repo.kiln_with(&["decrypt", ENC], None, &[]), 2));
    runs.push((
        "no key, app",
        repo.kiln_with(&["decrypt", APP], None, &[]),
        2,
    ));
    // A tampered value and a tampered MAC.
    let tampered = good.replacen("data:", "data:AAAA", 1);
    repo.write(ENC, &tampered);
    runs.push(("tampered value", repo.kiln(&["decrypt", ENC]), 1));
    let mac_at = good.find("mac: ENC[AES256_GCM,data:").expect("mac") + 25;
    let mut bad_mac = good.clone().into_bytes();
    bad_mac[mac_at] = if bad_mac[mac_at] == b'A' { b'B' } else { b'A' };
    std::fs::write(repo.join(ENC), &bad_mac).expect("write");
    runs.push(("tampered mac", repo.kiln(&["decrypt", ENC]), 1));
    runs.push(("status", repo.kiln(&["status"]), 1));
    runs.push(("rotate", repo.kiln(&["rotate", ENC]), 1));
    // A plaintext file where an encrypted one belongs.
    repo.write(ENC, &plaintext("admin"));
    runs.push(("not sops", repo.kiln(&["decrypt", ENC]), 1));
    runs.push(("not sops, app", repo.kiln(&["decrypt", APP]), 1));
    repo.write(ENC, &good);
    // Plaintext that cannot be encrypted.
    repo.write(
        PLAIN,
        &format!("stringData:\n  A: {CANARY}\n  A: {CANARY2}\n"),
    );
    runs.push(("duplicate key", repo.kiln(&["encrypt", APP]), 1));
    repo.write(PLAIN, &format!("stringData:\n  A: {CANARY}\n  - [\n"));
    runs.push(("invalid yaml", repo.kiln(&["encrypt", APP]), 1));
    runs.push((
        "bad recipient",
        repo.kiln(&[
            "encrypt",
            "apps/dev/web/secret-decrypted/token.yaml",
            "--age",
            "age1nope",
        ]),
        1,
    ));
    // A broken .sops.yaml.
    repo.write(
        "apps/dev/web/.sops.yaml",
        "creation_rules:\n- path_regex: '('\n",
    );
    repo.write(
        "apps/dev/web/secret-decrypted/token.yaml",
        &format!("stringData:\n  TOKEN: {CANARY2}-changed\n"),
    );
    runs.push(("bad config", repo.kiln(&["encrypt", "apps/dev/web"]), 2));

    for (what, o, expected) in &runs {
        assert_eq!(code(o), *expected, "{what}: {}", stderr(o));
        assert!(!stderr(o).is_empty(), "{what}: no diagnostic");
        assert!(stderr(o).contains("KLN0"), "{what}: {}", stderr(o));
        assert_no_plaintext(o);
    }
    // Nothing was written by the failing runs: the encrypted files are as they were.
    assert_eq!(repo.read(ENC), good);
    assert!(repo.leftovers().is_empty(), "{:?}", repo.leftovers());
}
