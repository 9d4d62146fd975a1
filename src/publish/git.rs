//! Writing a hydrated tree as a commit on the rendered branch, and reading a branch back, with
//! gix only: objects and references, never a work tree, an index or `HEAD`.
//!
//! # Owns
//! - [`prepare`]: reads the branch tip and the note reference, decides whether anything
//!   changed, and writes the objects (blobs, trees, the commit, the note commit). Objects no
//!   reference points at are invisible and harmless (`git gc` prunes them), so a failure after
//!   this step changes nothing anyone can see.
//! - [`PreparedPublish::apply`]: moves the branch and `refs/notes/hydrator.metadata` in one
//!   reference transaction, each with compare-and-swap against the value [`prepare`] read. Both
//!   reference files are locked before either moves; a lost race moves neither.
//! - [`read_branch`], [`source_from_revision`]: the reading side.
//!
//! # Does not own
//! The layout of the tree (`super::layout`), retries after a lost race (the command).
//!
//! # Opening the repository
//! Like `crate::fs`, repositories are opened with [`gix::open::Options::isolated`]: the
//! repository's own `.git/config` is read (object format, `core.logAllRefUpdates`), the global
//! and system configuration and `GIT_*` variables are not. Identity and dates never come from
//! configuration; the reflog records the configured identity and the source's committer date
//! too, so nothing here reads the clock. Bare repositories and linked work trees are fine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::objs::tree::EntryKind;
use gix::refs::FullName;
use gix::refs::transaction::{PreviousValue, RefEdit};

use super::layout::{is_generated, path_problem, rfc3339};
use super::{GitTime, Identity, KILN_TRAILER, NOTES_REF, PublishError, PublishOutcome, SourceInfo};

/// The version written into the [`KILN_TRAILER`] trailer.
const FORMAT_VERSION: &str = "1";

/// The blob entries of a tree, recursively: path to mode and id.
type Entries = BTreeMap<String, (EntryKind, ObjectId)>;

/// A publish whose objects are written and whose reference updates are decided, but not yet
/// applied. Made by [`prepare`]; [`PreparedPublish::apply`] moves the references.
pub struct PreparedPublish {
    repo: gix::Repository,
    branch: FullName,
    notes_ref: FullName,
    /// The branch tip that was read.
    tip: Option<ObjectId>,
    /// The notes tip that was read.
    notes_tip: Option<ObjectId>,
    /// The new branch tip; `None` when the render is unchanged.
    new_commit: Option<ObjectId>,
    /// What `apply` reports.
    outcome: PublishOutcome,
    /// The new notes tip; `None` when the note already records the source commit.
    new_notes: Option<ObjectId>,
    /// Identity and time for the reflog.
    signature: gix::actor::Signature,
    reflog_message: String,
}

impl std::fmt::Debug for PreparedPublish {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedPublish")
            .field("branch", &self.branch)
            .field("tip", &self.tip)
            .field("new_commit", &self.new_commit)
            .field("notes_tip", &self.notes_tip)
            .field("new_notes", &self.new_notes)
            .finish_non_exhaustive()
    }
}

impl PreparedPublish {
    /// What [`Self::apply`] reports if it succeeds.
    pub fn outcome(&self) -> &PublishOutcome {
        &self.outcome
    }

    /// The full name of the branch, `refs/heads/…`.
    pub fn branch(&self) -> String {
        self.branch.to_string()
    }

    /// Moves the branch and the notes reference, each only if it still points where
    /// [`prepare`] read it.
    pub fn apply(self) -> Result<PublishOutcome, PublishError> {
        let outcome = self.outcome.clone();
        let mut edits = Vec::new();
        if let Some(commit) = self.new_commit {
            edits.push(RefEdit::update(
                self.branch.clone(),
                commit,
                expected(self.tip),
                self.reflog_message.clone(),
            ));
        }
        if let Some(notes) = self.new_notes {
            edits.push(RefEdit::update(
                self.notes_ref.clone(),
                notes,
                expected(self.notes_tip),
                self.reflog_message.clone(),
            ));
        }
        if edits.is_empty() {
            return Ok(outcome);
        }
        let mut time = gix::date::parse::TimeBuf::default();
        let committer = self.signature.to_ref(&mut time);
        if let Err(err) = self.repo.edit_references_as(edits, Some(committer)) {
            // Tell a lost race from other failures by looking again.
            for (name, read) in [(&self.branch, self.tip), (&self.notes_ref, self.notes_tip)] {
                let now = ref_target(&self.repo, name).ok().flatten();
                if now != read {
                    return Err(PublishError::RaceLost {
                        reference: name.to_string(),
                        expected: read,
                        found: now,
                    });
                }
            }
            for name in [&self.branch, &self.notes_ref] {
                let common = self.repo.common_dir();
                for lock in [
                    common.join(format!("{name}.lock")),
                    common.join("packed-refs.lock"),
                ] {
                    if lock.exists() {
                        return Err(PublishError::Locked {
                            reference: name.to_string(),
                            lock,
                        });
                    }
                }
            }
            return Err(PublishError::RefUpdate {
                reference: format!("{} and {}", self.branch, self.notes_ref),
                message: flatten(&err),
            });
        }
        Ok(outcome)
    }
}

/// Publishes `files` (the tree from [`super::hydrated_tree`]) on `branch`: [`prepare`] then
/// [`PreparedPublish::apply`].
///
/// `branch` is `rendered/prod` or `refs/heads/rendered/prod`. With `force`, a branch whose tip
/// was not written by kiln is published on top of (the foreign tip becomes the parent).
pub fn publish(
    repo_path: &Path,
    branch: &str,
    files: &BTreeMap<String, Vec<u8>>,
    source: &SourceInfo,
    identity: &Identity,
    force: bool,
) -> Result<PublishOutcome, PublishError> {
    prepare(repo_path, branch, files, source, identity, force)?.apply()
}

/// Reads the branch and notes tips, decides what changes and writes the objects; moves no
/// reference.
pub fn prepare(
    repo_path: &Path,
    branch: &str,
    files: &BTreeMap<String, Vec<u8>>,
    source: &SourceInfo,
    identity: &Identity,
    force: bool,
) -> Result<PreparedPublish, PublishError> {
    check_files(files)?;
    if gix::ObjectId::from_hex(source.commit.as_bytes()).is_err() {
        return Err(PublishError::InvalidSourceCommit {
            commit: source.commit.clone(),
        });
    }
    let signature = signature(identity, source.committer_time)?;
    let repo = open(repo_path)?;
    let branch = branch_name(branch)?;
    let notes_ref = branch_name(NOTES_REF)?;
    check_not_checked_out(&repo, &branch)?;

    let tip = ref_target(&repo, &branch)?;
    let tip_tree = match tip {
        Some(tip) => Some(check_tip(&repo, &branch, tip, force)?),
        None => None,
    };
    let old = match tip_tree {
        Some(tree) => tree_entries(&repo, tree)?,
        None => Entries::new(),
    };

    // The new tree, as ids, before anything is written.
    let hash = repo.object_hash();
    let mut computed = Entries::new();
    for (path, bytes) in files {
        let id = gix::objs::compute_hash(hash, gix::objs::Kind::Blob, bytes).map_err(|err| {
            PublishError::ObjectWrite {
                what: format!("the blob of `{path}`"),
                message: err.to_string(),
            }
        })?;
        computed.insert(path.clone(), (EntryKind::Blob, id));
    }
    let mut new = computed.clone();
    carry_over_generated(&mut new, &old);

    let unchanged = without_root_generated(&new) == without_root_generated(&old);
    let (new_commit, annotated) = match tip {
        Some(tip) if unchanged => (None, tip),
        _ => {
            let tree = write_tree(&repo, files, &computed, &new)?;
            let mut time = gix::date::parse::TimeBuf::default();
            let sig = signature.to_ref(&mut time);
            let commit = repo
                .new_commit_as(sig, sig, commit_message(source), tree, tip)
                .map_err(|err| PublishError::ObjectWrite {
                    what: "the commit".to_owned(),
                    message: flatten(&err),
                })?;
            (Some(commit.id), commit.id)
        }
    };
    let outcome = match new_commit {
        Some(commit) => PublishOutcome::Committed {
            commit,
            previous: tip,
        },
        None => PublishOutcome::Unchanged { tip: annotated },
    };
    let notes_tip = ref_target(&repo, &notes_ref)?;
    let new_notes = write_note(&repo, notes_tip, annotated, source, &signature)?;

    let short = source.commit.get(..7).unwrap_or(&source.commit);
    Ok(PreparedPublish {
        repo,
        branch,
        notes_ref,
        tip,
        notes_tip,
        new_commit,
        outcome,
        new_notes,
        signature,
        reflog_message: one_line(&format!("kiln publish: {short}: {}", source.subject)),
    })
}

/// The files of the tip of `branch`, path to bytes; `None` if the branch does not exist.
/// Symbolic links are listed with their target as content; submodules are left out.
pub fn read_branch(
    repo_path: &Path,
    branch: &str,
) -> Result<Option<BTreeMap<String, Vec<u8>>>, PublishError> {
    let repo = open(repo_path)?;
    let branch = branch_name(branch)?;
    let Some(tip) = ref_target(&repo, &branch)? else {
        return Ok(None);
    };
    let tree = peel_to_tree(&repo, &branch, tip)?;
    let mut files = BTreeMap::new();
    for (path, (kind, id)) in tree_entries(&repo, tree)? {
        if kind == EntryKind::Commit {
            continue;
        }
        let blob = repo.find_blob(id).map_err(|err| PublishError::Read {
            what: format!("`{path}` of {branch}"),
            message: flatten(&err),
        })?;
        files.insert(path, blob.data.clone());
    }
    Ok(Some(files))
}

/// The provenance of the commit `rev` names (`HEAD`, a branch, an id, …), with `repo_url` as
/// its repository.
pub fn source_from_revision(
    repo_path: &Path,
    rev: &str,
    repo_url: &str,
) -> Result<SourceInfo, PublishError> {
    let repo = open(repo_path)?;
    if rev == "HEAD" || rev == "@" {
        let head = repo.head().map_err(|err| PublishError::Read {
            what: "HEAD".to_owned(),
            message: flatten(&err),
        })?;
        if head.is_unborn() {
            return Err(PublishError::UnbornHead {
                branch: head
                    .referent_name()
                    .map(|n| n.shorten().to_string())
                    .unwrap_or_default(),
            });
        }
    }
    let unknown = |message: String| PublishError::UnknownRevision {
        rev: rev.to_owned(),
        message,
    };
    let id = repo
        .rev_parse_single(rev)
        .map_err(|err| unknown(flatten(&err)))?;
    let object = id
        .object()
        .and_then(gix::Object::peel_tags_to_end)
        .map_err(|err| unknown(flatten(&err)))?;
    let kind = object.kind;
    let commit = object
        .try_into_commit()
        .map_err(|_| unknown(format!("it names a {kind}, not a commit")))?;
    let read = |err: gix::Error| PublishError::Read {
        what: format!("the commit {}", commit.id),
        message: flatten(&err),
    };
    let author = commit.author().map_err(read)?;
    let author_time = author.time().map_err(read)?;
    let committer_time = commit.committer().map_err(read)?.time().map_err(read)?;
    let message = commit.message().map_err(read)?;
    Ok(SourceInfo {
        repo_url: repo_url.to_owned(),
        commit: commit.id.to_string(),
        author: format!(
            "{} <{}>",
            author.name.trim().to_str_lossy(),
            author.email.trim().to_str_lossy()
        ),
        author_time: git_time(author_time),
        committer_time: git_time(committer_time),
        subject: message.summary().to_str_lossy().trim().to_owned(),
        body: message
            .body
            .map(|b| b.to_str_lossy().trim().to_owned())
            .unwrap_or_default(),
    })
}

fn git_time(time: gix::date::Time) -> GitTime {
    GitTime {
        seconds: time.seconds,
        offset_seconds: time.offset,
    }
}

// ---------------------------------------------------------------------------------------------
// Opening and names

fn open(path: &Path) -> Result<gix::Repository, PublishError> {
    match gix::discover_opts(path, Default::default(), gix::open::Options::isolated()) {
        Ok(repo) => Ok(repo),
        Err(err) => {
            use gix::discover::upwards::Error as Upwards;
            match err.downcast_any_ref::<Upwards>() {
                Some(
                    Upwards::NoGitRepository { .. }
                    | Upwards::NoGitRepositoryWithinCeiling { .. }
                    | Upwards::NoGitRepositoryWithinFs { .. },
                ) => Err(PublishError::NotARepository {
                    path: path.to_owned(),
                }),
                _ => Err(PublishError::Open {
                    path: path.to_owned(),
                    message: flatten(&err),
                }),
            }
        }
    }
}

/// `rendered/prod` → `refs/heads/rendered/prod`; a name starting with `refs/` is kept.
fn branch_name(branch: &str) -> Result<FullName, PublishError> {
    let full = if branch.starts_with("refs/") {
        branch.to_owned()
    } else {
        format!("refs/heads/{branch}")
    };
    FullName::try_from(full.as_str()).map_err(|err| PublishError::InvalidBranch {
        branch: branch.to_owned(),
        message: err.to_string(),
    })
}

/// The object a reference points at directly; `None` if it does not exist. A symbolic
/// reference is followed to its end.
fn ref_target(repo: &gix::Repository, name: &FullName) -> Result<Option<ObjectId>, PublishError> {
    let read = |err: gix::Error| PublishError::Read {
        what: name.to_string(),
        message: flatten(&err),
    };
    let Some(mut reference) = repo.try_find_reference(name.as_ref()).map_err(read)? else {
        return Ok(None);
    };
    Ok(Some(reference.follow_to_object().map_err(read)?.detach()))
}

/// Refuses a branch some work tree has checked out (git refuses to move those too).
fn check_not_checked_out(repo: &gix::Repository, branch: &FullName) -> Result<(), PublishError> {
    let wanted = format!("ref: {branch}");
    let mut git_dirs: Vec<PathBuf> = Vec::new();
    if !repo.is_bare() {
        git_dirs.push(repo.common_dir().to_owned());
    }
    if let Ok(worktrees) = repo.worktrees() {
        git_dirs.extend(worktrees.iter().map(|w| w.git_dir().to_owned()));
    }
    for git_dir in git_dirs {
        let Ok(head) = std::fs::read_to_string(git_dir.join("HEAD")) else {
            continue;
        };
        if head.trim_end() == wanted {
            return Err(PublishError::BranchCheckedOut {
                branch: branch.to_string(),
                worktree: git_dir,
            });
        }
    }
    Ok(())
}

/// Checks that `tip` is a commit written by kiln (unless `force`); returns its tree.
fn check_tip(
    repo: &gix::Repository,
    branch: &FullName,
    tip: ObjectId,
    force: bool,
) -> Result<ObjectId, PublishError> {
    let foreign = |reason: String| PublishError::ForeignBranch {
        branch: branch.to_string(),
        tip: tip.to_string(),
        reason,
    };
    let read = |err: gix::Error| PublishError::Read {
        what: format!("the tip {tip} of {branch}"),
        message: flatten(&err),
    };
    let object = repo.find_object(tip).map_err(read)?;
    let kind = object.kind;
    let Ok(commit) = object.try_into_commit() else {
        return Err(foreign(format!("it is a {kind}, not a commit")));
    };
    if !force {
        let message = commit.message().map_err(read)?;
        let marked = message.body().is_some_and(|body| {
            body.trailers()
                .any(|t| t.token.eq_ignore_ascii_case(KILN_TRAILER.as_bytes()))
        });
        if !marked {
            return Err(foreign(format!(
                "its message has no `{KILN_TRAILER}` trailer"
            )));
        }
    }
    Ok(commit.tree_id().map_err(read)?.detach())
}

fn peel_to_tree(
    repo: &gix::Repository,
    branch: &FullName,
    tip: ObjectId,
) -> Result<ObjectId, PublishError> {
    let read = |err: gix::Error| PublishError::Read {
        what: format!("the tip {tip} of {branch}"),
        message: flatten(&err),
    };
    let object = repo.find_object(tip).map_err(read)?;
    Ok(object.peel_to_tree().map_err(read)?.id)
}

// ---------------------------------------------------------------------------------------------
// Trees

/// Refuses paths git cannot store, and a file that is also a directory.
fn check_files(files: &BTreeMap<String, Vec<u8>>) -> Result<(), PublishError> {
    for path in files.keys() {
        if let Some(reason) = path_problem(path) {
            return Err(PublishError::InvalidPath {
                path: path.clone(),
                reason,
            });
        }
        // Every path inside `path/` sorts at or after `path/`, so the first key from there on
        // is inside it if any is.
        let prefix = format!("{path}/");
        if files
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(p, _)| p.starts_with(&prefix))
        {
            return Err(PublishError::InvalidPath {
                path: path.clone(),
                reason: "it is both a file and a directory",
            });
        }
    }
    Ok(())
}

/// The blob entries under `tree`, recursively, with `/`-separated paths.
fn tree_entries(repo: &gix::Repository, tree: ObjectId) -> Result<Entries, PublishError> {
    let mut out = Entries::new();
    let mut pending = vec![(String::new(), tree)];
    while let Some((prefix, id)) = pending.pop() {
        let tree = repo.find_tree(id).map_err(|err| PublishError::Read {
            what: format!("the tree {id}"),
            message: flatten(&err),
        })?;
        let decoded = tree.decode().map_err(|err| PublishError::Read {
            what: format!("the tree {id}"),
            message: flatten(&err),
        })?;
        for entry in &decoded.entries {
            let name = entry.filename.to_str_lossy();
            let path = if prefix.is_empty() {
                name.into_owned()
            } else {
                format!("{prefix}/{name}")
            };
            match entry.mode.kind() {
                EntryKind::Tree => pending.push((path, entry.oid.to_owned())),
                kind => {
                    out.insert(path, (kind, entry.oid.to_owned()));
                }
            }
        }
    }
    Ok(out)
}

/// For every app directory (a top-level directory) whose files other than the generated ones
/// are the same as on the tip, keeps the tip's generated files (`hydrator.metadata`,
/// `README.md`) instead of the new ones: like Argo CD, provenance is rewritten only where the
/// render changed, so a publish touches only the apps that changed.
fn carry_over_generated(new: &mut Entries, old: &Entries) {
    let dirs: Vec<String> = new
        .keys()
        .filter_map(|p| p.split_once('/').map(|(dir, _)| dir.to_owned()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for dir in dirs {
        let prefix = format!("{dir}/");
        let payload = |entries: &Entries| -> Vec<(String, (EntryKind, ObjectId))> {
            entries
                .iter()
                .filter(|(p, _)| p.starts_with(&prefix) && !is_generated(p))
                .map(|(p, e)| (p.clone(), *e))
                .collect()
        };
        let generated = |entries: &Entries| -> Vec<String> {
            entries
                .keys()
                .filter(|p| p.starts_with(&prefix) && is_generated(p))
                .cloned()
                .collect()
        };
        // Only where the tip has the same generated files (a foreign tip may lack them).
        if !old.keys().any(|p| p.starts_with(&prefix))
            || payload(new) != payload(old)
            || generated(new) != generated(old)
        {
            continue;
        }
        new.retain(|p, _| !(p.starts_with(&prefix) && is_generated(p)));
        for (p, e) in old {
            if p.starts_with(&prefix) && is_generated(p) {
                new.insert(p.clone(), *e);
            }
        }
    }
}

/// `entries` without the generated files at the root (the root `hydrator.metadata`, which
/// names the source commit and changes with every publish).
fn without_root_generated(entries: &Entries) -> Vec<(&String, &(EntryKind, ObjectId))> {
    entries
        .iter()
        .filter(|(p, _)| p.contains('/') || !is_generated(p))
        .collect()
}

/// Writes the blobs of `files` that `entries` still takes from them (`computed` has their ids),
/// and the tree of `entries`. Entries carried over from the tip point at blobs that exist.
fn write_tree(
    repo: &gix::Repository,
    files: &BTreeMap<String, Vec<u8>>,
    computed: &Entries,
    entries: &Entries,
) -> Result<ObjectId, PublishError> {
    let write_err = |what: String| {
        move |err: gix::Error| PublishError::ObjectWrite {
            what,
            message: flatten(&err),
        }
    };
    let mut editor = repo
        .edit_tree(ObjectId::empty_tree(repo.object_hash()))
        .map_err(write_err("the tree".to_owned()))?;
    for (path, (kind, id)) in entries {
        if let Some(bytes) = files.get(path)
            && computed.get(path) == Some(&(*kind, *id))
        {
            repo.write_blob(bytes)
                .map_err(write_err(format!("the blob of `{path}`")))?;
        }
        editor
            .upsert(path.as_str(), *kind, *id)
            .map_err(write_err(format!("the tree entry `{path}`")))?;
    }
    Ok(editor
        .write()
        .map_err(write_err("the tree".to_owned()))?
        .detach())
}

// ---------------------------------------------------------------------------------------------
// Commit message, identity, note

fn commit_message(source: &SourceInfo) -> String {
    let short = source.commit.get(..7).unwrap_or(&source.commit);
    let subject = one_line(&source.subject);
    let subject = if subject.is_empty() {
        "(no subject)".to_owned()
    } else {
        subject
    };
    format!(
        "{short}: {subject}\n\
         \n\
         Rendered by kiln from {origin}commit {commit}.\n\
         \n\
         Argocd-reference-commit-repourl: {repo}\n\
         Argocd-reference-commit-sha: {commit}\n\
         Argocd-reference-commit-author: {author}\n\
         Argocd-reference-commit-date: {date}\n\
         Argocd-reference-commit-subject: {subject}\n\
         {KILN_TRAILER}: {FORMAT_VERSION}\n",
        repo = one_line(&source.repo_url),
        origin = if source.repo_url.trim().is_empty() {
            String::new()
        } else {
            format!("{} ", one_line(&source.repo_url))
        },
        commit = one_line(&source.commit),
        author = one_line(&source.author),
        date = rfc3339(source.author_time),
    )
}

/// `text` on one line: line breaks and other control characters become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn signature(identity: &Identity, time: GitTime) -> Result<gix::actor::Signature, PublishError> {
    let invalid = |reason| PublishError::InvalidIdentity {
        name: identity.name.clone(),
        email: identity.email.clone(),
        reason,
    };
    let bad = |s: &str| s.contains(['<', '>', '\n', '\r', '\0']);
    if identity.name.trim().is_empty() {
        return Err(invalid("the name is empty"));
    }
    if bad(&identity.name) || bad(&identity.email) {
        return Err(invalid("it contains `<`, `>`, a line break or NUL"));
    }
    Ok(gix::actor::Signature {
        name: identity.name.trim().into(),
        email: identity.email.trim().into(),
        time: gix::date::Time {
            seconds: time.seconds,
            offset: time.offset_seconds,
        },
    })
}

/// The note Argo CD's hydrator writes: `{"drySha":"…"}` and the newline `git notes add -m`
/// appends.
fn note_bytes(source: &SourceInfo) -> Vec<u8> {
    let mut out = serde_json::json!({ "drySha": source.commit })
        .to_string()
        .into_bytes();
    out.push(b'\n');
    out
}

/// Writes a notes commit on `notes_tip` whose tree maps `annotated` to the note of `source`;
/// `None` if the current note already records the same source commit.
fn write_note(
    repo: &gix::Repository,
    notes_tip: Option<ObjectId>,
    annotated: ObjectId,
    source: &SourceInfo,
    signature: &gix::actor::Signature,
) -> Result<Option<ObjectId>, PublishError> {
    let read = |err: gix::Error| PublishError::Read {
        what: NOTES_REF.to_owned(),
        message: flatten(&err),
    };
    let write = |what: &str| {
        let what = what.to_owned();
        move |err: gix::Error| PublishError::ObjectWrite {
            what,
            message: flatten(&err),
        }
    };
    let hex = annotated.to_string();
    // Git fans notes out into `ab/cdef…` (and deeper) directories as they grow.
    let candidates = [
        hex.clone(),
        format!("{}/{}", &hex[..2], &hex[2..]),
        format!("{}/{}/{}", &hex[..2], &hex[2..4], &hex[4..]),
    ];
    let notes_tree = match notes_tip {
        Some(tip) => Some(
            repo.find_object(tip)
                .map_err(read)?
                .peel_to_tree()
                .map_err(read)?,
        ),
        None => None,
    };
    if let Some(tree) = &notes_tree {
        for path in &candidates {
            if let Some(entry) = tree.lookup_entry_by_path(path).map_err(read)? {
                let blob = repo.find_blob(entry.object_id()).map_err(read)?;
                let recorded: Option<String> =
                    serde_json::from_slice::<serde_json::Value>(&blob.data)
                        .ok()
                        .and_then(|v| v.get("drySha").and_then(|s| s.as_str()).map(str::to_owned));
                if recorded.as_deref() == Some(source.commit.as_str()) {
                    return Ok(None);
                }
            }
        }
    }
    let blob = repo
        .write_blob(note_bytes(source))
        .map_err(write("the note"))?
        .detach();
    let base = notes_tree
        .map(|t| t.id)
        .unwrap_or_else(|| ObjectId::empty_tree(repo.object_hash()));
    let mut editor = repo.edit_tree(base).map_err(write("the notes tree"))?;
    for path in &candidates[1..] {
        editor
            .remove(path.as_str())
            .map_err(write("the notes tree"))?;
    }
    editor
        .upsert(hex.as_str(), EntryKind::Blob, blob)
        .map_err(write("the notes tree"))?;
    let tree = editor.write().map_err(write("the notes tree"))?.detach();
    let mut time = gix::date::parse::TimeBuf::default();
    let sig = signature.to_ref(&mut time);
    let message = format!(
        "Notes added by kiln publish\n\nkiln: {hex} renders {}\n",
        source.commit
    );
    let commit = repo
        .new_commit_as(sig, sig, message, tree, notes_tip)
        .map_err(write("the notes commit"))?;
    Ok(Some(commit.id))
}

fn expected(tip: Option<ObjectId>) -> PreviousValue {
    match tip {
        Some(id) => PreviousValue::MustExistAndMatch(gix::refs::Target::Object(id)),
        None => PreviousValue::MustNotExist,
    }
}

/// gix's error chain on one line, segments joined with `: `, without repeats.
fn flatten(err: &gix::Error) -> String {
    let mut segments: Vec<String> = Vec::new();
    for e in err.iter_errors() {
        let text = e.to_string();
        let text = text.trim().trim_end_matches('.');
        if text.is_empty() || segments.iter().any(|s| s.eq_ignore_ascii_case(text)) {
            continue;
        }
        segments.push(text.to_owned());
    }
    if segments.is_empty() {
        return err.to_string();
    }
    segments.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_flattens_control_characters() {
        assert_eq!(one_line("a\nb\r\n\tc  d"), "a b c d");
    }

    #[test]
    fn files_that_are_also_directories_are_refused() {
        let mut files = BTreeMap::new();
        files.insert("a".to_owned(), Vec::new());
        files.insert("a-b".to_owned(), Vec::new());
        files.insert("a/b".to_owned(), Vec::new());
        assert!(matches!(
            check_files(&files),
            Err(PublishError::InvalidPath { .. })
        ));
        files.remove("a/b");
        assert!(check_files(&files).is_ok());
    }
}
