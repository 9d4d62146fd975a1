//! CODEOWNERS rules: the file exists where GitHub looks, is under GitHub's size limit,
//! parses, has no dead, duplicate or shadowed rules, and owns every app folder with a
//! rule more specific than a catch-all.
//!
//! The matching itself is `codeowners`; this module turns its findings into diagnostics
//! and adds the rules that need the repository model.

use crate::codeowners::{self, CodeOwners, FindingKind};
use crate::diagnostics::{Code, Diagnostic, Span};
use crate::discover::{Repo, files_under};
use crate::load::Loader;
use crate::project::Project;

/// The CODEOWNERS file of the view: its path and text, or the diagnostic saying why there
/// is none to use. Extra files GitHub would not read are reported as warnings.
pub fn locate(loader: &Loader<'_>) -> (Option<(String, std::sync::Arc<str>)>, Vec<Diagnostic>) {
    let fs = loader.fs();
    let mut diags = Vec::new();
    let found: Vec<&str> = codeowners::LOCATIONS
        .iter()
        .copied()
        .filter(|p| fs.is_file(p))
        .collect();
    let Some(first) = found.first() else {
        diags.push(
            Diagnostic::new(
                Code::CodeownersMissing,
                "the repository has no CODEOWNERS file",
            )
            .hint("add CODEOWNERS at the root (or in .github/) with an owner for every app"),
        );
        return (None, diags);
    };
    for other in &found[1..] {
        diags.push(
            Diagnostic::new(
                Code::CodeownersSeveral,
                format!("{other} is ignored: GitHub reads only {first}"),
            )
            .in_file(*other)
            .hint("keep a single CODEOWNERS file"),
        );
    }
    match loader.text(first) {
        Err(d) => {
            diags.push(d);
            (None, diags)
        }
        Ok(text) if text.len() > codeowners::MAX_SIZE => {
            diags.push(
                Diagnostic::new(
                    Code::CodeownersTooLarge,
                    format!(
                        "{first} is {} bytes; GitHub ignores CODEOWNERS files of 3 MB or more",
                        text.len()
                    ),
                )
                .in_file(*first)
                .hint("use directory patterns instead of listing files one by one"),
            );
            (None, diags)
        }
        Ok(text) => (Some((first.to_string(), text)), diags),
    }
}

/// Runs the CODEOWNERS rules.
pub fn check(loader: &Loader<'_>, project: &Project, repo: &Repo) -> Vec<Diagnostic> {
    let (found, mut out) = locate(loader);
    let Some((path, text)) = found else {
        return out;
    };
    let (owners, findings) = codeowners::parse(&text);
    let files: Vec<&str> = loader
        .fs()
        .files()
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    let resolution = owners.resolve_all(&files);
    for f in findings.iter().chain(resolution.findings.iter()) {
        out.push(finding(&path, &text, f));
    }
    if project.codeowners.require_app_owners {
        check_apps(
            &path,
            &owners,
            repo,
            loader,
            &files,
            &resolution.decided_by,
            &mut out,
        );
    }
    out
}

fn finding(path: &str, text: &str, f: &codeowners::Finding) -> Diagnostic {
    let code = match f.kind {
        FindingKind::Syntax => Code::CodeownersSyntax,
        FindingKind::UnsupportedSyntax => Code::CodeownersUnsupported,
        FindingKind::InvalidOwner => Code::CodeownersInvalidOwner,
        FindingKind::InlineComment => Code::CodeownersInlineComment,
        FindingKind::DuplicatePattern => Code::CodeownersDuplicate,
        FindingKind::NoMatchingFile => Code::CodeownersNoMatch,
        FindingKind::Shadowed => Code::CodeownersShadowed,
    };
    let mut d = Diagnostic::new(code, f.message.clone())
        .in_file(path)
        .at(Span::in_text(text, f.span.start, f.span.end));
    if let Some(h) = &f.hint {
        d = d.hint(h.clone());
    }
    d
}

/// Every app folder must be owned, file by file, by a rule with owners that is not a
/// catch-all. One diagnostic per folder, naming the first file that is not.
fn check_apps(
    path: &str,
    owners: &CodeOwners,
    repo: &Repo,
    loader: &Loader<'_>,
    files: &[&str],
    decided_by: &[Option<usize>],
    out: &mut Vec<Diagnostic>,
) {
    let fs = loader.fs();
    let dirs = repo
        .bases
        .iter()
        .map(|b| b.dir.as_str())
        .chain(repo.apps().map(|a| a.dir.as_str()));
    for dir in dirs {
        let prefix = format!("{dir}/");
        for file in files_under(fs, &prefix) {
            // `files` is the view's sorted file list, so the index is a binary search away.
            let Ok(i) = files.binary_search(&file) else {
                continue;
            };
            let rule = decided_by
                .get(i)
                .copied()
                .flatten()
                .and_then(|r| owners.rules.get(r));
            let problem = match rule {
                None => Some("no rule matches it".to_string()),
                Some(r) if r.owners.is_empty() => {
                    Some(format!("the rule on line {} clears its owners", r.line))
                }
                Some(r) if r.is_catch_all() => Some(format!(
                    "only the catch-all `{}` on line {} matches it",
                    r.pattern, r.line
                )),
                Some(_) => None,
            };
            if let Some(why) = problem {
                out.push(
                    Diagnostic::new(
                        Code::AppNotOwned,
                        format!("app folder {dir} is not owned by a specific rule: {file}: {why}"),
                    )
                    .in_file(path)
                    .hint(format!("add a rule such as `/{dir}/ @team` to {path}")),
                );
                break;
            }
        }
    }
}
