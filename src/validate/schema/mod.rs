//! Offline Kubernetes schema validation of rendered resources (kubeconform-style, strict).
//!
//! This module owns:
//! - [`SchemaSet`]: the built-in schemas of one Kubernetes minor version (embedded, see
//!   [`data`]) plus the kinds added from CustomResourceDefinitions ([`SchemaSet::add_crd`],
//!   converted by [`crd`]); one compiled validator per apiVersion/kind, compiled on first use
//!   and shared by every resource and thread;
//! - validating one resource's JSON ([`SchemaSet::validate`]) into [`Violation`]s with a JSON
//!   pointer, a readable message (`spec.replicas: expected integer, got string "three"`) and
//!   the offending value, or a [`ValidateError`] when the resource cannot be checked (no
//!   apiVersion/kind, a custom resource without CRD, an API this version does not serve);
//! - the served / deprecated / removed status of an API ([`api_status`], [`ApiStatus`]).
//!
//! Semantics: unknown fields are errors except where the schema allows them
//! (`additionalProperties`, `x-kubernetes-preserve-unknown-fields`); `null` is accepted for
//! optional fields; int32/int64 ranges are checked; IntOrString accepts an int32 or a string;
//! a Quantity accepts a number or a string of Kubernetes' quantity grammar; `format: byte`
//! must be base64. Not checked: enums of built-in fields (the source data has none), CEL
//! rules, and server-side checks (label syntax, immutability, defaulting).
//!
//! It does not own:
//! - parsing YAML or mapping pointers back to source lines ([`crate::yaml`]);
//! - deciding which resources to validate, severities, or rendering diagnostics;
//! - generating the data (`scripts/gen-k8s-schemas.py`).

mod crd;
mod data;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock, RwLock};

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::{Draft, Registry, ValidationError, Validator};
use rayon::prelude::*;
use serde_json::{Value, json};

pub use data::{ApiStatus, api_status, supported_versions};

/// The URI under which the built-in bundle is registered.
const BUNDLE_URI: &str = "https://kiln.invalid/kubernetes/defs.json";
const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const CRD_DEFINITION: &str =
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition";
/// The quantity pattern written by the generator (used to word its error).
const QUANTITY_PATTERN: &str =
    r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?[0-9]+)?$";
/// Values longer than this are shortened in messages.
const MAX_VALUE_CHARS: usize = 80;

/// Errors loading the built-in schemas.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SchemaError {
    /// The version string is not `1.NN`, `v1.NN` or `1.NN.P`.
    #[error("invalid Kubernetes version {0:?} (expected 1.NN or 1.NN.P)")]
    InvalidVersion(String),
    /// No bundled schema for this version.
    #[error("no schemas for Kubernetes {version}: kiln has {supported}")]
    UnsupportedVersion {
        /// The version asked for.
        version: String,
        /// The bundled range, for example `1.25 to 1.37`.
        supported: String,
    },
    /// The embedded data failed to decompress.
    #[error("the embedded schema bundle for Kubernetes {version} is corrupt: {message}")]
    Decompress {
        /// The bundle's version.
        version: String,
        /// What the decompressor said.
        message: String,
    },
    /// The embedded data decompressed but is not what the generator writes.
    #[error("the embedded schema data {version} is malformed: {message}")]
    Bundle {
        /// The bundle's version (or `apis.json`).
        version: String,
        /// What is wrong.
        message: String,
    },
    /// The validator rejected the bundle.
    #[error("the embedded schemas for Kubernetes {version} do not load: {message}")]
    Registry {
        /// The bundle's version.
        version: String,
        /// The validator's error.
        message: String,
    },
}

/// Errors adding a CustomResourceDefinition; they concern that CRD only.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CrdError {
    /// The object is not a CustomResourceDefinition.
    #[error("not a CustomResourceDefinition")]
    NotACrd,
    /// A field the conversion needs is missing or has the wrong type.
    #[error("CustomResourceDefinition {crd}: {field} is missing or not a string")]
    MissingField {
        /// `metadata.name` of the CRD.
        crd: String,
        /// The field.
        field: &'static str,
    },
    /// The `openAPIV3Schema` cannot be converted or compiled.
    #[error("CustomResourceDefinition {crd}, version {version}: {path}: {message}")]
    InvalidSchema {
        /// `metadata.name` of the CRD.
        crd: String,
        /// The CRD version (`v1`, `v1alpha1`, ...).
        version: String,
        /// Where in the schema (`openAPIV3Schema.properties.spec...`).
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Why a resource could not be validated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidateError {
    /// The resource is not a JSON object.
    #[error("a resource must be a mapping, got {0}")]
    NotAnObject(&'static str),
    /// `apiVersion` or `kind` is missing or not a string.
    #[error("{0} is missing or not a string")]
    MissingTypeField(&'static str),
    /// A custom resource whose kind no added CRD defines.
    #[error(
        "no schema for {api_version} {kind} (a custom resource without CustomResourceDefinition)"
    )]
    NoSchema {
        /// The resource's apiVersion.
        api_version: String,
        /// The resource's kind.
        kind: String,
    },
    /// A built-in group, but this Kubernetes version does not serve the apiVersion/kind.
    #[error("{}", not_served_message(.api_version, .kind, .version, .status))]
    NotServed {
        /// The resource's apiVersion.
        api_version: String,
        /// The resource's kind.
        kind: String,
        /// The Kubernetes version validated against.
        version: String,
        /// Removed, not yet available, or unknown.
        status: ApiStatus,
    },
    /// The schema of this kind (from a CRD) does not compile.
    #[error("the schema of {api_version} {kind} does not compile: {message}")]
    BrokenSchema {
        /// The resource's apiVersion.
        api_version: String,
        /// The resource's kind.
        kind: String,
        /// The compiler's error.
        message: String,
    },
}

fn not_served_message(api_version: &str, kind: &str, version: &str, status: &ApiStatus) -> String {
    let replacement = |r: &Option<String>| match r {
        Some(r) => format!("; use {r}"),
        None => String::new(),
    };
    match status {
        ApiStatus::Removed {
            since,
            replacement: r,
        } => format!(
            "{api_version} {kind} is not served by Kubernetes {version}: removed in {since}{}",
            replacement(r)
        ),
        ApiStatus::NotYetAvailable { since } => format!(
            "{api_version} {kind} is not served by Kubernetes {version}: available from {since}"
        ),
        _ => format!("{api_version} {kind} does not exist in Kubernetes {version}"),
    }
}

/// One schema violation in a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer of the offending field (`/spec/replicas`); for a missing required field,
    /// the pointer the field would have.
    pub pointer: String,
    /// Readable message, starting with the dotted path: `spec.replicas: expected integer, got
    /// string "three"`.
    pub message: String,
    /// The offending value as compact JSON (shortened), for scalars.
    pub value: Option<String>,
}

/// What [`SchemaSet::add_crd`] registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrdAdded {
    /// The apiVersion/kind pairs now validated against the CRD's schemas.
    pub kinds: Vec<(String, String)>,
    /// Violations of the CRD object itself against the built-in CustomResourceDefinition
    /// schema (the kinds are registered regardless).
    pub violations: Vec<Violation>,
}

type Compiled = Result<Arc<Validator>, String>;

/// One slot per apiVersion/kind, filled by the first thread that needs it.
type CompiledCache = RwLock<HashMap<(String, String), Arc<OnceLock<Compiled>>>>;

/// Where a kind's schema comes from.
#[derive(Debug, Clone)]
enum Source {
    /// A `$defs` entry of the built-in bundle.
    Builtin(String),
    /// A converted CRD schema.
    Crd(Arc<Value>),
}

/// The schemas of one Kubernetes version plus CRD-defined kinds; compiled lazily, shared across
/// threads.
pub struct SchemaSet {
    version: &'static str,
    version_index: usize,
    registry: Registry<'static>,
    /// Kinds added by CRDs (they take precedence over built-in kinds).
    crds: HashMap<(String, String), Arc<Value>>,
    compiled: CompiledCache,
}

impl std::fmt::Debug for SchemaSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaSet")
            .field("version", &self.version)
            .field("crd_kinds", &self.crds.len())
            .finish_non_exhaustive()
    }
}

/// `format: byte`: base64 as Go's `encoding/json` decodes `[]byte` (standard alphabet,
/// padding required, line breaks ignored).
fn is_base64(s: &str) -> bool {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    );
    if s.contains(['\r', '\n']) {
        let joined: String = s.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
        ENGINE.decode(joined).is_ok()
    } else {
        ENGINE.decode(s).is_ok()
    }
}

impl SchemaSet {
    /// The built-in schemas of Kubernetes `version` (`1.30`, `v1.30.2`, ...).
    pub fn builtin(version: &str) -> Result<SchemaSet, SchemaError> {
        let version = data::normalize_version(version)?;
        let index = data::index()?;
        let version_index =
            index
                .version_index(version)
                .ok_or_else(|| SchemaError::UnsupportedVersion {
                    version: version.to_string(),
                    supported: supported_versions().join(", "),
                })?;
        let defs = data::load_defs(version)?;
        let bundle = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$defs": Value::Object(defs),
        });
        let registry = Registry::new()
            .draft(Draft::Draft202012)
            .add(BUNDLE_URI, bundle)
            .and_then(|b| b.prepare())
            .map_err(|e| SchemaError::Registry {
                version: version.to_string(),
                message: e.to_string(),
            })?;
        Ok(SchemaSet {
            version,
            version_index,
            registry,
            crds: HashMap::new(),
            compiled: RwLock::new(HashMap::new()),
        })
    }

    /// The Kubernetes minor version (`1.30`).
    pub fn version(&self) -> &str {
        self.version
    }

    /// The status of an API in this set's Kubernetes version (see [`api_status`]).
    pub fn api_status(&self, api_version: &str, kind: &str) -> ApiStatus {
        match data::index() {
            Ok(index) => index.status(self.version_index, api_version, kind),
            // The index parsed when the set was built; it cannot fail now.
            Err(_) => ApiStatus::NotBuiltin,
        }
    }

    /// Registers the kinds of a CustomResourceDefinition (every served version) and validates
    /// the CRD object itself. A CRD whose schema cannot be converted is an error for this CRD
    /// only; the set is unchanged then. Schemas compile on first use: a pattern the regex
    /// engine rejects surfaces as [`ValidateError::BrokenSchema`] for that kind.
    pub fn add_crd(&mut self, crd: &Value) -> Result<CrdAdded, CrdError> {
        let meta_ref = format!("{BUNDLE_URI}#/$defs/{OBJECT_META}");
        let versions = crd::convert(crd, &meta_ref)?;
        let violations = match self.compiled_for(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            &Source::Builtin(CRD_DEFINITION.to_string()),
        ) {
            Ok(v)
                if crd.get("apiVersion").and_then(Value::as_str)
                    == Some("apiextensions.k8s.io/v1") =>
            {
                collect_violations(&v, crd)
            }
            _ => Vec::new(),
        };
        let mut kinds = Vec::with_capacity(versions.len());
        let mut compiled = self
            .compiled
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for v in versions {
            let key = (v.api_version, v.kind);
            compiled.remove(&key);
            kinds.push(key.clone());
            self.crds.insert(key, Arc::new(v.schema));
        }
        Ok(CrdAdded { kinds, violations })
    }

    fn source(&self, api_version: &str, kind: &str) -> Result<Source, ValidateError> {
        if let Some(schema) = self.crds.get(&(api_version.to_string(), kind.to_string())) {
            return Ok(Source::Crd(schema.clone()));
        }
        let index = data::index().ok();
        let entry = index.and_then(|i| i.get(api_version, kind));
        // The common case: a built-in API this version serves.
        if let Some(e) = entry
            && e.first <= self.version_index
            && self.version_index <= e.last
        {
            return Ok(Source::Builtin(e.definition.clone()));
        }
        let status = self.api_status(api_version, kind);
        match (status, entry) {
            (ApiStatus::Available | ApiStatus::Deprecated { .. }, Some(entry)) => {
                Ok(Source::Builtin(entry.definition.clone()))
            }
            (ApiStatus::NotBuiltin, _) => Err(ValidateError::NoSchema {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
            }),
            (status, _) => Err(ValidateError::NotServed {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                version: self.version.to_string(),
                status,
            }),
        }
    }

    fn compile(&self, source: &Source) -> Compiled {
        let options = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(&self.registry)
            .should_validate_formats(true)
            .with_format("byte", is_base64);
        let built = match source {
            Source::Builtin(def) => {
                options.build(&json!({"$ref": format!("{BUNDLE_URI}#/$defs/{def}")}))
            }
            Source::Crd(schema) => options.build(schema),
        };
        built.map(Arc::new).map_err(|e| e.to_string())
    }

    /// The compiled validator of a kind, compiling it once (other threads wait for it).
    fn compiled_for(&self, api_version: &str, kind: &str, source: &Source) -> Compiled {
        let key = (api_version.to_string(), kind.to_string());
        let cell = {
            let read = self
                .compiled
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            read.get(&key).cloned()
        };
        let cell = match cell {
            Some(c) => c,
            None => {
                let mut write = self
                    .compiled
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                write.entry(key).or_default().clone()
            }
        };
        cell.get_or_init(|| self.compile(source)).clone()
    }

    /// Validates one resource (the JSON form of a rendered manifest). `Ok(vec![])` means valid.
    pub fn validate(&self, resource: &Value) -> Result<Vec<Violation>, ValidateError> {
        let Value::Object(map) = resource else {
            return Err(ValidateError::NotAnObject(json_type(resource)));
        };
        let api_version = map
            .get("apiVersion")
            .and_then(Value::as_str)
            .ok_or(ValidateError::MissingTypeField("apiVersion"))?;
        let kind = map
            .get("kind")
            .and_then(Value::as_str)
            .ok_or(ValidateError::MissingTypeField("kind"))?;
        let source = self.source(api_version, kind)?;
        let validator = self
            .compiled_for(api_version, kind, &source)
            .map_err(|message| ValidateError::BrokenSchema {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                message,
            })?;
        Ok(collect_violations(&validator, resource))
    }

    /// Validates many resources in parallel; results are in input order.
    pub fn validate_all(&self, resources: &[Value]) -> Vec<Result<Vec<Violation>, ValidateError>> {
        resources.par_iter().map(|r| self.validate(r)).collect()
    }
}

fn collect_violations(validator: &Validator, resource: &Value) -> Vec<Violation> {
    if validator.is_valid(resource) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for error in validator.iter_errors(resource) {
        push_violations(&error, &mut out);
    }
    out.sort_by(|a, b| a.pointer.cmp(&b.pointer).then(a.message.cmp(&b.message)));
    out.dedup();
    out
}

/// A location as a JSON pointer and a dotted path.
#[derive(Clone, Default)]
struct Path {
    pointer: String,
    dotted: String,
}

impl Path {
    fn push_property(&mut self, name: &str) {
        self.pointer.push('/');
        self.pointer
            .push_str(&name.replace('~', "~0").replace('/', "~1"));
        let plain = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$');
        if plain {
            if !self.dotted.is_empty() {
                self.dotted.push('.');
            }
            self.dotted.push_str(name);
        } else {
            let _ = write!(self.dotted, "[{}]", Value::String(name.to_string()));
        }
    }

    fn push_index(&mut self, index: usize) {
        let _ = write!(self.pointer, "/{index}");
        let _ = write!(self.dotted, "[{index}]");
    }

    fn child(&self, name: &str) -> Path {
        let mut p = self.clone();
        p.push_property(name);
        p
    }

    fn prefix(&self) -> String {
        if self.dotted.is_empty() {
            "(root)".to_string()
        } else {
            self.dotted.clone()
        }
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn shown(v: &Value) -> Option<String> {
    match v {
        Value::Array(_) | Value::Object(_) => None,
        _ => {
            let text = v.to_string();
            if text.chars().count() > MAX_VALUE_CHARS {
                let cut: String = text.chars().take(MAX_VALUE_CHARS).collect();
                Some(format!("{cut}…"))
            } else {
                Some(text)
            }
        }
    }
}

/// `string "three"`, `integer 3`, `object`.
fn got(v: &Value) -> String {
    match shown(v) {
        Some(s) if !v.is_null() => format!("{} {s}", json_type(v)),
        _ => json_type(v).to_string(),
    }
}

fn expected_types(kind: &TypeKind) -> String {
    let names: Vec<&str> = match kind {
        TypeKind::Single(t) => vec![t.as_str()],
        TypeKind::Multiple(set) => set.iter().map(|t| t.as_str()).collect(),
    };
    let mut names: Vec<&str> = names.into_iter().filter(|n| *n != "null").collect();
    if names.is_empty() {
        return "null".to_string();
    }
    // "integer or string" reads better than the crate's order.
    names.sort_unstable();
    names.join(" or ")
}

fn push_violations(error: &ValidationError<'_>, out: &mut Vec<Violation>) {
    let mut path = Path::default();
    for segment in error.instance_path().iter() {
        match segment {
            LocationSegment::Property(p) => path.push_property(&p),
            LocationSegment::Index(i) => path.push_index(i),
        }
    }
    let instance = error.instance();
    let instance: &Value = instance;
    let mut push = |path: &Path, text: String, value: Option<String>| {
        out.push(Violation {
            pointer: path.pointer.clone(),
            message: format!("{}: {text}", path.prefix()),
            value,
        });
    };
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            for name in unexpected {
                let child = path.child(name);
                let value = instance.get(name.as_str()).and_then(shown);
                push(&child, "unknown field".to_string(), value);
            }
        }
        ValidationErrorKind::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_string);
            push(
                &path.child(&name),
                "required field is missing".to_string(),
                None,
            );
        }
        ValidationErrorKind::Type { kind } => {
            let text = format!("expected {}, got {}", expected_types(kind), got(instance));
            push(&path, text, shown(instance));
        }
        ValidationErrorKind::Enum { options } => {
            let choices = match &**options {
                Value::Array(items) => items
                    .iter()
                    .filter(|v| !v.is_null())
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            let text = format!("expected one of {choices}, got {}", got(instance));
            push(&path, text, shown(instance));
        }
        ValidationErrorKind::Minimum { limit } => {
            let text = format!("{instance} is less than the minimum {limit}");
            push(&path, text, shown(instance));
        }
        ValidationErrorKind::Maximum { limit } => {
            let text = format!("{instance} is greater than the maximum {limit}");
            push(&path, text, shown(instance));
        }
        ValidationErrorKind::Pattern { pattern } if pattern == QUANTITY_PATTERN => {
            let text =
                format!("{instance} is not a valid quantity (examples: 1, 0.5, 500m, 128Mi, 2G)");
            push(&path, text, shown(instance));
        }
        ValidationErrorKind::Pattern { pattern } => {
            let text = format!("{instance} does not match the pattern {pattern}");
            push(&path, text, shown(instance));
        }
        ValidationErrorKind::Format { format } if format == "byte" => {
            push(&path, "not valid base64".to_string(), shown(instance));
        }
        _ => {
            // The crate's own wording, without the location it may repeat.
            push(&path, error.to_string(), shown(instance));
        }
    }
}

#[cfg(test)]
mod tests;
