//! The command line as the user types it: clap definitions and nothing else.
//!
//! These types are the low argument layer (ripgrep's `LowArgs`): they say what was typed
//! and validate only syntax. `commands` turns them into what a command needs and nothing
//! after that sees clap types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit status:
  0  clean (warnings allowed)
  1  findings: validation errors
  2  kiln could not do its job: usage, configuration, I/O, git";

/// kiln: a static compiler for GitOps repositories.
///
/// It checks a repository of Kustomize bases and overlays, image build folders, SOPS
/// secrets and CODEOWNERS, without network access.
#[derive(Debug, Parser)]
#[command(name = "kiln", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    /// Run as if kiln was started in DIR (the project root, or a folder inside it).
    #[arg(short = 'C', value_name = "DIR", global = true)]
    pub dir: Option<PathBuf>,

    /// Output format of results and diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human, global = true)]
    pub format: Format,

    /// When to colour diagnostics (`auto` honours NO_COLOR and whether stderr is a terminal).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// Print only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Say more about what kiln does.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Neither read nor write kiln's cache (.git/kiln/cache).
    #[arg(long, global = true)]
    pub no_cache: bool,

    /// Number of threads (default: one per core).
    #[arg(long, value_name = "N", global = true)]
    pub jobs: Option<usize>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: rustc-style diagnostics and plain tables.
    Human,
    /// For machines: one JSON document on stdout (see the README for its structure).
    Json,
    /// A pull-request comment (`kiln diff`; other commands print as for `human`).
    Markdown,
}

/// When to use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stderr is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the repository: layout, images, plaintext secrets, CODEOWNERS.
    Check(CheckArgs),
    /// Render one kustomization directory, exactly as `kustomize build DIR` prints it.
    Build(BuildArgs),
    /// Render every app of environments into <out>/<env>/<app>/manifest.yaml.
    Compile(CompileArgs),
    /// Render an environment from a commit and commit it to its rendered branch (git only).
    Publish(PublishArgs),
    /// Render two revisions and compare them per environment, app and resource.
    Diff(DiffArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print kiln's man page (roff) to standard output.
    Man,
    /// Print the CODEOWNERS owners of paths.
    Owners(OwnersArgs),
    /// List the container images an environment needs built.
    Images(ImagesArgs),
    /// Install or remove the git pre-commit hook that runs `kiln check --staged`.
    #[command(subcommand)]
    Hook(HookCommand),
    /// Manage kiln's on-disk cache (.git/kiln/cache in the project's repository).
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Encrypt, decrypt, rotate, inspect and edit SOPS secret files (age).
    #[command(subcommand)]
    Secrets(crate::commands::secrets::SecretsCommand),
    /// Validate manifest files against Kubernetes and CRD schemas, like kubeconform.
    Validate(crate::commands::validate::ValidateArgs),
}

/// `kiln cache`.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Remove every entry of the cache.
    Clear,
}

/// `kiln hook`.
#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Write the pre-commit hook into the repository's hooks folder (honouring core.hooksPath).
    Install {
        /// Replace a pre-commit hook kiln did not write (it is kept as pre-commit.kiln-backup).
        #[arg(long)]
        force: bool,
    },
    /// Remove kiln's pre-commit hook (restoring a hook it replaced).
    Uninstall,
}

/// Which version of the repository to read.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Read what is staged in the git index instead of the work tree.
    #[arg(long, conflicts_with = "rev")]
    pub staged: bool,

    /// Read this commit (any git revision) instead of the work tree.
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
}

/// `kiln check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Where to read the repository from.
    #[command(flatten)]
    pub source: SourceArgs,

    /// Check only these environments' apps (repeatable; default all).
    #[arg(long = "env", value_name = "ENV")]
    pub envs: Vec<String>,
}

/// `kiln build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The kustomization directory (relative to the current directory, or to -C).
    #[arg(value_name = "DIR", default_value = ".")]
    pub path: std::path::PathBuf,

    /// Print objects decrypted from SOPS files (KSOPS generators, encrypted generator inputs)
    /// in plaintext, as `kustomize build` with the KSOPS plugin would. Without it kiln
    /// refuses to print them.
    #[arg(long)]
    pub decrypt: bool,
}

/// `kiln compile`.
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// Where to read the repository from.
    #[command(flatten)]
    pub source: SourceArgs,

    /// Compile this environment (repeatable).
    #[arg(long = "env", value_name = "ENV")]
    pub envs: Vec<String>,

    /// Compile every environment.
    #[arg(long, conflicts_with = "envs")]
    pub all: bool,

    /// Output directory (default: `rendered/` in the project root).
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
}

/// `kiln publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The environment to publish.
    #[arg(long, value_name = "ENV")]
    pub env: String,

    /// The source commit (any git revision).
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,

    /// The branch to write (default: `publish.branchPrefix` + ENV, `rendered/ENV`).
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,

    /// Render and prepare the commit, print what would happen, move no reference.
    #[arg(long)]
    pub dry_run: bool,

    /// Write to a branch kiln did not write.
    #[arg(long)]
    pub force: bool,
}

/// `kiln diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old side (default: the merge base of HEAD with `main`, else `master`).
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,

    /// The new side (default: the work tree).
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,

    /// Compare only these environments (repeatable; default all).
    #[arg(long = "env", value_name = "ENV")]
    pub envs: Vec<String>,

    /// Exit with 1 when there are differences.
    #[arg(long)]
    pub exit_code: bool,
}

/// `kiln owners`.
#[derive(Debug, Args)]
pub struct OwnersArgs {
    /// Where to read CODEOWNERS from.
    #[command(flatten)]
    pub source: SourceArgs,

    /// Read paths from standard input, one per line (in addition to PATH arguments).
    #[arg(long)]
    pub stdin: bool,

    /// Repository-relative paths; they need not exist.
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,
}

/// `kiln images`.
#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Where to read the repository from.
    #[command(flatten)]
    pub source: SourceArgs,

    /// The environment whose apps' images to list.
    #[arg(long, value_name = "ENV")]
    pub env: String,

    /// Also say whether each build context changed since this revision, and report tags
    /// reused with different build contexts.
    #[arg(long, value_name = "REV")]
    pub changed_since: Option<String>,
}
