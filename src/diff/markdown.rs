//! The pull-request comment rendering of a [`Diff`], kept under a size cap.
//!
//! Layout: a heading and a one-line summary, a table (environment, app, added, changed,
//! removed, moved), then one collapsible `<details>` section per app naming its owners, with
//! its resources listed and its unified diffs in a `diff` fence, and, when something had to be
//! cut, a closing note saying what.
//!
//! The cap is in bytes, which bounds GitHub's character count (65,536) from above. When the
//! full comment is over the cap, cuts are made in this order until it fits:
//! 1. diff bodies, largest first (the later app first among equal sizes); the section stays,
//!    with a line saying its diff was omitted;
//! 2. whole sections, last first;
//! 3. table rows, last first.
//!
//! The note names the apps whose diffs or sections were cut (as many as fit in its budget,
//! then a count). As a last resort, for caps too small to hold even that, the text is cut at
//! the cap. The result is never longer than the cap.

use std::fmt::Write as _;

use super::render::{changes, counts_text, resource_lines};
use super::{AppDiff, Diff};

/// The default cap: under GitHub's limit of 65,536 characters for a comment, with room for
/// a wrapper the caller may add.
pub const DEFAULT_MARKDOWN_CAP: usize = 65_000;

/// The most the closing note may take.
const NOTE_BUDGET: usize = 2_000;

/// Room for the table row that counts the rows cut.
const MORE_ROW_BUDGET: usize = 64;

/// What replaces an omitted diff body.
const OMITTED_BODY: &str =
    "_Diff omitted to fit the comment size limit; run `kiln diff` locally._\n\n";

const TABLE_HEADER: &str = "| Environment | App | Added | Changed | Removed | Moved |\n\
                            |---|---|--:|--:|--:|--:|\n";

struct Section {
    name: String,
    head: String,
    body: String,
}

const SECTION_TAIL: &str = "</details>\n\n";

/// A pull-request comment, at most `cap` bytes long (use [`DEFAULT_MARKDOWN_CAP`]).
///
/// `owners` is called once per changed app with its rendered path `<env>/<app>` and returns
/// the owners to name (e.g. `@org/team`, resolved from CODEOWNERS for the app's source
/// folder); they are written as code, so the comment does not notify them again.
#[must_use]
pub fn render_markdown(diff: &Diff, owners: &dyn Fn(&str) -> Vec<String>, cap: usize) -> String {
    let mut header = String::from("### kiln diff\n\n");
    if diff.is_empty() {
        header.push_str("No changes.\n");
        return cut(header, cap);
    }
    let _ = writeln!(
        header,
        "{} in {} app(s) of {} environment(s).\n",
        counts_text(diff.totals()),
        diff.app_count(),
        diff.envs.len()
    );

    let mut rows: Vec<String> = Vec::new();
    let mut sections: Vec<Section> = Vec::new();
    for env in &diff.envs {
        for app in &env.apps {
            let name = format!("{}/{}", env.env, app.app);
            let c = app.counts();
            rows.push(format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                cell(&env.env),
                cell(&app.app),
                c.added,
                c.changed,
                c.removed,
                c.moved
            ));
            sections.push(section(&name, app, &owners(&name)));
        }
    }

    let section_len = |s: &Section, with_body: bool| {
        s.head.len()
            + if with_body {
                s.body.len()
            } else {
                OMITTED_BODY.len()
            }
            + SECTION_TAIL.len()
    };
    // The blank line after the table is the `+ 1`.
    let mut total = header.len()
        + TABLE_HEADER.len()
        + 1
        + rows.iter().map(String::len).sum::<usize>()
        + sections.iter().map(|s| section_len(s, true)).sum::<usize>();
    let mut keep_body = vec![true; sections.len()];
    let mut keep_section = sections.len();
    let mut keep_rows = rows.len();
    if total > cap {
        // The note, and the table's "more apps" row.
        let budget = NOTE_BUDGET.min(cap / 4) + MORE_ROW_BUDGET;
        // 1. Diff bodies, largest first, later first among equals.
        let mut order: Vec<usize> = (0..sections.len())
            .filter(|&i| !sections[i].body.is_empty())
            .collect();
        order.sort_by(|&a, &b| {
            sections[b]
                .body
                .len()
                .cmp(&sections[a].body.len())
                .then(b.cmp(&a))
        });
        for i in order {
            if total + budget <= cap {
                break;
            }
            total = total + section_len(&sections[i], false) - section_len(&sections[i], true);
            keep_body[i] = false;
        }
        // 2. Whole sections, last first.
        while total + budget > cap && keep_section > 0 {
            keep_section -= 1;
            total -= section_len(&sections[keep_section], keep_body[keep_section]);
        }
        // 3. Table rows, last first.
        while total + budget > cap && keep_rows > 0 {
            keep_rows -= 1;
            total -= rows[keep_rows].len();
        }
    }

    let mut out = String::with_capacity(total.min(cap) + NOTE_BUDGET);
    out.push_str(&header);
    out.push_str(TABLE_HEADER);
    for row in &rows[..keep_rows] {
        out.push_str(row);
    }
    if keep_rows < rows.len() {
        let _ = writeln!(out, "| … | {} more apps | | | | |", rows.len() - keep_rows);
    }
    out.push('\n');
    for (i, s) in sections[..keep_section].iter().enumerate() {
        out.push_str(&s.head);
        out.push_str(if keep_body[i] { &s.body } else { OMITTED_BODY });
        out.push_str(SECTION_TAIL);
    }
    let no_body: Vec<&str> = sections[..keep_section]
        .iter()
        .zip(&keep_body)
        .filter(|(s, keep)| !**keep && !s.body.is_empty())
        .map(|(s, _)| s.name.as_str())
        .collect();
    let no_section: Vec<&str> = sections[keep_section..]
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    if !no_body.is_empty() || !no_section.is_empty() || keep_rows < rows.len() {
        let budget = NOTE_BUDGET.min(cap / 4);
        out.push_str(&note(
            &no_body,
            &no_section,
            rows.len() - keep_rows,
            cap,
            budget,
        ));
    }
    cut(out, cap)
}

/// The closing note, at most `budget` bytes when the budget allows the fixed sentences.
fn note(
    no_body: &[&str],
    no_section: &[&str],
    no_rows: usize,
    cap: usize,
    budget: usize,
) -> String {
    let mut text = format!(
        "> [!NOTE]\n> Cut to fit the comment size limit ({cap} characters). \
         Run `kiln diff` locally for the full diff.\n"
    );
    // Room for the lists of names: what the fixed sentences leave.
    let fixed = text.len()
        + if no_rows > 0 { 64 } else { 0 }
        + [no_body, no_section]
            .iter()
            .filter(|l| !l.is_empty())
            .count()
            * 96;
    let mut room = budget.saturating_sub(fixed);
    for (label, names) in [
        ("Diffs omitted", no_body),
        ("Sections omitted, with their diffs", no_section),
    ] {
        if names.is_empty() {
            continue;
        }
        let _ = write!(text, "> {label} ({} apps): ", names.len());
        let mut listed = 0;
        for name in names {
            let item = format!("`{}`, ", name.replace('`', "'"));
            if item.len() > room {
                break;
            }
            room -= item.len();
            text.push_str(&item);
            listed += 1;
        }
        if listed == names.len() {
            text.truncate(text.len() - 2);
            text.push_str(".\n");
        } else {
            let _ = writeln!(text, "and {} more.", names.len() - listed);
        }
    }
    if no_rows > 0 {
        let _ = writeln!(text, "> Table rows omitted: {no_rows} apps.");
    }
    text
}

/// One app's collapsible section: `head` up to the diff, `body` the diff fence (empty when
/// the app has no unified diff).
fn section(name: &str, app: &AppDiff, owners: &[String]) -> Section {
    let mut head = String::from("<details>\n<summary><b>");
    head.push_str(&html(name));
    head.push_str("</b>");
    if app.status != super::AppStatus::Changed {
        let _ = write!(head, " (app {})", app.status.as_str());
    }
    let _ = write!(head, ": {}", counts_text(app.counts()));
    if !owners.is_empty() {
        head.push_str(" · owners: ");
        let list: Vec<String> = owners
            .iter()
            .map(|o| format!("<code>{}</code>", html(o)))
            .collect();
        head.push_str(&list.join(" "));
    }
    head.push_str("</summary>\n\n");
    for (marker, text) in resource_lines(app) {
        let label = match marker {
            '+' => "added",
            '-' => "removed",
            '~' => "changed",
            '>' => "moved in",
            _ => "moved out",
        };
        let _ = writeln!(head, "- {label}: {}", code(&text));
    }
    head.push('\n');

    let mut diff_text = String::new();
    for change in changes(app) {
        diff_text.push_str(&change.unified_diff);
        if !diff_text.ends_with('\n') {
            diff_text.push('\n');
        }
    }
    let body = if diff_text.is_empty() {
        String::new()
    } else {
        let fence = "`".repeat(longest_backtick_run(&diff_text).max(2) + 1);
        format!("{fence}diff\n{diff_text}{fence}\n\n")
    };
    Section {
        name: name.to_owned(),
        head,
        body,
    }
}

fn longest_backtick_run(text: &str) -> usize {
    let (mut longest, mut run) = (0, 0);
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

/// Inline code that survives backticks in the text.
fn code(text: &str) -> String {
    let ticks = "`".repeat(longest_backtick_run(text) + 1);
    if ticks.len() > 1 {
        format!("{ticks} {text} {ticks}")
    } else {
        format!("`{text}`")
    }
}

/// Text for HTML content.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Text for a table cell.
fn cell(text: &str) -> String {
    html(text).replace('|', "\\|")
}

/// `text` cut to at most `cap` bytes, at a character boundary.
fn cut(mut text: String, cap: usize) -> String {
    if text.len() > cap {
        let mut end = cap;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
