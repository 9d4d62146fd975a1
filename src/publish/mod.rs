//! The rendered branch: laying a rendered environment out in Argo CD's hydrated layout, and
//! writing it as one git commit on `rendered/<env>` with gix, without a work tree.
//!
//! # Owns
//! - [`layout`]: the file tree of the hydrated branch (pure): `.gitattributes`, the root
//!   `hydrator.metadata`, and per app `<app>/manifest.yaml`, `<app>/hydrator.metadata`,
//!   `<app>/README.md` plus the app's extra files (encrypted secrets). Byte formats follow Argo
//!   CD's Source Hydrator (`commitserver/commit/hydratorhelper.go`, `util/hydrator/hydrator.go`),
//!   so Argo CD and GitOps Promoter read kiln's branch as a hydrated branch.
//! - [`git`]: writing that tree as blobs, trees and a commit, the `refs/notes/hydrator.metadata`
//!   note, and moving both references in one compare-and-swap transaction; reading a branch back.
//!   Nothing here touches a work tree, an index, `HEAD`, hooks or the user's git configuration.
//!
//! # Does not own
//! - Rendering (`crate::render`), re-encrypting secrets (`crate::secrets`), resolving the source
//!   revision into files (`crate::fs`), or the `kiln publish` command line and its retry policy
//!   (`crate::commands`). The caller hands over finished bytes.
//! - Pushing: kiln never touches the network; CI pushes `rendered/<env>` and
//!   `refs/notes/hydrator.metadata` itself.
//!
//! # Contract (SPEC section 3)
//! - One commit per publish, parent = the tip that was read; the reference moves only with
//!   compare-and-swap on that tip ([`PublishError::RaceLost`] otherwise, nothing written that
//!   a reference points at).
//! - Author, committer and date are the configured [`Identity`] and the source commit's
//!   committer date, never the clock or git configuration: the same source and the same
//!   previous tip give the same commit id on any machine.
//! - "Unchanged" is decided the way Argo CD decides it: on everything except the generated files
//!   (`hydrator.metadata` and `README.md`, the files `.gitattributes` marks generated). An app
//!   whose other files did not change keeps its previous `hydrator.metadata` and `README.md`, so a
//!   publish touches only the apps that changed. When nothing but generated files would change,
//!   no commit is made and only the note advances.
//! - The tree is rebuilt from scratch on every publish: apps removed from the source disappear.

pub mod git;
pub mod layout;

use std::path::PathBuf;

pub mod argocd;
pub use git::{PreparedPublish, prepare, publish, read_branch, source_from_revision};
pub use layout::{LayoutError, RenderedApp, hydrated_tree};

/// The notes reference Argo CD's hydrator records the source commit of a hydrated commit under.
pub const NOTES_REF: &str = "refs/notes/hydrator.metadata";

/// The trailer whose presence marks a commit written by `kiln publish`; its value is the format
/// version of kiln's commit message.
pub const KILN_TRAILER: &str = "Kiln-Publish";

/// A point in time as git records it: seconds since the epoch and the offset from UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GitTime {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub seconds: i64,
    /// The offset from UTC in seconds, east positive (`+0200` is 7200).
    pub offset_seconds: i32,
}

/// The source ("dry") commit a rendered tree was made from: its provenance, as recorded in the
/// root `hydrator.metadata`, the per-app README and the commit's trailers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// The source repository: its URL (`remote.origin.url` in CI) or a path.
    pub repo_url: String,
    /// The full hexadecimal id of the source commit.
    pub commit: String,
    /// The source commit's author, `Name <email>` (RFC 5322, as `git show -s --format='%an <%ae>'`).
    pub author: String,
    /// The source commit's author date (the `date` of the root `hydrator.metadata`).
    pub author_time: GitTime,
    /// The source commit's committer date: the author and committer date of the rendered commit.
    pub committer_time: GitTime,
    /// The subject line of the source commit message (`git show -s --format=%s`).
    pub subject: String,
    /// The rest of the source commit message (`git show -s --format=%b`), trimmed.
    pub body: String,
}

/// Who the rendered commits are attributed to (author and committer), from kiln's
/// configuration; never from the user's git configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The name, for example `kiln`.
    pub name: String,
    /// The email address, for example `kiln@example.invalid`.
    pub email: String,
}

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// A new commit is the tip of the branch.
    Committed {
        /// The new tip.
        commit: gix::ObjectId,
        /// The tip it was made on, `None` when the branch was created.
        previous: Option<gix::ObjectId>,
    },
    /// The render equals the tip (apart from generated files): no commit. The note on the tip
    /// records the new source commit.
    Unchanged {
        /// The unchanged tip.
        tip: gix::ObjectId,
    },
}

/// Why a publish (or reading a branch, or resolving a source revision) failed. Whatever the
/// error, no reference was changed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// `path` is not inside a git repository.
    #[error("{}: not a git repository", path.display())]
    NotARepository {
        /// The path that was given.
        path: PathBuf,
    },
    /// The repository exists but could not be opened.
    #[error("{}: cannot open the git repository: {message}", path.display())]
    Open {
        /// The path that was given.
        path: PathBuf,
        /// gix's error chain.
        message: String,
    },
    /// The branch name is not a valid git reference name.
    #[error("invalid branch name `{branch}`: {message}")]
    InvalidBranch {
        /// The name that was given.
        branch: String,
        /// Why git rejects it.
        message: String,
    },
    /// A file of the tree to publish has a path git cannot or must not store.
    #[error("invalid path `{path}` in the rendered tree: {reason}")]
    InvalidPath {
        /// The offending path.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The configured identity cannot be written into a commit.
    #[error("invalid commit identity `{name} <{email}>`: {reason}")]
    InvalidIdentity {
        /// The configured name.
        name: String,
        /// The configured email.
        email: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// [`SourceInfo::commit`] is not a full hexadecimal object id.
    #[error("the source commit `{commit}` is not a full hexadecimal commit id")]
    InvalidSourceCommit {
        /// The value that was given.
        commit: String,
    },
    /// `HEAD` was asked for, but the current branch has no commit yet.
    #[error("HEAD is unborn (the branch `{branch}` has no commit yet): nothing to render")]
    UnbornHead {
        /// The branch `HEAD` points at.
        branch: String,
    },
    /// The source revision does not name a commit of the repository.
    #[error("unknown revision `{rev}`: {message}")]
    UnknownRevision {
        /// The revision that was given.
        rev: String,
        /// gix's error chain.
        message: String,
    },
    /// The branch exists but its tip was not written by `kiln publish`.
    #[error(
        "the branch `{branch}` exists but was not written by kiln (tip {tip}: {reason}); \
         refusing to publish on top of it without --force"
    )]
    ForeignBranch {
        /// The full reference name.
        branch: String,
        /// What the reference points at.
        tip: String,
        /// What gave it away.
        reason: String,
    },
    /// The branch is checked out in a work tree; moving it would make that work tree appear to
    /// revert the render.
    #[error("the branch `{branch}` is checked out in {}; kiln does not move a checked-out branch", worktree.display())]
    BranchCheckedOut {
        /// The full reference name.
        branch: String,
        /// The git directory of the work tree that has it checked out.
        worktree: PathBuf,
    },
    /// Another writer moved a reference between the read and the compare-and-swap. Nothing was
    /// changed; publishing again builds on the new tip.
    #[error(
        "{reference} moved while publishing (expected {}, found {}); nothing was written, publish again",
        expected.map_or_else(|| "no reference".to_owned(), |id| id.to_string()),
        found.map_or_else(|| "no reference".to_owned(), |id| id.to_string())
    )]
    RaceLost {
        /// The full name of the reference that moved.
        reference: String,
        /// What it pointed at when it was read.
        expected: Option<gix::ObjectId>,
        /// What it points at now.
        found: Option<gix::ObjectId>,
    },
    /// Another process holds the lock of a reference (a concurrent publish, or one that was
    /// killed while it held it). Nothing was changed; publish again, or remove a stale lock file.
    #[error(
        "{reference} is locked by another process ({} exists); nothing was written, publish \
         again, or remove the file if no git process is running",
        lock.display()
    )]
    Locked {
        /// The full name of the locked reference.
        reference: String,
        /// The lock file.
        lock: PathBuf,
    },
    /// Writing a blob, tree or commit to the object database failed.
    #[error("cannot write {what} to the object database: {message}")]
    ObjectWrite {
        /// What was being written.
        what: String,
        /// gix's error chain.
        message: String,
    },
    /// Reading references or objects failed (corrupt or missing objects, unreadable refs).
    #[error("cannot read {what}: {message}")]
    Read {
        /// What was being read.
        what: String,
        /// gix's error chain.
        message: String,
    },
    /// The reference transaction failed for a reason other than a lost race (permissions, a
    /// stale lock file, …).
    #[error("cannot update {reference}: {message}")]
    RefUpdate {
        /// The reference(s) being updated.
        reference: String,
        /// gix's error chain.
        message: String,
    },
}
