//! Reading and parsing files, with every text remembered for diagnostics.
//!
//! [`Loader`] is the only way later stages get file contents: it reads through the
//! [`RepoFs`] view (work tree, index or commit), insists on UTF-8, parses YAML with
//! positions, and keeps each text it read in a source map so that a diagnostic rendered
//! later can show an excerpt of exactly the bytes that were checked. Failures become
//! [`Diagnostic`]s carrying the file and, where there is one, the line. This module owns
//! that translation; it knows nothing about kustomizations or apps.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::diagnostics::{Code, Diagnostic, SourceLookup, Span};
use crate::fs::{FsError, RepoFs};
use crate::yaml::{self, Document, Node, YamlError};

/// Reads files of one view and remembers their texts.
pub struct Loader<'fs> {
    fs: &'fs RepoFs,
    sources: Mutex<HashMap<String, Cached>>,
}

/// A file as read: its text, or for a file that is not UTF-8 a lossy copy (for excerpts)
/// and the diagnostic every later read must get again.
#[derive(Clone)]
enum Cached {
    Text(Arc<str>),
    NotUtf8(Arc<str>, Box<Diagnostic>),
}

impl<'fs> Loader<'fs> {
    /// A loader over `fs`.
    pub fn new(fs: &'fs RepoFs) -> Loader<'fs> {
        Loader {
            fs,
            sources: Mutex::new(HashMap::new()),
        }
    }

    /// The view this loader reads.
    pub fn fs(&self) -> &'fs RepoFs {
        self.fs
    }

    /// The text of a file, read once and cached.
    pub fn text(&self, path: &str) -> Result<Arc<str>, Diagnostic> {
        match self.cached(path) {
            Some(Cached::Text(text)) => return Ok(text),
            Some(Cached::NotUtf8(_, diag)) => return Err(*diag),
            None => {}
        }
        let bytes = self.fs.read(path).map_err(|e| fs_diagnostic(path, &e))?;
        let (cached, result) = match String::from_utf8(bytes) {
            Ok(s) => {
                let text: Arc<str> = Arc::from(s);
                (Cached::Text(text.clone()), Ok(text))
            }
            Err(err) => {
                let valid = err.utf8_error().valid_up_to();
                // Keep a lossy copy for the excerpt: the prefix up to the first invalid byte
                // is unchanged, so the span below is valid in it.
                let lossy: Arc<str> = Arc::from(String::from_utf8_lossy(err.as_bytes()));
                let span = Span::in_text(&lossy, valid, valid);
                let diag = Diagnostic::new(Code::NotUtf8, format!("{path} is not valid UTF-8"))
                    .in_file(path)
                    .at(span)
                    .label("first invalid byte")
                    .hint("kiln reads YAML and text files as UTF-8; re-encode the file");
                (Cached::NotUtf8(lossy, Box::new(diag.clone())), Err(diag))
            }
        };
        self.remember(path, cached);
        result
    }

    /// Every non-empty YAML document of a file.
    pub fn yaml_docs(&self, path: &str) -> Result<(Arc<str>, Vec<Document>), Diagnostic> {
        let text = self.text(path)?;
        let docs = yaml::parse_documents(&text).map_err(|e| yaml_diagnostic(path, &e))?;
        Ok((text, docs))
    }

    /// The single YAML document of a file such as a kustomization (`None` when empty).
    pub fn yaml_one(&self, path: &str) -> Result<(Arc<str>, Option<Node>), Diagnostic> {
        let text = self.text(path)?;
        let node = yaml::parse_one(&text).map_err(|e| yaml_diagnostic(path, &e))?;
        Ok((text, node))
    }

    fn cached(&self, path: &str) -> Option<Cached> {
        // A poisoned lock only means another thread panicked while inserting; the map
        // itself is still a valid cache.
        let map = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        map.get(path).cloned()
    }

    fn remember(&self, path: &str, cached: Cached) {
        let mut map = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(path.to_string(), cached);
    }
}

impl SourceLookup for Loader<'_> {
    fn source(&self, path: &str) -> Option<Arc<str>> {
        if self.cached(path).is_none() {
            // Reading fills the cache, with a lossy copy for a file that is not UTF-8.
            let _ = self.text(path);
        }
        match self.cached(path)? {
            Cached::Text(text) | Cached::NotUtf8(text, _) => Some(text),
        }
    }
}

/// The diagnostic for a YAML error in `path`.
pub fn yaml_diagnostic(path: &str, err: &YamlError) -> Diagnostic {
    let (code, label) = match err {
        YamlError::DuplicateKey { .. } => (Code::DuplicateKey, "defined again here"),
        _ => (Code::YamlSyntax, "here"),
    };
    let mut d = Diagnostic::new(code, format!("{path}: {err}"))
        .in_file(path)
        .at(err.span())
        .label(label);
    if let YamlError::DuplicateKey { first, .. } = err {
        d = d.hint(format!(
            "the key was first defined on line {}; Kubernetes rejects duplicate keys",
            first.line
        ));
    }
    d
}

/// The diagnostic for a failed read of `path` through the view.
pub fn fs_diagnostic(path: &str, err: &FsError) -> Diagnostic {
    let code = match err {
        FsError::NotFound { .. } => Code::MissingPath,
        FsError::EscapesRoot { .. } | FsError::Absolute { .. } => Code::PathEscapes,
        FsError::DanglingSymlink { .. } | FsError::SymlinkLoop { .. } => Code::BadSymlink,
        FsError::IsDirectory { .. } => Code::InvalidDocument,
        _ => Code::Unreadable,
    };
    Diagnostic::new(code, format!("cannot read {path}: {err}")).in_file(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::Source;

    /// Regression: the second read of a file that is not UTF-8 used to return the lossy
    /// copy as if it were the file, so whichever rule read it second saw no problem.
    #[test]
    fn a_file_that_is_not_utf8_fails_on_every_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("bad.yaml"), b"note: caf\xe9\n").expect("write");
        let fs = RepoFs::open(dir.path(), Source::WorkTree).expect("opens");
        let loader = Loader::new(&fs);
        for _ in 0..2 {
            let err = loader.text("bad.yaml").expect_err("not UTF-8");
            assert_eq!(err.code, Code::NotUtf8);
        }
        assert!(
            loader
                .source("bad.yaml")
                .is_some_and(|t| t.starts_with("note: caf"))
        );
    }
}
