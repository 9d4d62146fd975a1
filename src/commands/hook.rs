//! `kiln hook install|uninstall`: the git pre-commit hook that runs `kiln check --staged`.
//!
//! The hook is the file `hooks/pre-commit` of this repository, compiled in, so the two never
//! differ. It goes where git runs hooks from: `core.hooksPath` when set (from any git
//! configuration the user has, relative paths taken from the top of the work tree, as git
//! does), else the `hooks` folder of the repository's common git directory. A hook kiln
//! did not write is never overwritten without `--force`, and then it is kept next to ours
//! as `pre-commit.kiln-backup`, which `uninstall` puts back.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::HookCommand;
use crate::diagnostics::{Code, Diagnostic, ExitStatus, Severity};

use super::{Output, fail};

/// The hook, as shipped in `hooks/pre-commit`.
const HOOK: &str = include_str!("../../hooks/pre-commit");
/// A line only kiln's hook has: how kiln recognises its own hook.
const MARKER: &str = "kiln's git pre-commit hook";
const BACKUP: &str = "pre-commit.kiln-backup";

/// Runs `kiln hook`.
pub fn run(
    root: &Path,
    cmd: &HookCommand,
    output: Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<ExitStatus> {
    let dir = match hooks_dir(root) {
        Ok(dir) => dir,
        Err(d) => return fail(d, output, false, out, err),
    };
    let hook = dir.join("pre-commit");
    let existing = match std::fs::read(&hook) {
        Ok(bytes) => Some(String::from_utf8_lossy(&bytes).contains(MARKER)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return fail(
                io_error(Code::Unreadable, &hook, &e),
                output,
                false,
                out,
                err,
            );
        }
    };
    let result = match (cmd, existing) {
        (HookCommand::Install { .. }, Some(true)) => write_hook(&hook).map(|()| "updated"),
        (HookCommand::Install { force: false }, Some(false)) => {
            let d = Diagnostic::new(
                Code::Usage,
                format!("{} exists and kiln did not write it", hook.display()),
            )
            .hint("pass --force to replace it; it is kept as pre-commit.kiln-backup");
            return fail(d, output, false, out, err);
        }
        (HookCommand::Install { force: true }, Some(false)) => {
            std::fs::rename(&hook, dir.join(BACKUP))
                .and_then(|()| write_hook(&hook))
                .map(|()| "installed (previous hook kept as pre-commit.kiln-backup)")
        }
        (HookCommand::Install { .. }, None) => std::fs::create_dir_all(&dir)
            .and_then(|()| write_hook(&hook))
            .map(|()| "installed"),
        (HookCommand::Uninstall, None) => Ok("not installed; nothing to remove"),
        (HookCommand::Uninstall, Some(false)) => {
            let d = Diagnostic::new(
                Code::Usage,
                format!("{} was not written by kiln; leaving it", hook.display()),
            );
            return fail(d, output, false, out, err);
        }
        (HookCommand::Uninstall, Some(true)) => {
            let backup = dir.join(BACKUP);
            if backup.exists() {
                std::fs::rename(&backup, &hook).map(|()| "removed; previous hook restored")
            } else {
                std::fs::remove_file(&hook).map(|()| "removed")
            }
        }
    };
    match result {
        Ok(what) => {
            if !output.quiet {
                writeln!(err, "pre-commit hook {}: {what}", hook.display())?;
            }
            Ok(ExitStatus::Success)
        }
        Err(e) => fail(
            io_error(Code::WriteFailed, &hook, &e),
            output,
            false,
            out,
            err,
        ),
    }
}

/// Where git runs hooks from for the repository containing `root`.
fn hooks_dir(root: &Path) -> Result<PathBuf, Diagnostic> {
    let git = |message: String| Diagnostic::new(Code::Git, message).severity(Severity::Fatal);
    let repo = gix::discover(root).map_err(|e| {
        git(format!(
            "{} is not in a git repository: {e}",
            root.display()
        ))
    })?;
    let configured = repo
        .config_snapshot()
        .trusted_path("core.hooksPath")
        .map_err(|e| git(format!("cannot read core.hooksPath: {e}")))?;
    Ok(match configured {
        Some(path) if path.is_absolute() => path,
        // Git runs hooks from the top of the work tree, so a relative path starts there.
        Some(path) => repo.workdir().unwrap_or(repo.git_dir()).join(path),
        None => repo.common_dir().join("hooks"),
    })
}

/// Writes the hook atomically (a temporary file renamed over it), executable.
fn write_hook(hook: &Path) -> std::io::Result<()> {
    let tmp = hook.with_extension("kiln-tmp");
    std::fs::write(&tmp, HOOK)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
    }
    std::fs::rename(&tmp, hook)
}

fn io_error(code: Code, path: &Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic::new(code, format!("{}: {e}", path.display())).severity(Severity::Fatal)
}
