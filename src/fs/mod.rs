//! A read-only view of a project's files, taken from one of three sources.
//!
//! Every later stage of kiln reads the project through a [`RepoFs`], so the same check can run on
//! what is on disk ([`Source::WorkTree`]), on exactly what is staged ([`Source::Index`], used by the
//! pre-commit hook) or on any commit ([`Source::Rev`], used by CI). The view is built once by
//! [`RepoFs::open`]: the list of files is fixed at that point, and lookups ([`RepoFs::kind`],
//! [`RepoFs::read_dir`], [`RepoFs::resolve`]) never touch the disk or the object database again.
//! Only [`RepoFs::read`] does IO, on demand.
//!
//! This module owns:
//! - finding the git repository that contains the project root, and the root's prefix in it;
//! - listing files (a pruning walk on disk, the index entries, or a tree) and reading their bytes;
//! - path rules: view paths are relative to the project root, `/`-separated, without a leading
//!   `/`; `.` and `..` are normalised lexically and may not climb above the project root;
//! - symlinks, resolved inside the view and never allowed to lead out of the project root;
//! - `.gitignore` matching and "is this path tracked" questions, each answered from the view's own
//!   source.
//!
//! It deliberately does not parse file contents, does not know what a kustomization is, and never
//! writes: not to the work tree, not to the index, not to the object database, not to refs.
//!
//! # Invariants
//!
//! - [`RepoFs::files`] is sorted by path bytes and identical for identical inputs.
//! - A successful [`RepoFs::read`] or [`RepoFs::resolve`] only ever names a file inside the
//!   project root, however the symlinks in the view are laid out.
//! - Results do not depend on the user's global or system git configuration, or on `GIT_*`
//!   environment variables: the repository is opened with [`gix::open::Options::isolated`], and
//!   the only outside input that can change the view is passed explicitly
//!   ([`OpenOptions::index_file`]).
//! - [`RepoFs`] is `Send + Sync`, so callers may read files from many threads at once.

mod git;
mod gitignore;
mod path;
mod worktree;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use gix::ObjectId;

use self::gitignore::Ignores;

/// Where the files of a [`RepoFs`] come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// The files on disk below the project root, minus `.git` and whatever `.gitignore` excludes.
    WorkTree,
    /// The git index: exactly what `git commit` would record right now, read from the object
    /// database without touching the work tree.
    Index,
    /// The tree of a revision, given as anything `git rev-parse` understands: `HEAD`, `HEAD~1`, a
    /// branch, a full or abbreviated object id, `origin/main`, …
    Rev(String),
}

/// What kind of thing a path listed by [`RepoFs::files`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A regular file with the executable bit (git mode `100755`).
    Executable,
    /// A symbolic link. [`RepoFs::read_link`] gives its target, [`RepoFs::resolve`] and
    /// [`RepoFs::read`] follow it.
    Symlink,
    /// A git submodule (git mode `160000`, or a nested repository on disk). Its contents are not
    /// part of the view; the path behaves as an empty directory.
    Submodule,
}

/// One file, symlink or submodule of the view.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    /// Path relative to the project root, `/`-separated, without a leading `/`.
    pub path: String,
    /// What the path is.
    pub kind: EntryKind,
}

/// What a path is, as answered by [`RepoFs::kind`] and [`RepoFs::read_dir`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathKind {
    /// A regular or executable file.
    File,
    /// A directory: the project root, any directory with a file below it, or a submodule.
    Dir,
    /// A symbolic link (not followed).
    Symlink,
}

/// What the index changes relative to `HEAD`, for [`Source::Index`] views.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StagedChanges {
    /// The tree of `HEAD`; `None` before the first commit.
    pub head_tree: Option<ObjectId>,
    /// View paths added, removed, or with another blob or mode than in `HEAD` (all of them
    /// before the first commit), sorted.
    pub paths: std::collections::BTreeSet<String>,
    /// Paths with unresolved merge conflicts (the view shows "ours" for them), sorted.
    pub unmerged: Vec<String>,
    /// The operation git is in the middle of: `merge`, `rebase`, `cherry-pick` or `revert`.
    pub operation: Option<&'static str>,
}

/// The common git directory (`.git`; the main one for a linked worktree) of the repository
/// whose work tree contains `root`, without listing anything; `None` outside a repository.
///
/// # Errors
/// The root cannot be canonicalised, or the repository cannot be opened.
pub fn git_common_dir(root: &Path) -> Result<Option<PathBuf>, FsError> {
    let root = std::fs::canonicalize(root).map_err(|source| FsError::Io {
        path: root.to_owned(),
        source,
    })?;
    Ok(git::discover(&root)?.map(|(_, location)| location.common_dir))
}

/// Inputs to [`RepoFs::open_with`] that change what the view contains.
///
/// Everything here is explicit on purpose: the module itself never reads environment variables,
/// so that a test or a CI job sees the same view whatever the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Read this index file instead of the repository's own (`.git/index`).
    ///
    /// `git commit -a`, `git commit <paths>` and `git commit --only` run the pre-commit hook with
    /// `GIT_INDEX_FILE` pointing at a temporary index that holds what is about to be committed.
    /// A hook that wants to check "exactly what is staged" passes that variable's value here.
    /// A relative path is taken relative to the current directory, as git does.
    /// Only used by [`Source::Index`] (and for [`RepoFs::is_tracked`] under [`Source::WorkTree`]).
    pub index_file: Option<PathBuf>,
}

/// Everything that can go wrong while opening or reading a [`RepoFs`].
///
/// Paths named `path: String` are view paths (relative to the project root); paths named
/// `path: PathBuf` are paths on disk.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// The path is not in the view: it does not exist, is git-ignored (work tree), is not staged
    /// (index) or is not in the tree (revision), or a file was used as a directory.
    #[error("{path}: not found")]
    NotFound {
        /// The path asked for.
        path: String,
    },
    /// Reading from disk failed.
    #[error("cannot read {}", path.display())]
    Io {
        /// The path on disk that could not be read.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Following the path leads outside the project root, through `..` or a symlink.
    #[error("{path}: leads outside the project root, to {target}")]
    EscapesRoot {
        /// The path asked for.
        path: String,
        /// Where it leads: an absolute symlink target as written, or otherwise the location
        /// relative to the project root (starting with `..`).
        target: String,
    },
    /// View paths are relative to the project root; an absolute path is never valid.
    #[error("{path}: absolute paths are not allowed, paths are relative to the project root")]
    Absolute {
        /// The path asked for.
        path: String,
    },
    /// A symlink whose target does not exist in the view.
    #[error("{path}: dangling symlink to {target}")]
    DanglingSymlink {
        /// The symlink that dangles (which may be a component of the path asked for).
        path: String,
        /// Its target, as written in the link.
        target: String,
    },
    /// Resolving the path followed more than 40 symlinks, like `ELOOP` on Linux.
    #[error("{path}: too many levels of symbolic links")]
    SymlinkLoop {
        /// The path asked for.
        path: String,
    },
    /// [`Source::Index`] or [`Source::Rev`] was asked for, but no git work tree contains the
    /// project root.
    #[error("{}: not inside a git work tree", path.display())]
    NotARepository {
        /// The project root.
        path: PathBuf,
    },
    /// The revision of [`Source::Rev`] could not be resolved to a commit or tree.
    #[error("bad revision {rev:?}: {message}")]
    BadRevision {
        /// The revision as given.
        rev: String,
        /// Why it could not be resolved.
        message: String,
    },
    /// Reading the repository failed (corrupt or missing objects, unreadable index, …).
    #[error("git: {message}")]
    Git {
        /// What was being done, followed by gix's error chain.
        message: String,
    },
    /// [`RepoFs::read`] was asked to read a directory (or a submodule).
    #[error("{path}: is a directory")]
    IsDirectory {
        /// The path asked for.
        path: String,
    },
    /// A file name on disk or in git is not valid UTF-8; view paths are `String`s.
    #[error("{}: file name is not valid UTF-8", path.display())]
    NonUtf8Path {
        /// The offending path, lossily converted where it came from git.
        path: PathBuf,
    },
}

/// A read-only view of the files below a project root, from one [`Source`].
///
/// Cheap to query: the file list is sorted and lookups are binary searches. `RepoFs` is
/// `Send + Sync`; [`RepoFs::read`] may be called from many threads at once.
#[derive(Debug)]
pub struct RepoFs {
    source: Source,
    /// Canonical, absolute project root.
    root: PathBuf,
    /// The repository containing the root, if any.
    repo: Option<git::RepoLocation>,
    /// Every file, symlink and submodule, sorted by path bytes.
    files: Vec<Entry>,
    /// Blob ids, parallel to `files`; empty for [`Source::WorkTree`], whose bytes come from disk.
    blobs: Vec<ObjectId>,
    /// Symlink path → target as written. Read once at open, so that `resolve` needs no IO.
    links: HashMap<String, String>,
    /// Work tree only: directories not walked because they are ignored.
    ignored_dirs: Vec<String>,
    /// Paths in the index, sorted, for [`RepoFs::is_tracked`] under [`Source::WorkTree`]. The git
    /// sources answer from `files` instead.
    tracked: Vec<String>,
    ignores: Ignores,
    /// [`Source::Index`] only: what the index changes relative to `HEAD`.
    staged: Option<StagedChanges>,
    /// How lookups find paths.
    lookups: Lookups,
}

/// The state of [`RepoFs::lookup`]: how many binary searches so far, and the hash index that
/// replaces them after [`Lookups::BINARY_SEARCHES`].
#[derive(Debug, Default)]
struct Lookups {
    count: std::sync::atomic::AtomicUsize,
    index: std::sync::OnceLock<HashMap<Box<str>, Found>>,
}

impl Lookups {
    /// Enough for a command that looks up a handful of paths (a cache hit), few enough that a
    /// command resolving thousands does not pay for them.
    const BINARY_SEARCHES: usize = 256;
}

// `read` is called from rayon workers by later stages; keep that a compile-time promise.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RepoFs>();
};

/// Opening.
impl RepoFs {
    /// Opens a view of the files below `project_root`, from `source`.
    ///
    /// The git repository is discovered from `project_root` upwards. `project_root` may be any
    /// directory inside the work tree; only entries below it are part of the view, and view paths
    /// are relative to it. [`Source::WorkTree`] also works without a repository (then nothing is
    /// ignored and nothing is tracked); [`Source::Index`] and [`Source::Rev`] fail with
    /// [`FsError::NotARepository`].
    ///
    /// This is [`RepoFs::open_with`] with default [`OpenOptions`].
    ///
    /// # Errors
    ///
    /// [`FsError::Io`] when the project root or a directory below it cannot be read;
    /// [`FsError::NotARepository`] as above; [`FsError::BadRevision`] when the revision does not
    /// resolve to a commit or tree; [`FsError::Git`] when the repository, index or objects cannot
    /// be read; [`FsError::NonUtf8Path`] for a file name in the view that is not UTF-8.
    pub fn open(project_root: &Path, source: Source) -> Result<RepoFs, FsError> {
        Self::open_with(project_root, source, &OpenOptions::default())
    }

    /// Like [`RepoFs::open`], with explicit [`OpenOptions`].
    ///
    /// # Errors
    ///
    /// As for [`RepoFs::open`]; an explicit [`OpenOptions::index_file`] that does not exist is
    /// [`FsError::Io`].
    pub fn open_with(
        project_root: &Path,
        source: Source,
        options: &OpenOptions,
    ) -> Result<RepoFs, FsError> {
        // Canonicalise once, so the prefix computation below compares like with like
        // (`/tmp` vs `/private/tmp`, symlinked checkouts) and `root()` is always absolute.
        let root = std::fs::canonicalize(project_root).map_err(|source| FsError::Io {
            path: project_root.to_owned(),
            source,
        })?;
        if !root.is_dir() {
            return Err(FsError::Io {
                path: root,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotADirectory,
                    "the project root is not a directory",
                ),
            });
        }
        let Some((repo, location)) = git::discover(&root)? else {
            return match source {
                Source::WorkTree => {
                    let listing = worktree::walk(&root, None)?;
                    Ok(Self::assemble(source, root, None, listing, Vec::new()))
                }
                Source::Index | Source::Rev(_) => Err(FsError::NotARepository { path: root }),
            };
        };
        let index_file = options.index_file.as_deref();
        let listing = match &source {
            Source::WorkTree => {
                let index = git::tracked_paths(&repo, &location, index_file)?;
                // The work tree view reads from disk; no handle to keep.
                drop(repo);
                let gitlinks: Vec<String> = index
                    .iter()
                    .filter(|e| e.kind == EntryKind::Submodule)
                    .map(|e| e.path.clone())
                    .collect();
                let executables: Vec<String> = index
                    .iter()
                    .filter(|e| e.kind == EntryKind::Executable)
                    .map(|e| e.path.clone())
                    .collect();
                let tracked: Vec<String> = index.into_iter().map(|e| e.path).collect();
                let context = worktree::GitContext {
                    location: &location,
                    tracked: &tracked,
                    gitlinks: &gitlinks,
                    executables: &executables,
                };
                let listing = worktree::walk(&root, Some(context))?;
                return Ok(Self::assemble(
                    source,
                    root,
                    Some(location),
                    listing,
                    tracked,
                ));
            }
            Source::Index => git::list_index(&repo, &location, index_file)?,
            Source::Rev(rev) => git::list_rev(&repo, &location, rev)?,
        };
        // Keep this thread's handle for the `read`s that usually follow on the same thread.
        git::keep(repo, &location);
        let (files, blobs) = listing
            .entries
            .into_iter()
            .map(|e| {
                (
                    Entry {
                        path: e.path,
                        kind: e.kind,
                    },
                    e.id,
                )
            })
            .unzip();
        Ok(RepoFs {
            source,
            root,
            repo: Some(location),
            files,
            blobs,
            links: listing.links,
            ignored_dirs: Vec::new(),
            tracked: Vec::new(),
            ignores: listing.ignores,
            staged: listing.staged,
            lookups: Lookups::default(),
        })
    }

    fn assemble(
        source: Source,
        root: PathBuf,
        repo: Option<git::RepoLocation>,
        listing: worktree::Listing,
        tracked: Vec<String>,
    ) -> RepoFs {
        RepoFs {
            source,
            root,
            repo,
            files: listing.files,
            blobs: Vec::new(),
            links: listing.links,
            ignored_dirs: listing.ignored_dirs,
            tracked,
            ignores: listing.ignores,
            staged: None,
            lookups: Lookups::default(),
        }
    }
}

/// Listing and lookups. None of these do IO.
impl RepoFs {
    /// The source this view was opened from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// For [`Source::Index`]: what the index changes relative to `HEAD`.
    pub fn staged_changes(&self) -> Option<&StagedChanges> {
        self.staged.as_ref()
    }

    /// The repository's common git directory (`.git`, shared by linked worktrees), if the
    /// project is in one.
    pub fn git_dir(&self) -> Option<&Path> {
        self.repo.as_ref().map(|r| r.common_dir.as_path())
    }

    /// Every entry with its blob id, in path order, for the git sources; `None` for the work
    /// tree, whose ids would have to be computed from the bytes.
    pub fn entries_with_ids(&self) -> Option<impl Iterator<Item = (&Entry, &ObjectId)>> {
        (!matches!(self.source, Source::WorkTree)).then(|| self.files.iter().zip(&self.blobs))
    }

    /// The project root: absolute and canonical (symlinks in it resolved).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The root of the git work tree containing the project root (canonical), if there is one.
    pub fn repo_root(&self) -> Option<&Path> {
        self.repo.as_ref().map(|r| r.work_dir.as_path())
    }

    /// Every file, symlink and submodule of the view, sorted by path bytes.
    ///
    /// Directories are not listed; they exist when something is below them.
    /// For [`Source::WorkTree`], this is a walk that does not follow symlinks, skips `.git`, and
    /// prunes directories and files that `.gitignore` excludes, unless git tracks them (git never
    /// ignores a tracked path). For the git sources it is the index or the tree, below the
    /// project root.
    pub fn files(&self) -> &[Entry] {
        &self.files
    }

    /// Work tree only: directories that were not walked because they are ignored, sorted.
    /// Empty for the git sources.
    pub fn ignored_dirs(&self) -> &[String] {
        &self.ignored_dirs
    }

    /// What `path` is, without following a final symlink (like `symlink_metadata`).
    ///
    /// `path` is normalised lexically first (`a/./b/../c` is `a/c`). Symlinks in the middle of
    /// the path are not followed here: `link/file` is `None` even if `link` points to a directory
    /// containing `file`; use [`RepoFs::resolve`] for that. Returns `None` for paths outside the
    /// view, including absolute ones and ones climbing above the root.
    pub fn kind(&self, path: &str) -> Option<PathKind> {
        let path = path::normalize(path).ok()?;
        self.lookup(&path).map(Found::path_kind)
    }

    /// Whether `path` is a directory, following symlinks (like [`Path::is_dir`]).
    pub fn is_dir(&self, path: &str) -> bool {
        self.resolve(path).is_ok_and(|p| {
            self.lookup(&p)
                .is_some_and(|f| f.path_kind() == PathKind::Dir)
        })
    }

    /// Whether `path` is a regular or executable file, or a symlink that resolves to one.
    pub fn is_file(&self, path: &str) -> bool {
        self.resolve(path).is_ok_and(|p| {
            self.lookup(&p)
                .is_some_and(|f| f.path_kind() == PathKind::File)
        })
    }

    /// The entries directly inside the directory `path`, sorted by name; `""` is the project root.
    ///
    /// Symlinks in `path` are followed. Returns an empty list if `path` is not a directory of the
    /// view (or is a submodule).
    pub fn read_dir(&self, path: &str) -> Vec<(String, PathKind)> {
        let Ok(dir) = self.resolve(path) else {
            return Vec::new();
        };
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let range = self.prefix_range(&prefix);
        let mut out: Vec<(String, PathKind)> = Vec::new();
        for entry in &self.files[range] {
            let rest = &entry.path[prefix.len()..];
            let (name, kind) = match rest.split_once('/') {
                Some((name, _)) => (name, PathKind::Dir),
                None => (rest, Found::from(entry.kind).path_kind()),
            };
            // Entries of one subdirectory are contiguous in byte order, so a look at the last
            // pushed name removes nearly all duplicates; the sort + dedup below catches the rest
            // (`a/b-x` sorts between `a/b` children when `b` is a directory).
            if out.last().is_none_or(|(last, _)| last != name) {
                out.push((name.to_owned(), kind));
            }
        }
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }

    /// The target of the symlink at `path`, as written in the link; `None` if `path` is not a
    /// symlink of the view. Like `readlink`, the final component is not followed, and nothing is
    /// checked about the target.
    pub fn read_link(&self, path: &str) -> Option<&str> {
        let path = path::normalize(path).ok()?;
        self.link_target(&path)
    }

    /// Resolves `path` to the view path of what it names.
    ///
    /// `.` and `..` are first normalised lexically (so `a/link/..` is `a`, as in `filepath.Clean`
    /// and kustomize). Then each component is looked up in turn, and a symlink is replaced by its
    /// target, relative to the link's directory; `..` inside a target goes up from the directory
    /// the link is in. At most 40 symlinks are followed.
    ///
    /// # Errors
    ///
    /// [`FsError::Absolute`] for an absolute `path`; [`FsError::EscapesRoot`] when `..` or a
    /// symlink leads above the project root or a symlink target is absolute;
    /// [`FsError::DanglingSymlink`] when a link's target does not exist; [`FsError::SymlinkLoop`]
    /// after 40 links; [`FsError::NotFound`] when `path` itself does not exist.
    pub fn resolve(&self, path: &str) -> Result<String, FsError> {
        path::resolve(self, path)
    }

    /// Whether `path` is ignored by the `.gitignore` files of this view's own source.
    ///
    /// For [`Source::WorkTree`] those are the `.gitignore` files on disk; for the git sources the
    /// `.gitignore` blobs in the index or tree. Files above the project root, up to the repository
    /// root, count too. Semantics are git's: the deepest `.gitignore` with a matching pattern
    /// decides, the last matching line in it wins, `!` re-includes, a trailing `/` only matches
    /// directories, and a path inside an ignored directory is ignored. The project root itself and
    /// its parents are never considered ignored. `.git/info/exclude` and `core.excludesFile` are
    /// not read, so the answer does not depend on the machine. Without a repository nothing is
    /// ignored.
    ///
    /// This is pattern matching only: a tracked file can be "ignored" here and still be in
    /// [`RepoFs::files`].
    pub fn is_ignored(&self, path: &str, is_dir: bool) -> bool {
        match path::normalize(path) {
            Ok(path) => self.ignores.is_ignored(&path, is_dir),
            Err(_) => false,
        }
    }

    /// Whether `path`, or for a directory anything below it, is tracked.
    ///
    /// For [`Source::WorkTree`] and [`Source::Index`] that means "in the git index"; for
    /// [`Source::Rev`], "in that revision's tree". Always `false` without a repository. Symlinks
    /// in `path` are not followed.
    pub fn is_tracked(&self, path: &str) -> bool {
        let Ok(path) = path::normalize(path) else {
            return false;
        };
        match self.source {
            Source::WorkTree => {
                if self.repo.is_none() {
                    return false;
                }
                if self.tracked.binary_search(&path).is_ok() {
                    return true;
                }
                let prefix = if path.is_empty() {
                    String::new()
                } else {
                    format!("{path}/")
                };
                let i = self
                    .tracked
                    .partition_point(|t| t.as_str() < prefix.as_str());
                self.tracked.get(i).is_some_and(|t| t.starts_with(&prefix))
            }
            // `lookup` answers `Dir` for the root even when the view is empty.
            Source::Index | Source::Rev(_) if path.is_empty() => !self.files.is_empty(),
            Source::Index | Source::Rev(_) => self.lookup(&path).is_some(),
        }
    }
}

/// Reading.
impl RepoFs {
    /// Reads the whole content of the file at `path`, following symlinks (see
    /// [`RepoFs::resolve`]).
    ///
    /// For [`Source::WorkTree`] the bytes come from disk at the time of the call; for the git
    /// sources from the blob recorded in the index or tree, with no filters applied (no CRLF
    /// conversion, no LFS smudging): what git stores is what you get.
    ///
    /// # Errors
    ///
    /// Everything [`RepoFs::resolve`] returns, plus [`FsError::IsDirectory`],
    /// [`FsError::Io`] when the disk read fails, and [`FsError::Git`] when the object cannot be
    /// read.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
        let resolved = self.resolve(path)?;
        let index = match self
            .files
            .binary_search_by(|e| e.path.as_str().cmp(&resolved))
        {
            Ok(i) => i,
            // `resolve` only returns existing paths, so a miss means a directory.
            Err(_) => {
                return Err(FsError::IsDirectory {
                    path: path.to_owned(),
                });
            }
        };
        match self.files[index].kind {
            EntryKind::File | EntryKind::Executable => {}
            EntryKind::Submodule => {
                return Err(FsError::IsDirectory {
                    path: path.to_owned(),
                });
            }
            // `resolve` replaces every symlink by its target.
            EntryKind::Symlink => {
                return Err(FsError::NotFound {
                    path: path.to_owned(),
                });
            }
        }
        match (&self.source, &self.repo) {
            (Source::WorkTree, _) => {
                let on_disk = self.root.join(&resolved);
                read_small_file(&on_disk).map_err(|source| FsError::Io {
                    path: on_disk,
                    source,
                })
            }
            (Source::Index | Source::Rev(_), Some(repo)) => {
                git::read_blob(repo, self.blobs[index], &resolved)
            }
            (Source::Index | Source::Rev(_), None) => Err(FsError::NotARepository {
                path: self.root.clone(),
            }),
        }
    }
}

impl RepoFs {
    /// The git blob id of a file's content: from the index or tree for git sources (no read),
    /// hashed from the file for the work tree. `None` when the path is not a readable file.
    /// Equal ids mean equal bytes, whatever the sources.
    #[must_use]
    pub fn blob_id(&self, path: &str) -> Option<gix::ObjectId> {
        let resolved = self.resolve(path).ok()?;
        let index = self
            .files
            .binary_search_by(|e| e.path.as_str().cmp(&resolved))
            .ok()?;
        match &self.source {
            Source::Index | Source::Rev(_) => self.blobs.get(index).copied(),
            Source::WorkTree => {
                let bytes = self.read(path).ok()?;
                gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, &bytes).ok()
            }
        }
    }
}

/// Reads a whole file without asking its size first.
///
/// `std::fs::read` stats the file to size its buffer: one extra system call per file, which
/// on a repository of 12,000 small manifests costs more than the reads themselves. Files
/// here are small; a buffer that starts at 8 KiB and grows covers them in one or two reads.
fn read_small_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    // Not `read_to_end`: it asks for the size too (`statx` and `lseek`).
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 8 * 1024];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return Ok(bytes),
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}

/// What a normalised view path names, before mapping to the public [`PathKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    File,
    Symlink,
    /// A directory, or a submodule (which the view shows as an empty directory).
    Dir,
}

impl Found {
    fn path_kind(self) -> PathKind {
        match self {
            Found::File => PathKind::File,
            Found::Symlink => PathKind::Symlink,
            Found::Dir => PathKind::Dir,
        }
    }
}

impl From<EntryKind> for Found {
    fn from(kind: EntryKind) -> Self {
        match kind {
            EntryKind::File | EntryKind::Executable => Found::File,
            EntryKind::Symlink => Found::Symlink,
            EntryKind::Submodule => Found::Dir,
        }
    }
}

/// Internal lookups shared by the public methods and the resolver.
impl RepoFs {
    /// Looks up a normalised view path: an entry, an implied directory, or nothing.
    fn lookup(&self, path: &str) -> Option<Found> {
        if path.is_empty() {
            return Some(Found::Dir);
        }
        // A few lookups binary-search the sorted list; a run that looks up many paths (path
        // resolution during discovery does thousands) gets a hash index, built once.
        if let Some(index) = self.lookups.index.get() {
            return index.get(path).copied();
        }
        if self
            .lookups
            .count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            >= Lookups::BINARY_SEARCHES
        {
            return self
                .lookups
                .index
                .get_or_init(|| self.hash_index())
                .get(path)
                .copied();
        }
        match self.files.binary_search_by(|e| e.path.as_str().cmp(path)) {
            Ok(i) => Some(Found::from(self.files[i].kind)),
            // A directory exists when something is below it.
            Err(_) => {
                let below = self.prefix_range(&format!("{path}/"));
                (!below.is_empty()).then_some(Found::Dir)
            }
        }
    }

    /// Every entry and every directory above one, for [`RepoFs::lookup`].
    fn hash_index(&self) -> HashMap<Box<str>, Found> {
        let mut index: HashMap<Box<str>, Found> = HashMap::with_capacity(self.files.len() * 3 / 2);
        for entry in &self.files {
            index.insert(entry.path.as_str().into(), Found::from(entry.kind));
            let mut dir = entry.path.as_str();
            while let Some((parent, _)) = dir.rsplit_once('/') {
                if index.contains_key(parent) {
                    break; // Its ancestors are in too.
                }
                index.insert(parent.into(), Found::Dir);
                dir = parent;
            }
        }
        index
    }

    /// The index range of entries whose path starts with `prefix` (all entries for `""`).
    fn prefix_range(&self, prefix: &str) -> std::ops::Range<usize> {
        path::prefix_range(&self.files, prefix, |e| e.path.as_str())
    }

    /// The target of the symlink at `path`, as written.
    fn link_target(&self, path: &str) -> Option<&str> {
        self.links.get(path).map(String::as_str)
    }

    /// Whether the view contains any symlink; lets the resolver skip its slow path.
    fn has_links(&self) -> bool {
        !self.links.is_empty()
    }
}
