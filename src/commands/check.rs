//! `kiln check`: discover the repository from the chosen source and run every rule.

use std::io::Write;
use std::path::Path;

use crate::cli::CheckArgs;
use crate::diagnostics::{Code, Diagnostic, Diagnostics, ExitStatus};
use crate::discover;
use crate::load::Loader;
use crate::validate::{self, Options};

use super::{Output, emit, fail, load_project, open, source_of};

/// Runs `kiln check`.
pub fn run(
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
    let project = match load_project(&loader) {
        Ok(p) => p,
        Err(ds) => {
            let mut diags = Diagnostics::new();
            diags.extend(ds);
            diags.finish();
            emit(&diags, &loader, output, true, out, err)?;
            return Ok(ExitStatus::Error);
        }
    };
    let opened = started.elapsed();
    let repo = discover::discover(&loader);
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
    let opts = Options {
        envs: args.envs.clone(),
    };
    diags.extend(validate::validate(&loader, &project, &repo, &opts));
    let validated = started.elapsed();
    // Apps whose inputs already have errors are not rendered: the same problem would be
    // reported twice.
    let broken: std::collections::BTreeSet<String> = diags
        .items()
        .iter()
        .filter(|d| d.severity != crate::diagnostics::Severity::Warning)
        .filter_map(|d| d.file.clone())
        .collect();
    let changed = fs.staged_changes().map(|s| &s.paths);
    let (rendered_apps, found) =
        render_and_validate(&fs, &loader, &project, &repo, &opts, &broken, changed);
    diags.extend(found);
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
    if output.verbose > 0 {
        for app in repo
            .apps()
            .filter(|a| validate::env_selected(&opts, &a.env))
        {
            let rendered = if rendered_apps.contains(&app.dir) {
                ", rendered and validated"
            } else {
                ""
            };
            writeln!(
                err,
                "checked {} ({} files in its dependency set{rendered})",
                app.dir,
                app.deps.len()
            )?;
        }
    }
    emit(&diags, &loader, output, true, out, err)?;
    let status = diags.exit_status();
    if status == ExitStatus::Success && !output.quiet && output.format == crate::cli::Format::Human
    {
        let apps = repo
            .apps()
            .filter(|a| validate::env_selected(&opts, &a.env))
            .count();
        writeln!(
            err,
            "kiln check: {}, {}, {}: ok",
            plural(apps, "app"),
            plural(repo.envs.len(), "environment"),
            plural(repo.bases.len(), "base"),
        )?;
    }
    // Freeing thousands of parsed YAML trees takes a sixth of a run on a large repository
    // and nobody waits for it: leave it to a thread the process exit may cut short.
    std::thread::spawn(move || drop(repo));
    Ok(status)
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
    changed: Option<&std::collections::BTreeSet<String>>,
) -> (std::collections::BTreeSet<String>, Vec<Diagnostic>) {
    use rayon::prelude::*;
    let mut out = Vec::new();
    let rendering = match super::pipeline::Rendering::new(fs, loader, project, repo) {
        Ok(r) => r,
        // The build folders' problems are reported by the image rules already.
        Err(_) => return (std::collections::BTreeSet::new(), out),
    };
    // `--staged`: only the apps a staged change can affect, unless a shared file changed.
    let shared_changed = changed.is_some_and(|c| {
        c.iter().any(|p| {
            p == crate::project::PROJECT_FILE
                || crate::codeowners::LOCATIONS.contains(&p.as_str())
                || p.starts_with("apps/base/_common/")
        })
    });
    let affected = |a: &crate::discover::App| match changed {
        Some(c) if !shared_changed => c
            .iter()
            .any(|p| a.deps.contains(p) || p.starts_with(&format!("{}/", a.dir))),
        _ => true,
    };
    let apps: Vec<&crate::discover::App> = repo
        .apps()
        .filter(|a| validate::env_selected(opts, &a.env) && a.deploy.is_some())
        .filter(|a| {
            !broken
                .iter()
                .any(|f| a.deps.contains(f) || f.starts_with(&format!("{}/", a.dir)))
        })
        .filter(|a| affected(a))
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

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
