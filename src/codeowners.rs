//! GitHub `CODEOWNERS`: parsing, path matching and ownership resolution.
//!
//! This module owns the *semantics* of a `CODEOWNERS` file as GitHub applies them:
//!
//! * where GitHub looks for the file ([`LOCATIONS`], [`locate`]) and its size limit
//!   ([`MAX_SIZE`]);
//! * line syntax: a pattern, then owners (`@user`, `@org/team`, e-mail), `#` comments;
//!   lines GitHub would reject are reported as [`Finding`]s and skipped, as GitHub skips
//!   them;
//! * gitignore-style patterns with GitHub's exceptions (no `!`, no `[ ]`, no `\#`),
//!   compiled once into segment lists so that matching never allocates;
//! * "last matching rule wins" resolution for one path ([`CodeOwners::owner_of`]) and for
//!   a whole repository ([`CodeOwners::resolve_all`]), which also finds rules that match
//!   no file and rules that are shadowed by later rules.
//!
//! It does **not** read files from disk or git, decide severities, render diagnostics, or
//! check that owners exist and have write access (that needs the GitHub API; an offline
//! allowlist of known owners belongs to the caller). Paths are repo-relative,
//! `/`-separated, without a leading `/`, and compared case-sensitively, as on GitHub.
//!
//! GitHub's parser is closed source; where its behaviour is undocumented this module
//! decides as follows:
//!
//! * a `#` token after the pattern starts a comment (hmarr/codeowners and
//!   codeowners-validator do the same) and is reported as a portability warning;
//! * `\ ` escapes a space in a pattern; any other non-space character is accepted;
//! * a line with a syntactically invalid owner is skipped entirely, like any other line
//!   GitHub reports as an error;
//! * a line consisting only of owners (a wrapped continuation line) is reported and
//!   skipped: GitHub would read it as a pattern without owners that matches nothing.
//!
//! ```
//! use kiln::codeowners::parse;
//!
//! let (owners, findings) = parse("* @org/platform\n/apps/web/ @org/web\n");
//! assert!(findings.is_empty());
//! let rule = owners.owner_of("apps/web/deploy.yaml").map(|rule| rule.line);
//! assert_eq!(rule, Some(2));
//! ```

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

/// GitHub does not load a `CODEOWNERS` file of this size (in bytes) or larger.
pub const MAX_SIZE: usize = 3 * 1024 * 1024;

/// Where GitHub looks for `CODEOWNERS`, in precedence order: the first that exists wins.
pub const LOCATIONS: [&str; 3] = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];

/// Returns the [`LOCATIONS`] for which `exists` is true, in precedence order.
///
/// The first entry is the file GitHub uses; any further entries are ignored by GitHub and
/// worth a warning, since edits to them have no effect.
pub fn locate(exists: impl Fn(&str) -> bool) -> Vec<&'static str> {
    LOCATIONS.into_iter().filter(|path| exists(path)).collect()
}

/// True if GitHub refuses to load a `CODEOWNERS` file of `len` bytes (see [`MAX_SIZE`]).
pub fn exceeds_size_limit(len: usize) -> bool {
    len >= MAX_SIZE
}

/// A parsed `CODEOWNERS` file: the rules GitHub applies, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeOwners {
    /// Valid rules in file order; lines GitHub skips are not included.
    pub rules: Vec<Rule>,
}

/// One `pattern owner...` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// 1-based line number in the file.
    pub line: usize,
    /// 1-based column (in characters) of the pattern.
    pub column: usize,
    /// The pattern exactly as written, escapes included (`path\ with\ space`).
    pub pattern: String,
    /// Byte range of the pattern in the file text.
    pub pattern_span: Range<usize>,
    /// Owners in the order written; empty means "matching files have no owner".
    pub owners: Vec<Owner>,
    matcher: Matcher,
}

/// One owner token of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The owner exactly as written (`@user`, `@org/team`, `user@example.com`).
    pub text: String,
    /// What kind of owner the text denotes.
    pub kind: OwnerKind,
    /// Byte range of the owner in the file text.
    pub span: Range<usize>,
}

/// The three owner forms GitHub accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OwnerKind {
    /// `@username`.
    User,
    /// `@org/team-slug`.
    Team,
    /// An e-mail address registered to a GitHub account.
    Email,
}

/// A problem found in a `CODEOWNERS` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What kind of problem this is.
    pub kind: FindingKind,
    /// Byte range of the offending token (pattern, owner or comment) in the file text.
    pub span: Range<usize>,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters, of the start of `span`.
    pub column: usize,
    /// Lowercase description without a trailing period.
    pub message: String,
    /// What to do about it, when there is something useful to say.
    pub hint: Option<String>,
}

/// The kinds of [`Finding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingKind {
    /// Invalid line or pattern (`***`, `/` alone, `a//b`, a lone trailing `\`, a line of
    /// owners without a pattern). GitHub skips the line.
    Syntax,
    /// gitignore syntax GitHub does not support: leading `!`, `[ ]` ranges, leading `\#`.
    /// GitHub reports an error and skips the line.
    UnsupportedSyntax,
    /// An owner that is not `@user`, `@org/team` or an e-mail address. The line is skipped,
    /// as GitHub skips lines with invalid syntax.
    InvalidOwner,
    /// A `#` comment after the pattern. Accepted (the rest of the line is ignored), but
    /// GitHub's documentation does not describe it, so it is a portability warning.
    InlineComment,
    /// The same pattern string appears on an earlier line; the earlier rule never applies.
    DuplicatePattern,
    /// The rule matches no file of the repository.
    NoMatchingFile,
    /// The rule matches files, but every one of them is decided by a later rule.
    Shadowed,
}

impl FindingKind {
    /// Stable kebab-case name, for diagnostic codes and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Syntax => "syntax",
            FindingKind::UnsupportedSyntax => "unsupported-syntax",
            FindingKind::InvalidOwner => "invalid-owner",
            FindingKind::InlineComment => "inline-comment",
            FindingKind::DuplicatePattern => "duplicate-pattern",
            FindingKind::NoMatchingFile => "no-matching-file",
            FindingKind::Shadowed => "shadowed",
        }
    }

    /// True for the kinds that made [`parse`] skip the line, as GitHub does; these are
    /// errors GitHub itself shows on the file. The other kinds are advisory.
    pub fn skips_line(self) -> bool {
        matches!(
            self,
            FindingKind::Syntax | FindingKind::UnsupportedSyntax | FindingKind::InvalidOwner
        )
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

/// The outcome of [`CodeOwners::resolve_all`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    /// For each input file, the index into [`CodeOwners::rules`] of the rule that decides
    /// its owners (the last matching rule; it may have no owners), or `None` if no rule
    /// matches.
    pub decided_by: Vec<Option<usize>>,
    /// [`FindingKind::NoMatchingFile`] and [`FindingKind::Shadowed`] findings, in rule order.
    pub findings: Vec<Finding>,
}

/// Parses a `CODEOWNERS` file. Never fails: lines GitHub would reject become findings and
/// are left out of [`CodeOwners::rules`], the way GitHub skips invalid lines.
pub fn parse(text: &str) -> (CodeOwners, Vec<Finding>) {
    let mut rules: Vec<Rule> = Vec::new();
    let mut findings = Vec::new();
    // Pattern string -> line of its first definition, for duplicate detection.
    let mut first_definition: HashMap<&str, usize> = HashMap::new();
    let mut line_start = 0;
    for (index, raw) in text.split('\n').enumerate() {
        let mut line = Line {
            text: raw.strip_suffix('\r').unwrap_or(raw),
            start: line_start,
            number: index + 1,
        };
        line_start += raw.len() + 1;
        if index == 0 {
            // Editors on Windows may save a byte-order mark; it is not part of the pattern.
            if let Some(rest) = line.text.strip_prefix('\u{feff}') {
                line.text = rest;
                line.start += '\u{feff}'.len_utf8();
            }
        }
        let Some(rule) = parse_line(&line, &mut findings) else {
            continue;
        };
        let pattern = &text[rule.pattern_span.clone()];
        if let Some(&first) = first_definition.get(pattern) {
            findings.push(Finding {
                kind: FindingKind::DuplicatePattern,
                span: rule.pattern_span.clone(),
                line: rule.line,
                column: rule.column,
                message: format!("pattern `{pattern}` is already defined on line {first}"),
                hint: Some(format!(
                    "the rule on line {first} never applies because this one wins; \
                     keep one line with all owners"
                )),
            });
        } else {
            first_definition.insert(pattern, rule.line);
        }
        rules.push(rule);
    }
    (CodeOwners { rules }, findings)
}

impl CodeOwners {
    /// The rule that decides the owners of `path`: the last rule that matches it. The rule
    /// may have no owners, which means the file has no owner. `None` if no rule matches.
    pub fn owner_of(&self, path: &str) -> Option<&Rule> {
        self.rules.iter().rev().find(|rule| rule.matches(path))
    }

    /// Resolves the owners of every file of a repository and reports rules that match no
    /// file or are shadowed.
    ///
    /// Cost is about O(files × path depth) rather than O(files × rules): each rule is
    /// indexed by one literal path segment it requires, so a file is only tested against
    /// the rules indexed by one of its own path components plus the few rules without
    /// any literal segment (such as `*` or `*.md`).
    pub fn resolve_all(&self, files: &[&str]) -> Resolution {
        let index = RuleIndex::new(&self.rules);
        let count = self.rules.len();
        let mut decides_some = vec![false; count];
        let mut matches_some = vec![false; count];
        // For a rule that matched a file it did not decide: (file, deciding rule), to give
        // a concrete example in the shadowing message.
        let mut overridden_at: Vec<Option<(usize, usize)>> = vec![None; count];
        let mut decided_by = Vec::with_capacity(files.len());
        let mut candidates = Candidates::new(&index);
        for (file_index, path) in files.iter().enumerate() {
            let mut decider = None;
            // Candidates come in descending rule order: the first match decides. Lower rules
            // only need testing until we know they match at least one file.
            for &rule_index in candidates.of(path) {
                match decider {
                    None => {
                        if self.rules[rule_index].matches(path) {
                            decider = Some(rule_index);
                            decides_some[rule_index] = true;
                            matches_some[rule_index] = true;
                        }
                    }
                    Some(winner) => {
                        if !matches_some[rule_index] && self.rules[rule_index].matches(path) {
                            matches_some[rule_index] = true;
                            overridden_at[rule_index] = Some((file_index, winner));
                        }
                    }
                }
            }
            decided_by.push(decider);
        }

        let mut findings = Vec::new();
        for (rule_index, rule) in self.rules.iter().enumerate() {
            if !matches_some[rule_index] {
                let message = format!("pattern `{}` does not match any file", rule.pattern);
                findings.push(rule.finding(
                    FindingKind::NoMatchingFile,
                    message,
                    "the files may have been moved or deleted; fix or remove the rule",
                ));
            } else if !decides_some[rule_index] {
                let example = overridden_at[rule_index]
                    .map(|(file, winner)| {
                        let line = self.rules[winner].line;
                        format!(" (e.g. `{}` is decided by line {line})", files[file])
                    })
                    .unwrap_or_default();
                let message = format!(
                    "pattern `{}` is shadowed: every file it matches is decided by a later \
                     rule{example}",
                    rule.pattern
                );
                findings.push(rule.finding(
                    FindingKind::Shadowed,
                    message,
                    "the last matching rule wins; move this rule below the broader ones or \
                     remove it",
                ));
            }
        }
        Resolution {
            decided_by,
            findings,
        }
    }
}

impl Rule {
    /// True if the rule's pattern matches `path` (repo-relative, `/`-separated, no leading
    /// `/`). Does not allocate.
    pub fn matches(&self, path: &str) -> bool {
        self.matcher.matches(path)
    }

    /// True if the pattern matches every path (`*`, `**`, `/**`, `**/*`, ...), i.e. the rule
    /// is a catch-all default.
    pub fn is_catch_all(&self) -> bool {
        self.matcher.is_catch_all()
    }

    fn finding(&self, kind: FindingKind, message: String, hint: &str) -> Finding {
        Finding {
            kind,
            span: self.pattern_span.clone(),
            line: self.line,
            column: self.column,
            message,
            hint: Some(hint.to_owned()),
        }
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

// ---------------------------------------------------------------------------------------
// Line parsing

/// One line of the file, without its line terminator.
struct Line<'t> {
    text: &'t str,
    /// Byte offset of `text` in the file.
    start: usize,
    /// 1-based line number.
    number: usize,
}

impl Line<'_> {
    fn finding(
        &self,
        kind: FindingKind,
        range: Range<usize>,
        message: String,
        hint: &str,
    ) -> Finding {
        Finding {
            kind,
            column: self.column(range.start),
            span: self.start + range.start..self.start + range.end,
            line: self.number,
            message,
            hint: Some(hint.to_owned()),
        }
    }

    /// 1-based column in characters of byte offset `at` in the line.
    fn column(&self, at: usize) -> usize {
        self.text[..at].chars().count() + 1
    }
}

/// Parses one line; returns the rule if the line is a valid rule, pushing findings for
/// anything wrong with it.
fn parse_line(line: &Line<'_>, findings: &mut Vec<Finding>) -> Option<Rule> {
    let pattern_range = next_token(line.text, 0, true)?;
    let pattern = &line.text[pattern_range.clone()];
    if pattern.starts_with('#') {
        return None;
    }
    // Findings of this line go in column order; remember where they start.
    let first_finding = findings.len();
    let matcher = match Matcher::compile(pattern) {
        Ok(matcher) => Some(matcher),
        Err(error) => {
            let range = pattern_range.clone();
            findings.push(line.finding(error.kind, range, error.message, error.hint));
            None
        }
    };

    let mut owners = Vec::new();
    let mut owners_valid = true;
    let mut at = pattern_range.end;
    while let Some(range) = next_token(line.text, at, false) {
        at = range.end;
        let token = &line.text[range.clone()];
        if token.starts_with('#') {
            let end = line.text.trim_end().len();
            findings.push(line.finding(
                FindingKind::InlineComment,
                range.start..end,
                "inline comment after a pattern".to_owned(),
                "GitHub's documentation only describes comment lines, and some tools read \
                 `#...` as owners; put the comment on its own line",
            ));
            break;
        }
        match classify_owner(token) {
            Ok(kind) => owners.push(Owner {
                text: token.to_owned(),
                kind,
                span: line.start + range.start..line.start + range.end,
            }),
            Err((message, hint)) => {
                findings.push(line.finding(FindingKind::InvalidOwner, range, message, hint));
                owners_valid = false;
            }
        }
    }

    // A line holding only an owner is almost always the continuation of the line above;
    // GitHub would read it as a pattern without owners that matches nothing.
    let (Some(matcher), true) = (matcher, owners_valid) else {
        return None;
    };
    if owners.is_empty() && pattern.starts_with('@') && classify_owner(pattern).is_ok() {
        let finding = line.finding(
            FindingKind::Syntax,
            pattern_range,
            format!("line has owner `{pattern}` but no pattern"),
            "GitHub reads the first word of a line as the pattern, so this line does nothing; \
             list the owners on one line, after their pattern",
        );
        findings.insert(first_finding, finding);
        return None;
    }

    Some(Rule {
        line: line.number,
        column: line.column(pattern_range.start),
        pattern: pattern.to_owned(),
        pattern_span: line.start + pattern_range.start..line.start + pattern_range.end,
        owners,
        matcher,
    })
}

/// The byte range of the next whitespace-separated token at or after `from`. With
/// `escapes`, a backslash protects the next character, so `a\ b` is one token.
fn next_token(text: &str, from: usize, escapes: bool) -> Option<Range<usize>> {
    let bytes = text.as_bytes();
    let mut at = from;
    while at < bytes.len() && bytes[at].is_ascii_whitespace() {
        at += 1;
    }
    if at >= bytes.len() {
        return None;
    }
    let start = at;
    while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
        // Stepping over the escaped byte may land inside a multi-byte character; that is
        // harmless because continuation bytes are never ASCII whitespace, so the token
        // still ends on a character boundary.
        at += if escapes && bytes[at] == b'\\' && at + 1 < bytes.len() {
            2
        } else {
            1
        };
    }
    Some(start..at)
}

/// Classifies an owner token, or explains why it is not one: (message, hint).
fn classify_owner(token: &str) -> Result<OwnerKind, (String, &'static str)> {
    const SKIPPED: &str = "GitHub skips lines with invalid owners";
    if let Some(name) = token.strip_prefix('@') {
        return match name.split_once('/') {
            None if is_login(name) => Ok(OwnerKind::User),
            None => Err((
                format!("owner `{token}` is not a valid GitHub user name"),
                "user names contain letters, digits and `-`, and do not start or end with \
                 `-`; GitHub skips lines with invalid owners",
            )),
            Some((org, team)) if is_login(org) && is_team_slug(team) => Ok(OwnerKind::Team),
            Some(_) => Err((
                format!("owner `{token}` is not a valid team reference"),
                "teams are written `@org/team-slug`; GitHub skips lines with invalid owners",
            )),
        };
    }
    if token.contains('@') {
        return if is_email(token) {
            Ok(OwnerKind::Email)
        } else {
            Err((
                format!("owner `{token}` is not a valid e-mail address"),
                SKIPPED,
            ))
        };
    }
    Err((
        format!("owner `{token}` is not a user, team or e-mail address"),
        "write users as `@name`, teams as `@org/team`; GitHub skips lines with invalid owners",
    ))
}

/// GitHub logins: letters, digits and `-`, not at either end. `_` is accepted too because
/// Enterprise Managed Users are named `login_shortcode`.
fn is_login(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Team slugs are derived from team names: letters, digits, `-`, `_` and `.` survive.
fn is_team_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A deliberately loose check (`local@domain.tld`): GitHub only needs an address that is
/// registered to an account, which cannot be verified offline anyway.
fn is_email(token: &str) -> bool {
    let Some((local, domain)) = token.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain.contains('.')
        && !domain.contains('/')
}

// ---------------------------------------------------------------------------------------
// Pattern compilation and matching

/// A compiled pattern: path segments to match component by component, then what may
/// follow the last one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Matcher {
    segments: Vec<Segment>,
    tail: Tail,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// A component equal to this text (escapes resolved).
    Literal(String),
    /// A component matching a wildcard pattern.
    Glob(Vec<GlobToken>),
    /// `**` before the last segment: zero or more directories.
    AnyDirs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum GlobToken {
    Literal(String),
    /// `?`: exactly one character.
    AnyChar,
    /// `*`: any run of characters (components never contain `/`).
    AnyRun,
}

/// What may follow the last segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// Nothing: the path ends there (the last segment was exactly `*`).
    End,
    /// Anything, including nothing: the last segment names a file or a directory.
    AnyBelow,
    /// At least one more component: trailing `/` or trailing `**`.
    SomeBelow,
}

/// Why a pattern cannot be compiled.
struct PatternError {
    kind: FindingKind,
    message: String,
    hint: &'static str,
}

/// A pattern character after escape processing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PatternChar {
    Literal(char),
    Star,
    Question,
}

impl Matcher {
    fn compile(pattern: &str) -> Result<Matcher, PatternError> {
        let unsupported = |message: String, hint| PatternError {
            kind: FindingKind::UnsupportedSyntax,
            message,
            hint,
        };
        let syntax = |message: String, hint| PatternError {
            kind: FindingKind::Syntax,
            message,
            hint,
        };
        if pattern.starts_with('!') {
            return Err(unsupported(
                format!("negated pattern `{pattern}` is not supported"),
                "GitHub reports an error and skips this line; to take ownership away from \
                 files, add a later rule for them without owners",
            ));
        }
        if pattern.starts_with("\\#") {
            return Err(unsupported(
                format!("escaping a leading `#` in `{pattern}` is not supported"),
                "GitHub reports an error and skips this line; a `?` in place of the `#` \
                 matches it (and any other character)",
            ));
        }

        // Split on unescaped `/`, resolving escapes, so `\*` is a literal star.
        let mut raw_segments: Vec<Vec<PatternChar>> = vec![Vec::new()];
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            let current = raw_segments
                .last_mut()
                .expect("raw_segments starts non-empty and only grows");
            match c {
                '\\' => match chars.next() {
                    Some(escaped) => current.push(PatternChar::Literal(escaped)),
                    None => {
                        return Err(syntax(
                            format!("pattern `{pattern}` ends with a lone `\\`"),
                            "a backslash escapes the next character; remove it",
                        ));
                    }
                },
                '/' => raw_segments.push(Vec::new()),
                '*' => current.push(PatternChar::Star),
                '?' => current.push(PatternChar::Question),
                '[' | ']' => {
                    return Err(unsupported(
                        format!("character ranges (`[...]`) in `{pattern}` are not supported"),
                        "GitHub reports an error and skips this line; list the files \
                         separately or use `?` or `*`",
                    ));
                }
                other => current.push(PatternChar::Literal(other)),
            }
        }

        if raw_segments.iter().all(Vec::is_empty) {
            return Err(syntax(
                format!("pattern `{pattern}` never matches anything"),
                "did you mean `*` (every file)?",
            ));
        }
        let leading_slash = raw_segments.first().is_some_and(Vec::is_empty);
        if leading_slash {
            raw_segments.remove(0);
        }
        let trailing_slash = raw_segments.last().is_some_and(Vec::is_empty);
        if trailing_slash {
            raw_segments.pop();
        }
        if raw_segments.iter().any(Vec::is_empty) {
            return Err(syntax(
                format!("pattern `{pattern}` contains an empty path segment (`//`)"),
                "paths never contain `//`, so this rule could never match; remove the extra `/`",
            ));
        }
        if raw_segments.iter().any(|segment| {
            segment
                .windows(3)
                .any(|w| w.iter().all(|c| *c == PatternChar::Star))
        }) {
            return Err(syntax(
                format!("pattern `{pattern}` contains `***`"),
                "use `*` within a path segment or `**` for any number of directories",
            ));
        }

        // A `/` at the start or in the middle anchors the pattern to the root; otherwise it
        // may match at any depth, as if it started with `**/`.
        let anchored = leading_slash || raw_segments.len() > 1;
        let last_is_lone_star = raw_segments
            .last()
            .is_some_and(|segment| segment.as_slice() == [PatternChar::Star]);
        let mut segments = Vec::with_capacity(raw_segments.len() + 1);
        if !anchored {
            segments.push(Segment::AnyDirs);
        }
        for raw in &raw_segments {
            let segment = Segment::from_chars(raw);
            // `a/**/**/b` means the same as `a/**/b`; collapsing keeps matching linear.
            if !(segment == Segment::AnyDirs && segments.last() == Some(&Segment::AnyDirs)) {
                segments.push(segment);
            }
        }

        let mut tail = if trailing_slash {
            Tail::SomeBelow
        } else if last_is_lone_star {
            Tail::End
        } else {
            Tail::AnyBelow
        };
        // A final `**` means "one or more components below"; so do leading directories
        // followed by that, hence every trailing `**` folds into the tail. (A final `**`
        // is never a lone `*`, so `tail` cannot be `End` here.)
        if segments.last() == Some(&Segment::AnyDirs) {
            segments.pop();
            tail = Tail::SomeBelow;
            while segments.last() == Some(&Segment::AnyDirs) {
                segments.pop();
            }
        }
        Ok(Matcher { segments, tail })
    }

    fn matches(&self, path: &str) -> bool {
        !path.is_empty() && match_segments(&self.segments, self.tail, path)
    }

    fn is_catch_all(&self) -> bool {
        let (leading_any, rest) = match self.segments.split_first() {
            Some((Segment::AnyDirs, rest)) => (true, rest),
            _ => (false, self.segments.as_slice()),
        };
        match (rest, self.tail) {
            // `**`, `/**`: one or more components, i.e. any path.
            ([], Tail::SomeBelow) => true,
            // `*`, `**/*`: any directories, then any final component.
            ([segment], Tail::End) => leading_any && segment.is_lone_star(),
            _ => false,
        }
    }

    /// The literal segments a matching path must contain as whole components.
    fn literals(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Literal(text) => Some(text.as_str()),
            _ => None,
        })
    }
}

impl Segment {
    fn from_chars(raw: &[PatternChar]) -> Segment {
        if raw == [PatternChar::Star, PatternChar::Star] {
            return Segment::AnyDirs;
        }
        let mut tokens: Vec<GlobToken> = Vec::new();
        for c in raw {
            match (c, tokens.last_mut()) {
                (PatternChar::Literal(c), Some(GlobToken::Literal(text))) => text.push(*c),
                (PatternChar::Literal(c), _) => tokens.push(GlobToken::Literal(c.to_string())),
                // gitignore: `**` inside a segment is an ordinary `*`.
                (PatternChar::Star, Some(GlobToken::AnyRun)) => {}
                (PatternChar::Star, _) => tokens.push(GlobToken::AnyRun),
                (PatternChar::Question, _) => tokens.push(GlobToken::AnyChar),
            }
        }
        match tokens.as_mut_slice() {
            [GlobToken::Literal(text)] => Segment::Literal(std::mem::take(text)),
            _ => Segment::Glob(tokens),
        }
    }

    fn is_lone_star(&self) -> bool {
        matches!(self, Segment::Glob(tokens) if tokens.as_slice() == [GlobToken::AnyRun])
    }
}

/// Matches `segments` against `rest`, the remaining path components (empty when the path is
/// exhausted). Backtracking only happens at `**`, which is rare and short in practice.
fn match_segments(segments: &[Segment], tail: Tail, rest: &str) -> bool {
    let Some((first, more)) = segments.split_first() else {
        return match tail {
            Tail::End => rest.is_empty(),
            Tail::AnyBelow => true,
            Tail::SomeBelow => !rest.is_empty(),
        };
    };
    match first {
        Segment::AnyDirs => {
            // Skip zero or more directories; never the last component, which is a file.
            let mut rest = rest;
            loop {
                if match_segments(more, tail, rest) {
                    return true;
                }
                match find_slash(rest) {
                    Some(slash) => rest = &rest[slash + 1..],
                    None => return false,
                }
            }
        }
        Segment::Literal(text) => split_component(rest).is_some_and(|(component, after)| {
            component == text && match_segments(more, tail, after)
        }),
        Segment::Glob(tokens) => split_component(rest).is_some_and(|(component, after)| {
            glob_matches(tokens, component) && match_segments(more, tail, after)
        }),
    }
}

/// Splits `rest` into its first component and what follows the `/` after it; `None` once
/// the path is exhausted.
fn split_component(rest: &str) -> Option<(&str, &str)> {
    if rest.is_empty() {
        return None;
    }
    Some(match find_slash(rest) {
        Some(slash) => (&rest[..slash], &rest[slash + 1..]),
        None => (rest, ""),
    })
}

/// Byte offset of the first `/`. Path components are short, so a plain loop beats the
/// general substring search behind `str::find`, which dominated profiles.
fn find_slash(text: &str) -> Option<usize> {
    text.bytes().position(|byte| byte == b'/')
}

/// Matches one path component against wildcard tokens.
fn glob_matches(tokens: &[GlobToken], text: &str) -> bool {
    let Some((first, more)) = tokens.split_first() else {
        return text.is_empty();
    };
    match first {
        GlobToken::Literal(literal) => text
            .strip_prefix(literal.as_str())
            .is_some_and(|rest| glob_matches(more, rest)),
        GlobToken::AnyChar => {
            let mut chars = text.chars();
            chars.next().is_some() && glob_matches(more, chars.as_str())
        }
        GlobToken::AnyRun => match more {
            [] => true,
            // The common `*.yaml` case without trying every split point.
            [GlobToken::Literal(suffix)] => text.ends_with(suffix.as_str()),
            _ => text
                .char_indices()
                .map(|(at, _)| at)
                .chain(std::iter::once(text.len()))
                .any(|at| glob_matches(more, &text[at..])),
        },
    }
}

// ---------------------------------------------------------------------------------------
// Prefilter index for resolve_all

/// Rules bucketed by one literal path component each matching path must contain.
struct RuleIndex<'r> {
    by_component: HashMap<&'r str, Vec<usize>, BuildHasherDefault<ComponentHasher>>,
    /// Rules without any literal segment (`*`, `*.md`, `/*/`): candidates for every path.
    unindexed: Vec<usize>,
}

impl<'r> RuleIndex<'r> {
    fn new(rules: &'r [Rule]) -> RuleIndex<'r> {
        // Choose, per rule, the literal shared by the fewest rules (then the longest): for
        // `/apps/*/app-0042/` that is `app-0042`, not `apps`, so buckets stay small.
        let mut frequency: HashMap<&str, usize> = HashMap::new();
        for rule in rules {
            for literal in rule.matcher.literals() {
                *frequency.entry(literal).or_default() += 1;
            }
        }
        let mut by_component: HashMap<&str, Vec<usize>, _> = HashMap::default();
        let mut unindexed = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            let best = rule.matcher.literals().min_by_key(|literal| {
                let shared_by = frequency.get(literal).copied().unwrap_or_default();
                (shared_by, std::cmp::Reverse(literal.len()))
            });
            match best {
                Some(literal) => by_component.entry(literal).or_default().push(index),
                None => unindexed.push(index),
            }
        }
        RuleIndex {
            by_component,
            unindexed,
        }
    }

    /// Appends the rules indexed under `component` to `out`.
    fn extend(&self, component: &str, out: &mut Vec<usize>) {
        if let Some(rules) = self.by_component.get(component) {
            out.extend_from_slice(rules);
        }
    }
}

/// Candidate rules per path, reusing the work done for the directories a path shares with
/// the previous one: file lists are usually sorted, so neighbours share most directories
/// and only the components that differ are looked up.
struct Candidates<'i, 'r> {
    index: &'i RuleIndex<'r>,
    /// The previous path.
    previous: String,
    /// Per directory component of `previous`: (byte offset where the component ends,
    /// length of `from_directories` once its rules were added).
    trail: Vec<(usize, usize)>,
    /// Unindexed rules, then the rules of each directory component in `trail`.
    from_directories: Vec<usize>,
    /// The result for the current path: highest rule index first, no repeats.
    current: Vec<usize>,
}

impl<'i, 'r> Candidates<'i, 'r> {
    fn new(index: &'i RuleIndex<'r>) -> Self {
        Candidates {
            index,
            previous: String::new(),
            trail: Vec::new(),
            from_directories: index.unindexed.clone(),
            current: Vec::new(),
        }
    }

    /// The rules that may match `path`, highest index first, no repeats.
    fn of(&mut self, path: &str) -> &[usize] {
        let common = self
            .previous
            .bytes()
            .zip(path.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        // A directory of `previous` ending strictly inside the common prefix is followed by
        // `/` in both paths, so it is a directory of `path` too.
        while self.trail.last().is_some_and(|&(end, _)| end >= common) {
            self.trail.pop();
        }
        let kept = self
            .trail
            .last()
            .map_or(self.index.unindexed.len(), |&(_, len)| len);
        self.from_directories.truncate(kept);
        let mut start = self.trail.last().map_or(0, |&(end, _)| end + 1);
        while let Some(slash) = find_slash(&path[start..]) {
            let end = start + slash;
            self.index
                .extend(&path[start..end], &mut self.from_directories);
            self.trail.push((end, self.from_directories.len()));
            start = end + 1;
        }
        self.current.clear();
        self.current.extend_from_slice(&self.from_directories);
        self.index.extend(&path[start..], &mut self.current);
        self.current.sort_unstable_by(|a, b| b.cmp(a));
        // A component can repeat within a path (`a/x/a`), listing its rules twice.
        self.current.dedup();
        self.previous.clear();
        self.previous.push_str(path);
        &self.current
    }
}

/// FxHash-style hasher for path components: much cheaper than SipHash on short strings.
/// HashDoS resistance is not needed, the keys are the repository's own rule literals.
#[derive(Default, Clone, Copy)]
struct ComponentHasher(u64);

impl ComponentHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for ComponentHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles `pattern` as the only rule of a file.
    fn rule(pattern: &str) -> Rule {
        let (owners, findings) = parse(&format!("{pattern} @o"));
        assert!(findings.is_empty(), "{pattern}: {findings:?}");
        owners.rules.into_iter().next().expect("one rule")
    }

    /// Checks every `(path, expected)` pair against `pattern`.
    fn check_matches(table: &[(&str, &[(&str, bool)])]) {
        let mut failures = Vec::new();
        for (pattern, cases) in table {
            let rule = rule(pattern);
            for (path, expected) in *cases {
                if rule.matches(path) != *expected {
                    failures.push(format!("{pattern} vs {path}: expected {expected}"));
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn reference_cases_from_validation_md() {
        check_matches(&[
            (
                "*",
                &[("a", true), ("a/b/c.txt", true), (".github/x", true)],
            ),
            (
                "*.js",
                &[("src/deep/x.js", true), ("x.js", true), ("x.ts", false)],
            ),
            (
                "/build/logs/",
                &[
                    ("build/logs/a", true),
                    ("build/logs/a/b", true),
                    ("build/logs", false),
                ],
            ),
            (
                "apps/",
                &[("src/apps/x/y", true), ("apps/x", true), ("apps", false)],
            ),
            (
                "lib",
                &[("a/lib/b", true), ("lib", true), ("a/libx", false)],
            ),
            ("a/b", &[("a/b", true), ("a/b/c", true), ("x/a/b", false)]),
            ("/*/", &[("dir/file", true), ("top.txt", false)]),
            (
                "/crates/ty*",
                &[("crates/ty_ide/src/lib.rs", true), ("crates/ruff/x", false)],
            ),
            (
                "**/k/v",
                &[("a/b/k/v/w", true), ("k/v", true), ("k/x/v", false)],
            ),
            ("k/**", &[("k", false), ("k/a", true), ("k/a/b", true)]),
            (
                "a/**/b",
                &[
                    ("a/b", true),
                    ("a/x/y/b", true),
                    ("a/x/b/c", true),
                    ("x/a/b", false),
                ],
            ),
            (r"f\*o", &[("f*o", true), ("foo", false)]),
            (
                "docs/*",
                &[
                    ("docs/a.md", true),
                    ("docs/a/b.md", false),
                    ("x/docs/a.md", false),
                ],
            ),
            ("/*", &[("top.txt", true), ("dir/file", false)]),
            (
                "/apps/github",
                &[("apps/github", true), ("apps/github/x/y", true)],
            ),
            ("foo/*.txt", &[("foo/a.txt", true), ("foo/x/a.txt", false)]),
        ]);
    }

    #[test]
    fn wildcards_escapes_and_case() {
        check_matches(&[
            (
                "f?o",
                &[
                    ("foo", true),
                    ("fo", false),
                    ("fooo", false),
                    ("fé o", false),
                ],
            ),
            ("f?o", &[("féo", true)]),
            (r"f\?o", &[("f?o", true), ("foo", false)]),
            (r"my\ dir/", &[("my dir/a", true), ("my/a", false)]),
            (
                "README.md",
                &[("readme.md", false), ("docs/README.md", true)],
            ),
            ("**", &[("a", true), ("a/b", true)]),
            ("/**", &[("a", true), ("a/b", true)]),
            ("**/*", &[("a", true), ("a/b", true)]),
            (
                "foo/**/",
                &[("foo", false), ("foo/bar", true), ("foo/bar/baz", true)],
            ),
            ("a**b", &[("ab", true), ("axxb", true), ("a/b", false)]),
            ("*a*b*", &[("xaxbx", true), ("ab", true), ("ba", false)]),
            ("/a/**/**/b", &[("a/b", true), ("a/x/y/b", true)]),
            (
                "Dockerfile.*",
                &[("build/Dockerfile.dev", true), ("Dockerfile", false)],
            ),
        ]);
    }

    #[test]
    fn catch_all() {
        let table = [
            ("*", true),
            ("**", true),
            ("/**", true),
            ("**/*", true),
            ("/**/*", true),
            ("**/**", true),
            ("**/", true),
            ("/*", false),
            ("*/", false),
            ("/*/", false),
            ("*.md", false),
            ("docs/", false),
        ];
        for (pattern, expected) in table {
            assert_eq!(rule(pattern).is_catch_all(), expected, "{pattern}");
        }
    }

    /// `(kind, line, column, text of the span)` for each finding of `text`, and the lines
    /// of the rules that were kept.
    fn check_findings(text: &str, expected: &[(FindingKind, usize, usize, &str)], kept: &[usize]) {
        let (owners, findings) = parse(text);
        let actual: Vec<_> = findings
            .iter()
            .map(|f| (f.kind, f.line, f.column, &text[f.span.clone()]))
            .collect();
        assert_eq!(actual, expected, "{text:?}");
        for finding in &findings {
            assert!(!finding.message.ends_with('.'), "{}", finding.message);
            let first = finding.message.chars().next().expect("non-empty message");
            assert!(!first.is_uppercase(), "{}", finding.message);
        }
        let lines: Vec<_> = owners.rules.iter().map(|r| r.line).collect();
        assert_eq!(lines, kept, "{text:?}");
    }

    #[test]
    fn findings_per_kind() {
        use FindingKind::*;
        check_findings("***/x @a\n", &[(Syntax, 1, 1, "***/x")], &[]);
        check_findings("a/***.md @a\n", &[(Syntax, 1, 1, "a/***.md")], &[]);
        check_findings("* @a\n/ @b\n", &[(Syntax, 2, 1, "/")], &[1]);
        check_findings("a//b @a\n", &[(Syntax, 1, 1, "a//b")], &[]);
        check_findings("foo\\", &[(Syntax, 1, 1, "foo\\")], &[]);
        check_findings(
            "/apps/\n  @org/team\n",
            &[(Syntax, 2, 3, "@org/team")],
            &[1],
        );
        check_findings(
            "/apps/\n@org/team # x\n",
            &[(Syntax, 2, 1, "@org/team"), (InlineComment, 2, 11, "# x")],
            &[1],
        );
        check_findings("!x.md @a\n", &[(UnsupportedSyntax, 1, 1, "!x.md")], &[]);
        check_findings("*.[ch] @a\n", &[(UnsupportedSyntax, 1, 1, "*.[ch]")], &[]);
        check_findings("\\#x @a\n", &[(UnsupportedSyntax, 1, 1, "\\#x")], &[]);
        check_findings(
            "a @ok @-bad @org/ x y@z\n",
            &[
                (InvalidOwner, 1, 7, "@-bad"),
                (InvalidOwner, 1, 13, "@org/"),
                (InvalidOwner, 1, 19, "x"),
                (InvalidOwner, 1, 21, "y@z"),
            ],
            &[],
        );
        check_findings(
            "é/ñ @a # owned by a  \n",
            &[(InlineComment, 1, 8, "# owned by a")],
            &[1],
        );
        check_findings(
            "/a/ @x\n/b/ @y\n/a/ @z\n",
            &[(DuplicatePattern, 3, 1, "/a/")],
            &[1, 2, 3],
        );
        // An owner-looking pattern with owners is a real path (`@types/` directories).
        check_findings("@types/ @a\n", &[], &[1]);
        // Comments, blank lines, CRLF, BOM and tabs.
        check_findings("\u{feff}# c\r\n\r\n\t  # c\n*\t@a\r\n", &[], &[4]);
    }

    #[test]
    fn spans_columns_and_owners() {
        let text = "# x\n\n  docs/\\ a\t@u  @org/t_x  me@ex.org\n";
        let (owners, findings) = parse(text);
        assert!(findings.is_empty(), "{findings:?}");
        let [rule] = owners.rules.as_slice() else {
            panic!("one rule expected: {owners:?}");
        };
        assert_eq!((rule.line, rule.column), (3, 3));
        assert_eq!(&text[rule.pattern_span.clone()], "docs/\\ a");
        assert_eq!(rule.pattern, "docs/\\ a");
        assert!(rule.matches("docs/ a"));
        let owners: Vec<_> = rule
            .owners
            .iter()
            .map(|o| (o.kind, &text[o.span.clone()], o.text.as_str()))
            .collect();
        assert_eq!(
            owners,
            [
                (OwnerKind::User, "@u", "@u"),
                (OwnerKind::Team, "@org/t_x", "@org/t_x"),
                (OwnerKind::Email, "me@ex.org", "me@ex.org"),
            ]
        );
    }

    #[test]
    fn owner_of_last_match_wins_and_empty_owners_clear() {
        let (owners, _) = parse("* @all\n/apps/ @apps\n/apps/github\n/docs/ @docs\n");
        let table = [
            ("README.md", Some((1, "@all"))),
            ("apps/x.yaml", Some((2, "@apps"))),
            ("apps/github/x/y", Some((3, ""))),
            ("docs/a.md", Some((4, "@docs"))),
        ];
        for (path, expected) in table {
            let actual = owners.owner_of(path).map(|rule| {
                let names: Vec<_> = rule.owners.iter().map(|o| o.text.as_str()).collect();
                (rule.line, names.join(" "))
            });
            let expected = expected.map(|(line, names)| (line, names.to_owned()));
            assert_eq!(actual, expected, "{path}");
        }
        let (none, _) = parse("/apps/ @apps\n");
        assert!(none.owner_of("README.md").is_none());
    }

    /// Resolves `files` under `codeowners`; checks the deciding rule line of each file and
    /// the `(kind, rule line)` of each finding.
    fn check_resolution(
        codeowners: &str,
        files: &[(&str, Option<usize>)],
        expected: &[(FindingKind, usize)],
    ) {
        let (owners, parse_findings) = parse(codeowners);
        assert!(
            parse_findings.iter().all(|f| !f.kind.skips_line()),
            "{parse_findings:?}"
        );
        let paths: Vec<&str> = files.iter().map(|(path, _)| *path).collect();
        let resolution = owners.resolve_all(&paths);
        for ((path, line), decided) in files.iter().zip(&resolution.decided_by) {
            let decided_line = decided.map(|index| owners.rules[index].line);
            assert_eq!(decided_line, *line, "{path}");
            // The indexed resolution must agree with the plain linear scan.
            assert_eq!(owners.owner_of(path).map(|r| r.line), *line, "{path}");
        }
        let findings: Vec<_> = resolution
            .findings
            .iter()
            .map(|f| (f.kind, f.line))
            .collect();
        assert_eq!(findings, expected, "{codeowners}");
    }

    #[test]
    fn no_matching_file_and_shadowed() {
        use FindingKind::*;
        check_resolution(
            "*.md @docs\n* @all\n/apps/ @apps\n/gone/ @x\n/apps/a/ @a\n/apps/b/\n",
            &[
                ("README.md", Some(2)),
                ("Makefile", Some(2)),
                ("apps/a/x", Some(5)),
                ("apps/b/x.md", Some(6)),
            ],
            // `*.md` loses to `*`; `/apps/` loses to `/apps/a/` and `/apps/b/`.
            &[(Shadowed, 1), (Shadowed, 3), (NoMatchingFile, 4)],
        );
        // A duplicate pattern shadows its earlier definition; unowned files stay unmatched.
        check_resolution(
            "/a/ @x\n/a/ @y\nlib/ @l\n",
            &[("a/1", Some(2)), ("b/1", None), ("x/lib/y/a/z", Some(3))],
            &[(Shadowed, 1)],
        );
        // Rules without literals, repeated components and an empty repository.
        check_resolution(
            "/*/ @d\n*.rs @r\n",
            &[("a/a/a.rs", Some(2)), ("a/b", Some(1))],
            &[],
        );
        check_resolution("* @all\n", &[], &[(NoMatchingFile, 1)]);
    }

    #[test]
    fn shadowed_message_names_an_example() {
        let (owners, _) = parse("/apps/ @a\n* @b\n");
        let resolution = owners.resolve_all(&["apps/x.yaml"]);
        let [finding] = resolution.findings.as_slice() else {
            panic!("one finding expected: {resolution:?}");
        };
        assert_eq!(
            finding.message,
            "pattern `/apps/` is shadowed: every file it matches is decided by a later rule \
             (e.g. `apps/x.yaml` is decided by line 2)"
        );
    }

    #[test]
    fn locations_and_size() {
        let present = ["docs/CODEOWNERS", ".github/CODEOWNERS"];
        assert_eq!(
            locate(|path| present.contains(&path)),
            [".github/CODEOWNERS", "docs/CODEOWNERS"]
        );
        assert!(locate(|_| false).is_empty());
        assert!(!exceeds_size_limit(MAX_SIZE - 1));
        assert!(exceeds_size_limit(MAX_SIZE));
    }
}
