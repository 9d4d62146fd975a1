//! `kiln publish --env E [--rev REV] [--branch B] [--dry-run] [--force]`: renders an
//! environment from a commit (read from git objects, never the work tree) and commits it to
//! the environment's rendered branch with gix, in Argo CD's hydrated layout.
//!
//! The commit is deterministic (identity from `kiln.yaml`, dates from the source commit); an
//! unchanged render makes no commit (the note still records the source); the reference moves
//! with compare-and-swap, and losing that race is exit 2 (running again publishes on the new
//! tip). Secrets are protected exactly as `kiln compile` protects them, reusing the branch's
//! previous ciphertext when nothing changed.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use rayon::prelude::*;

use crate::cli::PublishArgs;
use crate::diagnostics::{Code, Diagnostic, Diagnostics, ExitStatus, Severity};
use crate::discover::{self, App};
use crate::fs::Source;
use crate::load::Loader;
use crate::publish::{self, Identity, PublishError, PublishOutcome, RenderedApp};
use crate::secrets::output::{self, Protection};

use super::{Output, emit, fail, load_project, open, pipeline};

/// Runs `kiln publish`.
///
/// # Errors
/// Only failures to write to `out` or `err`.
pub fn run(
    root: &Path,
    args: &PublishArgs,
    output: Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<ExitStatus> {
    let fatal = |message: String| Diagnostic::new(Code::Git, message).severity(Severity::Fatal);
    let fs = match open(root, Source::Rev(args.rev.clone())) {
        Ok(fs) => fs,
        Err(d) => return fail(d, output, false, out, err),
    };
    let Some(repo_path) = fs.repo_root().map(Path::to_path_buf) else {
        return fail(
            fatal("kiln publish needs a git repository".to_owned()),
            output,
            false,
            out,
            err,
        );
    };
    let loader = Loader::new(&fs);
    let project = match load_project(&loader) {
        Ok(project) => project,
        Err(ds) => {
            let mut diags = Diagnostics::new();
            diags.extend(ds);
            diags.finish();
            emit(&diags, &loader, output, false, out, err)?;
            return Ok(ExitStatus::Error);
        }
    };
    let repo = discover::discover(&loader);
    let envs = match pipeline::select_envs(&repo, std::slice::from_ref(&args.env), false) {
        Ok(envs) => envs,
        Err(d) => return fail(d, output, false, out, err),
    };
    let branch = args
        .branch
        .clone()
        .unwrap_or_else(|| format!("{}{}", project.publish.branch_prefix, args.env));
    let previous = match publish::read_branch(&repo_path, &branch) {
        Ok(files) => files.unwrap_or_default(),
        Err(e) => return fail(publish_diagnostic(&e, &branch), output, false, out, err),
    };
    let protections = match pipeline::protections(&fs, &project, &envs) {
        Ok(p) => p,
        Err(d) => return fail(d, output, false, out, err),
    };
    let rendering = match pipeline::Rendering::new(&fs, &loader, &project, &repo) {
        Ok(r) => r,
        Err(ds) => {
            let mut diags = Diagnostics::new();
            diags.extend(ds);
            diags.finish();
            emit(&diags, &loader, output, false, out, err)?;
            return Ok(diags.exit_status().max(ExitStatus::Failure));
        }
    };
    let apps: Vec<&App> = repo
        .apps()
        .filter(|a| a.env == args.env && a.deploy.is_some())
        .collect();
    let protection = protections.get(&args.env).unwrap_or(&Protection::None);
    let rendered: Vec<Result<RenderedApp, Diagnostic>> = apps
        .par_iter()
        .map(|app| {
            let prefix = format!("{}/", app.name);
            let previous = |path: &str| previous.get(&format!("{prefix}{path}")).cloned();
            let ctx = output::Context {
                identities: rendering.identities(),
                previous: &previous,
            };
            let mut files = rendering.render_app(app).and_then(|resources| {
                output::app_files(&resources, protection, &ctx)
                    .map_err(|e| pipeline::protect_diagnostic(app, &e))
            })?;
            // `app_files` puts manifest.yaml first.
            let manifest = files.remove(0).1;
            Ok(RenderedApp {
                name: app.name.clone(),
                manifest,
                extra_files: files,
            })
        })
        .collect();
    let mut diags = Diagnostics::new();
    diags.extend(repo.diagnostics.iter().cloned());
    let mut apps_out = Vec::new();
    for r in rendered {
        match r {
            Ok(app) => apps_out.push(app),
            Err(d) => diags.push(d),
        }
    }
    diags.finish();
    if diags.exit_status() != ExitStatus::Success {
        diags.extend(rendering.key_warning());
        emit(&diags, &loader, output, false, out, err)?;
        writeln!(err, "kiln publish: nothing was published")?;
        return Ok(diags.exit_status().max(ExitStatus::Failure));
    }
    let source =
        match publish::source_from_revision(&repo_path, &args.rev, &project.publish.repo_url) {
            Ok(s) => s,
            Err(e) => return fail(publish_diagnostic(&e, &branch), output, false, out, err),
        };
    let files: BTreeMap<String, Vec<u8>> =
        match publish::hydrated_tree(&args.env, &apps_out, &source) {
            Ok(files) => files,
            Err(e) => {
                return fail(
                    fatal(format!("cannot lay out the rendered branch: {e}")),
                    output,
                    false,
                    out,
                    err,
                );
            }
        };
    let identity = Identity {
        name: project.publish.identity.name.clone(),
        email: project.publish.identity.email.clone(),
    };
    let short = source.commit.get(..12).unwrap_or(&source.commit).to_owned();
    let prepared =
        match publish::prepare(&repo_path, &branch, &files, &source, &identity, args.force) {
            Ok(p) => p,
            Err(e) => return fail(publish_diagnostic(&e, &branch), output, false, out, err),
        };
    if args.dry_run {
        let what = match prepared.outcome() {
            PublishOutcome::Committed { commit, .. } => {
                format!("would commit {commit} to {branch}")
            }
            PublishOutcome::Unchanged { tip } => {
                format!("{branch} is up to date at {tip}: no commit")
            }
        };
        writeln!(out, "{what} (source {short}, {} apps)", apps_out.len())?;
        return Ok(ExitStatus::Success);
    }
    match prepared.apply() {
        Ok(PublishOutcome::Committed { commit, .. }) => {
            writeln!(
                out,
                "{branch}: {commit} (source {short}, {} apps)",
                apps_out.len()
            )?;
            Ok(ExitStatus::Success)
        }
        Ok(PublishOutcome::Unchanged { tip }) => {
            writeln!(
                out,
                "{branch}: unchanged at {tip} (source {short} recorded in {})",
                publish::NOTES_REF
            )?;
            Ok(ExitStatus::Success)
        }
        Err(e) => fail(publish_diagnostic(&e, &branch), output, false, out, err),
    }
}

/// A publish failure: kiln could not do its job (exit 2), with what to do about it.
fn publish_diagnostic(e: &PublishError, branch: &str) -> Diagnostic {
    let d = Diagnostic::new(Code::Git, format!("cannot publish {branch}: {e}"))
        .severity(Severity::Fatal);
    match e {
        PublishError::RaceLost { .. } | PublishError::Locked { .. } => {
            d.hint("another publish moved the branch first; run kiln publish again to publish on top of it")
        }
        PublishError::ForeignBranch { .. } => {
            d.hint("the branch was not written by kiln publish; use --force to take it over")
        }
        _ => d,
    }
}
