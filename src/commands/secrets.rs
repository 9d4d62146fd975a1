//! `kiln secrets`: the SOPS files of the seed layout, per app and per file.
//!
//! An app keeps its encrypted secrets in `secret/` (committed) and their plaintext working copies
//! in `secret-decrypted/` (git-ignored), with the recipients and the encryption rule in the app's
//! `.sops.yaml`. This module owns the commands on that layout:
//! - `encrypt APP` / `decrypt APP`: `secret-decrypted/* -> secret/*` with the `.sops.yaml` rule
//!   of each destination file, and back. An encrypted file whose plaintext, recipients and rule
//!   are unchanged is left as it is (byte for byte); one whose plaintext changed keeps its data
//!   key when its recipients did not (as `sops edit`). Decrypting refuses a plaintext folder that
//!   is not git-ignored or holds tracked files, and never overwrites a plaintext copy that has
//!   changes not encrypted yet (unless `--force`);
//! - `rotate`: a new data key (and optionally added/removed recipients) for the named files only;
//! - `status`: per file, encrypted or not, for whom, whether the MAC verifies with the keys at
//!   hand, and whether the plaintext copy is up to date, stale, or ahead of the encrypted file;
//! - the drop-ins `decrypt FILE` (= `sops -d`), `encrypt FILE [--age R,...]` (= `sops -e`, rules
//!   from `.sops.yaml` without `--age`) and `edit FILE` (a private temporary copy, `$EDITOR`,
//!   re-encryption only on change, the copy removed on every way out).
//!
//! It does not own the SOPS format ([`crate::secrets::sops`]), `.sops.yaml` parsing
//! ([`crate::secrets::sops_config`]), where age keys come from ([`super::load_identities`]), or
//! the pre-commit guards (`validate::plaintext`).
//!
//! Plaintext stays in zeroed-on-drop buffers and goes only to `secret-decrypted/` (mode 0600),
//! to stdout for `decrypt FILE`, and to the editor's private temporary file. Every diagnostic
//! about a secret file is `sensitive` (no excerpt) and its message comes from errors that never
//! hold values. Exit status: 0 done, 1 a broken file (not SOPS, tampered, MAC mismatch, invalid
//! plaintext), 2 kiln could not do its job (no key for a file, bad `.sops.yaml`, I/O, usage).

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use clap::{Args, Subcommand};
use zeroize::Zeroizing;

use super::Output;
use crate::cli::Format as OutputFormat;
use crate::diagnostics::{Code, Diagnostic, Diagnostics, ExitStatus, Severity, Span};
use crate::discover::{APPS_DIR, PLAINTEXT_DIR};
use crate::fs::Source;
use crate::secrets::sops::{
    self, EncryptError, EncryptOptions, Format, Item, Leaf, MasterKeys, Metadata, OsEntropy,
    SopsError, Timestamp, Tree, TreeValue,
};
use crate::secrets::sops_config::{self, ConfigError, SopsConfig};

/// The folder of an app that holds its encrypted secrets.
pub const SECRET_DIR: &str = "secret";

/// `kiln secrets`.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Encrypt an app's secret-decrypted/ files into secret/ with its .sops.yaml rules (APP),
    /// or print one file encrypted, as `sops -e` (FILE).
    Encrypt(EncryptArgs),
    /// Decrypt an app's secret/ files into its git-ignored secret-decrypted/ (APP), or print
    /// one file's plaintext, as `sops -d` (FILE).
    Decrypt(DecryptArgs),
    /// Re-encrypt files with a new data key, optionally adding or removing age recipients.
    Rotate(RotateArgs),
    /// Show each secret file: encrypted or not, for whom, whether its MAC verifies, whether
    /// its plaintext copy is up to date.
    Status(StatusArgs),
    /// Edit an encrypted file in $EDITOR through a private temporary copy.
    Edit(EditArgs),
}

/// `kiln secrets encrypt`.
#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// An app folder (`apps/<env>/<app>` or `<env>/<app>`) or a plaintext file.
    #[arg(value_name = "APP|FILE")]
    pub target: PathBuf,

    /// FILE only: encrypt for these age recipients instead of the `.sops.yaml` rule's.
    #[arg(long, value_name = "RECIPIENT", value_delimiter = ',')]
    pub age: Vec<String>,

    /// FILE only: match `.sops.yaml` rules (and pick the format) by this path instead of FILE's,
    /// as sops' `--filename-override`.
    #[arg(long, value_name = "PATH")]
    pub filename_override: Option<PathBuf>,
}

/// `kiln secrets decrypt`.
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// An app folder (`apps/<env>/<app>` or `<env>/<app>`) or an encrypted file.
    #[arg(value_name = "APP|FILE")]
    pub target: PathBuf,

    /// APP only: overwrite plaintext copies that have changes not encrypted yet.
    #[arg(long)]
    pub force: bool,
}

/// `kiln secrets rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Apps (every file of their secret/) or encrypted files; default every app of the project.
    #[arg(value_name = "APP|FILE")]
    pub targets: Vec<PathBuf>,

    /// Add these age recipients (repeatable, or comma-separated).
    #[arg(long, value_name = "RECIPIENT", value_delimiter = ',')]
    pub add_age: Vec<String>,

    /// Remove these age recipients (repeatable, or comma-separated).
    #[arg(long, value_name = "RECIPIENT", value_delimiter = ',')]
    pub rm_age: Vec<String>,
}

/// `kiln secrets status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Apps to report on; default every app of the project that has secrets.
    #[arg(value_name = "APP")]
    pub apps: Vec<PathBuf>,
}

/// `kiln secrets edit`.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// The encrypted file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// Runs `kiln secrets`. `start` is the directory relative paths are taken from (the current
/// directory or `-C`); `root` the project root (app arguments may also be relative to it).
///
/// # Errors
/// Only failures to write to `out` or `err`.
pub fn run(
    start: &Path,
    root: &Path,
    command: &SecretsCommand,
    output: Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<ExitStatus> {
    let start = canonical(&sops_config::absolute(start));
    let mut ctx = Ctx {
        start,
        root: canonical(&sops_config::absolute(root)),
        output,
        diags: Diagnostics::new(),
        identities: None,
        progress: Vec::new(),
    };
    let result = match command {
        SecretsCommand::Encrypt(args) => ctx.encrypt(args, out),
        SecretsCommand::Decrypt(args) => ctx.decrypt(args, out),
        SecretsCommand::Rotate(args) => ctx.rotate(args),
        SecretsCommand::Status(args) => ctx.status(args, out),
        SecretsCommand::Edit(args) => ctx.edit(args, err),
    };
    if let Err(e) = result {
        // A broken stdout is the caller's business; anything else is ours to report.
        if e.kind() == io::ErrorKind::BrokenPipe {
            return Err(e);
        }
        ctx.diags.push(
            Diagnostic::new(Code::WriteFailed, format!("cannot write the output: {e}"))
                .severity(Severity::Fatal),
        );
    }
    if !output.quiet {
        for line in &ctx.progress {
            writeln!(err, "{line}")?;
        }
    }
    ctx.diags.finish();
    let root = ctx.root.clone();
    let lookup = move |path: &str| {
        std::fs::read_to_string(root.join(path))
            .ok()
            .map(std::sync::Arc::<str>::from)
    };
    super::emit(&ctx.diags, &lookup, output, false, out, err)?;
    Ok(ctx.diags.exit_status())
}

/// What a command run accumulates.
struct Ctx {
    start: PathBuf,
    root: PathBuf,
    output: Output,
    diags: Diagnostics,
    /// Loaded on first use: commands that decrypt nothing need no key.
    identities: Option<Vec<age::x25519::Identity>>,
    /// Lines for stderr, printed unless `-q`.
    progress: Vec<String>,
}

/// An app folder.
struct App {
    /// Canonical path.
    dir: PathBuf,
    /// Relative to the project root, `/`-separated.
    rel: String,
}

/// What an APP|FILE argument names.
enum Target {
    File(PathBuf),
    App(App),
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Written,
    Unchanged,
}

impl Ctx {
    // ----- arguments -----

    fn identities(&mut self) -> &[age::x25519::Identity] {
        if self.identities.is_none() {
            let (ids, warning) = super::load_identities();
            self.diags.extend(warning);
            self.identities = Some(ids);
        }
        self.identities.as_deref().unwrap_or_default()
    }

    /// A path for messages: relative to the project root when inside it.
    fn rel(&self, path: &Path) -> String {
        match path.strip_prefix(&self.root) {
            Ok(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().replace('\\', "/"),
            _ => path.display().to_string(),
        }
    }

    fn usage(&mut self, message: String, hint: &str) {
        self.diags.push(
            Diagnostic::new(Code::Usage, message)
                .severity(Severity::Fatal)
                .hint(hint),
        );
    }

    /// A file argument, relative to the start directory.
    fn file_arg(&self, arg: &Path) -> PathBuf {
        canonical(&self.start.join(arg))
    }

    /// An app argument: a folder relative to the start directory, to the root, or to `apps/`.
    fn app_arg(&self, arg: &Path) -> Result<App, Diagnostic> {
        let candidates = [
            self.start.join(arg),
            self.root.join(arg),
            self.root.join(APPS_DIR).join(arg),
        ];
        let Some(dir) = candidates.iter().find(|c| c.is_dir()) else {
            return Err(Diagnostic::new(
                Code::Usage,
                format!("`{}` names no file and no app folder", arg.display()),
            )
            .severity(Severity::Fatal)
            .hint("give an app as apps/<env>/<app> or <env>/<app>, or a file"));
        };
        let dir = canonical(dir);
        match dir.strip_prefix(&self.root) {
            Ok(rel) if !rel.as_os_str().is_empty() => Ok(App {
                rel: rel.to_string_lossy().replace('\\', "/"),
                dir: dir.clone(),
            }),
            _ => Err(Diagnostic::new(
                Code::Usage,
                format!(
                    "`{}` is not an app folder inside the project {}",
                    arg.display(),
                    self.root.display()
                ),
            )
            .severity(Severity::Fatal)
            .hint("run kiln in the repository, or pass -C DIR")),
        }
    }

    fn target(&self, arg: &Path) -> Result<Target, Diagnostic> {
        let file = self.start.join(arg);
        if file.is_file() {
            return Ok(Target::File(canonical(&file)));
        }
        self.app_arg(arg).map(Target::App)
    }

    /// Every app of the project (`apps/<env>/<app>`) with a `secret/` or `secret-decrypted/`
    /// folder, sorted.
    fn all_apps(&self) -> Vec<App> {
        let mut apps = Vec::new();
        for env in subdirs(&self.root.join(APPS_DIR)) {
            for dir in subdirs(&env) {
                if dir.join(SECRET_DIR).is_dir() || dir.join(PLAINTEXT_DIR).is_dir() {
                    let rel = self.rel(&dir);
                    apps.push(App { dir, rel });
                }
            }
        }
        apps
    }

    // ----- diagnostics -----

    /// The diagnostic for a SOPS file that does not decrypt: a missing key is fatal (2),
    /// anything else a broken file (1).
    fn sops_error(&self, file: &Path, e: &SopsError) -> Diagnostic {
        let rel = self.rel(file);
        let d = match e {
            SopsError::NoAgeKey { .. } | SopsError::PostQuantumRecipient { .. } => {
                Diagnostic::new(Code::SecretKeyMissing, format!("cannot decrypt {rel}: {e}")).hint(
                    "put an age identity for one of its recipients in SOPS_AGE_KEY, \
                     SOPS_AGE_KEY_FILE or sops' age key file (~/.config/sops/age/keys.txt)",
                )
            }
            SopsError::NotSops { .. } => Diagnostic::new(
                Code::SecretBroken,
                format!("{rel} is not encrypted: {e}"),
            )
            .hint("encrypt it with `kiln secrets encrypt`, or keep plaintext in secret-decrypted/"),
            // Not broken, but kiln cannot read it: it could not do its job.
            SopsError::Unsupported { .. } | SopsError::UnsupportedVersion { .. } => {
                Diagnostic::new(Code::SecretBroken, format!("cannot decrypt {rel}: {e}"))
                    .severity(Severity::Fatal)
            }
            _ => Diagnostic::new(Code::SecretBroken, format!("cannot decrypt {rel}: {e}")),
        };
        d.in_file(rel).sensitive()
    }

    fn encrypt_error(&self, file: &Path, e: &EncryptError) -> Diagnostic {
        let rel = self.rel(file);
        Diagnostic::new(
            Code::SecretUnencryptable,
            format!("cannot encrypt {rel}: {e}"),
        )
        .in_file(rel)
        .sensitive()
    }

    fn config_error(&self, e: &ConfigError) -> Diagnostic {
        let rel = self.rel(e.path());
        let mut d = Diagnostic::new(Code::SopsConfig, config_message(e)).in_file(rel);
        if let (Some(line), Ok(text)) = (e.line(), std::fs::read_to_string(e.path())) {
            d = d.at(line_span(&text, line));
        }
        if matches!(e, ConfigError::NoMatchingRule { .. }) {
            d = d.hint(
                "add a creation rule whose path_regex matches the file; for a single FILE, \
                 --filename-override or --age also do",
            );
        }
        d
    }

    fn io_error(&self, code: Code, what: &str, path: &Path, e: &io::Error) -> Diagnostic {
        let rel = self.rel(path);
        Diagnostic::new(code, format!("cannot {what} {rel}: {e}"))
            .in_file(rel)
            .severity(Severity::Fatal)
            .sensitive()
    }

    fn read(&self, path: &Path) -> Result<Zeroizing<Vec<u8>>, Diagnostic> {
        std::fs::read(path)
            .map(Zeroizing::new)
            .map_err(|e| self.io_error(Code::Unreadable, "read", path, &e))
    }

    fn write(&self, path: &Path, bytes: &[u8], mode: u32) -> Result<(), Diagnostic> {
        write_atomic(path, bytes, mode)
            .map_err(|e| self.io_error(Code::WriteFailed, "write", path, &e))
    }

    fn decrypt_file(&mut self, path: &Path) -> Result<sops::Decrypted, Diagnostic> {
        let bytes = self.read(path)?;
        let format = Format::from_path(path);
        let ids = self.identities();
        sops::decrypt(format, &bytes, ids).map_err(|e| self.sops_error(path, &e))
    }

    /// The `.sops.yaml` for `file`; its absence is a diagnostic.
    fn config_for(&self, file: &Path) -> Result<SopsConfig, Diagnostic> {
        match sops_config::for_file(file, Some(&self.root)) {
            Ok(Some(config)) => Ok(config),
            Ok(None) => {
                let rel = self.rel(file);
                Err(Diagnostic::new(
                    Code::SopsConfig,
                    format!("no {} applies to {rel}", sops_config::CONFIG_FILE),
                )
                .hint(format!(
                    "add a {} with creation_rules to the file's folder or a parent, or pass --age",
                    sops_config::CONFIG_FILE
                )))
            }
            Err(e) => Err(self.config_error(&e)),
        }
    }

    /// The YAML indent of the `.sops.yaml` for `file`, if one loads.
    fn yaml_indent(&self, file: &Path) -> Option<usize> {
        sops_config::for_file(file, Some(&self.root))
            .ok()
            .flatten()
            .and_then(|c| c.yaml_indent)
    }

    // ----- encrypt -----

    fn encrypt(&mut self, args: &EncryptArgs, out: &mut dyn Write) -> io::Result<()> {
        match self.target(&args.target) {
            Err(d) => self.diags.push(d),
            Ok(Target::File(file)) => {
                if let Err(d) = self.encrypt_to_stdout(&file, args, out) {
                    self.diags.push(d);
                }
            }
            Ok(Target::App(app)) => {
                if !args.age.is_empty() || args.filename_override.is_some() {
                    self.usage(
                        "--age and --filename-override apply to a single FILE".to_owned(),
                        "an app's recipients come from its .sops.yaml",
                    );
                } else {
                    self.encrypt_app(&app);
                }
            }
        }
        Ok(())
    }

    fn encrypt_to_stdout(
        &mut self,
        file: &Path,
        args: &EncryptArgs,
        out: &mut dyn Write,
    ) -> Result<(), Diagnostic> {
        let named = match &args.filename_override {
            Some(p) => sops_config::absolute(&self.start.join(p)),
            None => file.to_path_buf(),
        };
        let plaintext = self.read(file)?;
        let format = Format::from_path(&named);
        let now = Timestamp::now();
        let (recipients, options) = if args.age.is_empty() {
            let config = self.config_for(&named)?;
            let selected = config.rule_for(&named).map_err(|e| self.config_error(&e))?;
            (selected.recipients.clone(), selected.options(&config, now))
        } else {
            // `--age` replaces the rule's keys; a matching rule still gives the encryption
            // rule and the indent, as in sops.
            let mut options = EncryptOptions::new(now);
            if let Ok(Some(config)) = sops_config::for_file(&named, Some(&self.root)) {
                if let Ok(selected) = config.rule_for(&named) {
                    options = selected.options(&config, now);
                } else if let Some(indent) = config.yaml_indent {
                    options.yaml_indent = indent;
                }
            }
            (args.age.clone(), options)
        };
        let encrypted = sops::encrypt(format, &plaintext, &recipients, &options)
            .map_err(|e| self.encrypt_error(file, &e))?;
        out.write_all(&encrypted)
            .map_err(|e| self.io_error(Code::WriteFailed, "print", file, &e))
    }

    fn encrypt_app(&mut self, app: &App) {
        let plain_dir = app.dir.join(PLAINTEXT_DIR);
        let files = list_files(&plain_dir);
        if files.is_empty() {
            self.diags.push(
                Diagnostic::new(
                    Code::Usage,
                    format!("{}/{PLAINTEXT_DIR}/ has no files to encrypt", app.rel),
                )
                .severity(Severity::Warning)
                .hint("decrypt the app first with `kiln secrets decrypt APP`"),
            );
            return;
        }
        let enc_dir = app.dir.join(SECRET_DIR);
        let now = Timestamp::now();
        let (mut written, mut unchanged, mut failed) = (0, 0, 0);
        for (name, src) in files {
            let dest = enc_dir.join(&name);
            match self.encrypt_one(&src, &dest, now) {
                Ok(Outcome::Written) => {
                    written += 1;
                    let line = format!("encrypted {} -> {}", self.rel(&src), self.rel(&dest));
                    self.progress.push(line);
                }
                Ok(Outcome::Unchanged) => unchanged += 1,
                Err(d) => {
                    failed += 1;
                    self.diags.push(d);
                }
            }
        }
        self.progress.push(format!(
            "kiln secrets encrypt {}: {} encrypted, {unchanged} unchanged{}",
            app.rel,
            files_word(written),
            failed_note(failed)
        ));
    }

    /// Encrypts one plaintext copy into `dest`, unless `dest` already holds the same plaintext
    /// for the same recipients and rule.
    fn encrypt_one(
        &mut self,
        src: &Path,
        dest: &Path,
        now: Timestamp,
    ) -> Result<Outcome, Diagnostic> {
        let plaintext = self.read(src)?;
        let format = Format::from_path(dest);
        let config = self.config_for(dest)?;
        let selected = config.rule_for(dest).map_err(|e| self.config_error(&e))?;
        let options = selected.options(&config, now);
        let recipients = selected.recipients.clone();
        let plain_tree = sops::formats::parse_plain(format, &plaintext)
            .map_err(|e| self.encrypt_error(src, &EncryptError::Document(e)))?;

        let mut previous: Option<(sops::value::DataKey, Metadata)> = None;
        if dest.exists() {
            let decrypted = self.decrypt_file(dest)?;
            let meta = decrypted.metadata();
            let same_keys = meta.other_keys.is_empty()
                && same_set(
                    meta.age.iter().map(|a| a.recipient.trim()),
                    recipients.iter().map(|r| r.trim()),
                );
            let same_rule = format == Format::Binary
                || (effective_rule(meta.rule.as_ref()) == effective_rule(options.rule.as_ref())
                    && meta.mac_only_encrypted == options.mac_only_encrypted);
            if same_keys && same_rule && trees_equal(decrypted.tree(), &plain_tree) {
                return Ok(Outcome::Unchanged);
            }
            if same_keys {
                // Same recipients: keep the data key and its stanzas, as `sops edit` does.
                let ids = self.identities();
                let key = sops::keys::recover_data_key(&meta.age, ids, &[])
                    .map_err(|e| self.sops_error(dest, &e))?;
                previous = Some((key, meta.clone()));
            }
        }
        drop(plain_tree);
        let encrypted = match &previous {
            Some((key, meta)) => sops::encrypt_with(
                format,
                &plaintext,
                MasterKeys::Reuse {
                    data_key: key,
                    age: &meta.age,
                },
                &options,
                &mut OsEntropy,
            ),
            None => sops::encrypt(format, &plaintext, &recipients, &options),
        }
        .map_err(|e| self.encrypt_error(src, &e))?;
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| self.io_error(Code::WriteFailed, "create", parent, &e))?;
        }
        self.write(dest, &encrypted, mode_of(dest).unwrap_or(0o644))?;
        Ok(Outcome::Written)
    }

    // ----- decrypt -----

    fn decrypt(&mut self, args: &DecryptArgs, out: &mut dyn Write) -> io::Result<()> {
        match self.target(&args.target) {
            Err(d) => self.diags.push(d),
            Ok(Target::File(file)) => {
                if args.force {
                    self.usage(
                        "--force applies to an APP".to_owned(),
                        "decrypting a FILE prints it and overwrites nothing",
                    );
                    return Ok(());
                }
                match self.decrypt_file(&file) {
                    Err(d) => self.diags.push(d),
                    Ok(decrypted) => match decrypted.document() {
                        Ok(doc) => out.write_all(&doc)?,
                        Err(e) => {
                            let d = self.sops_error(&file, &e);
                            self.diags.push(d);
                        }
                    },
                }
            }
            Ok(Target::App(app)) => self.decrypt_app(&app, args.force),
        }
        Ok(())
    }

    /// Refuses a plaintext folder git would not ignore, or one holding tracked files.
    fn check_plaintext_dir(&self, app: &App) -> Result<(), Diagnostic> {
        let fs = super::open(&self.root, Source::WorkTree)?;
        let rel = format!("{}/{PLAINTEXT_DIR}", app.rel);
        if fs.repo_root().is_none() {
            return Err(Diagnostic::new(
                Code::PlaintextNotIgnored,
                format!(
                    "{rel}/ is not in a git repository, so nothing keeps it out of commits; \
                     refusing to decrypt into it"
                ),
            )
            .in_file(&rel)
            .hint("decrypt single files with `kiln secrets decrypt FILE` instead"));
        }
        if !fs.is_ignored(&rel, true) {
            return Err(Diagnostic::new(
                Code::PlaintextNotIgnored,
                format!("{rel}/ is not git-ignored; refusing to decrypt into it"),
            )
            .in_file(&rel)
            .hint("add `secret-decrypted/` to the repository's .gitignore"));
        }
        if fs.is_tracked(&rel) {
            return Err(Diagnostic::new(
                Code::PlaintextTracked,
                format!("{rel}/ holds files tracked by git; refusing to decrypt into it"),
            )
            .in_file(&rel)
            .hint(format!(
                "git rm --cached -r {rel}, then rewrite the history that holds them"
            )));
        }
        Ok(())
    }

    fn decrypt_app(&mut self, app: &App, force: bool) {
        let enc_dir = app.dir.join(SECRET_DIR);
        let files = list_files(&enc_dir);
        if files.is_empty() {
            self.diags.push(
                Diagnostic::new(
                    Code::Usage,
                    format!("{}/{SECRET_DIR}/ has no files to decrypt", app.rel),
                )
                .severity(Severity::Warning),
            );
            return;
        }
        if let Err(d) = self.check_plaintext_dir(app) {
            self.diags.push(d);
            return;
        }
        let plain_dir = app.dir.join(PLAINTEXT_DIR);
        if let Err(e) = create_private_dir(&plain_dir) {
            let d = self.io_error(Code::WriteFailed, "create", &plain_dir, &e);
            self.diags.push(d);
            return;
        }
        let (mut written, mut unchanged, mut failed) = (0, 0, 0);
        for (name, src) in files {
            let dest = plain_dir.join(&name);
            match self.decrypt_one(&src, &dest, force) {
                Ok(Outcome::Written) => {
                    written += 1;
                    let line = format!("decrypted {} -> {}", self.rel(&src), self.rel(&dest));
                    self.progress.push(line);
                }
                Ok(Outcome::Unchanged) => unchanged += 1,
                Err(d) => {
                    failed += 1;
                    self.diags.push(d);
                }
            }
        }
        self.progress.push(format!(
            "kiln secrets decrypt {}: {} decrypted, {unchanged} unchanged{}",
            app.rel,
            files_word(written),
            failed_note(failed)
        ));
    }

    fn decrypt_one(&mut self, src: &Path, dest: &Path, force: bool) -> Result<Outcome, Diagnostic> {
        let decrypted = self.decrypt_file(src)?;
        let doc = decrypted.document().map_err(|e| self.sops_error(src, &e))?;
        if dest.exists() {
            let current = self.read(dest)?;
            if *current == *doc {
                return Ok(Outcome::Unchanged);
            }
            match plaintext_state(&decrypted, &current, src, dest) {
                PlainState::UpToDate => return Ok(Outcome::Unchanged),
                PlainState::Ahead if !force => {
                    let rel = self.rel(dest);
                    return Err(Diagnostic::new(
                        Code::SecretPlaintextChanged,
                        format!(
                            "{rel} has changes that are not encrypted yet; not overwriting it"
                        ),
                    )
                    .in_file(rel)
                    .sensitive()
                    .hint("encrypt them with `kiln secrets encrypt APP`, or pass --force to discard them"));
                }
                _ => {}
            }
        }
        self.write(dest, &doc, 0o600)?;
        Ok(Outcome::Written)
    }

    // ----- rotate -----

    fn rotate(&mut self, args: &RotateArgs) -> io::Result<()> {
        let mut files: Vec<PathBuf> = Vec::new();
        if args.targets.is_empty() {
            for app in self.all_apps() {
                files.extend(
                    list_files(&app.dir.join(SECRET_DIR))
                        .into_iter()
                        .map(|(_, p)| p),
                );
            }
        }
        for arg in &args.targets {
            match self.target(arg) {
                Ok(Target::File(f)) => files.push(f),
                Ok(Target::App(app)) => {
                    let found = list_files(&app.dir.join(SECRET_DIR));
                    if found.is_empty() {
                        self.diags.push(
                            Diagnostic::new(
                                Code::Usage,
                                format!("{}/{SECRET_DIR}/ has no files to rotate", app.rel),
                            )
                            .severity(Severity::Warning),
                        );
                    }
                    files.extend(found.into_iter().map(|(_, p)| p));
                }
                Err(d) => self.diags.push(d),
            }
        }
        if self.diags.exit_status() == ExitStatus::Error {
            return Ok(());
        }
        let mut seen = std::collections::HashSet::new();
        files.retain(|f| seen.insert(f.clone()));
        let now = Timestamp::now();
        let mut rotated = 0;
        for file in files {
            match self.rotate_one(&file, &args.add_age, &args.rm_age, now) {
                Ok(line) => {
                    rotated += 1;
                    self.progress.push(line);
                }
                Err(d) => self.diags.push(d),
            }
        }
        self.progress.push(format!(
            "kiln secrets rotate: {} rotated",
            files_word(rotated)
        ));
        Ok(())
    }

    fn rotate_one(
        &mut self,
        file: &Path,
        add: &[String],
        rm: &[String],
        now: Timestamp,
    ) -> Result<String, Diagnostic> {
        let rel = self.rel(file);
        let decrypted = self.decrypt_file(file)?;
        let meta = decrypted.metadata();
        if !meta.other_keys.is_empty() {
            return Err(Diagnostic::new(
                Code::SecretUnencryptable,
                format!(
                    "cannot rotate {rel}: it is also encrypted for {}, which kiln cannot encrypt to",
                    meta.other_keys.join(", ")
                ),
            )
            .in_file(&rel)
            .sensitive());
        }
        let mut recipients: Vec<String> = Vec::new();
        for r in meta
            .age
            .iter()
            .map(|a| a.recipient.trim())
            .chain(add.iter().map(|r| r.trim()))
        {
            if !r.is_empty()
                && !rm.iter().any(|x| x.trim() == r)
                && !recipients.iter().any(|x| x == r)
            {
                recipients.push(r.to_owned());
            }
        }
        if recipients.is_empty() {
            return Err(Diagnostic::new(
                Code::SecretUnencryptable,
                format!("cannot rotate {rel}: no age recipient would be left"),
            )
            .in_file(&rel)
            .sensitive());
        }
        let format = decrypted.format();
        let mut options = EncryptOptions::new(now);
        options.rule = meta.rule.clone();
        options.mac_only_encrypted = meta.mac_only_encrypted;
        if let Some(indent) = self.yaml_indent(file) {
            options.yaml_indent = indent;
        }
        let doc = decrypted
            .document()
            .map_err(|e| self.sops_error(file, &e))?;
        let encrypted = sops::encrypt(format, &doc, &recipients, &options)
            .map_err(|e| self.encrypt_error(file, &e))?;
        let before: Vec<&str> = meta.age.iter().map(|a| a.recipient.trim()).collect();
        let mut changes: Vec<String> = recipients
            .iter()
            .filter(|r| !before.contains(&r.as_str()))
            .map(|r| format!("+{r}"))
            .collect();
        changes.extend(
            before
                .iter()
                .filter(|r| !recipients.iter().any(|x| x == *r))
                .map(|r| format!("-{r}")),
        );
        self.write(file, &encrypted, mode_of(file).unwrap_or(0o644))?;
        Ok(if changes.is_empty() {
            format!("rotated {rel}: new data key")
        } else {
            format!(
                "rotated {rel}: new data key, recipients {}",
                changes.join(" ")
            )
        })
    }

    // ----- status -----

    fn status(&mut self, args: &StatusArgs, out: &mut dyn Write) -> io::Result<()> {
        let mut apps = Vec::new();
        if args.apps.is_empty() {
            apps = self.all_apps();
        }
        for arg in &args.apps {
            match self.app_arg(arg) {
                Ok(app) => apps.push(app),
                Err(d) => self.diags.push(d),
            }
        }
        let mut rows = Vec::new();
        for app in &apps {
            let mut names: Vec<String> = list_files(&app.dir.join(SECRET_DIR))
                .into_iter()
                .chain(list_files(&app.dir.join(PLAINTEXT_DIR)))
                .map(|(name, _)| name)
                .collect();
            names.sort();
            names.dedup();
            for name in names {
                let row = self.status_row(app, &name);
                rows.push(row);
            }
        }
        if self.output.format == OutputFormat::Json {
            let files: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "file": r.file,
                        "plaintext_file": r.plaintext_file,
                        "encrypted": r.encrypted,
                        "recipients": r.recipients,
                        "mac": r.mac,
                        "plaintext": r.plaintext,
                    })
                })
                .collect();
            let doc = serde_json::json!({ "files": files });
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            )?;
            return Ok(());
        }
        if rows.is_empty() {
            self.progress
                .push("kiln secrets status: no secret files".to_owned());
            return Ok(());
        }
        let width = rows.iter().map(|r| r.file.len()).max().unwrap_or(4).max(4);
        writeln!(
            out,
            "{:width$}  {:9}  {:8}  {:19}  RECIPIENTS",
            "FILE", "ENCRYPTED", "MAC", "PLAINTEXT COPY"
        )?;
        for r in &rows {
            let recipients = if r.recipients.is_empty() {
                "-".to_owned()
            } else {
                r.recipients.join(",")
            };
            writeln!(
                out,
                "{:width$}  {:9}  {:8}  {:19}  {recipients}",
                r.file, r.encrypted, r.mac, r.plaintext
            )?;
        }
        Ok(())
    }

    fn status_row(&mut self, app: &App, name: &str) -> StatusRow {
        let enc = app.dir.join(SECRET_DIR).join(name);
        let plain = app.dir.join(PLAINTEXT_DIR).join(name);
        let mut row = StatusRow {
            file: self.rel(&enc),
            plaintext_file: plain.is_file().then(|| self.rel(&plain)),
            encrypted: "no",
            recipients: Vec::new(),
            mac: "-",
            plaintext: if plain.is_file() { "present" } else { "none" },
        };
        if !enc.is_file() {
            row.encrypted = "missing";
            row.plaintext = "not-encrypted-yet";
            return row;
        }
        let bytes = match self.read(&enc) {
            Ok(b) => b,
            Err(d) => {
                self.diags.push(d);
                row.encrypted = "unreadable";
                return row;
            }
        };
        let format = Format::from_path(&enc);
        let ids = self.identities();
        match sops::decrypt(format, &bytes, ids) {
            Ok(decrypted) => {
                row.encrypted = "yes";
                row.mac = "verified";
                row.recipients = decrypted.metadata().recipients();
                if plain.is_file() {
                    row.plaintext = match std::fs::read(&plain).map(Zeroizing::new) {
                        Ok(current) => plaintext_state(&decrypted, &current, &enc, &plain).word(),
                        Err(_) => "unreadable",
                    };
                }
            }
            Err(e) => {
                if let Some(meta) = sops::formats::parse(format, &bytes)
                    .ok()
                    .and_then(|p| sops::formats::metadata(&p.metadata).ok())
                {
                    row.recipients = meta.recipients();
                }
                match &e {
                    SopsError::NotSops { .. } => {
                        row.encrypted = "no";
                        self.diags.push(self.sops_error(&enc, &e));
                    }
                    SopsError::NoAgeKey { recipients } => {
                        row.encrypted = "yes";
                        row.mac = "no-key";
                        row.recipients.clone_from(recipients);
                        if plain.is_file() {
                            row.plaintext = "unknown";
                        }
                    }
                    SopsError::PostQuantumRecipient { .. } => {
                        row.encrypted = "yes";
                        row.mac = "no-key";
                        if plain.is_file() {
                            row.plaintext = "unknown";
                        }
                    }
                    SopsError::MacMismatch | SopsError::ValueDecryption { .. } => {
                        row.encrypted = "yes";
                        row.mac = "mismatch";
                        self.diags.push(self.sops_error(&enc, &e));
                    }
                    _ => {
                        row.encrypted = "broken";
                        row.mac = "error";
                        self.diags.push(self.sops_error(&enc, &e));
                    }
                }
            }
        }
        row
    }

    // ----- edit -----

    fn edit(&mut self, args: &EditArgs, err: &mut dyn Write) -> io::Result<()> {
        let file = self.file_arg(&args.file);
        if !file.is_file() {
            self.usage(
                format!("{} does not exist", args.file.display()),
                "edit opens an encrypted file; create one with `kiln secrets encrypt`",
            );
            return Ok(());
        }
        if let Err(d) = self.edit_file(&file, err) {
            self.diags.push(d);
        }
        Ok(())
    }

    fn edit_file(&mut self, file: &Path, err: &mut dyn Write) -> Result<(), Diagnostic> {
        let rel = self.rel(file);
        let decrypted = self.decrypt_file(file)?;
        let meta = decrypted.metadata().clone();
        if !meta.other_keys.is_empty() {
            return Err(Diagnostic::new(
                Code::SecretUnencryptable,
                format!(
                    "cannot edit {rel}: it is also encrypted for {}, which kiln cannot encrypt to",
                    meta.other_keys.join(", ")
                ),
            )
            .in_file(&rel)
            .sensitive());
        }
        let ids = self.identities();
        let data_key = sops::keys::recover_data_key(&meta.age, ids, &[])
            .map_err(|e| self.sops_error(file, &e))?;
        let original = decrypted
            .document()
            .map_err(|e| self.sops_error(file, &e))?;
        let format = decrypted.format();
        // Declared before the scratch copy, so the copy is removed while signals are still
        // ignored.
        let _signals = signals::Ignored::new();
        let name = file
            .file_name()
            .map_or_else(|| "secret".into(), |n| n.to_string_lossy().into_owned());
        let scratch = Scratch::new(&name, &original).map_err(|e| {
            Diagnostic::new(
                Code::WriteFailed,
                format!("cannot create a private temporary file to edit {rel}: {e}"),
            )
            .severity(Severity::Fatal)
        })?;
        loop {
            run_editor(scratch.path()).map_err(|failure| {
                let d = Diagnostic::new(
                    Code::EditorFailed,
                    format!("{}; {rel} is unchanged", failure.message()),
                )
                .in_file(&rel)
                .sensitive();
                match failure {
                    EditorFailure::Spawn(_) => d.hint("set EDITOR to an editor that is installed"),
                    EditorFailure::Exit(_) => d,
                }
            })?;
            let edited = std::fs::read(scratch.path())
                .map(Zeroizing::new)
                .map_err(|e| {
                    self.io_error(Code::Unreadable, "read the edited copy of", file, &e)
                })?;
            if *edited == *original {
                self.progress.push(format!("{rel}: no changes"));
                return Ok(());
            }
            let unchanged = sops::formats::parse_plain(format, &edited)
                .is_ok_and(|tree| trees_equal(decrypted.tree(), &tree));
            if unchanged {
                self.progress
                    .push(format!("{rel}: no changes to the values"));
                return Ok(());
            }
            let mut options = EncryptOptions::new(Timestamp::now());
            options.rule = meta.rule.clone();
            options.mac_only_encrypted = meta.mac_only_encrypted;
            if let Some(indent) = self.yaml_indent(file) {
                options.yaml_indent = indent;
            }
            let result = sops::encrypt_with(
                format,
                &edited,
                MasterKeys::Reuse {
                    data_key: &data_key,
                    age: &meta.age,
                },
                &options,
                &mut OsEntropy,
            );
            match result {
                Ok(encrypted) => {
                    self.write(file, &encrypted, mode_of(file).unwrap_or(0o644))?;
                    self.progress.push(format!("{rel}: re-encrypted"));
                    return Ok(());
                }
                Err(e) => {
                    let d = self.encrypt_error(file, &e);
                    if ask_to_edit_again(&d.message, err) {
                        continue;
                    }
                    return Err(d.hint("nothing was written; your changes were discarded"));
                }
            }
        }
    }
}

/// One line of `kiln secrets status`.
struct StatusRow {
    file: String,
    plaintext_file: Option<String>,
    /// `yes`, `no`, `missing` (only a plaintext copy), `broken`, `unreadable`.
    encrypted: &'static str,
    recipients: Vec<String>,
    /// `verified`, `mismatch`, `no-key`, `error`, `-`.
    mac: &'static str,
    /// See [`PlainState::word`], or `none`, `unknown`, `not-encrypted-yet`, `unreadable`.
    plaintext: &'static str,
}

/// How a plaintext copy relates to its encrypted file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PlainState {
    /// Same values.
    UpToDate,
    /// Different values, and older than the encrypted file: decrypting again updates it.
    Stale,
    /// Different values, and newer: changes not encrypted yet.
    Ahead,
}

impl PlainState {
    fn word(self) -> &'static str {
        match self {
            PlainState::UpToDate => "up-to-date",
            PlainState::Stale => "stale",
            PlainState::Ahead => "not-encrypted-yet",
        }
    }
}

/// Compares a plaintext copy with the decrypted file by value (formatting aside); when they
/// differ, the newer file by modification time wins.
fn plaintext_state(
    decrypted: &sops::Decrypted,
    plaintext: &[u8],
    enc: &Path,
    plain: &Path,
) -> PlainState {
    let same = sops::formats::parse_plain(decrypted.format(), plaintext)
        .is_ok_and(|tree| trees_equal(decrypted.tree(), &tree));
    if same {
        return PlainState::UpToDate;
    }
    match (mtime(plain), mtime(enc)) {
        (Some(p), Some(e)) if p > e => PlainState::Ahead,
        _ => PlainState::Stale,
    }
}

/// Whether two trees hold the same keys, structure and values (by the canonical form sops
/// hashes, so `True` and `true` are the same boolean). Comments compare as text.
fn trees_equal(a: &Tree, b: &Tree) -> bool {
    a.branches.len() == b.branches.len()
        && a.branches
            .iter()
            .zip(&b.branches)
            .all(|(x, y)| items_equal(x, y))
}

fn items_equal(a: &[Item], b: &[Item]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|pair| match pair {
            (Item::Entry(ka, va), Item::Entry(kb, vb)) => ka == kb && values_equal(va, vb),
            (Item::Comment(la), Item::Comment(lb)) => la.bytes == lb.bytes,
            _ => false,
        })
}

fn values_equal(a: &TreeValue, b: &TreeValue) -> bool {
    match (a, b) {
        (TreeValue::Null, TreeValue::Null) => true,
        (TreeValue::Leaf(x), TreeValue::Leaf(y)) => leaves_equal(x, y),
        (TreeValue::Map(x), TreeValue::Map(y)) => items_equal(x, y),
        (TreeValue::Seq(x), TreeValue::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| values_equal(v, w))
        }
        _ => false,
    }
}

fn leaves_equal(a: &Leaf, b: &Leaf) -> bool {
    if a.value_type != b.value_type {
        return false;
    }
    match (
        sops::mac::mac_bytes(a.value_type, &a.bytes),
        sops::mac::mac_bytes(b.value_type, &b.bytes),
    ) {
        (Some(x), Some(y)) => {
            let equal = x == y;
            // Canonical forms of numbers and booleans are copies of plaintext: zero them.
            for mut owned in [x, y].into_iter().filter_map(|c| match c {
                std::borrow::Cow::Owned(v) => Some(v),
                std::borrow::Cow::Borrowed(_) => None,
            }) {
                zeroize::Zeroize::zeroize(&mut owned);
            }
            equal
        }
        _ => a.bytes == b.bytes,
    }
}

/// The rule a file is encrypted with, sops' default for none or an empty pattern.
fn effective_rule(rule: Option<&sops::EncryptionRule>) -> sops::EncryptionRule {
    use sops::EncryptionRule as R;
    let default = || R::UnencryptedSuffix("_unencrypted".to_owned());
    match rule {
        None => default(),
        Some(
            R::UnencryptedSuffix(s)
            | R::EncryptedSuffix(s)
            | R::UnencryptedRegex(s)
            | R::EncryptedRegex(s)
            | R::UnencryptedCommentRegex(s)
            | R::EncryptedCommentRegex(s),
        ) if s.is_empty() => default(),
        Some(r) => r.clone(),
    }
}

fn same_set<'a>(a: impl Iterator<Item = &'a str>, b: impl Iterator<Item = &'a str>) -> bool {
    let mut a: Vec<&str> = a.collect();
    let mut b: Vec<&str> = b.collect();
    a.sort_unstable();
    a.dedup();
    b.sort_unstable();
    b.dedup();
    a == b
}

fn files_word(n: usize) -> String {
    if n == 1 {
        "1 file".to_owned()
    } else {
        format!("{n} files")
    }
}

fn failed_note(failed: usize) -> String {
    if failed == 0 {
        String::new()
    } else {
        format!(", {failed} failed")
    }
}

/// The message of a configuration error without the file (the diagnostic names it).
fn config_message(e: &ConfigError) -> String {
    match e {
        ConfigError::Io { source, .. } => format!("cannot read the sops configuration: {source}"),
        ConfigError::Invalid { message, .. } => format!("invalid sops configuration: {message}"),
        ConfigError::NoMatchingRule { file, .. } => {
            format!("no creation rule matches `{file}`")
        }
        ConfigError::Unsupported { file, what, .. } => {
            format!("the creation rule for `{file}` uses {what}, which kiln cannot encrypt to")
        }
        ConfigError::NoRecipients { file, .. } => {
            format!("the creation rule for `{file}` has no age recipients")
        }
    }
}

/// The span of a whole 1-based line of `text`.
fn line_span(text: &str, line: u32) -> Span {
    let mut start = 0;
    for _ in 1..line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => break,
        }
    }
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    Span::in_text(text, start, end)
}

/// `path` with symlinks resolved when it exists; otherwise its parent resolved and the name
/// kept (a destination file not written yet), otherwise as given.
fn canonical(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    match (
        path.parent().and_then(|p| p.canonicalize().ok()),
        path.file_name(),
    ) {
        (Some(parent), Some(name)) => parent.join(name),
        _ => path.to_path_buf(),
    }
}

/// The regular files directly in `dir` (symlinks followed), by name, skipping hidden files
/// (`.gitkeep`, editor swap files) and backups ending in `~`. Empty when `dir` does not exist.
fn list_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_owned();
            let path = e.path();
            (!name.starts_with('.') && !name.ends_with('~') && path.is_file())
                .then_some((name, path))
        })
        .collect();
    files.sort();
    files
}

/// The subdirectories of `dir`, sorted; hidden ones skipped.
fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[cfg(unix)]
fn mode_of(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn mode_of(_path: &Path) -> Option<u32> {
    None
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Creates a folder for plaintext: mode 0700 when it is new.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes `bytes` to `path` through a temporary file in the same folder (created 0600, removed
/// on failure) renamed over it, so readers never see half a file and a failure leaves the old
/// one.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".kiln-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    set_mode(tmp.path(), mode)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A private temporary copy of a plaintext: a fresh folder (0700) holding one file (0600) with
/// the original's name, so the editor picks the right syntax. Dropping it overwrites the file
/// with zeros and removes the folder with everything the editor left in it (swap files,
/// backups).
struct Scratch {
    /// Held for its `Drop`, which removes the folder.
    _dir: tempfile::TempDir,
    file: PathBuf,
}

impl Scratch {
    fn new(name: &str, plaintext: &[u8]) -> io::Result<Scratch> {
        let mut builder = tempfile::Builder::new();
        builder.prefix("kiln-edit-");
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
        let dir = builder.tempdir()?;
        let file = dir.path().join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut handle = options.open(&file)?;
        handle.write_all(plaintext)?;
        handle.sync_all()?;
        Ok(Scratch { _dir: dir, file })
    }

    fn path(&self) -> &Path {
        &self.file
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Best effort: the folder is removed by `TempDir` right after.
        if let Ok(meta) = std::fs::metadata(&self.file)
            && let Ok(mut handle) = std::fs::OpenOptions::new().write(true).open(&self.file)
        {
            let len = usize::try_from(meta.len()).unwrap_or(0);
            let _ = handle.write_all(&vec![0; len]);
            let _ = handle.sync_all();
        }
        let _ = std::fs::remove_file(&self.file);
    }
}

/// Why the editor did not succeed.
enum EditorFailure {
    /// It could not be started.
    Spawn(String),
    /// It exited unsuccessfully.
    Exit(String),
}

impl EditorFailure {
    fn message(&self) -> &str {
        match self {
            EditorFailure::Spawn(m) | EditorFailure::Exit(m) => m,
        }
    }
}

/// Runs `$EDITOR` (else `vi`) on `file`. An editor of plain words (`vim`, `code --wait`) is
/// started directly, so that nothing stands between kiln and it: a shell in between would die
/// of a Ctrl-C the editor handles and leave the editor orphaned. Anything else goes through the
/// shell as git does (`sh -c '$EDITOR "$@"'`).
fn run_editor(file: &Path) -> Result<(), EditorFailure> {
    let editor = std::env::var("EDITOR")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".to_owned());
    let plain_words = editor
        .chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "-_./:=+,@%".contains(c));
    let mut words = editor.split_whitespace();
    let mut command = match (plain_words, words.next()) {
        (true, Some(program)) => {
            let mut command = std::process::Command::new(program);
            command.args(words);
            command
        }
        _ => {
            let mut command = std::process::Command::new("sh");
            command
                .arg("-c")
                .arg(format!("{editor} \"$@\""))
                .arg(&editor);
            command
        }
    };
    command.arg(file);
    signals::restore_in_child(&mut command);
    let status = command
        .status()
        .map_err(|e| EditorFailure::Spawn(format!("cannot run the editor `{editor}`: {e}")))?;
    match status.code() {
        Some(0) => Ok(()),
        // sh's "command not found" and "not executable".
        Some(127 | 126) => Err(EditorFailure::Spawn(format!(
            "cannot run the editor `{editor}` ({status})"
        ))),
        _ => Err(EditorFailure::Exit(format!(
            "the editor `{editor}` exited with {status}"
        ))),
    }
}

/// After a failed re-encryption: whether the user wants to fix the file in the editor. Only
/// asked on a terminal; anything but an empty line (or end of input) discards the changes.
fn ask_to_edit_again(message: &str, err: &mut dyn Write) -> bool {
    let stdin = io::stdin();
    if !stdin.is_terminal() {
        return false;
    }
    let _ = writeln!(err, "error: {message}");
    let _ = write!(
        err,
        "Press Enter to edit the file again, or type q and Enter to discard your changes: "
    );
    let _ = err.flush();
    let mut line = String::new();
    match stdin.lock().read_line(&mut line) {
        Ok(0) | Err(_) => false,
        Ok(_) => line.trim().is_empty(),
    }
}

/// While the editor runs, the terminal's signals (Ctrl-C, Ctrl-\, hang-up) and `kill` go to the
/// editor; kiln ignores them so that it survives to remove the plaintext copy, as git does
/// while its editor runs. The editor itself starts with the dispositions kiln had.
#[cfg(unix)]
mod signals {
    use std::os::raw::c_int;

    /// `sighandler_t`: a function pointer, or one of the constants below.
    type Handler = usize;
    const SIG_DFL: Handler = 0;
    const SIG_IGN: Handler = 1;
    const SIG_ERR: Handler = usize::MAX;
    /// SIGHUP, SIGINT, SIGQUIT, SIGTERM: the same numbers on Linux and the BSDs (macOS).
    const SIGNALS: [c_int; 4] = [1, 2, 3, 15];

    unsafe extern "C" {
        /// C's `signal(2)`, from the C library std already links.
        fn signal(signum: c_int, handler: Handler) -> Handler;
    }

    /// Dispositions kiln had before [`Ignored::new`], for the child and for restoring.
    static PREVIOUS: std::sync::Mutex<[Handler; 4]> = std::sync::Mutex::new([SIG_DFL; 4]);

    /// Ignores the signals until dropped.
    pub(super) struct Ignored {
        previous: [Handler; 4],
    }

    impl Ignored {
        pub(super) fn new() -> Ignored {
            let mut previous = [SIG_DFL; 4];
            for (slot, sig) in previous.iter_mut().zip(SIGNALS) {
                // SAFETY: `signal` with SIG_IGN installs no handler code; it only changes the
                // process' disposition for a valid signal number.
                let old = unsafe { signal(sig, SIG_IGN) };
                *slot = if old == SIG_ERR { SIG_DFL } else { old };
            }
            if let Ok(mut p) = PREVIOUS.lock() {
                *p = previous;
            }
            Ignored { previous }
        }
    }

    impl Drop for Ignored {
        fn drop(&mut self) {
            for (old, sig) in self.previous.iter().zip(SIGNALS) {
                // SAFETY: restores a disposition `signal` returned for this signal.
                unsafe {
                    signal(sig, *old);
                }
            }
        }
    }

    /// Makes the child start with kiln's earlier dispositions (default unless kiln itself was
    /// started with a signal ignored, e.g. under `nohup`).
    pub(super) fn restore_in_child(command: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        let previous = PREVIOUS.lock().map(|p| *p).unwrap_or([SIG_DFL; 4]);
        let wanted = previous.map(|h| if h == SIG_IGN { SIG_IGN } else { SIG_DFL });
        // SAFETY: the closure runs between fork and exec and only calls `signal`, which is
        // async-signal-safe, with values computed before the fork.
        unsafe {
            command.pre_exec(move || {
                for (sig, handler) in SIGNALS.iter().zip(wanted) {
                    signal(*sig, handler);
                }
                Ok(())
            });
        }
    }
}

#[cfg(not(unix))]
mod signals {
    pub(super) struct Ignored;
    impl Ignored {
        pub(super) fn new() -> Ignored {
            Ignored
        }
    }
    pub(super) fn restore_in_child(_command: &mut std::process::Command) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(format: Format, text: &str) -> Tree {
        sops::formats::parse_plain(format, text.as_bytes()).expect("parses")
    }

    #[test]
    fn trees_compare_by_value() {
        let a = tree(Format::Yaml, "a: 1\nb:\n  c: true\n  d: [x, y]\n");
        let b = tree(Format::Yaml, "a:   1\nb: {c: true, d: [x, y]}\n");
        assert!(trees_equal(&a, &b));
        for other in [
            "a: 2\nb:\n  c: true\n  d: [x, y]\n",
            "a: '1'\nb:\n  c: true\n  d: [x, y]\n",
            "a: 1\nb:\n  c: true\n  d: [x]\n",
            "b:\n  c: true\n  d: [x, y]\na: 1\n",
        ] {
            assert!(!trees_equal(&a, &tree(Format::Yaml, other)), "{other}");
        }
        let mut bools = tree(Format::Yaml, "a: true\n");
        if let Some(Item::Entry(_, TreeValue::Leaf(leaf))) = bools.branches[0].first_mut() {
            // As decrypted from a file sops wrote.
            leaf.bytes = Zeroizing::new(b"True".to_vec());
        }
        assert!(trees_equal(&bools, &tree(Format::Yaml, "a: true\n")));
    }

    #[test]
    fn rules_compare_with_the_default() {
        use sops::EncryptionRule as R;
        assert_eq!(
            effective_rule(None),
            effective_rule(Some(&R::UnencryptedSuffix("_unencrypted".into())))
        );
        assert_eq!(
            effective_rule(Some(&R::EncryptedRegex(String::new()))),
            effective_rule(None)
        );
        assert_ne!(
            effective_rule(Some(&R::EncryptedRegex("^data$".into()))),
            effective_rule(None)
        );
    }

    #[test]
    fn line_spans() {
        let text = "a: 1\nbb: 2\nc: 3";
        let s = line_span(text, 2);
        assert_eq!((s.start, s.end, s.line, s.col), (5, 10, 2, 1));
        let s = line_span(text, 3);
        assert_eq!((s.start, s.end), (11, 15));
    }

    #[test]
    fn scratch_is_private_and_removed() {
        let scratch = Scratch::new("x.yaml", b"k: v\n").expect("scratch");
        let path = scratch.path().to_path_buf();
        let dir = path.parent().expect("parent").to_path_buf();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            assert_eq!(mode(&path), 0o600);
        }
        std::fs::write(dir.join(".x.yaml.swp"), "swap").expect("write");
        drop(scratch);
        assert!(!path.exists() && !dir.exists());
    }
}
