//! kustomize's ConfigMap and Secret generators (`configMapGenerator:`, `secretGenerator:`), the
//! name-suffix content hash of generated objects, and the `behavior: merge|replace` combination
//! of a generated object with an existing one.
//!
//! This module owns:
//! - decoding one generator entry and the kustomization's `generatorOptions` with the rules of
//!   Go's `encoding/json` as kustomize applies them (field names matched ignoring case, unknown
//!   fields and values of the wrong JSON type refused, `null` leaving the zero value);
//! - merging `generatorOptions` into the entry's own `options` (kustomize's
//!   `MergeGlobalOptionsIntoLocal`: local labels/annotations win, a global `true` wins);
//! - reading key/value pairs as kustomize's kv loader does: env files first, then literals, then
//!   files; duplicate keys refused; no key-name validation (kubectl's validator accepts every
//!   key). An env-file line `KEY` without `=` gives the empty value: kustomize v5.5.0 never reads
//!   the process environment, and neither does this module;
//! - building the object (`data`/`binaryData`, secrets base64-encoded in 70-column lines,
//!   labels, annotations, `immutable`, `type`), [`content_hash`] and [`merge_generated`].
//!
//! It does not own resolving file paths or refusing paths outside the root (the caller's
//! `read_file` callback does), adding the generated object to the build (the caller finds the
//! existing object whose current or previous id matches, and decides between appending and
//! [`merge_generated`]), or appending the hash to the name at the end of the build.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use serde_json::Value as Json;
use sha2::{Digest as _, Sha256};
use thiserror::Error;

use crate::render::resource::{Behavior, Origin, Resource};
use crate::yaml::emit::{KustomizeValue, scalar_value};
use crate::yaml::{Node, NodeKind};

/// Which generator an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneratorKind {
    /// `configMapGenerator:`.
    ConfigMap,
    /// `secretGenerator:`.
    Secret,
}

impl GeneratorKind {
    /// The generated object's `kind`.
    #[must_use]
    pub fn kind(self) -> &'static str {
        match self {
            GeneratorKind::ConfigMap => "ConfigMap",
            GeneratorKind::Secret => "Secret",
        }
    }

    /// Go struct and JSON path of the entry, for decoding messages.
    fn context(self) -> &'static str {
        match self {
            GeneratorKind::ConfigMap => "ConfigMapArgs.configMapGenerator",
            GeneratorKind::Secret => "SecretArgs.secretGenerator",
        }
    }

    fn field_path(self) -> &'static str {
        match self {
            GeneratorKind::ConfigMap => "configMapGenerator",
            GeneratorKind::Secret => "secretGenerator",
        }
    }
}

/// What can go wrong decoding a generator, generating, hashing or merging. Messages follow
/// kustomize's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GenerateError {
    /// A field that the Go struct does not have (kustomize decodes with `DisallowUnknownFields`).
    #[error("invalid Kustomization: json: unknown field \"{field}\"")]
    UnknownField {
        /// The key as written.
        field: String,
    },
    /// A value of the wrong JSON type.
    #[error(
        "invalid Kustomization: json: cannot unmarshal {found} into Go struct field {field} of type {expected}"
    )]
    WrongType {
        /// JSON type found (`number`, `string`, `array`...).
        found: &'static str,
        /// Go struct and field path (`ConfigMapArgs.configMapGenerator.literals`).
        field: String,
        /// Go type expected.
        expected: &'static str,
    },
    /// The entry has no `name` (kustomize says "configmap" for secrets too).
    #[error("a configmap must have a name")]
    MissingName,
    /// A literal without `=`, or starting with `=`.
    #[error(
        "loading KV pairs: literal sources {sources}: invalid literal source {literal}, expected key=value"
    )]
    InvalidLiteral {
        /// All literal sources, as Go prints a `[]string`.
        sources: String,
        /// The bad one.
        literal: String,
    },
    /// A `files:` source that is not `path` or `key=path`.
    #[error("loading KV pairs: file sources: {sources}: {problem}")]
    InvalidFileSource {
        /// All file sources, as Go prints a `[]string`.
        sources: String,
        /// What is wrong with which source.
        problem: String,
    },
    /// A file (of `files:`) could not be read.
    #[error("loading KV pairs: file sources: {sources}: {message}")]
    FileRead {
        /// All file sources, as Go prints a `[]string`.
        sources: String,
        /// The path as written.
        path: String,
        /// The reader's message.
        message: String,
    },
    /// An env file could not be read.
    #[error("loading KV pairs: env source files: {sources}: {message}")]
    EnvRead {
        /// All env sources, as Go prints a `[]string`.
        sources: String,
        /// The path as written.
        path: String,
        /// The reader's message.
        message: String,
    },
    /// An env file line that is not UTF-8 (kustomize prints the line's bytes where it means
    /// to print its number).
    #[error(
        "loading KV pairs: env source files: {sources}: line {bytes} has invalid utf8 bytes : {text}"
    )]
    EnvInvalidUtf8 {
        /// All env sources, as Go prints a `[]string`.
        sources: String,
        /// The file.
        path: String,
        /// The line's bytes as Go prints a `[]byte` (`[66 61 255]`).
        bytes: String,
        /// The line, invalid bytes replaced.
        text: String,
    },
    /// The same key twice among all sources of one generator.
    #[error("configmap {name} illegally repeats the key `{key}`")]
    DuplicateKey {
        /// The generator's name.
        name: String,
        /// The repeated key.
        key: String,
    },
    /// [`content_hash`] of something that is neither a ConfigMap nor a Secret. kustomize would
    /// hash the JSON form of its internal YAML node (line numbers included), which kiln does
    /// not reproduce.
    #[error(
        "cannot compute a name hash for kind {kind:?}: only ConfigMap and Secret are supported"
    )]
    HashUnsupportedKind {
        /// The object's kind.
        kind: String,
    },
    /// [`content_hash`] over a value Go's JSON encoder refuses (`.inf`, `.nan`).
    #[error("json: unsupported value: {value}")]
    HashUnsupportedValue {
        /// The value's text.
        value: String,
    },
    /// [`merge_generated`] called with a generated object whose behavior is neither merge nor
    /// replace.
    #[error("id {id} exists; behavior must be merge or replace")]
    BehaviorNotMergeOrReplace {
        /// The id, as kustomize prints `ResId.String()`.
        id: String,
    },
}

/// `options:` / `generatorOptions:` (kustomize's `types.GeneratorOptions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeneratorOptions {
    /// Labels to add; `None` when not given (a given empty map is `Some`).
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations to add.
    pub annotations: Option<BTreeMap<String, String>>,
    /// No hash suffix.
    pub disable_name_suffix_hash: bool,
    /// `immutable: true` on the object.
    pub immutable: bool,
}

impl GeneratorOptions {
    /// Decodes the kustomization's top-level `generatorOptions:`. `Ok(None)` for a null value.
    ///
    /// # Errors
    /// Unknown fields and values of the wrong type.
    pub fn from_node(node: &Node) -> Result<Option<GeneratorOptions>, GenerateError> {
        decode_options(&node.to_json(), "generatorOptions", "Kustomization")
    }

    /// kustomize's `MergeGlobalOptionsIntoLocal`: labels and annotations of `local` win over
    /// `global`'s, a `true` of `global` wins over `local`'s `false`.
    #[must_use]
    pub fn merge_global_into_local(
        local: Option<&GeneratorOptions>,
        global: Option<&GeneratorOptions>,
    ) -> Option<GeneratorOptions> {
        let Some(global) = global else {
            return local.cloned();
        };
        let mut merged = local.cloned().unwrap_or_default();
        merge_map_keep_local(&mut merged.labels, global.labels.as_ref());
        merge_map_keep_local(&mut merged.annotations, global.annotations.as_ref());
        merged.disable_name_suffix_hash |= global.disable_name_suffix_hash;
        merged.immutable |= global.immutable;
        Some(merged)
    }
}

fn merge_map_keep_local(
    local: &mut Option<BTreeMap<String, String>>,
    global: Option<&BTreeMap<String, String>>,
) {
    let Some(global) = global else { return };
    match local {
        None => *local = Some(global.clone()),
        Some(map) => {
            for (k, v) in global {
                map.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
}

/// One `configMapGenerator:` or `secretGenerator:` entry (kustomize's `ConfigMapArgs` /
/// `SecretArgs`), after `env:` was appended to `envs:` as kustomize's `FixKustomization` does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeneratorArgs {
    /// `name:`.
    pub name: String,
    /// `namespace:`; empty when unset.
    pub namespace: String,
    /// `behavior:` as written (an unknown word means unspecified, as in kustomize).
    pub behavior: String,
    /// `literals:` (`key=value`).
    pub literals: Vec<String>,
    /// `files:` (`path` or `key=path`).
    pub files: Vec<String>,
    /// `envs:`, then the deprecated `env:`.
    pub envs: Vec<String>,
    /// The entry's own `options:`.
    pub options: Option<GeneratorOptions>,
    /// `type:` (secrets only); empty when unset.
    pub secret_type: String,
}

impl GeneratorArgs {
    /// Decodes one generator entry.
    ///
    /// # Errors
    /// Unknown fields (including `type` for a ConfigMap) and values of the wrong type.
    pub fn from_node(kind: GeneratorKind, node: &Node) -> Result<GeneratorArgs, GenerateError> {
        let json = node.to_json();
        let ctx = kind.context();
        let object = match &json {
            Json::Null => return Ok(GeneratorArgs::default()),
            Json::Object(object) => object,
            other => {
                return Err(GenerateError::WrongType {
                    found: json_type(other),
                    field: format!("Kustomization.{}", kind.field_path()),
                    expected: match kind {
                        GeneratorKind::ConfigMap => "types.ConfigMapArgs",
                        GeneratorKind::Secret => "types.SecretArgs",
                    },
                });
            }
        };
        let struct_name = ctx.split_once('.').map_or(ctx, |(s, _)| s);
        let mut args = GeneratorArgs::default();
        let mut env = String::new();
        for (key, value) in object {
            let field = |name: &str| format!("{ctx}.{name}");
            match key.to_ascii_lowercase().as_str() {
                "name" => decode_string_into(value, &mut args.name, || field("name"))?,
                "namespace" => {
                    decode_string_into(value, &mut args.namespace, || field("namespace"))?;
                }
                "behavior" => {
                    decode_string_into(value, &mut args.behavior, || field("behavior"))?;
                }
                "literals" => args.literals = decode_string_list(value, || field("literals"))?,
                "files" => args.files = decode_string_list(value, || field("files"))?,
                "envs" => args.envs = decode_string_list(value, || field("envs"))?,
                "env" => decode_string_into(value, &mut env, || field("env"))?,
                "options" => {
                    args.options = decode_options(
                        value,
                        &format!("{}.options", kind.field_path()),
                        struct_name,
                    )?;
                }
                "type" if kind == GeneratorKind::Secret => {
                    decode_string_into(value, &mut args.secret_type, || field("type"))?;
                }
                _ => {
                    return Err(GenerateError::UnknownField { field: key.clone() });
                }
            }
        }
        if !env.is_empty() {
            args.envs.push(env);
        }
        Ok(args)
    }

    /// Generates the object. `global` is the kustomization's `generatorOptions`; `read_file`
    /// reads a path as written in the kustomization (relative to its directory).
    ///
    /// # Errors
    /// A missing name, bad sources, unreadable files, duplicate keys.
    pub fn generate(
        &self,
        kind: GeneratorKind,
        global: Option<&GeneratorOptions>,
        read_file: &dyn Fn(&str) -> Result<Vec<u8>, String>,
        origin: Origin,
    ) -> Result<Resource, GenerateError> {
        let options = GeneratorOptions::merge_global_into_local(self.options.as_ref(), global);
        if self.name.is_empty() {
            return Err(GenerateError::MissingName);
        }
        let pairs = self.load_pairs(read_file)?;
        let mut data: BTreeMap<&str, &[u8]> = BTreeMap::new();
        for (key, value) in &pairs {
            if data.insert(key.as_str(), value.as_slice()).is_some() {
                return Err(GenerateError::DuplicateKey {
                    name: self.name.clone(),
                    key: key.clone(),
                });
            }
        }

        let mut metadata = vec![(Node::plain("name"), Node::string(self.name.as_str()))];
        if !self.namespace.is_empty() {
            metadata.push((
                Node::plain("namespace"),
                Node::string(self.namespace.as_str()),
            ));
        }
        if let Some(opts) = &options {
            for (field, map) in [("labels", &opts.labels), ("annotations", &opts.annotations)] {
                if let Some(map) = map.as_ref().filter(|m| !m.is_empty()) {
                    metadata.push((Node::plain(field), string_map_node(map)));
                }
            }
        }
        let mut entries = vec![
            (Node::plain("apiVersion"), Node::string("v1")),
            (Node::plain("kind"), Node::string(kind.kind())),
            (Node::plain("metadata"), Node::from_entries(metadata)),
        ];
        match kind {
            GeneratorKind::ConfigMap => {
                let mut text = Vec::new();
                let mut binary = Vec::new();
                for (key, value) in &data {
                    match std::str::from_utf8(value) {
                        Ok(s) => text.push((Node::string(*key), Node::string(s))),
                        Err(_) => {
                            binary.push((Node::string(*key), Node::string(encode_base64(value))))
                        }
                    }
                }
                if !text.is_empty() {
                    entries.push((Node::plain("data"), Node::from_entries(text)));
                }
                if !binary.is_empty() {
                    entries.push((Node::plain("binaryData"), Node::from_entries(binary)));
                }
            }
            GeneratorKind::Secret => {
                let secret_type = if self.secret_type.is_empty() {
                    "Opaque"
                } else {
                    self.secret_type.as_str()
                };
                entries.push((Node::plain("type"), Node::string(secret_type)));
                let encoded = data
                    .iter()
                    .map(|(k, v)| (Node::string(*k), Node::string(encode_base64(v))))
                    .collect();
                entries.push((Node::plain("data"), Node::from_entries(encoded)));
            }
        }
        if options.as_ref().is_some_and(|o| o.immutable) {
            entries.push((Node::plain("immutable"), Node::plain("true")));
        }

        let mut resource = Resource::new(Node::from_entries(entries), origin);
        resource.needs_hash = !options.as_ref().is_some_and(|o| o.disable_name_suffix_hash);
        resource.behavior = match self.behavior.as_str() {
            "create" => Behavior::Create,
            "merge" => Behavior::Merge,
            "replace" => Behavior::Replace,
            _ => Behavior::Unspecified,
        };
        Ok(resource)
    }

    /// Key/value pairs in kustomize's order: env files, literals, files.
    fn load_pairs(
        &self,
        read_file: &dyn Fn(&str) -> Result<Vec<u8>, String>,
    ) -> Result<Vec<(String, Vec<u8>)>, GenerateError> {
        let mut pairs = Vec::new();
        for path in &self.envs {
            let content = read_file(path).map_err(|message| GenerateError::EnvRead {
                sources: go_list(&self.envs),
                path: path.clone(),
                message,
            })?;
            parse_env_file(&content, &mut pairs).map_err(|line| GenerateError::EnvInvalidUtf8 {
                sources: go_list(&self.envs),
                path: path.clone(),
                bytes: format!(
                    "[{}]",
                    line.iter().map(u8::to_string).collect::<Vec<_>>().join(" ")
                ),
                text: String::from_utf8_lossy(line).into_owned(),
            })?;
        }
        for literal in &self.literals {
            let (key, value) =
                parse_literal(literal).ok_or_else(|| GenerateError::InvalidLiteral {
                    sources: go_list(&self.literals),
                    literal: literal.clone(),
                })?;
            pairs.push((key.to_owned(), value.as_bytes().to_vec()));
        }
        for file in &self.files {
            let (key, path) =
                parse_file_source(file).map_err(|problem| GenerateError::InvalidFileSource {
                    sources: go_list(&self.files),
                    problem,
                })?;
            let content = read_file(path).map_err(|message| GenerateError::FileRead {
                sources: go_list(&self.files),
                path: path.to_owned(),
                message,
            })?;
            pairs.push((key, content));
        }
        Ok(pairs)
    }
}

/// Decodes `entry` and generates its object with the kustomization's `generatorOptions` node
/// (see [`GeneratorArgs::from_node`], [`GeneratorOptions::from_node`],
/// [`GeneratorArgs::generate`]).
///
/// # Errors
/// As those functions.
pub fn generate(
    kind: GeneratorKind,
    entry: &Node,
    generator_options: Option<&Node>,
    read_file: &dyn Fn(&str) -> Result<Vec<u8>, String>,
    origin: Origin,
) -> Result<Resource, GenerateError> {
    let args = GeneratorArgs::from_node(kind, entry)?;
    let global = match generator_options {
        Some(node) => GeneratorOptions::from_node(node)?,
        None => None,
    };
    args.generate(kind, global.as_ref(), read_file, origin)
}

fn string_map_node(map: &BTreeMap<String, String>) -> Node {
    Node::from_entries(
        map.iter()
            .map(|(k, v)| (Node::string(k.as_str()), Node::string(v.as_str())))
            .collect(),
    )
}

/// Go's `fmt` `%v` of a `[]string`.
fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// Longest line bufio.Scanner hands out with its default 64 KiB buffer (the line plus its `\n`
/// must fit).
const MAX_ENV_LINE: usize = 64 * 1024 - 1;

/// Appends the pairs of an env file. `Err(line)` for a line that is not UTF-8.
///
/// Rules (kustomize's kv loader): lines split at `\n` with one trailing `\r` dropped; a UTF-8
/// byte order mark is removed from the first line only; leading whitespace is trimmed (trailing
/// is kept); empty lines and lines starting with `#` are skipped; the key is everything before
/// the first `=` (unvalidated, so `export A` is the key), the value everything after it, taken
/// as is (no quote removal), or empty when there is no `=`; a line with an empty key is skipped.
/// A line longer than bufio.Scanner's limit silently ends the file, as kustomize ignores the
/// scanner's error.
fn parse_env_file<'c>(
    content: &'c [u8],
    pairs: &mut Vec<(String, Vec<u8>)>,
) -> Result<(), &'c [u8]> {
    let mut rest = content;
    let mut index: usize = 0;
    while !rest.is_empty() {
        let (mut line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        if line.len() > MAX_ENV_LINE {
            break;
        }
        rest = next;
        if let Some(stripped) = line.strip_suffix(b"\r") {
            line = stripped;
        }
        let text = std::str::from_utf8(line).map_err(|_| line)?;
        let text = if index == 0 {
            text.strip_prefix('\u{feff}').unwrap_or(text)
        } else {
            text
        };
        index += 1;
        let text = text.trim_start_matches(char::is_whitespace);
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let (key, value) = text.split_once('=').unwrap_or((text, ""));
        if key.is_empty() {
            continue;
        }
        pairs.push((key.to_owned(), value.as_bytes().to_vec()));
    }
    Ok(())
}

/// `key=value` with one pair of matching surrounding quotes removed from the value; `None` for
/// a source starting with `=` or without `=`.
fn parse_literal(source: &str) -> Option<(&str, &str)> {
    if source.starts_with('=') {
        return None;
    }
    let (key, value) = source.split_once('=')?;
    let bytes = value.as_bytes();
    let unquoted = match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last))
            if bytes.len() >= 2 && first == last && (first == b'"' || first == b'\'') =>
        {
            &value[1..value.len() - 1]
        }
        _ => value,
    };
    Some((key, unquoted))
}

/// `path` (key: the path's last element) or `key=path`.
fn parse_file_source(source: &str) -> Result<(String, &str), String> {
    match source.matches('=').count() {
        0 => Ok((go_path_base(source), source)),
        1 => {
            let (key, path) = source.split_once('=').unwrap_or((source, ""));
            if key.is_empty() {
                Err(format!(
                    "missing key name for file path {path:?} in source {source:?}"
                ))
            } else if path.is_empty() {
                Err(format!(
                    "missing file path for key name {key:?} in source {source:?}"
                ))
            } else {
                Ok((key.to_owned(), path))
            }
        }
        _ => Err(format!(
            "source {source:?} key name or file path contains '='"
        )),
    }
}

/// Go's `path.Base`.
fn go_path_base(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_owned();
    }
    match trimmed.rsplit_once('/') {
        Some((_, base)) => base.to_owned(),
        None => trimmed.to_owned(),
    }
}

/// Standard base64, broken into lines of 70 characters each ending in `\n` when the encoding
/// is 70 characters or longer (kyaml's `encodeBase64`).
fn encode_base64(bytes: &[u8]) -> String {
    const LINE: usize = 70;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    if encoded.len() < LINE {
        return encoded;
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / LINE + 1);
    let mut rest = encoded.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(LINE));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Decoding with encoding/json's rules.

fn json_type(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn decode_string_into(
    value: &Json,
    out: &mut String,
    field: impl Fn() -> String,
) -> Result<(), GenerateError> {
    match value {
        Json::Null => Ok(()),
        Json::String(s) => {
            out.clone_from(s);
            Ok(())
        }
        other => Err(GenerateError::WrongType {
            found: json_type(other),
            field: field(),
            expected: "string",
        }),
    }
}

fn decode_string_list(
    value: &Json,
    field: impl Fn() -> String,
) -> Result<Vec<String>, GenerateError> {
    match value {
        Json::Null => Ok(Vec::new()),
        Json::Array(items) => items
            .iter()
            .map(|item| {
                let mut s = String::new();
                decode_string_into(item, &mut s, &field)?;
                Ok(s)
            })
            .collect(),
        other => Err(GenerateError::WrongType {
            found: json_type(other),
            field: field(),
            expected: "[]string",
        }),
    }
}

fn decode_string_map(
    value: &Json,
    field: impl Fn() -> String,
) -> Result<Option<BTreeMap<String, String>>, GenerateError> {
    match value {
        Json::Null => Ok(None),
        Json::Object(object) => {
            let mut map = BTreeMap::new();
            for (k, v) in object {
                let mut s = String::new();
                decode_string_into(v, &mut s, &field)?;
                map.insert(k.clone(), s);
            }
            Ok(Some(map))
        }
        other => Err(GenerateError::WrongType {
            found: json_type(other),
            field: field(),
            expected: "map[string]string",
        }),
    }
}

fn decode_bool(value: &Json, field: impl Fn() -> String) -> Result<bool, GenerateError> {
    match value {
        Json::Null => Ok(false),
        Json::Bool(b) => Ok(*b),
        other => Err(GenerateError::WrongType {
            found: json_type(other),
            field: field(),
            expected: "bool",
        }),
    }
}

/// Decodes a `GeneratorOptions` at JSON path `path`; `outer` names the Go struct holding it
/// when the value itself is of the wrong type.
fn decode_options(
    value: &Json,
    path: &str,
    outer: &str,
) -> Result<Option<GeneratorOptions>, GenerateError> {
    let object = match value {
        Json::Null => return Ok(None),
        Json::Object(object) => object,
        other => {
            return Err(GenerateError::WrongType {
                found: json_type(other),
                field: format!("{outer}.{path}"),
                expected: "types.GeneratorOptions",
            });
        }
    };
    let mut options = GeneratorOptions::default();
    for (key, value) in object {
        let field = |name: &str| format!("GeneratorOptions.{path}.{name}");
        match key.to_ascii_lowercase().as_str() {
            "labels" => options.labels = decode_string_map(value, || field("labels"))?,
            "annotations" => {
                options.annotations = decode_string_map(value, || field("annotations"))?;
            }
            "disablenamesuffixhash" => {
                options.disable_name_suffix_hash =
                    decode_bool(value, || field("disableNameSuffixHash"))?;
            }
            "immutable" => options.immutable = decode_bool(value, || field("immutable"))?,
            _ => return Err(GenerateError::UnknownField { field: key.clone() }),
        }
    }
    Ok(Some(options))
}

// ---------------------------------------------------------------------------------------------
// Hash.

/// The name suffix kustomize appends to a generated ConfigMap or Secret (without the `-`): the
/// first 10 hex digits of the sha256 of Go's `json.Marshal` of
/// `{"binaryData"?,"data","kind","name":""}` (ConfigMap) or
/// `{"data","kind","name":"","stringData"?,"type"}` (Secret), with `0→g 1→h 3→k a→m e→t`.
///
/// As kustomize's hasher: `name` is always empty (it looks up a field literally called
/// `metadata/name`); a missing `data` or `type` is `""`, a scalar one its text; a mapping is
/// decoded as go-yaml v3 reads it and re-encoded through JSON, so numbers are float64s;
/// `binaryData`/`stringData` are included only when they are collections (a sequence gives
/// `null`).
///
/// # Errors
/// Other kinds ([`GenerateError::HashUnsupportedKind`]); `.inf`/`.nan` values.
pub fn content_hash(node: &Node) -> Result<String, GenerateError> {
    let kind = node.field_str("kind").unwrap_or("");
    let mut json = String::with_capacity(256);
    json.push('{');
    match kind {
        "ConfigMap" => {
            if let Some(binary) = node.field("binaryData").filter(|n| !is_scalar(n)) {
                json.push_str("\"binaryData\":");
                hash_field_value(binary, &mut json)?;
                json.push(',');
            }
            json.push_str("\"data\":");
            hash_field(node.field("data"), &mut json)?;
            json.push_str(",\"kind\":\"ConfigMap\",\"name\":\"\"}");
        }
        "Secret" => {
            json.push_str("\"data\":");
            hash_field(node.field("data"), &mut json)?;
            json.push_str(",\"kind\":\"Secret\",\"name\":\"\"");
            if let Some(string_data) = node.field("stringData").filter(|n| !is_scalar(n)) {
                json.push_str(",\"stringData\":");
                hash_field_value(string_data, &mut json)?;
            }
            json.push_str(",\"type\":");
            hash_field(node.field("type"), &mut json)?;
            json.push('}');
        }
        other => {
            return Err(GenerateError::HashUnsupportedKind {
                kind: other.to_owned(),
            });
        }
    }
    Ok(encode_hash(&json))
}

fn is_scalar(node: &Node) -> bool {
    matches!(node.kind, NodeKind::Scalar(_))
}

/// A field as the hasher's `getNodeValues` sees it: missing is `""`.
fn hash_field(node: Option<&Node>, out: &mut String) -> Result<(), GenerateError> {
    match node {
        None => {
            out.push_str("\"\"");
            Ok(())
        }
        Some(node) => hash_field_value(node, out),
    }
}

fn hash_field_value(node: &Node, out: &mut String) -> Result<(), GenerateError> {
    match &node.kind {
        NodeKind::Scalar(s) => {
            go_json_string(&s.text, out);
            Ok(())
        }
        // The hasher unmarshals the field into a map; a sequence fails and leaves a nil map.
        NodeKind::Seq(_) => {
            out.push_str("null");
            Ok(())
        }
        NodeKind::Map(_) => go_json_value(node, out),
    }
}

/// Go's JSON of what go-yaml v3 decodes `node` to, after a JSON round trip into `interface{}`
/// (numbers become float64).
fn go_json_value(node: &Node, out: &mut String) -> Result<(), GenerateError> {
    match &node.kind {
        NodeKind::Scalar(s) => match scalar_value(node.tag.as_deref(), s) {
            KustomizeValue::Null => out.push_str("null"),
            KustomizeValue::Bool(b) => out.push_str(if b { "true" } else { "false" }),
            KustomizeValue::Int(i) => go_json_float(i as f64, &s.text, out)?,
            KustomizeValue::UInt(u) => go_json_float(u as f64, &s.text, out)?,
            KustomizeValue::Float(f) => go_json_float(f, &s.text, out)?,
            KustomizeValue::Str(text) => go_json_string(&text, out),
        },
        NodeKind::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json_value(item, out)?;
            }
            out.push(']');
        }
        NodeKind::Map(entries) => {
            // Go maps marshal with keys sorted bytewise; a later duplicate key wins.
            let mut sorted: BTreeMap<&str, &Node> = BTreeMap::new();
            for (k, v) in entries {
                sorted.insert(k.as_str().unwrap_or(""), v);
            }
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json_string(k, out);
                out.push(':');
                go_json_value(v, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// Go's `encoding/json` float64 encoding.
fn go_json_float(f: f64, text: &str, out: &mut String) -> Result<(), GenerateError> {
    if !f.is_finite() {
        return Err(GenerateError::HashUnsupportedValue {
            value: text.to_owned(),
        });
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Shortest digits in exponent form: Go writes `e+21` / `e-7` (at least two digits
        // after `+`, a single leading zero dropped after `-`).
        let formatted = format!("{f:e}");
        let (mantissa, exponent) = formatted.split_once('e').unwrap_or((&formatted, "0"));
        out.push_str(mantissa);
        out.push('e');
        match exponent.strip_prefix('-') {
            Some(digits) => {
                out.push('-');
                out.push_str(digits);
            }
            None => {
                out.push('+');
                if exponent.len() < 2 {
                    out.push('0');
                }
                out.push_str(exponent);
            }
        }
    } else {
        let _ = write!(out, "{f}");
    }
    Ok(())
}

/// Go's `encoding/json` string encoding (HTML-safe; Go 1.22+ short escapes for `\b`, `\f`).
fn go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// sha256 hex, first 10 digits, kustomize's letter mapping.
fn encode_hash(json: &str) -> String {
    let digest = Sha256::digest(json.as_bytes());
    let mut out = String::with_capacity(10);
    for byte in digest.iter().take(5) {
        for nibble in [byte >> 4, byte & 0x0f] {
            out.push(match nibble {
                0 => 'g',
                1 => 'h',
                3 => 'k',
                10 => 'm',
                14 => 't',
                n => char::from_digit(u32::from(n), 16).unwrap_or('?'),
            });
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// behavior: merge / replace.

/// Combines a generated object `new` (behavior merge or replace) with the `existing` object it
/// matched, in place of `existing`, as kustomize's `appendReplaceOrMerge`:
///
/// - the result is `new`'s object, with `existing`'s name and namespace (namespace removed when
///   `existing` has none);
/// - labels and annotations: `existing`'s overlaid with `new`'s (re-set as strings; removed when
///   the union is empty);
/// - merge only: `data` and `binaryData` are `existing`'s overlaid with `new`'s, every value
///   becoming its text (`null` and collections become `""`), removed when empty; every other
///   field (`type`, `immutable`...) is `new`'s;
/// - kustomize's build annotations come from `existing`: previous ids, prefixes, suffixes, var
///   references and behavior stay `existing`'s; the hash suffix is kept only when both had it;
///   the origin is `existing`'s for merge and `new`'s for replace.
///
/// # Errors
/// `new.behavior` is neither merge nor replace.
pub fn merge_generated(existing: &mut Resource, new: Resource) -> Result<(), GenerateError> {
    let merge_data = match new.behavior {
        Behavior::Merge => true,
        Behavior::Replace => false,
        Behavior::Create | Behavior::Unspecified => {
            return Err(GenerateError::BehaviorNotMergeOrReplace {
                id: new.cur_id().to_string(),
            });
        }
    };
    let Resource {
        mut node,
        origin,
        needs_hash,
        ..
    } = new;
    let old = &existing.node;
    for field in ["labels", "annotations"] {
        let mut merged = meta_string_map(old, field);
        merged.extend(meta_string_map(&node, field));
        let metadata = node.map_entry("metadata");
        metadata.remove(field);
        if !merged.is_empty() {
            metadata.set(field, string_map_node(&merged));
        }
    }
    let name = old
        .path(&["metadata", "name"])
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_owned();
    node.map_entry("metadata").set("name", Node::string(name));
    match old
        .path(&["metadata", "namespace"])
        .and_then(Node::as_str)
        .filter(|ns| !ns.is_empty())
    {
        Some(ns) => node
            .map_entry("metadata")
            .set("namespace", Node::string(ns)),
        None => {
            node.map_entry("metadata").remove("namespace");
        }
    }
    if merge_data {
        for field in ["data", "binaryData"] {
            let mut merged = data_string_map(old.field(field));
            merged.extend(data_string_map(node.field(field)));
            node.remove(field);
            if !merged.is_empty() {
                node.set(field, string_map_node(&merged));
            }
        }
    } else {
        existing.origin = origin;
    }
    existing.node = node;
    existing.needs_hash = existing.needs_hash && needs_hash;
    Ok(())
}

/// `metadata.<field>` as kyaml's `GetLabels`/`GetAnnotations`: each value's raw text.
fn meta_string_map(node: &Node, field: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    if let Some(entries) = node.path(&["metadata", field]).and_then(Node::as_map) {
        for (k, v) in entries {
            map.insert(
                k.as_str().unwrap_or("").to_owned(),
                v.as_str().unwrap_or("").to_owned(),
            );
        }
    }
    map
}

/// `data`/`binaryData` as kyaml's `GetDataMap`: null and collection values are `""`.
fn data_string_map(node: Option<&Node>) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    if let Some(entries) = node.and_then(Node::as_map) {
        for (k, v) in entries {
            let value = if v.is_null() {
                ""
            } else {
                v.as_str().unwrap_or("")
            };
            map.insert(k.as_str().unwrap_or("").to_owned(), value.to_owned());
        }
    }
    map
}

#[cfg(test)]
mod tests {
    //! Expected outputs and hashes were checked against `kubectl kustomize` (kustomize v5.5.0)
    //! on probe directories holding the same inputs.

    use super::*;
    use crate::yaml::emit::emit_node;
    use crate::yaml::parse_one;

    fn parse(text: &str) -> Node {
        parse_one(text).expect("valid yaml").expect("one document")
    }

    /// A reader over in-memory files.
    fn files(
        list: &'static [(&'static str, &'static [u8])],
    ) -> impl Fn(&str) -> Result<Vec<u8>, String> {
        move |path: &str| {
            list.iter()
                .find(|(p, _)| *p == path)
                .map(|(_, c)| c.to_vec())
                .ok_or_else(|| format!("no file {path}"))
        }
    }

    fn no_files(path: &str) -> Result<Vec<u8>, String> {
        Err(format!("no file {path}"))
    }

    /// Generates `entry` and prints it as kustomize would at the end of the build (name with
    /// its hash suffix when enabled).
    fn render(
        kind: GeneratorKind,
        entry: &str,
        options: Option<&str>,
        read: &dyn Fn(&str) -> Result<Vec<u8>, String>,
    ) -> String {
        let mut res = try_render(kind, entry, options, read).expect("generates");
        if res.needs_hash {
            let hash = content_hash(&res.node).expect("hashable");
            let name = format!("{}-{hash}", res.name());
            res.set_name(&name);
        }
        emit_node(&res.node)
    }

    fn try_render(
        kind: GeneratorKind,
        entry: &str,
        options: Option<&str>,
        read: &dyn Fn(&str) -> Result<Vec<u8>, String>,
    ) -> Result<Resource, GenerateError> {
        let entry = parse(entry);
        let options = options.map(parse);
        generate(kind, &entry, options.as_ref(), read, Origin::default())
    }

    const ENV1: &[u8] = b"A=1\n# comment\n\n  B = 2\nexport C=3\nD\nE=x=y\nF=\"quoted\"\r\n";

    #[test]
    fn config_map_from_literals_files_and_env() {
        let read = files(&[
            ("env1", ENV1),
            ("f.txt", b"line1\nline2\n"),
            ("s.txt", b"single"),
            ("bin.dat", b"\xff\xfe\x00bin"),
        ]);
        let entry = r#"
name: cm1
literals:
- a=1
- b="two"
- c='three'
- d="x'
- e==eq
- "f%$#=ok"
files:
- f.txt
- k2=s.txt
- bin.dat
envs:
- env1
"#;
        let expected = r#"apiVersion: v1
binaryData:
  bin.dat: //4AYmlu
data:
  A: "1"
  'B ': ' 2'
  D: ""
  E: x=y
  F: '"quoted"'
  a: "1"
  b: two
  c: three
  d: '"x'''
  e: =eq
  export C: "3"
  f%$#: ok
  f.txt: |
    line1
    line2
  k2: single
kind: ConfigMap
metadata:
  name: cm1-mkb68th9f7
"#;
        assert_eq!(
            render(GeneratorKind::ConfigMap, entry, None, &read),
            expected
        );
    }

    #[test]
    fn config_map_options_and_html_escaping_in_hash() {
        let entry = "name: cm2\nliterals:\n- x=<>&\noptions:\n  labels:\n    l1: v1\n  annotations:\n    a1: v1\n  immutable: true\n";
        let expected = r#"apiVersion: v1
data:
  x: <>&
immutable: true
kind: ConfigMap
metadata:
  annotations:
    a1: v1
  labels:
    l1: v1
  name: cm2-47hbmh47f5
"#;
        assert_eq!(
            render(GeneratorKind::ConfigMap, entry, None, &no_files),
            expected
        );
    }

    #[test]
    fn secrets() {
        let read = files(&[("f.txt", b"line1\nline2\n")]);
        let s1 = "name: s1\nliterals:\n- a=1\nfiles:\n- f.txt\n";
        assert_eq!(
            render(GeneratorKind::Secret, s1, None, &read),
            "apiVersion: v1\ndata:\n  a: MQ==\n  f.txt: bGluZTEKbGluZTIK\nkind: Secret\nmetadata:\n  name: s1-m9mb94db29\ntype: Opaque\n"
        );
        let s2 = "name: s2\ntype: kubernetes.io/tls\nliterals:\n- tls.crt=x\n- tls.key=y\n";
        assert_eq!(
            render(GeneratorKind::Secret, s2, None, &read),
            "apiVersion: v1\ndata:\n  tls.crt: eA==\n  tls.key: eQ==\nkind: Secret\nmetadata:\n  name: s2-f4c6k54dt5\ntype: kubernetes.io/tls\n"
        );
        assert_eq!(
            render(GeneratorKind::Secret, "name: s3\n", None, &read),
            "apiVersion: v1\ndata: {}\nkind: Secret\nmetadata:\n  name: s3-46f8b28mk5\ntype: Opaque\n"
        );
        let long = format!("name: longsecret\nliterals:\n- k={}\n", "a".repeat(129));
        assert_eq!(
            render(GeneratorKind::Secret, &long, None, &read),
            "apiVersion: v1\ndata:\n  k: |\n    YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYW\n    FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh\n    YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh\nkind: Secret\nmetadata:\n  name: longsecret-8ttm8b7995\ntype: Opaque\n"
        );
    }

    const GLOBAL: &str = "labels:\n  g: global\n  both: global\nannotations:\n  ga: x\n";

    #[test]
    fn global_options_env_order_bom_and_empty_map() {
        let read = files(&[
            ("env1", b"\xef\xbb\xbfA=1\n\xef\xbb\xbfB=2\n"),
            ("env2", b"Z=9\n"),
            ("env3", b"Y=8\n"),
            ("sub/f.txt", b"x"),
        ]);
        let entry = "name: cm\nenv: env2\nenvs:\n- env1\n- env3\nfiles:\n- sub/f.txt\noptions:\n  labels:\n    both: local\n";
        let expected = r#"apiVersion: v1
data:
  "\uFEFF\x42": "2"
  A: "1"
  "Y": "8"
  Z: "9"
  f.txt: x
kind: ConfigMap
metadata:
  annotations:
    ga: x
  labels:
    both: local
    g: global
  name: cm-772mh4995b
"#;
        assert_eq!(
            render(GeneratorKind::ConfigMap, entry, Some(GLOBAL), &read),
            expected
        );
        let expected_empty = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  annotations:\n    ga: x\n  labels:\n    both: global\n    g: global\n  name: empty-6ct58987ht\n";
        assert_eq!(
            render(
                GeneratorKind::ConfigMap,
                "name: empty\n",
                Some(GLOBAL),
                &read
            ),
            expected_empty
        );
        let ns = "name: nsd\nnamespace: foo\nbehavior: create\nliterals:\n- a=b\n";
        let res = try_render(GeneratorKind::ConfigMap, ns, Some(GLOBAL), &read).expect("ok");
        assert_eq!(res.behavior, Behavior::Create);
        assert_eq!(res.namespace(), "foo");
        assert_eq!(content_hash(&res.node), Ok("4h2mbtbbt6".to_owned()));
    }

    #[test]
    fn hash_escapes_control_characters_like_go() {
        // literal "a=\b\f\u2028é\x01\t"
        let entry = "name: esc\nliterals:\n- \"a=\\b\\f\\u2028\\u00e9\\x01\\t\"\n";
        let res = try_render(GeneratorKind::ConfigMap, entry, None, &no_files).expect("ok");
        assert_eq!(content_hash(&res.node), Ok("599f75b6h5".to_owned()));
    }

    #[test]
    fn hash_disabled_and_options_precedence() {
        let entry = "name: x\nliterals: [a=b]\noptions:\n  disableNameSuffixHash: false\n";
        let res = try_render(
            GeneratorKind::ConfigMap,
            entry,
            Some("disableNameSuffixHash: true\n"),
            &no_files,
        )
        .expect("ok");
        assert!(!res.needs_hash);
        assert_eq!(
            render(
                GeneratorKind::ConfigMap,
                "name: x\nBEHAVIOR: bogus\nLiterals: [a=b]\nnamespace: null\n",
                None,
                &no_files
            ),
            "apiVersion: v1\ndata:\n  a: b\nkind: ConfigMap\nmetadata:\n  name: x-4h2mbtbbt6\n"
        );
        assert_eq!(
            render(
                GeneratorKind::ConfigMap,
                "name: x\noptions:\n  labels:\n    a: null\n    b: \"\"\n",
                None,
                &no_files
            ),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    a: \"\"\n    b: \"\"\n  name: x-6ct58987ht\n"
        );
    }

    #[test]
    fn errors() {
        let cm = GeneratorKind::ConfigMap;
        let err = |entry: &str| {
            try_render(cm, entry, None, &no_files)
                .expect_err("fails")
                .to_string()
        };
        assert_eq!(err("literals: [a=b]\n"), "a configmap must have a name");
        assert_eq!(
            err("name: x\nliterals: [a=b, a=c]\n"),
            "configmap x illegally repeats the key `a`"
        );
        assert_eq!(
            try_render(
                GeneratorKind::Secret,
                "name: x\nliterals: [a=b, a=c]\n",
                None,
                &no_files
            )
            .expect_err("fails")
            .to_string(),
            "configmap x illegally repeats the key `a`"
        );
        assert_eq!(
            err("name: x\nliterals: [\"=b\"]\n"),
            "loading KV pairs: literal sources [=b]: invalid literal source =b, expected key=value"
        );
        assert_eq!(
            err("name: x\nliterals: [ab]\n"),
            "loading KV pairs: literal sources [ab]: invalid literal source ab, expected key=value"
        );
        assert_eq!(
            err("name: x\nliterals: [null, a=b]\n"),
            "loading KV pairs: literal sources [ a=b]: invalid literal source , expected key=value"
        );
        assert_eq!(
            err("name: x\ntype: foo\n"),
            "invalid Kustomization: json: unknown field \"type\""
        );
        assert_eq!(
            err("name: x\nfiles: [\"=b\"]\n"),
            "loading KV pairs: file sources: [=b]: missing key name for file path \"b\" in source \"=b\""
        );
        assert_eq!(
            err("name: x\nfiles: [\"a=\"]\n"),
            "loading KV pairs: file sources: [a=]: missing file path for key name \"a\" in source \"a=\""
        );
        assert_eq!(
            err("name: x\nfiles: [\"a=b=c\"]\n"),
            "loading KV pairs: file sources: [a=b=c]: source \"a=b=c\" key name or file path contains '='"
        );
        assert!(matches!(
            try_render(cm, "name: x\nfiles: [missing]\n", None, &no_files),
            Err(GenerateError::FileRead { .. })
        ));
        assert_eq!(
            err("name: x\nliterals: [1]\n"),
            "invalid Kustomization: json: cannot unmarshal number into Go struct field ConfigMapArgs.configMapGenerator.literals of type string"
        );
        assert_eq!(
            err("name: x\noptions:\n  disableNameSuffixHash: \"true\"\n"),
            "invalid Kustomization: json: cannot unmarshal string into Go struct field GeneratorOptions.configMapGenerator.options.disableNameSuffixHash of type bool"
        );
        assert_eq!(
            err("name: x\noptions: yes\n"),
            "invalid Kustomization: json: cannot unmarshal bool into Go struct field ConfigMapArgs.configMapGenerator.options of type types.GeneratorOptions"
        );
        assert_eq!(
            err("name: x\noptions:\n  labels:\n    a: 1\n"),
            "invalid Kustomization: json: cannot unmarshal number into Go struct field GeneratorOptions.configMapGenerator.options.labels of type string"
        );
    }

    #[test]
    fn env_file_rules() {
        let mut pairs = Vec::new();
        parse_env_file(b"=skipped\n\t# c\n\xc2\xa0K=v \nlast", &mut pairs).expect("utf8");
        let got: Vec<_> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), String::from_utf8_lossy(v).into_owned()))
            .collect();
        assert_eq!(got, [("K", "v ".to_owned()), ("last", String::new())]);
        assert_eq!(
            parse_env_file(b"A=1\nB=\xff\n", &mut Vec::new()),
            Err(&b"B=\xff"[..])
        );
        let read = files(&[("bad.env", b"A=1\nB=\xff\n")]);
        assert_eq!(
            try_render(
                GeneratorKind::ConfigMap,
                "name: x\nenvs: [bad.env]\n",
                None,
                &read
            )
            .expect_err("fails")
            .to_string(),
            "loading KV pairs: env source files: [bad.env]: line [66 61 255] has invalid utf8 bytes : B=\u{fffd}"
        );
        // A line too long for bufio.Scanner silently ends the file.
        let mut long = b"A=1\nB=".to_vec();
        long.extend(std::iter::repeat_n(b'x', 70_000));
        long.extend(b"\nC=3\n");
        let mut pairs = Vec::new();
        parse_env_file(&long, &mut pairs).expect("utf8");
        assert_eq!(pairs.len(), 1);
        // The limit is 65535 bytes before the `\n`, a `\r` included (probe /tmp/gp/e2).
        for (tail, expected) in [(65_533, 3), (65_534, 1)] {
            let mut text = b"A=1\nB=".to_vec();
            text.extend(std::iter::repeat_n(b'x', tail));
            text.extend(b"\nC=3\n");
            let mut pairs = Vec::new();
            parse_env_file(&text, &mut pairs).expect("utf8");
            assert_eq!(pairs.len(), expected, "{tail}");
        }
        let mut crlf = b"A=1\nB=".to_vec();
        crlf.extend(std::iter::repeat_n(b'x', 65_533));
        crlf.extend(b"\r\nC=3\n");
        let mut pairs = Vec::new();
        parse_env_file(&crlf, &mut pairs).expect("utf8");
        assert_eq!(pairs.len(), 1);
    }

    #[test]
    fn file_source_keys() {
        assert_eq!(
            parse_file_source("a/b/c.txt"),
            Ok(("c.txt".to_owned(), "a/b/c.txt"))
        );
        assert_eq!(parse_file_source("dir/"), Ok(("dir".to_owned(), "dir/")));
        assert_eq!(parse_file_source("k=a/b"), Ok(("k".to_owned(), "a/b")));
    }

    #[test]
    fn hash_of_hand_written_objects() {
        // Scalar and missing fields, numbers through float64, binaryData included.
        let cm = parse(
            "kind: ConfigMap\nmetadata:\n  name: whatever\ndata:\n  k: 5\n  b: true\n  n: null\nbinaryData:\n  x: AAAA\n",
        );
        let mut json = String::new();
        json.push_str("{\"binaryData\":{\"x\":\"AAAA\"},\"data\":{\"b\":true,\"k\":5,\"n\":null},\"kind\":\"ConfigMap\",\"name\":\"\"}");
        assert_eq!(content_hash(&cm), Ok(encode_hash(&json)));
        let secret = parse("kind: Secret\nstringData:\n  a: b\n");
        assert_eq!(
            content_hash(&secret),
            Ok(encode_hash(
                "{\"data\":\"\",\"kind\":\"Secret\",\"name\":\"\",\"stringData\":{\"a\":\"b\"},\"type\":\"\"}"
            ))
        );
        assert!(matches!(
            content_hash(&parse("kind: Deployment\n")),
            Err(GenerateError::HashUnsupportedKind { .. })
        ));
        let mut out = String::new();
        for f in [1e21, 1.5e-7, 123_456_789.0, 0.000_001, -0.0, 1e100] {
            go_json_float(f, "", &mut out).expect("finite");
            out.push(' ');
        }
        assert_eq!(out, "1e+21 1.5e-7 123456789 0.000001 -0 1e+100 ");
    }

    #[test]
    fn hash_of_patched_generated_objects() {
        // Generated objects patched with non-string data (probe /tmp/gp/h1); the objects are
        // kubectl's output, whose hash suffixes were computed on the patched objects.
        let cm = parse(
            "apiVersion: v1\nbinaryData:\n- 1\ndata:\n  a: \"1\"\n  b: true\n  big: 12345678901234567890\n  d: 2001-12-14\n  f: 1.5e+300\n  k: 5\n  o:\n    x:\n    - 1\n    - \"y\"\nkind: ConfigMap\nmetadata:\n  name: g\n",
        );
        assert_eq!(content_hash(&cm), Ok("bm762g4d5h".to_owned()));
        let secret = parse(
            "apiVersion: v1\ndata:\n  a: MQ==\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  z: <\n",
        );
        assert_eq!(content_hash(&secret), Ok("f2b67dm47f".to_owned()));
    }

    fn generated(entry: &str) -> Resource {
        try_render(GeneratorKind::ConfigMap, entry, None, &no_files).expect("generates")
    }

    #[test]
    fn merge_and_replace() {
        // base: namePrefix pre-, generators gen/gen2/gen3 and a resource `plain`; overlay
        // merges/replaces (probe /tmp/gp/m1).
        let mut gen_base = generated(
            "name: gen\nliterals: [a=1, b=2]\noptions:\n  labels: {bl: base, shared: base}\n  annotations: {ba: base}\n",
        );
        gen_base.store_previous_id();
        gen_base.set_name("pre-gen");
        merge_generated(
            &mut gen_base,
            generated("name: gen\nbehavior: merge\nliterals: [b=3, c=4]\noptions:\n  labels: {shared: ov}\n"),
        )
        .expect("merges");
        assert!(gen_base.needs_hash);
        let hash = content_hash(&gen_base.node).expect("hash");
        gen_base.set_name(&format!("pre-gen-{hash}"));
        assert_eq!(
            emit_node(&gen_base.node),
            "apiVersion: v1\ndata:\n  a: \"1\"\n  b: \"3\"\n  c: \"4\"\nkind: ConfigMap\nmetadata:\n  annotations:\n    ba: base\n  labels:\n    bl: base\n    shared: ov\n  name: pre-gen-fbcmkbc66h\n"
        );

        let mut plain = Resource::new(
            parse(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pre-plain\n  labels: {num: 1}\n  annotations: {x: y}\ndata:\n  k: 5\n  n: null\n  m: {a: b}\nbinaryData:\n  bin: AAAA\nimmutable: false\n",
            ),
            Origin::default(),
        );
        merge_generated(
            &mut plain,
            generated("name: plain\nbehavior: merge\nliterals: [z=1]\n"),
        )
        .expect("merges");
        assert!(!plain.needs_hash);
        assert_eq!(
            emit_node(&plain.node),
            "apiVersion: v1\nbinaryData:\n  bin: AAAA\ndata:\n  k: \"5\"\n  m: \"\"\n  \"n\": \"\"\n  z: \"1\"\nkind: ConfigMap\nmetadata:\n  annotations:\n    x: \"y\"\n  labels:\n    num: \"1\"\n  name: pre-plain\n"
        );

        let mut gen3 = generated("name: gen3\nliterals: [a=1]\n");
        gen3.set_name("pre-gen3");
        merge_generated(
            &mut gen3,
            generated("name: gen3\nbehavior: replace\nliterals: [z=1]\noptions:\n  disableNameSuffixHash: true\n  immutable: true\n"),
        )
        .expect("replaces");
        assert!(!gen3.needs_hash);
        assert_eq!(
            emit_node(&gen3.node),
            "apiVersion: v1\ndata:\n  z: \"1\"\nimmutable: true\nkind: ConfigMap\nmetadata:\n  name: pre-gen3\n"
        );

        let mut sec = try_render(
            GeneratorKind::Secret,
            "name: sec\ntype: foo\nliterals: [a=1]\n",
            None,
            &no_files,
        )
        .expect("secret");
        sec.set_name("pre-sec");
        let new = try_render(
            GeneratorKind::Secret,
            "name: sec\nbehavior: merge\nliterals: [b=2]\n",
            None,
            &no_files,
        )
        .expect("secret");
        merge_generated(&mut sec, new).expect("merges");
        let hash = content_hash(&sec.node).expect("hash");
        assert_eq!(hash, "8fb7cfch84");
        assert_eq!(sec.node.field_str("type"), Some("Opaque"));

        let err = merge_generated(&mut sec.clone(), generated("name: sec\nliterals: [b=2]\n"));
        assert!(matches!(
            err,
            Err(GenerateError::BehaviorNotMergeOrReplace { .. })
        ));
    }
}
