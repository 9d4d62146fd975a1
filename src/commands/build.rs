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
use crate::diagnostics::{Code, Diagnostic, Diagnostics, ExitStatus};
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
            if !args.decrypt
                && let Some(r) = resources.iter().find(|r| r.sensitive)
            {
                let id = r.cur_id();
                let mut diags = Diagnostics::new();
                diags.push(
                    Diagnostic::new(
                        Code::PlaintextOutput,
                        format!(
                            "the output would contain the {} {} decrypted from SOPS in plaintext",
                            id.gvk.kind, id.name
                        ),
                    )
                    .in_file(r.origin.file.clone())
                    .hint("pass --decrypt to print it anyway (as kustomize with KSOPS would), or use kiln compile, which re-encrypts it")
                    .sensitive(),
                );
                let none = |_: &str| None;
                super::emit(&diags, &none, output, false, out, err)?;
                return Ok(diags.exit_status());
            }
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
