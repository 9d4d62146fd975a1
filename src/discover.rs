//! Discovery: the environments and apps of a repository, every kustomization they reach,
//! and for each app the set of files its render depends on.
//!
//! The layout is SPEC section 1: an environment is a folder under `apps/` other than
//! `base`; an app of an environment is `apps/<env>/<app>/deploy` with a kustomization;
//! `apps/base/<app>` is a base, and folders of `apps/base` whose name starts with `_`
//! (`_common`) are shared resources, not apps.
//!
//! Discovery parses kustomizations only for the paths they name (the field table
//! [`PATH_FIELDS`] is data, as kustomize's field specs are), resolves each path through
//! the view (lexically, then through symlinks), and records what it found as
//! [`PathRef`]s. It reports nothing itself: whether a path is missing or escapes is
//! decided by `validate::layout` from the refs, so the model stays a pure description.
//! Every kustomization is parsed once, however many apps reach it, in parallel.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use rayon::prelude::*;

use crate::diagnostics::{Diagnostic, Span};
use crate::fs::{FsError, PathKind, RepoFs};
use crate::load::Loader;
use crate::yaml::Node;

/// The folder holding environments and bases.
pub const APPS_DIR: &str = "apps";
/// The pseudo-environment holding the bases.
pub const BASE_ENV: &str = "base";
/// The shared base every app includes.
pub const COMMON_DIR: &str = "apps/base/_common/deploy";
/// File names kustomize accepts for a kustomization, in its order of preference.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];
/// The folder of plaintext working copies of secrets; never committed.
pub const PLAINTEXT_DIR: &str = "secret-decrypted";

/// What a path named by a kustomization is expected to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A file.
    File,
    /// A directory with a kustomization.
    Kustomization,
    /// A file of resources or a directory with a kustomization.
    FileOrKustomization,
}

/// Where in a kustomization a path may appear.
#[derive(Debug, Clone, Copy)]
pub struct PathField {
    /// The top-level field.
    pub field: &'static str,
    /// For a list of objects, the key inside each object that holds a path (or a list
    /// of paths); `None` when the list items are the paths themselves.
    pub key: Option<&'static str>,
    /// What the path must be.
    pub expect: Expect,
    /// Whether an item may be inline YAML instead of a path (recognised by a newline).
    pub inline_allowed: bool,
}

const fn field(
    field: &'static str,
    key: Option<&'static str>,
    expect: Expect,
    inline_allowed: bool,
) -> PathField {
    PathField {
        field,
        key,
        expect,
        inline_allowed,
    }
}

/// Every kustomization field that names a path, and what it must point to.
///
/// `configMapGenerator`/`secretGenerator` `files` items may be `key=path`; the key is
/// stripped before resolving. Generators and transformers may name a directory too.
pub const PATH_FIELDS: &[PathField] = &[
    field("resources", None, Expect::FileOrKustomization, false),
    field("bases", None, Expect::Kustomization, false),
    field("components", None, Expect::Kustomization, false),
    field("crds", None, Expect::File, false),
    field("configurations", None, Expect::File, false),
    field("patchesStrategicMerge", None, Expect::File, true),
    field("patches", Some("path"), Expect::File, false),
    field("patchesJson6902", Some("path"), Expect::File, false),
    field("replacements", Some("path"), Expect::File, false),
    field("configMapGenerator", Some("files"), Expect::File, false),
    field("configMapGenerator", Some("envs"), Expect::File, false),
    field("configMapGenerator", Some("env"), Expect::File, false),
    field("secretGenerator", Some("files"), Expect::File, false),
    field("secretGenerator", Some("envs"), Expect::File, false),
    field("secretGenerator", Some("env"), Expect::File, false),
    field("generators", None, Expect::FileOrKustomization, true),
    field("transformers", None, Expect::FileOrKustomization, true),
    field("validators", None, Expect::FileOrKustomization, true),
];

/// The paths a KSOPS generator config (`apiVersion: viaduct.ai/v1`, `kind: ksops`) names,
/// relative to the kustomization that runs it: encrypted manifests under `files`, and
/// encrypted inputs of generated Secrets under `secretFrom[].files`, `binaryFiles` and
/// `envs` (`files` items may be `key=path`).
pub const KSOPS_FIELDS: &[PathField] = &[
    field("files", None, Expect::File, false),
    field("secretFrom", Some("files"), Expect::File, false),
    field("secretFrom", Some("binaryFiles"), Expect::File, false),
    field("secretFrom", Some("envs"), Expect::File, false),
];

/// How a path named by a kustomization resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A file at this project-relative path (symlinks resolved).
    File(String),
    /// A directory at this path with a kustomization.
    Kustomization(String),
    /// A directory without a kustomization.
    Dir(String),
    /// Nothing is there.
    Missing(String),
    /// The path is absolute.
    Absolute,
    /// `..` climbs above the project root.
    Escapes,
    /// A symlink on the way leaves the root, dangles or loops.
    BadSymlink(String),
    /// A remote base (URL or git reference); kiln never fetches.
    Remote,
}

/// One path named by a kustomization.
#[derive(Debug, Clone)]
pub struct PathRef {
    /// The file it is written in: the kustomization, or a generator config it names.
    pub file: String,
    /// The field it appears in.
    pub field: &'static PathField,
    /// The text as written (for `files`, without the `key=` part).
    pub raw: String,
    /// Where it is written in the kustomization file.
    pub span: Span,
    /// What it resolved to.
    pub target: Target,
}

/// A parsed kustomization file.
#[derive(Debug, Clone)]
pub struct Kustomization {
    /// The directory it configures.
    pub dir: String,
    /// The file itself.
    pub file: String,
    /// Its text, for diagnostics.
    pub text: Arc<str>,
    /// Its document (`None` when the file is empty).
    pub node: Option<Node>,
    /// Every path it names, in document order, then the paths its KSOPS generators name.
    pub refs: Vec<PathRef>,
    /// Generator configs it names that could not be read or parsed.
    pub problems: Vec<Diagnostic>,
}

impl Kustomization {
    /// The kustomization directories this one includes (resources, bases, components).
    pub fn children(&self) -> impl Iterator<Item = &str> {
        self.refs.iter().filter_map(|r| match &r.target {
            Target::Kustomization(d) => Some(d.as_str()),
            _ => None,
        })
    }
}

/// A base: `apps/base/<app>`.
#[derive(Debug, Clone)]
pub struct Base {
    /// The app name.
    pub name: String,
    /// `apps/base/<app>`.
    pub dir: String,
    /// `apps/base/<app>/deploy` when it has a kustomization.
    pub deploy: Option<String>,
    /// Its image build folders, sorted.
    pub builds: Vec<String>,
}

/// An app of an environment: `apps/<env>/<app>`.
#[derive(Debug, Clone)]
pub struct App {
    /// The environment.
    pub env: String,
    /// The app name.
    pub name: String,
    /// `apps/<env>/<app>`.
    pub dir: String,
    /// `apps/<env>/<app>/deploy` when it has a kustomization.
    pub deploy: Option<String>,
    /// Every file the app's render reads: the app folder (without plaintext copies),
    /// every file its kustomizations name, transitively, and the build folders of the
    /// bases it reaches. Sorted.
    pub deps: BTreeSet<String>,
}

/// An environment: a folder of `apps/` other than `base`.
#[derive(Debug, Clone)]
pub struct Env {
    /// Its name.
    pub name: String,
    /// Its apps, sorted by name.
    pub apps: Vec<App>,
}

/// The repository model discovery produces.
#[derive(Debug, Default)]
pub struct Repo {
    /// Environments, sorted by name.
    pub envs: Vec<Env>,
    /// Bases, sorted by name.
    pub bases: Vec<Base>,
    /// Every kustomization reached from an app or base, by directory.
    pub kustomizations: BTreeMap<String, Kustomization>,
    /// Files that could not be read or parsed while discovering.
    pub diagnostics: Vec<Diagnostic>,
    /// Index of `bases` by their deploy directory.
    base_by_deploy: HashMap<String, usize>,
}

impl Repo {
    /// Every app of every environment.
    pub fn apps(&self) -> impl Iterator<Item = &App> {
        self.envs.iter().flat_map(|e| e.apps.iter())
    }

    /// The base whose deploy directory is `dir`, if `dir` is one.
    pub fn base_with_deploy(&self, dir: &str) -> Option<&Base> {
        self.base_by_deploy
            .get(dir)
            .and_then(|&i| self.bases.get(i))
    }

    /// The bases an overlay at `dir` builds on: those whose deploy directory it reaches.
    pub fn bases_reached(&self, dir: &str) -> impl Iterator<Item = &Base> {
        self.closure(dir)
            .into_iter()
            .filter_map(|k| self.base_with_deploy(&k.dir))
    }

    /// The kustomizations reachable from `dir`, depth first, each once, `dir` first.
    pub fn closure(&self, dir: &str) -> Vec<&Kustomization> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            if !seen.insert(d) {
                continue;
            }
            if let Some(k) = self.kustomizations.get(d) {
                out.push(k);
                let children: Vec<&str> = k.children().collect();
                stack.extend(children.into_iter().rev());
            }
        }
        out
    }
}

/// Discovers environments, bases and apps, and parses every kustomization they reach.
pub fn discover(loader: &Loader<'_>) -> Repo {
    let fs = loader.fs();
    let mut repo = Repo::default();
    let mut roots: Vec<String> = Vec::new();

    for (env, kind) in fs.read_dir(APPS_DIR) {
        if kind != PathKind::Dir {
            continue;
        }
        if env == BASE_ENV {
            for (name, kind) in fs.read_dir(&join(APPS_DIR, BASE_ENV)) {
                if kind != PathKind::Dir || name.starts_with('_') {
                    continue;
                }
                let dir = format!("{APPS_DIR}/{BASE_ENV}/{name}");
                let deploy = kustomization_dir(fs, &join(&dir, "deploy"));
                let build_dir = join(&dir, "build");
                let builds = fs
                    .read_dir(&build_dir)
                    .into_iter()
                    .filter(|(_, k)| *k == PathKind::Dir)
                    .map(|(n, _)| join(&build_dir, &n))
                    .collect();
                roots.extend(deploy.clone());
                repo.bases.push(Base {
                    name,
                    dir,
                    deploy,
                    builds,
                });
            }
            continue;
        }
        let env_dir = join(APPS_DIR, &env);
        let mut apps = Vec::new();
        for (name, kind) in fs.read_dir(&env_dir) {
            if kind != PathKind::Dir {
                continue;
            }
            let dir = join(&env_dir, &name);
            let deploy = kustomization_dir(fs, &join(&dir, "deploy"));
            roots.extend(deploy.clone());
            apps.push(App {
                env: env.clone(),
                name,
                dir,
                deploy,
                deps: BTreeSet::new(),
            });
        }
        repo.envs.push(Env { name: env, apps });
    }
    repo.base_by_deploy = repo
        .bases
        .iter()
        .enumerate()
        .filter_map(|(i, b)| Some((b.deploy.clone()?, i)))
        .collect();
    if fs.is_dir(COMMON_DIR) {
        roots.push(COMMON_DIR.to_string());
    }

    // Parse breadth first, one parallel round per level, so each file is parsed once.
    let mut frontier: Vec<String> = roots;
    while !frontier.is_empty() {
        frontier.sort();
        frontier.dedup();
        let parsed: Vec<Result<Kustomization, Diagnostic>> = frontier
            .par_iter()
            .map(|dir| parse_kustomization(loader, dir))
            .collect();
        let mut next = Vec::new();
        for result in parsed {
            match result {
                Ok(mut k) => {
                    repo.diagnostics.append(&mut k.problems);
                    for child in k.children() {
                        if !repo.kustomizations.contains_key(child) {
                            next.push(child.to_string());
                        }
                    }
                    repo.kustomizations.insert(k.dir.clone(), k);
                }
                Err(d) => repo.diagnostics.push(d),
            }
        }
        next.retain(|d| !repo.kustomizations.contains_key(d));
        frontier = next;
    }

    let deps: Vec<Vec<BTreeSet<String>>> = repo
        .envs
        .iter()
        .map(|env| {
            env.apps
                .par_iter()
                .map(|app| dependency_set(fs, &repo, app))
                .collect()
        })
        .collect();
    for (env, env_deps) in repo.envs.iter_mut().zip(deps) {
        for (app, d) in env.apps.iter_mut().zip(env_deps) {
            app.deps = d;
        }
    }
    repo
}

/// The files an app's render depends on (see [`App::deps`]).
fn dependency_set(fs: &RepoFs, repo: &Repo, app: &App) -> BTreeSet<String> {
    let mut deps = BTreeSet::new();
    let prefix = format!("{}/", app.dir);
    for entry in files_under(fs, &prefix) {
        if !entry.split('/').any(|seg| seg == PLAINTEXT_DIR) {
            deps.insert(entry.to_string());
        }
    }
    let Some(deploy) = &app.deploy else {
        return deps;
    };
    for k in repo.closure(deploy) {
        deps.insert(k.file.clone());
        for r in &k.refs {
            if let Target::File(f) = &r.target {
                deps.insert(f.clone());
            }
        }
        // A base reached by the app brings its image build folders.
        if let Some(base) = repo.base_with_deploy(&k.dir) {
            for build in &base.builds {
                deps.extend(files_under(fs, &format!("{build}/")).map(str::to_string));
            }
        }
    }
    deps
}

/// The files of the view below `prefix` (which ends with `/`).
pub fn files_under<'a>(fs: &'a RepoFs, prefix: &str) -> impl Iterator<Item = &'a str> {
    let files = fs.files();
    let start = files.partition_point(|e| e.path.as_str() < prefix);
    let prefix = prefix.to_string();
    files[start..]
        .iter()
        .take_while(move |e| e.path.starts_with(&prefix))
        .map(|e| e.path.as_str())
}

/// `dir` if it holds a kustomization file.
fn kustomization_dir(fs: &RepoFs, dir: &str) -> Option<String> {
    kustomization_file(fs, dir).map(|_| dir.to_string())
}

/// The kustomization file of `dir`, if it has one.
pub fn kustomization_file(fs: &RepoFs, dir: &str) -> Option<String> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|f| join(dir, f))
        .find(|p| fs.is_file(p))
}

fn parse_kustomization(loader: &Loader<'_>, dir: &str) -> Result<Kustomization, Diagnostic> {
    let fs = loader.fs();
    let file = kustomization_file(fs, dir).ok_or_else(|| {
        Diagnostic::new(
            crate::diagnostics::Code::MissingKustomization,
            format!("{dir} has no kustomization"),
        )
        .in_file(dir)
    })?;
    let (text, node) = loader.yaml_one(&file)?;
    let mut refs = Vec::new();
    let mut problems = Vec::new();
    if let Some(node) = &node {
        let at = Origin {
            fs,
            dir,
            file: &file,
        };
        collect_refs(&at, PATH_FIELDS, node, &mut refs);
        if let Some(openapi) = node.get("openapi").and_then(|o| o.get("path")) {
            static OPENAPI: PathField = field("openapi", Some("path"), Expect::File, false);
            push_ref(&at, &OPENAPI, openapi, &mut refs);
        }
        // KSOPS generators read encrypted files that the kustomization does not name.
        let generators: Vec<String> = refs
            .iter()
            .filter(|r| r.field.field == "generators")
            .filter_map(|r| match &r.target {
                Target::File(f) => Some(f.clone()),
                _ => None,
            })
            .collect();
        for generator in generators {
            match loader.yaml_docs(&generator) {
                Err(d) => problems.push(d),
                Ok((_, docs)) => {
                    let at = Origin {
                        fs,
                        dir,
                        file: &generator,
                    };
                    for doc in docs.iter().filter(|d| is_ksops(&d.root)) {
                        collect_refs(&at, KSOPS_FIELDS, &doc.root, &mut refs);
                    }
                }
            }
        }
    }
    Ok(Kustomization {
        dir: dir.to_string(),
        file,
        text,
        node,
        refs,
        problems,
    })
}

/// Whether a generator config is a KSOPS one.
fn is_ksops(node: &Node) -> bool {
    node.get("kind").and_then(Node::as_str) == Some("ksops")
        && node
            .get("apiVersion")
            .and_then(Node::as_str)
            .is_some_and(|v| v.starts_with("viaduct.ai/"))
}

/// Where paths are written: the view, the kustomization directory they are relative to,
/// and the file they appear in.
struct Origin<'a> {
    fs: &'a RepoFs,
    dir: &'a str,
    file: &'a str,
}

/// Collects the paths `node` names under the fields of `table`.
fn collect_refs(
    at: &Origin<'_>,
    table: &'static [PathField],
    node: &Node,
    refs: &mut Vec<PathRef>,
) {
    for spec in table {
        let Some(items) = node.get(spec.field).and_then(Node::as_seq) else {
            continue;
        };
        for item in items {
            match spec.key {
                None => push_ref(at, spec, item, refs),
                Some(key) => {
                    let Some(value) = item.get(key) else { continue };
                    match value.as_seq() {
                        Some(list) => {
                            for v in list {
                                push_ref(at, spec, v, refs);
                            }
                        }
                        None => push_ref(at, spec, value, refs),
                    }
                }
            }
        }
    }
}

fn push_ref(at: &Origin<'_>, spec: &'static PathField, item: &Node, refs: &mut Vec<PathRef>) {
    let Some(text) = item.as_str() else { return };
    if spec.inline_allowed && text.contains('\n') {
        return;
    }
    // `files` entries may be `key=path`.
    let is_files = spec.key.unwrap_or(spec.field) == "files";
    let raw = match text.split_once('=') {
        Some((_, path)) if is_files => path,
        _ => text,
    };
    let raw = raw.trim();
    if raw.is_empty() {
        return;
    }
    refs.push(PathRef {
        file: at.file.to_string(),
        field: spec,
        raw: raw.to_string(),
        span: item.span,
        target: resolve_target(at.fs, at.dir, raw),
    });
}

/// Resolves a path written in the kustomization of `dir`.
pub fn resolve_target(fs: &RepoFs, dir: &str, raw: &str) -> Target {
    if is_remote(raw) {
        return Target::Remote;
    }
    if raw.starts_with('/') {
        return Target::Absolute;
    }
    let Some(path) = normalize(&join(dir, raw)) else {
        return Target::Escapes;
    };
    let real = match fs.resolve(&path) {
        Ok(real) => real,
        Err(FsError::NotFound { .. }) => return Target::Missing(path),
        Err(FsError::EscapesRoot { .. } | FsError::Absolute { .. }) => {
            return Target::BadSymlink(path);
        }
        Err(_) => return Target::BadSymlink(path),
    };
    match fs.kind(&real) {
        Some(PathKind::Dir) if kustomization_file(fs, &real).is_some() => {
            Target::Kustomization(real)
        }
        Some(PathKind::Dir) => Target::Dir(real),
        Some(_) => Target::File(real),
        None => Target::Missing(path),
    }
}

/// Whether a resource path names something remote, as kustomize would try to fetch it.
pub fn is_remote(raw: &str) -> bool {
    raw.contains("://")
        || raw.starts_with("git@")
        || raw.contains("?ref=")
        || ["github.com/", "gitlab.com/", "bitbucket.org/"]
            .iter()
            .any(|host| raw.starts_with(host))
}

/// Joins two project-relative paths with `/`.
pub fn join(dir: &str, rest: &str) -> String {
    if dir.is_empty() {
        rest.to_string()
    } else {
        format!("{dir}/{rest}")
    }
}

/// Lexically normalises a relative path; `None` when `..` climbs above the root.
pub fn normalize(path: &str) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            s => out.push(s),
        }
    }
    Some(out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_stops_at_the_root() {
        assert_eq!(normalize("a/b/../c").as_deref(), Some("a/c"));
        assert_eq!(normalize("a/./b/").as_deref(), Some("a/b"));
        assert_eq!(normalize("a/../..").as_deref(), None);
    }

    #[test]
    fn remote_references_are_recognised() {
        for r in [
            "https://github.com/x/y",
            "github.com/x/y/base?ref=v1",
            "git@github.com:x/y.git",
        ] {
            assert!(is_remote(r), "{r}");
        }
        assert!(!is_remote("../base"));
    }
}
