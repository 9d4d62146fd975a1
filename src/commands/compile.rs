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
use crate::project::{SealScope, SecretsOutput};
use crate::render::Renderer;
use crate::render::images::ImageEntry;
use crate::secrets::output::{self, ProtectError, Protection};
use crate::secrets::sealed::{Certificate, Scope};
use crate::validate::images::BuiltImage;

use super::{Output, emit, fail, load_project, open, source_of};

/// One rendered app.
struct Rendered<'r> {
    app: &'r App,
    files: Result<Vec<(String, Vec<u8>)>, Diagnostic>,
}

/// The protection of each environment's Secrets (`kiln.yaml` `environments.<env>.secrets`),
/// with SealedSecrets certificates read and checked.
fn protections(
    fs: &crate::fs::RepoFs,
    project: &crate::project::Project,
    envs: &[&str],
) -> Result<std::collections::BTreeMap<String, Protection>, Diagnostic> {
    let mut out = std::collections::BTreeMap::new();
    for env in envs {
        let config = project
            .environments
            .get(*env)
            .and_then(|e| e.secrets.as_ref());
        let protection = match config {
            None => Protection::None,
            Some(SecretsOutput::Sops(sops)) => Protection::Sops {
                recipients: sops.age.clone(),
            },
            Some(SecretsOutput::SealedSecrets(sealed)) => {
                let bad = |message: String| {
                    Diagnostic::new(Code::InvalidProject, message)
                        .in_file(crate::project::PROJECT_FILE)
                        .severity(Severity::Fatal)
                };
                let pem = fs.read(&sealed.certificate).map_err(|e| {
                    bad(format!(
                        "environments.{env}.secrets.sealedSecrets.certificate: cannot read {}: {e}",
                        sealed.certificate
                    ))
                })?;
                let certificate = Certificate::from_pem(&pem)
                    .and_then(|c| c.check_valid_now().map(|()| c))
                    .map_err(|e| bad(format!("{}: {e}", sealed.certificate)))?;
                Protection::Sealed {
                    certificate: Box::new(certificate),
                    scope: match sealed.scope {
                        SealScope::Strict => Scope::Strict,
                        SealScope::NamespaceWide => Scope::NamespaceWide,
                        SealScope::ClusterWide => Scope::ClusterWide,
                    },
                }
            }
        };
        out.insert((*env).to_owned(), protection);
    }
    Ok(out)
}

/// The diagnostic of an app whose Secrets could not be written (it names the Secret, never
/// a value, and shows no excerpt).
fn protect_diagnostic(app: &App, e: &ProtectError) -> Diagnostic {
    let folder = app.deploy.clone().unwrap_or_else(|| app.dir.clone());
    let d = Diagnostic::new(
        Code::PlaintextOutput,
        format!("{}/{}: {e}", app.env, app.name),
    )
    .in_file(folder)
    .sensitive();
    match e {
        ProtectError::NotConfigured { .. } => d.hint(format!(
            "kiln never writes plaintext: set environments.{}.secrets in kiln.yaml (sops with age \
             recipients, or sealedSecrets with the controller's certificate)",
            app.env
        )),
        ProtectError::Failed { .. } => d,
    }
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
    let known: Vec<&str> = repo.envs.iter().map(|e| e.name.as_str()).collect();
    if args.envs.is_empty() && !args.all {
        let d = Diagnostic::new(Code::Usage, "say which environments to compile")
            .hint(format!("--env ENV (one of: {}) or --all", known.join(", ")))
            .severity(Severity::Fatal);
        return fail(d, output, false, out, err);
    }
    if let Some(unknown) = args.envs.iter().find(|e| !known.contains(&e.as_str())) {
        let d = Diagnostic::new(Code::Usage, format!("there is no environment `{unknown}`"))
            .hint(format!("environments: {}", known.join(", ")))
            .severity(Severity::Fatal);
        return fail(d, output, false, out, err);
    }
    let envs: Vec<&str> = if args.all {
        known.clone()
    } else {
        known
            .iter()
            .copied()
            .filter(|e| args.envs.iter().any(|a| a == e))
            .collect()
    };
    let apps: Vec<&App> = repo
        .apps()
        .filter(|a| envs.contains(&a.env.as_str()) && a.deploy.is_some())
        .collect();

    let out_dir = args.out.clone().unwrap_or_else(|| root.join("rendered"));
    let protections = match protections(&fs, &project, &envs) {
        Ok(p) => p,
        Err(d) => return fail(d, output, false, out, err),
    };
    let progress = progress_bar(apps.len(), output);
    // `images.setFromBuild`: the images each build folder declares, by base.
    let built: Vec<BuiltImage> = if project.images.set_from_build {
        let (built, problems) = crate::validate::images::builds(&loader, &repo);
        if !problems.is_empty() {
            let mut diags = Diagnostics::new();
            diags.extend(problems);
            diags.finish();
            emit(&diags, &loader, output, false, out, err)?;
            return Ok(diags.exit_status().max(ExitStatus::Failure));
        }
        built
    } else {
        Vec::new()
    };
    let (identities, key_warning) = super::load_identities();
    let renderer = Renderer::new(&fs).with_identities(identities);
    let rendered: Vec<Rendered<'_>> = apps
        .par_iter()
        .map(|app| {
            let dir = app.deploy.as_deref().unwrap_or(&app.dir);
            let images = images_from_builds(&repo, dir, &built, &project.images.registries);
            let previous = out_dir.join(&app.env).join(&app.name);
            let ctx = output::Context {
                identities: renderer.identities(),
                previous: &previous,
            };
            let protection = protections.get(&app.env).unwrap_or(&Protection::None);
            let files = renderer
                .render_with_images(dir, &images)
                .map_err(|e| e.to_diagnostic())
                .and_then(|resources| {
                    output::app_files(&resources, protection, &ctx)
                        .map_err(|e| protect_diagnostic(app, &e))
                });
            if let Some(bar) = &progress {
                bar.inc(1);
            }
            Rendered { app, files }
        })
        .collect();
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let rendered_at = started.elapsed();

    let mut diags = Diagnostics::new();
    diags.extend(repo.diagnostics.iter().cloned());
    if rendered.iter().any(|r| r.files.is_err()) {
        diags.extend(key_warning);
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

/// The `images:` entries `kustomize edit set image` would add to the overlay in `dir` for the
/// build folders of the bases it reaches: `<registry>/<imageName>` set to `imageTag`, for each
/// of the project's registries.
fn images_from_builds(
    repo: &discover::Repo,
    dir: &str,
    built: &[BuiltImage],
    registries: &[String],
) -> Vec<ImageEntry> {
    if built.is_empty() {
        return Vec::new();
    }
    let mut entries: Vec<ImageEntry> = Vec::new();
    for base in repo.bases_reached(dir) {
        for image in built.iter().filter(|b| b.app == base.name) {
            for registry in registries {
                let name = format!("{registry}/{}", image.vars.image_name);
                if entries.iter().any(|e| e.name == name) {
                    continue;
                }
                // vars.yaml is schema-checked (name and tag patterns), so the entry compiles.
                if let Ok(entry) = ImageEntry::new(&name, "", &image.vars.image_tag, "", "") {
                    entries.push(entry);
                }
            }
        }
    }
    entries
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
