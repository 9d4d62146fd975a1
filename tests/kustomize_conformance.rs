//! The kustomize conformance corpus (../shared/conformance/kustomize, 408 real cases with
//! `kubectl kustomize` v5.5.0 output): `kiln build` must print every case byte for byte.
//!
//! The test renders every case in-process, prints the score, and fails when it drops below
//! [`BAR`], the score reached so far: raise the bar with every fix, so the score only goes up.
//! `KILN_CONFORMANCE_VERBOSE=1` prints the first difference of every failing case.

use std::path::{Path, PathBuf};

use kiln::render::{DiskFiles, render_dir};
use kiln::yaml::emit_documents;

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/conformance/kustomize"
);

/// Cases that must pass (the score reached so far).
const BAR: usize = 408;

fn cases() -> Vec<PathBuf> {
    let entries = std::fs::read_dir(CORPUS).expect("the shared conformance corpus is present");
    let mut cases: Vec<PathBuf> = entries
        .map(|e| e.expect("the corpus directory is readable").path())
        .filter(|p| p.join("expected.yaml").is_file())
        .collect();
    cases.sort();
    cases
}

fn case_dir(case: &Path) -> PathBuf {
    let meta = std::fs::read_to_string(case.join("case.json")).expect("case.json is readable");
    let meta: serde_json::Value = serde_json::from_str(&meta).expect("case.json is JSON");
    let path = meta["path"].as_str().expect("case.json has a path");
    case.join(path)
}

fn first_difference(want: &str, got: &str) -> String {
    let (mut w, mut g) = (want.split_inclusive('\n'), got.split_inclusive('\n'));
    for line in 1.. {
        match (w.next(), g.next()) {
            (Some(a), Some(b)) if a == b => {}
            (None, None) => break,
            (a, b) => {
                return format!(
                    "line {line}:\n  kustomize: {:?}\n  kiln:      {:?}",
                    a.unwrap_or("<end>"),
                    b.unwrap_or("<end>")
                );
            }
        }
    }
    "identical".to_owned()
}

/// Renders one case: `Ok(())` when identical, else what differs.
fn check(case: &Path) -> Result<(), String> {
    let want = std::fs::read_to_string(case.join("expected.yaml")).map_err(|e| e.to_string())?;
    let dir = case_dir(case);
    let resources = render_dir(&DiskFiles::default(), &dir.to_string_lossy())
        .map_err(|e| format!("error: {e}"))?;
    let nodes: Vec<_> = resources.iter().map(|r| &r.node).collect();
    let got = emit_documents(&nodes);
    if got == want {
        Ok(())
    } else {
        Err(first_difference(&want, &got))
    }
}

#[test]
fn conformance_corpus_renders_byte_for_byte() {
    let cases = cases();
    assert!(
        cases.len() >= 400,
        "corpus incomplete: {} cases",
        cases.len()
    );
    let verbose = std::env::var_os("KILN_CONFORMANCE_VERBOSE").is_some();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let outcome =
            std::panic::catch_unwind(|| check(case)).unwrap_or_else(|_| Err("panicked".to_owned()));
        if let Err(why) = outcome {
            failures.push((name, why));
        }
    }
    let passed = cases.len() - failures.len();
    if verbose {
        for (name, why) in &failures {
            eprintln!("FAIL {name}\n  {why}");
        }
    }
    eprintln!(
        "kustomize conformance: {passed}/{} byte-identical",
        cases.len()
    );
    assert!(
        passed >= BAR,
        "conformance dropped below the bar: {passed} < {BAR}; run with KILN_CONFORMANCE_VERBOSE=1"
    );
}
