//! The commands: each turns parsed arguments into a run of the pipeline stages and owns
//! its exit status.
//!
//! Commands take their output streams as writers (gitoxide-core style), so tests can run
//! them without a subprocess. Results go to `out`; diagnostics and progress to `err`,
//! except that `kiln check --format json` prints its diagnostics, which are its result,
//! to `out`. This module holds what every command shares: finding the project root,
//! opening the file view for `--staged`/`--rev`, reading `kiln.yaml`, and printing
//! diagnostics.

pub mod build;
pub mod cache;
pub mod check;
pub mod compile;
pub mod diff;
pub mod hook;
pub mod images;
pub mod owners;
pub mod pipeline;
pub mod publish;
pub mod secrets;
pub mod validate;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::cli::{Cli, ColorChoice, Command, Format, SourceArgs};
use crate::diagnostics::{Code, Diagnostic, Diagnostics, ExitStatus, Severity, SourceLookup};
use crate::fs::{FsError, OpenOptions, RepoFs, Source};
use crate::load::Loader;
use crate::project::{PROJECT_FILE, Project, project_from_yaml};

/// How a command should print.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// The `--format` chosen.
    pub format: Format,
    /// Whether to colour diagnostics.
    pub color: bool,
    /// `-q`: only errors.
    pub quiet: bool,
    /// `-v` count.
    pub verbose: u8,
    /// Whether the on-disk cache may be read and written (not `--no-cache`).
    pub cache: bool,
}

/// Runs the command line and returns its exit status.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> std::io::Result<ExitStatus> {
    if let Some(n) = cli.jobs {
        // Fails only when a pool was already built (tests calling `run` twice); the
        // existing pool is then used, which changes speed, never results.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global();
    }
    let output = Output {
        format: cli.format,
        color: match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
            }
        },
        quiet: cli.quiet,
        verbose: cli.verbose,
        cache: !cli.no_cache,
    };
    let start = match cli.dir {
        Some(dir) => dir,
        None => std::env::current_dir()?,
    };
    if let Command::Build(args) = &cli.command {
        return build::run(&start, args, output, out, err);
    }
    if let Command::Validate(args) = &cli.command {
        return validate::run(&start, args, output, out, err);
    }
    // Generated from the same clap definitions as the parser, so they cannot drift.
    if let Command::Completions { shell } = &cli.command {
        let mut command = <Cli as clap::CommandFactory>::command();
        clap_complete::generate(*shell, &mut command, "kiln", out);
        return Ok(ExitStatus::Success);
    }
    if let Command::Man = &cli.command {
        let command = <Cli as clap::CommandFactory>::command();
        clap_mangen::Man::new(command).render(out)?;
        return Ok(ExitStatus::Success);
    }
    let root = project_root(&start);
    match cli.command {
        Command::Validate(_) => unreachable!("handled above: validate needs no project"),
        Command::Build(_) | Command::Completions { .. } | Command::Man => {
            unreachable!("handled above: these need no project")
        }
        Command::Check(args) => check::run(&root, &args, output, out, err),
        Command::Compile(args) => compile::run(&root, &args, output, out, err),
        Command::Publish(args) => publish::run(&root, &args, output, out, err),
        Command::Diff(args) => diff::run(&root, &args, output, out, err),
        Command::Owners(args) => owners::run(&root, &args, output, out, err),
        Command::Images(args) => images::run(&root, &args, output, out, err),
        Command::Secrets(cmd) => secrets::run(&start, &root, &cmd, output, out, err),
        Command::Hook(cmd) => hook::run(&root, &cmd, output, out, err),
        Command::Cache(cmd) => cache::run(&root, &cmd, output, out, err),
    }
}

/// The project root for a start directory: the nearest ancestor (or itself) that holds
/// `kiln.yaml`, else the nearest that holds `apps/`, else the start directory.
pub fn project_root(start: &Path) -> PathBuf {
    let start = start.canonicalize().unwrap_or_else(|_| start.to_path_buf());
    for marker in [PROJECT_FILE, crate::discover::APPS_DIR] {
        if let Some(dir) = start.ancestors().find(|d| d.join(marker).exists()) {
            return dir.to_path_buf();
        }
    }
    start
}

/// The source selected by `--staged`/`--rev`.
pub fn source_of(args: &SourceArgs) -> Source {
    match (&args.rev, args.staged) {
        (Some(rev), _) => Source::Rev(rev.clone()),
        (None, true) => Source::Index,
        (None, false) => Source::WorkTree,
    }
}

/// Opens the view of `root` for `source`, or the diagnostic saying why it cannot be.
///
/// Inside a git hook, `GIT_INDEX_FILE` names the index being committed (`git commit -a`
/// and `git commit <paths>` use a temporary one); `--staged` reads that one, so the hook
/// checks exactly what will be committed.
pub fn open(root: &Path, source: Source) -> Result<RepoFs, Diagnostic> {
    let options = OpenOptions {
        index_file: std::env::var_os("GIT_INDEX_FILE").map(PathBuf::from),
    };
    RepoFs::open_with(root, source, &options).map_err(|e| {
        let code = match e {
            FsError::Io { .. } => Code::Unreadable,
            _ => Code::Git,
        };
        Diagnostic::new(
            code,
            format!("cannot read the repository at {}: {e}", root.display()),
        )
        .severity(Severity::Fatal)
    })
}

/// Reads `kiln.yaml` (defaults when absent). Any problem with it is fatal: kiln does not
/// guess at a configuration it cannot read.
pub fn load_project(loader: &Loader<'_>) -> Result<Project, Vec<Diagnostic>> {
    if !loader.fs().is_file(PROJECT_FILE) {
        return Ok(Project::default());
    }
    let fatal = |d: Diagnostic| d.severity(Severity::Fatal);
    match loader.yaml_one(PROJECT_FILE) {
        Err(d) => Err(vec![fatal(d)]),
        Ok((_, None)) => Ok(Project::default()),
        Ok((_, Some(node))) => {
            project_from_yaml(PROJECT_FILE, &node).map_err(|ds| ds.into_iter().map(fatal).collect())
        }
    }
}

/// The age identities sops would use (`SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, the user's sops age
/// key file), for rendering KSOPS generators and SOPS-encrypted generator inputs. A key source
/// that cannot be read is a warning: builds that decrypt nothing do not need one, and those
/// that do fail with a diagnostic naming the file they could not decrypt.
pub fn load_identities() -> (Vec<age::x25519::Identity>, Option<Diagnostic>) {
    use crate::secrets::sops::keys::{Identities, key_sources};
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let sources = key_sources(|v| std::env::var_os(v), home.as_deref());
    let read = |path: &Path| match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(zeroize::Zeroizing::new(text))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    };
    match Identities::load(&sources, read) {
        Ok(ids) => (ids.x25519, None),
        Err(e) => (
            Vec::new(),
            Some(
                Diagnostic::new(Code::Unreadable, format!("cannot load age keys: {e}"))
                    .severity(Severity::Warning),
            ),
        ),
    }
}

/// Prints diagnostics to `err` for people, or as JSON to `out` when `json_to_out` is set.
pub fn emit(
    diags: &Diagnostics,
    sources: &dyn SourceLookup,
    output: Output,
    json_to_out: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    if json_to_out && output.format == Format::Json {
        return out.write_all(crate::diagnostics::render_json(diags, sources).as_bytes());
    }
    let shown: Diagnostics = if output.quiet {
        let mut d = Diagnostics::new();
        d.extend(
            diags
                .items()
                .iter()
                .filter(|d| d.severity != Severity::Warning)
                .cloned(),
        );
        d
    } else {
        diags.clone()
    };
    err.write_all(crate::diagnostics::render_human(&shown, sources, output.color).as_bytes())
}

/// Prints a lone fatal diagnostic (no file view to take excerpts from) and returns 2.
pub fn fail(
    diag: Diagnostic,
    output: Output,
    json_to_out: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<ExitStatus> {
    let mut diags = Diagnostics::new();
    diags.push(diag);
    let none = |_: &str| None;
    emit(&diags, &none, output, json_to_out, out, err)?;
    Ok(ExitStatus::Error)
}
