//! `kiln compile --env E [--env E2 ...] [--all] [--out DIR]`: renders every app of the chosen
//! environments in parallel and writes `<out>/<env>/<app>/manifest.yaml`.
//!
//! Rendering shares one [`Renderer`], so a base used by many overlays is built once. Every app
//! is rendered even when others fail, and every diagnostic is reported; the output is written
//! only when all apps rendered, and each environment's folder is replaced as a whole (written
//! next to it, then renamed into place), so a failed or interrupted compile leaves the output
//! directory as it was.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::cli::CompileArgs;
use crate::diagnostics::{Code, Diagnostic, Diagnostics, ExitStatus, Severity};
use crate::discover::{self, App};
use crate::load::Loader;
use crate::secrets::output::{self, Protection};
use crate::validate::rendered::{RenderedApp, SchemaFiles, validate_rendered};

use super::{Output, emit, fail, load_project, open, pipeline, source_of};

/// One rendered app.
struct Rendered<'r> {
    app: &'r App,
    files: Result<Vec<(String, Vec<u8>)>, Diagnostic>,
}

/// Runs `kiln compile`.
///
/// # Errors
/// Only failures to write to `out` or `err`.
pub fn run(
    root: &Path,
    args: &CompileArgs,
    output: Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<ExitStatus> {
    let started = std::time::Instant::now();
    let fs = match open(root, source_of(&args.source)) {
        Ok(fs) => fs,
        Err(d) => return fail(d, output, false, out, err),
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
    let envs = match pipeline::select_envs(&repo, &args.envs, args.all) {
        Ok(envs) => envs,
        Err(d) => return fail(d, output, false, out, err),
    };
    let apps: Vec<&App> = repo
        .apps()
        .filter(|a| envs.contains(&a.env.as_str()) && a.deploy.is_some())
        .collect();

    let out_dir = args.out.clone().unwrap_or_else(|| root.join("rendered"));
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
    // Each environment's rendered branch, whose ciphertext is reused when nothing changed.
    let published: std::collections::BTreeMap<String, std::collections::BTreeMap<String, Vec<u8>>> =
        envs.iter()
            .filter_map(|env| {
                let branch = format!("{}{env}", project.publish.branch_prefix);
                let files = crate::publish::read_branch(root, &branch).ok()??;
                Some(((*env).to_owned(), files))
            })
            .collect();
    let progress = progress_bar(apps.len(), output);
    let resources: Vec<Result<Vec<crate::render::Resource>, Diagnostic>> = apps
        .par_iter()
        .map(|app| {
            let result = rendering.render_app(app);
            if let Some(bar) = &progress {
                bar.inc(1);
            }
            result
        })
        .collect();
    // Validation of the rendered output (schemas, removed APIs, environment invariants),
    // before secrets are protected.
    let (schema_files, schema_diags) = SchemaFiles::load(&loader, &project);
    let inputs: Vec<RenderedApp<'_>> = apps
        .iter()
        .zip(&resources)
        .filter_map(|(app, r)| {
            Some(RenderedApp {
                env: &app.env,
                app: &app.name,
                resources: r.as_ref().ok()?,
            })
        })
        .collect();
    let validation = validate_rendered(&project, &schema_files, &inputs, &loader);
    drop(inputs);
    let rendered: Vec<Rendered<'_>> = apps
        .par_iter()
        .zip(resources.into_par_iter())
        .map(|(app, result)| {
            let folder = out_dir.join(&app.env).join(&app.name);
            let on_disk = output::previous_on_disk(&folder);
            let branch = published.get(&app.env);
            // The previous output: the output folder, else the published branch.
            let previous = |path: &str| {
                on_disk(path).or_else(|| branch?.get(&format!("{}/{path}", app.name)).cloned())
            };
            let ctx = output::Context {
                identities: rendering.identities(),
                previous: &previous,
            };
            let protection = protections.get(&app.env).unwrap_or(&Protection::None);
            let files = result.and_then(|resources| {
                output::app_files(&resources, protection, &ctx)
                    .map_err(|e| pipeline::protect_diagnostic(app, &e))
            });
            Rendered { app, files }
        })
        .collect();
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let rendered_at = started.elapsed();

    let mut diags = Diagnostics::new();
    diags.extend(repo.diagnostics.iter().cloned());
    diags.extend(schema_diags);
    diags.extend(validation);
    if rendered.iter().any(|r| r.files.is_err()) {
        diags.extend(rendering.key_warning());
    }
    for r in &rendered {
        if let Err(d) = &r.files {
            diags.push(d.clone());
        }
    }
    diags.finish();
    let failed = rendered.iter().filter(|r| r.files.is_err()).count();
    if failed == 0 && diags.exit_status() == ExitStatus::Success {
        for env in &envs {
            let files: Vec<(String, &[u8])> = rendered
                .iter()
                .filter(|r| r.app.env == *env)
                .filter_map(|r| r.files.as_ref().ok().map(|files| (r.app, files)))
                .flat_map(|(app, files)| {
                    files.iter().map(move |(path, bytes)| {
                        (format!("{}/{path}", app.name), bytes.as_slice())
                    })
                })
                .collect();
            if let Err(e) = replace_dir(&out_dir.join(env), &files) {
                diags.push(
                    Diagnostic::new(
                        Code::WriteFailed,
                        format!("cannot write {}: {e}", out_dir.join(env).display()),
                    )
                    .severity(Severity::Fatal),
                );
                break;
            }
        }
        if diags.exit_status() == ExitStatus::Success && !output.quiet {
            for env in &envs {
                if let Some(files) = published.get(*env) {
                    let branch = format!("{}{env}", project.publish.branch_prefix);
                    show_branch_diff(&branch, files, env, &rendered, output, out)?;
                }
            }
            writeln!(
                err,
                "kiln compile: {} apps of {} rendered into {}",
                rendered.len(),
                envs.join(", "),
                out_dir.display()
            )?;
        }
    } else if !output.quiet {
        emit(&diags, &loader, output, false, out, err)?;
        writeln!(
            err,
            "kiln compile: {failed} of {} apps failed; nothing was written",
            rendered.len()
        )?;
        return Ok(ExitStatus::Failure.max(diags.exit_status()));
    }
    emit(&diags, &loader, output, false, out, err)?;
    if output.verbose > 1 {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        writeln!(
            err,
            "timings: render {:.1} ms, write {:.1} ms",
            ms(rendered_at),
            ms(started.elapsed() - rendered_at)
        )?;
    }
    std::thread::spawn(move || drop(repo));
    Ok(diags.exit_status())
}

/// Prints how the environment's output differs from its rendered branch (already read for
/// ciphertext reuse): what `kiln publish` would change.
fn show_branch_diff(
    branch: &str,
    published: &std::collections::BTreeMap<String, Vec<u8>>,
    env: &str,
    rendered: &[Rendered<'_>],
    output: Output,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut base = crate::diff::Texts::new();
    for (path, bytes) in published {
        let Some((app, file)) = path.split_once('/') else {
            continue;
        };
        if let Ok(text) = String::from_utf8(bytes.clone()) {
            base.entry(env.to_owned())
                .or_default()
                .entry(app.to_owned())
                .or_default()
                .insert(file.to_owned(), text);
        }
    }
    let mut head = crate::diff::Texts::new();
    for r in rendered.iter().filter(|r| r.app.env == env) {
        let Ok(files) = &r.files else { continue };
        let app = head
            .entry(env.to_owned())
            .or_default()
            .entry(r.app.name.clone())
            .or_default();
        for (path, bytes) in files {
            app.insert(path.clone(), String::from_utf8_lossy(bytes).into_owned());
        }
    }
    if let Ok(diff) = crate::diff::diff_texts(&base, &head) {
        writeln!(out, "against {branch}:")?;
        let color = output.color && std::io::stdout().is_terminal();
        out.write_all(crate::diff::render_human(&diff, color).as_bytes())?;
    }
    Ok(())
}

/// A progress bar on a terminal for runs long enough to want one; `None` otherwise.
fn progress_bar(len: usize, output: Output) -> Option<indicatif::ProgressBar> {
    if output.quiet || len < 200 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    Some(bar)
}

/// Replaces `dir` with a directory holding exactly `files` (relative paths): everything is
/// written into a sibling temporary directory first, then swapped in with renames, so `dir`
/// is never half-written.
///
/// # Errors
/// The first I/O error; `dir` is then unchanged (the temporary directory is removed).
pub fn replace_dir(dir: &Path, files: &[(String, &[u8])]) -> std::io::Result<()> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}.kiln-new-"))
        .tempdir_in(parent)?;
    for (path, text) in files {
        let target = staging.path().join(path);
        if let Some(p) = target.parent() {
            std::fs::create_dir_all(p)?;
        }
        std::fs::write(&target, text)?;
    }
    let staged: PathBuf = staging.keep();
    let old = parent.join(format!(".{name}.kiln-old-{}", std::process::id()));
    let had_old = dir.exists();
    if had_old && let Err(e) = std::fs::rename(dir, &old) {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(e);
    }
    if let Err(e) = std::fs::rename(&staged, dir) {
        if had_old {
            let _ = std::fs::rename(&old, dir);
        }
        let _ = std::fs::remove_dir_all(&staged);
        return Err(e);
    }
    if had_old {
        std::fs::remove_dir_all(&old)?;
    }
    Ok(())
}
