//! Argo CD wiring of a rendered branch: the `Application` manifests of an "app of apps" that
//! point Argo CD at the apps of `rendered/<env>`. Pure: configuration and app names in, files
//! out; no git, no clock.
//!
//! # Owns
//! - [`Application`]: the `argoproj.io/v1alpha1` `Application` subset kiln writes, typed the way
//!   kube-derive types are (a `metadata` + `spec` struct whose serialisation adds `apiVersion`
//!   and `kind`), with Argo CD's field names;
//! - [`ArgoCdConfig`]: the `argocd` settings of an environment in `kiln.yaml`, and their checks
//!   beyond the schema ([`ArgoCdConfig::check`]);
//! - [`applications`]: the files of the `argocd` folder of the rendered branch, printed with
//!   kiln's emitter (kustomize's output format), byte for byte the same for the same input.
//!
//! # Layout
//! ```text
//! <app>/manifest.yaml          the rendered app (super::layout); Argo CD's directory source
//!                              reads it (not recursive: `secrets/` and the generated
//!                              README.md and hydrator.metadata are not applied)
//! argocd/<env>-apps.yaml       the app of apps: source = this branch, path `argocd`
//! argocd/<env>-<app>.yaml      one Application per app: source = this branch, path `<app>`
//! ```
//! Each file holds one Application and is named after it (`metadata.name` + `.yaml`), so file
//! names are unique exactly when Application names are, which is checked. The app of apps lives
//! in the folder it syncs, so it manages itself: it is applied once by hand
//! (`kubectl apply -n argocd -f argocd/<env>-apps.yaml` from a checkout of the branch), and from
//! then on changes to any Application, the app of apps included, arrive with the branch. Its
//! destination is always the cluster Argo CD runs in (`https://kubernetes.default.svc`, the
//! Applications' namespace), wherever the apps themselves deploy. It has no finalizer: deleting
//! it leaves the apps' Applications (and their workloads) in place. The apps' Applications carry
//! `resources-finalizer.argocd.argoproj.io` (unless `cascadeDelete: false`), so an app removed
//! from the source is removed from the cluster when the app of apps prunes its Application.
//! Every Application has `argocd.argoproj.io/manifest-generate-paths: .`: with a webhook,
//! Argo CD refreshes only the Applications whose folder a commit changed.
//!
//! # Does not own
//! - Reading `kiln.yaml` and its schema (`crate::project`, which embeds [`ArgoCdConfig`]);
//! - finding an app's namespace in its rendered resources (the caller; [`shared_namespace`]
//!   helps);
//! - the rest of the branch (`super::layout`), committing (`super::git`), pushing, and Argo CD
//!   itself: SOPS files under `<app>/secrets/` need a decrypting plugin (for example KSOPS) in
//!   Argo CD, which a directory source does not have; SealedSecrets need nothing.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize};

use crate::yaml::{Node, emit_node};

/// The API version of the Argo CD `Application` kind.
pub const API_VERSION: &str = "argoproj.io/v1alpha1";
/// The kind.
pub const KIND: &str = "Application";
/// Argo CD's cascading-deletion finalizer: deleting the Application deletes its resources.
pub const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";
/// The API server address of the cluster Argo CD runs in.
pub const IN_CLUSTER: &str = "https://kubernetes.default.svc";
/// The annotation that limits Argo CD's refreshes to commits touching these paths.
pub const MANIFEST_GENERATE_PATHS: &str = "argocd.argoproj.io/manifest-generate-paths";
/// The label naming the environment an Application belongs to.
pub const ENVIRONMENT_LABEL: &str = "kiln.dev/environment";
/// The label naming the app an Application deploys.
pub const APP_LABEL: &str = "kiln.dev/app";

// ---------------------------------------------------------------------------------------------
// The Application type.

/// An Argo CD `Application` (`argoproj.io/v1alpha1`), the fields kiln writes.
///
/// Serialised with `apiVersion` and `kind` first, as kube-derive's `CustomResource` types are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// Name, namespace, labels, annotations, finalizers.
    pub metadata: ObjectMeta,
    /// What to deploy where, and how to sync.
    pub spec: ApplicationSpec,
}

impl Serialize for Application {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Application", 4)?;
        s.serialize_field("apiVersion", API_VERSION)?;
        s.serialize_field("kind", KIND)?;
        s.serialize_field("metadata", &self.metadata)?;
        s.serialize_field("spec", &self.spec)?;
        s.end()
    }
}

impl Application {
    /// The manifest as kiln writes it: one YAML document, printed as `kustomize build` prints a
    /// resource (keys sorted, two-space indent, final newline).
    #[must_use]
    pub fn to_yaml(&self) -> Vec<u8> {
        // Serialising plain strings, booleans, maps and lists into a `Value` cannot fail; the
        // fallback is unreachable.
        let value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        emit_node(&json_to_node(&value)).into_bytes()
    }
}

/// The subset of Kubernetes `ObjectMeta` an Application needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`: the namespace Argo CD watches for Applications.
    pub namespace: String,
    /// `metadata.labels`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// `metadata.finalizers`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
}

/// `spec` of an Application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSpec {
    /// The AppProject the Application belongs to.
    pub project: String,
    /// Where the manifests come from.
    pub source: ApplicationSource,
    /// The cluster and namespace they go to.
    pub destination: ApplicationDestination,
    /// Automated sync and sync options; `None` syncs by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<SyncPolicy>,
}

/// `spec.source`: a directory of a git repository at a revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSource {
    /// The repository URL.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// The branch (here: the rendered branch).
    pub target_revision: String,
    /// The directory, relative to the repository root.
    pub path: String,
}

/// `spec.destination`: the cluster (by API server URL or by the name Argo CD knows it by) and
/// the namespace for namespaced resources that set none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationDestination {
    /// The API server URL of the cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The cluster's name in Argo CD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `spec.syncPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicy {
    /// Sync automatically when the branch moves; `None` syncs by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automated: Option<SyncPolicyAutomated>,
    /// Options such as `CreateNamespace=true` or `ServerSideApply=true`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sync_options: Vec<String>,
}

/// `spec.syncPolicy.automated`. Like Argo CD's Go type, `false` is left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicyAutomated {
    /// Delete resources that left the branch.
    #[serde(skip_serializing_if = "is_false")]
    pub prune: bool,
    /// Revert changes made in the cluster.
    #[serde(skip_serializing_if = "is_false")]
    pub self_heal: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

// ---------------------------------------------------------------------------------------------
// Configuration (`kiln.yaml`, `environments.<env>.argocd`).

/// `environments.<env>.argocd` in `kiln.yaml`: write Argo CD Applications into the rendered
/// branch of this environment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArgoCdConfig {
    /// The URL Argo CD clones the rendered branch from (for example
    /// `https://github.com/acme/gitops.git`). Required: kiln never guesses a remote.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// The folder of the rendered branch the Applications are written to. It must not be the
    /// folder of an app. Default: `argocd`.
    #[serde(default = "default_path")]
    pub path: String,
    /// The namespace Argo CD watches for Applications. Default: `argocd`.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// The AppProject of every Application. Default: `default`.
    #[serde(default = "default_project")]
    pub project: String,
    /// The name of an app's Application; `{env}` and `{app}` are replaced. Default:
    /// `{env}-{app}`.
    #[serde(default = "default_name")]
    pub name: String,
    /// The name of the app of apps; `{env}` is replaced. Default: `{env}-apps`.
    #[serde(default = "default_root_name")]
    pub root_name: String,
    /// Where the apps deploy. Default: the cluster Argo CD runs in.
    #[serde(default)]
    pub destination: DestinationConfig,
    /// Deploy an app to its namespace when all its namespaced resources share one (otherwise to
    /// `destination.namespace`). Default: true.
    #[serde(default = "yes")]
    pub namespace_from_app: bool,
    /// The apps' Applications carry Argo CD's resources finalizer: deleting one (also when its
    /// app left the source and the app of apps prunes it) deletes its resources. Default: true.
    #[serde(default = "yes")]
    pub cascade_delete: bool,
    /// Sync automatically when the branch moves. Absent: sync by hand.
    // `with`: the schema is the object itself rather than `anyOf: [object, null]`, whose
    // validation message ("not valid under any of the schemas") would hide the real problem.
    #[serde(default)]
    #[schemars(with = "AutomatedConfig")]
    pub automated: Option<AutomatedConfig>,
    /// Argo CD sync options of every Application, `Key=Value` (for example
    /// `CreateNamespace=true`, `ServerSideApply=true`).
    #[serde(default)]
    pub sync_options: Vec<String>,
}

/// Where the apps deploy: at most one of `server` and `name` (neither: the cluster Argo CD runs
/// in), and a namespace for apps without one of their own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DestinationConfig {
    /// The API server URL of the cluster (for example `https://kubernetes.default.svc`).
    pub server: Option<String>,
    /// The cluster's name in Argo CD.
    pub name: Option<String>,
    /// The namespace of apps whose resources do not share one (or with `namespaceFromApp:
    /// false`, of every app).
    pub namespace: Option<String>,
}

/// Automated sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutomatedConfig {
    /// Delete resources that left the branch. Default: false.
    #[serde(default)]
    pub prune: bool,
    /// Revert changes made in the cluster. Default: false.
    #[serde(default)]
    pub self_heal: bool,
}

fn default_path() -> String {
    "argocd".to_owned()
}
fn default_namespace() -> String {
    "argocd".to_owned()
}
fn default_project() -> String {
    "default".to_owned()
}
fn default_name() -> String {
    "{env}-{app}".to_owned()
}
fn default_root_name() -> String {
    "{env}-apps".to_owned()
}
fn yes() -> bool {
    true
}

impl ArgoCdConfig {
    /// The configuration with every default and this repository URL.
    #[must_use]
    pub fn new(repo_url: impl Into<String>) -> ArgoCdConfig {
        ArgoCdConfig {
            repo_url: repo_url.into(),
            path: default_path(),
            namespace: default_namespace(),
            project: default_project(),
            name: default_name(),
            root_name: default_root_name(),
            destination: DestinationConfig::default(),
            namespace_from_app: true,
            cascade_delete: true,
            automated: None,
            sync_options: Vec::new(),
        }
    }

    /// Checks what the schema cannot: values Argo CD or Kubernetes would reject or silently
    /// ignore. [`applications`] checks this first; `kiln check` can call it on its own.
    ///
    /// # Errors
    /// The first problem found, naming the field.
    pub fn check(&self) -> Result<(), ArgoCdError> {
        if self.repo_url.trim().is_empty() {
            return Err(ArgoCdError::MissingRepoUrl);
        }
        if self.repo_url.chars().any(char::is_whitespace) {
            return Err(ArgoCdError::InvalidField {
                field: "repoURL",
                value: self.repo_url.clone(),
                reason: "a repository URL has no whitespace".to_owned(),
            });
        }
        check_folder(&self.path)?;
        if let Err(reason) = dns_label(&self.namespace) {
            return Err(ArgoCdError::InvalidField {
                field: "namespace",
                value: self.namespace.clone(),
                reason,
            });
        }
        if self.project.is_empty() {
            return Err(ArgoCdError::InvalidField {
                field: "project",
                value: String::new(),
                reason: "the AppProject name is empty".to_owned(),
            });
        }
        // The templates: only known placeholders (the names themselves are checked once filled).
        substitute("name", &self.name, &[("env", ""), ("app", "")])?;
        substitute("rootName", &self.root_name, &[("env", "")])?;
        let d = &self.destination;
        if let (Some(server), Some(name)) = (&d.server, &d.name) {
            return Err(ArgoCdError::AmbiguousDestination {
                server: server.clone(),
                name: name.clone(),
            });
        }
        for (field, value) in [
            ("destination.server", &d.server),
            ("destination.name", &d.name),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(ArgoCdError::InvalidField {
                    field,
                    value: String::new(),
                    reason: "it is empty; leave it out for the cluster Argo CD runs in".to_owned(),
                });
            }
        }
        if let Some(ns) = &d.namespace
            && let Err(reason) = dns_label(ns)
        {
            return Err(ArgoCdError::InvalidField {
                field: "destination.namespace",
                value: ns.clone(),
                reason,
            });
        }
        for option in &self.sync_options {
            let valid = option
                .split_once('=')
                .is_some_and(|(k, v)| !k.is_empty() && !v.is_empty() && !k.contains(' '));
            if !valid {
                return Err(ArgoCdError::InvalidField {
                    field: "syncOptions",
                    value: option.clone(),
                    reason: "a sync option is `Key=Value` (for example `CreateNamespace=true`)"
                        .to_owned(),
                });
            }
        }
        Ok(())
    }

    fn sync_policy(&self) -> Option<SyncPolicy> {
        let policy = SyncPolicy {
            automated: self.automated.map(|a| SyncPolicyAutomated {
                prune: a.prune,
                self_heal: a.self_heal,
            }),
            sync_options: self.sync_options.clone(),
        };
        (policy != SyncPolicy::default()).then_some(policy)
    }
}

/// Why the Applications of an environment cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgoCdError {
    /// `repoURL` is empty.
    #[error(
        "argocd.repoURL is empty: set it to the URL Argo CD clones the rendered branch from \
         (for example https://github.com/acme/gitops.git)"
    )]
    MissingRepoUrl,
    /// A field has a value Argo CD or Kubernetes rejects.
    #[error("argocd.{field} `{value}` is invalid: {reason}")]
    InvalidField {
        /// The field, as written in `kiln.yaml`.
        field: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `destination` sets both `server` and `name`.
    #[error(
        "argocd.destination sets both server `{server}` and name `{name}`: set one of them \
         (neither means the cluster Argo CD runs in)"
    )]
    AmbiguousDestination {
        /// `destination.server`.
        server: String,
        /// `destination.name`.
        name: String,
    },
    /// A name template uses a placeholder other than `{env}` (and `{app}` for `name`).
    #[error("argocd.{field} `{template}`: unknown placeholder `{placeholder}` (known: {known})")]
    UnknownPlaceholder {
        /// `name` or `rootName`.
        field: &'static str,
        /// The template.
        template: String,
        /// The offending text.
        placeholder: String,
        /// The placeholders the field knows.
        known: String,
    },
    /// `path` is the folder of an app, or a file kiln writes at the branch root.
    #[error(
        "argocd.path `{path}` collides with {what} of the rendered branch: set argocd.path to a \
         folder no app uses (for example `argocd-apps`)"
    )]
    PathCollision {
        /// The configured path.
        path: String,
        /// What it collides with, for example "the folder of the app `argocd`".
        what: String,
    },
    /// A filled-in Application name is not a Kubernetes object name.
    #[error(
        "the Application name `{name}` of {owner} is not a valid Kubernetes name: {reason}; \
         change argocd.{field} or the name"
    )]
    InvalidName {
        /// The name.
        name: String,
        /// "app `web`" or "the app of apps".
        owner: String,
        /// `name` or `rootName`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Two Applications would have the same name.
    #[error(
        "the Application name `{name}` is used by both {first} and {second}; change argocd.name \
         or argocd.rootName"
    )]
    DuplicateName {
        /// The name.
        name: String,
        /// Its first user.
        first: String,
        /// Its second user.
        second: String,
    },
    /// An app's namespace, the environment or the app name cannot be written where kiln puts it.
    #[error("{owner}: {what} `{value}` is invalid: {reason}")]
    InvalidValue {
        /// The app or environment.
        owner: String,
        /// `namespace`, `label kiln.dev/app`, ...
        what: String,
        /// The value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The rendered branch name is empty.
    #[error("the rendered branch name is empty")]
    EmptyBranch,
}

// ---------------------------------------------------------------------------------------------
// Building the Applications.

/// The Argo CD files of environment `env`'s rendered branch `branch`: one Application per app
/// (`name` = [`ArgoCdConfig::name`], source = `branch` at path `<app>`) and the app of apps
/// (source = `branch` at [`ArgoCdConfig::path`]), each as `<path>/<metadata.name>.yaml` (see the
/// module documentation for the layout). `apps` are the app names with the namespace all their
/// namespaced resources share, if any. Sorted by path; the same input gives the same bytes.
///
/// # Errors
/// An invalid configuration ([`ArgoCdConfig::check`]), a path that collides with an app's
/// folder, or names Kubernetes would reject.
pub fn applications(
    env: &str,
    branch: &str,
    apps: &[(String, Option<String>)],
    config: &ArgoCdConfig,
) -> Result<Vec<(String, Vec<u8>)>, ArgoCdError> {
    let apps = application_objects(env, branch, apps, config)?;
    let folder = config.path.trim_end_matches('/');
    let mut files: Vec<(String, Vec<u8>)> = apps
        .iter()
        .map(|app| {
            (
                format!("{folder}/{}.yaml", app.metadata.name),
                app.to_yaml(),
            )
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// The Applications [`applications`] writes, app of apps first, then the apps in the order
/// given.
///
/// # Errors
/// As [`applications`].
pub fn application_objects(
    env: &str,
    branch: &str,
    apps: &[(String, Option<String>)],
    config: &ArgoCdConfig,
) -> Result<Vec<Application>, ArgoCdError> {
    config.check()?;
    if branch.is_empty() {
        return Err(ArgoCdError::EmptyBranch);
    }
    let folder = config.path.trim_end_matches('/');
    let top = folder.split('/').next().unwrap_or(folder);
    if let Some((app, _)) = apps.iter().find(|(app, _)| app == top) {
        return Err(ArgoCdError::PathCollision {
            path: config.path.clone(),
            what: format!("the folder of the app `{app}`"),
        });
    }
    if let Some(file) = ROOT_FILES.iter().find(|f| **f == top) {
        return Err(ArgoCdError::PathCollision {
            path: config.path.clone(),
            what: format!("the file `{file}`"),
        });
    }
    let env_owner = || format!("environment `{env}`");
    check_label_value(&env_owner(), ENVIRONMENT_LABEL, env)?;

    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut claim = |name: &str, owner: String| match names.get(name) {
        Some(first) => Err(ArgoCdError::DuplicateName {
            name: name.to_owned(),
            first: first.clone(),
            second: owner,
        }),
        None => {
            names.insert(name.to_owned(), owner);
            Ok(())
        }
    };

    let root_name = substitute("rootName", &config.root_name, &[("env", env)])?;
    let root_owner = "the app of apps".to_owned();
    check_name(&root_name, &root_owner, "rootName")?;
    claim(&root_name, root_owner)?;
    let sync_policy = config.sync_policy();
    let mut out = Vec::with_capacity(apps.len() + 1);
    out.push(Application {
        metadata: ObjectMeta {
            name: root_name,
            namespace: config.namespace.clone(),
            labels: BTreeMap::from([(ENVIRONMENT_LABEL.to_owned(), env.to_owned())]),
            annotations: BTreeMap::from([(MANIFEST_GENERATE_PATHS.to_owned(), ".".to_owned())]),
            finalizers: Vec::new(),
        },
        spec: ApplicationSpec {
            project: config.project.clone(),
            source: ApplicationSource {
                repo_url: config.repo_url.clone(),
                target_revision: branch.to_owned(),
                path: folder.to_owned(),
            },
            destination: ApplicationDestination {
                server: Some(IN_CLUSTER.to_owned()),
                name: None,
                namespace: Some(config.namespace.clone()),
            },
            sync_policy: sync_policy.clone(),
        },
    });

    let (server, cluster_name) = match (&config.destination.server, &config.destination.name) {
        (None, None) => (Some(IN_CLUSTER.to_owned()), None),
        (server, name) => (server.clone(), name.clone()),
    };
    let mut seen_apps = BTreeSet::new();
    for (app, app_namespace) in apps {
        let owner = format!("app `{app}`");
        if !seen_apps.insert(app.as_str()) {
            return Err(ArgoCdError::InvalidValue {
                owner,
                what: "app name".to_owned(),
                value: app.clone(),
                reason: "the app is listed twice".to_owned(),
            });
        }
        let name = substitute("name", &config.name, &[("env", env), ("app", app)])?;
        check_name(&name, &owner, "name")?;
        claim(&name, owner.clone())?;
        check_label_value(&owner, APP_LABEL, app)?;
        let namespace = match app_namespace {
            Some(ns) if config.namespace_from_app => {
                dns_label(ns).map_err(|reason| ArgoCdError::InvalidValue {
                    owner: owner.clone(),
                    what: "namespace".to_owned(),
                    value: ns.clone(),
                    reason,
                })?;
                Some(ns.clone())
            }
            _ => config.destination.namespace.clone(),
        };
        out.push(Application {
            metadata: ObjectMeta {
                name,
                namespace: config.namespace.clone(),
                labels: BTreeMap::from([
                    (ENVIRONMENT_LABEL.to_owned(), env.to_owned()),
                    (APP_LABEL.to_owned(), app.clone()),
                ]),
                annotations: BTreeMap::from([(MANIFEST_GENERATE_PATHS.to_owned(), ".".to_owned())]),
                finalizers: if config.cascade_delete {
                    vec![RESOURCES_FINALIZER.to_owned()]
                } else {
                    Vec::new()
                },
            },
            spec: ApplicationSpec {
                project: config.project.clone(),
                source: ApplicationSource {
                    repo_url: config.repo_url.clone(),
                    target_revision: branch.to_owned(),
                    path: app.clone(),
                },
                destination: ApplicationDestination {
                    server: server.clone(),
                    name: cluster_name.clone(),
                    namespace,
                },
                sync_policy: sync_policy.clone(),
            },
        });
    }
    Ok(out)
}

/// The namespace an app deploys to: the one namespace all the given `metadata.namespace`
/// values share (`None` entries, such as cluster-scoped resources, are ignored), or `None` when
/// there are several or none.
pub fn shared_namespace<'a>(
    namespaces: impl IntoIterator<Item = Option<&'a str>>,
) -> Option<String> {
    let mut shared: Option<&str> = None;
    for ns in namespaces.into_iter().flatten().filter(|ns| !ns.is_empty()) {
        match shared {
            None => shared = Some(ns),
            Some(s) if s == ns => {}
            Some(_) => return None,
        }
    }
    shared.map(str::to_owned)
}

/// The files the hydrated layout writes at the branch root (`super::layout`).
const ROOT_FILES: [&str; 2] = ["hydrator.metadata", ".gitattributes"];

fn check_folder(path: &str) -> Result<(), ArgoCdError> {
    let invalid = |reason: &str| ArgoCdError::InvalidField {
        field: "path",
        value: path.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return Err(invalid(
            "it must name a folder of the rendered branch, not its root",
        ));
    }
    if trimmed.starts_with('/') {
        return Err(invalid("it is relative to the rendered branch's root"));
    }
    for part in trimmed.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return Err(invalid("empty, `.` and `..` path segments are not allowed"));
        }
        if part.starts_with('.') {
            return Err(invalid(
                "hidden folders (starting with `.`) are not allowed",
            ));
        }
        if part.contains(|c: char| c == '\\' || c.is_control()) {
            return Err(invalid(
                "backslashes and control characters are not allowed",
            ));
        }
    }
    Ok(())
}

/// Fills `{key}` placeholders in one pass (a value is not expanded again).
fn substitute(
    field: &'static str,
    template: &str,
    values: &[(&str, &str)],
) -> Result<String, ArgoCdError> {
    let unknown = |placeholder: &str| ArgoCdError::UnknownPlaceholder {
        field,
        template: template.to_owned(),
        placeholder: placeholder.to_owned(),
        known: values
            .iter()
            .map(|(name, _)| format!("{{{name}}}"))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let literal = |text: &str, out: &mut String| {
        if text.contains('}') {
            return Err(unknown("}"));
        }
        out.push_str(text);
        Ok(())
    };
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        literal(&rest[..open], &mut out)?;
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(unknown(&rest[open..]));
        };
        let key = &after[..close];
        let Some((_, value)) = values.iter().find(|(name, _)| *name == key) else {
            return Err(unknown(&rest[open..open + close + 2]));
        };
        out.push_str(value);
        rest = &after[close + 1..];
    }
    literal(rest, &mut out)?;
    Ok(out)
}

fn check_name(name: &str, owner: &str, field: &'static str) -> Result<(), ArgoCdError> {
    dns_subdomain(name).map_err(|reason| ArgoCdError::InvalidName {
        name: name.to_owned(),
        owner: owner.to_owned(),
        field,
        reason,
    })
}

fn check_label_value(owner: &str, key: &str, value: &str) -> Result<(), ArgoCdError> {
    label_value(value).map_err(|reason| ArgoCdError::InvalidValue {
        owner: owner.to_owned(),
        what: format!("the value of the label {key}"),
        value: value.to_owned(),
        reason,
    })
}

/// An RFC 1123 label, as Kubernetes requires of namespaces.
fn dns_label(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 63 {
        return Err("a namespace has 1 to 63 characters".to_owned());
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        || s.starts_with('-')
        || s.ends_with('-')
    {
        return Err(
            "a namespace consists of lower case letters, digits and `-`, and starts and ends \
             with a letter or digit"
                .to_owned(),
        );
    }
    Ok(())
}

/// An RFC 1123 subdomain, as Kubernetes requires of most object names.
fn dns_subdomain(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 253 {
        return Err("a name has 1 to 253 characters".to_owned());
    }
    let ok = s.split('.').all(|part| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !part.starts_with('-')
            && !part.ends_with('-')
    });
    if !ok {
        return Err(
            "a name consists of lower case letters, digits, `-` and `.`, and starts and ends \
             with a letter or digit"
                .to_owned(),
        );
    }
    Ok(())
}

/// A Kubernetes label value.
fn label_value(s: &str) -> Result<(), String> {
    if s.len() > 63 {
        return Err("a label value has at most 63 characters".to_owned());
    }
    let alnum = |c: Option<u8>| c.is_none_or(|b| b.is_ascii_alphanumeric());
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        || !alnum(s.bytes().next())
        || !alnum(s.bytes().last())
    {
        return Err(
            "a label value consists of letters, digits, `-`, `_` and `.`, and starts and ends \
             with a letter or digit"
                .to_owned(),
        );
    }
    Ok(())
}

/// A JSON value as a YAML tree for kiln's emitter (which sorts keys and picks quoting from the
/// values, so the result does not depend on the map order).
fn json_to_node(value: &serde_json::Value) -> Node {
    use serde_json::Value;
    match value {
        Value::Null => Node::null(),
        Value::Bool(b) => Node::plain(if *b { "true" } else { "false" }),
        Value::Number(n) => Node::plain(n.to_string()),
        Value::String(s) => Node::string(s.clone()),
        Value::Array(items) => Node::seq(items.iter().map(json_to_node).collect()),
        Value::Object(map) => Node::from_entries(
            map.iter()
                .map(|(k, v)| (Node::string(k.clone()), json_to_node(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apps() -> Vec<(String, Option<String>)> {
        vec![
            ("web".to_owned(), Some("web".to_owned())),
            ("monitoring".to_owned(), None),
        ]
    }

    #[test]
    fn substitute_fills_and_rejects() {
        let v = [("env", "prod"), ("app", "web")];
        assert_eq!(
            substitute("name", "{env}-{app}", &v).expect("fills"),
            "prod-web"
        );
        assert_eq!(substitute("name", "x", &v).expect("fills"), "x");
        // One pass: a value containing a placeholder is not expanded again.
        assert_eq!(
            substitute("name", "{env}", &[("env", "{app}"), ("app", "no")]).expect("fills"),
            "{app}"
        );
        for bad in ["{ns}-{app}", "{env", "env}", "{}"] {
            let err = substitute("name", bad, &v).expect_err(bad);
            assert!(
                matches!(err, ArgoCdError::UnknownPlaceholder { .. }),
                "{bad}: {err}"
            );
        }
        let err = substitute("rootName", "{app}", &[("env", "prod")]).expect_err("app");
        assert_eq!(
            err.to_string(),
            "argocd.rootName `{app}`: unknown placeholder `{app}` (known: {env})"
        );
    }

    #[test]
    fn names_and_labels() {
        assert!(dns_subdomain("prod-web.x").is_ok());
        assert!(dns_subdomain("Prod").is_err());
        assert!(dns_subdomain("a_b").is_err());
        assert!(dns_subdomain("-a").is_err());
        assert!(dns_subdomain(&"a".repeat(254)).is_err());
        assert!(dns_label("a.b").is_err());
        assert!(label_value("").is_ok());
        assert!(label_value("My_App.1").is_ok());
        assert!(label_value("_x").is_err());
        assert!(label_value(&"a".repeat(64)).is_err());
    }

    #[test]
    fn shared_namespace_needs_agreement() {
        assert_eq!(
            shared_namespace([Some("a"), None, Some("a")]),
            Some("a".to_owned())
        );
        assert_eq!(shared_namespace([Some("a"), Some("b")]), None);
        assert_eq!(shared_namespace([None, Some("")]), None);
    }

    #[test]
    fn typed_objects() {
        let mut config = ArgoCdConfig::new("https://git.example/gitops.git");
        config.destination.name = Some("prod-cluster".to_owned());
        config.destination.namespace = Some("shared".to_owned());
        let objects = application_objects("prod", "rendered/prod", &apps(), &config)
            .expect("valid configuration");
        let names: Vec<&str> = objects.iter().map(|a| a.metadata.name.as_str()).collect();
        assert_eq!(names, ["prod-apps", "prod-web", "prod-monitoring"]);
        let root = &objects[0];
        assert_eq!(root.spec.source.path, "argocd");
        assert_eq!(root.spec.destination.server.as_deref(), Some(IN_CLUSTER));
        assert_eq!(root.spec.destination.namespace.as_deref(), Some("argocd"));
        assert!(root.metadata.finalizers.is_empty());
        let web = &objects[1];
        assert_eq!(web.spec.source.target_revision, "rendered/prod");
        assert_eq!(web.spec.source.path, "web");
        assert_eq!(web.spec.destination.server, None);
        assert_eq!(web.spec.destination.name.as_deref(), Some("prod-cluster"));
        assert_eq!(web.spec.destination.namespace.as_deref(), Some("web"));
        assert_eq!(web.metadata.finalizers, [RESOURCES_FINALIZER]);
        assert_eq!(web.spec.sync_policy, None);
        // No shared namespace: the configured fallback.
        assert_eq!(
            objects[2].spec.destination.namespace.as_deref(),
            Some("shared")
        );
    }

    #[test]
    fn serialises_like_argo_cd() {
        let mut config = ArgoCdConfig::new("https://git.example/gitops.git");
        config.automated = Some(AutomatedConfig {
            prune: true,
            self_heal: false,
        });
        config.cascade_delete = false;
        let objects = application_objects("dev", "rendered/dev", &apps(), &config).expect("valid");
        let json = serde_json::to_value(&objects[1]).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Application",
                "metadata": {
                    "name": "dev-web",
                    "namespace": "argocd",
                    "labels": {"kiln.dev/app": "web", "kiln.dev/environment": "dev"},
                    "annotations": {"argocd.argoproj.io/manifest-generate-paths": "."},
                },
                "spec": {
                    "project": "default",
                    "source": {
                        "repoURL": "https://git.example/gitops.git",
                        "targetRevision": "rendered/dev",
                        "path": "web",
                    },
                    "destination": {
                        "server": "https://kubernetes.default.svc",
                        "namespace": "web",
                    },
                    "syncPolicy": {"automated": {"prune": true}},
                },
            })
        );
    }
}
