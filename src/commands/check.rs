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
    diags.finish();

    if output.verbose > 1 {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        writeln!(
            err,
            "timings: open {:.1} ms, discover {:.1} ms, validate {:.1} ms",
            ms(opened),
            ms(discovered - opened),
            ms(started.elapsed() - discovered)
        )?;
    }
    if output.verbose > 0 {
        for app in repo
            .apps()
            .filter(|a| validate::env_selected(&opts, &a.env))
        {
            writeln!(
                err,
                "checked {} ({} files in its dependency set)",
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

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
