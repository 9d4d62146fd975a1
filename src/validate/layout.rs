//! Layout rules of the seed repositories: every base includes the common resources and
//! declares a namespace, every overlay builds on an existing base, every path a
//! kustomization names exists and stays inside the repository, and no symlink leaves it.
//!
//! Image build folders are checked by `validate::images`, plaintext folders by
//! `validate::plaintext`.

use crate::diagnostics::{Code, Diagnostic, Span};
use crate::discover::{self, Expect, Kustomization, Repo, Target};
use crate::fs::EntryKind;
use crate::load::Loader;

use super::{Options, env_selected};

/// Runs the layout rules.
pub fn check(loader: &Loader<'_>, repo: &Repo, opts: &Options) -> Vec<Diagnostic> {
    let fs = loader.fs();
    let mut out = Vec::new();

    for base in &repo.bases {
        let Some(deploy) = &base.deploy else {
            out.push(
                Diagnostic::new(
                    Code::MissingKustomization,
                    format!("base {} has no deploy/kustomization.yaml", base.dir),
                )
                .in_file(&base.dir)
                .hint("a base keeps its Kustomize base in deploy/kustomization.yaml"),
            );
            continue;
        };
        let Some(k) = repo.kustomizations.get(deploy) else {
            continue; // It could not be read; discovery reported why.
        };
        check_base(k, &mut out);
    }

    for app in repo.apps() {
        if !env_selected(opts, &app.env) {
            continue;
        }
        let Some(deploy) = &app.deploy else {
            out.push(
                Diagnostic::new(
                    Code::MissingKustomization,
                    format!(
                        "{} has no deploy/kustomization.yaml, so it is not an app of {}",
                        app.dir, app.env
                    ),
                )
                .in_file(&app.dir)
                .hint("add deploy/kustomization.yaml with the overlay, or remove the folder"),
            );
            continue;
        };
        let Some(k) = repo.kustomizations.get(deploy) else {
            continue;
        };
        let reaches_base = repo.bases_reached(deploy).next().is_some();
        let names_base = k.refs.iter().any(|r| names_base_path(&r.target));
        if !reaches_base && !names_base {
            out.push(
                Diagnostic::new(
                    Code::MissingBase,
                    format!("overlay {deploy} does not build on a base of apps/base"),
                )
                .in_file(&k.file)
                .at(top_span(k, "resources"))
                .hint(format!(
                    "add `../../../base/{}/deploy` to its resources",
                    app.name
                )),
            );
        }
    }

    for k in repo.kustomizations.values() {
        check_paths(loader, repo, k, &mut out);
    }

    // Symlinks that dangle or leave the repository, even where nothing names them (those
    // a kustomization names were reported at the line naming them).
    let named: std::collections::BTreeSet<&str> = repo
        .kustomizations
        .values()
        .flat_map(|k| k.refs.iter())
        .filter_map(|r| match &r.target {
            Target::BadSymlink(p) => Some(p.as_str()),
            _ => None,
        })
        .collect();
    for entry in fs.files() {
        if entry.kind == EntryKind::Symlink
            && entry.path.starts_with("apps/")
            && !named.contains(entry.path.as_str())
            && let Err(err) = fs.resolve(&entry.path)
        {
            out.push(
                Diagnostic::new(Code::BadSymlink, format!("symlink {}: {err}", entry.path))
                    .in_file(&entry.path)
                    .hint("symlinks must point to a file inside the repository"),
            );
        }
    }
    out
}

fn check_base(k: &Kustomization, out: &mut Vec<Diagnostic>) {
    let includes_common = k
        .refs
        .iter()
        .any(|r| r.target == Target::Kustomization(discover::COMMON_DIR.to_string()));
    if !includes_common {
        out.push(
            Diagnostic::new(
                Code::MissingCommon,
                format!("base {} does not include the common resources", k.dir),
            )
            .in_file(&k.file)
            .at(top_span(k, "resources"))
            .hint("add `../../_common/deploy` to its resources"),
        );
    }
    let namespace = k
        .node
        .as_ref()
        .and_then(|n| n.get("namespace"))
        .and_then(|n| n.as_str())
        .filter(|s| !s.trim().is_empty());
    if namespace.is_none() {
        out.push(
            Diagnostic::new(
                Code::MissingNamespace,
                format!("base {} declares no namespace", k.dir),
            )
            .in_file(&k.file)
            .at(top_span(k, "namespace"))
            .hint("set `namespace:` in the base kustomization"),
        );
    }
}

fn check_paths(loader: &Loader<'_>, repo: &Repo, k: &Kustomization, out: &mut Vec<Diagnostic>) {
    let fs = loader.fs();
    for r in &k.refs {
        let at = |code: Code, message: String| {
            Diagnostic::new(code, message)
                .in_file(&r.file)
                .at(r.span)
                .label(r.field.field)
        };
        let d = match &r.target {
            Target::File(_) if r.field.expect == Expect::Kustomization => Some(
                at(
                    Code::MissingKustomization,
                    format!(
                        "`{}` in {} is a file, not a kustomization directory",
                        r.raw, r.field.field
                    ),
                )
                .hint("components and bases name directories that hold a kustomization"),
            ),
            Target::File(_) | Target::Kustomization(_) => None,
            Target::Dir(dir) if r.field.expect == Expect::File => Some(at(
                Code::MissingPath,
                format!("`{}` is the directory {dir}, not a file", r.raw),
            )),
            Target::Dir(dir) => Some(
                at(
                    Code::MissingKustomization,
                    format!("directory {dir} named by `{}` has no kustomization", r.raw),
                )
                .hint("add a kustomization.yaml there, or name the files instead"),
            ),
            Target::Missing(path) if names_base_path(&r.target) => Some(
                at(
                    Code::MissingBase,
                    format!(
                        "`{}` refers to the base {}, which does not exist",
                        r.raw,
                        base_of(path)
                    ),
                )
                .hint(format!("existing bases: {}", base_names(repo))),
            ),
            Target::Missing(path) => Some(
                at(
                    Code::MissingPath,
                    format!("`{}` does not exist ({path})", r.raw),
                )
                .hint("paths in a kustomization are relative to its directory"),
            ),
            Target::Absolute => Some(
                at(
                    Code::PathEscapes,
                    format!("`{}` is an absolute path", r.raw),
                )
                .hint(
                    "kustomizations name paths relative to their directory, inside the repository",
                ),
            ),
            Target::Escapes => Some(
                at(
                    Code::PathEscapes,
                    format!("`{}` leaves the repository", r.raw),
                )
                .hint(
                    "`..` may not climb above the repository root; vendor what you need inside it",
                ),
            ),
            Target::BadSymlink(path) => {
                let why = fs.resolve(path).err().map_or_else(
                    || "a symlink on the way is broken".to_string(),
                    |e| e.to_string(),
                );
                Some(
                    at(Code::BadSymlink, format!("`{}`: {why}", r.raw))
                        .hint("symlinks must point to a file inside the repository"),
                )
            }
            Target::Remote => Some(
                at(
                    Code::RemoteReference,
                    format!(
                        "`{}` is a remote base; kiln never fetches from the network",
                        r.raw
                    ),
                )
                .hint("vendor the base into the repository and name its directory"),
            ),
        };
        out.extend(d);
    }
}

/// Whether a target lies below `apps/base/<x>/` where `<x>` is an app, not `_common`.
fn names_base_path(target: &Target) -> bool {
    let path = match target {
        Target::Kustomization(p) | Target::Missing(p) | Target::Dir(p) => p,
        _ => return false,
    };
    path.strip_prefix("apps/base/")
        .is_some_and(|rest| !rest.starts_with('_'))
}

fn base_of(path: &str) -> String {
    let mut segs = path.split('/');
    match (segs.next(), segs.next(), segs.next()) {
        (Some(a), Some(b), Some(c)) => format!("{a}/{b}/{c}"),
        _ => path.to_string(),
    }
}

fn base_names(repo: &Repo) -> String {
    let names: Vec<&str> = repo.bases.iter().map(|b| b.name.as_str()).collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// The span of a top-level key of a kustomization, or of the document when absent.
pub(crate) fn top_span(k: &Kustomization, key: &str) -> Span {
    let node = k.node.as_ref();
    let keyed = node.and_then(|n| n.as_map()).and_then(|entries| {
        entries
            .iter()
            .find(|(key_node, _)| key_node.as_str() == Some(key))
            .map(|(key_node, _)| key_node.span)
    });
    match (keyed, node) {
        (Some(span), _) => span,
        (None, Some(n)) => Span::in_text(&k.text, n.span.start, n.span.start),
        (None, None) => Span::in_text(&k.text, 0, 0),
    }
}
