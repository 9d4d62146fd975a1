//! `kiln::publish`: the rendered branch, written with gix and checked with the `git` command line.
//!
//! Every test builds hermetic repositories in temporary directories with `git`: no global or
//! system configuration, fixed identity and dates, and none of the `GIT_*` variables a
//! surrounding hook may have exported. Every test that writes ends with `git fsck --strict`.

mod common;

use std::collections::BTreeMap;
use std::error::Error;
use std::path::Path;

use kiln::publish::{
    Identity, PublishError, PublishOutcome, RenderedApp, SourceInfo, hydrated_tree, prepare,
    publish, read_branch, source_from_revision,
};
use tempfile::TempDir;

type TestResult = Result<(), Box<dyn Error>>;

const BRANCH: &str = "rendered/prod";
const URL: &str = "https://example.com/gitops.git";

/// Runs `git` hermetically in `dir` (`common::git_command`); returns its stdout.
fn git(dir: &Path, args: &[&str]) -> Result<String, Box<dyn Error>> {
    let output = common::git_command(dir, args).output()?;
    if !output.status.success() {
        return Err(format!(
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// A source repository with one commit on `main`; `commit` adds more.
struct Repo {
    dir: TempDir,
}

impl Repo {
    fn init() -> Result<Repo, Box<dyn Error>> {
        let repo = Repo {
            dir: tempfile::Builder::new().prefix("kiln-publish-").tempdir()?,
        };
        git(repo.path(), &["init", "-q", "-b", "main"])?;
        repo.commit("apps: initial", "one\n")?;
        Ok(repo)
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Commits a change to `README.md` with `message`.
    fn commit(&self, message: &str, readme: &str) -> TestResult {
        std::fs::write(self.path().join("README.md"), readme)?;
        git(self.path(), &["add", "-A"])?;
        git(self.path(), &["commit", "-q", "-m", message])?;
        Ok(())
    }

    fn git(&self, args: &[&str]) -> Result<String, Box<dyn Error>> {
        git(self.path(), args)
    }

    fn source(&self) -> Result<SourceInfo, PublishError> {
        source_from_revision(self.path(), "HEAD", URL)
    }

    fn fsck(&self) -> TestResult {
        self.git(&["fsck", "--strict", "--no-progress"])?;
        Ok(())
    }

    fn tip(&self) -> Result<String, Box<dyn Error>> {
        Ok(self.git(&["rev-parse", BRANCH])?.trim().to_owned())
    }
}

fn identity() -> Identity {
    Identity {
        name: "kiln".to_owned(),
        email: "kiln@example.invalid".to_owned(),
    }
}

fn app(name: &str, manifest: &str) -> RenderedApp {
    RenderedApp {
        name: name.to_owned(),
        manifest: manifest.as_bytes().to_vec(),
        extra_files: Vec::new(),
    }
}

fn web_and_db() -> Vec<RenderedApp> {
    let mut db = app("db", "kind: StatefulSet\nmetadata:\n  name: db\n");
    db.extra_files = vec![(
        "secrets/db.password.yaml".to_owned(),
        b"kind: Secret\nsops: {}\n".to_vec(),
    )];
    vec![app("web", "kind: Deployment\nmetadata:\n  name: web\n"), db]
}

fn tree(
    apps: &[RenderedApp],
    source: &SourceInfo,
) -> Result<BTreeMap<String, Vec<u8>>, Box<dyn Error>> {
    Ok(hydrated_tree("prod", apps, source)?)
}

/// Every file below `dir` except `.git`, path to bytes.
fn checkout_files(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>, Box<dyn Error>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_name() == ".git" {
                continue;
            }
            if entry.file_type()?.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir)?.to_string_lossy().replace('\\', "/");
                out.insert(relative, std::fs::read(&path)?);
            }
        }
    }
    Ok(out)
}

fn committed(outcome: &PublishOutcome) -> Result<gix::ObjectId, Box<dyn Error>> {
    match outcome {
        PublishOutcome::Committed { commit, .. } => Ok(*commit),
        other => Err(format!("expected a commit, got {other:?}").into()),
    }
}

#[test]
fn first_publish_is_a_clean_commit_that_clones_to_exactly_the_render() -> TestResult {
    let repo = Repo::init()?;
    let source = repo.source()?;
    let files = tree(&web_and_db(), &source)?;
    let outcome = publish(repo.path(), BRANCH, &files, &source, &identity(), false)?;
    let commit = committed(&outcome)?;
    assert_eq!(
        outcome,
        PublishOutcome::Committed {
            commit,
            previous: None
        }
    );
    repo.fsck()?;
    assert_eq!(repo.tip()?, commit.to_string());

    // The work tree, the index and HEAD are untouched.
    assert_eq!(repo.git(&["status", "--porcelain"])?, "");
    assert_eq!(
        repo.git(&["symbolic-ref", "HEAD"])?.trim(),
        "refs/heads/main"
    );

    // Identity and dates: configured identity, the source's committer date.
    let log = repo.git(&[
        "log",
        "-1",
        "--format=%an <%ae>|%cn <%ce>|%at|%ct|%P",
        BRANCH,
    ])?;
    assert_eq!(
        log.trim(),
        "kiln <kiln@example.invalid>|kiln <kiln@example.invalid>|1704067200|1704067200|"
    );

    // Message and trailers, as git parses them.
    let subject = repo.git(&["log", "-1", "--format=%s", BRANCH])?;
    assert_eq!(
        subject.trim(),
        format!("{}: apps: initial", &source.commit[..7])
    );
    let trailers = repo.git(&["log", "-1", "--format=%(trailers:unfold)", BRANCH])?;
    for expected in [
        format!("Argocd-reference-commit-repourl: {URL}"),
        format!("Argocd-reference-commit-sha: {}", source.commit),
        "Argocd-reference-commit-author: kiln tests <tests@kiln.invalid>".to_owned(),
        "Argocd-reference-commit-date: 2024-01-01T00:00:00Z".to_owned(),
        "Argocd-reference-commit-subject: apps: initial".to_owned(),
        "Kiln-Publish: 1".to_owned(),
    ] {
        assert!(
            trailers.contains(&expected),
            "{expected} not in\n{trailers}"
        );
    }
    let show = repo.git(&["show", "--stat", "--format=%H", BRANCH])?;
    assert!(show.contains("web/manifest.yaml"), "{show}");

    // The note, as `git notes` reads it.
    let note = repo.git(&["notes", "--ref=hydrator.metadata", "show", BRANCH])?;
    assert_eq!(note, format!("{{\"drySha\":\"{}\"}}\n", source.commit));

    // A clone of the branch checks out exactly the render; reading back gives the same.
    let clone = tempfile::Builder::new()
        .prefix("kiln-publish-clone-")
        .tempdir()?;
    let url = repo.path().to_string_lossy().into_owned();
    git(
        clone.path(),
        &["clone", "-q", "--branch", BRANCH, &url, "checkout"],
    )?;
    assert_eq!(checkout_files(&clone.path().join("checkout"))?, files);
    assert_eq!(read_branch(repo.path(), BRANCH)?, Some(files));
    assert_eq!(read_branch(repo.path(), "rendered/none")?, None);
    Ok(())
}

#[test]
fn the_same_source_gives_the_same_commit_id_in_two_clones() -> TestResult {
    let origin = Repo::init()?;
    origin.commit("web: scale", "two\n")?;
    let dirs = tempfile::Builder::new()
        .prefix("kiln-publish-clones-")
        .tempdir()?;
    let url = origin.path().to_string_lossy().into_owned();
    let mut ids = Vec::new();
    for (name, user) in [("a", "Alice"), ("b", "Bob")] {
        git(dirs.path(), &["clone", "-q", &url, name])?;
        let clone = dirs.path().join(name);
        // Whatever the clone's configuration says, the commit does not use it.
        git(&clone, &["config", "user.name", user])?;
        let source = source_from_revision(&clone, "HEAD", URL)?;
        let files = tree(&web_and_db(), &source)?;
        let outcome = publish(&clone, BRANCH, &files, &source, &identity(), false)?;
        ids.push(committed(&outcome)?);
        git(&clone, &["fsck", "--strict", "--no-progress"])?;
    }
    assert_eq!(ids[0], ids[1]);
    Ok(())
}

#[test]
fn an_unchanged_render_makes_no_commit_but_the_note_records_the_new_source() -> TestResult {
    let repo = Repo::init()?;
    let first = repo.source()?;
    let tip = committed(&publish(
        repo.path(),
        BRANCH,
        &tree(&web_and_db(), &first)?,
        &first,
        &identity(),
        false,
    )?)?;

    // The same source again: nothing at all.
    let notes_before = repo.git(&["rev-parse", "refs/notes/hydrator.metadata"])?;
    let again = publish(
        repo.path(),
        BRANCH,
        &tree(&web_and_db(), &first)?,
        &first,
        &identity(),
        false,
    )?;
    assert_eq!(again, PublishOutcome::Unchanged { tip });
    assert_eq!(
        repo.git(&["rev-parse", "refs/notes/hydrator.metadata"])?,
        notes_before
    );

    // A new source commit that renders the same: no commit, the note advances.
    repo.commit("docs: typo", "two\n")?;
    let second = repo.source()?;
    assert_ne!(first.commit, second.commit);
    let outcome = publish(
        repo.path(),
        BRANCH,
        &tree(&web_and_db(), &second)?,
        &second,
        &identity(),
        false,
    )?;
    assert_eq!(outcome, PublishOutcome::Unchanged { tip });
    assert_eq!(repo.tip()?, tip.to_string());
    assert_eq!(repo.git(&["rev-list", "--count", BRANCH])?.trim(), "1");
    let note = repo.git(&["notes", "--ref=hydrator.metadata", "show", BRANCH])?;
    assert_eq!(note, format!("{{\"drySha\":\"{}\"}}\n", second.commit));
    assert_eq!(
        repo.git(&["rev-list", "--count", "refs/notes/hydrator.metadata"])?
            .trim(),
        "2"
    );
    repo.fsck()?;
    Ok(())
}

#[test]
fn a_changed_app_is_the_only_app_whose_files_change() -> TestResult {
    let repo = Repo::init()?;
    let first = repo.source()?;
    let previous = committed(&publish(
        repo.path(),
        BRANCH,
        &tree(&web_and_db(), &first)?,
        &first,
        &identity(),
        false,
    )?)?;
    repo.commit("web: two replicas", "two\n")?;
    let second = repo.source()?;
    let mut apps = web_and_db();
    apps[0].manifest = b"kind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n".to_vec();
    let outcome = publish(
        repo.path(),
        BRANCH,
        &tree(&apps, &second)?,
        &second,
        &identity(),
        false,
    )?;
    let commit = committed(&outcome)?;
    assert_eq!(
        outcome,
        PublishOutcome::Committed {
            commit,
            previous: Some(previous)
        }
    );
    let changed = repo.git(&[
        "diff",
        "--name-only",
        &previous.to_string(),
        &commit.to_string(),
    ])?;
    assert_eq!(
        changed,
        "hydrator.metadata\nweb/README.md\nweb/hydrator.metadata\nweb/manifest.yaml\n"
    );
    // db's provenance still names the commit that rendered it last (the render is the same).
    let files = read_branch(repo.path(), BRANCH)?.ok_or("no branch")?;
    let db_meta = String::from_utf8(files["db/hydrator.metadata"].clone())?;
    assert!(db_meta.contains(&first.commit), "{db_meta}");
    let web_meta = String::from_utf8(files["web/hydrator.metadata"].clone())?;
    assert!(web_meta.contains(&second.commit), "{web_meta}");
    assert_eq!(
        repo.git(&["rev-parse", &format!("{BRANCH}^")])?.trim(),
        previous.to_string()
    );
    repo.fsck()?;
    Ok(())
}

#[test]
fn a_removed_app_disappears_from_the_branch() -> TestResult {
    let repo = Repo::init()?;
    let first = repo.source()?;
    publish(
        repo.path(),
        BRANCH,
        &tree(&web_and_db(), &first)?,
        &first,
        &identity(),
        false,
    )?;
    repo.commit("db: retire", "two\n")?;
    let second = repo.source()?;
    let only_web = vec![web_and_db().remove(0)];
    let files = tree(&only_web, &second)?;
    committed(&publish(
        repo.path(),
        BRANCH,
        &files,
        &second,
        &identity(),
        false,
    )?)?;
    let on_branch = read_branch(repo.path(), BRANCH)?.ok_or("no branch")?;
    assert!(
        on_branch.keys().all(|p| !p.starts_with("db/")),
        "{:?}",
        on_branch.keys()
    );
    let listed = repo.git(&["ls-tree", "-r", "--name-only", BRANCH])?;
    assert!(!listed.contains("db/"), "{listed}");
    repo.fsck()?;
    Ok(())
}

#[test]
fn a_tip_that_moved_between_read_and_swap_loses_cleanly() -> TestResult {
    let repo = Repo::init()?;
    let first = repo.source()?;
    publish(
        repo.path(),
        BRANCH,
        &tree(&web_and_db(), &first)?,
        &first,
        &identity(),
        false,
    )?;
    let read_tip = repo.tip()?;

    repo.commit("web: change", "two\n")?;
    let source = repo.source()?;
    let mut slow_apps = web_and_db();
    slow_apps[0].manifest = b"kind: Deployment # slow\n".to_vec();
    let slow = prepare(
        repo.path(),
        BRANCH,
        &tree(&slow_apps, &source)?,
        &source,
        &identity(),
        false,
    )?;

    // Another publisher moves the tip in the meantime.
    let mut fast_apps = web_and_db();
    fast_apps[0].manifest = b"kind: Deployment # fast\n".to_vec();
    let fast = committed(&publish(
        repo.path(),
        BRANCH,
        &tree(&fast_apps, &source)?,
        &source,
        &identity(),
        false,
    )?)?;

    match slow.apply() {
        Err(PublishError::RaceLost {
            reference,
            expected,
            found,
        }) => {
            assert_eq!(reference, "refs/heads/rendered/prod");
            assert_eq!(expected.map(|id| id.to_string()), Some(read_tip));
            assert_eq!(found, Some(fast));
        }
        other => return Err(format!("expected a lost race, got {other:?}").into()),
    }
    // The winner's commit is intact, the history linear, the repository sound.
    assert_eq!(repo.tip()?, fast.to_string());
    let note = repo.git(&["notes", "--ref=hydrator.metadata", "show", BRANCH])?;
    assert!(note.contains(&source.commit));
    repo.fsck()?;

    // Retrying publishes on top of the new tip.
    let retried = publish(
        repo.path(),
        BRANCH,
        &tree(&slow_apps, &source)?,
        &source,
        &identity(),
        false,
    )?;
    assert!(matches!(retried, PublishOutcome::Committed { previous: Some(p), .. } if p == fast));
    repo.fsck()?;
    Ok(())
}

#[test]
fn two_first_publishes_race_and_one_wins() -> TestResult {
    let repo = Repo::init()?;
    let source = repo.source()?;
    let mut other = web_and_db();
    other[1].manifest = b"kind: StatefulSet # other\n".to_vec();
    let a = prepare(
        repo.path(),
        BRANCH,
        &tree(&web_and_db(), &source)?,
        &source,
        &identity(),
        false,
    )?;
    let b = prepare(
        repo.path(),
        BRANCH,
        &tree(&other, &source)?,
        &source,
        &identity(),
        false,
    )?;
    let won = committed(&a.apply()?)?;
    assert!(matches!(
        b.apply(),
        Err(PublishError::RaceLost { expected: None, found: Some(f), .. }) if f == won
    ));
    repo.fsck()?;
    Ok(())
}

#[test]
fn concurrent_publishers_never_corrupt_the_branch() -> TestResult {
    let repo = Repo::init()?;
    let source = repo.source()?;
    let path = repo.path().to_owned();
    let handles: Vec<_> = (0..2)
        .map(|worker| {
            let path = path.clone();
            let source = source.clone();
            std::thread::spawn(move || -> Result<(usize, usize), String> {
                let (mut won, mut lost) = (0, 0);
                for round in 0..8 {
                    let mut apps = web_and_db();
                    apps[0].manifest =
                        format!("kind: Deployment # {worker}.{round}\n").into_bytes();
                    let files = hydrated_tree("prod", &apps, &source).map_err(|e| e.to_string())?;
                    match publish(&path, BRANCH, &files, &source, &identity(), false) {
                        Ok(_) => won += 1,
                        Err(PublishError::RaceLost { .. } | PublishError::Locked { .. }) => {
                            lost += 1
                        }
                        Err(err) => return Err(err.to_string()),
                    }
                }
                Ok((won, lost))
            })
        })
        .collect();
    let mut total_won = 0;
    for handle in handles {
        let (won, _lost) = handle.join().map_err(|_| "a publisher panicked")??;
        total_won += won;
    }
    repo.fsck()?;
    // Every successful publish is one commit of a linear history.
    let count: usize = repo.git(&["rev-list", "--count", BRANCH])?.trim().parse()?;
    let merges = repo.git(&["rev-list", "--merges", BRANCH])?;
    assert!(merges.is_empty());
    assert_eq!(count, total_won);
    Ok(())
}

#[test]
fn a_foreign_branch_is_refused_unless_forced() -> TestResult {
    let repo = Repo::init()?;
    repo.git(&["branch", BRANCH, "main"])?;
    let foreign = repo.tip()?;
    let source = repo.source()?;
    let files = tree(&web_and_db(), &source)?;
    match publish(repo.path(), BRANCH, &files, &source, &identity(), false) {
        Err(PublishError::ForeignBranch { branch, tip, .. }) => {
            assert_eq!(branch, "refs/heads/rendered/prod");
            assert_eq!(tip, foreign);
        }
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }
    assert_eq!(repo.tip()?, foreign);
    assert!(
        repo.git(&[
            "rev-parse",
            "--verify",
            "-q",
            "refs/notes/hydrator.metadata"
        ])
        .is_err()
    );

    let foreign_id = gix::ObjectId::from_hex(foreign.as_bytes())?;
    let forced = publish(repo.path(), BRANCH, &files, &source, &identity(), true)?;
    assert!(
        matches!(forced, PublishOutcome::Committed { previous: Some(p), .. } if p == foreign_id)
    );
    // From now on the tip is kiln's.
    repo.commit("next", "three\n")?;
    let next = repo.source()?;
    publish(
        repo.path(),
        BRANCH,
        &tree(&web_and_db(), &next)?,
        &next,
        &identity(),
        false,
    )?;
    repo.fsck()?;
    Ok(())
}

#[test]
fn a_checked_out_branch_is_not_moved() -> TestResult {
    let repo = Repo::init()?;
    let source = repo.source()?;
    publish(
        repo.path(),
        BRANCH,
        &tree(&web_and_db(), &source)?,
        &source,
        &identity(),
        false,
    )?;
    let worktree = tempfile::Builder::new()
        .prefix("kiln-publish-wt-")
        .tempdir()?;
    let wt = worktree.path().join("wt");
    repo.git(&["worktree", "add", "-q", &wt.to_string_lossy(), BRANCH])?;
    let mut apps = web_and_db();
    apps[0].manifest = b"kind: Deployment # changed\n".to_vec();
    let result = publish(
        repo.path(),
        BRANCH,
        &tree(&apps, &source)?,
        &source,
        &identity(),
        false,
    );
    assert!(
        matches!(result, Err(PublishError::BranchCheckedOut { .. })),
        "{result:?}"
    );
    Ok(())
}

#[test]
fn a_bare_repository_is_published_to() -> TestResult {
    let origin = Repo::init()?;
    let dir = tempfile::Builder::new()
        .prefix("kiln-publish-bare-")
        .tempdir()?;
    let url = origin.path().to_string_lossy().into_owned();
    git(dir.path(), &["clone", "-q", "--bare", &url, "bare.git"])?;
    let bare = dir.path().join("bare.git");
    let source = source_from_revision(&bare, "main", URL)?;
    let files = tree(&web_and_db(), &source)?;
    committed(&publish(
        &bare,
        BRANCH,
        &files,
        &source,
        &identity(),
        false,
    )?)?;
    git(&bare, &["fsck", "--strict", "--no-progress"])?;
    assert_eq!(read_branch(&bare, BRANCH)?, Some(files));
    Ok(())
}

#[test]
fn bad_input_gives_typed_errors() -> TestResult {
    let plain = tempfile::Builder::new()
        .prefix("kiln-publish-plain-")
        .tempdir()?;
    // Skip if the temporary directory happens to live inside some repository.
    if git(plain.path(), &["rev-parse", "--git-dir"]).is_err() {
        assert!(matches!(
            read_branch(plain.path(), BRANCH),
            Err(PublishError::NotARepository { .. })
        ));
    }

    let unborn = tempfile::Builder::new()
        .prefix("kiln-publish-unborn-")
        .tempdir()?;
    git(unborn.path(), &["init", "-q", "-b", "main"])?;
    assert!(matches!(
        source_from_revision(unborn.path(), "HEAD", URL),
        Err(PublishError::UnbornHead { branch }) if branch == "main"
    ));

    let repo = Repo::init()?;
    assert!(matches!(
        source_from_revision(repo.path(), "no-such-rev", URL),
        Err(PublishError::UnknownRevision { .. })
    ));
    let tree_id = repo.git(&["rev-parse", "HEAD^{tree}"])?;
    assert!(matches!(
        source_from_revision(repo.path(), tree_id.trim(), URL),
        Err(PublishError::UnknownRevision { .. })
    ));
    // A detached HEAD is a fine source.
    repo.git(&["checkout", "-q", "--detach"])?;
    let source = repo.source()?;

    let files = tree(&web_and_db(), &source)?;
    assert!(matches!(
        publish(
            repo.path(),
            "bad..name",
            &files,
            &source,
            &identity(),
            false
        ),
        Err(PublishError::InvalidBranch { .. })
    ));
    let mut bad = files.clone();
    bad.insert("../escape".to_owned(), Vec::new());
    assert!(matches!(
        publish(repo.path(), BRANCH, &bad, &source, &identity(), false),
        Err(PublishError::InvalidPath { .. })
    ));
    let who = Identity {
        name: "kiln <x>".to_owned(),
        email: "kiln@example.invalid".to_owned(),
    };
    assert!(matches!(
        publish(repo.path(), BRANCH, &files, &source, &who, false),
        Err(PublishError::InvalidIdentity { .. })
    ));
    // Nothing was written by any of these.
    assert!(repo.git(&["rev-parse", "--verify", "-q", BRANCH]).is_err());
    repo.fsck()?;
    Ok(())
}

#[test]
fn a_held_lock_leaves_the_previous_tip_intact() -> TestResult {
    let repo = Repo::init()?;
    let source = repo.source()?;
    publish(
        repo.path(),
        BRANCH,
        &tree(&web_and_db(), &source)?,
        &source,
        &identity(),
        false,
    )?;
    let tip = repo.tip()?;
    // What a publish killed while it held the lock leaves behind.
    let lock = repo.path().join(".git/refs/heads/rendered/prod.lock");
    std::fs::write(&lock, "")?;
    let mut apps = web_and_db();
    apps[0].manifest = b"kind: Deployment # changed\n".to_vec();
    let result = publish(
        repo.path(),
        BRANCH,
        &tree(&apps, &source)?,
        &source,
        &identity(),
        false,
    );
    match result {
        Err(PublishError::Locked {
            reference,
            lock: reported,
        }) => {
            assert_eq!(reference, "refs/heads/rendered/prod");
            assert_eq!(reported, lock);
        }
        other => return Err(format!("expected a held lock, got {other:?}").into()),
    }
    assert_eq!(repo.tip()?, tip);
    std::fs::remove_file(&lock)?;
    repo.fsck()?;
    committed(&publish(
        repo.path(),
        BRANCH,
        &tree(&apps, &source)?,
        &source,
        &identity(),
        false,
    )?)?;
    repo.fsck()?;
    Ok(())
}

#[test]
fn forcing_over_a_foreign_branch_with_the_same_manifests_still_writes_provenance() -> TestResult {
    let repo = Repo::init()?;
    let apps = web_and_db();
    // A hand-made branch holding the same manifest, but no README or metadata.
    repo.git(&["checkout", "-q", "--orphan", BRANCH])?;
    repo.git(&["rm", "-q", "-rf", "."])?;
    std::fs::create_dir_all(repo.path().join("web"))?;
    std::fs::write(repo.path().join("web/manifest.yaml"), &apps[0].manifest)?;
    repo.git(&["add", "-A"])?;
    repo.git(&["commit", "-q", "-m", "by hand"])?;
    repo.git(&["checkout", "-q", "main"])?;

    let source = repo.source()?;
    let files = tree(&apps, &source)?;
    committed(&publish(
        repo.path(),
        BRANCH,
        &files,
        &source,
        &identity(),
        true,
    )?)?;
    assert_eq!(read_branch(repo.path(), BRANCH)?, Some(files));

    let mut bad = source.clone();
    bad.commit = "not-hex".to_owned();
    assert!(matches!(
        publish(
            repo.path(),
            BRANCH,
            &tree(&apps, &bad)?,
            &bad,
            &identity(),
            false
        ),
        Err(PublishError::InvalidSourceCommit { .. })
    ));
    repo.fsck()?;
    Ok(())
}
