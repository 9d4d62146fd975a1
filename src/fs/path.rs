//! View path rules: lexical normalisation and symlink resolution inside the project root.
//!
//! Both work on the in-memory file list only, so resolving is the same for all three sources and
//! never consults the disk: a symlink on disk and a mode-120000 blob in git behave identically.

use std::collections::VecDeque;

use super::{Found, FsError, RepoFs};

/// Linux's limit on symlinks followed while resolving one path (`MAXSYMLINKS`).
const MAX_SYMLINK_HOPS: usize = 40;

/// Normalises `path` lexically: drops empty and `.` components, applies `..`, and joins the rest
/// with `/`. The project root is `""`.
///
/// Fails with [`FsError::Absolute`] for an absolute path and [`FsError::EscapesRoot`] when a `..`
/// climbs above the root.
pub(super) fn normalize(path: &str) -> Result<String, FsError> {
    if is_absolute(path) {
        return Err(FsError::Absolute {
            path: path.to_owned(),
        });
    }
    // Fast path for the common case of an already-clean path: no allocation beyond the result.
    if !path.is_empty()
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
    {
        return Ok(path.to_owned());
    }
    let (up, components) = clean(path.split('/'));
    if up > 0 {
        return Err(FsError::EscapesRoot {
            path: path.to_owned(),
            target: render(up, &components),
        });
    }
    Ok(components.join("/"))
}

/// Whether `path` is absolute on this platform or in `/`-separated form.
fn is_absolute(path: &str) -> bool {
    path.starts_with('/') || std::path::Path::new(path).has_root()
}

/// Lexically cleans a sequence of components: returns how many `..` climb above the start and
/// the remaining components.
fn clean<'a>(components: impl Iterator<Item = &'a str>) -> (usize, Vec<&'a str>) {
    let mut up = 0;
    let mut out: Vec<&str> = Vec::new();
    for c in components {
        match c {
            "" | "." => {}
            ".." => {
                if out.pop().is_none() {
                    up += 1;
                }
            }
            name => out.push(name),
        }
    }
    (up, out)
}

/// Renders a location `up` levels above the root followed by `components`, e.g. `../../etc`.
fn render(up: usize, components: &[&str]) -> String {
    let mut parts = vec![".."; up];
    parts.extend_from_slice(components);
    parts.join("/")
}

/// A component still to be resolved, and which followed symlink (index into `followed`) it came
/// from, if any. The origin tells a dangling link apart from a plain missing path.
struct Pending {
    name: String,
    origin: Option<usize>,
}

/// Resolves `asked` in `fs` to the path of an existing entry or directory; see
/// [`RepoFs::resolve`].
pub(super) fn resolve(fs: &RepoFs, asked: &str) -> Result<String, FsError> {
    let normalized = normalize(asked)?;
    let not_found = || FsError::NotFound {
        path: asked.to_owned(),
    };
    if !fs.has_links() {
        // Without symlinks, resolution is a lookup.
        return match fs.lookup(&normalized) {
            Some(_) => Ok(normalized),
            None => Err(not_found()),
        };
    }

    let mut pending: VecDeque<Pending> = normalized
        .split('/')
        .filter(|c| !c.is_empty())
        .map(|c| Pending {
            name: c.to_owned(),
            origin: None,
        })
        .collect();
    // Links followed so far: (link path, target). Indexed by `Pending::origin`.
    let mut followed: Vec<(String, String)> = Vec::new();
    let mut resolved: Vec<String> = Vec::new();

    while let Some(Pending { name, origin }) = pending.pop_front() {
        match name.as_str() {
            "" | "." => continue,
            ".." => {
                if resolved.pop().is_none() {
                    // Only a symlink target can get here: `normalized` has no leading `..`.
                    let rest = pending.iter().map(|p| p.name.as_str());
                    let (up, components) = clean(rest);
                    return Err(FsError::EscapesRoot {
                        path: asked.to_owned(),
                        target: render(up + 1, &components),
                    });
                }
                continue;
            }
            _ => {}
        }
        resolved.push(name);
        let current = resolved.join("/");
        match fs.lookup(&current) {
            Some(Found::Dir) => {}
            Some(Found::File) => {
                // A file used as a directory (`file.txt/x`) does not exist, like `ENOTDIR`. Blame
                // whoever asked to descend: a link's target, or the path itself.
                if let Some(next) = pending.iter().find(|p| !p.name.is_empty() && p.name != ".") {
                    return Err(match next.origin {
                        Some(link) => dangling(&followed[link]),
                        None => not_found(),
                    });
                }
            }
            Some(Found::Symlink) => {
                if followed.len() >= MAX_SYMLINK_HOPS {
                    return Err(FsError::SymlinkLoop {
                        path: asked.to_owned(),
                    });
                }
                // `lookup` found a symlink entry, so its target was recorded at open.
                let target = fs.link_target(&current).unwrap_or_default().to_owned();
                if target.is_empty() {
                    // An empty target names nothing (`ENOENT`), not the link's directory.
                    return Err(FsError::DanglingSymlink {
                        path: current,
                        target,
                    });
                }
                if is_absolute(&target) {
                    return Err(FsError::EscapesRoot {
                        path: asked.to_owned(),
                        target,
                    });
                }
                // The target is relative to the directory holding the link.
                resolved.pop();
                let link = followed.len();
                for component in target.split('/').rev() {
                    pending.push_front(Pending {
                        name: component.to_owned(),
                        origin: Some(link),
                    });
                }
                followed.push((current, target));
            }
            None => {
                return Err(match origin {
                    Some(link) => dangling(&followed[link]),
                    None => not_found(),
                });
            }
        }
    }
    Ok(resolved.join("/"))
}

fn dangling((path, target): &(String, String)) -> FsError {
    FsError::DanglingSymlink {
        path: path.clone(),
        target: target.clone(),
    }
}

/// The range of `sorted` (sorted by path bytes) whose paths start with `prefix`: everything
/// for `""`, the entries below a folder for `"dir/"`.
pub(super) fn prefix_range<T>(
    sorted: &[T],
    prefix: &str,
    path: impl Fn(&T) -> &str,
) -> std::ops::Range<usize> {
    if prefix.is_empty() {
        return 0..sorted.len();
    }
    let start = sorted.partition_point(|t| path(t) < prefix);
    let len = sorted[start..].partition_point(|t| path(t).starts_with(prefix));
    start..start + len
}
