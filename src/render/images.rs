//! kustomize's `images:` transformer (the ImageTagTransformer, `api/filters/imagetag`): image
//! reference splitting, matching an entry against an image, and the rewrite of matching images.
//!
//! kustomize runs one transformer per `images:` entry, in order, each on the output of the
//! previous one (so a later entry can match the name an earlier one set). Each runs two passes
//! over every object except `CustomResourceDefinition`s:
//! 1. the legacy pass ([`apply_legacy`]): the `image` field of every item of every sequence
//!    under a key `containers` or `initContainers`, at any depth;
//! 2. the field-spec pass ([`apply_field_spec`]): the `images` field specs, by default
//!    [`DEFAULT_IMAGE_PATHS`] for every kind, never creating a missing `image` field.
//!
//! [`apply_images`] runs both passes per entry with the default field specs. Both passes see
//! the same field, so an entry applies twice to most images. That is harmless except for
//! `tagSuffix`, which kustomize v5.5.0 really appends twice (`nginx:1.2-suf-suf` for a Pod or
//! Deployment container, once in places only the legacy pass reaches).
//!
//! This module owns entry decoding, the rewrite, the legacy walk and the walk of one field
//! spec path. It does not own matching a field spec's group/version/kind against an object or
//! merging user `configurations:` into the field specs (the caller does, then calls
//! [`apply_legacy`] and [`apply_field_spec`] per entry, in that order, skipping CRDs).

use regex::Regex;
use serde_json::Value as Json;
use thiserror::Error;

use crate::yaml::{Node, NodeKind};

/// What can go wrong reading an entry or rewriting an image.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImageError {
    /// A field the `Image` type does not have.
    #[error("invalid Kustomization: json: unknown field \"{field}\"")]
    UnknownField {
        /// The key as written.
        field: String,
    },
    /// A value of the wrong JSON type (`newTag: 1.0` is a number).
    #[error(
        "invalid Kustomization: json: cannot unmarshal {found} into Go struct field {field} of type {expected}"
    )]
    WrongType {
        /// JSON type found.
        found: &'static str,
        /// Go struct and field path (`Image.images.newTag`).
        field: String,
        /// Go type expected.
        expected: &'static str,
    },
    /// `name` is not a valid regular expression once embedded in kustomize's pattern
    /// (kustomize uses the name unescaped as a regexp, and crashes with a nil-pointer panic
    /// when it does not compile).
    #[error("image name {name:?} is not a valid regular expression (kustomize panics on it)")]
    InvalidName {
        /// The entry's name.
        name: String,
    },
    /// An `image` field that is a sequence or mapping.
    #[error("wrong node kind: expected ScalarNode but got {found}")]
    NotScalar {
        /// `SequenceNode` or `MappingNode`.
        found: &'static str,
    },
    /// The field-spec walk met something it cannot walk.
    #[error("considering field '{path}': {message}")]
    FieldSpec {
        /// The field spec path (or its remaining part).
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// One `images:` entry (kustomize's `types.Image`).
#[derive(Debug, Clone)]
pub struct ImageEntry {
    /// `name`: the image name to match (used as a regular expression, as kustomize does).
    pub name: String,
    /// `newName`: replaces the name.
    pub new_name: String,
    /// `newTag`: replaces the tag and removes the digest (unless `digest` is given too).
    pub new_tag: String,
    /// `digest`: replaces the digest and removes the tag (unless `newTag` is given too).
    pub digest: String,
    /// `tagSuffix`: appended to the tag, digest removed; only when neither `newTag` nor
    /// `digest` is given.
    pub tag_suffix: String,
    /// `^name(:[a-zA-Z0-9_.{}-]*)?(@sha256:[a-zA-Z0-9_.{}-]*)?$`, compiled once.
    matcher: Regex,
}

impl ImageEntry {
    /// An entry from its fields.
    ///
    /// # Errors
    /// [`ImageError::InvalidName`] when the name does not compile as part of the pattern.
    pub fn new(
        name: &str,
        new_name: &str,
        new_tag: &str,
        digest: &str,
        tag_suffix: &str,
    ) -> Result<ImageEntry, ImageError> {
        let pattern = format!(
            "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$",
            go_literal_braces(name)
        );
        let matcher = Regex::new(&pattern).map_err(|_| ImageError::InvalidName {
            name: name.to_owned(),
        })?;
        Ok(ImageEntry {
            name: name.to_owned(),
            new_name: new_name.to_owned(),
            new_tag: new_tag.to_owned(),
            digest: digest.to_owned(),
            tag_suffix: tag_suffix.to_owned(),
            matcher,
        })
    }

    /// Decodes one item of `images:` as kustomize does (Go `encoding/json`: field names
    /// ignoring case, unknown fields refused, every value a string or null).
    ///
    /// # Errors
    /// Unknown fields, non-string values, a name that is not a valid pattern.
    pub fn from_node(node: &Node) -> Result<ImageEntry, ImageError> {
        let json = node.to_json();
        let mut fields: [String; 5] = Default::default();
        match &json {
            Json::Null => {}
            Json::Object(object) => {
                for (key, value) in object {
                    let (index, go_name) = match key.to_ascii_lowercase().as_str() {
                        "name" => (0, "name"),
                        "newname" => (1, "newName"),
                        "newtag" => (2, "newTag"),
                        "digest" => (3, "digest"),
                        "tagsuffix" => (4, "tagSuffix"),
                        _ => return Err(ImageError::UnknownField { field: key.clone() }),
                    };
                    match value {
                        Json::Null => {}
                        Json::String(s) => {
                            if let Some(slot) = fields.get_mut(index) {
                                slot.clone_from(s);
                            }
                        }
                        other => {
                            return Err(ImageError::WrongType {
                                found: json_type(other),
                                field: format!("Image.images.{go_name}"),
                                expected: "string",
                            });
                        }
                    }
                }
            }
            other => {
                return Err(ImageError::WrongType {
                    found: json_type(other),
                    field: "Kustomization.images".to_owned(),
                    expected: "types.Image",
                });
            }
        }
        let [name, new_name, new_tag, digest, tag_suffix] = &fields;
        ImageEntry::new(name, new_name, new_tag, digest, tag_suffix)
    }

    /// Whether this entry applies to `image` (kustomize's `IsImageMatched`): the whole value is
    /// the entry's name (as a regular expression: `.` matches any character), optionally
    /// followed by `:tag` and then `@sha256:digest`, tag and digest made of
    /// `[a-zA-Z0-9_.{}-]`.
    #[must_use]
    pub fn matches(&self, image: &str) -> bool {
        self.matcher.is_match(image)
    }
}

/// Escapes each `{` that does not start a repetition (`{n}`, `{n,}`, `{n,m}`) outside a
/// character class: Go's regexp takes such a brace literally, Rust's regex refuses it.
fn go_literal_braces(pattern: &str) -> std::borrow::Cow<'_, str> {
    if !pattern.contains('{') {
        return std::borrow::Cow::Borrowed(pattern);
    }
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut in_class = false;
    let mut chars = pattern.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some((_, next)) = chars.next() {
                    out.push(next);
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A `]` (after an optional `^`) right after `[` is a literal member.
                if let Some(&(_, '^')) = chars.peek() {
                    out.push('^');
                    chars.next();
                }
                if let Some(&(_, ']')) = chars.peek() {
                    out.push(']');
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '{' if !in_class && !is_repeat(&pattern[i..]) => out.push_str("\\{"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Whether `text` starts with `{n}`, `{n,}` or `{n,m}`.
fn is_repeat(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('{') else {
        return false;
    };
    let Some(close) = rest.find('}') else {
        return false;
    };
    let inner = &rest[..close];
    let (min, max) = inner.split_once(',').unwrap_or((inner, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(min) && (max.is_empty() || digits(max))
}

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

/// Splits an image reference `[host[:port]/]path[:tag][@digest]` into name, tag and digest
/// (kustomize's `image.Split`). A `:` or `@` is only looked for from the first `/` on (when
/// the `/` is not the first character), so a registry port is part of the name; a `@` before
/// any `:` makes everything after it the digest.
#[must_use]
pub fn split_image(image: &str) -> (&str, &str, &str) {
    let offset = match image.find('/') {
        Some(i) if i > 0 => i,
        _ => 0,
    };
    let search = &image[offset..];
    let at = search.find('@').map(|i| i + offset);
    let colon = search.find(':').map(|i| i + offset);
    match (colon, at) {
        (None, None) => (image, "", ""),
        (c, Some(a)) if c.is_none_or(|c| a < c) => (&image[..a], "", &image[a + 1..]),
        (Some(c), Some(a)) => (&image[..c], &image[c + 1..a], &image[a + 1..]),
        (Some(c), None) => (&image[..c], &image[c + 1..], ""),
        // Unreachable: `(None, Some(_))` is taken by the digest-only arm.
        (None, Some(a)) => (&image[..a], "", &image[a + 1..]),
    }
}

/// The new value of an image field holding `value`, or `None` when `entry` does not match it.
///
/// The name is replaced by `newName` if given. Then: `newTag` and `digest` both given set both;
/// `newTag` alone sets the tag and drops the digest; `digest` alone sets the digest and drops
/// the tag; otherwise `tagSuffix` is appended to the tag (possibly empty) and the digest
/// dropped. The result is `name[:tag][@digest]`, leaving out empty parts.
#[must_use]
pub fn rewrite_image(value: &str, entry: &ImageEntry) -> Option<String> {
    if !entry.matches(value) {
        return None;
    }
    let (name, tag, digest) = split_image(value);
    let name = if entry.new_name.is_empty() {
        name
    } else {
        entry.new_name.as_str()
    };
    let suffixed;
    let (tag, digest) = match (entry.new_tag.is_empty(), entry.digest.is_empty()) {
        (false, false) => (entry.new_tag.as_str(), entry.digest.as_str()),
        (false, true) => (entry.new_tag.as_str(), ""),
        (true, false) => ("", entry.digest.as_str()),
        (true, true) if !entry.tag_suffix.is_empty() => {
            suffixed = format!("{tag}{}", entry.tag_suffix);
            (suffixed.as_str(), "")
        }
        (true, true) => (tag, digest),
    };
    let mut out = String::with_capacity(name.len() + tag.len() + digest.len() + 2);
    out.push_str(name);
    if !tag.is_empty() {
        out.push(':');
        out.push_str(tag);
    }
    if !digest.is_empty() {
        out.push('@');
        out.push_str(digest);
    }
    Some(out)
}

/// Rewrites the image field `node` in place when `entry` matches its text (kustomize's
/// `SetImageValue`). The new scalar keeps the node's style and loses its tag, as kyaml's
/// setter makes it. Null scalars are matched by their text (`null`, `~` or empty), as in
/// kustomize. Returns whether the node was rewritten.
///
/// # Errors
/// [`ImageError::NotScalar`] for a sequence or mapping.
pub fn rewrite_image_node(node: &mut Node, entry: &ImageEntry) -> Result<bool, ImageError> {
    let tag = &mut node.tag;
    match &mut node.kind {
        NodeKind::Scalar(scalar) => match rewrite_image(&scalar.text, entry) {
            Some(new) => {
                scalar.text = new;
                *tag = None;
                Ok(true)
            }
            None => Ok(false),
        },
        NodeKind::Seq(_) => Err(ImageError::NotScalar {
            found: "SequenceNode",
        }),
        NodeKind::Map(_) => Err(ImageError::NotScalar {
            found: "MappingNode",
        }),
    }
}

/// kustomize's legacy image pass over one object: every value of a key `containers` or
/// `initContainers` (at any depth, deepest first, in document order) that is a sequence has the
/// `image` field of each of its mapping items rewritten with [`rewrite_image_node`].
///
/// The caller skips `CustomResourceDefinition` objects.
///
/// # Errors
/// An `image` field that is not a scalar (kustomize fails the build).
pub fn apply_legacy(node: &mut Node, entry: &ImageEntry) -> Result<(), ImageError> {
    match &mut node.kind {
        NodeKind::Scalar(_) => Ok(()),
        NodeKind::Seq(items) => items
            .iter_mut()
            .try_for_each(|item| apply_legacy(item, entry)),
        NodeKind::Map(entries) => {
            for (key, value) in entries.iter_mut() {
                apply_legacy(value, entry)?;
                if matches!(key.as_str(), Some("containers" | "initContainers"))
                    && let NodeKind::Seq(items) = &mut value.kind
                {
                    for item in items.iter_mut() {
                        if let Some(image) = item.get_mut("image") {
                            rewrite_image_node(image, entry)?;
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

/// kustomize's default `images` field specs (`api/internal/konfig/builtinpluginconsts`), for
/// every kind, in the order they are applied.
pub const DEFAULT_IMAGE_PATHS: &[&str] = &[
    "spec/containers[]/image",
    "spec/initContainers[]/image",
    "spec/template/spec/containers[]/image",
    "spec/template/spec/initContainers[]/image",
];

/// The field-spec pass for one field spec path (kustomize style, `a/b[]/c`; the caller checks
/// the spec's group/version/kind): follows the path without creating anything and rewrites the
/// field at its end with [`rewrite_image_node`]. As kustomize's field-spec filter: a missing or
/// null step ends the walk quietly; `[]` is a hint only, so a mapping where a sequence is
/// expected is walked as a mapping; every item of a sequence is followed; reaching a scalar
/// before the end of the path is an error.
///
/// # Errors
/// [`ImageError::FieldSpec`] for a scalar in the middle of the path, or a non-scalar image.
pub fn apply_field_spec(node: &mut Node, path: &str, entry: &ImageEntry) -> Result<(), ImageError> {
    let segments: Vec<&str> = path.split('/').collect();
    walk_field_spec(node, &segments, entry).map_err(|problem| match problem {
        ImageError::NotScalar { found } => ImageError::FieldSpec {
            path: path.to_owned(),
            message: format!("wrong node kind: expected ScalarNode but got {found}"),
        },
        other => other,
    })
}

fn walk_field_spec(node: &mut Node, path: &[&str], entry: &ImageEntry) -> Result<(), ImageError> {
    let Some((first, rest)) = path.split_first() else {
        return rewrite_image_node(node, entry).map(|_| ());
    };
    if node.is_null() {
        return Ok(());
    }
    match &mut node.kind {
        NodeKind::Seq(items) => items
            .iter_mut()
            .try_for_each(|item| walk_field_spec(item, path, entry)),
        NodeKind::Map(_) => {
            let name = first.strip_suffix("[]").unwrap_or(first);
            if name.is_empty() {
                return Err(ImageError::FieldSpec {
                    path: path.join("/"),
                    message: "cannot set or create an empty field name".to_owned(),
                });
            }
            match node.get_mut(name) {
                Some(field) => walk_field_spec(field, rest, entry),
                None => Ok(()),
            }
        }
        NodeKind::Scalar(_) => Err(ImageError::FieldSpec {
            path: path.join("/"),
            message: "expected sequence or mapping node".to_owned(),
        }),
    }
}

/// The whole `images:` transformer on one object with kustomize's default field specs: for
/// each entry in order, [`apply_legacy`] then [`apply_field_spec`] for each of
/// [`DEFAULT_IMAGE_PATHS`]. `CustomResourceDefinition` objects are left alone.
///
/// # Errors
/// As [`apply_legacy`] and [`apply_field_spec`].
pub fn apply_images(node: &mut Node, entries: &[ImageEntry]) -> Result<(), ImageError> {
    if node.field_str("kind") == Some("CustomResourceDefinition") {
        return Ok(());
    }
    for entry in entries {
        apply_legacy(node, entry)?;
        for path in DEFAULT_IMAGE_PATHS {
            apply_field_spec(node, path, entry)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Expected outputs were checked against `kubectl kustomize` (kustomize v5.5.0) on probe
    //! directories holding the same inputs.

    use super::*;
    use crate::yaml::emit::emit_node;
    use crate::yaml::parse_one;

    fn parse(text: &str) -> Node {
        parse_one(text).expect("valid yaml").expect("one document")
    }

    fn entries(text: &str) -> Vec<ImageEntry> {
        parse(text)
            .as_seq()
            .expect("sequence")
            .iter()
            .map(|n| ImageEntry::from_node(n).expect("valid entry"))
            .collect()
    }

    fn entry(name: &str, new_name: &str, new_tag: &str, digest: &str, suffix: &str) -> ImageEntry {
        ImageEntry::new(name, new_name, new_tag, digest, suffix).expect("valid")
    }

    const ENTRIES: &str = r#"
- name: nginx
  tagSuffix: -suf
- name: redis
  newName: my.reg:5000/redis
  newTag: "7"
- name: my.reg:5000/redis
  digest: sha256:abc
- name: busybox
  newTag: "1.0"
  digest: sha256:def
- name: a.b
  newName: replaced
"#;

    #[test]
    fn pod_both_passes_chained_entries() {
        let mut pod = parse(
            r#"apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: a
    image: nginx:1.2
  - name: b
    image: redis@sha256:xyz
  - name: c
    image: busybox:old@sha256:zzz
  - name: d
  - name: e
    image: aXb:3
  - name: f
    image: "ab"
  initContainers:
  - name: g
    image: nginx
"#,
        );
        apply_images(&mut pod, &entries(ENTRIES)).expect("applies");
        assert_eq!(
            emit_node(&pod),
            r#"apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - image: nginx:1.2-suf-suf
    name: a
  - image: my.reg:5000/redis@sha256:abc
    name: b
  - image: busybox:1.0@sha256:def
    name: c
  - name: d
  - image: replaced:3
    name: e
  - image: ab
    name: f
  initContainers:
  - image: nginx:-suf-suf
    name: g
"#
        );
    }

    #[test]
    fn custom_resource_legacy_pass_any_depth_and_crd_skipped() {
        let mut foo = parse(
            r#"apiVersion: example.com/v1
kind: Foo
metadata:
  name: f
spec:
  deep:
    containers:
    - image: nginx:1
    - image: ~
    other:
      initContainers:
        - image: redis
  template:
    spec:
      containers:
      - image: busybox
"#,
        );
        apply_images(&mut foo, &entries(ENTRIES)).expect("applies");
        assert_eq!(
            emit_node(&foo),
            r#"apiVersion: example.com/v1
kind: Foo
metadata:
  name: f
spec:
  deep:
    containers:
    - image: nginx:1-suf
    - image: null
    other:
      initContainers:
      - image: my.reg:5000/redis@sha256:abc
  template:
    spec:
      containers:
      - image: busybox:1.0@sha256:def
"#
        );
        let crd_text = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: c\nspec:\n  containers:\n  - image: nginx\n";
        let mut crd = parse(crd_text);
        apply_images(&mut crd, &entries(ENTRIES)).expect("applies");
        assert_eq!(emit_node(&crd), crd_text);
    }

    #[test]
    fn non_scalar_image_fails() {
        let mut obj = parse("kind: Foo\nspec:\n  x:\n    containers:\n    - image: {x: 1}\n");
        assert_eq!(
            apply_images(&mut obj, &entries(ENTRIES)),
            Err(ImageError::NotScalar {
                found: "MappingNode"
            })
        );
    }

    #[test]
    fn entry_decoding() {
        // `Name`/`NEWTAG` match ignoring case; quoted styles are kept, tags dropped.
        let e = entries("- Name: nginx\n  NEWTAG: \"true\"\n  newName: \"1\"\n");
        let mut dep = parse(
            "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n      - name: b\n        image: \"nginx\"\n",
        );
        apply_images(&mut dep, &e).expect("applies");
        assert_eq!(
            emit_node(&dep),
            "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n      - image: 1:true\n        name: b\n"
        );
        let err = |text: &str| {
            ImageEntry::from_node(&parse(text))
                .expect_err("fails")
                .to_string()
        };
        assert_eq!(
            err("name: nginx\nnewTag: 1.0\n"),
            "invalid Kustomization: json: cannot unmarshal number into Go struct field Image.images.newTag of type string"
        );
        assert_eq!(
            err("name: nginx\nbogus: x\n"),
            "invalid Kustomization: json: unknown field \"bogus\""
        );
        assert!(matches!(
            ImageEntry::from_node(&parse("name: ngi(nx\n")),
            Err(ImageError::InvalidName { .. })
        ));
        // Go's regexp takes a brace that starts no repetition literally.
        let braces = entry("${IMAGE}", "", "2", "", "");
        assert_eq!(rewrite_image("${IMAGE}", &braces), None);
        let literal = entry("img{x}", "", "2", "", "");
        assert_eq!(
            rewrite_image("img{x}:1", &literal).as_deref(),
            Some("img{x}:2")
        );
        let repeat = entry("ab{2}", "", "2", "", "");
        assert_eq!(rewrite_image("abb", &repeat).as_deref(), Some("abb:2"));
        // `.` is a wildcard, as in kustomize.
        let dot = entry("a.b", "c", "", "", "");
        assert_eq!(rewrite_image("aXb:3", &dot).as_deref(), Some("c:3"));
    }

    #[test]
    fn split() {
        assert_eq!(split_image("nginx"), ("nginx", "", ""));
        assert_eq!(split_image("nginx:1.2"), ("nginx", "1.2", ""));
        assert_eq!(split_image("nginx@sha256:abc"), ("nginx", "", "sha256:abc"));
        assert_eq!(
            split_image("nginx:1@sha256:abc"),
            ("nginx", "1", "sha256:abc")
        );
        assert_eq!(split_image("reg:5000/a/b"), ("reg:5000/a/b", "", ""));
        assert_eq!(
            split_image("reg:5000/a/b:t"),
            ("reg:5000/a/b:t".split_at(12).0, "t", "")
        );
        assert_eq!(split_image("/x:1"), ("/x", "1", ""));
        assert_eq!(split_image("reg:5000"), ("reg", "5000", ""));
    }

    #[test]
    fn rewrite_rules() {
        let tag = entry("nginx", "", "2", "", "");
        assert_eq!(
            rewrite_image("nginx:1@sha256:x", &tag).as_deref(),
            Some("nginx:2")
        );
        assert_eq!(rewrite_image("nginx2", &tag), None);
        assert_eq!(rewrite_image("docker.io/nginx", &tag), None);
        assert_eq!(rewrite_image("nginx@sha512:x", &tag), None);
        let keep = entry("nginx", "other", "", "", "");
        assert_eq!(
            rewrite_image("nginx:1@sha256:x", &keep).as_deref(),
            Some("other:1@sha256:x")
        );
        let suffix = entry("nginx", "", "", "", "-s");
        assert_eq!(
            rewrite_image("nginx:1@sha256:x", &suffix).as_deref(),
            Some("nginx:1-s")
        );
        let digest_wins_over_suffix = entry("nginx", "", "", "sha256:d", "-s");
        assert_eq!(
            rewrite_image("nginx:1", &digest_wins_over_suffix).as_deref(),
            Some("nginx@sha256:d")
        );
    }

    #[test]
    fn field_spec_walk_errors_on_scalar_step() {
        let mut obj = parse("kind: Foo\nspec: text\n");
        assert!(matches!(
            apply_images(&mut obj, &[entry("nginx", "", "2", "", "")]),
            Err(ImageError::FieldSpec { .. })
        ));
        let mut null_spec = parse("kind: Foo\nspec: null\n");
        assert_eq!(
            apply_images(&mut null_spec, &[entry("nginx", "", "2", "", "")]),
            Ok(())
        );
    }
}
