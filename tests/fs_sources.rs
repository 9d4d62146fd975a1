//! `kiln::fs`: one view of a project's files over the work tree, the index and any revision.
//!
//! Every test builds a hermetic repository in a temporary directory with the `git` command line:
//! no global or system configuration, fixed identity and dates, and none of the `GIT_*`
//! variables a surrounding hook may have exported.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;

use kiln::fs::{Entry, EntryKind, FsError, OpenOptions, PathKind, RepoFs, Source};
use tempfile::TempDir;

type TestResult = Result<(), Box<dyn Error>>;

/// A throwaway git repository (or plain directory) for one test.
struct Repo {
    dir: TempDir,
}

impl Repo {
    /// An empty repository with `main` as its branch.
    fn init() -> Result<Repo, Box<dyn Error>> {
        let repo = Repo::plain()?;
        repo.git(&["init", "-q", "-b", "main"])?;
        Ok(repo)
    }

    /// A directory that is not a git repository.
    fn plain() -> Result<Repo, Box<dyn Error>> {
        Ok(Repo {
            dir: tempfile::Builder::new().prefix("kiln-fs-").tempdir()?,
        })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `git` hermetically in the repository; returns its stdout.
    fn git(&self, args: &[&str]) -> Result<String, Box<dyn Error>> {
        self.git_with_env(args, &[])
    }

    fn git_with_env(&self, args: &[&str], env: &[(&str, &Path)]) -> Result<String, Box<dyn Error>> {
        git_in(self.path(), args, env)
    }

    fn write(&self, path: &str, content: &str) -> TestResult {
        let full = self.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(full, content)?;
        Ok(())
    }

    fn symlink(&self, target: &str, path: &str) -> TestResult {
        let full = self.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::os::unix::fs::symlink(target, full)?;
        Ok(())
    }

    fn commit_all(&self, message: &str) -> TestResult {
        self.git(&["add", "-A"])?;
        self.git(&["commit", "-q", "--allow-empty", "-m", message])?;
        Ok(())
    }

    fn open(&self, source: Source) -> Result<RepoFs, FsError> {
        RepoFs::open(self.path(), source)
    }
}

/// Runs `git` hermetically in `dir`; returns its stdout.
fn git_in(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Result<String, Box<dyn Error>> {
    let mut command = Command::new("git");
    command
        .current_dir(dir)
        .args([
            "-c",
            "user.name=kiln tests",
            "-c",
            "user.email=tests@kiln.invalid",
            "-c",
            "core.symlinks=true",
            "-c",
            "core.autocrlf=false",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z");
    // A hook running these tests would otherwise point git at the outer repository.
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_CEILING_DIRECTORIES",
        "GIT_PREFIX",
    ] {
        command.env_remove(var);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output()?;
    if !output.status.success() {
        return Err(format!(
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(output.stdout)?)
}

fn head() -> Source {
    Source::Rev("HEAD".to_owned())
}

fn all_sources() -> [Source; 3] {
    [Source::WorkTree, Source::Index, head()]
}

fn read_string(fs: &RepoFs, path: &str) -> Result<String, Box<dyn Error>> {
    Ok(String::from_utf8(fs.read(path)?)?)
}

fn paths(fs: &RepoFs) -> Vec<&str> {
    fs.files().iter().map(|e| e.path.as_str()).collect()
}

// ---------------------------------------------------------------------------------------------
// Sources

#[test]
fn index_reads_staged_blobs_and_ignores_unstaged_changes() -> TestResult {
    let repo = Repo::init()?;
    repo.write("app.yaml", "v1\n")?;
    repo.commit_all("v1")?;

    // Staged: v2. Then the work tree moves on to v3 without staging it.
    repo.write("app.yaml", "v2\n")?;
    repo.git(&["add", "app.yaml"])?;
    repo.write("app.yaml", "v3\n")?;
    // Staged, then deleted from the work tree: only the index still has it.
    repo.write("staged-only.yaml", "staged\n")?;
    repo.git(&["add", "staged-only.yaml"])?;
    std::fs::remove_file(repo.path().join("staged-only.yaml"))?;
    // Untracked: only the work tree has it.
    repo.write("untracked.yaml", "new\n")?;

    let index = repo.open(Source::Index)?;
    assert_eq!(read_string(&index, "app.yaml")?, "v2\n");
    assert_eq!(read_string(&index, "staged-only.yaml")?, "staged\n");
    assert_eq!(paths(&index), ["app.yaml", "staged-only.yaml"]);
    assert!(matches!(
        index.read("untracked.yaml"),
        Err(FsError::NotFound { ref path }) if path == "untracked.yaml"
    ));

    let worktree = repo.open(Source::WorkTree)?;
    assert_eq!(read_string(&worktree, "app.yaml")?, "v3\n");
    assert_eq!(paths(&worktree), ["app.yaml", "untracked.yaml"]);
    assert!(!worktree.is_file("staged-only.yaml"));
    // Tracked means "in the index", even when the work tree lost the file.
    assert!(worktree.is_tracked("staged-only.yaml"));
    assert!(!worktree.is_tracked("untracked.yaml"));

    let rev = repo.open(head())?;
    assert_eq!(read_string(&rev, "app.yaml")?, "v1\n");
    assert_eq!(paths(&rev), ["app.yaml"]);
    Ok(())
}

#[test]
fn index_during_a_merge_conflict_shows_ours_and_skips_intent_to_add() -> TestResult {
    let repo = Repo::init()?;
    repo.write("app.yaml", "base\n")?;
    repo.commit_all("base")?;
    repo.git(&["checkout", "-q", "-b", "theirs"])?;
    repo.write("app.yaml", "theirs\n")?;
    repo.commit_all("theirs")?;
    repo.git(&["checkout", "-q", "main"])?;
    repo.write("app.yaml", "ours\n")?;
    repo.commit_all("ours")?;
    // The merge stops with a conflict: stages 1, 2 and 3 for app.yaml.
    assert!(repo.git(&["merge", "-q", "theirs"]).is_err());
    repo.write("later.yaml", "not staged yet\n")?;
    repo.git(&["add", "-N", "later.yaml"])?;

    let index = repo.open(Source::Index)?;
    assert_eq!(paths(&index), ["app.yaml"]);
    assert_eq!(read_string(&index, "app.yaml")?, "ours\n");
    let worktree = repo.open(Source::WorkTree)?;
    assert!(worktree.is_tracked("later.yaml"));
    Ok(())
}

#[test]
fn rev_reads_old_trees_by_any_spec() -> TestResult {
    let repo = Repo::init()?;
    repo.write("app.yaml", "old\n")?;
    repo.write("removed.yaml", "gone later\n")?;
    repo.commit_all("first")?;
    let first = repo.git(&["rev-parse", "HEAD"])?.trim().to_owned();
    repo.git(&["branch", "first"])?;
    repo.write("app.yaml", "new\n")?;
    std::fs::remove_file(repo.path().join("removed.yaml"))?;
    repo.commit_all("second")?;

    for rev in ["HEAD~1", "HEAD^", "first", &first, &first[..7], "main~1"] {
        let fs = repo.open(Source::Rev(rev.to_owned()))?;
        assert_eq!(read_string(&fs, "app.yaml")?, "old\n", "{rev}");
        assert_eq!(paths(&fs), ["app.yaml", "removed.yaml"], "{rev}");
        assert_eq!(fs.source(), &Source::Rev(rev.to_owned()));
    }
    let now = repo.open(head())?;
    assert_eq!(read_string(&now, "app.yaml")?, "new\n");
    assert!(!now.is_tracked("removed.yaml"));
    Ok(())
}

#[test]
fn bad_revisions_are_reported_as_such() -> TestResult {
    let repo = Repo::init()?;
    repo.write("app.yaml", "x\n")?;
    repo.commit_all("only")?;
    for rev in [
        "no-such-branch",
        "HEAD~5",
        "0123456789abcdef0123456789abcdef01234567",
        "HEAD:app.yaml",
    ] {
        match repo.open(Source::Rev(rev.to_owned())) {
            Err(FsError::BadRevision { rev: got, message }) => {
                assert_eq!(got, rev);
                assert!(
                    !message.is_empty() && !message.ends_with('.'),
                    "{message:?}"
                );
            }
            other => panic!("{rev}: expected BadRevision, got {other:?}"),
        }
    }
    Ok(())
}

#[test]
fn git_sources_need_a_repository_but_the_work_tree_does_not() -> TestResult {
    let dir = Repo::plain()?;
    // Skip if the temporary directory happens to live inside some repository.
    if git_in(dir.path(), &["rev-parse", "--git-dir"], &[]).is_ok() {
        return Ok(());
    }
    dir.write(".gitignore", "*.yaml\n")?;
    dir.write("app.yaml", "x\n")?;
    let fs = dir.open(Source::WorkTree)?;
    // Without a repository, nothing is ignored and nothing is tracked.
    assert_eq!(paths(&fs), [".gitignore", "app.yaml"]);
    assert!(!fs.is_ignored("app.yaml", false));
    assert!(!fs.is_tracked("app.yaml"));
    assert_eq!(fs.repo_root(), None);
    for source in [Source::Index, head()] {
        assert!(matches!(
            dir.open(source),
            Err(FsError::NotARepository { .. })
        ));
    }
    Ok(())
}

#[test]
fn index_file_can_be_given_explicitly_like_a_hook_does() -> TestResult {
    let repo = Repo::init()?;
    repo.write("app.yaml", "committed\n")?;
    repo.commit_all("base")?;
    // `git commit -a` runs hooks with GIT_INDEX_FILE pointing at a temporary index.
    let temp_index = repo.path().join(".git").join("index.kiln-test");
    std::fs::copy(repo.path().join(".git/index"), &temp_index)?;
    repo.write("app.yaml", "about to be committed\n")?;
    repo.git_with_env(&["add", "app.yaml"], &[("GIT_INDEX_FILE", &temp_index)])?;

    let default = repo.open(Source::Index)?;
    assert_eq!(read_string(&default, "app.yaml")?, "committed\n");
    let options = OpenOptions {
        index_file: Some(temp_index),
    };
    let hook = RepoFs::open_with(repo.path(), Source::Index, &options)?;
    assert_eq!(read_string(&hook, "app.yaml")?, "about to be committed\n");
    Ok(())
}

#[test]
fn linked_worktrees_have_their_own_index_and_head() -> TestResult {
    let repo = Repo::init()?;
    repo.write("app.yaml", "main\n")?;
    repo.commit_all("main")?;
    let linked = Repo::plain()?;
    let checkout = linked.path().join("wt");
    let checkout_str = checkout.to_str().ok_or("temporary path is not UTF-8")?;
    repo.git(&["worktree", "add", "-q", "-b", "feature", checkout_str])?;
    std::fs::write(checkout.join("app.yaml"), "feature\n")?;
    git_in(&checkout, &["add", "app.yaml"], &[])?;

    let staged = RepoFs::open(&checkout, Source::Index)?;
    assert_eq!(read_string(&staged, "app.yaml")?, "feature\n");
    assert_eq!(
        staged.repo_root(),
        Some(std::fs::canonicalize(&checkout)?.as_path())
    );
    let main = repo.open(Source::Index)?;
    assert_eq!(read_string(&main, "app.yaml")?, "main\n");
    let head = RepoFs::open(&checkout, head())?;
    assert_eq!(read_string(&head, "app.yaml")?, "main\n");
    Ok(())
}

#[test]
fn the_project_root_must_be_a_directory() -> TestResult {
    let repo = Repo::init()?;
    repo.write("file.yaml", "x\n")?;
    for path in [repo.path().join("file.yaml"), repo.path().join("missing")] {
        assert!(matches!(
            RepoFs::open(&path, Source::WorkTree),
            Err(FsError::Io { .. })
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Project root below the repository root

#[test]
fn project_root_in_a_subdirectory_strips_the_prefix() -> TestResult {
    let repo = Repo::init()?;
    repo.write(".gitignore", "*.secret\nout/\n")?;
    repo.write("README.md", "outside the project\n")?;
    repo.write(
        "testdata/case10/other.yaml",
        "a sibling with a common prefix\n",
    )?;
    repo.write("testdata/case1/app.yaml", "app\n")?;
    repo.write("testdata/case1/base/kustomization.yaml", "base\n")?;
    repo.write("testdata/case1/creds.secret", "ignored from above\n")?;
    repo.write("testdata/case1/out/render.yaml", "ignored dir\n")?;
    repo.commit_all("fixture")?;
    let root = repo.path().join("testdata/case1");

    for source in all_sources() {
        let fs = RepoFs::open(&root, source.clone())?;
        assert_eq!(
            paths(&fs),
            ["app.yaml", "base/kustomization.yaml"],
            "{source:?}"
        );
        assert_eq!(read_string(&fs, "base/kustomization.yaml")?, "base\n");
        assert_eq!(fs.root(), std::fs::canonicalize(&root)?);
        assert_eq!(
            fs.repo_root(),
            Some(std::fs::canonicalize(repo.path())?.as_path())
        );
        // The `.gitignore` above the project root applies, in every source.
        assert!(fs.is_ignored("creds.secret", false), "{source:?}");
        assert!(fs.is_ignored("out", true), "{source:?}");
        assert!(fs.is_ignored("out/render.yaml", false), "{source:?}");
        assert!(!fs.is_ignored("app.yaml", false), "{source:?}");
        // `..` may not leave the project root, even though the repository continues above.
        assert!(matches!(
            fs.read("../../README.md"),
            Err(FsError::EscapesRoot { ref target, .. }) if target == "../../README.md"
        ));
        assert!(fs.is_tracked("base"));
        assert!(!fs.is_tracked("creds.secret"));
    }
    let worktree = RepoFs::open(&root, Source::WorkTree)?;
    assert_eq!(worktree.ignored_dirs(), ["out"]);
    Ok(())
}

#[test]
fn project_root_missing_from_an_old_revision_is_an_empty_view() -> TestResult {
    let repo = Repo::init()?;
    repo.write("README.md", "x\n")?;
    repo.commit_all("before")?;
    repo.write("apps/app.yaml", "x\n")?;
    repo.commit_all("after")?;
    let fs = RepoFs::open(&repo.path().join("apps"), Source::Rev("HEAD~1".to_owned()))?;
    assert!(fs.files().is_empty());
    assert_eq!(fs.read_dir(""), []);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Ignore rules and tracking

/// A tree exercising nested `.gitignore` files, negation and directory-only patterns.
fn ignore_fixture() -> Result<Repo, Box<dyn Error>> {
    let repo = Repo::init()?;
    repo.write(".gitignore", "*.log\n!keep.log\nbuild/\ntmp\n# comment\n")?;
    repo.write("sub/.gitignore", "!debug.log\n*.tmp\n")?;
    repo.write("keep.log", "re-included\n")?;
    repo.write("noise.log", "ignored\n")?;
    repo.write("sub/debug.log", "re-included by the deeper file\n")?;
    repo.write("sub/trace.log", "still ignored from the root file\n")?;
    repo.write("sub/x.tmp", "ignored by the deeper file\n")?;
    repo.write("build/out.yaml", "inside an ignored directory\n")?;
    repo.write(
        "other/build",
        "a file named like a directory-only pattern\n",
    )?;
    repo.write("app.yaml", "kept\n")?;
    repo.commit_all("fixture")?;
    // Tracked despite matching `*.log`: git keeps tracking it, and so does every view.
    repo.write("forced.log", "force-added\n")?;
    repo.git(&["add", "-f", "forced.log"])?;
    repo.git(&["commit", "-q", "-m", "force"])?;
    Ok(repo)
}

#[test]
fn gitignore_semantics_match_git_in_every_source() -> TestResult {
    let repo = ignore_fixture()?;
    for source in all_sources() {
        let fs = repo.open(source.clone())?;
        let cases = [
            ("noise.log", false, true),
            ("keep.log", false, false),
            ("sub/debug.log", false, false),
            ("sub/trace.log", false, true),
            ("sub/x.tmp", false, true),
            ("x.tmp", false, false),
            ("build", true, true),
            ("build/out.yaml", false, true),
            // Directory-only patterns do not match files.
            ("other/build", false, false),
            ("other/build", true, true),
            // Patterns without a slash match at any depth.
            ("deep/down/tmp", false, true),
            ("app.yaml", false, false),
            ("", true, false),
            // Pattern matching only: tracked files can be "ignored" too.
            ("forced.log", false, true),
        ];
        for (path, is_dir, expected) in cases {
            assert_eq!(
                fs.is_ignored(path, is_dir),
                expected,
                "{source:?}: is_ignored({path:?}, {is_dir})"
            );
        }
        assert_eq!(
            paths(&fs),
            [
                ".gitignore",
                "app.yaml",
                "forced.log",
                "keep.log",
                "other/build",
                "sub/.gitignore",
                "sub/debug.log",
            ],
            "{source:?}"
        );
    }
    Ok(())
}

#[test]
fn each_source_uses_its_own_gitignore_files() -> TestResult {
    let repo = Repo::init()?;
    repo.write(".gitignore", "*.committed\n")?;
    repo.commit_all("committed rules")?;
    repo.write(".gitignore", "*.staged\n")?;
    repo.git(&["add", ".gitignore"])?;
    repo.write(".gitignore", "*.disk\n")?;
    for (source, ignored) in [
        (Source::WorkTree, "x.disk"),
        (Source::Index, "x.staged"),
        (head(), "x.committed"),
    ] {
        let fs = repo.open(source.clone())?;
        for candidate in ["x.disk", "x.staged", "x.committed"] {
            assert_eq!(
                fs.is_ignored(candidate, false),
                candidate == ignored,
                "{source:?}: {candidate}"
            );
        }
    }
    Ok(())
}

#[test]
fn ignored_directories_are_pruned_but_tracked_files_kept() -> TestResult {
    let repo = ignore_fixture()?;
    // Ignored directory holding a tracked file: walked, and only the tracked file kept.
    repo.write("cache/tracked.yaml", "tracked\n")?;
    repo.git(&["add", "-f", "cache/tracked.yaml"])?;
    repo.write(".gitignore", "*.log\n!keep.log\nbuild/\ntmp\ncache/\n")?;
    repo.write("cache/untracked.yaml", "ignored\n")?;
    repo.write("build/more/deep.yaml", "ignored\n")?;
    let fs = repo.open(Source::WorkTree)?;
    assert_eq!(fs.ignored_dirs(), ["build"]);
    assert!(fs.is_file("cache/tracked.yaml"));
    assert!(!fs.is_file("cache/untracked.yaml"));
    assert!(!fs.is_file("noise.log"));
    assert!(fs.is_file("forced.log"));
    for source in [Source::Index, head()] {
        assert_eq!(repo.open(source)?.ignored_dirs(), [] as [String; 0]);
    }
    Ok(())
}

#[test]
fn is_tracked_answers_from_the_source() -> TestResult {
    let repo = ignore_fixture()?;
    repo.write("new.yaml", "staged, not committed\n")?;
    repo.git(&["add", "new.yaml"])?;
    repo.write("untracked.yaml", "x\n")?;
    let worktree = repo.open(Source::WorkTree)?;
    let index = repo.open(Source::Index)?;
    let rev = repo.open(head())?;
    for fs in [&worktree, &index] {
        assert!(fs.is_tracked("new.yaml"));
        assert!(fs.is_tracked("sub"));
        assert!(fs.is_tracked("sub/"));
        assert!(fs.is_tracked(""));
        assert!(fs.is_tracked("forced.log"));
        assert!(!fs.is_tracked("untracked.yaml"));
        assert!(!fs.is_tracked("noise.log"));
        assert!(!fs.is_tracked("build"));
        assert!(!fs.is_tracked("su"));
    }
    assert!(!rev.is_tracked("new.yaml"));
    assert!(rev.is_tracked("sub/debug.log"));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Symlinks and paths

fn symlink_fixture() -> Result<Repo, Box<dyn Error>> {
    let repo = Repo::init()?;
    repo.write("base/deploy.yaml", "real\n")?;
    repo.write("base/nested/patch.yaml", "patch\n")?;
    repo.symlink("base/deploy.yaml", "inside.yaml")?;
    repo.symlink("../base", "overlay/base")?;
    repo.symlink("../base/deploy.yaml", "overlay/up.yaml")?;
    repo.symlink("inside.yaml", "chain.yaml")?;
    repo.symlink("../outside.yaml", "escape.yaml")?;
    repo.symlink("/etc/passwd", "absolute.yaml")?;
    repo.symlink("missing.yaml", "dangling.yaml")?;
    repo.symlink("base/missing", "dangling-dir")?;
    repo.symlink("loop-b", "loop-a")?;
    repo.symlink("loop-a", "loop-b")?;
    repo.symlink("self", "self")?;
    repo.commit_all("links")?;
    Ok(repo)
}

#[test]
fn symlinks_resolve_inside_the_root_in_every_source() -> TestResult {
    let repo = symlink_fixture()?;
    for source in all_sources() {
        let fs = repo.open(source.clone())?;
        let kind = |path: &str| fs.files().iter().find(|e| e.path == path).map(|e| e.kind);
        assert_eq!(kind("inside.yaml"), Some(EntryKind::Symlink), "{source:?}");
        // A symlinked directory is one entry; nothing is listed through it.
        assert_eq!(kind("overlay/base"), Some(EntryKind::Symlink), "{source:?}");
        assert!(!paths(&fs).iter().any(|p| p.starts_with("overlay/base/")));

        assert_eq!(fs.resolve("inside.yaml")?, "base/deploy.yaml");
        assert_eq!(fs.resolve("chain.yaml")?, "base/deploy.yaml");
        assert_eq!(fs.resolve("overlay/up.yaml")?, "base/deploy.yaml");
        assert_eq!(
            fs.resolve("overlay/base/nested/patch.yaml")?,
            "base/nested/patch.yaml"
        );
        assert_eq!(
            fs.resolve("overlay/base/nested/../deploy.yaml")?,
            "base/deploy.yaml"
        );
        assert_eq!(fs.resolve("overlay/base")?, "base");
        assert_eq!(read_string(&fs, "chain.yaml")?, "real\n", "{source:?}");
        assert_eq!(
            read_string(&fs, "overlay/base/nested/patch.yaml")?,
            "patch\n"
        );

        assert_eq!(fs.read_link("overlay/base"), Some("../base"));
        assert_eq!(fs.read_link("./chain.yaml"), Some("inside.yaml"));
        assert_eq!(fs.read_link("base"), None);
        assert_eq!(fs.kind("overlay/base"), Some(PathKind::Symlink));
        assert_eq!(
            fs.kind("overlay/base/deploy.yaml"),
            None,
            "kind does not follow links"
        );
        assert!(fs.is_dir("overlay/base"));
        assert!(fs.is_file("inside.yaml"));
        assert!(!fs.is_file("overlay/base"));
        assert!(!fs.is_file("dangling.yaml"));
        assert_eq!(
            fs.read_dir("overlay/base"),
            [
                ("deploy.yaml".to_owned(), PathKind::File),
                ("nested".to_owned(), PathKind::Dir)
            ]
        );
        assert!(matches!(
            fs.read("overlay/base"),
            Err(FsError::IsDirectory { ref path }) if path == "overlay/base"
        ));
    }
    Ok(())
}

#[test]
fn symlinks_that_escape_dangle_or_loop_are_errors() -> TestResult {
    let repo = symlink_fixture()?;
    for source in all_sources() {
        let fs = repo.open(source.clone())?;
        let err = fs.read("escape.yaml").expect_err("escapes");
        assert!(
            matches!(&err, FsError::EscapesRoot { path, target } if path == "escape.yaml" && target == "../outside.yaml"),
            "{source:?}: {err:?}"
        );
        let err = fs.read("absolute.yaml").expect_err("absolute target");
        assert!(
            matches!(&err, FsError::EscapesRoot { target, .. } if target == "/etc/passwd"),
            "{source:?}: {err:?}"
        );
        let err = fs.read("dangling.yaml").expect_err("dangles");
        assert!(
            matches!(&err, FsError::DanglingSymlink { path, target } if path == "dangling.yaml" && target == "missing.yaml"),
            "{source:?}: {err:?}"
        );
        // The dangling link is reported, not the path asked for.
        let err = fs.resolve("dangling-dir/x.yaml").expect_err("dangles");
        assert!(
            matches!(&err, FsError::DanglingSymlink { path, .. } if path == "dangling-dir"),
            "{source:?}: {err:?}"
        );
        for path in ["loop-a", "self", "loop-b/x"] {
            let err = fs.read(path).expect_err("loops");
            assert!(
                matches!(&err, FsError::SymlinkLoop { path: p } if p == path),
                "{source:?}: {err:?}"
            );
        }
        // A missing file below an existing symlinked directory is just missing.
        let err = fs.read("overlay/base/nope.yaml").expect_err("missing");
        assert!(
            matches!(&err, FsError::NotFound { .. }),
            "{source:?}: {err:?}"
        );
    }
    Ok(())
}

#[test]
fn paths_may_not_be_absolute_or_climb_above_the_root() -> TestResult {
    let repo = symlink_fixture()?;
    for source in all_sources() {
        let fs = repo.open(source.clone())?;
        for path in ["/etc/passwd", "/base/deploy.yaml"] {
            assert!(
                matches!(fs.read(path), Err(FsError::Absolute { path: ref p }) if p == path),
                "{source:?} {path}"
            );
        }
        let err = fs.read("base/../../x").expect_err("climbs");
        assert!(
            matches!(&err, FsError::EscapesRoot { path, target } if path == "base/../../x" && target == "../x"),
            "{err:?}"
        );
        assert!(matches!(fs.resolve(".."), Err(FsError::EscapesRoot { .. })));
        // Lexical normalisation happens before symlinks are followed.
        assert_eq!(
            fs.resolve("./base//nested/./../deploy.yaml")?,
            "base/deploy.yaml"
        );
        assert_eq!(fs.resolve("")?, "");
        assert_eq!(fs.kind("base/"), Some(PathKind::Dir));
        assert_eq!(fs.kind(""), Some(PathKind::Dir));
        assert_eq!(fs.kind(".."), None);
        assert!(matches!(fs.read(""), Err(FsError::IsDirectory { .. })));
        // A file is not a directory.
        assert!(matches!(
            fs.read("base/deploy.yaml/x"),
            Err(FsError::NotFound { .. })
        ));
    }
    Ok(())
}

#[test]
fn unreadable_files_are_io_errors() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let repo = Repo::init()?;
    repo.write("secret.yaml", "no access\n")?;
    let on_disk = repo.path().join("secret.yaml");
    std::fs::set_permissions(&on_disk, std::fs::Permissions::from_mode(0o000))?;
    let fs = repo.open(Source::WorkTree)?;
    if std::fs::read(&on_disk).is_ok() {
        // Running as root: permissions do not apply, so there is nothing to observe.
        return Ok(());
    }
    let err = fs.read("secret.yaml").expect_err("unreadable");
    assert!(
        matches!(&err, FsError::Io { path, source } if path == &std::fs::canonicalize(&on_disk)? && source.kind() == std::io::ErrorKind::PermissionDenied),
        "{err:?}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Listing

#[test]
fn files_are_sorted_by_bytes_and_identical_across_sources() -> TestResult {
    let repo = Repo::init()?;
    // Names whose byte order differs from a naive directory-first walk: '-' and '.' sort before
    // '/', and upper case before lower case.
    for path in [
        "a/b", "a-b", "a.b", "a0", "B", "a/c/d", "a/b-c", "z", "é.yaml",
    ] {
        repo.write(path, path)?;
    }
    repo.write("run.sh", "#!/bin/sh\n")?;
    std::fs::set_permissions(
        repo.path().join("run.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )?;
    repo.commit_all("names")?;

    let expected: Vec<Entry> = [
        "B", "a-b", "a.b", "a/b", "a/b-c", "a/c/d", "a0", "run.sh", "z", "é.yaml",
    ]
    .iter()
    .map(|p| Entry {
        path: (*p).to_owned(),
        kind: if *p == "run.sh" {
            EntryKind::Executable
        } else {
            EntryKind::File
        },
    })
    .collect();
    for source in all_sources() {
        let first = repo.open(source.clone())?;
        let second = repo.open(source.clone())?;
        assert_eq!(first.files(), expected, "{source:?}");
        assert_eq!(first.files(), second.files());
        assert!(
            first
                .files()
                .windows(2)
                .all(|w| w[0].path.as_bytes() < w[1].path.as_bytes())
        );
        assert_eq!(
            first.read_dir(""),
            [
                ("B".to_owned(), PathKind::File),
                ("a".to_owned(), PathKind::Dir),
                ("a-b".to_owned(), PathKind::File),
                ("a.b".to_owned(), PathKind::File),
                ("a0".to_owned(), PathKind::File),
                ("run.sh".to_owned(), PathKind::File),
                ("z".to_owned(), PathKind::File),
                ("é.yaml".to_owned(), PathKind::File),
            ]
        );
        assert_eq!(
            first.read_dir("a"),
            [
                ("b".to_owned(), PathKind::File),
                ("b-c".to_owned(), PathKind::File),
                ("c".to_owned(), PathKind::Dir),
            ]
        );
        assert_eq!(first.read_dir("a/b"), []);
        assert_eq!(first.read_dir("nope"), []);
        assert_eq!(first.kind("a"), Some(PathKind::Dir));
        assert_eq!(first.kind("a/c"), Some(PathKind::Dir));
        assert_eq!(first.kind("a/"), Some(PathKind::Dir));
        assert_eq!(first.kind("a/b"), Some(PathKind::File));
        assert_eq!(first.kind("a/b-"), None);
    }
    Ok(())
}

#[test]
fn many_files_walk_the_same_in_every_source() -> TestResult {
    // Enough directories to exercise the parallel part of the work tree walk.
    let repo = Repo::init()?;
    repo.write(".gitignore", "*.out\n")?;
    for app in 0..60 {
        for env in ["dev", "prod"] {
            repo.write(
                &format!("apps/{env}/app-{app:02}/kustomization.yaml"),
                "k\n",
            )?;
            repo.write(&format!("apps/{env}/app-{app:02}/render.out"), "ignored\n")?;
        }
        repo.write(
            &format!("apps/base/app-{app:02}/.gitignore"),
            "local.yaml\n",
        )?;
        repo.write(&format!("apps/base/app-{app:02}/deploy.yaml"), "d\n")?;
        repo.write(&format!("apps/base/app-{app:02}/local.yaml"), "ignored\n")?;
    }
    repo.commit_all("apps")?;
    let worktree = repo.open(Source::WorkTree)?;
    assert_eq!(worktree.files().len(), 1 + 60 * 4);
    assert!(worktree.is_ignored("apps/base/app-07/local.yaml", false));
    assert!(!worktree.is_ignored("apps/dev/app-07/local.yaml", false));
    for source in [Source::Index, head()] {
        let fs = repo.open(source.clone())?;
        assert_eq!(fs.files(), worktree.files(), "{source:?}");
        assert!(fs.is_ignored("apps/base/app-07/local.yaml", false));
    }
    Ok(())
}

#[test]
fn submodules_and_nested_repositories_are_opaque() -> TestResult {
    let repo = Repo::init()?;
    repo.write("app.yaml", "x\n")?;
    let nested = Repo::plain()?;
    nested.git(&["init", "-q", "-b", "main"])?;
    nested.write("inner.yaml", "inner\n")?;
    nested.commit_all("inner")?;
    let commit = nested.git(&["rev-parse", "HEAD"])?.trim().to_owned();
    // A gitlink in the index, as `git submodule add` would record it, plus its checkout.
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{commit},vendor/lib"),
    ])?;
    std::fs::create_dir_all(repo.path().join("vendor/lib"))?;
    std::fs::write(repo.path().join("vendor/lib/inner.yaml"), "checked out\n")?;
    // An untracked nested repository.
    repo.write("scratch/file.yaml", "x\n")?;
    std::fs::create_dir_all(repo.path().join("scratch/.git"))?;
    repo.git(&["add", "app.yaml"])?;
    repo.git(&["commit", "-q", "-m", "with submodule"])?;

    for source in all_sources() {
        let fs = repo.open(source.clone())?;
        let kind = |path: &str| fs.files().iter().find(|e| e.path == path).map(|e| e.kind);
        assert_eq!(kind("vendor/lib"), Some(EntryKind::Submodule), "{source:?}");
        assert_eq!(fs.kind("vendor/lib"), Some(PathKind::Dir));
        assert!(!fs.is_file("vendor/lib/inner.yaml"));
        assert!(matches!(
            fs.read("vendor/lib"),
            Err(FsError::IsDirectory { .. })
        ));
    }
    let worktree = repo.open(Source::WorkTree)?;
    assert_eq!(paths(&worktree), ["app.yaml", "scratch", "vendor/lib"]);
    Ok(())
}

#[test]
fn reads_from_many_threads_at_once() -> TestResult {
    let repo = Repo::init()?;
    for i in 0..200 {
        repo.write(&format!("f/{i:03}.yaml"), &format!("{i}\n"))?;
    }
    repo.commit_all("many")?;
    for source in all_sources() {
        let fs = repo.open(source)?;
        let total: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = fs
                .files()
                .chunks(50)
                .map(|chunk| {
                    let fs = &fs;
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|e| fs.read(&e.path).map(|bytes| bytes.len()))
                            .sum::<Result<usize, FsError>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("reader thread panicked"))
                .sum::<Result<usize, FsError>>()
        })?;
        assert_eq!(
            total,
            (0..200)
                .map(|i: usize| i.to_string().len() + 1)
                .sum::<usize>()
        );
    }
    Ok(())
}

#[test]
fn errors_read_like_kiln_messages() -> TestResult {
    let repo = symlink_fixture()?;
    let fs = repo.open(Source::WorkTree)?;
    for err in [
        fs.read("escape.yaml").expect_err("escapes"),
        fs.read("dangling.yaml").expect_err("dangles"),
        fs.read("/abs").expect_err("absolute"),
        repo.open(Source::Rev("nope".to_owned()))
            .expect_err("bad revision"),
    ] {
        let message = err.to_string();
        assert!(!message.ends_with('.'), "{message}");
        assert_eq!(message, message.to_lowercase(), "{message}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Timing

/// Prints how long opening a view and reading every file once takes, per source.
///
/// Not an assertion: run it on a generated monorepo, in release mode:
///
/// ```sh
/// python3 /work/shared/tools/gen_monorepo.py /tmp/mono1000 --apps 1000
/// (cd /tmp/mono1000 && git init -q && git add -A && git commit -qm init)
/// KILN_FS_BENCH=/tmp/mono1000 cargo test --release --test fs_sources -- --ignored --nocapture
/// ```
#[test]
#[ignore = "timing report; needs KILN_FS_BENCH pointing at a committed repository"]
fn timing_open_and_read_everything() -> TestResult {
    let Some(root) = std::env::var_os("KILN_FS_BENCH").map(PathBuf::from) else {
        eprintln!("KILN_FS_BENCH is not set; nothing to time");
        return Ok(());
    };
    for source in all_sources() {
        let mut opens = Vec::new();
        let mut reads = Vec::new();
        let mut files = 0;
        let mut bytes = 0;
        for _ in 0..5 {
            let start = std::time::Instant::now();
            let fs = RepoFs::open(&root, source.clone())?;
            opens.push(start.elapsed());
            let start = std::time::Instant::now();
            bytes = fs
                .files()
                .iter()
                .filter(|e| matches!(e.kind, EntryKind::File | EntryKind::Executable))
                .map(|e| fs.read(&e.path).map(|b| b.len()))
                .sum::<Result<usize, FsError>>()?;
            reads.push(start.elapsed());
            files = fs.files().len();
        }
        opens.sort();
        reads.sort();
        eprintln!(
            "{source:?}: {files} files, {bytes} bytes; open min {:?} median {:?}; read all min {:?} median {:?}",
            opens[0], opens[2], reads[0], reads[2]
        );
    }
    Ok(())
}

/// The work tree takes the executable bit of tracked files from the index (no `stat` per
/// file) and asks the disk only for untracked files.
#[cfg(unix)]
#[test]
fn executable_bits_come_from_the_index_for_tracked_files_and_the_disk_otherwise() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let repo = Repo::init()?;
    repo.write("tracked.sh", "#!/bin/sh\n")?;
    std::fs::set_permissions(
        repo.path().join("tracked.sh"),
        PermissionsExt::from_mode(0o755),
    )?;
    repo.commit_all("scripts")?;
    repo.write("untracked.sh", "#!/bin/sh\n")?;
    std::fs::set_permissions(
        repo.path().join("untracked.sh"),
        PermissionsExt::from_mode(0o755),
    )?;
    repo.write("plain.txt", "x\n")?;

    let fs = repo.open(Source::WorkTree)?;
    let kind = |p: &str| fs.files().iter().find(|e| e.path == p).map(|e| e.kind);
    assert_eq!(kind("tracked.sh"), Some(EntryKind::Executable));
    assert_eq!(kind("untracked.sh"), Some(EntryKind::Executable));
    assert_eq!(kind("plain.txt"), Some(EntryKind::File));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Staged changes

/// `git diff --cached --name-only --no-renames` below `prefix`, relative to it.
fn git_staged(repo: &Repo, prefix: &str) -> Result<Vec<String>, Box<dyn Error>> {
    let out = repo.git(&["diff", "--cached", "--name-only", "--no-renames", "-z"])?;
    Ok(out
        .split('\0')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            if prefix.is_empty() {
                Some(p.to_owned())
            } else {
                p.strip_prefix(&format!("{prefix}/")).map(str::to_owned)
            }
        })
        .collect())
}

fn kiln_staged(root: &Path) -> Result<Vec<String>, Box<dyn Error>> {
    let fs = RepoFs::open(root, Source::Index)?;
    let staged = fs
        .staged_changes()
        .ok_or("an index view knows its staged changes")?;
    Ok(staged.paths.iter().cloned().collect())
}

#[test]
fn staged_changes_agree_with_git_diff_cached() -> TestResult {
    let repo = Repo::init()?;
    for app in ["a", "b", "c d", "é"] {
        for env in ["prod", "dev"] {
            repo.write(
                &format!("proj/apps/{env}/{app}/kustomization.yaml"),
                "resources: []\n",
            )?;
            repo.write(&format!("proj/apps/{env}/{app}/deploy/x.yaml"), app)?;
        }
    }
    repo.write("outside/file", "x")?;
    repo.write("proj/kiln.yaml", "kind: Project\n")?;
    repo.commit_all("one")?;
    let check = |what: &str| -> TestResult {
        for (root, prefix) in [
            (repo.path().to_owned(), ""),
            (repo.path().join("proj"), "proj"),
        ] {
            assert_eq!(
                kiln_staged(&root)?,
                git_staged(&repo, prefix)?,
                "{what} (root {prefix:?})"
            );
        }
        Ok(())
    };
    check("nothing staged")?;
    repo.write("proj/apps/prod/a/deploy/x.yaml", "changed")?;
    repo.git(&["add", "-A"])?;
    check("one file changed")?;
    repo.git(&["rm", "-r", "-q", "proj/apps/dev/b"])?;
    check("a whole app deleted")?;
    repo.write(
        "proj/apps/prod/new app/kustomization.yaml",
        "resources: []\n",
    )?;
    repo.write("outside/other", "y")?;
    repo.git(&["add", "-A"])?;
    check("files added, inside and outside the project")?;
    repo.git(&[
        "update-index",
        "--chmod=+x",
        "proj/apps/dev/é/deploy/x.yaml",
    ])?;
    check("a mode change")?;
    repo.symlink("x.yaml", "proj/apps/prod/c d/deploy/link.yaml")?;
    repo.git(&["add", "-A"])?;
    check("a symlink added")?;
    // Without the cache-tree extension every entry is compared.
    repo.git(&["read-tree", "--empty"])?;
    repo.git(&["add", "-A"])?;
    check("an index without a cache tree")?;
    repo.git(&["commit", "-q", "-m", "two"])?;
    check("committed: nothing staged")?;
    Ok(())
}

#[test]
fn before_the_first_commit_everything_staged_is_new() -> TestResult {
    let repo = Repo::init()?;
    repo.write("apps/prod/a/kustomization.yaml", "resources: []\n")?;
    repo.git(&["add", "-A"])?;
    let fs = repo.open(Source::Index)?;
    let staged = fs
        .staged_changes()
        .ok_or("an index view knows its staged changes")?;
    assert_eq!(staged.head_tree, None);
    assert_eq!(
        staged.paths.iter().map(String::as_str).collect::<Vec<_>>(),
        ["apps/prod/a/kustomization.yaml"]
    );
    Ok(())
}
