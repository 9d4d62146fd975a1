//! The terminal and JSON renderings of a [`Diff`]. The JSON format is documented in the
//! module header of [`super`].

use std::fmt::Write as _;

use serde::Serialize;

use super::{AppDiff, Counts, Diff, ResourceChange, ResourceId, SecretChange};

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const BLUE: &str = "\x1b[34m";
const CYAN: &str = "\x1b[36m";

/// Text for a terminal: per environment a heading, per app a summary line and one line per
/// resource (`+` added, `-` removed, `~` changed, `>` moved in, `<` moved out), then the
/// unified diffs of the app's changed resources. With `color`, ANSI colours (the caller
/// decides, e.g. from `--color` and whether stdout is a terminal); without, plain text.
#[must_use]
pub fn render_human(diff: &Diff, color: bool) -> String {
    let paint = |code: &'static str, text: &str| -> String {
        if color {
            format!("{code}{text}{RESET}")
        } else {
            text.to_owned()
        }
    };
    let mut out = String::new();
    if diff.is_empty() {
        out.push_str("No changes.\n");
        return out;
    }
    let total = diff.totals();
    let _ = writeln!(
        out,
        "{} in {} app(s) of {} environment(s)",
        counts_text(total),
        diff.app_count(),
        diff.envs.len()
    );
    for env in &diff.envs {
        out.push('\n');
        let _ = writeln!(out, "{}", paint(BOLD, &format!("environment {}", env.env)));
        for (i, app) in env.apps.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let status = match app.status {
                super::AppStatus::Changed => String::new(),
                other => format!(" (app {})", other.as_str()),
            };
            let _ = writeln!(
                out,
                "  {}{status}: {}",
                paint(BOLD, &format!("{}/{}", env.env, app.app)),
                counts_text(app.counts())
            );
            for line in resource_lines(app) {
                let code = match line.0 {
                    '+' => GREEN,
                    '-' => RED,
                    '~' => YELLOW,
                    _ => BLUE,
                };
                let _ = writeln!(
                    out,
                    "    {}",
                    paint(code, &format!("{} {}", line.0, line.1))
                );
            }
            for change in changes(app) {
                for line in change.unified_diff.lines() {
                    let code = if line.starts_with("+++") || line.starts_with("---") {
                        BOLD
                    } else if line.starts_with('+') {
                        GREEN
                    } else if line.starts_with('-') {
                        RED
                    } else if line.starts_with("@@") {
                        CYAN
                    } else {
                        ""
                    };
                    if code.is_empty() {
                        let _ = writeln!(out, "{line}");
                    } else {
                        let _ = writeln!(out, "{}", paint(code, line));
                    }
                }
            }
        }
    }
    out
}

/// `1 added, 2 changed, 0 removed` and `, 1 moved` when something moved.
pub(super) fn counts_text(c: Counts) -> String {
    let mut text = format!(
        "{} added, {} changed, {} removed",
        c.added, c.changed, c.removed
    );
    if c.moved > 0 {
        let _ = write!(text, ", {} moved", c.moved);
    }
    text
}

/// One `(marker, text)` per resource of the app, in the order added, removed, changed,
/// moved in, moved out.
pub(super) fn resource_lines(app: &AppDiff) -> Vec<(char, String)> {
    let mut lines = Vec::new();
    for id in &app.added {
        lines.push(('+', id.to_string()));
    }
    for id in &app.removed {
        lines.push(('-', id.to_string()));
    }
    for change in &app.changed {
        lines.push(('~', change_text(&change.id.to_string(), change)));
    }
    for moved in &app.moved_in {
        let text = format!("{} (moved from app {})", moved.id, moved.from);
        let text = match &moved.change {
            Some(change) => change_text(&text, change),
            None => text,
        };
        lines.push(('>', text));
    }
    for moved in &app.moved_out {
        lines.push(('<', format!("{} (moved to app {})", moved.id, moved.to)));
    }
    lines
}

/// The resource's label followed by its secret keys and reordered lists, if any.
fn change_text(label: &str, change: &ResourceChange) -> String {
    let mut text = label.to_owned();
    if let Some(old) = &change.renamed_from {
        let _ = write!(text, " (renamed from {old})");
    }
    if let Some(secret) = &change.secret {
        let _ = write!(text, " [secret: {}]", secret_text(secret));
    }
    for reorder in &change.reordered {
        let _ = write!(
            text,
            " [{}: {} items reordered]",
            reorder.path, reorder.items
        );
    }
    text
}

/// `keys added: a, b; changed: c; removed: d`, or `no key changed`.
pub(super) fn secret_text(secret: &SecretChange) -> String {
    let mut parts = Vec::new();
    for (label, keys) in [
        ("added", &secret.added),
        ("changed", &secret.changed),
        ("removed", &secret.removed),
    ] {
        if !keys.is_empty() {
            parts.push(format!("keys {label}: {}", keys.join(", ")));
        }
    }
    if parts.is_empty() {
        "no key changed".to_owned()
    } else {
        parts.join("; ")
    }
}

/// The changes of an app that carry a unified diff, in the order of [`resource_lines`].
pub(super) fn changes(app: &AppDiff) -> impl Iterator<Item = &ResourceChange> {
    app.changed
        .iter()
        .chain(app.moved_in.iter().filter_map(|m| m.change.as_ref()))
        .filter(|c| !c.unified_diff.is_empty())
}

/// The stable JSON structure documented in the module header of [`super`], pretty-printed,
/// ending with a newline.
#[must_use]
pub fn render_json(diff: &Diff) -> String {
    let total = diff.totals();
    let doc = JsonDiff {
        version: 1,
        summary: JsonSummary {
            envs: diff.envs.len(),
            apps: diff.app_count(),
            added: total.added,
            changed: total.changed,
            removed: total.removed,
            moved: total.moved,
        },
        envs: diff
            .envs
            .iter()
            .map(|env| JsonEnv {
                env: &env.env,
                apps: env.apps.iter().map(json_app).collect(),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc)
        .unwrap_or_else(|e| format!("{{\"version\":1,\"error\":{:?}}}", e.to_string()));
    text.push('\n');
    text
}

fn json_app(app: &AppDiff) -> JsonApp<'_> {
    JsonApp {
        app: &app.app,
        status: app.status.as_str(),
        added: app.added.iter().map(JsonResource::from).collect(),
        removed: app.removed.iter().map(JsonResource::from).collect(),
        changed: app.changed.iter().map(JsonChange::from).collect(),
        moved_in: app
            .moved_in
            .iter()
            .map(|m| JsonMovedIn {
                resource: JsonResource::from(&m.id),
                from: &m.from,
                change: m.change.as_ref().map(JsonChange::from),
            })
            .collect(),
        moved_out: app
            .moved_out
            .iter()
            .map(|m| JsonMovedOut {
                resource: JsonResource::from(&m.id),
                to: &m.to,
            })
            .collect(),
    }
}

#[derive(Serialize)]
struct JsonDiff<'a> {
    version: u32,
    summary: JsonSummary,
    envs: Vec<JsonEnv<'a>>,
}

#[derive(Serialize)]
struct JsonSummary {
    envs: usize,
    apps: usize,
    added: usize,
    changed: usize,
    removed: usize,
    moved: usize,
}

#[derive(Serialize)]
struct JsonEnv<'a> {
    env: &'a str,
    apps: Vec<JsonApp<'a>>,
}

#[derive(Serialize)]
struct JsonApp<'a> {
    app: &'a str,
    status: &'static str,
    added: Vec<JsonResource<'a>>,
    removed: Vec<JsonResource<'a>>,
    changed: Vec<JsonChange<'a>>,
    moved_in: Vec<JsonMovedIn<'a>>,
    moved_out: Vec<JsonMovedOut<'a>>,
}

#[derive(Serialize)]
struct JsonResource<'a> {
    group: &'a str,
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
}

impl<'a> From<&'a ResourceId> for JsonResource<'a> {
    fn from(id: &'a ResourceId) -> Self {
        JsonResource {
            group: &id.group,
            kind: &id.kind,
            namespace: &id.namespace,
            name: &id.name,
        }
    }
}

#[derive(Serialize)]
struct JsonChange<'a> {
    resource: JsonResource<'a>,
    renamed_from: Option<&'a str>,
    diff: &'a str,
    reordered: Vec<JsonReorder<'a>>,
    secret: Option<JsonSecret<'a>>,
}

impl<'a> From<&'a ResourceChange> for JsonChange<'a> {
    fn from(change: &'a ResourceChange) -> Self {
        JsonChange {
            resource: JsonResource::from(&change.id),
            renamed_from: change.renamed_from.as_deref(),
            diff: &change.unified_diff,
            reordered: change
                .reordered
                .iter()
                .map(|r| JsonReorder {
                    path: &r.path,
                    items: r.items,
                })
                .collect(),
            secret: change.secret.as_ref().map(|s| JsonSecret {
                added: &s.added,
                removed: &s.removed,
                changed: &s.changed,
            }),
        }
    }
}

#[derive(Serialize)]
struct JsonReorder<'a> {
    path: &'a str,
    items: usize,
}

#[derive(Serialize)]
struct JsonSecret<'a> {
    added: &'a [String],
    removed: &'a [String],
    changed: &'a [String],
}

#[derive(Serialize)]
struct JsonMovedIn<'a> {
    resource: JsonResource<'a>,
    from: &'a str,
    change: Option<JsonChange<'a>>,
}

#[derive(Serialize)]
struct JsonMovedOut<'a> {
    resource: JsonResource<'a>,
    to: &'a str,
}
