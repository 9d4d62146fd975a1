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
use crate::project::EnvironmentConfig;
use crate::render::Renderer;
use crate::render::images::ImageEntry;
use crate::secrets::sops;
use crate::validate::images::BuiltImage;

use super::{Output, emit, fail, load_project, open, source_of};

/// One rendered app.
struct Rendered<'r> {
    app: &'r App,
    files: Result<Vec<(String, Vec<u8>)>, Diagnostic>,
}

/// What re-encryption needs: the environment's settings, the keys that read previous output
/// (to keep its ciphertext when nothing changed), and where that output is.
struct Secrets<'a> {
    env: Option<&'a EnvironmentConfig>,
    identities: &'a [age::x25519::Identity],
    previous: &'a Path,
}

/// The files of an app, relative to its output folder: `manifest.yaml` with every object but
/// the Secrets that hold values, which are written one per file under `secrets/`, encrypted
/// with SOPS for the environment's recipients (see `project::EnvironmentConfig`).
///
/// # Errors
/// A Secret with values when the environment has no re-encryption configured, or an
/// encryption failure. Messages name the Secret, never its values.
fn app_files(
    app: &App,
    resources: &[crate::render::Resource],
    secrets: &Secrets<'_>,
) -> Result<Vec<(String, Vec<u8>)>, Diagnostic> {
    let has_values = |r: &crate::render::Resource| {
        r.kind() == "Secret"
            && r.api_version() == "v1"
            && ["data", "stringData"].iter().any(|f| {
                r.node
                    .field(f)
                    .and_then(crate::yaml::Node::as_map)
                    .is_some_and(|m| !m.is_empty())
            })
    };
    let folder = app.deploy.clone().unwrap_or_else(|| app.dir.clone());
    let describe = |r: &crate::render::Resource| {
        let id = r.cur_id();
        if id.namespace.is_empty() {
            id.name
        } else {
            format!("{}/{}", id.namespace, id.name)
        }
    };
    let recipients = secrets
        .env
        .and_then(|e| e.secrets.as_ref())
        .map(|s| s.sops.age.clone());
    let mut files = Vec::new();
    let mut plain = Vec::new();
    for r in resources {
        if !has_values(r) {
            plain.push(&r.node);
            continue;
        }
        let Some(recipients) = &recipients else {
            return Err(Diagnostic::new(
                Code::PlaintextOutput,
                format!(
                    "{}/{}: the output would contain the Secret {} in plaintext",
                    app.env,
                    app.name,
                    describe(r)
                ),
            )
            .in_file(folder)
            .hint(format!(
                "kiln never writes plaintext: set environments.{}.secrets.sops.age in kiln.yaml \
                 to re-encrypt rendered Secrets for the cluster",
                app.env
            ))
            .sensitive());
        };
        let id = r.cur_id();
        let name = if id.namespace.is_empty() {
            format!("secrets/{}.yaml", id.name)
        } else {
            format!("secrets/{}.{}.yaml", id.namespace, id.name)
        };
        let document = zeroize::Zeroizing::new(crate::yaml::emit_node(&r.node));
        let previous = secrets.previous.join(&app.name).join(&name);
        let bytes = reuse_ciphertext(
            &previous,
            document.as_bytes(),
            recipients,
            secrets.identities,
        )
        .map_or_else(|| encrypt_secret(document.as_bytes(), recipients), Ok)
        .map_err(|e| {
            Diagnostic::new(
                Code::PlaintextOutput,
                format!(
                    "{}/{}: cannot encrypt the Secret {}: {e}",
                    app.env,
                    app.name,
                    describe(r)
                ),
            )
            .in_file(folder.clone())
            .sensitive()
        })?;
        files.push((name, bytes));
    }
    files.insert(
        0,
        (
            "manifest.yaml".to_owned(),
            crate::yaml::emit_documents(&plain).into_bytes(),
        ),
    );
    Ok(files)
}

/// Encrypts a rendered Secret for `recipients`, values only (`encrypted_regex:
/// ^(data|stringData)$`, as KSOPS and Flux expect), stamped with the current time.
fn encrypt_secret(document: &[u8], recipients: &[String]) -> Result<Vec<u8>, String> {
    let mut options = sops::EncryptOptions::new(sops::Timestamp::now());
    options.rule = Some(sops::EncryptionRule::EncryptedRegex(
        "^(data|stringData)$".to_owned(),
    ));
    sops::encrypt(sops::Format::Yaml, document, recipients, &options).map_err(|e| e.to_string())
}

/// The previous output's bytes when it decrypts to exactly `document` for exactly
/// `recipients`: re-encrypting unchanged Secrets would change every byte (new data key, new
/// IVs), and the rendered output would never be stable.
fn reuse_ciphertext(
    previous: &Path,
    document: &[u8],
    recipients: &[String],
    identities: &[age::x25519::Identity],
) -> Option<Vec<u8>> {
    let bytes = std::fs::read(previous).ok()?;
    let decrypted = sops::decrypt(sops::Format::Yaml, &bytes, identities).ok()?;
    let mut had: Vec<String> = decrypted.metadata().recipients();
    let mut want: Vec<String> = recipients.iter().map(|r| r.trim().to_owned()).collect();
    had.sort();
    want.sort();
    if had != want {
        return None;
    }
    // Compare as kustomize prints objects: the SOPS file holds the same object in sops' own
    // YAML layout.
    let plain = decrypted.document().ok()?;
    let node = crate::yaml::parse_one(std::str::from_utf8(&plain).ok()?).ok()??;
    let again = zeroize::Zeroizing::new(crate::yaml::emit_node(&node));
    (again.as_bytes() == document).then_some(bytes)
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
            let secrets = Secrets {
                env: project.environments.get(&app.env),
                identities: renderer.identities(),
                previous: &out_dir.join(&app.env),
            };
            let files = renderer
                .render_with_images(dir, &images)
                .map_err(|e| e.to_diagnostic())
                .and_then(|resources| app_files(app, &resources, &secrets));
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
