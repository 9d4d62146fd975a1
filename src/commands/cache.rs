//! `kiln cache clear`: removes kiln's on-disk cache (`crate::cache`) of the project's repository.

use std::io::Write;
use std::path::Path;

use crate::cache::Cache;
use crate::cli::CacheCommand;
use crate::diagnostics::{Code, Diagnostic, ExitStatus, Severity};

use super::{Output, fail};

/// Runs `kiln cache`.
///
/// # Errors
/// Only failures to write to `out` or `err`.
pub fn run(
    root: &Path,
    command: &CacheCommand,
    output: Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<ExitStatus> {
    let git_dir = match crate::fs::git_common_dir(root) {
        Ok(Some(dir)) => dir,
        Ok(None) => {
            let d = Diagnostic::new(
                Code::Git,
                format!(
                    "{} is not in a git repository: kiln keeps no cache there",
                    root.display()
                ),
            )
            .severity(Severity::Fatal);
            return fail(d, output, false, out, err);
        }
        Err(e) => {
            let d = Diagnostic::new(Code::Git, format!("cannot open the repository: {e}"))
                .severity(Severity::Fatal);
            return fail(d, output, false, out, err);
        }
    };
    let cache = Cache::in_git_dir(&git_dir);
    match command {
        CacheCommand::Clear => match cache.clear() {
            Ok(cleared) => {
                if !output.quiet {
                    writeln!(
                        err,
                        "kiln cache clear: removed {} entries ({} KB) from {}",
                        cleared.entries,
                        cleared.bytes.div_ceil(1024),
                        cache.dir().display()
                    )?;
                }
                Ok(ExitStatus::Success)
            }
            Err(e) => {
                let d = Diagnostic::new(
                    Code::WriteFailed,
                    format!("cannot remove {}: {e}", cache.dir().display()),
                )
                .severity(Severity::Fatal);
                fail(d, output, false, out, err)
            }
        },
    }
}
