//! Differential tests against the real tool: every `testdata/render/<case>/` holds a
//! kustomization tree (`input/`), the directory to build (`dir`), and `expected.yaml`, the
//! output of `kubectl kustomize` (kustomize v5.5.0). kiln must print exactly `expected.yaml`;
//! where `kubectl` is installed, `expected.yaml` must also still be what it prints, so the
//! snapshots cannot drift from the reference. The example repository's overlays that need no
//! plugin are compared with `kubectl kustomize` directly.
//!
//! `KILN_BLESS=1` rewrites `expected.yaml` from `kubectl kustomize`.

use std::path::{Path, PathBuf};
use std::process::Command;

use kiln::render::{DiskFiles, Renderer};
use kiln::yaml::emit_documents;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn kiln_build(base: &Path, dir: &str) -> String {
    let files = DiskFiles {
        base: base.to_path_buf(),
    };
    let resources = Renderer::new(&files)
        .render(dir)
        .unwrap_or_else(|e| panic!("kiln build {} {dir}: {e}", base.display()));
    let nodes: Vec<_> = resources.iter().map(|r| &r.node).collect();
    emit_documents(&nodes)
}

/// `kubectl kustomize DIR`, or `None` when kubectl is not installed.
fn kubectl_kustomize(dir: &Path) -> Option<String> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "kubectl kustomize {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).expect("kubectl prints UTF-8"))
}

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join("testdata/render"))
        .expect("testdata/render exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.join("input").is_dir())
        .collect();
    cases.sort();
    cases
}

#[test]
fn render_fixtures_match_kubectl_kustomize() {
    let bless = std::env::var_os("KILN_BLESS").is_some();
    let cases = cases();
    assert!(cases.len() >= 5, "render fixtures missing");
    for case in cases {
        let dir = std::fs::read_to_string(case.join("dir")).expect("case has a dir file");
        let dir = dir.trim();
        let input = case.join("input");
        let expected_path = case.join("expected.yaml");
        if let Some(reference) = kubectl_kustomize(&input.join(dir)) {
            if bless {
                std::fs::write(&expected_path, &reference).expect("writable when blessing");
            }
            let stored = std::fs::read_to_string(&expected_path).expect("expected.yaml");
            assert_eq!(
                stored,
                reference,
                "{}: expected.yaml is stale",
                case.display()
            );
        }
        let expected = std::fs::read_to_string(&expected_path).expect("expected.yaml");
        assert_eq!(kiln_build(&input, dir), expected, "{}", case.display());
    }
}

#[test]
fn example_overlays_match_kubectl_kustomize() {
    let root = Path::new(ROOT);
    let mut compared = 0;
    for env in ["vagrant", "prod"] {
        for app in ["web", "cert-issuer"] {
            let dir = format!("apps/{env}/{app}/deploy");
            let Some(reference) = kubectl_kustomize(&root.join(&dir)) else {
                eprintln!("kubectl is not installed: skipping the example repository comparison");
                return;
            };
            assert_eq!(kiln_build(root, &dir), reference, "{dir}");
            compared += 1;
        }
    }
    assert_eq!(compared, 4);
}
