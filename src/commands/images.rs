//! `kiln images --env E [--changed-since REV]`: the container images an environment
//! needs built.
//!
//! For every app of the environment, every build folder of every base its overlay
//! reaches: the image name, tag, build context and app. With `--changed-since REV`, also
//! whether the build context differs from REV, and a finding when a changed context kept
//! the tag it had in REV (the registry would go on serving the old image under it).
//!
//! Human output is an aligned table; `--format json` prints
//! `{"env", "images": [{"name", "tag", "reference", "context", "app", "changed", "tag_reused"}]}`
//! where `changed` and `tag_reused` are null without `--changed-since`.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::cli::{Format, ImagesArgs};
use crate::diagnostics::{Code, Diagnostic, Diagnostics, ExitStatus};
use crate::discover::{self, Repo, files_under, join};
use crate::fs::{RepoFs, Source};
use crate::load::Loader;
use crate::project::vars_from_yaml;
use crate::validate::images::{BuiltImage, builds};

use super::{Output, emit, fail, load_project, open, source_of};

#[derive(Debug, Serialize)]
struct Row {
    name: String,
    tag: String,
    reference: String,
    context: String,
    app: String,
    changed: Option<bool>,
    tag_reused: Option<bool>,
}

/// Runs `kiln images`.
pub fn run(
    root: &Path,
    args: &ImagesArgs,
    output: Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<ExitStatus> {
    let fs = match open(root, source_of(&args.source)) {
        Ok(fs) => fs,
        Err(d) => return fail(d, output, false, out, err),
    };
    let loader = Loader::new(&fs);
    let project = match load_project(&loader) {
        Ok(p) => p,
        Err(ds) => {
            let mut diags = Diagnostics::new();
            diags.extend(ds);
            emit(&diags, &loader, output, false, out, err)?;
            return Ok(ExitStatus::Error);
        }
    };
    let repo = discover::discover(&loader);
    let Some(env) = repo.envs.iter().find(|e| e.name == args.env) else {
        let known: Vec<&str> = repo.envs.iter().map(|e| e.name.as_str()).collect();
        let d = Diagnostic::new(
            Code::Usage,
            format!("there is no environment `{}`", args.env),
        )
        .hint(format!("environments: {}", known.join(", ")));
        return fail(d, output, false, out, err);
    };

    let mut diags = Diagnostics::new();
    let (built, build_diags) = builds(&loader, &repo);
    diags.extend(build_diags);
    let contexts = contexts_of_env(&repo, env);
    let mut images: Vec<&BuiltImage> = built
        .iter()
        .filter(|b| contexts.contains(b.context.as_str()))
        .collect();
    images.sort_by(|a, b| a.context.cmp(&b.context));

    let old = match &args.changed_since {
        None => None,
        Some(rev) => match open(root, Source::Rev(rev.clone())) {
            Ok(old) => Some((rev.as_str(), old)),
            Err(d) => return fail(d, output, false, out, err),
        },
    };
    let registry = match project.images.registries.as_slice() {
        [one] => Some(one.as_str()),
        _ => None,
    };

    let mut rows = Vec::new();
    for img in images {
        let (changed, tag_reused) = match &old {
            None => (None, None),
            Some((rev, old)) => {
                let changed = context_changed(&fs, old, &img.context);
                let reused = changed && old_vars(old, img).is_some_and(|v| v == img.vars);
                if reused {
                    diags.push(
                        Diagnostic::new(
                            Code::ImageTagReused,
                            format!(
                                "{}:{} was reused although its build context {} changed since {rev}",
                                img.vars.image_name, img.vars.image_tag, img.context
                            ),
                        )
                        .in_file(&img.vars_file)
                        .hint("bump image_tag in vars.yaml; the registry would keep serving the old image under this tag"),
                    );
                }
                (Some(changed), Some(reused))
            }
        };
        let name_tag = format!("{}:{}", img.vars.image_name, img.vars.image_tag);
        rows.push(Row {
            name: img.vars.image_name.clone(),
            tag: img.vars.image_tag.clone(),
            reference: registry.map_or_else(|| name_tag.clone(), |r| format!("{r}/{name_tag}")),
            context: img.context.clone(),
            app: img.app.clone(),
            changed,
            tag_reused,
        });
    }

    let text = match output.format {
        Format::Json => {
            #[derive(Serialize)]
            struct Doc<'a> {
                env: &'a str,
                images: &'a [Row],
            }
            let mut s = serde_json::to_string_pretty(&Doc {
                env: &env.name,
                images: &rows,
            })
            .unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Human | Format::Markdown => table(&rows),
    };
    out.write_all(text.as_bytes())?;
    diags.finish();
    emit(&diags, &loader, output, false, out, err)?;
    Ok(diags.exit_status())
}

/// The build folders of the bases an environment's apps reach.
fn contexts_of_env<'r>(repo: &'r Repo, env: &discover::Env) -> BTreeSet<&'r str> {
    let mut out = BTreeSet::new();
    for app in &env.apps {
        let Some(deploy) = &app.deploy else { continue };
        for base in repo.bases_reached(deploy) {
            out.extend(base.builds.iter().map(String::as_str));
        }
    }
    out
}

/// Whether the files below `context` differ between two views (names or contents).
fn context_changed(new: &RepoFs, old: &RepoFs, context: &str) -> bool {
    let prefix = format!("{context}/");
    let a: Vec<&str> = files_under(new, &prefix).collect();
    let b: Vec<&str> = files_under(old, &prefix).collect();
    if a != b {
        return true;
    }
    a.iter().any(|f| match (new.read(f), old.read(f)) {
        (Ok(x), Ok(y)) => x != y,
        _ => true,
    })
}

/// The vars.yaml of a build folder as it was in the old view, if it was valid there.
fn old_vars(old: &RepoFs, img: &BuiltImage) -> Option<crate::project::ImageVars> {
    let loader = Loader::new(old);
    let path = join(&img.context, "vars.yaml");
    let (_, node) = loader.yaml_one(&path).ok()?;
    vars_from_yaml(&path, &node?).ok()
}

fn table(rows: &[Row]) -> String {
    let with_changes = rows.iter().any(|r| r.changed.is_some());
    let mut lines: Vec<Vec<String>> = vec![{
        let mut h = vec![
            "IMAGE".to_string(),
            "CONTEXT".to_string(),
            "APP".to_string(),
        ];
        if with_changes {
            h.push("CHANGED".to_string());
        }
        h
    }];
    for r in rows {
        let mut l = vec![r.reference.clone(), r.context.clone(), r.app.clone()];
        if let Some(c) = r.changed {
            let mark = match (c, r.tag_reused) {
                (true, Some(true)) => "yes (tag reused)",
                (true, _) => "yes",
                (false, _) => "no",
            };
            l.push(mark.to_string());
        }
        lines.push(l);
    }
    let widths: Vec<usize> = (0..lines[0].len())
        .map(|i| lines.iter().map(|l| l[i].len()).max().unwrap_or(0))
        .collect();
    let mut s = String::new();
    for l in &lines {
        let cells: Vec<String> = l
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        s.push_str(cells.join("  ").trim_end());
        s.push('\n');
    }
    s
}
