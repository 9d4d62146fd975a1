//! `kiln validate [--kubernetes-version V] [--crds FILE]... [--unknown-custom-resources MODE]
//! FILE...`: validates plain manifest files with the engine of the rendered-output checks, the
//! way kubeconform does.
//!
//! This module owns the command: its arguments ([`ValidateArgs`]), reading the inputs
//! (multi-document YAML or JSON files, directories walked for `*.yaml`, `*.yml` and `*.json`,
//! `-` for standard input; `kind: List` documents are expanded into their items), registering
//! the CRDs of `--crds` files and of the inputs themselves, and printing one line per resource
//! with findings (human) or one JSON document (`--format json`, structure in [`run`]).
//!
//! It does not own the checks ([`crate::validate::rendered::Checker`]) nor the schemas
//! ([`crate::validate::schema`]). The environment invariants of `kiln check` (unique ids,
//! namespaces, dangling references) do not apply to loose files and are not run.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::cli::Format;
use crate::diagnostics::{Code, Diagnostic, Diagnostics, ExitStatus, Severity, Span};
use crate::validate::rendered::{
    Checker, Finding, crd_error_text, is_sensitive, locate, version_diagnostic,
};
use crate::validate::schema::{SchemaSet, supported_versions};
use crate::yaml::{self, Node};

use super::{Output, emit, fail};

/// The name standard input gets in output.
const STDIN_NAME: &str = "<stdin>";

/// `kiln validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The Kubernetes version whose schemas to use (`1.31`, `v1.31.2`; default: the newest
    /// bundled).
    #[arg(long, value_name = "V")]
    pub kubernetes_version: Option<String>,

    /// A file of CustomResourceDefinitions whose kinds the manifests use (repeatable). CRDs
    /// among the manifests themselves are used too.
    #[arg(long = "crds", value_name = "FILE")]
    pub crds: Vec<String>,

    /// What a custom resource without schema is.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = UnknownMode::Warn)]
    pub unknown_custom_resources: UnknownMode,

    /// Manifest files (YAML with any number of documents, or JSON) or directories; `-` reads
    /// standard input.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<String>,
}

/// What a custom resource without schema is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UnknownMode {
    /// A warning; the resource counts as skipped.
    Warn,
    /// An error; the resource counts as invalid.
    Error,
}

/// One resource read from an input.
struct Doc {
    file: String,
    node: Option<Node>,
    span: Span,
    value: Value,
    /// Read from a `--crds` file.
    from_crds: bool,
}

/// What one file gave.
enum FileDocs {
    Docs(Vec<Doc>),
    /// Not parseable (a finding: exit 1).
    Invalid(String, String),
}

/// Runs `kiln validate`, reading `-` from the process's standard input.
///
/// # Errors
/// Only failures to write to `out` or `err`.
pub fn run(
    start: &Path,
    args: &ValidateArgs,
    output: Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<ExitStatus> {
    let mut stdin = std::io::stdin().lock();
    run_with_stdin(start, args, output, &mut stdin, out, err)
}

/// [`run`] with standard input given.
///
/// Human output: one line per resource with findings on stdout,
/// `FILE - Kind name is invalid: message; message` for errors and
/// `FILE - Kind name: warning: message` for warnings (each message ends with the source line
/// when known), `FILE - failed to parse: message` for a file that is not YAML or JSON; then a
/// summary on stderr. Exit status 1 when any resource is invalid or any file does not parse, 2
/// when an input cannot be read or the Kubernetes version is unknown.
///
/// JSON output (`--format json`), on stdout:
/// `{"resources": [{"file", "line", "apiVersion", "kind", "namespace", "name", "status",
/// "findings": [{"code", "severity", "message", "path", "line", "column", "hint"}]}],
/// "files": [{"file", "error"}], "summary": {"files", "resources", "valid", "invalid",
/// "skipped", "warnings", "errors"}}`, where `status` is `valid` (possibly with warnings),
/// `invalid` or `skipped` (no schema, in warn mode), `files` lists the inputs that failed to
/// parse, and `path` is the JSON pointer of the field (or null). Values of Secrets never
/// appear.
///
/// # Errors
/// Only failures to write to `out` or `err`.
pub fn run_with_stdin(
    start: &Path,
    args: &ValidateArgs,
    output: Output,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<ExitStatus> {
    let newest = supported_versions().last().copied().unwrap_or("1.37");
    let version = args.kubernetes_version.as_deref().unwrap_or(newest);
    let mut set = match SchemaSet::builtin(version) {
        Ok(set) => set,
        Err(e) => return fail(version_diagnostic(version, &e), output, false, out, err),
    };
    let unknown = match args.unknown_custom_resources {
        UnknownMode::Warn => Severity::Warning,
        UnknownMode::Error => Severity::Error,
    };

    // Inputs, in the order given (directories sorted).
    let mut fatal = Diagnostics::new();
    let mut paths: Vec<(String, bool)> = Vec::new();
    for f in &args.crds {
        paths.push((f.clone(), true));
    }
    for f in &args.files {
        if f != "-" && start.join(f).is_dir() {
            let mut found = Vec::new();
            walk(&start.join(f), f, &mut found);
            found.sort();
            if found.is_empty() {
                fatal.push(
                    Diagnostic::new(
                        Code::Usage,
                        format!("{f} holds no .yaml, .yml or .json file"),
                    )
                    .severity(Severity::Fatal),
                );
            }
            paths.extend(found.into_iter().map(|p| (p, false)));
        } else {
            paths.push((f.clone(), false));
        }
    }
    let mut stdin_text: Option<String> = None;
    let mut docs: Vec<Doc> = Vec::new();
    let mut parse_errors: Vec<(String, String)> = Vec::new();
    let mut file_count = 0usize;
    // The text of each input, to position findings.
    let mut texts: HashMap<String, String> = HashMap::new();
    for (path, from_crds) in &paths {
        let (name, text) = if path == "-" {
            let text = match &stdin_text {
                Some(t) => t.clone(),
                None => {
                    let mut buf = String::new();
                    if let Err(e) = stdin.read_to_string(&mut buf) {
                        fatal.push(
                            Diagnostic::new(
                                Code::Unreadable,
                                format!("cannot read standard input: {e}"),
                            )
                            .severity(Severity::Fatal),
                        );
                        continue;
                    }
                    stdin_text = Some(buf.clone());
                    buf
                }
            };
            (STDIN_NAME.to_string(), text)
        } else {
            match std::fs::read(start.join(path)) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(t) => (path.clone(), t),
                    Err(_) => {
                        file_count += 1;
                        parse_errors.push((path.clone(), "the file is not UTF-8".to_string()));
                        continue;
                    }
                },
                Err(e) => {
                    fatal.push(
                        Diagnostic::new(Code::Unreadable, format!("cannot read {path}: {e}"))
                            .severity(Severity::Fatal),
                    );
                    continue;
                }
            }
        };
        file_count += 1;
        match read_docs(&name, &text, *from_crds) {
            FileDocs::Docs(mut d) => docs.append(&mut d),
            FileDocs::Invalid(file, message) => parse_errors.push((file, message)),
        }
        texts.insert(name, text);
    }

    // CRDs first: from --crds files, then from the inputs.
    let mut crd_findings: Vec<(usize, Finding)> = Vec::new();
    for pass in [true, false] {
        for (i, d) in docs.iter().enumerate().filter(|(_, d)| d.from_crds == pass) {
            let is_crd =
                d.value.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition");
            if !is_crd {
                if d.from_crds {
                    let mut f = Finding::new(
                        Code::InvalidSchemaFile,
                        "not a CustomResourceDefinition".to_string(),
                    );
                    f.span = (d.span.line > 0).then_some(d.span);
                    f.hint = Some("--crds files hold CustomResourceDefinitions".to_string());
                    crd_findings.push((i, f));
                }
                continue;
            }
            if let Err(e) = set.add_crd(&d.value) {
                let mut f = Finding::new(Code::BrokenCrdSchema, crd_error_text(&e));
                f.span = (d.span.line > 0).then_some(d.span);
                f.hint = Some("its kinds are validated without this schema".to_string());
                crd_findings.push((i, f));
            }
        }
    }

    let checker = Checker::new(&set, unknown, docs.iter().map(|d| &d.value));
    let mut findings: Vec<Vec<Finding>> = docs
        .par_iter()
        .map(|d| {
            let sensitive = is_sensitive(&d.value, false);
            let mut found = checker.check(&d.value, sensitive);
            let text = texts.get(&d.file).map(String::as_str);
            locate(&mut found, d.node.as_ref(), d.span, text);
            found
        })
        .collect();
    for (i, f) in crd_findings {
        if let Some(list) = findings.get_mut(i) {
            list.insert(0, f);
        }
    }

    let mut summary = Summary {
        files: file_count,
        resources: docs.len(),
        errors: parse_errors.len(),
        ..Summary::default()
    };
    let mut reports = Vec::with_capacity(docs.len());
    for (d, found) in docs.iter().zip(&findings) {
        let invalid = found.iter().any(|f| f.severity >= Severity::Error);
        let skipped = !invalid && found.iter().any(|f| f.code == Code::UnknownCustomResource);
        let status = if invalid {
            summary.invalid += 1;
            "invalid"
        } else if skipped {
            summary.skipped += 1;
            "skipped"
        } else {
            summary.valid += 1;
            "valid"
        };
        summary.warnings += found
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count();
        reports.push((d, status, found));
    }

    if output.format == Format::Json {
        let doc = JsonDoc {
            resources: reports
                .iter()
                .map(|(d, status, found)| JsonResource {
                    file: &d.file,
                    line: (d.span.line > 0).then_some(d.span.line),
                    api_version: str_at(&d.value, "/apiVersion"),
                    kind: str_at(&d.value, "/kind"),
                    namespace: str_at(&d.value, "/metadata/namespace"),
                    name: str_at(&d.value, "/metadata/name"),
                    status,
                    findings: found
                        .iter()
                        .map(|f| JsonFinding {
                            code: f.code.as_str(),
                            severity: f.severity,
                            message: &f.message,
                            path: f.pointer.as_deref(),
                            line: f.span.map(|s| s.line),
                            column: f.span.map(|s| s.col),
                            hint: f.hint.as_deref(),
                        })
                        .collect(),
                })
                .collect(),
            files: parse_errors
                .iter()
                .map(|(file, error)| JsonFile { file, error })
                .collect(),
            summary,
        };
        // Plain structs of strings and numbers always serialise.
        let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        text.push('\n');
        out.write_all(text.as_bytes())?;
    } else {
        for (file, message) in &parse_errors {
            writeln!(out, "{file} - failed to parse: {message}")?;
        }
        for (d, _, found) in &reports {
            let what = format!(
                "{} {}",
                str_at(&d.value, "/kind")
                    .filter(|s| !s.is_empty())
                    .unwrap_or("<no kind>"),
                str_at(&d.value, "/metadata/name")
                    .filter(|s| !s.is_empty())
                    .unwrap_or("<unnamed>")
            );
            let text = |f: &Finding| match f.span {
                Some(s) => format!("{} (line {})", f.message, s.line),
                None => f.message.clone(),
            };
            let errors: Vec<String> = found
                .iter()
                .filter(|f| f.severity >= Severity::Error)
                .map(text)
                .collect();
            if !errors.is_empty() {
                writeln!(out, "{} - {what} is invalid: {}", d.file, errors.join("; "))?;
            }
            if !output.quiet {
                for f in found.iter().filter(|f| f.severity == Severity::Warning) {
                    writeln!(out, "{} - {what}: warning: {}", d.file, text(f))?;
                }
            }
        }
        if !output.quiet {
            let mut line = format!(
                "kiln validate: {} in {} against Kubernetes {}: {} valid, {} invalid",
                plural(summary.resources, "resource"),
                plural(summary.files, "file"),
                set.version(),
                summary.valid,
                summary.invalid
            );
            if summary.skipped > 0 {
                line.push_str(&format!(", {} without schema", summary.skipped));
            }
            if summary.errors > 0 {
                line.push_str(&format!(
                    ", {} not parseable",
                    plural(summary.errors, "file")
                ));
            }
            writeln!(err, "{line}")?;
        }
    }
    if !fatal.items().is_empty() {
        fatal.finish();
        let none = |_: &str| None;
        emit(&fatal, &none, output, false, out, err)?;
        return Ok(ExitStatus::Error);
    }
    Ok(if summary.invalid > 0 || summary.errors > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn str_at<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// The manifest files under `dir`, as `shown/relative/path`.
fn walk(dir: &Path, shown: &str, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let child = format!("{}/{name}", shown.trim_end_matches('/'));
        if path.is_dir() {
            walk(&path, &child, out);
        } else {
            let lower = name.to_ascii_lowercase();
            if [".yaml", ".yml", ".json"]
                .iter()
                .any(|e| lower.ends_with(e))
            {
                out.push(child);
            }
        }
    }
}

/// The resources of one file: YAML documents (JSON is YAML), else a JSON stream; `kind: List`
/// documents give their items.
fn read_docs(file: &str, text: &str, from_crds: bool) -> FileDocs {
    let parsed: Vec<(Option<Node>, Span, Value)> = match yaml::parse_documents(text) {
        Ok(docs) => docs
            .into_iter()
            .map(|d| {
                let value = d.root.to_json();
                (Some(d.root), d.span, value)
            })
            .collect(),
        Err(yaml_error) => {
            let trimmed = text.trim_start();
            let json: Option<Vec<Value>> = (trimmed.starts_with('{') || trimmed.starts_with('['))
                .then(|| {
                    serde_json::Deserializer::from_str(text)
                        .into_iter::<Value>()
                        .collect::<Result<Vec<_>, _>>()
                        .ok()
                })
                .flatten();
            match json {
                Some(values) => values
                    .into_iter()
                    .map(|v| (None, Span::default(), v))
                    .collect(),
                None => return FileDocs::Invalid(file.to_string(), yaml_error.to_string()),
            }
        }
    };
    let mut docs = Vec::new();
    for (node, span, value) in parsed {
        if value.is_null() {
            continue;
        }
        let is_list = value.get("kind").and_then(Value::as_str) == Some("List")
            && value.get("items").is_some_and(Value::is_array);
        if is_list {
            let items = value
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for (i, item) in items.into_iter().enumerate() {
                let item_node = node
                    .as_ref()
                    .and_then(|n| n.find_pointer(&format!("/items/{i}")))
                    .cloned();
                let item_span = item_node.as_ref().map_or(Span::default(), |n| n.span);
                docs.push(Doc {
                    file: file.to_string(),
                    node: item_node,
                    span: item_span,
                    value: item,
                    from_crds,
                });
            }
            continue;
        }
        docs.push(Doc {
            file: file.to_string(),
            node,
            span,
            value,
            from_crds,
        });
    }
    FileDocs::Docs(docs)
}

#[derive(Serialize)]
struct JsonDoc<'a> {
    resources: Vec<JsonResource<'a>>,
    files: Vec<JsonFile<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct JsonResource<'a> {
    file: &'a str,
    line: Option<u32>,
    #[serde(rename = "apiVersion")]
    api_version: Option<&'a str>,
    kind: Option<&'a str>,
    namespace: Option<&'a str>,
    name: Option<&'a str>,
    status: &'static str,
    findings: Vec<JsonFinding<'a>>,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    code: &'static str,
    severity: Severity,
    message: &'a str,
    path: Option<&'a str>,
    line: Option<u32>,
    column: Option<u32>,
    hint: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonFile<'a> {
    file: &'a str,
    error: &'a str,
}

#[derive(Serialize, Default, Clone, Copy)]
struct Summary {
    files: usize,
    resources: usize,
    valid: usize,
    invalid: usize,
    skipped: usize,
    warnings: usize,
    errors: usize,
}
