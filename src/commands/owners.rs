//! `kiln owners`: the CODEOWNERS owners of paths, one line per path.
//!
//! Output, one line per path: the path, a tab, the line number of the deciding rule
//! (empty when no rule matches), a tab, and the owners separated by spaces (empty when
//! unowned). Paths need not exist. With `--format json`, an array of
//! `{"path", "line", "owners"}` objects (`line` null when no rule matches).

use std::io::{BufRead, Write};
use std::path::Path;

use serde::Serialize;

use crate::cli::{Format, OwnersArgs};
use crate::codeowners;
use crate::diagnostics::{Diagnostics, ExitStatus, Severity};
use crate::load::Loader;
use crate::validate::owners::locate;

use super::{Output, emit, fail, open, source_of};

/// Runs `kiln owners`.
pub fn run(
    root: &Path,
    args: &OwnersArgs,
    output: Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<ExitStatus> {
    let fs = match open(root, source_of(&args.source)) {
        Ok(fs) => fs,
        Err(d) => return fail(d, output, false, out, err),
    };
    let loader = Loader::new(&fs);
    let (found, diags) = locate(&loader);
    let Some((_, text)) = found else {
        let mut all = Diagnostics::new();
        all.extend(diags.into_iter().map(|d| d.severity(Severity::Fatal)));
        emit(&all, &loader, output, false, out, err)?;
        return Ok(ExitStatus::Error);
    };
    let (rules, _) = codeowners::parse(&text);

    let mut paths: Vec<String> = args.paths.clone();
    if args.stdin {
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            if !line.is_empty() {
                paths.push(line);
            }
        }
    }

    #[derive(Serialize)]
    struct Row<'a> {
        path: &'a str,
        line: Option<usize>,
        owners: Vec<&'a str>,
    }
    let rows: Vec<Row<'_>> = paths
        .iter()
        .map(|p| {
            let path = p.trim_start_matches("./").trim_start_matches('/');
            let rule = rules.owner_of(path);
            Row {
                path,
                line: rule.map(|r| r.line),
                owners: rule
                    .map(|r| r.owners.iter().map(|o| o.text.as_str()).collect())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let mut buf = String::new();
    match output.format {
        Format::Json => {
            buf = serde_json::to_string_pretty(&rows).unwrap_or_default();
            buf.push('\n');
        }
        Format::Human | Format::Markdown => {
            for r in &rows {
                let line = r.line.map(|l| l.to_string()).unwrap_or_default();
                buf.push_str(&format!("{}\t{}\t{}\n", r.path, line, r.owners.join(" ")));
            }
        }
    }
    out.write_all(buf.as_bytes())?;
    Ok(ExitStatus::Success)
}
