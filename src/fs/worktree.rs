//! The work tree side of the view: a pruning walk of the project root on disk.
//!
//! The walk does not follow symlinks, skips `.git`, and does not descend into directories that
//! `.gitignore` excludes. Like git, it keeps ignored paths that are tracked: ignore rules only
//! apply to untracked files, and the work tree view must agree with the index view on tracked
//! content.
//!
//! # Two phases
//!
//! Listing a 30,000-file tree is dominated by system calls (`open`/`getdents`/`close` per
//! directory, one `stat` per file for the executable bit), and a single thread leaves the second
//! core idle. So the walk first lists the top of the tree breadth-first on the calling thread
//! until it has enough directories to share out, then walks those subtrees depth-first on a few
//! scoped threads, and merges the results. Both phases judge entries with the same
//! [`Walk::visit`], so the outcome does not depend on where the split happened; the final sort
//! makes the order independent of scheduling. On the generated 1,000-app monorepo (18,000 files,
//! 14,500 directories) two threads took the walk from about 130 ms to about 80 ms.
//!
//! # Why `std::fs::read_dir` and not walkdir
//!
//! walkdir opens (and, with a sorter, reads) every directory as soon as it yields it, before a
//! filter can prune it, so an unreadable ignored directory is an error and ignored trees still
//! cost a listing. Its `DirEntry::metadata` also stats the full path from `/` for each file. With
//! `std::fs::read_dir` a pruned directory is never opened and `DirEntry::metadata` is an
//! `fstatat` relative to the open directory; together that cut the walk's CPU time by about a
//! quarter. The walk is small enough that walkdir's remaining conveniences are not missed.

use std::collections::{HashMap, HashSet};
use std::fs::FileType;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use ignore::gitignore::Gitignore;

use super::git::{RepoLocation, ancestors_above};
use super::gitignore::{self, Ignores, join};
use super::{Entry, EntryKind, FsError};

/// Stop the breadth-first phase once this many directories per thread are waiting, so that
/// threads can balance uneven subtrees.
const DIRS_PER_THREAD: usize = 16;
/// Never list more than this many levels breadth-first; deep, narrow trees are shared out as
/// they are.
const MAX_BREADTH_FIRST_DEPTH: usize = 6;
/// Threads beyond this bring nothing measurable for a directory walk.
const MAX_THREADS: usize = 4;

/// What the walk found.
pub(super) struct Listing {
    /// Sorted by path bytes.
    pub(super) files: Vec<Entry>,
    pub(super) links: HashMap<String, String>,
    /// Sorted.
    pub(super) ignored_dirs: Vec<String>,
    pub(super) ignores: Ignores,
}

/// What the walk needs to know about git, when the project is in a repository.
pub(super) struct GitContext<'a> {
    pub(super) location: &'a RepoLocation,
    /// Paths in the index below the project root, relative to it, sorted.
    pub(super) tracked: &'a [String],
    /// Submodule paths in the index below the project root, sorted.
    pub(super) gitlinks: &'a [String],
    /// Paths the index records as executable, sorted.
    pub(super) executables: &'a [String],
}

impl GitContext<'_> {
    fn is_tracked_file(&self, path: &str) -> bool {
        self.tracked
            .binary_search_by(|t| t.as_str().cmp(path))
            .is_ok()
    }

    fn has_tracked_below(&self, dir: &str) -> bool {
        let prefix = format!("{dir}/");
        let i = self
            .tracked
            .partition_point(|t| t.as_str() < prefix.as_str());
        self.tracked.get(i).is_some_and(|t| t.starts_with(&prefix))
    }

    fn is_gitlink(&self, path: &str) -> bool {
        self.gitlinks
            .binary_search_by(|t| t.as_str().cmp(path))
            .is_ok()
    }
}

/// Walks the project root `root` (canonical). Without `git`, nothing is ignored.
pub(super) fn walk(root: &Path, git: Option<GitContext<'_>>) -> Result<Listing, FsError> {
    let prefix = git.as_ref().map_or("", |g| g.location.prefix.as_str());
    let mut top = Ignores::new(prefix);
    if let Some(git) = &git {
        // `.gitignore` files between the repository root and the project root apply too.
        for dir in ancestors_above(&git.location.prefix) {
            let on_disk = git.location.work_dir.join(&dir).join(".gitignore");
            if let Some(bytes) = read_gitignore(&on_disk)? {
                top.insert(dir, &bytes);
            }
        }
    }

    // Phase 1: breadth-first on this thread, until there is enough to share out.
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_THREADS);
    let empty = Ignores::new(prefix);
    let no_dirs = HashSet::new();
    let shared = Shared {
        root,
        git: git.as_ref(),
        ignores: &empty,
        ignored_but_walked: &no_dirs,
    };
    let mut first = Walk::new(shared, top);
    let mut frontier = vec![String::new()];
    for _ in 0..MAX_BREADTH_FIRST_DEPTH {
        let mut next = Vec::new();
        for dir in &frontier {
            first.list_one(dir, &mut next)?;
        }
        frontier = next;
        if frontier.is_empty() || frontier.len() >= DIRS_PER_THREAD * threads {
            break;
        }
    }

    // Phase 2: the remaining subtrees, on scoped threads pulling from a shared index so that a
    // few big subtrees do not leave the other threads idle.
    let mut results = Vec::new();
    if !frontier.is_empty() {
        let shared = Shared {
            root,
            git: git.as_ref(),
            ignores: &first.ignores,
            ignored_but_walked: &first.ignored_but_walked,
        };
        let next_dir = AtomicUsize::new(0);
        let worker = || -> Result<Parts, FsError> {
            let mut walk = Walk::new(shared, Ignores::new(prefix));
            let mut stack = Vec::new();
            while let Some(dir) = frontier.get(next_dir.fetch_add(1, Ordering::Relaxed)) {
                // Depth first within one subtree keeps the stack small.
                stack.push(dir.clone());
                while let Some(dir) = stack.pop() {
                    walk.list_one(&dir, &mut stack)?;
                }
            }
            Ok(walk.into_parts())
        };
        let threads = threads.min(frontier.len());
        results = std::thread::scope(|scope| {
            let handles: Vec<_> = (1..threads).map(|_| scope.spawn(worker)).collect();
            let mut results = vec![worker()];
            for handle in handles {
                // A panic in a worker is a bug; re-raise it on the calling thread.
                results.push(
                    handle
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p)),
                );
            }
            results
        });
    }

    let mut listing = first.into_parts();
    for result in results {
        listing.absorb(result?);
    }
    Ok(listing.finish())
}

/// Read-only state shared by all walkers: what phase 1 learnt about the top of the tree.
#[derive(Clone, Copy)]
struct Shared<'a> {
    root: &'a Path,
    git: Option<&'a GitContext<'a>>,
    ignores: &'a Ignores,
    ignored_but_walked: &'a HashSet<String>,
}

/// One walker's state, updated by [`Walk::visit`] for every directory entry.
struct Walk<'a> {
    shared: Shared<'a>,
    /// `.gitignore` files this walker read.
    ignores: Ignores,
    /// Ignored directories walked anyway because tracked files are below them. Untracked paths
    /// inside are ignored whatever their own patterns say: git never looks inside an excluded
    /// directory, so `!` cannot re-include anything there.
    ignored_but_walked: HashSet<String>,
    files: Vec<Entry>,
    links: HashMap<String, String>,
    ignored_dirs: Vec<String>,
    /// Directories below the root that contain a `.git`: nested repositories, not our files.
    nested_repos: Vec<String>,
}

impl<'a> Walk<'a> {
    fn new(shared: Shared<'a>, ignores: Ignores) -> Self {
        Walk {
            shared,
            ignores,
            ignored_but_walked: HashSet::new(),
            files: Vec::new(),
            links: HashMap::new(),
            ignored_dirs: Vec::new(),
            nested_repos: Vec::new(),
        }
    }

    /// Lists the directory `dir` (a view path), records its entries and appends the
    /// subdirectories to walk to `next`.
    fn list_one(&mut self, dir: &str, next: &mut Vec<String>) -> Result<(), FsError> {
        let on_disk = self.shared.root.join(dir);
        let io = |source| FsError::Io {
            path: on_disk.clone(),
            source,
        };
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&on_disk).map_err(io)? {
            let entry = entry.map_err(io)?;
            // The type comes from `getdents` (`d_type`) on common file systems: no `stat`.
            let file_type = entry.file_type().map_err(|source| FsError::Io {
                path: entry.path(),
                source,
            })?;
            entries.push((entry, file_type));
        }
        // A directory's `.gitignore` must be read before its siblings are judged.
        entries.sort_by_key(|(entry, _)| entry.file_name() != ".gitignore");
        for (entry, file_type) in entries {
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(FsError::NonUtf8Path { path: entry.path() });
            };
            let path = join(dir, name);
            if let Some(subdirectory) = self.visit(path, name, file_type, &entry)? {
                next.push(subdirectory);
            }
        }
        Ok(())
    }

    /// Decides about the entry `name` at view path `path`: records it, prunes it, or returns it
    /// as a directory to walk.
    fn visit(
        &mut self,
        path: String,
        name: &str,
        file_type: FileType,
        entry: &std::fs::DirEntry,
    ) -> Result<Option<String>, FsError> {
        let root = self.shared.root;
        if name == ".git" {
            // The repository's own `.git` when the project root is the work tree root; deeper
            // down, a nested repository or a submodule checkout that the index does not know.
            if let Some((parent, _)) = path.rsplit_once('/') {
                self.nested_repos.push(parent.to_owned());
            }
            return Ok(None);
        }
        let is_dir = file_type.is_dir();

        if let Some(git) = self.shared.git {
            if is_dir && git.is_gitlink(&path) {
                self.files.push(Entry {
                    path,
                    kind: EntryKind::Submodule,
                });
                return Ok(None);
            }
            // Listed first in its directory (see `list_one`), and read whether or not it is
            // itself ignored or tracked, as git does. Only regular files count: git refuses to
            // follow a symlinked `.gitignore`.
            if file_type.is_file()
                && name == ".gitignore"
                && let Some(bytes) = read_gitignore(&root.join(&path))?
            {
                let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
                let repo_dir = self.ignores.repo_path(dir);
                self.ignores.insert(repo_dir, &bytes);
            }
            if self.is_excluded(git, &path, is_dir) {
                if is_dir {
                    self.ignored_dirs.push(path);
                }
                return Ok(None);
            }
        }

        if is_dir {
            return Ok(Some(path));
        }
        let kind = if file_type.is_symlink() {
            let on_disk = root.join(&path);
            let target = std::fs::read_link(&on_disk).map_err(|source| FsError::Io {
                path: on_disk,
                source,
            })?;
            // A non-UTF-8 target cannot name a view path; after lossy conversion it dangles.
            let target = target.to_string_lossy().into_owned();
            self.links.insert(path.clone(), target);
            EntryKind::Symlink
        } else if file_type.is_file() {
            // For a tracked file the index says whether it is executable. Asking the disk
            // costs a `stat` per file, which doubled the walk of a large repository; the two
            // differ only after a `chmod` that is not staged yet, which nothing kiln does with
            // YAML depends on. Untracked files are asked.
            let executable = match self.shared.git {
                Some(git) if git.is_tracked_file(&path) => {
                    git.executables.binary_search(&path).is_ok()
                }
                _ => is_executable(entry)?,
            };
            if executable {
                EntryKind::Executable
            } else {
                EntryKind::File
            }
        } else {
            // Sockets, FIFOs and devices cannot be committed; they are not part of any view.
            return Ok(None);
        };
        self.files.push(Entry { path, kind });
        Ok(None)
    }

    /// Whether `path` is ignored and untracked, so the walk leaves it out.
    fn is_excluded(&mut self, git: &GitContext<'_>, path: &str, is_dir: bool) -> bool {
        let parent = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let in_ignored_dir = (!self.ignored_but_walked.is_empty()
            && self.ignored_but_walked.contains(parent))
            || (!self.shared.ignored_but_walked.is_empty()
                && self.shared.ignored_but_walked.contains(parent));
        let ignored = in_ignored_dir || self.matches_ignore(path, is_dir);
        if !ignored {
            return false;
        }
        if is_dir {
            if git.has_tracked_below(path) {
                self.ignored_but_walked.insert(path.to_owned());
                return false;
            }
            return true;
        }
        !git.is_tracked_file(path)
    }

    /// Pattern matching against this walker's and the shared `.gitignore` files.
    fn matches_ignore(&self, path: &str, is_dir: bool) -> bool {
        if self.ignores.is_empty() && self.shared.ignores.is_empty() {
            return false;
        }
        let lookup = |dir: &str| -> Option<&Gitignore> {
            self.ignores
                .matcher(dir)
                .or_else(|| self.shared.ignores.matcher(dir))
        };
        gitignore::decide(&self.ignores.repo_path(path), is_dir, lookup) == Some(true)
    }

    fn into_parts(self) -> Parts {
        Parts {
            files: self.files,
            links: self.links,
            ignored_dirs: self.ignored_dirs,
            nested_repos: self.nested_repos,
            ignores: self.ignores,
        }
    }
}

/// A walker's findings, detached from the borrowed shared state so they can be merged.
struct Parts {
    files: Vec<Entry>,
    links: HashMap<String, String>,
    ignored_dirs: Vec<String>,
    nested_repos: Vec<String>,
    ignores: Ignores,
}

impl Parts {
    fn absorb(&mut self, other: Parts) {
        self.files.extend(other.files);
        self.links.extend(other.links);
        self.ignored_dirs.extend(other.ignored_dirs);
        self.nested_repos.extend(other.nested_repos);
        self.ignores.merge(other.ignores);
    }

    fn finish(mut self) -> Listing {
        // A nested repository shows as a submodule, as `git add` would record it.
        self.nested_repos.sort_unstable();
        self.nested_repos.dedup();
        for dir in &self.nested_repos {
            let prefix = format!("{dir}/");
            self.files.retain(|e| !e.path.starts_with(&prefix));
            self.links.retain(|path, _| !path.starts_with(&prefix));
            self.ignored_dirs.retain(|d| !d.starts_with(&prefix));
            self.files.push(Entry {
                path: dir.clone(),
                kind: EntryKind::Submodule,
            });
        }
        self.files.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        self.files.dedup_by(|a, b| a.path == b.path);
        self.ignored_dirs.sort_unstable();
        Listing {
            files: self.files,
            links: self.links,
            ignored_dirs: self.ignored_dirs,
            ignores: self.ignores,
        }
    }
}

/// Reads a `.gitignore` on disk; `None` if there is none.
fn read_gitignore(path: &Path) -> Result<Option<Vec<u8>>, FsError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err)
            if matches!(
                err.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(source) => Err(FsError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(unix)]
fn is_executable(entry: &std::fs::DirEntry) -> Result<bool, FsError> {
    use std::os::unix::fs::PermissionsExt;
    // `DirEntry::metadata` stats relative to the open directory (`fstatat`), which is much
    // cheaper than `symlink_metadata` on the full path: no path walk from `/` for every file.
    let metadata = entry.metadata().map_err(|source| FsError::Io {
        path: entry.path(),
        source,
    })?;
    // Git records a file as executable when its owner may execute it.
    Ok(metadata.permissions().mode() & 0o100 != 0)
}

#[cfg(not(unix))]
fn is_executable(_entry: &std::fs::DirEntry) -> Result<bool, FsError> {
    // Without an executable bit on disk (git's `core.fileMode=false`), files are plain files.
    Ok(false)
}
