//! The typed documents a kiln project is configured with: `kiln.yaml` ([`Project`]) and
//! `build/<image>/vars.yaml` ([`ImageVars`]).
//!
//! The Rust types here are the single source of truth: their JSON Schemas are generated
//! from them with schemars into `schemas/` (a test fails when the checked-in files are
//! stale), and documents are checked against those checked-in schemas before they are
//! deserialised, so a user sees the same rules the schema publishes, with file and line.
//! This module owns the shape and the defaults; it does not read files (see `load`).

use std::sync::LazyLock;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::diagnostics::{Code, Diagnostic};
use crate::yaml::Node;

/// The name of the project configuration file at the project root.
pub const PROJECT_FILE: &str = "kiln.yaml";

/// `kiln.yaml`: the project configuration (`apiVersion: kiln.dev/v1alpha1`, `kind: Project`).
///
/// Every field is optional; an absent file means all defaults.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "kiln project configuration (kiln.yaml)")]
pub struct Project {
    /// The version of this document's schema.
    pub api_version: ApiVersion,
    /// Always `Project`.
    pub kind: ProjectKind,
    /// Container images built from `apps/base/<app>/build/<image>/`.
    #[serde(default)]
    pub images: ImagesConfig,
    /// CODEOWNERS rules kiln enforces.
    #[serde(default)]
    pub codeowners: CodeownersConfig,
    /// Settings per environment (`apps/<env>/`), by environment name.
    #[serde(default)]
    pub environments: std::collections::BTreeMap<String, EnvironmentConfig>,
    /// How `kiln publish` writes rendered branches.
    #[serde(default)]
    pub publish: PublishConfig,
    /// Project-wide secret rules.
    #[serde(default)]
    pub secrets: ProjectSecrets,
    /// How the rendered output is validated against Kubernetes and CRD schemas.
    #[serde(default)]
    pub validation: ValidationConfig,
}

/// Validation of the rendered output.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValidationConfig {
    /// What a custom resource whose kind no CustomResourceDefinition defines (none rendered,
    /// none in the repository, none in `environments.<env>.schemas`) gets: `warn` (default)
    /// or `error`.
    #[serde(default)]
    pub unknown_custom_resources: UnknownCustomResources,
}

/// The severity of a custom resource without schema.
#[allow(missing_docs)] // See `ApiVersion`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UnknownCustomResources {
    #[default]
    Warn,
    Error,
}

/// Project-wide secret rules.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProjectSecrets {
    /// Tracked files allowed to hold an age private key (`AGE-SECRET-KEY-1...`), such as a
    /// published test key. Any other file that holds one is an error.
    #[serde(default)]
    pub allowed_key_files: Vec<String>,
}

/// `kiln publish` settings.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishConfig {
    /// The source repository's URL, recorded in the rendered commits' provenance (Argo CD's
    /// `repoURL`). Default: empty.
    #[serde(default, rename = "repoURL")]
    pub repo_url: String,
    /// The rendered branch of an environment is this prefix followed by its name. Default
    /// `rendered/`.
    #[serde(default = "default_branch_prefix")]
    pub branch_prefix: String,
    /// Author and committer of rendered commits (never the user's git configuration, so the
    /// same source gives the same commit on any machine).
    #[serde(default)]
    pub identity: PublishIdentity,
}

impl Default for PublishConfig {
    fn default() -> PublishConfig {
        PublishConfig {
            repo_url: String::new(),
            branch_prefix: default_branch_prefix(),
            identity: PublishIdentity::default(),
        }
    }
}

fn default_branch_prefix() -> String {
    "rendered/".to_owned()
}

/// The identity of rendered commits.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishIdentity {
    /// Name. Default `kiln`.
    pub name: String,
    /// Email. Default `kiln@localhost`.
    pub email: String,
}

impl Default for PublishIdentity {
    fn default() -> PublishIdentity {
        PublishIdentity {
            name: "kiln".to_owned(),
            email: "kiln@localhost".to_owned(),
        }
    }
}

impl Default for Project {
    fn default() -> Project {
        Project {
            api_version: ApiVersion::V1Alpha1,
            kind: ProjectKind::Project,
            images: ImagesConfig::default(),
            codeowners: CodeownersConfig::default(),
            environments: std::collections::BTreeMap::new(),
            publish: PublishConfig::default(),
            secrets: ProjectSecrets::default(),
            validation: ValidationConfig::default(),
        }
    }
}

/// Settings of one environment.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvironmentConfig {
    /// How Secrets are written into the rendered output. Without it, `kiln compile` refuses
    /// to write an environment whose output contains a Secret with values: kiln never writes
    /// plaintext.
    #[serde(default)]
    pub secrets: Option<SecretsOutput>,
    /// Argo CD `Application` manifests `kiln publish` writes into this environment's rendered
    /// branch: an app of apps and one Application per app. Without it, none are written.
    // `with`: the schema is the object itself rather than `anyOf: [object, null]`, whose
    // validation message ("not valid under any of the schemas") would hide the real problem.
    #[serde(default)]
    #[schemars(with = "crate::publish::argocd::ArgoCdConfig")]
    pub argocd: Option<crate::publish::argocd::ArgoCdConfig>,
    /// The Kubernetes version the environment's rendered output is validated against (`"1.31"`,
    /// `"v1.31.2"`; quote it: an unquoted `1.30` is the number 1.3). Default: the newest
    /// version kiln bundles schemas for.
    #[serde(default)]
    #[schemars(regex(pattern = r"^v?[0-9]+\.[0-9]+(\.[0-9]+)?$"))]
    pub kubernetes_version: Option<String>,
    /// Repository-relative YAML files of CustomResourceDefinitions whose kinds the
    /// environment uses without rendering them (Argo CD, cert-manager, ... installed by other
    /// means): their schemas validate those custom resources.
    #[serde(default)]
    pub schemas: Vec<String>,
}

/// How rendered Secrets are protected: exactly one of `sops` and `sealedSecrets`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum SecretsOutput {
    /// Write every Secret as a SOPS file encrypted for these recipients.
    Sops(SopsOutput),
    /// Write every Secret as a Bitnami SealedSecret for the controller's certificate.
    SealedSecrets(SealedSecretsOutput),
}

/// SealedSecrets output.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SealedSecretsOutput {
    /// The sealed-secrets controller's certificate (PEM), repository-relative (as
    /// `kubeseal --fetch-cert` saves it).
    pub certificate: String,
    /// `strict` (default: name and namespace fixed), `namespace-wide` or `cluster-wide`.
    #[serde(default)]
    pub scope: SealScope,
}

/// The scope of a SealedSecret (kubeseal's `--scope`).
#[allow(missing_docs)] // See `ApiVersion`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SealScope {
    #[default]
    Strict,
    NamespaceWide,
    ClusterWide,
}

/// SOPS re-encryption of rendered Secrets.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SopsOutput {
    /// The age recipients (`age1...`): usually the cluster's key.
    #[schemars(length(min = 1))]
    pub age: Vec<String>,
}

/// The schema version of `kiln.yaml`: `kiln.dev/v1alpha1`, the first version, whose
/// fields may still change.
// Variants carry no doc comments on purpose: schemars turns documented variants into a
// `oneOf` of constants, whose validation message ("not valid under any of the schemas")
// says much less than the plain `enum` it emits otherwise ("is not one of ...").
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum ApiVersion {
    #[serde(rename = "kiln.dev/v1alpha1")]
    V1Alpha1,
}

/// The kind of a `kiln.yaml` document: always `Project`.
#[allow(missing_docs)] // See `ApiVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum ProjectKind {
    Project,
}

/// Configuration of the images a project builds.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImagesConfig {
    /// Registries whose images the project builds itself (for example `registry.lan`).
    /// Every image a manifest references under one of them must have a build folder
    /// whose vars.yaml declares that name and tag.
    #[serde(default)]
    pub registries: Vec<String>,
    /// `kiln compile` sets the image of every build folder an app reaches to the name and tag
    /// its vars.yaml declares (`<registry>/<image_name>:<image_tag>` for each registry above), as
    /// `kustomize edit set image` would in the app's overlay. Default: false.
    #[serde(default)]
    pub set_from_build: bool,
}

/// CODEOWNERS rules kiln enforces beyond GitHub's own.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CodeownersConfig {
    /// Every app folder (`apps/base/<app>`, `apps/<env>/<app>`) must be owned by a rule
    /// that is more specific than a catch-all such as `*`. Default: true.
    #[serde(default = "yes")]
    pub require_app_owners: bool,
}

impl Default for CodeownersConfig {
    fn default() -> CodeownersConfig {
        CodeownersConfig {
            require_app_owners: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// `build/<image>/vars.yaml`: the name and tag of the image a build folder produces.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "kiln image build variables (build/<image>/vars.yaml)")]
pub struct ImageVars {
    /// The image's repository name, without registry or tag (for example `web`).
    #[schemars(regex(
        pattern = r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
    ))]
    pub image_name: String,
    /// The image's tag (for example `"1.4.2"`). Quote it: an unquoted `1.10` is a number.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"))]
    pub image_tag: String,
}

/// The JSON Schema of `kiln.yaml` as generated from [`Project`], pretty-printed.
pub fn project_schema_json() -> String {
    pretty(&schemars::schema_for!(Project))
}

/// The JSON Schema of `vars.yaml` as generated from [`ImageVars`], pretty-printed.
pub fn vars_schema_json() -> String {
    pretty(&schemars::schema_for!(ImageVars))
}

fn pretty(schema: &schemars::Schema) -> String {
    // A schemars schema is a JSON value; serialising it cannot fail.
    let mut s = serde_json::to_string_pretty(schema).unwrap_or_default();
    s.push('\n');
    s
}

/// The checked-in schemas, compiled once. Checking against the files users see (rather
/// than the generated text) keeps kiln and its published schema from drifting apart; the
/// staleness test keeps the files equal to the generated ones.
static PROJECT_VALIDATOR: LazyLock<Option<jsonschema::Validator>> =
    LazyLock::new(|| compile(include_str!("../schemas/kiln.schema.json")));
static VARS_VALIDATOR: LazyLock<Option<jsonschema::Validator>> =
    LazyLock::new(|| compile(include_str!("../schemas/vars.schema.json")));

fn compile(schema: &str) -> Option<jsonschema::Validator> {
    let value: serde_json::Value = serde_json::from_str(schema).ok()?;
    jsonschema::validator_for(&value).ok()
}

/// Checks a parsed `kiln.yaml` against its schema and deserialises it.
///
/// Every violation is a diagnostic with code [`Code::InvalidProject`] pointing at the
/// offending node.
pub fn project_from_yaml(path: &str, node: &Node) -> Result<Project, Vec<Diagnostic>> {
    from_yaml(
        path,
        node,
        &PROJECT_VALIDATOR,
        Code::InvalidProject,
        "see schemas/kiln.schema.json for the fields kiln.yaml accepts",
    )
}

/// Checks a parsed `vars.yaml` against its schema and deserialises it.
pub fn vars_from_yaml(path: &str, node: &Node) -> Result<ImageVars, Vec<Diagnostic>> {
    from_yaml(
        path,
        node,
        &VARS_VALIDATOR,
        Code::InvalidVars,
        "vars.yaml holds exactly `image_name` and `image_tag`, both strings (quote the tag)",
    )
}

fn from_yaml<T: DeserializeOwned>(
    path: &str,
    node: &Node,
    validator: &LazyLock<Option<jsonschema::Validator>>,
    code: Code,
    hint: &str,
) -> Result<T, Vec<Diagnostic>> {
    let instance = node.to_json();
    let Some(validator) = validator.as_ref() else {
        // The schemas are compiled into the binary and tested; this is unreachable unless
        // the build is broken, so say so instead of pretending the document is fine.
        return Err(vec![
            Diagnostic::new(code, "kiln's built-in schema does not compile").in_file(path),
        ]);
    };
    let diags: Vec<Diagnostic> = validator
        .iter_errors(&instance)
        .map(|err| {
            let pointer = err.instance_path().to_string();
            let mut at = node.find_pointer(&pointer).unwrap_or(node);
            // Point an unknown field at its key rather than at the whole mapping.
            if let jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } =
                err.kind()
                && let Some(first) = unexpected.first()
                && let Some((key, _)) = at
                    .as_map()
                    .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some(first.as_str())))
            {
                at = key;
            }
            let field = if pointer.is_empty() {
                String::new()
            } else {
                format!(
                    " at `{}`",
                    pointer.trim_start_matches('/').replace('/', ".")
                )
            };
            Diagnostic::new(code, format!("invalid {path}{field}: {err}"))
                .in_file(path)
                .at(at.span)
                .hint(hint)
        })
        .collect();
    if !diags.is_empty() {
        return Err(diags);
    }
    serde_json::from_value(instance).map_err(|err| {
        vec![
            Diagnostic::new(code, format!("invalid {path}: {err}"))
                .in_file(path)
                .at(node.span)
                .hint(hint),
        ]
    })
}
