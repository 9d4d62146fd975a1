//! The git side of the view: discovery, the index, revision trees and blob reads, with gix.
//!
//! # Opening the repository
//!
//! Repositories are opened with [`gix::open::Options::isolated`]: only the repository's own
//! `.git/config` is read, never the system or global configuration, `includeIf` files or `GIT_*`
//! environment variables. What that gives up, and why it is fine here:
//! - `GIT_DIR`, `GIT_WORK_TREE` and `GIT_INDEX_FILE` are ignored. The project root is always given
//!   explicitly and the repository is discovered from it; the one variable a pre-commit hook needs,
//!   `GIT_INDEX_FILE`, is passed in explicitly as [`super::OpenOptions::index_file`].
//! - `GIT_OBJECT_DIRECTORY` and `GIT_ALTERNATE_OBJECT_DIRECTORIES` are ignored, so objects that
//!   only exist in a receive-pack quarantine (server-side hooks) are not visible. kiln runs as a
//!   client-side hook or in CI, where objects are in the repository.
//! - `core.worktree`, `core.bare` and the index format settings still come from `.git/config`,
//!   which is always read for a repository owned by the current user. For a repository owned by
//!   someone else (typical in CI containers) gix lowers its trust and skips `.git/config`; the
//!   work tree is then the parent of `.git`, which is what checkouts use anyway.
//!
//! Nothing here writes: no index refresh, no lock files, no objects, no refs.
//!
//! # Threads
//!
//! Without gix's `parallel` feature (kiln does not enable it), `gix::ThreadSafeRepository` is
//! neither `Send` nor `Sync`: its shared parts are `Rc`s. [`super::RepoFs`] therefore keeps no gix
//! handle at all, only the git directory, and each thread opens its own `gix::Repository` the
//! first time it reads a blob, then reuses it from a small thread-local cache.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::prelude::FindExt;

use super::gitignore::{Ignores, join};
use super::{EntryKind, FsError};

/// Where the repository is, as far as the view needs to know. Plain data, `Send + Sync`.
#[derive(Debug, Clone)]
pub(super) struct RepoLocation {
    /// The repository's git directory, used to reopen it on other threads.
    pub(super) git_dir: PathBuf,
    /// The canonical work tree root.
    pub(super) work_dir: PathBuf,
    /// The project root relative to `work_dir`: `""` or `a/b`, `/`-separated.
    pub(super) prefix: String,
    /// The common git directory (the main `.git` for a linked worktree), where kiln keeps its
    /// cache.
    pub(super) common_dir: PathBuf,
}

/// One entry of the index or a tree, relative to the project root.
pub(super) struct GitEntry {
    pub(super) path: String,
    pub(super) kind: EntryKind,
    pub(super) id: ObjectId,
}

/// What the git sources contribute to a view.
pub(super) struct GitListing {
    /// Sorted by path bytes.
    pub(super) entries: Vec<GitEntry>,
    pub(super) links: HashMap<String, String>,
    pub(super) ignores: Ignores,
    /// Index listings only: what the index changes relative to `HEAD`.
    pub(super) staged: Option<super::StagedChanges>,
}

fn open_options() -> gix::open::Options {
    gix::open::Options::isolated()
}

/// Finds the repository whose work tree contains `root` (canonical). `Ok(None)` when there is
/// none, or only a bare repository.
pub(super) fn discover(root: &Path) -> Result<Option<(gix::Repository, RepoLocation)>, FsError> {
    let repo = match gix::discover_opts(root, Default::default(), open_options()) {
        Ok(repo) => repo,
        Err(err) => {
            use gix::discover::upwards::Error as Upwards;
            return match err.downcast_any_ref::<Upwards>() {
                Some(
                    Upwards::NoGitRepository { .. }
                    | Upwards::NoGitRepositoryWithinCeiling { .. }
                    | Upwards::NoGitRepositoryWithinFs { .. },
                ) => Ok(None),
                _ => Err(git_error("cannot open the git repository", &err)),
            };
        }
    };
    let Some(work_dir) = repo.workdir() else {
        return Ok(None);
    };
    let work_dir = std::fs::canonicalize(work_dir).map_err(|source| FsError::Io {
        path: work_dir.to_owned(),
        source,
    })?;
    let Ok(relative) = root.strip_prefix(&work_dir) else {
        // Possible with a `core.worktree` pointing elsewhere: the repository was found from the
        // project root, but its work tree does not contain it.
        return Err(FsError::Git {
            message: format!(
                "the project root {} is outside the work tree {} of its repository",
                root.display(),
                work_dir.display()
            ),
        });
    };
    let mut components = Vec::new();
    for c in relative.components() {
        match c.as_os_str().to_str() {
            Some(s) => components.push(s),
            None => {
                return Err(FsError::NonUtf8Path {
                    path: root.to_owned(),
                });
            }
        }
    }
    let location = RepoLocation {
        git_dir: repo.git_dir().to_owned(),
        common_dir: repo.common_dir().to_owned(),
        work_dir,
        prefix: components.join("/"),
    };
    Ok(Some((repo, location)))
}

/// Hands a repository opened on this thread to the thread-local cache, so the first `read` on
/// the opening thread does not reopen it.
pub(super) fn keep(repo: gix::Repository, location: &RepoLocation) {
    put_back(location.git_dir.clone(), repo);
}

// ---------------------------------------------------------------------------------------------
// Index

/// Which index entries a listing wants.
#[derive(Clone, Copy, PartialEq, Eq)]
enum IndexUse {
    /// What `git commit` would record: one entry per path (stage 0, or "ours" during a merge),
    /// without intent-to-add entries, which have no staged content yet.
    Content,
    /// Every path the index knows, for "is it tracked?".
    Tracking,
}

/// Lists the staged content below the project root.
pub(super) fn list_index(
    repo: &gix::Repository,
    location: &RepoLocation,
    index_file: Option<&Path>,
) -> Result<GitListing, FsError> {
    let index = load_index(repo, index_file, IndexUse::Content)?;
    let entries = index_entries(repo, location, &index, IndexUse::Content)?;
    let staged = staged_changes(repo, location, &index, &entries)?;
    let mut ignores = Ignores::new(&location.prefix);
    // `.gitignore` files above the project root, straight from the index.
    for dir in ancestors_above(&location.prefix) {
        let path = join(&dir, ".gitignore");
        let entry = index.entry_by_path_and_stage(
            path.as_bytes().as_bstr(),
            gix::index::entry::Stage::Unconflicted,
        );
        if let Some(entry) = entry.filter(|e| is_regular(e.mode)) {
            let bytes = blob(repo, entry.id, &path)?;
            ignores.insert(dir, &bytes);
        }
    }
    let mut listing = finish(repo, location, entries, ignores)?;
    listing.staged = Some(staged);
    Ok(listing)
}

/// What `entries` (the index below the project root) change relative to `HEAD`: paths added,
/// removed, or with another blob or mode. Without a `HEAD` (no commit yet) every path is new.
///
/// Subtrees that the index's cache-tree extension records with `HEAD`'s own tree id hold the
/// same entries as `HEAD` and are skipped unread, as `git diff --cached` does: after `git add`
/// of one file only that file's ancestors are compared. An index without the extension (or
/// with it invalidated) is compared entry by entry.
fn staged_changes(
    repo: &gix::Repository,
    location: &RepoLocation,
    index: &gix::index::File,
    entries: &[GitEntry],
) -> Result<super::StagedChanges, FsError> {
    let strip = prefix_with_slash(&location.prefix);
    let mut unmerged: Vec<String> = index
        .entries()
        .iter()
        .filter(|e| e.stage() != gix::index::entry::Stage::Unconflicted)
        .filter_map(|e| e.path(index).strip_prefix(strip.as_bytes()))
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    unmerged.dedup();
    let git_dir = repo.git_dir();
    let operation = [
        ("rebase-merge", "rebase"),
        ("rebase-apply", "rebase"),
        ("MERGE_HEAD", "merge"),
        ("CHERRY_PICK_HEAD", "cherry-pick"),
        ("REVERT_HEAD", "revert"),
    ]
    .into_iter()
    .find(|(file, _)| git_dir.join(file).exists())
    .map(|(_, operation)| operation);
    let head = repo
        .head()
        .map_err(|err| git_error("cannot read HEAD", &err))?;
    if head.is_unborn() {
        return Ok(super::StagedChanges {
            head_tree: None,
            paths: entries.iter().map(|e| e.path.clone()).collect(),
            unmerged,
            operation,
        });
    }
    let head_tree = repo
        .head_tree_id()
        .map_err(|err| git_error("cannot read the tree of HEAD", &err))?
        .detach();

    // Directory (repository-relative, "" for the root) -> tree id, for valid cache-tree nodes.
    let mut cached: HashMap<String, ObjectId> = HashMap::new();
    if let Some(root) = index.tree() {
        let mut stack = vec![(root, String::new())];
        while let Some((node, dir)) = stack.pop() {
            if node.num_entries.is_some() {
                cached.insert(dir.clone(), node.id);
            }
            for child in &node.children {
                let name = String::from_utf8_lossy(&child.name);
                stack.push((child, join(&dir, &name)));
            }
        }
    }

    // Walk HEAD's tree, skipping what the cache tree vouches for; keep files below the root.
    let prefix = location.prefix.as_str();
    let relative = |full: &str| -> Option<String> {
        if prefix.is_empty() {
            Some(full.to_owned())
        } else if full == prefix {
            Some(String::new())
        } else {
            full.strip_prefix(prefix)?
                .strip_prefix('/')
                .map(str::to_owned)
        }
    };
    let relevant = |dir: &str| {
        prefix.is_empty()
            || dir.is_empty()
            || dir == prefix
            || prefix.starts_with(&format!("{dir}/"))
            || dir.starts_with(&format!("{prefix}/"))
    };
    let mut head_files: HashMap<String, (EntryKind, ObjectId)> = HashMap::new();
    let mut unchanged_dirs: Vec<String> = Vec::new();
    let mut stack = vec![(head_tree, String::new())];
    let mut buf = Vec::new();
    while let Some((tree, dir)) = stack.pop() {
        if cached.get(&dir) == Some(&tree) {
            // An unchanged ancestor of the project root leaves the whole project unchanged.
            unchanged_dirs.push(relative(&dir).unwrap_or_default());
            continue;
        }
        let items = repo
            .objects
            .find_tree_iter(&tree, &mut buf)
            .map_err(|err| git_error(&format!("cannot read tree {tree} at {dir:?}"), &err))?;
        for item in items {
            let item =
                item.map_err(|err| git_error(&format!("cannot decode tree {tree}"), &err))?;
            let path = join(&dir, &String::from_utf8_lossy(item.filename));
            use gix::objs::tree::EntryKind as Mode;
            let kind = match item.mode.kind() {
                Mode::Tree => {
                    if relevant(&path) {
                        stack.push((item.oid.to_owned(), path));
                    }
                    continue;
                }
                Mode::Blob => EntryKind::File,
                Mode::BlobExecutable => EntryKind::Executable,
                Mode::Link => EntryKind::Symlink,
                Mode::Commit => EntryKind::Submodule,
            };
            if let Some(rel) = relative(&path).filter(|r| !r.is_empty()) {
                head_files.insert(rel, (kind, item.oid.to_owned()));
            }
        }
    }

    // Index entries below an unchanged directory are HEAD's; compare the others.
    let mut skip = vec![false; entries.len()];
    for dir in &unchanged_dirs {
        let below = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        skip[super::path::prefix_range(entries, &below, |e| e.path.as_str())].fill(true);
    }
    let mut paths = std::collections::BTreeSet::new();
    for (entry, _) in entries.iter().zip(&skip).filter(|(_, skipped)| !**skipped) {
        match head_files.remove(&entry.path) {
            Some((kind, id)) if kind == entry.kind && id == entry.id => {}
            _ => {
                paths.insert(entry.path.clone());
            }
        }
    }
    // What HEAD has and the index does not was removed.
    paths.extend(head_files.into_keys());
    Ok(super::StagedChanges {
        head_tree: Some(head_tree),
        paths,
        unmerged,
        operation,
    })
}

/// The paths the index tracks below the project root, sorted, for the work tree view.
pub(super) fn tracked_paths(
    repo: &gix::Repository,
    location: &RepoLocation,
    index_file: Option<&Path>,
) -> Result<Vec<GitEntry>, FsError> {
    let index = load_index(repo, index_file, IndexUse::Tracking)?;
    index_entries(repo, location, &index, IndexUse::Tracking)
}

fn load_index(
    repo: &gix::Repository,
    index_file: Option<&Path>,
    purpose: IndexUse,
) -> Result<gix::index::File, FsError> {
    let path = index_file.map_or_else(|| repo.index_path(), Path::to_owned);
    // A repository without an index (nothing ever staged) has an empty index, not an error.
    let exists = path.try_exists().map_err(|source| FsError::Io {
        path: path.clone(),
        source,
    })?;
    if !exists {
        if index_file.is_some() {
            return Err(FsError::Io {
                path,
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        return Ok(gix::index::File::from_state(
            gix::index::State::new(repo.object_hash()),
            path,
        ));
    }
    let index = match (purpose, index_file) {
        // Content is verified against the index checksum, as git does; `open_index` honours
        // `index.threads` and `index.skipHash` from `.git/config`.
        (IndexUse::Content, None) => repo.open_index(),
        (IndexUse::Content, Some(path)) => {
            gix::index::File::at(path, repo.object_hash(), false, Default::default())
        }
        // Only paths are needed to know what is tracked; hashing the whole file would double
        // the cost of reading it.
        (IndexUse::Tracking, _) => {
            gix::index::File::at(&path, repo.object_hash(), true, Default::default())
        }
    };
    index.map_err(|err| git_error(&format!("cannot read the index {}", path.display()), &err))
}

fn index_entries(
    repo: &gix::Repository,
    location: &RepoLocation,
    index: &gix::index::File,
    purpose: IndexUse,
) -> Result<Vec<GitEntry>, FsError> {
    use gix::index::entry::{Flags, Mode, Stage};

    let strip = prefix_with_slash(&location.prefix);
    let mut out: Vec<GitEntry> = Vec::new();
    // Conflicted paths appear once per stage, consecutively; remember the last path pushed so a
    // later stage of the same path is skipped.
    let mut last: Option<&[u8]> = None;
    for entry in index.entries() {
        let full = entry.path(index);
        let Some(relative) = full.strip_prefix(strip.as_bytes()) else {
            continue;
        };
        if last == Some(full.as_bytes()) {
            continue;
        }
        if purpose == IndexUse::Content {
            if entry.flags.contains(Flags::INTENT_TO_ADD) {
                continue;
            }
            // During a merge, take "ours" (stage 2), which is what the work tree started from;
            // stage 1 (base) and 3 (theirs) are not content anybody staged.
            if !matches!(entry.stage(), Stage::Unconflicted | Stage::Ours) {
                continue;
            }
        }
        last = Some(full.as_bytes());
        let path = utf8(relative)?;
        let kind = match entry.mode {
            Mode::FILE => EntryKind::File,
            Mode::FILE_EXECUTABLE => EntryKind::Executable,
            Mode::SYMLINK => EntryKind::Symlink,
            Mode::COMMIT => EntryKind::Submodule,
            Mode::DIR => {
                // A sparse index stores a whole directory outside the sparse cone as one tree
                // entry (path ending in `/`); expand it so the view does not depend on
                // sparse-checkout settings.
                let base = path.trim_end_matches('/');
                walk_tree(repo, entry.id, base, &mut out)?;
                continue;
            }
            other => {
                return Err(FsError::Git {
                    message: format!("index entry {path} has an unknown mode {:o}", other.bits()),
                });
            }
        };
        out.push(GitEntry {
            path: path.to_owned(),
            kind,
            id: entry.id,
        });
    }
    // The index is sorted by path bytes already, except around expanded sparse directories.
    out.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Revisions

/// Lists the tree of revision `rev` below the project root.
pub(super) fn list_rev(
    repo: &gix::Repository,
    location: &RepoLocation,
    rev: &str,
) -> Result<GitListing, FsError> {
    let bad = |message: String| FsError::BadRevision {
        rev: rev.to_owned(),
        message,
    };
    let id = repo
        .rev_parse_single(rev.as_bytes().as_bstr())
        .map_err(|err| bad(flatten(&err)))?;
    let object = id
        .object()
        .and_then(gix::Object::peel_tags_to_end)
        .map_err(|err| bad(flatten(&err)))?;
    let root_tree = match object.kind {
        gix::object::Kind::Commit => object
            .into_commit()
            .tree_id()
            .map_err(|err| git_error(&format!("cannot read the commit of {rev}"), &err))?
            .detach(),
        gix::object::Kind::Tree => object.id,
        kind => return Err(bad(format!("names a {kind}, not a commit or a tree"))),
    };

    // Descend to the project root's tree, collecting `.gitignore` files on the way down.
    let mut ignores = Ignores::new(&location.prefix);
    let mut tree = root_tree;
    let mut dir = String::new();
    let mut buf = Vec::new();
    for component in location.prefix.split('/').filter(|c| !c.is_empty()) {
        let entries = repo
            .objects
            .find_tree_iter(&tree, &mut buf)
            .map_err(|err| git_error(&format!("cannot read tree {tree}"), &err))?;
        let mut gitignore = None;
        let mut next = None;
        for entry in entries {
            let entry =
                entry.map_err(|err| git_error(&format!("cannot decode tree {tree}"), &err))?;
            if entry.filename == ".gitignore" && entry.mode.is_blob() {
                gitignore = Some(entry.oid.to_owned());
            } else if entry.filename == component && entry.mode.is_tree() {
                next = Some(entry.oid.to_owned());
            }
        }
        if let Some(id) = gitignore {
            let bytes = blob(repo, id, &join(&dir, ".gitignore"))?;
            ignores.insert(dir.clone(), &bytes);
        }
        match next {
            Some(id) => tree = id,
            // The project root does not exist in that revision: the view is empty.
            None => {
                return Ok(GitListing {
                    entries: Vec::new(),
                    links: HashMap::new(),
                    ignores,
                    staged: None,
                });
            }
        }
        dir = join(&dir, component);
    }

    let mut entries = Vec::new();
    walk_tree(repo, tree, "", &mut entries)?;
    entries.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    finish(repo, location, entries, ignores)
}

/// Appends every blob, link and submodule below `tree` to `out`, with paths prefixed by `base`.
fn walk_tree(
    repo: &gix::Repository,
    tree: ObjectId,
    base: &str,
    out: &mut Vec<GitEntry>,
) -> Result<(), FsError> {
    use gix::objs::tree::EntryKind as Mode;

    let mut stack = vec![(tree, base.to_owned())];
    let mut buf = Vec::new();
    while let Some((tree, dir)) = stack.pop() {
        let entries = repo
            .objects
            .find_tree_iter(&tree, &mut buf)
            .map_err(|err| git_error(&format!("cannot read tree {tree} at {dir:?}"), &err))?;
        for entry in entries {
            let entry =
                entry.map_err(|err| git_error(&format!("cannot decode tree {tree}"), &err))?;
            let path = join(&dir, utf8(entry.filename)?);
            let kind = match entry.mode.kind() {
                Mode::Tree => {
                    stack.push((entry.oid.to_owned(), path));
                    continue;
                }
                Mode::Blob => EntryKind::File,
                Mode::BlobExecutable => EntryKind::Executable,
                Mode::Link => EntryKind::Symlink,
                Mode::Commit => EntryKind::Submodule,
            };
            out.push(GitEntry {
                path,
                kind,
                id: entry.oid.to_owned(),
            });
        }
    }
    Ok(())
}

/// Reads symlink targets and `.gitignore` files of a sorted listing.
fn finish(
    repo: &gix::Repository,
    location: &RepoLocation,
    entries: Vec<GitEntry>,
    mut ignores: Ignores,
) -> Result<GitListing, FsError> {
    let mut links = HashMap::new();
    for entry in &entries {
        match entry.kind {
            EntryKind::Symlink => {
                // Git stores the target as the blob's content. Non-UTF-8 targets cannot name a
                // view path; after lossy conversion they simply dangle.
                let target = blob(repo, entry.id, &entry.path)?;
                links.insert(
                    entry.path.clone(),
                    String::from_utf8_lossy(&target).into_owned(),
                );
            }
            // Git does not follow symlinked `.gitignore` files; only regular ones count.
            EntryKind::File | EntryKind::Executable
                if entry.path == ".gitignore" || entry.path.ends_with("/.gitignore") =>
            {
                let dir = entry.path.strip_suffix(".gitignore").unwrap_or_default();
                let dir = join(&location.prefix, dir.trim_end_matches('/'));
                let bytes = blob(repo, entry.id, &entry.path)?;
                ignores.insert(dir, &bytes);
            }
            _ => {}
        }
    }
    Ok(GitListing {
        entries,
        links,
        ignores,
        staged: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Blobs

/// Reads the blob `id` (recorded at view path `path`) on any thread.
pub(super) fn read_blob(
    location: &RepoLocation,
    id: ObjectId,
    path: &str,
) -> Result<Vec<u8>, FsError> {
    with_repo(&location.git_dir, |repo| blob(repo, id, path))
}

fn blob(repo: &gix::Repository, id: ObjectId, path: &str) -> Result<Vec<u8>, FsError> {
    let object = repo
        .find_object(id)
        .map_err(|err| git_error(&format!("cannot read blob {id} of {path}"), &err))?;
    if object.kind != gix::object::Kind::Blob {
        return Err(FsError::Git {
            message: format!("object {id} of {path} is a {}, not a blob", object.kind),
        });
    }
    // `detach` hands over the decompressed buffer without copying it.
    Ok(object.detach().data)
}

thread_local! {
    /// Repositories opened on this thread, most recently used first, keyed by git directory.
    static REPOSITORIES: RefCell<Vec<(PathBuf, gix::Repository)>> = const { RefCell::new(Vec::new()) };
}

/// How many repositories each thread keeps open. kiln reads one repository per run; a few more
/// cover tests that open many temporary repositories without growing without bound.
const REPOSITORIES_PER_THREAD: usize = 4;

/// Runs `f` with this thread's repository for `git_dir`, opening it on first use.
fn with_repo<T>(
    git_dir: &Path,
    f: impl FnOnce(&gix::Repository) -> Result<T, FsError>,
) -> Result<T, FsError> {
    // Take the repository out of the cache while `f` runs, so no `RefCell` borrow is held across
    // the call.
    let cached = REPOSITORIES.with_borrow_mut(|repos| {
        let i = repos.iter().position(|(dir, _)| dir == git_dir)?;
        Some(repos.remove(i).1)
    });
    let repo = match cached {
        Some(repo) => repo,
        None => gix::open_opts(git_dir, open_options())
            .map_err(|err| git_error(&format!("cannot open {}", git_dir.display()), &err))?,
    };
    let result = f(&repo);
    put_back(git_dir.to_owned(), repo);
    result
}

fn put_back(git_dir: PathBuf, repo: gix::Repository) {
    REPOSITORIES.with_borrow_mut(|repos| {
        repos.retain(|(dir, _)| *dir != git_dir);
        repos.insert(0, (git_dir, repo));
        repos.truncate(REPOSITORIES_PER_THREAD);
    });
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// `prefix/`, or `""` for the repository root.
fn prefix_with_slash(prefix: &str) -> String {
    if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    }
}

/// The directories strictly above the project root, from the repository root down: for
/// `a/b` that is `""` and `a`.
pub(super) fn ancestors_above(prefix: &str) -> Vec<String> {
    if prefix.is_empty() {
        return Vec::new();
    }
    let mut out = vec![String::new()];
    let mut end = 0;
    while let Some(i) = prefix[end..].find('/') {
        end += i;
        out.push(prefix[..end].to_owned());
        end += 1;
    }
    out
}

fn is_regular(mode: gix::index::entry::Mode) -> bool {
    mode == gix::index::entry::Mode::FILE || mode == gix::index::entry::Mode::FILE_EXECUTABLE
}

fn utf8(bytes: &[u8]) -> Result<&str, FsError> {
    std::str::from_utf8(bytes).map_err(|_| FsError::NonUtf8Path {
        path: PathBuf::from(String::from_utf8_lossy(bytes).into_owned()),
    })
}

/// An [`FsError::Git`] with `context` in front of gix's error chain.
fn git_error(context: &str, err: &gix::Error) -> FsError {
    FsError::Git {
        message: format!("{context}: {}", flatten(err)),
    }
}

/// gix's error chain on one line, in kiln's message style: segments joined with `: `, each
/// starting lowercase unless it starts with an acronym, no trailing period.
fn flatten(err: &gix::Error) -> String {
    let mut segments: Vec<String> = Vec::new();
    for e in err.iter_errors() {
        let text = e.to_string();
        let text = text.trim().trim_end_matches('.');
        if text.is_empty() || segments.iter().any(|s| s.eq_ignore_ascii_case(text)) {
            continue;
        }
        segments.push(lowercase_first(text));
    }
    if segments.is_empty() {
        return lowercase_first(err.to_string().trim_end_matches('.'));
    }
    segments.join(": ")
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && !second.is_uppercase() => {
            first.to_lowercase().chain(text.chars().skip(1)).collect()
        }
        _ => text.to_owned(),
    }
}
