//! `kiln build DIR`: a drop-in for `kustomize build DIR`.
//!
//! Reads plain directories (no repository view, no `kiln.yaml`), renders with `render`, and
//! prints the objects exactly as kustomize prints them. Nothing is printed to stdout when the
//! build fails.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use super::Output;
use crate::cli::BuildArgs;
use crate::diagnostics::{Diagnostics, ExitStatus};
use crate::render::{DiskFiles, Renderer};

/// Runs `kiln build`; `start` is the directory relative paths are taken from.
///
/// # Errors
/// Only failures to write to `out` or `err`.
pub fn run(
    start: &Path,
    args: &BuildArgs,
    output: Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<ExitStatus> {
    let files = DiskFiles {
        base: start.to_path_buf(),
    };
    let dir = args.path.to_string_lossy();
    let (identities, key_warning) = super::load_identities();
    let result = Renderer::new(&files)
        .with_identities(identities)
        .render(&dir);
    match result {
        Ok(resources) => {
            let nodes: Vec<_> = resources.iter().map(|r| &r.node).collect();
            out.write_all(crate::yaml::emit_documents(&nodes).as_bytes())?;
            Ok(ExitStatus::Success)
        }
        Err(e) => {
            let mut diags = Diagnostics::new();
            diags.push(e.to_diagnostic());
            diags.extend(key_warning);
            let lookup = |path: &str| {
                std::fs::read_to_string(start.join(path))
                    .ok()
                    .map(Arc::<str>::from)
            };
            super::emit(&diags, &lookup, output, false, out, err)?;
            Ok(diags.exit_status())
        }
    }
}
