//! `kiln publish --env E [--rev REV] [--branch B] [--dry-run] [--force]`: renders an
//! environment from a commit (read from git objects, never the work tree) and commits it to
//! the environment's rendered branch with gix, in Argo CD's hydrated layout.
//!
//! The commit is deterministic (identity from `kiln.yaml`, dates from the source commit); an
//! unchanged render makes no commit (the note still records the source); the reference moves
//! with compare-and-swap, and losing that race is exit 2 (running again publishes on the new
//! tip). Secrets are protected exactly as `kiln compile` protects them, reusing the branch's
//! previous ciphertext when nothing changed.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use rayon::prelude::*;

use crate::cli::PublishArgs;
use crate::diagnostics::{Code, Diagnostic, Diagnostics, ExitStatus, Severity};
use crate::discover::{self, App};
use crate::fs::{RepoFs, Source};
use crate::load::Loader;
use crate::project::Project;
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
    let reusable = reusable_apps(&fs, &project, &apps, &previous);
    let rendered: Vec<Result<RenderedApp, Diagnostic>> = apps
        .par_iter()
        .map(|app| {
            if reusable.contains(app.name.as_str()) {
                return Ok(from_branch(&app.name, &previous));
            }
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
    let mut files = files;
    if let Some(argocd) = project
        .environments
        .get(&args.env)
        .and_then(|e| e.argocd.as_ref())
    {
        let apps: Vec<(String, Option<String>)> = apps_out
            .iter()
            .map(|a| (a.name.clone(), manifest_namespace(&a.manifest)))
            .collect();
        match publish::argocd::applications(&args.env, &branch, &apps, argocd) {
            Ok(written) => files.extend(written),
            Err(e) => {
                let d = Diagnostic::new(
                    Code::InvalidProject,
                    format!("environments.{}.{e}", args.env),
                )
                .in_file(crate::project::PROJECT_FILE)
                .severity(Severity::Fatal);
                return fail(d, output, false, out, err);
            }
        }
    }
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

/// The apps whose output on the branch is still right: the branch's source commit (its
/// `hydrator.metadata` `drySha`) had the same project configuration and the same bytes in the
/// app's whole dependency set, so rendering again would give the same files.
fn reusable_apps<'a>(
    fs: &RepoFs,
    project: &Project,
    apps: &[&'a App],
    previous: &BTreeMap<String, Vec<u8>>,
) -> BTreeSet<&'a str> {
    let Some(dry_sha) = previous
        .get("hydrator.metadata")
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(bytes).ok())
        .and_then(|v| v.get("drySha")?.as_str().map(str::to_owned))
    else {
        return BTreeSet::new();
    };
    let Ok(old_fs) = RepoFs::open(fs.root(), Source::Rev(dry_sha)) else {
        return BTreeSet::new();
    };
    let old_loader = Loader::new(&old_fs);
    let Ok(old_project) = load_project(&old_loader) else {
        return BTreeSet::new();
    };
    if pipeline::project_fingerprint(&old_fs, &old_project)
        != pipeline::project_fingerprint(fs, project)
    {
        return BTreeSet::new();
    }
    let old_repo = discover::discover(&old_loader);
    let old_apps: BTreeMap<(&str, &str), &App> = old_repo
        .apps()
        .map(|a| ((a.env.as_str(), a.name.as_str()), a))
        .collect();
    apps.par_iter()
        .filter(|app| previous.contains_key(&format!("{}/manifest.yaml", app.name)))
        .filter(|app| {
            old_apps
                .get(&(app.env.as_str(), app.name.as_str()))
                .is_some_and(|old| {
                    old.deps == app.deps
                        && pipeline::fingerprint(&old_fs, old) == pipeline::fingerprint(fs, app)
                })
        })
        .map(|app| app.name.as_str())
        .collect()
}

/// An app's files as the branch has them (its generated README and metadata excepted: the
/// layout writes those).
fn from_branch(app: &str, previous: &BTreeMap<String, Vec<u8>>) -> RenderedApp {
    let prefix = format!("{app}/");
    let mut manifest = Vec::new();
    let mut extra_files = Vec::new();
    for (path, bytes) in previous.range(prefix.clone()..) {
        let Some(rest) = path.strip_prefix(&prefix) else {
            break;
        };
        match rest {
            "manifest.yaml" => manifest.clone_from(bytes),
            "README.md" | "hydrator.metadata" => {}
            other => extra_files.push((other.to_owned(), bytes.clone())),
        }
    }
    RenderedApp {
        name: app.to_owned(),
        manifest,
        extra_files,
    }
}

/// The one namespace all namespaced objects of a manifest share, if there is one (the
/// destination namespace of the app's Argo CD Application).
fn manifest_namespace(manifest: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(manifest).ok()?;
    let docs = crate::yaml::parse_documents(text).ok()?;
    publish::argocd::shared_namespace(docs.iter().map(|d| {
        d.root
            .path(&["metadata", "namespace"])
            .and_then(crate::yaml::Node::as_str)
    }))
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
