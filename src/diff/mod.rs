//! Diff of rendered environments: what changed between two renders, per environment, per app
//! and per resource, and how to print it for a terminal, a pull-request comment or a tool.
//!
//! This module owns:
//! - the model of a difference ([`Diff`] → [`EnvDiff`] → [`AppDiff`] → [`ResourceChange`]),
//!   with resources identified by [`ResourceId`] (group, kind, namespace, name);
//! - computing it from parsed objects ([`diff_objects`]) or from the files of rendered apps
//!   ([`diff_texts`], which compares texts first and parses only the apps whose files differ);
//! - detecting moves: a resource removed from one app and added to another app of the same
//!   environment is reported once as a move ([`MovedIn`], [`MovedOut`]); a generated object
//!   whose name changed only by kustomize's hash suffix is one changed resource
//!   ([`ResourceChange::renamed_from`]), not a removal and an addition; a list whose items
//!   only changed order is summarised ([`ListReorder`]);
//! - keeping secrets out of every output ([`secret`]): for a `Secret`, a `SealedSecret` or any
//!   SOPS-encrypted object, values are compared in memory and only the names of the keys that
//!   were added, removed or changed are reported ([`SecretChange`]); the unified diff of such
//!   an object is computed on a redacted copy;
//! - the renderers: [`render_human`] (terminal, optionally ANSI-coloured), [`render_markdown`]
//!   (a pull-request comment with a hard size cap) and [`render_json`] (a stable, versioned
//!   structure, documented below).
//!
//! It does not own:
//! - reading trees from git or the work tree, rendering the two revisions, decrypting SOPS
//!   files (the caller hands over texts or objects; SOPS ciphertext is compared as it is, and
//!   kiln reuses ciphertext when the plaintext is unchanged);
//! - choosing the output format or colour from the command line, or the exit code;
//! - resolving CODEOWNERS (the markdown renderer asks a callback).
//!
//! Determinism: every collection is ordered (environments, apps and resource ids sort
//! byte-wise; moves are matched in app order), so the same inputs give the same bytes.
//!
//! # JSON format (`render_json`), version 1
//!
//! ```text
//! {
//!   "version": 1,                      // bumped on any incompatible change
//!   "summary": {                       // totals over the whole diff
//!     "envs": 1,                       // environments with at least one changed app
//!     "apps": 2,                       // apps with at least one change
//!     "added": 1, "changed": 1, "removed": 0,
//!     "moved": 1                       // resources moved between apps (counted once)
//!   },
//!   "envs": [{
//!     "env": "prod",
//!     "apps": [{
//!       "app": "web",
//!       "status": "changed",           // "added" (app new in head), "removed" (gone in head)
//!                                      // or "changed" (present on both sides)
//!       "added":   [RESOURCE, ...],    // resources only in head
//!       "removed": [RESOURCE, ...],    // resources only in base
//!       "changed": [CHANGE, ...],      // resources on both sides whose content differs
//!       "moved_in":  [{"resource": RESOURCE, "from": "other-app", "change": CHANGE|null}],
//!       "moved_out": [{"resource": RESOURCE, "to": "other-app"}]
//!     }]
//!   }]
//! }
//! RESOURCE = {"group": "apps", "kind": "Deployment", "namespace": "web", "name": "web"}
//!            (group "" for the core group, namespace "" for cluster-scoped objects)
//! CHANGE   = {"resource": RESOURCE,                  // the head identity
//!             "renamed_from": null | "web-config-7kgk9bbht4",  // base name, when only the
//!                                  // generator hash suffix of the name changed
//!             "diff": "--- base/prod/web: ...\n+++ head/prod/web: ...\n@@ ...",  // unified
//!             "reordered": [{"path": "spec.containers[0].env", "items": 3}],
//!             "secret": null | {"added": ["data.KEY"], "removed": [...], "changed": [...]}}
//! ```
//!
//! Lists are sorted as in [`Diff`]; keys are always present (empty lists, `null`).

use std::collections::BTreeMap;
use std::fmt;

use crate::yaml::{self, Node, YamlError};

mod markdown;
mod render;
pub mod secret;

pub use markdown::{DEFAULT_MARKDOWN_CAP, render_markdown};
pub use render::{render_human, render_json};

/// Lines of context around each change in unified diffs.
pub const CONTEXT_LINES: usize = 3;

/// The objects of each app of each environment: env → app → objects.
pub type Objects = BTreeMap<String, BTreeMap<String, Vec<Node>>>;

/// The files of one rendered app: path inside the app's folder (`manifest.yaml`,
/// `secrets/<ns>.<name>.yaml`, ...) → text.
pub type AppFiles = BTreeMap<String, String>;

/// The files of each app of each environment: env → app → files.
pub type Texts = BTreeMap<String, BTreeMap<String, AppFiles>>;

/// Which side of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The old render.
    Base,
    /// The new render.
    Head,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Base => "base",
            Side::Head => "head",
        })
    }
}

/// Why a diff could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// A rendered file is not valid YAML.
    #[error("{side} render: {env}/{app}/{file} is not valid YAML: {source}")]
    Parse {
        /// Which render.
        side: Side,
        /// The environment.
        env: String,
        /// The app.
        app: String,
        /// The file inside the app's folder.
        file: String,
        /// The parser's error (positions and key names only, never values).
        source: YamlError,
    },
}

/// The identity of a resource inside an environment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ResourceId {
    /// API group: `apiVersion` before the `/`, empty for the core group (`v1`).
    pub group: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`, empty when absent.
    pub namespace: String,
    /// `metadata.name`, empty when absent.
    pub name: String,
}

impl ResourceId {
    /// The identity of an object; missing fields are empty.
    #[must_use]
    pub fn of(object: &Node) -> ResourceId {
        let text = |n: Option<&Node>| n.and_then(Node::as_str).unwrap_or("").to_owned();
        let api_version = object
            .get("apiVersion")
            .and_then(Node::as_str)
            .unwrap_or("");
        let group = match api_version.split_once('/') {
            Some((group, _)) => group.to_owned(),
            None => String::new(),
        };
        let metadata = object.get("metadata");
        ResourceId {
            group,
            kind: text(object.get("kind")),
            namespace: text(metadata.and_then(|m| m.get("namespace"))),
            name: text(metadata.and_then(|m| m.get("name"))),
        }
    }
}

/// `apps/Deployment web/web`; the core group is left out (`Service web/web`), and so is the
/// namespace of a cluster-scoped object (`rbac.authorization.k8s.io/ClusterRole admin`).
impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.group.is_empty() {
            write!(f, "{}/", self.group)?;
        }
        f.write_str(&self.kind)?;
        f.write_str(" ")?;
        if !self.namespace.is_empty() {
            write!(f, "{}/", self.namespace)?;
        }
        f.write_str(&self.name)
    }
}

/// The whole difference: the environments with at least one changed app, sorted by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diff {
    /// Changed environments.
    pub envs: Vec<EnvDiff>,
}

/// The changed apps of one environment, sorted by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvDiff {
    /// Environment name.
    pub env: String,
    /// Apps with at least one change.
    pub apps: Vec<AppDiff>,
}

/// Whether the app exists on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppStatus {
    /// Only in head.
    Added,
    /// Only in base.
    Removed,
    /// On both sides.
    Changed,
}

impl AppStatus {
    /// `added`, `removed` or `changed`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            AppStatus::Added => "added",
            AppStatus::Removed => "removed",
            AppStatus::Changed => "changed",
        }
    }
}

/// What changed in one app. Every list is sorted by [`ResourceId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppDiff {
    /// App name.
    pub app: String,
    /// Whether the app itself was added, removed or changed.
    pub status: AppStatus,
    /// Resources only in head (and not moved from another app).
    pub added: Vec<ResourceId>,
    /// Resources only in base (and not moved to another app).
    pub removed: Vec<ResourceId>,
    /// Resources on both sides whose content differs.
    pub changed: Vec<ResourceChange>,
    /// Resources that came from another app of the environment.
    pub moved_in: Vec<MovedIn>,
    /// Resources that went to another app of the environment.
    pub moved_out: Vec<MovedOut>,
}

/// Counts of an app's changes, for summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Added resources.
    pub added: usize,
    /// Changed resources.
    pub changed: usize,
    /// Removed resources.
    pub removed: usize,
    /// Moved resources (in and out).
    pub moved: usize,
}

impl AppDiff {
    /// Counts of this app's changes; `moved` counts moves in and out.
    #[must_use]
    pub fn counts(&self) -> Counts {
        Counts {
            added: self.added.len(),
            changed: self.changed.len(),
            removed: self.removed.len(),
            moved: self.moved_in.len() + self.moved_out.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.moved_in.is_empty()
            && self.moved_out.is_empty()
    }
}

/// A resource present on both sides with different content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceChange {
    /// The resource (its head identity).
    pub id: ResourceId,
    /// The base name when the name changed only by a kustomize generator hash suffix
    /// (`web-config-7kgk9bbht4` → `web-config-b2c4d5f6g7`): the same generated object with new
    /// content.
    pub renamed_from: Option<String>,
    /// Unified diff of the printed resource (secret values redacted), with `---`/`+++`
    /// headers naming the resource and [`CONTEXT_LINES`] lines of context. Empty when the
    /// only change is a secret value (see [`ResourceChange::secret`]).
    pub unified_diff: String,
    /// Lists whose items are the same but in a different order.
    pub reordered: Vec<ListReorder>,
    /// For secrets: which keys changed. `None` for other objects.
    pub secret: Option<SecretChange>,
}

/// A list whose items only changed position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListReorder {
    /// Where the list is, e.g. `spec.template.spec.containers[0].env`.
    pub path: String,
    /// How many items it has.
    pub items: usize,
}

/// The keys of a secret that changed; never values, nor hashes of values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecretChange {
    /// Keys only in head (`data.PASSWORD`, `stringData.token`, `spec.encryptedData.x`).
    pub added: Vec<String>,
    /// Keys only in base.
    pub removed: Vec<String>,
    /// Keys on both sides with different values (or ciphertexts).
    pub changed: Vec<String>,
}

impl SecretChange {
    /// Whether no key changed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// A resource that moved into this app from another app of the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedIn {
    /// The resource.
    pub id: ResourceId,
    /// The app it was in.
    pub from: String,
    /// How its content changed on the way, if it did.
    pub change: Option<ResourceChange>,
}

/// A resource that moved from this app to another app of the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedOut {
    /// The resource.
    pub id: ResourceId,
    /// The app it is in now.
    pub to: String,
}

impl Diff {
    /// Whether nothing changed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.envs.is_empty()
    }

    /// Totals over all apps; `moved` counts each move once.
    #[must_use]
    pub fn totals(&self) -> Counts {
        let mut total = Counts::default();
        for app in self.envs.iter().flat_map(|e| &e.apps) {
            total.added += app.added.len();
            total.changed += app.changed.len();
            total.removed += app.removed.len();
            total.moved += app.moved_in.len();
        }
        total
    }

    /// Number of changed apps over all environments.
    #[must_use]
    pub fn app_count(&self) -> usize {
        self.envs.iter().map(|e| e.apps.len()).sum()
    }
}

/// The objects of a rendered manifest (multi-document YAML, as `kustomize build` prints it).
/// Empty documents are skipped.
///
/// # Errors
/// The text is not valid YAML.
pub fn objects_from_manifest(text: &str) -> Result<Vec<Node>, YamlError> {
    Ok(yaml::parse_documents(text)?
        .into_iter()
        .map(|doc| doc.root)
        .collect())
}

/// Whether a file of a rendered app holds resources: `.yaml` and `.yml` files do;
/// `README.md`, `hydrator.metadata` and other files are ignored.
#[must_use]
pub fn is_resource_file(path: &str) -> bool {
    path.ends_with(".yaml") || path.ends_with(".yml")
}

/// Compares two renders given as the files of each app.
///
/// Only resource files count ([`is_resource_file`]). Apps whose resource files are
/// byte-identical on both sides are skipped without parsing, so diffing two large renders
/// that differ in a few apps costs about one string comparison per file.
///
/// # Errors
/// [`DiffError::Parse`] for the first file (in env, app, file order; base before head) of a
/// differing app that is not valid YAML.
pub fn diff_texts(base: &Texts, head: &Texts) -> Result<Diff, DiffError> {
    let empty_env = BTreeMap::new();
    let mut envs = Vec::new();
    for env in union(base.keys(), head.keys()) {
        let base_apps = base.get(env).unwrap_or(&empty_env);
        let head_apps = head.get(env).unwrap_or(&empty_env);
        let mut parsed: Vec<ParsedApp<'_>> = Vec::new();
        for app in union(base_apps.keys(), head_apps.keys()) {
            let (b, h) = (base_apps.get(app), head_apps.get(app));
            if let (Some(b), Some(h)) = (b, h)
                && same_resource_files(b, h)
            {
                continue;
            }
            let b = b
                .map(|files| parse_app(Side::Base, env, app, files))
                .transpose()?;
            let h = h
                .map(|files| parse_app(Side::Head, env, app, files))
                .transpose()?;
            parsed.push((app, b, h));
        }
        let apps: Vec<AppInput<'_>> = parsed
            .iter()
            .map(|(app, b, h)| AppInput {
                app,
                base: b.as_deref(),
                head: h.as_deref(),
            })
            .collect();
        if let Some(env_diff) = diff_env(env, &apps) {
            envs.push(env_diff);
        }
    }
    Ok(Diff { envs })
}

/// Compares two renders given as parsed objects.
#[must_use]
pub fn diff_objects(base: &Objects, head: &Objects) -> Diff {
    let empty_env = BTreeMap::new();
    let mut envs = Vec::new();
    for env in union(base.keys(), head.keys()) {
        let base_apps = base.get(env).unwrap_or(&empty_env);
        let head_apps = head.get(env).unwrap_or(&empty_env);
        let apps: Vec<AppInput<'_>> = union(base_apps.keys(), head_apps.keys())
            .into_iter()
            .map(|app| AppInput {
                app,
                base: base_apps.get(app).map(Vec::as_slice),
                head: head_apps.get(app).map(Vec::as_slice),
            })
            .collect();
        if let Some(env_diff) = diff_env(env, &apps) {
            envs.push(env_diff);
        }
    }
    Diff { envs }
}

/// The sorted union of two sorted key sets.
fn union<'a>(
    a: impl Iterator<Item = &'a String>,
    b: impl Iterator<Item = &'a String>,
) -> Vec<&'a str> {
    let mut all: Vec<&str> = a.chain(b).map(String::as_str).collect();
    all.sort_unstable();
    all.dedup();
    all
}

fn same_resource_files(a: &AppFiles, b: &AppFiles) -> bool {
    let a = a.iter().filter(|(path, _)| is_resource_file(path));
    let b = b.iter().filter(|(path, _)| is_resource_file(path));
    a.eq(b)
}

fn parse_app(side: Side, env: &str, app: &str, files: &AppFiles) -> Result<Vec<Node>, DiffError> {
    let mut objects = Vec::new();
    for (file, text) in files.iter().filter(|(path, _)| is_resource_file(path)) {
        let parsed = objects_from_manifest(text).map_err(|source| DiffError::Parse {
            side,
            env: env.to_owned(),
            app: app.to_owned(),
            file: file.clone(),
            source,
        })?;
        objects.extend(parsed);
    }
    Ok(objects)
}

/// An app whose files differ, parsed: (app, base objects, head objects).
type ParsedApp<'a> = (&'a str, Option<Vec<Node>>, Option<Vec<Node>>);

/// One app of an environment, on each side (`None`: the app does not exist there).
struct AppInput<'a> {
    app: &'a str,
    base: Option<&'a [Node]>,
    head: Option<&'a [Node]>,
}

/// A resource left over on one side after pairing, with its printed form.
struct Loose<'a> {
    app_index: usize,
    id: ResourceId,
    node: &'a Node,
    printed: String,
}

fn diff_env(env: &str, apps: &[AppInput<'_>]) -> Option<EnvDiff> {
    let mut diffs: Vec<AppDiff> = Vec::with_capacity(apps.len());
    let mut removed: Vec<Loose<'_>> = Vec::new();
    let mut added: Vec<Loose<'_>> = Vec::new();
    for (app_index, input) in apps.iter().enumerate() {
        let status = match (input.base, input.head) {
            (None, _) => AppStatus::Added,
            (_, None) => AppStatus::Removed,
            _ => AppStatus::Changed,
        };
        let mut app_diff = AppDiff {
            app: input.app.to_owned(),
            status,
            added: Vec::new(),
            removed: Vec::new(),
            changed: Vec::new(),
            moved_in: Vec::new(),
            moved_out: Vec::new(),
        };
        let base = index(input.base.unwrap_or(&[]));
        let mut head = index(input.head.unwrap_or(&[]));
        let mut app_removed: Vec<Loose<'_>> = Vec::new();
        let mut app_added: Vec<Loose<'_>> = Vec::new();
        for (id, base_nodes) in base {
            let head_nodes = head.remove(&id).unwrap_or_default();
            let mut head_iter = head_nodes.into_iter();
            for b in base_nodes {
                let printed_b = yaml::emit_node(b);
                match head_iter.next() {
                    Some(h) => {
                        let printed_h = yaml::emit_node(h);
                        if printed_b != printed_h {
                            let location = (env, input.app, input.app);
                            let sides = Sides {
                                base_id: &id,
                                head_id: &id,
                                base: b,
                                head: h,
                                printed_base: &printed_b,
                                printed_head: &printed_h,
                            };
                            app_diff.changed.push(change(&sides, location));
                        }
                    }
                    None => app_removed.push(Loose {
                        app_index,
                        id: id.clone(),
                        node: b,
                        printed: printed_b,
                    }),
                }
            }
            for h in head_iter {
                app_added.push(Loose {
                    app_index,
                    id: id.clone(),
                    node: h,
                    printed: yaml::emit_node(h),
                });
            }
        }
        for (id, head_nodes) in head {
            for h in head_nodes {
                app_added.push(Loose {
                    app_index,
                    id: id.clone(),
                    node: h,
                    printed: yaml::emit_node(h),
                });
            }
        }
        pair_generated_renames(
            env,
            input.app,
            &mut app_removed,
            &mut app_added,
            &mut app_diff,
        );
        removed.append(&mut app_removed);
        added.append(&mut app_added);
        diffs.push(app_diff);
    }

    // Moves: a resource added to one app and removed from another app of the environment.
    // Removed resources are offered in app order, so the first removing app wins.
    let mut removed_by_id: BTreeMap<&ResourceId, Vec<usize>> = BTreeMap::new();
    for (i, loose) in removed.iter().enumerate() {
        removed_by_id.entry(&loose.id).or_default().push(i);
    }
    let mut moved_from = vec![false; removed.len()];
    for h in &added {
        let candidate = removed_by_id.get_mut(&h.id).and_then(|candidates| {
            let pos = candidates
                .iter()
                .position(|&i| removed[i].app_index != h.app_index)?;
            Some(candidates.remove(pos))
        });
        match candidate {
            Some(i) => {
                moved_from[i] = true;
                let b = &removed[i];
                let (from, to) = (apps[b.app_index].app, apps[h.app_index].app);
                let change = (b.printed != h.printed).then(|| {
                    let sides = Sides {
                        base_id: &b.id,
                        head_id: &h.id,
                        base: b.node,
                        head: h.node,
                        printed_base: &b.printed,
                        printed_head: &h.printed,
                    };
                    change(&sides, (env, from, to))
                });
                diffs[h.app_index].moved_in.push(MovedIn {
                    id: h.id.clone(),
                    from: from.to_owned(),
                    change,
                });
                diffs[b.app_index].moved_out.push(MovedOut {
                    id: b.id.clone(),
                    to: to.to_owned(),
                });
            }
            None => diffs[h.app_index].added.push(h.id.clone()),
        }
    }
    for (i, b) in removed.iter().enumerate() {
        if !moved_from[i] {
            diffs[b.app_index].removed.push(b.id.clone());
        }
    }

    let apps: Vec<AppDiff> = diffs
        .into_iter()
        .filter(|d| !d.is_empty())
        .map(|mut d| {
            d.added.sort();
            d.removed.sort();
            d.changed.sort_by(|a, b| a.id.cmp(&b.id));
            d.moved_in
                .sort_by(|a, b| (&a.id, &a.from).cmp(&(&b.id, &b.from)));
            d.moved_out
                .sort_by(|a, b| (&a.id, &a.to).cmp(&(&b.id, &b.to)));
            d
        })
        .collect();
    (!apps.is_empty()).then(|| EnvDiff {
        env: env.to_owned(),
        apps,
    })
}

/// The objects of one side of an app by identity, in document order for duplicates.
fn index(objects: &[Node]) -> BTreeMap<ResourceId, Vec<&Node>> {
    let mut by_id: BTreeMap<ResourceId, Vec<&Node>> = BTreeMap::new();
    for object in objects {
        by_id
            .entry(ResourceId::of(object))
            .or_default()
            .push(object);
    }
    by_id
}

/// The alphabet of the hash suffix kustomize's generators append to names
/// (`web-config-7kgk9bbht4`): hex digits mapped to letters and digits that spell no words.
const HASH_ALPHABET: &[u8] = b"bcdfghkmt2456789";
/// Length of that suffix, without its `-`.
const HASH_LEN: usize = 10;

/// `name` without a kustomize generator hash suffix, if it has one.
fn generated_stem(name: &str) -> Option<&str> {
    let split = name.len().checked_sub(HASH_LEN + 1)?;
    let (stem, suffix) = (name.get(..split)?, name.get(split..)?);
    let hash = suffix.strip_prefix('-')?;
    (!stem.is_empty() && hash.bytes().all(|b| HASH_ALPHABET.contains(&b))).then_some(stem)
}

/// Pairs, inside one app, a removed and an added resource that differ only by the hash suffix
/// of a generated name (a ConfigMap or Secret generator whose content changed): they are one
/// changed resource, reported under its new name with [`ResourceChange::renamed_from`].
/// Pairs are taken in id order; what is paired is taken out of both lists.
fn pair_generated_renames(
    env: &str,
    app: &str,
    removed: &mut Vec<Loose<'_>>,
    added: &mut Vec<Loose<'_>>,
    app_diff: &mut AppDiff,
) {
    let key = |id: &ResourceId| -> Option<(String, String, String, String)> {
        let stem = generated_stem(&id.name)?;
        Some((
            id.group.clone(),
            id.kind.clone(),
            id.namespace.clone(),
            stem.to_owned(),
        ))
    };
    let mut by_stem: BTreeMap<(String, String, String, String), Vec<usize>> = BTreeMap::new();
    for (i, b) in removed.iter().enumerate() {
        if let Some(k) = key(&b.id) {
            by_stem.entry(k).or_default().push(i);
        }
    }
    if by_stem.is_empty() {
        return;
    }
    let mut paired_removed = vec![false; removed.len()];
    let mut paired_added = vec![false; added.len()];
    for (j, h) in added.iter().enumerate() {
        let Some(candidates) = key(&h.id).and_then(|k| by_stem.get_mut(&k)) else {
            continue;
        };
        if candidates.is_empty() {
            continue;
        }
        let i = candidates.remove(0);
        let b = &removed[i];
        paired_removed[i] = true;
        paired_added[j] = true;
        let sides = Sides {
            base_id: &b.id,
            head_id: &h.id,
            base: b.node,
            head: h.node,
            printed_base: &b.printed,
            printed_head: &h.printed,
        };
        app_diff.changed.push(change(&sides, (env, app, app)));
    }
    let mut i = 0;
    removed.retain(|_| {
        i += 1;
        !paired_removed[i - 1]
    });
    let mut j = 0;
    added.retain(|_| {
        j += 1;
        !paired_added[j - 1]
    });
}

/// The two versions of a resource being compared.
struct Sides<'a> {
    base_id: &'a ResourceId,
    head_id: &'a ResourceId,
    base: &'a Node,
    head: &'a Node,
    printed_base: &'a str,
    printed_head: &'a str,
}

/// The change of one resource from base to head; `location` is (env, base app, head app).
fn change(sides: &Sides<'_>, location: (&str, &str, &str)) -> ResourceChange {
    let (env, base_app, head_app) = location;
    let header_base = format!("base/{env}/{base_app}: {}", sides.base_id);
    let header_head = format!("head/{env}/{head_app}: {}", sides.head_id);
    let renamed_from =
        (sides.base_id.name != sides.head_id.name).then(|| sides.base_id.name.clone());
    if secret::is_secret(sides.base) || secret::is_secret(sides.head) {
        let redacted = secret::compare(sides.base, sides.head);
        let printed_base = yaml::emit_node(&redacted.base);
        let printed_head = yaml::emit_node(&redacted.head);
        return ResourceChange {
            id: sides.head_id.clone(),
            renamed_from,
            unified_diff: unified(&printed_base, &printed_head, &header_base, &header_head),
            reordered: reorders(&redacted.base, &redacted.head),
            secret: Some(redacted.keys),
        };
    }
    ResourceChange {
        id: sides.head_id.clone(),
        renamed_from,
        unified_diff: unified(
            sides.printed_base,
            sides.printed_head,
            &header_base,
            &header_head,
        ),
        reordered: reorders(sides.base, sides.head),
        secret: None,
    }
}

/// `similar`'s unified diff with [`CONTEXT_LINES`] of context; empty for equal texts.
fn unified(base: &str, head: &str, header_base: &str, header_head: &str) -> String {
    if base == head {
        return String::new();
    }
    similar::TextDiff::from_lines(base, head)
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .header(header_base, header_head)
        .to_string()
}

/// Lists that hold the same items in a different order, found by walking both objects where
/// they have the same shape (maps by common key, lists of equal length item by item).
fn reorders(base: &Node, head: &Node) -> Vec<ListReorder> {
    let mut found = Vec::new();
    walk_reorders(
        &base.to_json(),
        &head.to_json(),
        &mut String::new(),
        &mut found,
    );
    found
}

fn walk_reorders(
    base: &serde_json::Value,
    head: &serde_json::Value,
    path: &mut String,
    found: &mut Vec<ListReorder>,
) {
    use serde_json::Value;
    if base == head {
        return;
    }
    match (base, head) {
        (Value::Object(b), Value::Object(h)) => {
            let mut keys: Vec<&String> = b.keys().filter(|k| h.contains_key(*k)).collect();
            keys.sort();
            for key in keys {
                let (Some(bv), Some(hv)) = (b.get(key), h.get(key)) else {
                    continue;
                };
                let len = path.len();
                push_key(path, key);
                walk_reorders(bv, hv, path, found);
                path.truncate(len);
            }
        }
        (Value::Array(b), Value::Array(h)) if b.len() == h.len() => {
            let mut sorted_b: Vec<String> = b.iter().map(Value::to_string).collect();
            let mut sorted_h: Vec<String> = h.iter().map(Value::to_string).collect();
            sorted_b.sort_unstable();
            sorted_h.sort_unstable();
            if sorted_b == sorted_h {
                found.push(ListReorder {
                    path: if path.is_empty() {
                        ".".to_owned()
                    } else {
                        path.clone()
                    },
                    items: b.len(),
                });
                return;
            }
            for (i, (bv, hv)) in b.iter().zip(h).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk_reorders(bv, hv, path, found);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Appends `.key`, or `["key"]` when the key is not a simple identifier.
fn push_key(path: &mut String, key: &str) {
    let simple = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if simple {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&serde_json::Value::String(key.to_owned()).to_string());
        path.push(']');
    }
}

#[cfg(test)]
mod tests;
