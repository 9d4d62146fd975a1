//! The kustomization loader and renderer on arbitrary input: the fuzzer's bytes are split
//! into a kustomization file and two resource/patch files in an in-memory directory, and
//! rendering must succeed or fail with a `RenderError`, never panic or hang.
#![no_main]

use std::collections::HashMap;

use kiln::render::{Files, RenderError, Renderer};
use libfuzzer_sys::fuzz_target;

struct MemFiles(HashMap<String, Vec<u8>>);

impl Files for MemFiles {
    fn read(&self, path: &str) -> Result<Vec<u8>, RenderError> {
        self.0.get(path).cloned().ok_or_else(|| RenderError::Io {
            path: path.to_owned(),
            message: "not found".to_owned(),
        })
    }

    fn is_file(&self, path: &str) -> bool {
        self.0.contains_key(path)
    }

    fn is_dir(&self, path: &str) -> bool {
        path.is_empty()
            || path == "base"
            || self.0.keys().any(|k| k.starts_with(&format!("{path}/")))
    }

    fn normalize(&self, path: &str) -> Option<String> {
        let mut out: Vec<&str> = Vec::new();
        for seg in path.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    out.pop()?;
                }
                s => out.push(s),
            }
        }
        Some(out.join("/"))
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, "\n%%\n");
    let kustomization = parts.next().unwrap_or_default();
    let first = parts.next().unwrap_or_default();
    let second = parts.next().unwrap_or_default();
    let mut files = HashMap::new();
    files.insert("kustomization.yaml".to_owned(), kustomization.as_bytes().to_vec());
    files.insert("a.yaml".to_owned(), first.as_bytes().to_vec());
    files.insert("base/kustomization.yaml".to_owned(), b"resources:\n- r.yaml\n".to_vec());
    files.insert("base/r.yaml".to_owned(), second.as_bytes().to_vec());
    let files = MemFiles(files);
    if let Ok(resources) = Renderer::new(&files).render("") {
        let nodes: Vec<_> = resources.iter().map(|r| &r.node).collect();
        let _ = kiln::yaml::emit_documents(&nodes);
    }
});
