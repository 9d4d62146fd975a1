//! `.gitignore` matching with git's precedence rules, over matchers from any source.
//!
//! The `ignore` crate parses and matches single `.gitignore` files; git's rules for combining
//! them (deepest file decides, excluded directories exclude everything below) are applied here.
//! Matchers are keyed by the directory holding the `.gitignore`, relative to the repository root,
//! so files above the project root take part the same way as files inside it.

use std::collections::HashMap;

use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// The `.gitignore` files of one view and the rules to combine them.
#[derive(Debug, Default)]
pub(super) struct Ignores {
    /// The project root relative to the repository root (`""` when they coincide).
    prefix: String,
    /// Directory relative to the repository root (`""` for the root) → its `.gitignore`.
    by_dir: HashMap<String, Gitignore>,
}

impl Ignores {
    /// No matchers yet, for a project root at `prefix` in its repository.
    pub(super) fn new(prefix: &str) -> Self {
        Ignores {
            prefix: prefix.to_owned(),
            by_dir: HashMap::new(),
        }
    }

    /// Registers the `.gitignore` with content `bytes` found in the repository directory
    /// `repo_dir` (`""` for the repository root).
    pub(super) fn insert(&mut self, repo_dir: String, bytes: &[u8]) {
        if let Some(matcher) = parse(&repo_dir, bytes) {
            self.by_dir.insert(repo_dir, matcher);
        }
    }

    /// Whether there is no `.gitignore` at all, so nothing can be ignored.
    pub(super) fn is_empty(&self) -> bool {
        self.by_dir.is_empty()
    }

    /// The repository-relative form of a view path.
    pub(super) fn repo_path(&self, view_path: &str) -> String {
        join(&self.prefix, view_path)
    }

    /// Whether the normalised view path `path` is ignored: the path itself matches, or one of its
    /// directories below the project root does (git does not look inside excluded directories,
    /// so a `!` pattern cannot re-include a file in one).
    pub(super) fn is_ignored(&self, path: &str, is_dir: bool) -> bool {
        if self.by_dir.is_empty() || path.is_empty() {
            return false;
        }
        let full = self.repo_path(path);
        let start = full.len() - path.len();
        for (i, byte) in full.bytes().enumerate().skip(start) {
            if byte == b'/' && self.decide(&full[..i], true) == Some(true) {
                return true;
            }
        }
        self.decide(&full, is_dir) == Some(true)
    }

    /// Matches one repository-relative path against the `.gitignore` files of its directories,
    /// deepest first, without looking at its parents' own exclusion. `Some(true)` means ignored,
    /// `Some(false)` re-included by `!`, `None` no pattern matched.
    pub(super) fn decide(&self, full: &str, is_dir: bool) -> Option<bool> {
        decide(full, is_dir, |dir| self.matcher(dir))
    }

    /// The `.gitignore` of repository directory `dir`, if it has one.
    pub(super) fn matcher(&self, dir: &str) -> Option<&Gitignore> {
        self.by_dir.get(dir)
    }

    /// Adds the matchers of `other`, found elsewhere in the same view.
    pub(super) fn merge(&mut self, other: Ignores) {
        self.by_dir.extend(other.by_dir);
    }
}

/// [`Ignores::decide`] over any lookup of `.gitignore` matchers by repository directory, so that
/// parallel walkers can consult their own matchers layered over shared ones.
pub(super) fn decide<'a>(
    full: &str,
    is_dir: bool,
    matcher: impl Fn(&str) -> Option<&'a Gitignore>,
) -> Option<bool> {
    let mut dir_end = full.rfind('/');
    loop {
        let dir = dir_end.map_or("", |end| &full[..end]);
        if let Some(matcher) = matcher(dir) {
            let relative = dir_end.map_or(full, |end| &full[end + 1..]);
            let matched = matcher.matched(relative, is_dir);
            if matched.is_ignore() {
                return Some(true);
            }
            if matched.is_whitelist() {
                return Some(false);
            }
        }
        if dir.is_empty() {
            return None;
        }
        dir_end = dir.rfind('/');
    }
}

/// Joins two `/`-separated relative paths, either of which may be empty.
pub(super) fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (_, true) => a.to_owned(),
        _ => {
            // Called once per listed entry; `format!` would be measurably slower here.
            let mut joined = String::with_capacity(a.len() + 1 + b.len());
            joined.push_str(a);
            joined.push('/');
            joined.push_str(b);
            joined
        }
    }
}

/// Builds a matcher from the bytes of a `.gitignore`, or `None` if it has no patterns.
///
/// Lines that are not valid globs are skipped, as git skips them; non-UTF-8 bytes are replaced,
/// which can only make a pattern match less.
fn parse(repo_dir: &str, bytes: &[u8]) -> Option<Gitignore> {
    // The matcher's root is "." so that the `ignore` crate never tries to strip a prefix from the
    // (already relative) paths we pass in; see `Gitignore::matched`.
    let mut builder = GitignoreBuilder::new(".");
    let text = String::from_utf8_lossy(bytes);
    let from = std::path::PathBuf::from(join(repo_dir, ".gitignore"));
    for (n, line) in text.lines().enumerate() {
        // A UTF-8 byte order mark is allowed at the start of the file, as in git.
        let line = if n == 0 {
            line.trim_start_matches('\u{feff}')
        } else {
            line
        };
        if builder.add_line(Some(from.clone()), line).is_err() {
            // An invalid glob only loses its own line, as in git.
            continue;
        }
    }
    let matcher = builder.build().ok()?;
    (!matcher.is_empty()).then_some(matcher)
}
