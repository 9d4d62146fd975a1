//! kustomize's output is a fixed point of its own printer: parsing `expected.yaml` of every
//! case in the shared kustomize conformance corpus and emitting it again must give the same
//! bytes. This pins `kiln::yaml::emit_documents` to `kustomize build` (v5.5.0) on real output:
//! key order, quoting, line folding, block scalars and number formatting.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use kiln::yaml::{Node, emit_documents, parse_documents};

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/conformance/kustomize"
);

/// The case directories that hold an `expected.yaml`, sorted.
fn cases() -> Vec<PathBuf> {
    let entries = std::fs::read_dir(CORPUS).expect("the shared conformance corpus is present");
    let mut cases: Vec<PathBuf> = entries
        .map(|e| e.expect("the corpus directory is readable").path())
        .filter(|p| p.join("expected.yaml").is_file())
        .collect();
    cases.sort();
    cases
}

/// Where `got` first differs from `want`: line number and both lines.
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

/// Emits a case's expected output again, or says why it could not be read.
fn reemit(case: &Path) -> Result<(String, String), String> {
    let want = std::fs::read_to_string(case.join("expected.yaml")).map_err(|e| e.to_string())?;
    let docs = parse_documents(&want).map_err(|e| format!("does not parse: {e}"))?;
    let roots: Vec<&Node> = docs.iter().map(|d| &d.root).collect();
    Ok((want, emit_documents(&roots)))
}

#[test]
fn expected_output_is_a_fixed_point_of_the_emitter() {
    let cases = cases();
    assert!(
        cases.len() >= 400,
        "corpus incomplete: {} cases",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match reemit(case) {
            Ok((want, got)) if want == got => {}
            Ok((want, got)) => failures.push((name, first_difference(&want, &got))),
            Err(why) => failures.push((name, why)),
        }
    }
    let matched = cases.len() - failures.len();
    println!("{matched}/{} byte-identical", cases.len());
    if !failures.is_empty() {
        let mut report = format!(
            "{matched}/{} cases byte-identical; {} differ:\n",
            cases.len(),
            failures.len()
        );
        for (name, diff) in failures.iter().take(5) {
            let _ = writeln!(report, "{name}: {diff}");
        }
        panic!("{report}");
    }
}
