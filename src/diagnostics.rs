//! The one diagnostic model of kiln, its code registry, and its renderers.
//!
//! Every finding of every stage is a [`Diagnostic`]: a stable [`Code`] (`KLN0101`), a
//! [`Severity`], a message, and where it is known the file, the byte span with its line and
//! column, and a hint. Stages *collect* diagnostics into a [`Diagnostics`] list and keep
//! going; nothing here is thrown. The list decides the exit status ([`ExitStatus`]).
//!
//! Two renderers read the same model, as in ruff: [`render_human`] (rustc style, through
//! miette, with a source excerpt) and [`render_json`] (a stable, documented structure for
//! machines). This module owns the codes and their meaning; it does not decide *when* a
//! code applies: that is the job of the stage that reports it.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// How bad a finding is.
///
/// `Fatal` is reserved for "kiln could not do its job" (I/O errors, an unusable
/// configuration, git failures): it turns the exit status into 2, like a usage error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look, but does not fail the run.
    Warning,
    /// A finding: the repository is wrong; exit status 1.
    Error,
    /// kiln could not do its job; exit status 2.
    Fatal,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Fatal => "fatal",
        })
    }
}

macro_rules! codes {
    ($($(#[doc = $doc:literal])+ $name:ident = $code:literal, $sev:ident;)+) => {
        /// The registry of stable diagnostic codes.
        ///
        /// A code never changes meaning once released; retired codes are not reused.
        /// `KLN00xx` input files, `KLN01xx` repository layout and images, `KLN013x`
        /// plaintext secrets, `KLN014x` secret files (`kiln secrets`), `KLN02xx` CODEOWNERS, `KLN03xx` rendering,
        /// `KLN04xx` validation of rendered output.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($(#[doc = $doc])+ $name,)+
        }

        impl Code {
            /// Every code, in registry order (used by the docs test and `--help`).
            pub const ALL: &'static [Code] = &[$(Code::$name,)+];

            /// The stable code as printed, e.g. `KLN0101`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$name => $code,)+ }
            }

            /// The severity a diagnostic of this code gets unless its reporter says otherwise.
            pub fn severity(self) -> Severity {
                match self { $(Code::$name => Severity::$sev,)+ }
            }

            /// One line saying what the code means (the first line of its doc comment).
            pub fn summary(self) -> &'static str {
                match self { $(Code::$name => first_doc_line(&[$($doc),+]),)+ }
            }
        }
    };
}

impl Code {
    /// The code printed as `s` (`KLN0101`), if there is one.
    pub fn from_code(s: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Code, D::Error> {
        let text = String::deserialize(deserializer)?;
        Code::from_code(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown diagnostic code {text}")))
    }
}

const fn first_doc_line(lines: &[&'static str]) -> &'static str {
    // The first doc line always exists: the macro requires at least one.
    let line = lines[0];
    // Trim the single leading space rustdoc keeps after `///`.
    match line.as_bytes() {
        [b' ', ..] => match line.split_at_checked(1) {
            Some((_, rest)) => rest,
            None => line,
        },
        _ => line,
    }
}

codes! {
    /// The file is not valid YAML.
    YamlSyntax = "KLN0001", Error;
    /// A mapping defines the same key twice.
    DuplicateKey = "KLN0002", Error;
    /// The file is not valid UTF-8.
    NotUtf8 = "KLN0003", Error;
    /// The file could not be read.
    Unreadable = "KLN0004", Fatal;
    /// kiln.yaml is not a valid project configuration.
    InvalidProject = "KLN0005", Fatal;
    /// A document does not have the shape its kind requires.
    InvalidDocument = "KLN0006", Error;
    /// The git repository or a revision could not be read.
    Git = "KLN0007", Fatal;
    /// The directory is not a kiln project, or a command's argument names nothing in it.
    Usage = "KLN0008", Fatal;
    /// A file kiln writes (such as the git hook) could not be written.
    WriteFailed = "KLN0009", Fatal;
    /// A build folder has no Dockerfile.
    MissingDockerfile = "KLN0101", Error;
    /// A build folder has no vars.yaml.
    MissingVars = "KLN0102", Error;
    /// A vars.yaml does not match its schema.
    InvalidVars = "KLN0103", Error;
    /// A base kustomization does not include the common resources.
    MissingCommon = "KLN0104", Error;
    /// A base kustomization declares no namespace.
    MissingNamespace = "KLN0105", Error;
    /// An overlay does not refer to an existing base.
    MissingBase = "KLN0106", Error;
    /// A path named by a kustomization does not exist.
    MissingPath = "KLN0107", Error;
    /// A path leaves the repository: `..` past the root, or an absolute path.
    PathEscapes = "KLN0108", Error;
    /// A symlink leaves the repository, dangles, or loops.
    BadSymlink = "KLN0109", Error;
    /// An app folder has no kustomization.
    MissingKustomization = "KLN0110", Error;
    /// A kustomization refers to a remote base, which kiln never fetches.
    RemoteReference = "KLN0111", Error;
    /// An image under an internal registry has no build folder.
    ImageNotBuilt = "KLN0120", Error;
    /// An image's tag differs from the tag its build folder declares.
    ImageTagMismatch = "KLN0121", Error;
    /// A built image is not used by any manifest.
    ImageUnused = "KLN0122", Warning;
    /// An image tag was reused although its build context changed.
    ImageTagReused = "KLN0123", Error;
    /// Two build folders declare the same image name.
    ImageDuplicate = "KLN0124", Error;
    /// A `secret-decrypted/` folder is not git-ignored.
    PlaintextNotIgnored = "KLN0130", Error;
    /// A file under `secret-decrypted/` is tracked or staged.
    PlaintextTracked = "KLN0131", Error;
    /// A Secret manifest holds values in clear.
    PlaintextSecret = "KLN0132", Error;
    /// A SOPS file holds values in clear that its rule says must be encrypted.
    PlaintextInSops = "KLN0133", Error;
    /// A file of the repository holds an age private key.
    PrivateKeyTracked = "KLN0134", Error;
    /// A `.sops.yaml` cannot be read or parsed, or has no usable creation rule for a file.
    SopsConfig = "KLN0140", Fatal;
    /// No available age key decrypts a SOPS file.
    SecretKeyMissing = "KLN0141", Fatal;
    /// A SOPS file does not decrypt: not SOPS, malformed, tampered, or its MAC does not match.
    SecretBroken = "KLN0142", Error;
    /// A secret cannot be encrypted: invalid plaintext, recipients or an unsupported feature.
    SecretUnencryptable = "KLN0143", Error;
    /// A plaintext copy has changes that are not encrypted yet, so decrypting would lose them.
    SecretPlaintextChanged = "KLN0144", Error;
    /// The editor of `kiln secrets edit` could not run or exited with an error.
    EditorFailed = "KLN0145", Fatal;
    /// The repository has no CODEOWNERS file.
    CodeownersMissing = "KLN0201", Error;
    /// The CODEOWNERS file is over GitHub's 3 MB limit.
    CodeownersTooLarge = "KLN0202", Error;
    /// A CODEOWNERS line is not valid.
    CodeownersSyntax = "KLN0203", Error;
    /// A CODEOWNERS pattern uses gitignore syntax GitHub does not support.
    CodeownersUnsupported = "KLN0204", Error;
    /// A CODEOWNERS owner is not a user, a team or an email address.
    CodeownersInvalidOwner = "KLN0205", Error;
    /// A CODEOWNERS line ends with an inline comment.
    CodeownersInlineComment = "KLN0206", Warning;
    /// A CODEOWNERS pattern is defined more than once.
    CodeownersDuplicate = "KLN0207", Warning;
    /// A CODEOWNERS pattern matches no file.
    CodeownersNoMatch = "KLN0208", Warning;
    /// A CODEOWNERS rule is fully shadowed by later rules.
    CodeownersShadowed = "KLN0209", Warning;
    /// An app folder is not owned by a specific CODEOWNERS rule.
    AppNotOwned = "KLN0210", Error;
    /// More than one CODEOWNERS file exists; GitHub reads only the first.
    CodeownersSeveral = "KLN0211", Warning;
    /// A kustomization cannot be rendered (invalid field, failed patch, conflicting ids).
    RenderFailed = "KLN0301", Error;
    /// A kustomization uses something kiln deliberately does not do (remote bases, plugins, Helm charts).
    RenderUnsupported = "KLN0302", Error;
    /// Kustomizations include each other in a cycle.
    RenderCycle = "KLN0303", Error;
    /// The rendered output would contain a Secret in plaintext: configure re-encryption.
    PlaintextOutput = "KLN0304", Error;
    /// A rendered resource does not match the schema of its kind (Kubernetes or CRD).
    SchemaViolation = "KLN0401", Error;
    /// A resource uses an apiVersion/kind the environment's Kubernetes version does not serve.
    ApiNotServed = "KLN0402", Error;
    /// A resource uses an apiVersion that is deprecated in the environment's Kubernetes version.
    ApiDeprecated = "KLN0403", Warning;
    /// A custom resource has no schema: no CustomResourceDefinition defines its kind.
    UnknownCustomResource = "KLN0404", Warning;
    /// A CustomResourceDefinition's schema cannot be converted or compiled.
    BrokenCrdSchema = "KLN0405", Error;
    /// Two resources of one environment have the same group, kind, namespace and name.
    DuplicateResource = "KLN0406", Error;
    /// A namespaced resource has no namespace after rendering.
    ResourceWithoutNamespace = "KLN0407", Error;
    /// A workload references a ConfigMap, Secret, ServiceAccount or PVC rendered nowhere.
    DanglingReference = "KLN0408", Warning;
    /// A resource has no apiVersion, kind or metadata.name, or is not a mapping.
    MissingIdentity = "KLN0409", Error;
    /// The Kubernetes version to validate against is unknown, or its schemas do not load.
    KubernetesVersion = "KLN0410", Fatal;
    /// A document of a schema file is not a CustomResourceDefinition.
    InvalidSchemaFile = "KLN0411", Error;
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where in a file a diagnostic points: a byte range plus its 1-based line and column. It is
/// the YAML layer's span, so a node's position needs no conversion.
pub use crate::yaml::Span;

impl Span {
    /// The span of `start..end` in `text`, with its line and column computed.
    pub fn in_text(text: &str, start: usize, end: usize) -> Span {
        let start = start.min(text.len());
        let (line, col) = crate::yaml::line_col(text, start);
        Span {
            start,
            end: end.clamp(start, text.len()),
            line,
            col,
        }
    }
}

/// One finding. Its serde form is kiln's own (the on-disk cache), not the documented JSON
/// output, which [`render_json`] writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// How bad it is; defaults to the code's severity.
    pub severity: Severity,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
    /// The project-relative file it concerns, if any.
    pub file: Option<String>,
    /// Where in `file`, if known.
    pub span: Option<Span>,
    /// A short label shown under the excerpt.
    pub label: Option<String>,
    /// What to do about it.
    pub hint: Option<String>,
    /// The file holds secrets: renderers print where, never an excerpt of what.
    pub sensitive: bool,
}

/// Building diagnostics
impl Diagnostic {
    /// A diagnostic with the code's default severity and no location.
    pub fn new(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            file: None,
            span: None,
            label: None,
            hint: None,
            sensitive: false,
        }
    }

    /// Points the diagnostic at a file.
    pub fn in_file(mut self, file: impl Into<String>) -> Diagnostic {
        self.file = Some(file.into());
        self
    }

    /// Marks the file as holding secrets: no source excerpt is ever shown for it.
    pub fn sensitive(mut self) -> Diagnostic {
        self.sensitive = true;
        self
    }

    /// Points the diagnostic at a span of its file.
    pub fn at(mut self, span: impl Into<Span>) -> Diagnostic {
        self.span = Some(span.into());
        self
    }

    /// Adds the label printed under the excerpt.
    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// Overrides the severity.
    pub fn severity(mut self, severity: Severity) -> Diagnostic {
        self.severity = severity;
        self
    }

    /// The key diagnostics are sorted and deduplicated by: file, position, code, message.
    fn sort_key(&self) -> (Option<&str>, usize, Code, &str) {
        (
            self.file.as_deref(),
            self.span.map_or(0, |s| s.start),
            self.code,
            &self.message,
        )
    }
}

/// The exit status of a command, as documented in `--help` and SPEC section 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    /// 0: nothing wrong (warnings allowed).
    Success,
    /// 1: findings: validation errors, or a non-empty diff with `--exit-code`.
    Failure,
    /// 2: kiln could not do its job: usage, configuration, I/O, git.
    Error,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Error => 2,
        }
    }
}

/// A collected list of diagnostics.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty list.
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    /// Adds one diagnostic.
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    /// Adds many.
    pub fn extend(&mut self, ds: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(ds);
    }

    /// The diagnostics, in the order they are shown after [`Diagnostics::finish`].
    pub fn items(&self) -> &[Diagnostic] {
        &self.items
    }

    /// Sorts by file and position and removes exact duplicates, so output does not depend
    /// on thread scheduling or on how many apps reached the same shared file.
    pub fn finish(&mut self) {
        self.items.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.items.dedup();
    }

    /// How many diagnostics have exactly this severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.items.iter().filter(|d| d.severity == severity).count()
    }

    /// The exit status these diagnostics call for.
    pub fn exit_status(&self) -> ExitStatus {
        match self.items.iter().map(|d| d.severity).max() {
            Some(Severity::Fatal) => ExitStatus::Error,
            Some(Severity::Error) => ExitStatus::Failure,
            _ => ExitStatus::Success,
        }
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// Gives a renderer the text of a file a diagnostic points into.
pub trait SourceLookup {
    /// The text of `path`, if it can be had.
    fn source(&self, path: &str) -> Option<Arc<str>>;
}

impl<F: Fn(&str) -> Option<Arc<str>>> SourceLookup for F {
    fn source(&self, path: &str) -> Option<Arc<str>> {
        self(path)
    }
}

/// Renders diagnostics for people, rustc style, with a source excerpt where there is one.
///
/// `color` selects ANSI colours; the caller decides it from `--color` and the terminal.
pub fn render_human(diags: &Diagnostics, sources: &dyn SourceLookup, color: bool) -> String {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_links(false)
        .with_context_lines(1)
        .with_width(100);
    let mut out = String::new();
    for (i, d) in diags.items().iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let source = d.file.as_deref().filter(|_| !d.sensitive).and_then(|f| {
            sources.source(f).map(|text| NamedText {
                name: f.to_string(),
                text,
            })
        });
        let report = MietteView { d, source };
        if handler.render_report(&mut out, &report).is_err() {
            // Rendering into a String cannot fail short of a formatter bug; fall back to
            // one plain line rather than losing the finding.
            out.push_str(&plain_line(d));
            out.push('\n');
        }
    }
    let (errors, warnings) = (
        diags.count(Severity::Error) + diags.count(Severity::Fatal),
        diags.count(Severity::Warning),
    );
    if errors + warnings > 0 {
        out.push_str(&format!(
            "{} {}, {} {}\n",
            errors,
            if errors == 1 { "error" } else { "errors" },
            warnings,
            if warnings == 1 { "warning" } else { "warnings" },
        ));
    }
    out
}

/// One line per diagnostic: `file:line:col: severity[CODE]: message`.
fn plain_line(d: &Diagnostic) -> String {
    let mut s = String::new();
    if let Some(f) = &d.file {
        s.push_str(f);
        if let Some(sp) = d.span {
            s.push_str(&format!(":{}:{}", sp.line, sp.col));
        }
        s.push_str(": ");
    }
    s.push_str(&format!("{}[{}]: {}", d.severity, d.code, d.message));
    s
}

/// Adapts a [`Diagnostic`] to miette's report trait for rendering only.
struct MietteView<'a> {
    d: &'a Diagnostic,
    source: Option<NamedText>,
}

impl fmt::Debug for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.d, f)
    }
}

impl fmt::Display for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.d.code, self.d.message)?;
        // Without an excerpt miette prints no location, so name the file in the headline.
        if self.excerpt().is_none()
            && let Some(file) = &self.d.file
        {
            write!(f, "\n  --> {file}")?;
            if let Some(sp) = self.d.span {
                write!(f, ":{}:{}", sp.line, sp.col)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for MietteView<'_> {}

impl MietteView<'_> {
    fn excerpt(&self) -> Option<(&NamedText, Span)> {
        let span = self.d.span?;
        let src = self.source.as_ref()?;
        (span.start <= src.text.len() && span.end <= src.text.len()).then_some((src, span))
    }
}

/// A source text handed to miette; owns an `Arc` so no copy of the file is made.
struct NamedText {
    name: String,
    text: Arc<str>,
}

impl miette::SourceCode for NamedText {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}

impl miette::Diagnostic for MietteView<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Warning => miette::Severity::Warning,
            Severity::Error | Severity::Fatal => miette::Severity::Error,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.d
            .hint
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.excerpt()
            .map(|(src, _)| src as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let (_, span) = self.excerpt()?;
        let label = miette::LabeledSpan::new_primary_with_span(
            self.d.label.clone(),
            (span.start, span.end.saturating_sub(span.start)),
        );
        Some(Box::new(std::iter::once(label)))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        None
    }
}

/// Renders diagnostics as JSON for machines.
///
/// The structure is stable: an object `{"diagnostics": [...], "summary": {...}}` where
/// each diagnostic has `code`, `severity` (`warning`, `error`, `fatal`), `message`, `file`
/// (project-relative or null), `line` and `column` (1-based or null), `end_line`,
/// `end_column`, `excerpt` (the source lines of the span, or null; always null for files
/// that hold secrets) and `hint` (or null).
/// `summary` counts `errors` (including fatal ones) and `warnings`.
pub fn render_json(diags: &Diagnostics, sources: &dyn SourceLookup) -> String {
    #[derive(Serialize)]
    struct Item<'a> {
        code: &'static str,
        severity: Severity,
        message: &'a str,
        file: Option<&'a str>,
        line: Option<u32>,
        column: Option<u32>,
        end_line: Option<u32>,
        end_column: Option<u32>,
        excerpt: Option<String>,
        hint: Option<&'a str>,
    }
    #[derive(Serialize)]
    struct Summary {
        errors: usize,
        warnings: usize,
    }
    #[derive(Serialize)]
    struct Doc<'a> {
        diagnostics: Vec<Item<'a>>,
        summary: Summary,
    }
    let diagnostics = diags
        .items()
        .iter()
        .map(|d| {
            let source = d
                .file
                .as_deref()
                .filter(|_| !d.sensitive)
                .and_then(|f| sources.source(f));
            let (end_line, end_column, excerpt) = match (d.span, &source) {
                (Some(sp), Some(src)) if sp.end <= src.len() => {
                    let (el, ec) = crate::yaml::line_col(src, sp.end);
                    (Some(el), Some(ec), Some(excerpt_lines(src, sp)))
                }
                _ => (None, None, None),
            };
            Item {
                code: d.code.as_str(),
                severity: d.severity,
                message: &d.message,
                file: d.file.as_deref(),
                line: d.span.map(|s| s.line),
                column: d.span.map(|s| s.col),
                end_line,
                end_column,
                excerpt,
                hint: d.hint.as_deref(),
            }
        })
        .collect();
    let doc = Doc {
        diagnostics,
        summary: Summary {
            errors: diags.count(Severity::Error) + diags.count(Severity::Fatal),
            warnings: diags.count(Severity::Warning),
        },
    };
    // Serialising plain structs of strings and integers cannot fail.
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// The whole source lines a span touches, without the final newline.
fn excerpt_lines(src: &str, span: Span) -> String {
    let start = src[..span.start.min(src.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let end_from = span.end.max(span.start).min(src.len());
    let end = src[end_from..]
        .find('\n')
        .map_or(src.len(), |i| end_from + i);
    src.get(start..end).unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(s.len() == 7 && s.starts_with("KLN"), "{s}");
            assert!(s[3..].bytes().all(|b| b.is_ascii_digit()), "{s}");
            assert!(!code.summary().is_empty() && !code.summary().starts_with(' '));
        }
    }

    #[test]
    fn exit_status_follows_the_worst_severity() {
        let mut d = Diagnostics::new();
        assert_eq!(d.exit_status(), ExitStatus::Success);
        d.push(Diagnostic::new(Code::ImageUnused, "w"));
        assert_eq!(d.exit_status(), ExitStatus::Success);
        d.push(Diagnostic::new(Code::MissingDockerfile, "e"));
        assert_eq!(d.exit_status(), ExitStatus::Failure);
        d.push(Diagnostic::new(Code::Unreadable, "f"));
        assert_eq!(d.exit_status(), ExitStatus::Error);
    }

    #[test]
    fn excerpt_takes_whole_lines() {
        let src = "a: 1\nbb: 2\nc: 3\n";
        let sp = Span::in_text(src, 5, 7);
        assert_eq!((sp.line, sp.col), (2, 1));
        assert_eq!(excerpt_lines(src, sp), "bb: 2");
    }
}
