//! Data-driven fixture tests: every directory `testdata/<area>/<case>/` is a small
//! repository; `args` (one argument per line, default `check`) says which kiln command
//! to run in it, and `snapshot.txt` holds what a user sees: the exit status, stdout and
//! stderr (colour off). Adding a test means adding a directory.
//!
//! `KILN_BLESS=1 cargo test --test fixtures` writes the snapshots of new or changed
//! cases; review them with `git diff` before committing.

use std::path::{Path, PathBuf};

fn run_case(dir: &Path) -> String {
    let args_file = dir.join("args");
    let args: Vec<String> = match std::fs::read_to_string(&args_file) {
        Ok(text) => text
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        Err(_) => vec!["check".to_string()],
    };
    let mut argv = vec![
        "kiln".to_string(),
        "-C".to_string(),
        dir.join("repo").display().to_string(),
        "--color".to_string(),
        "never".to_string(),
    ];
    argv.extend(args);
    let cli = <kiln::cli::Cli as clap::Parser>::try_parse_from(&argv).expect("fixture args parse");
    let mut out = Vec::new();
    let mut err = Vec::new();
    let status =
        kiln::commands::run(cli, &mut out, &mut err).expect("writing to a Vec cannot fail");
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        status.code(),
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&err)
    )
}

fn cases(area: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(area);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("testdata area exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("repo").is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn check_area(area: &str) {
    let bless = std::env::var_os("KILN_BLESS").is_some();
    let mut failures = Vec::new();
    let cases = cases(area);
    assert!(!cases.is_empty(), "no fixtures in testdata/{area}");
    for dir in cases {
        let got = run_case(&dir);
        let snap = dir.join("snapshot.txt");
        let want = std::fs::read_to_string(&snap).unwrap_or_default();
        if got != want {
            if bless {
                std::fs::write(&snap, &got).expect("testdata is writable when blessing");
            } else {
                failures.push(format!(
                    "== {}\n--- expected\n{want}\n--- got\n{got}",
                    dir.display()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn check_fixtures() {
    check_area("check");
}

/// `testdata/build/<case>/`: `kiln build` on small kustomizations, mostly bad input: each
/// must give a diagnostic with file and line and a non-zero exit, never a panic.
#[test]
fn build_fixtures() {
    check_area("build");
}
