//! render: turns a kustomization directory into the list of objects `kustomize build` prints.
//!
//! This module owns kustomize's semantics, natively: loading kustomizations
//! ([`kustomization`]), accumulating resources, components and generators ([`build`]),
//! patches ([`smp`], [`json6902`]), the field-spec transformers ([`fieldspec`],
//! [`transform`], [`images`]), name references ([`nameref`]), `replacements`
//! ([`replacements`]), `vars` ([`vars`]) and the output order ([`order`]).
//!
//! It is a pure function of the files it is given through [`Files`] (the work tree, the git
//! index or a commit through `fs::RepoFs`, or plain directories for `kiln build`); printing is
//! `yaml::emit`'s job. It never touches the network: remote bases, exec and container plugins
//! and Helm charts are refused with [`RenderError::Unsupported`].

pub mod build;
pub mod crds;
pub mod fieldspec;
pub mod generate;
pub mod images;
pub mod json6902;
pub mod ksops;
pub mod kustomization;
pub mod nameref;
pub mod openapi;
pub mod order;
pub mod patch;
pub mod plugins;
pub mod replacements;
pub mod resource;
pub mod select;
pub mod smp;
pub mod smp_schema;
pub mod transform;
pub mod vars;

use std::sync::Arc;

use crate::diagnostics::{Code, Diagnostic};
use crate::fs::{FsError, RepoFs};
use crate::yaml::{Span, YamlError};

pub use build::{Renderer, render_dir};
pub use resource::{Gvk, ResId, Resource};

/// The largest input file a build reads (64 MiB): far above any real manifest, and a bound on
/// the memory one bad file can take.
pub const MAX_FILE_BYTES: usize = 64 << 20;

/// Read access to the files a build may use. Paths are `/`-separated and lexically
/// normalised ([`Files::normalize`]); what they are relative to is the implementation's
/// business (the project root for [`RepoFs`], the filesystem root for [`DiskFiles`]).
pub trait Files: Sync {
    /// The file's bytes.
    ///
    /// # Errors
    /// [`RenderError::Io`] when it cannot be read.
    fn read(&self, path: &str) -> Result<Vec<u8>, RenderError>;

    /// Whether `path` is a file (following symlinks inside the view).
    fn is_file(&self, path: &str) -> bool;

    /// Whether `path` is a directory.
    fn is_dir(&self, path: &str) -> bool;

    /// Lexically normalises `path` (`.` and `..` removed); `None` when `..` climbs out of the
    /// view.
    fn normalize(&self, path: &str) -> Option<String>;

    /// The file as UTF-8 text.
    ///
    /// # Errors
    /// As [`Files::read`], and [`RenderError::Invalid`] when it is not UTF-8.
    fn read_text(&self, path: &str) -> Result<Arc<str>, RenderError> {
        let bytes = self.read(path)?;
        if bytes.len() > MAX_FILE_BYTES {
            return Err(RenderError::invalid(
                path,
                Span::default(),
                format!(
                    "the file is {} MB; kiln reads kustomization inputs up to {} MB",
                    bytes.len() >> 20,
                    MAX_FILE_BYTES >> 20
                ),
            ));
        }
        String::from_utf8(bytes).map(Arc::from).map_err(|_| {
            RenderError::invalid(path, Span::default(), "the file is not UTF-8".to_owned())
        })
    }
}

impl Files for RepoFs {
    fn read(&self, path: &str) -> Result<Vec<u8>, RenderError> {
        RepoFs::read(self, path).map_err(|e| RenderError::Io {
            path: path.to_owned(),
            message: fs_message(&e),
        })
    }

    fn is_file(&self, path: &str) -> bool {
        RepoFs::is_file(self, path)
    }

    fn is_dir(&self, path: &str) -> bool {
        RepoFs::is_dir(self, path)
    }

    fn normalize(&self, path: &str) -> Option<String> {
        crate::discover::normalize(path)
    }
}

fn fs_message(e: &FsError) -> String {
    e.to_string()
}

/// Plain directories on disk: what `kiln build DIR` reads, like `kustomize build`, when no
/// repository view is wanted. Relative paths are taken from `base` (the current directory or
/// `-C`), so diagnostics name files as the user wrote them; they may climb above it with `..`.
#[derive(Debug, Clone, Default)]
pub struct DiskFiles {
    /// The directory relative paths start from.
    pub base: std::path::PathBuf,
}

impl DiskFiles {
    fn full(&self, path: &str) -> std::path::PathBuf {
        self.base.join(if path.is_empty() { "." } else { path })
    }
}

impl Files for DiskFiles {
    fn read(&self, path: &str) -> Result<Vec<u8>, RenderError> {
        std::fs::read(self.full(path)).map_err(|e| RenderError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    fn is_file(&self, path: &str) -> bool {
        self.full(path).is_file()
    }

    fn is_dir(&self, path: &str) -> bool {
        self.full(path).is_dir()
    }

    fn normalize(&self, path: &str) -> Option<String> {
        let absolute = path.starts_with('/');
        let mut out: Vec<&str> = Vec::new();
        for seg in path.split('/') {
            match seg {
                "" | "." => {}
                ".." => match out.last() {
                    Some(&last) if last != ".." => {
                        out.pop();
                    }
                    // Above the filesystem root `..` is the root itself.
                    _ if absolute => {}
                    _ => out.push(".."),
                },
                s => out.push(s),
            }
        }
        let joined = out.join("/");
        Some(if absolute {
            format!("/{joined}")
        } else {
            joined
        })
    }
}

/// Why a kustomization could not be rendered. Every variant names the file (or directory)
/// at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A directory used as a kustomization has none of kustomize's file names.
    #[error(
        "no kustomization file (kustomization.yaml, kustomization.yml or Kustomization) in {dir}"
    )]
    MissingKustomization {
        /// The directory.
        dir: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's reason.
        message: String,
    },
    /// Invalid input: kustomize would fail here too.
    #[error("{message}")]
    Invalid {
        /// The file at fault.
        file: String,
        /// Where in it (the default span when the whole file is meant).
        span: Span,
        /// What is wrong, in kustomize's terms where it has them.
        message: String,
    },
    /// Something kiln deliberately does not do.
    #[error("{what} is not supported: {hint}")]
    Unsupported {
        /// The kustomization.
        file: String,
        /// The field or entry.
        span: Span,
        /// What was asked for.
        what: String,
        /// What to do instead.
        hint: String,
    },
    /// No available age key opens a SOPS file the build must decrypt.
    #[error("{message}")]
    NoKey {
        /// The encrypted file.
        file: String,
        /// Which recipients it is encrypted for.
        message: String,
    },
    /// Kustomizations include each other in a cycle.
    #[error("cycle between kustomizations: {}", chain.join(" -> "))]
    Cycle {
        /// The kustomization closing the cycle.
        file: String,
        /// The directories in the cycle, in inclusion order.
        chain: Vec<String>,
    },
}

impl RenderError {
    /// An [`RenderError::Invalid`].
    #[must_use]
    pub fn invalid(file: &str, span: Span, message: String) -> RenderError {
        RenderError::Invalid {
            file: file.to_owned(),
            span,
            message,
        }
    }

    /// A YAML error in `file`.
    #[must_use]
    pub fn yaml(file: &str, err: &YamlError) -> RenderError {
        RenderError::invalid(file, err.span(), err.to_string())
    }

    /// The diagnostic users see.
    #[must_use]
    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            RenderError::MissingKustomization { dir } => {
                Diagnostic::new(Code::MissingKustomization, self.to_string()).in_file(dir)
            }
            RenderError::Io { path, .. } => {
                Diagnostic::new(Code::Unreadable, self.to_string()).in_file(path)
            }
            RenderError::Invalid {
                file,
                span,
                message,
            } => located(
                Diagnostic::new(Code::RenderFailed, message.clone()),
                file,
                *span,
            ),
            RenderError::Unsupported {
                file,
                span,
                what,
                hint,
            } => located(
                Diagnostic::new(Code::RenderUnsupported, format!("{what} is not supported")),
                file,
                *span,
            )
            .hint(hint.clone()),
            RenderError::NoKey { file, .. } => Diagnostic::new(
                Code::SecretKeyMissing,
                format!("cannot decrypt this SOPS file: {self}"),
            )
            .in_file(file)
            .hint("set SOPS_AGE_KEY_FILE (or SOPS_AGE_KEY) to an age key of one of its recipients"),
            RenderError::Cycle { file, .. } => {
                Diagnostic::new(Code::RenderCycle, self.to_string()).in_file(file)
            }
        }
    }
}

fn located(d: Diagnostic, file: &str, span: Span) -> Diagnostic {
    let d = d.in_file(file);
    if span == Span::default() {
        d
    } else {
        d.at(span)
    }
}
