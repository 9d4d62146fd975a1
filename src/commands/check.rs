//! `kiln check`: discover the repository from the chosen source and run every rule, render the
//! apps (for `--staged`, those the staged change affects) and validate their output.
//!
//! A check of a git source (the index, a commit) names every input by blob id, so its whole
//! outcome is kept in `crate::cache` and replayed when the same content is checked again.

use std::io::Write;
use std::path::Path;

use crate::cache::{Cache, Key, KeyBuilder, Kind};
use crate::cli::CheckArgs;
use crate::diagnostics::{Code, Diagnostic, Diagnostics, ExitStatus};
use crate::discover;
use crate::load::Loader;
use crate::validate::{self, Options};

use super::{Output, emit, fail, load_project, open, source_of};

/// What `kiln check --staged` (the pre-commit hook) adds when kiln itself could not do its job,
/// so nobody takes kiln's failure for a finding in the commit.
const KILN_FAILED: &str = "kiln check --staged could not check this commit (exit 2): the commit is stopped by kiln's own failure above, not by a finding in it; fix the cause, or commit with --no-verify to skip the check";

/// What a check found and what it tells the user besides diagnostics; what the cache keeps.
#[derive(serde::Serialize, serde::Deserialize)]
struct Outcome {
    /// Every diagnostic, sorted.
    diagnostics: Vec<Diagnostic>,
    /// `-v`: one line per checked app.
    report: Vec<String>,
    /// The closing line of a clean run (`kiln check: 3 apps, ...: ok`).
    summary: String,
}

/// Runs `kiln check`.
pub fn run(
    root: &Path,
    args: &CheckArgs,
    output: Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<ExitStatus> {
    let status = check(root, args, output, out, err)?;
    if status == ExitStatus::Error && args.source.staged {
        writeln!(err, "{KILN_FAILED}")?;
    }
    Ok(status)
}

fn check(
    root: &Path,
    args: &CheckArgs,
    output: Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<ExitStatus> {
    let started = std::time::Instant::now();
    let fs = match open(root, source_of(&args.source)) {
        Ok(fs) => fs,
        Err(d) => return fail(d, output, true, out, err),
    };
    let loader = Loader::new(&fs);
    if !fs.is_dir(discover::APPS_DIR) && !fs.is_file(crate::project::PROJECT_FILE) {
        let d = Diagnostic::new(
            Code::Usage,
            format!(
                "{} is not a kiln project: it has no apps/ folder and no kiln.yaml",
                root.display()
            ),
        )
        .hint("run kiln in the repository root, or pass -C DIR");
        return fail(d, output, true, out, err);
    }
    // A git source names every input by blob id: the whole result can come from the cache.
    let cached = output
        .cache
        .then(|| cache_key(&fs, args))
        .flatten()
        .and_then(|key| Some((Cache::in_git_dir(fs.git_dir()?), key)));
    let hit = cached.as_ref().and_then(|(cache, key)| {
        let bytes = cache.get(Kind::Check, *key)?;
        serde_json::from_slice::<Outcome>(&bytes).ok()
    });
    let outcome = match hit {
        Some(outcome) => {
            if output.verbose > 1 {
                writeln!(
                    err,
                    "timings: {:.1} ms, the result of an identical check from {}",
                    started.elapsed().as_secs_f64() * 1000.0,
                    cached
                        .as_ref()
                        .map_or_else(String::new, |(c, _)| c.dir().display().to_string())
                )?;
            }
            outcome
        }
        None => {
            let outcome = match compute(&fs, &loader, args, output, started, out, err)? {
                Ok(outcome) => outcome,
                Err(status) => return Ok(status),
            };
            // Stored unless kiln could not do its job (a fatal diagnostic may be transient:
            // an unreadable object, a full disk). The diagnostics never hold secret values
            // (see ARCHITECTURE.md); failing to store only costs time next run.
            let fatal = outcome
                .diagnostics
                .iter()
                .any(|d| d.severity == crate::diagnostics::Severity::Fatal);
            if let (Some((cache, key)), false) = (&cached, fatal)
                && let Ok(bytes) = serde_json::to_vec(&outcome)
            {
                let _ = cache.put(Kind::Check, *key, &bytes);
            }
            outcome
        }
    };
    if output.verbose > 0 {
        for line in &outcome.report {
            writeln!(err, "{line}")?;
        }
    }
    let mut diags = Diagnostics::new();
    diags.extend(outcome.diagnostics);
    emit(&diags, &loader, output, true, out, err)?;
    let status = diags.exit_status();
    if status == ExitStatus::Success && !output.quiet && output.format == crate::cli::Format::Human
    {
        writeln!(err, "{}", outcome.summary)?;
    }
    Ok(status)
}

/// The cache key of a check of a git source: kiln's version (in every key), the source kind,
/// the environments asked for, every path with its mode and blob id, `HEAD`'s tree for
/// `--staged` (which apps count as affected), and the age keys available (without one, apps
/// with secrets are a warning instead of being rendered). `None` for the work tree, whose
/// blob ids would cost as much to compute as the check.
fn cache_key(fs: &crate::fs::RepoFs, args: &CheckArgs) -> Option<Key> {
    let entries = fs.entries_with_ids()?;
    let mut key = KeyBuilder::new(Kind::Check);
    key.field(match fs.source() {
        crate::fs::Source::Index => b"index",
        _ => b"rev",
    });
    for env in &args.envs {
        key.field(b"env").field(env.as_bytes());
    }
    if let Some(staged) = fs.staged_changes() {
        key.field(
            staged
                .head_tree
                .as_ref()
                .map_or(&b"unborn"[..], |t| t.as_bytes()),
        );
        key.field(staged.operation.unwrap_or_default().as_bytes());
        for path in &staged.unmerged {
            key.field(b"unmerged").field(path.as_bytes());
        }
    }
    for (entry, id) in entries {
        key.field(entry.path.as_bytes())
            .field(&[entry.kind as u8])
            .field(id.as_bytes());
    }
    let (identities, warning) = super::load_identities();
    let mut recipients: Vec<String> = identities
        .iter()
        .map(|i| i.to_public().to_string())
        .collect();
    recipients.sort();
    for r in recipients {
        key.field(b"age").field(r.as_bytes());
    }
    if let Some(w) = warning {
        key.field(w.message.as_bytes());
    }
    Some(key.finish())
}

/// The check itself: `Err(status)` when it stopped early, having printed why.
fn compute(
    fs: &crate::fs::RepoFs,
    loader: &Loader<'_>,
    args: &CheckArgs,
    output: Output,
    started: std::time::Instant,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Result<Outcome, ExitStatus>> {
    let project = match load_project(loader) {
        Ok(p) => p,
        Err(ds) => {
            let mut diags = Diagnostics::new();
            diags.extend(ds);
            diags.finish();
            emit(&diags, loader, output, true, out, err)?;
            return Ok(Err(ExitStatus::Error));
        }
    };
    let opened = started.elapsed();
    let repo = discover::discover(loader);
    let discovered = started.elapsed();
    let mut diags = Diagnostics::new();
    for env in &args.envs {
        if !repo.envs.iter().any(|e| &e.name == env) {
            let known: Vec<&str> = repo.envs.iter().map(|e| e.name.as_str()).collect();
            diags.push(
                Diagnostic::new(Code::Usage, format!("there is no environment `{env}`"))
                    .hint(format!("environments: {}", known.join(", "))),
            );
        }
    }
    let opts = match fs.staged_changes() {
        Some(staged) => Options::staged(args.envs.clone(), &staged.paths),
        None => Options {
            envs: args.envs.clone(),
            scope: None,
        },
    };
    diags.extend(validate::validate(loader, &project, &repo, &opts));
    let validated = started.elapsed();
    // Apps whose inputs already have errors are not rendered: the same problem would be
    // reported twice.
    let broken: std::collections::BTreeSet<String> = diags
        .items()
        .iter()
        .filter(|d| d.severity != crate::diagnostics::Severity::Warning)
        .filter_map(|d| d.file.clone())
        .collect();
    let (rendered_apps, found) = render_and_validate(fs, loader, &project, &repo, &opts, &broken);
    diags.extend(found);
    let mut report = Vec::new();
    if let Some(staged) = fs.staged_changes() {
        report = staged_report(staged, &repo);
        if let Some(first) = staged.unmerged.first() {
            diags.push(
                Diagnostic::new(
                    Code::Git,
                    format!(
                        "{} has unresolved merge conflicts{}: it is checked as \"ours\", and git commits nothing until it is resolved",
                        first,
                        match staged.unmerged.len() {
                            1 => String::new(),
                            n => format!(" (and {} more paths)", n - 1),
                        }
                    ),
                )
                .in_file(first)
                .severity(crate::diagnostics::Severity::Warning)
                .hint("resolve the conflict and `git add` the file"),
            );
        }
    }
    diags.finish();

    if output.verbose > 1 {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        writeln!(
            err,
            "timings: open {:.1} ms, discover {:.1} ms, validate {:.1} ms, render and validate output {:.1} ms",
            ms(opened),
            ms(discovered - opened),
            ms(validated - discovered),
            ms(started.elapsed() - validated)
        )?;
    }
    let selected = || {
        repo.apps()
            .filter(|a| validate::env_selected(&opts, &a.env))
    };
    report.extend(selected().map(|app| {
        let rendered = if rendered_apps.contains(&app.dir) {
            ", rendered and validated"
        } else {
            ""
        };
        format!(
            "checked {} ({} files in its dependency set{rendered})",
            app.dir,
            app.deps.len()
        )
    }));
    let summary = format!(
        "kiln check: {}, {}, {}: ok",
        plural(selected().count(), "app"),
        plural(repo.envs.len(), "environment"),
        plural(repo.bases.len(), "base"),
    );
    // Freeing thousands of parsed YAML trees takes a sixth of a run on a large repository
    // and nobody waits for it: leave it to a thread the process exit may cut short.
    std::thread::spawn(move || drop(repo));
    Ok(Ok(Outcome {
        diagnostics: diags.into_iter().collect(),
        report,
        summary,
    }))
}

/// Renders every selected app as `kiln compile` would and validates the output (schemas,
/// APIs, environment invariants). An app that cannot be rendered because no age key opens
/// its secrets (a pre-commit hook usually has none) is a warning, not an error: its output is
/// then not validated.
fn render_and_validate(
    fs: &crate::fs::RepoFs,
    loader: &Loader<'_>,
    project: &crate::project::Project,
    repo: &crate::discover::Repo,
    opts: &Options,
    broken: &std::collections::BTreeSet<String>,
) -> (std::collections::BTreeSet<String>, Vec<Diagnostic>) {
    use rayon::prelude::*;
    let mut out = Vec::new();
    let rendering = match super::pipeline::Rendering::new(fs, loader, project, repo) {
        Ok(r) => r,
        // The build folders' problems are reported by the image rules already.
        Err(_) => return (std::collections::BTreeSet::new(), out),
    };
    let apps: Vec<&crate::discover::App> = repo
        .apps()
        .filter(|a| validate::env_selected(opts, &a.env) && a.deploy.is_some())
        .filter(|a| {
            !broken
                .iter()
                .any(|f| a.deps.contains(f) || f.starts_with(&format!("{}/", a.dir)))
        })
        .filter(|a| opts.affects(a))
        .collect();
    let rendered_apps = apps.iter().map(|a| a.dir.clone()).collect();
    let results: Vec<Result<Vec<crate::render::Resource>, Diagnostic>> = apps
        .par_iter()
        .map(|app| rendering.render_app(app))
        .collect();
    let mut inputs = Vec::new();
    for (app, result) in apps.iter().zip(&results) {
        match result {
            Ok(resources) => inputs.push(crate::validate::rendered::RenderedApp {
                env: &app.env,
                app: &app.name,
                resources,
            }),
            Err(d) if d.code == Code::SecretKeyMissing => out.push(
                Diagnostic {
                    message: format!("{}/{}: not rendered: {}", app.env, app.name, d.message),
                    ..d.clone()
                }
                .severity(crate::diagnostics::Severity::Warning),
            ),
            Err(d) => out.push(d.clone()),
        }
    }
    let (schema_files, schema_diags) =
        crate::validate::rendered::SchemaFiles::load(loader, project);
    out.extend(schema_diags);
    out.extend(crate::validate::rendered::validate_rendered(
        project,
        &schema_files,
        &inputs,
        loader,
    ));
    (rendered_apps, out)
}

/// `-v` for `--staged`: what git is doing, and what the staged change does to apps.
fn staged_report(staged: &crate::fs::StagedChanges, repo: &discover::Repo) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(operation) = staged.operation {
        lines.push(format!(
            "a {operation} is in progress: checking what is staged against HEAD"
        ));
    }
    if staged.head_tree.is_none() {
        lines.push("no commit yet: everything staged is new, every app is checked".to_owned());
    } else if staged.paths.is_empty() {
        lines.push("nothing is staged (an empty commit): no app needs rendering".to_owned());
    }
    // Changed paths under an app folder that no longer exists: the app is deleted.
    let mut removed = std::collections::BTreeSet::new();
    for path in &staged.paths {
        let mut parts = path.splitn(4, '/');
        if let (Some("apps"), Some(env), Some(app), Some(_)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        {
            let dir = format!("apps/{env}/{app}");
            if env != "base" && !repo.apps().any(|a| a.dir == dir) {
                removed.insert(dir);
            }
        }
    }
    for dir in removed {
        lines.push(format!(
            "removed {dir}: its folder is deleted by what is staged, nothing to render"
        ));
    }
    lines
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
