//! The work tree side of the view: a pruning walk of the project root on disk.
//!
//! The walk does not follow symlinks, skips `.git`, and does not descend into directories that
//! `.gitignore` excludes, so ignored build output or dependency trees cost one directory read at
//! most. Like git, it keeps ignored paths that are tracked: ignore rules only apply to untracked
//! files, and the work tree view must agree with the index view on tracked content.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use walkdir::{DirEntry, WalkDir};

use super::git::{RepoLocation, ancestors_above};
use super::gitignore::{Ignores, join};
use super::{Entry, EntryKind, FsError};

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
    let mut ignores = Ignores::new(git.as_ref().map_or("", |g| g.location.prefix.as_str()));
    if let Some(git) = &git {
        // `.gitignore` files between the repository root and the project root apply too.
        for dir in ancestors_above(&git.location.prefix) {
            let on_disk = git.location.work_dir.join(&dir).join(".gitignore");
            if let Some(bytes) = read_gitignore(&on_disk)? {
                ignores.insert(dir, &bytes);
            }
        }
    }
    // The filter closure and the error handling below both need the state; they never run at
    // the same time, so a `RefCell` is enough.
    let state = RefCell::new(Walk {
        root,
        git,
        ignores,
        files: Vec::new(),
        links: HashMap::new(),
        ignored_dirs: Vec::new(),
        ignored_but_walked: HashSet::new(),
        nested_repos: Vec::new(),
        error: None,
    });

    let walker = WalkDir::new(root)
        .min_depth(1)
        .follow_links(false)
        // A directory's `.gitignore` must be read before its siblings are judged. walkdir reads
        // a whole directory before yielding from it when a sorter is set, so a stable sort that
        // only moves `.gitignore` to the front does it without a `stat` per directory.
        .sort_by(|a, b| {
            let a = a.file_name() != ".gitignore";
            let b = b.file_name() != ".gitignore";
            a.cmp(&b)
        });
    // `visit` records everything; the loop only sees errors.
    for result in walker
        .into_iter()
        .filter_entry(|entry| state.borrow_mut().visit(entry))
    {
        if let Err(err) = result {
            let mut state = state.borrow_mut();
            if state.error.is_none() {
                state.error = state.walk_error(err);
            }
        }
        if state.borrow().error.is_some() {
            break;
        }
    }
    let mut state = state.into_inner();
    match state.error.take() {
        Some(err) => Err(err),
        None => Ok(state.finish()),
    }
}

/// Mutable state of one walk, updated by [`Walk::visit`] for every entry walkdir yields.
struct Walk<'a> {
    root: &'a Path,
    git: Option<GitContext<'a>>,
    ignores: Ignores,
    files: Vec<Entry>,
    links: HashMap<String, String>,
    ignored_dirs: Vec<String>,
    /// Ignored directories walked anyway because tracked files are below them. Untracked paths
    /// inside are ignored whatever their own patterns say: git never looks inside an excluded
    /// directory, so `!` cannot re-include anything there.
    ignored_but_walked: HashSet<String>,
    /// Directories below the root that contain a `.git`: nested repositories, not our files.
    nested_repos: Vec<String>,
    /// The first error; stops the walk.
    error: Option<FsError>,
}

impl Walk<'_> {
    /// Decides about one entry: record it, descend into it (`true`), or prune it.
    fn visit(&mut self, entry: &DirEntry) -> bool {
        if self.error.is_some() {
            return false;
        }
        match self.try_visit(entry) {
            Ok(descend) => descend,
            Err(err) => {
                self.error = Some(err);
                false
            }
        }
    }

    fn try_visit(&mut self, entry: &DirEntry) -> Result<bool, FsError> {
        let name = entry.file_name();
        let file_type = entry.file_type();
        if name == ".git" {
            // The repository's own `.git` when the project root is the work tree root; deeper
            // down, a nested repository or a submodule checkout that the index does not know.
            if entry.depth() >= 2 {
                let parent = relative(self.root, entry.path().parent().unwrap_or(self.root))?;
                self.nested_repos.push(parent);
            }
            return Ok(false);
        }
        let path = relative(self.root, entry.path())?;
        let is_dir = file_type.is_dir();

        if let Some(git) = &self.git {
            if is_dir && git.is_gitlink(&path) {
                self.files.push(Entry {
                    path,
                    kind: EntryKind::Submodule,
                });
                return Ok(false);
            }
            // Thanks to the sorter this is the first entry of its directory; git reads it
            // whether or not it is itself ignored or tracked. Only regular files count, as in
            // git, which refuses to follow a symlinked `.gitignore`.
            if name == ".gitignore"
                && file_type.is_file()
                && let Some(bytes) = read_gitignore(entry.path())?
            {
                let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
                let repo_dir = self.ignores.repo_path(dir);
                self.ignores.insert(repo_dir, &bytes);
            }
            if self.is_excluded(&path, is_dir) {
                if is_dir {
                    self.ignored_dirs.push(path);
                }
                return Ok(false);
            }
        }

        if is_dir {
            return Ok(true);
        }
        let kind = if file_type.is_symlink() {
            let target = std::fs::read_link(entry.path()).map_err(|source| FsError::Io {
                path: entry.path().to_owned(),
                source,
            })?;
            // A non-UTF-8 target cannot name a view path; after lossy conversion it dangles.
            let target = target.to_string_lossy().into_owned();
            self.links.insert(path.clone(), target);
            EntryKind::Symlink
        } else if file_type.is_file() {
            if is_executable(entry)? {
                EntryKind::Executable
            } else {
                EntryKind::File
            }
        } else {
            // Sockets, FIFOs and devices cannot be committed; they are not part of any view.
            return Ok(false);
        };
        self.files.push(Entry { path, kind });
        Ok(false)
    }

    /// Turns a walkdir error into an [`FsError`], or `None` when it can be passed over.
    ///
    /// walkdir opens a directory as soon as it meets it, before the filter can prune it, so an
    /// unreadable directory that is ignored (or a submodule, or `.git`) fails here first. Those
    /// are not part of the view, and their contents were never going to be read.
    fn walk_error(&mut self, err: walkdir::Error) -> Option<FsError> {
        let path = err.path().unwrap_or(self.root).to_owned();
        let Some(source) = err.into_io_error() else {
            // Only symlink loops come without an IO error, and the walk follows no links.
            return None;
        };
        let prunable = path != self.root
            && (path.file_name().is_some_and(|name| name == ".git") || self.prune_dir(&path));
        (!prunable).then_some(FsError::Io { path, source })
    }

    /// For an unreadable directory: records it if the walk would have pruned it anyway, and says
    /// so.
    fn prune_dir(&mut self, on_disk: &Path) -> bool {
        let Ok(path) = relative(self.root, on_disk) else {
            return false;
        };
        let is_gitlink = self.git.as_ref().is_some_and(|git| git.is_gitlink(&path));
        if is_gitlink {
            self.files.push(Entry {
                path,
                kind: EntryKind::Submodule,
            });
            return true;
        }
        if self.is_excluded(&path, true) {
            self.ignored_dirs.push(path);
            return true;
        }
        false
    }

    /// Whether `path` is ignored and untracked, so the walk leaves it out.
    fn is_excluded(&mut self, path: &str, is_dir: bool) -> bool {
        let Some(git) = &self.git else {
            return false;
        };
        let parent = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let ignored = (!self.ignored_but_walked.is_empty()
            && self.ignored_but_walked.contains(parent))
            || self.ignores.decide(&self.ignores.repo_path(path), is_dir) == Some(true);
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

/// The view path of `path` below `root`.
fn relative(root: &Path, path: &Path) -> Result<String, FsError> {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let mut out = String::with_capacity(relative.as_os_str().len());
    for component in relative.components() {
        let Some(name) = component.as_os_str().to_str() else {
            return Err(FsError::NonUtf8Path {
                path: path.to_owned(),
            });
        };
        out = join(&out, name);
    }
    Ok(out)
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
fn is_executable(entry: &DirEntry) -> Result<bool, FsError> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = entry.metadata().map_err(|err| FsError::Io {
        path: entry.path().to_owned(),
        source: err
            .into_io_error()
            .unwrap_or_else(|| std::io::Error::other("metadata")),
    })?;
    // Git records a file as executable when its owner may execute it.
    Ok(metadata.permissions().mode() & 0o100 != 0)
}

#[cfg(not(unix))]
fn is_executable(_entry: &DirEntry) -> Result<bool, FsError> {
    // Without an executable bit on disk, git (core.fileMode=false) keeps the index mode; the
    // work tree view reports plain files.
    Ok(false)
}
