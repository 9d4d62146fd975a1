//! Interop: resolves every path of five real repositories with kiln's CODEOWNERS resolver
//! and compares status, rule line and owners with `expected_owners.tsv`, produced by an
//! independent resolver (see `shared/interop/codeowners/README.md`).

use std::fs;
use std::path::{Path, PathBuf};

use kiln::codeowners::{Rule, parse};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/interop/codeowners");

const REPOS: [&str; 5] = [
    "DOME-Marketplace__dome-gitops",
    "argoproj__argo-cd",
    "prometheus-community__helm-charts",
    "astral-sh__ruff",
    "grafana-community__helm-charts",
];

/// How many disagreements to print before giving up.
const SHOWN: usize = 20;

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `(status, line, owners)` as written in `expected_owners.tsv`.
fn describe(rule: Option<&Rule>) -> (String, usize, String) {
    match rule {
        None => ("unmatched".to_owned(), 0, String::new()),
        Some(rule) => {
            let owners: Vec<&str> = rule.owners.iter().map(|o| o.text.as_str()).collect();
            let status = if owners.is_empty() {
                "unowned_rule"
            } else {
                "owned"
            };
            (status.to_owned(), rule.line, owners.join(" "))
        }
    }
}

/// Checks one repository; returns the number of paths compared.
fn check_repo(name: &str) -> usize {
    let dir = PathBuf::from(DATA).join(name);
    let (owners, findings) = parse(&read(&dir.join("CODEOWNERS")));
    // The expectations apply every line of these files, so none may be skipped.
    let skipped: Vec<_> = findings.iter().filter(|f| f.kind.skips_line()).collect();
    assert!(skipped.is_empty(), "{name}: lines skipped: {skipped:#?}");

    let files_txt = read(&dir.join("files.txt"));
    let files: Vec<&str> = files_txt.lines().collect();
    let expected_tsv = read(&dir.join("expected_owners.tsv"));
    let expected: Vec<&str> = expected_tsv
        .lines()
        .filter(|line| !line.starts_with('#'))
        .collect();
    assert_eq!(files.len(), expected.len(), "{name}: files.txt vs tsv rows");

    let resolution = owners.resolve_all(&files);
    assert_eq!(resolution.decided_by.len(), files.len());

    let mut disagreements = Vec::new();
    for ((path, row), decided) in files.iter().zip(&expected).zip(&resolution.decided_by) {
        let columns: Vec<&str> = row.split('\t').collect();
        let [want_path, status, line, want_owners] = columns.as_slice() else {
            panic!("{name}: malformed row {row:?}");
        };
        assert_eq!(path, want_path, "{name}: files.txt and tsv out of order");
        let line: usize = line
            .parse()
            .unwrap_or_else(|e| panic!("{name}: bad line in {row:?}: {e}"));
        let want = (status.to_string(), line, want_owners.to_string());
        let by_index = describe(decided.map(|index| &owners.rules[index]));
        let by_scan = describe(owners.owner_of(path));
        if by_index != want || by_scan != want {
            disagreements.push(format!(
                "{path}: expected {want:?}, resolve_all {by_index:?}, owner_of {by_scan:?}"
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{name}: {} of {} paths disagree; first {}:\n{}",
        disagreements.len(),
        files.len(),
        SHOWN.min(disagreements.len()),
        disagreements[..SHOWN.min(disagreements.len())].join("\n")
    );
    files.len()
}

#[test]
fn dome_gitops() {
    check_repo(REPOS[0]);
}

#[test]
fn argo_cd() {
    check_repo(REPOS[1]);
}

#[test]
fn prometheus_helm_charts() {
    check_repo(REPOS[2]);
}

#[test]
fn ruff() {
    check_repo(REPOS[3]);
}

#[test]
fn grafana_helm_charts() {
    check_repo(REPOS[4]);
}

#[test]
fn all_19527_paths() {
    let total: usize = REPOS.iter().map(|name| check_repo(name)).sum();
    assert_eq!(total, 19_527);
}
