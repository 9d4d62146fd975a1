//! `kiln diff [--base REV] [--head REV] [--env E...] [--format human|markdown|json]
//! [--exit-code]`: renders two revisions (straight from git objects; the head may be the work
//! tree) and prints what changed per environment, app and resource.
//!
//! Both sides render exactly as `kiln compile` renders, in memory; Secrets are compared in
//! memory and only their key names are printed (`diff` redacts). The markdown format is a
//! pull-request comment naming each app's CODEOWNERS owners, capped below GitHub's limit.
//! An app whose dependency set (discovery's `App::deps`) has the same bytes on both sides, in
//! a project whose `kiln.yaml` did not change, is not rendered at all.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Write};
use std::path::Path;

use rayon::prelude::*;

use crate::cache::{Cache, Key, KeyBuilder, Kind};
use crate::cli::{DiffArgs, Format};
use crate::diagnostics::{Code, Diagnostic, Diagnostics, ExitStatus, Severity};
use crate::diff::{self, Objects};
use crate::discover::{self, App, Repo};
use crate::fs::{RepoFs, Source};
use crate::load::Loader;
use crate::project::Project;

use super::{Output, emit, fail, load_project, open, pipeline};

/// One side of the comparison, opened and discovered.
struct Side<'fs> {
    fs: &'fs RepoFs,
    loader: Loader<'fs>,
    project: Project,
    repo: Repo,
    /// `pipeline::project_fingerprint` of this side.
    project_fingerprint: [u8; 32],
}

impl<'fs> Side<'fs> {
    fn open(fs: &'fs RepoFs) -> Result<Side<'fs>, Vec<Diagnostic>> {
        let loader = Loader::new(fs);
        let project = load_project(&loader)?;
        let repo = discover::discover(&loader);
        let project_fingerprint = pipeline::project_fingerprint(fs, &project);
        Ok(Side {
            fs,
            loader,
            project,
            repo,
            project_fingerprint,
        })
    }
}

/// Runs `kiln diff`.
///
/// # Errors
/// Only failures to write to `out` or `err`.
pub fn run(
    root: &Path,
    args: &DiffArgs,
    output: Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<ExitStatus> {
    let base_rev = match &args.base {
        Some(rev) => rev.clone(),
        None => match default_base(root) {
            Ok(rev) => rev,
            Err(d) => return fail(d, output, false, out, err),
        },
    };
    let head_source = match &args.head {
        Some(rev) => Source::Rev(rev.clone()),
        None => Source::WorkTree,
    };
    let base_fs = match open(root, Source::Rev(base_rev.clone())) {
        Ok(fs) => fs,
        Err(d) => return fail(d, output, false, out, err),
    };
    let head_fs = match open(root, head_source) {
        Ok(fs) => fs,
        Err(d) => return fail(d, output, false, out, err),
    };
    let (base, head) = match (Side::open(&base_fs), Side::open(&head_fs)) {
        (Ok(b), Ok(h)) => (b, h),
        (Err(ds), _) | (_, Err(ds)) => {
            let mut diags = Diagnostics::new();
            diags.extend(ds);
            diags.finish();
            let none = |_: &str| None;
            emit(&diags, &none, output, false, out, err)?;
            return Ok(ExitStatus::Error);
        }
    };
    let known: BTreeSet<&str> = base
        .repo
        .envs
        .iter()
        .chain(&head.repo.envs)
        .map(|e| e.name.as_str())
        .collect();
    if let Some(unknown) = args.envs.iter().find(|e| !known.contains(e.as_str())) {
        let d = Diagnostic::new(Code::Usage, format!("there is no environment `{unknown}`"))
            .severity(Severity::Fatal);
        return fail(d, output, false, out, err);
    }
    let wanted = |env: &str| args.envs.is_empty() || args.envs.iter().any(|e| e == env);
    let same_config = base.project_fingerprint == head.project_fingerprint;

    // Apps whose inputs are identical on both sides need no rendering.
    let base_apps: BTreeMap<(&str, &str), &App> = base
        .repo
        .apps()
        .filter(|a| wanted(&a.env) && a.deploy.is_some())
        .map(|a| ((a.env.as_str(), a.name.as_str()), a))
        .collect();
    let head_apps: BTreeMap<(&str, &str), &App> = head
        .repo
        .apps()
        .filter(|a| wanted(&a.env) && a.deploy.is_some())
        .map(|a| ((a.env.as_str(), a.name.as_str()), a))
        .collect();
    let unchanged: BTreeSet<(&str, &str)> = if same_config {
        base_apps
            .par_iter()
            .filter(|(key, app)| {
                head_apps.get(*key).is_some_and(|other| {
                    app.deps == other.deps
                        && pipeline::fingerprint(base.fs, app)
                            == pipeline::fingerprint(head.fs, other)
                })
            })
            .map(|(key, _)| *key)
            .collect()
    } else {
        BTreeSet::new()
    };

    let mut diags = Diagnostics::new();
    let cache = output
        .cache
        .then(|| head.fs.git_dir().map(Cache::in_git_dir))
        .flatten();
    let base_objects = render_side(
        &base,
        &base_apps,
        &unchanged,
        cache.as_ref(),
        &mut diags,
        "base",
    );
    let head_objects = render_side(
        &head,
        &head_apps,
        &unchanged,
        cache.as_ref(),
        &mut diags,
        "head",
    );
    diags.finish();
    if diags.exit_status() != ExitStatus::Success {
        let none = |_: &str| None;
        emit(&diags, &none, output, false, out, err)?;
        return Ok(diags.exit_status().max(ExitStatus::Failure));
    }
    let result = diff::diff_objects(&base_objects, &head_objects);
    let text = match output.format {
        Format::Json => diff::render_json(&result),
        Format::Markdown => {
            let owners = owners_lookup(&head);
            diff::render_markdown(&result, &owners, diff::DEFAULT_MARKDOWN_CAP)
        }
        Format::Human => {
            diff::render_human(&result, output.color && std::io::stdout().is_terminal())
        }
    };
    out.write_all(text.as_bytes())?;
    Ok(if args.exit_code && !result.is_empty() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// Renders the apps of one side that changed, into `env -> app -> objects`.
///
/// With a cache, an app rendered before from the same dependency set and configuration is
/// read back from it instead (its printed output, parsed: `diff` compares printed objects,
/// and printing is a fixed point of parsing). Only apps whose output holds no Secret and no
/// decrypted input are stored, so the cache never holds a secret value.
fn render_side(
    side: &Side<'_>,
    apps: &BTreeMap<(&str, &str), &App>,
    unchanged: &BTreeSet<(&str, &str)>,
    cache: Option<&Cache>,
    diags: &mut Diagnostics,
    label: &str,
) -> Objects {
    let key = |app: &App| {
        let mut key = KeyBuilder::new(Kind::Render);
        key.field(app.dir.as_bytes())
            .field(&pipeline::fingerprint(side.fs, app))
            .field(&side.project_fingerprint);
        key.finish()
    };
    let cached = |key: Key| -> Option<Vec<crate::yaml::Node>> {
        let bytes = cache?.get(Kind::Render, key)?;
        let text = String::from_utf8(bytes).ok()?;
        let docs = crate::yaml::parse_documents(&text).ok()?;
        Some(docs.into_iter().map(|d| d.root).collect())
    };
    let store = |key: Key, resources: &[crate::render::Resource]| {
        let secret = resources
            .iter()
            .any(|r| r.sensitive || (r.kind() == "Secret" && r.gvk().group.is_empty()));
        if let (Some(cache), false) = (cache, secret) {
            let nodes: Vec<&crate::yaml::Node> = resources.iter().map(|r| &r.node).collect();
            let text = crate::yaml::emit_documents(&nodes);
            // Failing to store only costs a render next time.
            let _ = cache.put(Kind::Render, key, text.as_bytes());
        }
    };
    let rendering = match pipeline::Rendering::new(side.fs, &side.loader, &side.project, &side.repo)
    {
        Ok(r) => r,
        Err(ds) => {
            diags.extend(ds);
            return Objects::new();
        }
    };
    type AppResult<'k> = (
        (&'k str, &'k str),
        Result<Vec<crate::yaml::Node>, Diagnostic>,
    );
    let results: Vec<AppResult<'_>> = apps
        .par_iter()
        .filter(|(key, _)| !unchanged.contains(*key))
        .map(|(id, app)| {
            let key = cache.map(|_| key(app));
            if let Some(nodes) = key.and_then(cached) {
                return (*id, Ok(nodes));
            }
            let result = rendering.render_app(app).map(|resources| {
                if let Some(key) = key {
                    store(key, &resources);
                }
                resources.into_iter().map(|r| r.node).collect()
            });
            (*id, result)
        })
        .collect();
    let mut objects = Objects::new();
    for ((env, app), result) in results {
        match result {
            Ok(nodes) => {
                objects
                    .entry(env.to_owned())
                    .or_default()
                    .insert(app.to_owned(), nodes);
            }
            Err(d) => {
                let message = format!("{label}: {}", d.message);
                diags.push(Diagnostic { message, ..d });
            }
        }
    }
    objects
}

/// `"<env>/<app>"` to the CODEOWNERS owners of `apps/<env>/<app>/` on the head side.
fn owners_lookup<'a>(side: &'a Side<'_>) -> impl Fn(&str) -> Vec<String> + 'a {
    let text = crate::codeowners::locate(|p| side.fs.is_file(p))
        .first()
        .and_then(|path| side.fs.read(path).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_default();
    let (owners, _) = crate::codeowners::parse(&text);
    move |app: &str| {
        owners
            .owner_of(&format!("apps/{app}/kustomization.yaml"))
            .map(|rule| rule.owners.iter().map(|o| o.text.clone()).collect())
            .unwrap_or_default()
    }
}

/// The merge base of HEAD with `main` (or `master`).
fn default_base(root: &Path) -> Result<String, Diagnostic> {
    let fatal = |m: String| {
        Diagnostic::new(Code::Git, m)
            .severity(Severity::Fatal)
            .hint("pass --base REV")
    };
    let repo = gix::discover(root).map_err(|e| fatal(format!("not a git repository: {e}")))?;
    let head = repo
        .head_id()
        .map_err(|e| fatal(format!("HEAD does not name a commit: {e}")))?;
    for branch in ["main", "master"] {
        let Ok(id) = repo.rev_parse_single(branch) else {
            continue;
        };
        return match repo.merge_base(id.detach(), head.detach()) {
            Ok(Some(base)) => Ok(base.to_string()),
            Ok(None) => Err(fatal(format!("HEAD and {branch} have no common ancestor"))),
            Err(e) => Err(fatal(format!(
                "cannot find the merge base of HEAD and {branch}: {e}"
            ))),
        };
    }
    Err(fatal(
        "there is no main or master branch to compare with".to_owned(),
    ))
}
