//! Strategic-merge patches exactly as kustomize v5.5.0 applies them (`patchesStrategicMerge`, and
//! `patches` entries that are not JSON6902 op lists).
//!
//! kustomize does not use apimachinery's `strategicpatch` here but kyaml's `merge2` walker, which
//! has its own, sometimes surprising, rules. This module reproduces them:
//! - maps are merged key by key (every key of the target and the patch, target or patch alone);
//!   a `null` patch value removes the key; a target value that is an empty null (`key:`) is
//!   dropped by any patch while `~`/`null` are kept;
//! - `$patch: delete` / `replace` / `merge` on maps, and as a one-key element of lists that merge
//!   (elsewhere `$patch` is an ordinary key or element); `$patch: delete` at the top deletes the
//!   resource. `$setElementOrder/…`, `$retainKeys`, `$deleteFromPrimitiveList/…` are NOT
//!   directives to kyaml: they are copied like any other key, as kustomize does;
//! - lists merge only where the schema says `x-kubernetes-patch-strategy: merge` (keys from
//!   `x-kubernetes-list-map-keys`, else `x-kubernetes-patch-merge-key`; none = list of
//!   primitives, e.g. `finalizers`); every other list (and every list of a kind without schema,
//!   e.g. a CRD) is replaced by the patch's. kyaml's key inference is off in this walker;
//! - merged lists put the patch's elements first (in patch order), then the target's others;
//!   elements are matched by the text of their keys, all target lists that merge are
//!   normalised (duplicates collapse, empty elements go) even where the patch does not touch them.
//!
//! Schemas come from a [`SchemaLookup`]: [`BuiltinSchemas`] is kyaml's built-in Kubernetes
//! v1.21.2 schema ([`super::smp_schema`]); a caller can wrap it to add kinds (`openapi:`,
//! `crds:`), which is not implemented yet. As in kyaml, a mapping with no schema that has
//! `apiVersion` and `kind` of a known type takes that type's schema.
//!
//! It does not own choosing targets (the caller selects them, and for `patches` with a target
//! sets the patch's `apiVersion`/`kind` first), nor parsing patches.

use crate::render::resource::{Gvk, Resource};
use crate::render::smp_schema::{NODES, NONE, RESOURCES, SchemaNode};
use crate::yaml::{Node, NodeKind, ScalarStyle};

/// What a strategic-merge patch did to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmpOutcome {
    /// The target was patched in place.
    Patched,
    /// The patch deleted the target (`$patch: delete` at the top, or nothing left): the caller
    /// removes the resource. The target node is left as an empty mapping.
    Deleted,
}

/// Why a strategic-merge patch could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmpError {
    /// The target and the patch disagree on the kind of a node (kyaml's "wrong node kind").
    #[error("wrong node kind at `{path}`: expected a {expected} but got a {found}")]
    WrongKind {
        /// Dotted path of the node (empty at the top).
        path: String,
        /// `mapping`, `sequence` or `scalar`: the kind of the first non-null side.
        expected: &'static str,
        /// The other side's kind.
        found: &'static str,
    },
    /// A `$patch` directive with a value other than `delete`, `replace` or `merge`.
    #[error("unknown patch strategy '{value}' at `{path}`")]
    UnknownDirective {
        /// Dotted path of the mapping or list holding the directive.
        path: String,
        /// The directive's value.
        value: String,
    },
}

/// An opaque handle on a schema node of a [`SchemaLookup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaId(pub u32);

/// The parts of an OpenAPI schema the walker reads (kyaml's `openapi.ResourceSchema`).
pub trait SchemaLookup {
    /// The schema of a resource type, by `apiVersion` and `kind`.
    fn resource(&self, api_version: &str, kind: &str) -> Option<SchemaId>;
    /// The schema of a field of an object (a property, else `additionalProperties`).
    fn field(&self, schema: SchemaId, name: &str) -> Option<SchemaId>;
    /// The schema of an array's items.
    fn elements(&self, schema: SchemaId) -> Option<SchemaId>;
    /// For an array whose patch strategy includes `merge`, its merge keys (empty for a list of
    /// primitives); `None` for anything else.
    fn merge_keys(&self, schema: SchemaId) -> Option<Vec<String>>;
}

/// kyaml's built-in schema: Kubernetes v1.21.2, as compiled into kustomize v5.5.0.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltinSchemas;

impl BuiltinSchemas {
    fn node(schema: SchemaId) -> Option<&'static SchemaNode> {
        NODES.get(usize::try_from(schema.0).ok()?)
    }
}

fn builtin_ref(index: u16) -> Option<SchemaId> {
    (index != NONE).then_some(SchemaId(u32::from(index)))
}

impl SchemaLookup for BuiltinSchemas {
    fn resource(&self, api_version: &str, kind: &str) -> Option<SchemaId> {
        let i = RESOURCES
            .binary_search_by(|(av, k, _)| (*av, *k).cmp(&(api_version, kind)))
            .ok()?;
        RESOURCES.get(i).and_then(|(_, _, n)| builtin_ref(*n))
    }

    fn field(&self, schema: SchemaId, name: &str) -> Option<SchemaId> {
        match Self::node(schema)? {
            SchemaNode::Object(fields, additional) => {
                match fields.binary_search_by(|(f, _)| (*f).cmp(name)) {
                    Ok(i) => fields.get(i).and_then(|(_, n)| builtin_ref(*n)),
                    Err(_) => builtin_ref(*additional),
                }
            }
            SchemaNode::Leaf | SchemaNode::MergeArray(..) => None,
        }
    }

    fn elements(&self, schema: SchemaId) -> Option<SchemaId> {
        match Self::node(schema)? {
            SchemaNode::MergeArray(_, items) => builtin_ref(*items),
            _ => None,
        }
    }

    fn merge_keys(&self, schema: SchemaId) -> Option<Vec<String>> {
        match Self::node(schema)? {
            SchemaNode::MergeArray(keys, _) => Some(keys.iter().map(|k| (*k).to_owned()).collect()),
            _ => None,
        }
    }
}

/// Applies the strategic-merge `patch` to `target`, a resource of type `gvk`, with the built-in
/// schemas. The patch may contain `<<` merge keys (they are applied on a copy).
///
/// # Errors
/// [`SmpError`] when the two disagree on a node's kind or a `$patch` value is unknown; the
/// target is then unspecified (kustomize fails the build).
pub fn apply_strategic_merge(
    target: &mut Node,
    patch: &Node,
    gvk: &Gvk,
) -> Result<SmpOutcome, SmpError> {
    apply_strategic_merge_with(target, patch, gvk, &BuiltinSchemas)
}

/// [`apply_strategic_merge`] with the caller's schemas.
///
/// # Errors
/// As [`apply_strategic_merge`].
pub fn apply_strategic_merge_with(
    target: &mut Node,
    patch: &Node,
    gvk: &Gvk,
    schemas: &dyn SchemaLookup,
) -> Result<SmpOutcome, SmpError> {
    let mut patch = patch.clone();
    patch.deanchor();
    // kustomize keeps the target object and only sees changes made to it in place: when the
    // walk's result is the patch's node (`$patch: replace` at the top) the target is unchanged.
    let original = first_field(&patch, DIRECTIVE_KEY).map(|_| target.clone());
    let dest = std::mem::replace(target, Node::map());
    let mut walker = Walker {
        schemas,
        path: Vec::new(),
    };
    let schema = schemas.resource(&gvk.api_version(), &gvk.kind);
    let walked = walker.walk(Some(dest), Src::Node(Some(patch)), schema)?;
    match walked.node {
        Some(node) if !node.is_null() && !is_empty_map(&node) => {
            *target = match original {
                Some(original) if !walked.is_dest => original,
                _ => node,
            };
            Ok(SmpOutcome::Patched)
        }
        _ => Ok(SmpOutcome::Deleted),
    }
}

/// kustomize's `Resource.ApplySmPatch`: applies `patch` to `res`, then puts back the kind and
/// name (unless the patch's `options` allow changing them; the id is then remembered as a
/// previous id first) and the namespace.
///
/// # Errors
/// As [`apply_strategic_merge`].
pub fn apply_sm_patch_to_resource(
    res: &mut Resource,
    patch: &Node,
    allow_name_change: bool,
    allow_kind_change: bool,
    schemas: &dyn SchemaLookup,
) -> Result<SmpOutcome, SmpError> {
    let (name, namespace, kind) = (
        res.name().to_owned(),
        res.namespace().to_owned(),
        res.kind().to_owned(),
    );
    if allow_name_change || allow_kind_change {
        res.store_previous_id();
    }
    let gvk = res.gvk();
    let outcome = apply_strategic_merge_with(&mut res.node, patch, &gvk, schemas)?;
    if outcome == SmpOutcome::Deleted {
        return Ok(outcome);
    }
    if !allow_kind_change {
        set_scalar_keep_style(&mut res.node, "kind", &kind);
    }
    if !allow_name_change {
        set_scalar_keep_style(res.node.map_entry("metadata"), "name", &name);
    }
    if namespace.is_empty() {
        if let Some(meta) = res.node.get_mut("metadata") {
            meta.remove("namespace");
        }
    } else {
        set_scalar_keep_style(res.node.map_entry("metadata"), "namespace", &namespace);
    }
    Ok(outcome)
}

/// kyaml's `SetMapField(NewScalarRNode(text))`: an untagged scalar that keeps the style of the
/// value it replaces (a new one is double-quoted, which reads the same for these fields).
fn set_scalar_keep_style(map: &mut Node, key: &str, text: &str) {
    if let Some(old) = map.get_mut(key) {
        if old.as_str() == Some(text) && old.tag.is_none() {
            return;
        }
        let style = old.as_scalar().map_or(ScalarStyle::Plain, |s| s.style);
        *old = Node::scalar(text, style);
    } else {
        map.set(key, Node::string(text));
    }
}

/// The second source of a walk: the patch's node, or the target's own node when kyaml merges a
/// node with itself (after `$patch: replace`, or when the target had nothing there).
enum Src {
    Node(Option<Node>),
    SameAsDest,
}

/// What a walk produced.
struct Walked {
    /// The new value; `None` removes it.
    node: Option<Node>,
    /// A null kept on purpose (kyaml's `ShouldKeep`: a `~`/`null` of the target not touched).
    keep_null: bool,
    /// Whether `node` is the target's node merged in place (so it replaces the target's element
    /// in a list), rather than the patch's.
    is_dest: bool,
}

impl Walked {
    fn new(node: Option<Node>, is_dest: bool) -> Walked {
        Walked {
            node,
            keep_null: false,
            is_dest,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Directive {
    Merge,
    Replace,
    Delete,
}

const DIRECTIVE_KEY: &str = "$patch";

struct Walker<'s> {
    schemas: &'s dyn SchemaLookup,
    path: Vec<String>,
}

/// Whether kyaml sees no node: missing, or a scalar tagged null.
fn missing_or_null(node: Option<&Node>) -> bool {
    node.is_none_or(Node::is_null)
}

fn is_empty_map(node: &Node) -> bool {
    node.as_map().is_some_and(<[_]>::is_empty)
}

/// kyaml's `IsNilOrEmpty` of a value: null, empty mapping or empty sequence.
fn is_nil_or_empty(node: &Node) -> bool {
    node.is_null() || is_empty_map(node) || node.as_seq().is_some_and(<[_]>::is_empty)
}

/// A node's `Value` in go-yaml: a scalar's text, empty for collections.
fn text(node: &Node) -> &str {
    node.as_str().unwrap_or("")
}

fn first_field<'n>(map: &'n Node, key: &str) -> Option<&'n Node> {
    map.as_map()?
        .iter()
        .find(|(k, _)| text(k) == key)
        .map(|(_, v)| v)
}

impl Walker<'_> {
    fn path(&self) -> String {
        self.path.join(".")
    }

    fn wrong_kind(&self, expected: &Node, found: &Node) -> SmpError {
        SmpError::WrongKind {
            path: self.path(),
            expected: expected.kind_name(),
            found: found.kind_name(),
        }
    }

    /// kyaml `Walker.Walk`.
    fn walk(
        &mut self,
        dest: Option<Node>,
        origin: Src,
        schema: Option<SchemaId>,
    ) -> Result<Walked, SmpError> {
        let origin_ref = match &origin {
            Src::Node(o) => o.as_ref(),
            Src::SameAsDest => dest.as_ref(),
        };
        let schema = schema.or_else(|| self.schema_from_meta(dest.as_ref(), origin_ref));
        // The kind is that of the first non-null source; every other non-null one must match.
        let first = [dest.as_ref(), origin_ref]
            .into_iter()
            .flatten()
            .find(|n| !n.is_null());
        if let Some(first) = first {
            for other in [dest.as_ref(), origin_ref].into_iter().flatten() {
                if !other.is_null()
                    && std::mem::discriminant(&other.kind) != std::mem::discriminant(&first.kind)
                {
                    return Err(self.wrong_kind(first, other));
                }
            }
        }
        match first.map(|n| &n.kind) {
            Some(NodeKind::Scalar(_)) => Ok(match origin {
                Src::Node(Some(o)) => Walked::new(Some(o), false),
                _ => Walked::new(dest, true),
            }),
            Some(NodeKind::Seq(_)) => self.walk_seq(dest, origin, schema),
            Some(NodeKind::Map(_)) | None => self.walk_map(dest, origin, schema),
        }
    }

    /// kyaml `GetSchema` without a schema from the parent: the first source that is a mapping
    /// with a non-empty `apiVersion` and `kind` of a known type.
    fn schema_from_meta(&self, dest: Option<&Node>, origin: Option<&Node>) -> Option<SchemaId> {
        [dest, origin].into_iter().flatten().find_map(|n| {
            if !n.is_map() || n.is_null() {
                return None;
            }
            let meta = |key| {
                first_field(n, key)
                    .filter(|v| !is_nil_or_empty(v))
                    .map_or("", text)
            };
            let (api_version, kind) = (meta("apiVersion"), meta("kind"));
            if api_version.is_empty() || kind.is_empty() {
                return None;
            }
            self.schemas.resource(api_version, kind)
        })
    }

    /// The directive of a patch mapping, removed from it when recognised.
    fn map_directive(&self, patch: &mut Node) -> Result<Directive, SmpError> {
        let Some(entries) = patch.as_map_mut() else {
            return Ok(Directive::Merge);
        };
        let Some(i) = entries.iter().position(|(k, _)| text(k) == DIRECTIVE_KEY) else {
            return Ok(Directive::Merge);
        };
        let value = entries.get(i).map_or("", |(_, v)| text(v));
        let directive = parse_directive(value).ok_or_else(|| SmpError::UnknownDirective {
            path: self.path(),
            value: value.to_owned(),
        })?;
        entries.remove(i);
        Ok(directive)
    }

    /// The directive of a patch list: its first mapping element with a `$patch` key, if that is
    /// the element's only key; the elements holding that directive are then removed.
    fn seq_directive(&self, patch: &mut Node) -> Result<Directive, SmpError> {
        let Some(items) = patch.as_seq_mut() else {
            return Ok(Directive::Merge);
        };
        let Some(elem) = items
            .iter()
            .find(|e| e.is_map() && first_field(e, DIRECTIVE_KEY).is_some())
        else {
            return Ok(Directive::Merge);
        };
        if elem.as_map().is_some_and(|m| m.len() > 1) {
            return Ok(Directive::Merge);
        }
        let value = first_field(elem, DIRECTIVE_KEY).map_or("", text).to_owned();
        let directive = parse_directive(&value).ok_or_else(|| SmpError::UnknownDirective {
            path: self.path(),
            value: value.clone(),
        })?;
        self.element_setter(items, None, &[DIRECTIVE_KEY.to_owned()], &[value])?;
        Ok(directive)
    }

    /// kyaml `walkMap` with merge2's `VisitMap`.
    fn walk_map(
        &mut self,
        dest: Option<Node>,
        mut origin: Src,
        schema: Option<SchemaId>,
    ) -> Result<Walked, SmpError> {
        let mut is_dest = true;
        let mut dest = dest;
        if missing_or_null(dest.as_ref()) {
            match &mut origin {
                Src::Node(o) => {
                    // The directive's error is ignored here, as kyaml does.
                    let directive = match o.as_mut() {
                        Some(o) => self.map_directive(o).unwrap_or(Directive::Merge),
                        None => Directive::Merge,
                    };
                    if directive == Directive::Delete {
                        return Ok(Walked::new(None, false));
                    }
                    if o.is_none() {
                        if let Some(d) = dest.take()
                            && !text(&d).is_empty()
                        {
                            return Ok(Walked {
                                node: Some(d),
                                keep_null: true,
                                is_dest: true,
                            });
                        }
                        return Ok(Walked::new(None, false));
                    }
                    dest = o.take();
                    origin = Src::SameAsDest;
                    is_dest = false;
                }
                Src::SameAsDest => {
                    if let Some(d) = dest.as_mut() {
                        let directive = self.map_directive(d).unwrap_or(Directive::Merge);
                        if directive == Directive::Delete {
                            return Ok(Walked::new(None, false));
                        }
                    }
                }
            }
        } else {
            let directive = match &mut origin {
                Src::Node(None) => Directive::Merge,
                Src::Node(Some(o)) if o.is_null() => return Ok(Walked::new(None, false)),
                Src::Node(Some(o)) => self.map_directive(o)?,
                Src::SameAsDest => match dest.as_mut() {
                    Some(d) => self.map_directive(d)?,
                    None => Directive::Merge,
                },
            };
            match directive {
                Directive::Delete => return Ok(Walked::new(None, false)),
                Directive::Replace => {
                    if let Src::Node(o) = &mut origin {
                        dest = o.take();
                        origin = Src::SameAsDest;
                        is_dest = false;
                    }
                }
                Directive::Merge => {}
            }
        }
        let Some(mut dest) = dest else {
            return Ok(Walked::new(None, false));
        };
        if !dest.is_map() {
            // A null: it has no fields.
            return Ok(Walked::new(Some(dest), is_dest));
        }

        // Every key of either side, sorted (kyaml's `fieldNames`).
        let mut keys: Vec<String> = Vec::new();
        for source in [Some(&dest), origin_node(&origin)].into_iter().flatten() {
            if let Some(entries) = source.as_map() {
                keys.extend(entries.iter().map(|(k, _)| text(k).to_owned()));
            }
        }
        keys.sort_unstable();
        keys.dedup();

        for key in keys {
            let child_schema = schema.and_then(|s| self.schemas.field(s, &key));
            let dest_child = take_field(&mut dest, &key);
            let origin_child = match &mut origin {
                Src::Node(o) => Src::Node(o.as_mut().and_then(|o| take_field(o, &key))),
                Src::SameAsDest => Src::SameAsDest,
            };
            self.path.push(key.clone());
            let walked = self.walk(dest_child, origin_child, child_schema)?;
            self.path.pop();
            set_field(&mut dest, &key, walked);
        }
        Ok(Walked::new(Some(dest), is_dest))
    }

    /// kyaml's sequence walk with merge2's `VisitList`.
    fn walk_seq(
        &mut self,
        dest: Option<Node>,
        mut origin: Src,
        schema: Option<SchemaId>,
    ) -> Result<Walked, SmpError> {
        let keys = schema.and_then(|s| self.schemas.merge_keys(s));
        let Some(keys) = keys else {
            // Not associative: the patch's list (or null) replaces the target's.
            return Ok(match origin {
                Src::Node(Some(o)) => Walked::new(Some(o), false),
                _ => Walked::new(dest, true),
            });
        };
        let mut dest = dest;
        if missing_or_null(dest.as_ref()) {
            if let Src::Node(o) = &mut origin {
                dest = o.take();
                origin = Src::SameAsDest;
            }
        } else {
            let directive = match &mut origin {
                Src::Node(None) => Directive::Merge,
                Src::Node(Some(o)) if o.is_null() => return Ok(Walked::new(None, false)),
                Src::Node(Some(o)) => self.seq_directive(o)?,
                Src::SameAsDest => match dest.as_mut() {
                    Some(d) => self.seq_directive(d)?,
                    None => Directive::Merge,
                },
            };
            match directive {
                Directive::Delete => return Ok(Walked::new(None, false)),
                Directive::Replace => {
                    if let Src::Node(o) = &mut origin {
                        dest = o.take();
                        origin = Src::SameAsDest;
                    }
                }
                Directive::Merge => {}
            }
        }
        let Some(dest) = dest else {
            return Ok(Walked::new(None, false));
        };
        let NodeKind::Seq(mut dest_items) = dest.kind else {
            // A null target with a null patch.
            return Ok(Walked::new(Some(dest), false));
        };
        let mut origin_items = match origin {
            Src::Node(Some(Node {
                kind: NodeKind::Seq(items),
                ..
            })) => Some(items),
            Src::Node(_) => Some(Vec::new()),
            Src::SameAsDest => None,
        };
        let element_schema = schema.and_then(|s| self.schemas.elements(s));

        // Key values of every element, patch first, then target (kustomize merges with
        // `ListIncreaseDirection: prepend`).
        let mut values_list: Vec<Vec<String>> = Vec::new();
        let keyed = !keys.is_empty();
        {
            let origin_list: &[Node] = origin_items.as_deref().unwrap_or(&dest_items);
            for list in [origin_list, dest_items.as_slice()] {
                for item in list {
                    let values: Vec<String> = if keyed {
                        keys.iter()
                            .map(|k| {
                                if !item.is_map() {
                                    return String::new();
                                }
                                first_field(item, k)
                                    .filter(|v| !is_nil_or_empty(v))
                                    .map_or_else(String::new, |v| text(v).to_owned())
                            })
                            .collect()
                    } else {
                        vec![text(item).to_owned()]
                    };
                    if !values_list.contains(&values) {
                        values_list.push(values);
                    }
                }
            }
        }
        let keys = if keyed { keys } else { vec![String::new()] };
        let items = self.set_associative_elements(
            values_list,
            &keys,
            dest_items.as_mut(),
            origin_items.as_mut(),
            element_schema,
        )?;
        let node = match items {
            Some(items) => Node::seq(items),
            None => Node::seq(dest_items),
        };
        Ok(Walked::new(Some(node), false))
    }

    /// kyaml `setAssociativeSequenceElements` in prepend mode. `origin` is `None` when the list is
    /// merged with itself. Returns the new items, or `None` when there were no elements at all
    /// (the target's list is kept).
    fn set_associative_elements(
        &mut self,
        mut values_list: Vec<Vec<String>>,
        keys: &[String],
        dest: &mut Vec<Node>,
        origin: Option<&mut Vec<Node>>,
        schema: Option<SchemaId>,
    ) -> Result<Option<Vec<Node>>, SmpError> {
        if keys.len() > 1 {
            merge_values(&mut values_list);
        }
        let mut items: Vec<Node> = Vec::new();
        let mut valid_keys: Vec<String> = Vec::new();
        for values in &values_list {
            if values.is_empty() {
                continue;
            }
            let valid_values;
            (valid_keys, valid_values) = validate_keys(&values_list, values, keys);
            let (match_keys, match_values) = validate_keys(
                std::slice::from_ref(&valid_values),
                &valid_values,
                &valid_keys,
            );
            let dest_index = element_list(dest, &match_keys, &match_values);
            let origin_src = match origin.as_deref() {
                Some(list) => Src::Node(
                    element_list(list, &match_keys, &match_values)
                        .and_then(|i| list.get(i))
                        .cloned(),
                ),
                None => Src::SameAsDest,
            };
            let dest_elem = dest_index.and_then(|i| dest.get(i)).cloned();
            let walked = self.walk(dest_elem, origin_src, schema)?;
            let mut val = walked.node;
            let mut deleted = false;
            for (i, key) in valid_keys.iter().enumerate() {
                let value = valid_values.get(i).map_or("", String::as_str);
                match val.as_mut() {
                    Some(v) if !v.is_null() && !is_empty_map(v) => {
                        let has_field = v.is_map() && first_field(v, key).is_some();
                        if !has_field && !value.is_empty() {
                            self.set_key_field(v, key, value)?;
                        }
                    }
                    _ => {
                        self.element_setter(dest, None, &valid_keys, &valid_values)?;
                        deleted = true;
                    }
                }
            }
            if deleted {
                continue;
            }
            let Some(val) = val else { continue };
            if walked.is_dest
                && let Some(slot) = dest_index.and_then(|i| dest.get_mut(i))
            {
                *slot = val.clone();
            }
            self.element_setter(&mut items, Some(val), &valid_keys, &valid_values)?;
        }
        if values_list.is_empty() {
            return Ok(None);
        }
        self.append_list_node(&mut items, dest, &valid_keys)?;
        Ok(Some(items))
    }

    /// kyaml `SetField(key, NewScalarRNode(value))` on a merged element that lacks its key.
    fn set_key_field(&self, val: &mut Node, key: &str, value: &str) -> Result<(), SmpError> {
        if key.is_empty() {
            // Setting the "field" of a scalar replaces its value, keeping its style.
            let Some(scalar) = val.as_scalar() else {
                return Err(SmpError::WrongKind {
                    path: self.path(),
                    expected: "scalar",
                    found: val.kind_name(),
                });
            };
            *val = Node::scalar(value, scalar.style);
            return Ok(());
        }
        let Some(entries) = val.as_map_mut() else {
            return Err(SmpError::WrongKind {
                path: self.path(),
                expected: "mapping",
                found: val.kind_name(),
            });
        };
        entries.push((Node::plain(key), Node::plain(value)));
        Ok(())
    }

    /// kyaml `appendListNode(items, dest, keys)`: each target element replaces the element with
    /// the same key values in `items`, or is appended.
    fn append_list_node(
        &self,
        items: &mut Vec<Node>,
        dest: &[Node],
        keys: &[String],
    ) -> Result<(), SmpError> {
        for elem in dest {
            if keys.first().is_none_or(String::is_empty) {
                let value = text(elem).to_owned();
                self.element_setter(items, Some(elem.clone()), &[String::new()], &[value])?;
                continue;
            }
            let mut values = Vec::with_capacity(keys.len());
            for key in keys {
                if elem.is_null() {
                    items.push(elem.clone());
                    continue;
                }
                if !elem.is_map() {
                    return Err(SmpError::WrongKind {
                        path: self.path(),
                        expected: "mapping",
                        found: elem.kind_name(),
                    });
                }
                match first_field(elem, key) {
                    Some(v) => values.push(text(v).to_owned()),
                    None => items.push(elem.clone()),
                }
            }
            if keys.len() > 1 {
                self.element_setter(items, None, keys, &values)?;
            }
            self.element_setter(items, Some(elem.clone()), keys, &values)?;
        }
        Ok(())
    }

    /// kyaml `ElementSetter`: replaces (or with `element` `None`, removes) every element whose
    /// `keys` have `values`, appending `element` when none did. On the way it drops null and
    /// empty-mapping elements, and elements that do not match when `values` is empty.
    fn element_setter(
        &self,
        list: &mut Vec<Node>,
        element: Option<Node>,
        keys: &[String],
        values: &[String],
    ) -> Result<(), SmpError> {
        let default_keys = [String::new()];
        let keys = if keys.is_empty() {
            &default_keys[..]
        } else {
            keys
        };
        let mapping_setter = keys.first().is_some_and(|k| !k.is_empty())
            && values.first().is_some_and(|v| !v.is_empty());
        let mut kept = Vec::with_capacity(list.len() + 1);
        let mut found = false;
        for elem in list.drain(..) {
            if elem.is_null() || is_empty_map(&elem) {
                continue;
            }
            if !elem.is_map() && mapping_setter {
                kept.push(elem);
                continue;
            }
            let mut matched = false;
            let mut all = true;
            for (j, key) in keys.iter().enumerate() {
                if let Some(value) = values.get(j) {
                    matched = self.field_matches(&elem, key, value)?;
                }
                if !matched {
                    all = false;
                    break;
                }
            }
            if !all {
                if !values.is_empty() {
                    kept.push(elem);
                }
                continue;
            }
            found = true;
            if let Some(e) = &element {
                kept.push(e.clone());
            }
        }
        *list = kept;
        if let Some(e) = element
            && !e.is_null()
            && !found
        {
            list.push(e);
        }
        Ok(())
    }

    /// kyaml `FieldMatcher{Name, StringValue}` on a list element: whether `elem` has the field
    /// (with that text, unless `value` is empty); with an empty name, whether the scalar's text
    /// is `value`.
    fn field_matches(&self, elem: &Node, name: &str, value: &str) -> Result<bool, SmpError> {
        if elem.is_null() {
            return Ok(false);
        }
        if name.is_empty() {
            if elem.as_scalar().is_none() {
                return Err(SmpError::WrongKind {
                    path: self.path(),
                    expected: "scalar",
                    found: elem.kind_name(),
                });
            }
            return Ok(text(elem) == value);
        }
        if !elem.is_map() {
            return Err(SmpError::WrongKind {
                path: self.path(),
                expected: "mapping",
                found: elem.kind_name(),
            });
        }
        Ok(first_field(elem, name).is_some_and(|v| value.is_empty() || text(v) == value))
    }
}

fn origin_node(origin: &Src) -> Option<&Node> {
    match origin {
        Src::Node(o) => o.as_ref(),
        Src::SameAsDest => None,
    }
}

fn parse_directive(value: &str) -> Option<Directive> {
    match value {
        "delete" => Some(Directive::Delete),
        "replace" => Some(Directive::Replace),
        "merge" => Some(Directive::Merge),
        _ => None,
    }
}

/// Takes the value of the first entry `key` out of a mapping, leaving a placeholder in place
/// (so that [`set_field`] keeps the entry's position).
fn take_field(map: &mut Node, key: &str) -> Option<Node> {
    map.as_map_mut()?
        .iter_mut()
        .find(|(k, _)| text(k) == key)
        .map(|(_, v)| std::mem::replace(v, Node::null()))
}

/// kyaml `FieldSetter`: removes the first entry `key` when the value is gone (or a null not kept
/// on purpose), else sets it in place or appends it.
fn set_field(map: &mut Node, key: &str, walked: Walked) {
    let Some(entries) = map.as_map_mut() else {
        return;
    };
    let position = entries.iter().position(|(k, _)| text(k) == key);
    match walked.node {
        Some(value) if walked.keep_null || !value.is_null() => match position {
            Some(i) => {
                if let Some(slot) = entries.get_mut(i) {
                    slot.1 = value;
                }
            }
            None => entries.push((Node::plain(key), value)),
        },
        _ => {
            if let Some(i) = position {
                entries.remove(i);
            }
        }
    }
}

/// kyaml `ElementList` (`ElementMatcher` with keys and values): the first mapping element whose
/// every key has exactly that text; with one empty key, the first element whose text is the
/// value.
fn element_list(list: &[Node], keys: &[String], values: &[String]) -> Option<usize> {
    let first_key = keys.first().map_or("", String::as_str);
    let first_value = values.first().map_or("", String::as_str);
    if first_key.is_empty() {
        return list.iter().position(|e| text(e) == first_value);
    }
    list.iter().position(|e| {
        e.is_map()
            && keys.iter().enumerate().all(|(i, k)| {
                let want = values.get(i).map_or("", String::as_str);
                first_field(e, k).is_some_and(|v| text(v) == want)
            })
    })
}

/// kyaml `validateKeys`: keep the keys that have a value in some element (all keys when none
/// has), and the values of those keys.
fn validate_keys(
    values_list: &[Vec<String>],
    values: &[String],
    keys: &[String],
) -> (Vec<String>, Vec<String>) {
    let has_value = |i: usize| {
        values_list
            .iter()
            .any(|v| v.get(i).is_some_and(|s| !s.is_empty()))
    };
    let set: Vec<bool> = (0..keys.len()).map(has_value).collect();
    // kyaml's set is by key name; keys are distinct in practice.
    let in_set = |key: &str| keys.iter().zip(&set).any(|(k, s)| *s && k == key);
    if !set.iter().any(|s| *s) {
        return (keys.to_vec(), values.to_vec());
    }
    let valid_keys = keys.iter().filter(|k| in_set(k)).cloned().collect();
    let valid_values = values
        .iter()
        .enumerate()
        .filter(|(i, v)| !v.is_empty() || keys.get(*i).is_some_and(|k| in_set(k)))
        .map(|(_, v)| v.clone())
        .collect();
    (valid_keys, valid_values)
}

/// kyaml `mergeValues`: key tuples that agree where both have a value (and share at least one)
/// are made equal, filling the blanks (a port without `protocol` matches one with).
fn merge_values(values_list: &mut [Vec<String>]) {
    for i in 0..values_list.len() {
        for j in 0..values_list.len() {
            let merged = match (values_list.get(i), values_list.get(j)) {
                (Some(a), Some(b)) => match_values(a, b),
                _ => None,
            };
            if let Some(merged) = merged {
                if let Some(a) = values_list.get_mut(i) {
                    a.clone_from(&merged);
                }
                if let Some(b) = values_list.get_mut(j) {
                    *b = merged;
                }
            }
        }
    }
}

/// kyaml `match`: equal length, at least one equal value, and every other pair has a blank.
fn match_values(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len() != b.len() {
        return None;
    }
    let mut common = false;
    let mut out = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common = true;
            out.push(x.clone());
        } else if !x.is_empty() && !y.is_empty() {
            return None;
        } else if !x.is_empty() {
            out.push(x.clone());
        } else {
            out.push(y.clone());
        }
    }
    common.then_some(out)
}

#[cfg(test)]
mod tests {
    //! Every expected output below was produced by `kubectl kustomize` (kustomize v5.5.0) on a
    //! directory holding the resources (`resources: [res.yaml]`) and the patch
    //! (`patches: [{path: patch.yaml}]`).
    use super::*;
    use crate::render::resource::Origin;
    use crate::yaml::{emit::emit_node, parse_documents};

    /// Applies each patch document to the resource of the same kind and name, and prints the
    /// remaining resources (as a sorted set: kustomize orders them by kind). Annotation values
    /// are printed as strings, as the renderer does when printing.
    fn render(res: &str, patch: &str) -> Result<Vec<String>, SmpError> {
        let patches = parse_documents(patch).expect("valid patch");
        let mut out = Vec::new();
        for doc in parse_documents(res).expect("valid resources") {
            let mut r = Resource::new(doc.root, Origin::default());
            let mut keep = true;
            for p in &patches {
                let kind = p.root.field_str("kind").unwrap_or("");
                let name = p.root.path(&["metadata", "name"]).and_then(Node::as_str);
                if kind == r.kind() && name == Some(r.name()) {
                    let outcome =
                        apply_sm_patch_to_resource(&mut r, &p.root, false, false, &BuiltinSchemas)?;
                    keep &= outcome == SmpOutcome::Patched;
                }
            }
            if let Some(a) = r
                .node
                .path_mut(&["metadata", "annotations"])
                .and_then(Node::as_map_mut)
            {
                for (_, v) in a.iter_mut() {
                    v.tag = Some("!!str".into());
                }
            }
            if keep {
                out.push(emit_node(&r.node));
            }
        }
        out.sort();
        Ok(out)
    }

    fn check(res: &str, patch: &str, expected: &str) {
        let mut want: Vec<String> = expected.split("---\n").map(str::to_owned).collect();
        want.sort();
        assert_eq!(render(res, patch).expect("patch applies"), want);
    }

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata: {a: b}\n";

    #[test]
    fn kinds_that_disagree_are_an_error() {
        // kubectl: wrong node kind: expected MappingNode but got SequenceNode
        let patch = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata: [x]\n";
        assert_eq!(
            render(CM, patch),
            Err(SmpError::WrongKind {
                path: "data".into(),
                expected: "mapping",
                found: "sequence"
            })
        );
    }

    #[test]
    fn unknown_directives_are_an_error() {
        // kubectl: unknown patch strategy 'foo'
        let patch =
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  $patch: foo\n";
        assert_eq!(
            render(CM, patch),
            Err(SmpError::UnknownDirective {
                path: "data".into(),
                value: "foo".into()
            })
        );
    }

    #[test]
    fn builtin_schema_lookups() {
        let s = BuiltinSchemas;
        let deploy = s.resource("apps/v1", "Deployment").expect("known kind");
        let containers = ["spec", "template", "spec", "containers"]
            .iter()
            .try_fold(deploy, |id, f| s.field(id, f))
            .expect("containers");
        assert_eq!(s.merge_keys(containers), Some(vec!["name".to_owned()]));
        let ports = s
            .elements(containers)
            .and_then(|c| s.field(c, "ports"))
            .expect("ports");
        assert_eq!(
            s.merge_keys(ports),
            Some(vec!["containerPort".to_owned(), "protocol".to_owned()])
        );
        let args = s.elements(containers).and_then(|c| s.field(c, "args"));
        assert!(args.is_none_or(|a| s.merge_keys(a).is_none()));
        assert!(s.resource("example.com/v1", "Foo").is_none());
    }

    #[test]
    fn containers_from_the_patch_come_first_and_env_entries_merge_by_name() {
        check(
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  labels: {a: "1"}
spec:
  template:
    spec:
      containers:
      - name: a
        image: a
        ports:
        - containerPort: 80
          protocol: TCP
          name: http
        env:
        - name: X
          value: "1"
        - name: Y
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        args: [x, y]
      - name: b
        image: b
      nullv: ~
      emptyv:
      volumes:
      - name: v1
        emptyDir: {}
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  labels: {a: null, b: "2"}
spec:
  template:
    spec:
      containers:
      - name: b
        image: b2
        ports:
        - containerPort: 80
          name: web
      - name: c
        image: c
      - name: a
        env:
        - name: Y
          value: y
        - name: Z
          value: z
        args: [q]
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    b: "2"
  name: d
spec:
  template:
    spec:
      containers:
      - image: b2
        name: b
        ports:
        - containerPort: 80
          name: web
      - image: c
        name: c
      - args:
        - q
        env:
        - name: "Y"
          value: "y"
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: Z
          value: z
        - name: X
          value: "1"
        image: a
        name: a
        ports:
        - containerPort: 80
          name: http
          protocol: TCP
      nullv: null
      volumes:
      - emptyDir: {}
        name: v1
"#,
        );
    }

    #[test]
    fn element_replace_is_a_no_op_and_element_delete_removes() {
        check(
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - name: a
        image: a
        env: [{name: X, value: "1"}, {name: Y, value: "2"}]
      - name: b
        image: b
        args: [x]
      - name: c
        image: c
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - name: a
        $patch: replace
        image: a2
      - name: b
        $patch: delete
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - env:
        - name: X
          value: "1"
        - name: "Y"
          value: "2"
        image: a
        name: a
      - image: c
        name: c
"#,
        );
    }

    #[test]
    fn list_level_replace_and_delete() {
        check(
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - name: a
        image: a
        env: [{name: X, value: "1"}, {name: Y, value: "2"}]
        volumeMounts: [{name: v, mountPath: /a}]
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - name: a
        env:
        - $patch: replace
        - name: Z
          value: z
        volumeMounts:
        - $patch: delete
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - env:
        - name: Z
          value: z
        image: a
        name: a
"#,
        );
    }

    #[test]
    fn map_level_replace_delete_and_merge() {
        check(
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - name: a
        image: a
        resources: {limits: {cpu: 1, memory: 1Gi}, requests: {cpu: 1}}
        securityContext: {runAsUser: 1, privileged: true}
      nodeSelector: {a: b, c: d}
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - name: a
        resources:
          $patch: replace
          limits: {cpu: 2}
        securityContext:
          $patch: delete
      nodeSelector:
        $patch: merge
        e: f
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - image: a
        name: a
        resources:
          limits:
            cpu: 2
      nodeSelector:
        a: b
        c: d
        e: f
"#,
        );
    }

    #[test]
    fn top_level_delete_removes_the_resource() {
        check(
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - name: a
        image: a
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
data: {a: b}
"#,
            r#"$patch: delete
apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
"#,
            r#"apiVersion: v1
data:
  a: b
kind: ConfigMap
metadata:
  name: cm
"#,
        );
    }

    #[test]
    fn top_level_replace_leaves_the_target_unchanged() {
        check(
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
  labels: {a: b}
data: {a: b}
"#,
            r#"$patch: replace
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
data: {c: d}
"#,
            r#"apiVersion: v1
data:
  a: b
kind: ConfigMap
metadata:
  labels:
    a: b
  name: cm
"#,
        );
    }

    #[test]
    fn ports_merge_on_container_port_and_protocol_as_kyaml_does() {
        check(
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - name: a
        image: a
        ports:
        - containerPort: 80
          protocol: TCP
          name: http
        - containerPort: 53
          protocol: UDP
          name: dns
        - containerPort: 53
          protocol: TCP
          name: dnstcp
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - name: a
        ports:
        - containerPort: 80
          name: web
        - containerPort: 53
          protocol: UDP
          hostPort: 5353
        - containerPort: 9090
          name: metrics
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - image: a
        name: a
        ports:
        - containerPort: 9090
          name: metrics
        - containerPort: 80
          name: http
          protocol: TCP
        - containerPort: 53
          hostPort: 5353
          name: dns
          protocol: UDP
        - containerPort: 53
          name: dnstcp
          protocol: TCP
"#,
        );
    }

    #[test]
    fn finalizers_merge_other_lists_and_crd_lists_are_replaced() {
        check(
            r#"apiVersion: v1
kind: Service
metadata:
  name: s
  finalizers: [a, b]
spec:
  ports: [{port: 80, name: http}]
  externalIPs: [1.1.1.1]
---
apiVersion: example.com/v1
kind: Foo
metadata:
  name: f
  finalizers: [a, b]
spec:
  items: [{name: a, v: 1}, {name: b, v: 2}]
  sub: {x: 1, y: [1, 2]}
"#,
            r#"apiVersion: v1
kind: Service
metadata:
  name: s
  finalizers: [c, a]
spec:
  ports: [{port: 443, name: https}]
  externalIPs: [2.2.2.2]
---
apiVersion: example.com/v1
kind: Foo
metadata:
  name: f
  finalizers: [c, a]
spec:
  items: [{name: b, v: 3}]
  sub: {y: [3], z: null}
"#,
            r#"apiVersion: v1
kind: Service
metadata:
  finalizers:
  - c
  - a
  - b
  name: s
spec:
  externalIPs:
  - 2.2.2.2
  ports:
  - name: https
    port: 443
  - name: http
    port: 80
---
apiVersion: example.com/v1
kind: Foo
metadata:
  finalizers:
  - c
  - a
  name: f
spec:
  items:
  - name: b
    v: 3
  sub:
    x: 1
    "y":
    - 3
"#,
        );
    }

    #[test]
    fn null_values_delete_and_empty_target_nulls_are_dropped() {
        check(
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
  labels: {a: "1", b: "2"}
  annotations:
    x:
    y: ~
    z: null
data:
  a: "1"
  b:
  c: ~
"#,
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
  labels: {a: null, c: "3"}
data:
  a: ~
  d: null
  e:
  new:
    sub: {k: null, j: 1, m: {$patch: delete}, n: {$patch: replace, q: 1}, o: {$patch: merge, r: 2}}
"#,
            r#"apiVersion: v1
data:
  c: null
  new:
    sub:
      j: 1
      "n":
        q: 1
      o:
        r: 2
kind: ConfigMap
metadata:
  annotations:
    "y": "~"
    z: "null"
  labels:
    b: "2"
    c: "3"
  name: cm
"#,
        );
    }

    #[test]
    fn lists_added_by_the_patch_are_merged_with_themselves() {
        check(
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - name: a
        image: a
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - name: a
        env:
        - name: X
          value: "1"
        - name: X
          value: "2"
        - $patch: replace
        - name: Y
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
          junk: null
      - name: b
        image: b
        ports:
        - containerPort: 80
        - containerPort: 80
          protocol: UDP
      initContainers:
      - name: i
        image: i
        env: [{name: A, value: a}, {$patch: delete}]
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - env:
        - $patch: replace
        image: a
        name: a
      - image: b
        name: b
        ports:
        - containerPort: 80
        - containerPort: 80
          protocol: UDP
      initContainers:
      - image: i
        name: i
"#,
        );
    }

    #[test]
    fn untouched_target_lists_are_normalised() {
        check(
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - name: a
        image: a
        env:
        - name: X
          value: "1"
        - {}
        - name: Y
          value: y
        - name: X
          value: "2"
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  labels: {x: y}
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    x: "y"
  name: d
spec:
  template:
    spec:
      containers:
      - env:
        - name: X
          value: "1"
        image: a
        name: a
"#,
        );
    }

    #[test]
    fn an_element_without_merge_key_swallows_the_others() {
        check(
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - name: a
        image: a
      - image: nameless
      - name: b
        image: b
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - name: b
        image: b2
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - image: nameless
"#,
        );
    }

    #[test]
    fn apimachinery_directives_are_ordinary_keys() {
        check(
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - name: a
        image: a
        args: [a, b]
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - name: a
        $setElementOrder/env: [{name: X}]
        $deleteFromPrimitiveList/args: [a]
        args: [$patch: replace, c]
      $retainKeys: [containers]
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      $retainKeys:
      - containers
      containers:
      - $deleteFromPrimitiveList/args:
        - a
        $setElementOrder/env:
        - name: X
        args:
        - $patch: replace
        - c
        image: a
        name: a
"#,
        );
    }

    #[test]
    fn env_value_and_value_from_are_merged_not_swapped() {
        check(
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - name: a
        image: a
        env:
        - name: X
          value: "1"
        - name: Y
          valueFrom: {secretKeyRef: {name: s, key: k}}
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - name: a
        env:
        - name: X
          valueFrom: {configMapKeyRef: {name: c, key: k}}
        - name: Y
          value: "direct"
          valueFrom: null
"#,
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - env:
        - name: X
          value: "1"
          valueFrom:
            configMapKeyRef:
              key: k
              name: c
        - name: "Y"
          value: direct
        image: a
        name: a
"#,
        );
    }

    #[test]
    fn embedded_objects_with_api_version_and_kind_use_their_schema() {
        check(
            r#"apiVersion: example.com/v1
kind: Wrapper
metadata:
  name: w
spec:
  object:
    apiVersion: apps/v1
    kind: Deployment
    spec:
      template:
        spec:
          containers: [{name: a, image: a}, {name: b, image: b}]
  other:
    containers: [{name: a, image: a}, {name: b, image: b}]
"#,
            r#"apiVersion: example.com/v1
kind: Wrapper
metadata:
  name: w
spec:
  object:
    spec:
      template:
        spec:
          containers: [{name: b, image: b2}]
  other:
    containers: [{name: b, image: b2}]
"#,
            r#"apiVersion: example.com/v1
kind: Wrapper
metadata:
  name: w
spec:
  object:
    apiVersion: apps/v1
    kind: Deployment
    spec:
      template:
        spec:
          containers:
          - image: b2
            name: b
          - image: a
            name: a
  other:
    containers:
    - image: b2
      name: b
"#,
        );
    }

    #[test]
    fn patch_anchors_and_scalar_types_are_kept() {
        check(
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
data: {a: b}
"#,
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
  labels: &l {x: "1"}
  annotations:
    <<: *l
    y: "2"
data:
  n: 0755
  q: "0755"
  b: yes
  t: true
  f: 1.0
"#,
            r#"apiVersion: v1
data:
  a: b
  b: "yes"
  f: 1
  "n": 493
  q: "0755"
  t: true
kind: ConfigMap
metadata:
  annotations:
    x: "1"
    "y": "2"
  labels:
    x: "1"
  name: cm
"#,
        );
    }

    #[test]
    fn service_ports_volumes_host_aliases_and_unmerged_lists() {
        check(
            r#"apiVersion: v1
kind: Service
metadata:
  name: s
spec:
  ports:
  - {port: 80, protocol: TCP, name: http, targetPort: 8080}
  - {port: 80, protocol: UDP, name: udp}
---
apiVersion: batch/v1beta1
kind: CronJob
metadata:
  name: cj
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: a, image: a}, {name: b, image: b}]
          tolerations: [{key: a, operator: Exists}]
          volumes: [{name: v1, emptyDir: {}}, {name: v2, configMap: {name: c}}]
          hostAliases: [{ip: 1.1.1.1, hostnames: [a]}]
          imagePullSecrets: [{name: s1}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ss
spec:
  volumeClaimTemplates: [{metadata: {name: a}, spec: {storageClassName: x}}]
  template:
    spec:
      containers: [{name: a, image: a, volumeMounts: [{name: x, mountPath: /x}, {name: y, mountPath: /y}]}]
"#,
            r#"apiVersion: v1
kind: Service
metadata:
  name: s
spec:
  ports:
  - {port: 80, protocol: UDP, targetPort: 53}
  - {port: 443, name: https}
---
apiVersion: batch/v1beta1
kind: CronJob
metadata:
  name: cj
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: b, image: b2}]
          tolerations: [{key: b, operator: Exists}]
          volumes: [{name: v2, secret: {secretName: s}, configMap: null}]
          hostAliases: [{ip: 2.2.2.2, hostnames: [b]}, {ip: 1.1.1.1, hostnames: [c]}]
          imagePullSecrets: [{name: s2}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ss
spec:
  volumeClaimTemplates: [{metadata: {name: b}}]
  template:
    spec:
      containers: [{name: a, volumeMounts: [{name: z, mountPath: /y}]}]
"#,
            r#"apiVersion: v1
kind: Service
metadata:
  name: s
spec:
  ports:
  - name: https
    port: 443
  - name: http
    port: 80
    protocol: TCP
    targetPort: 8080
  - name: udp
    port: 80
    protocol: UDP
    targetPort: 53
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ss
spec:
  template:
    spec:
      containers:
      - image: a
        name: a
        volumeMounts:
        - mountPath: /y
          name: z
        - mountPath: /x
          name: x
  volumeClaimTemplates:
  - metadata:
      name: b
---
apiVersion: batch/v1beta1
kind: CronJob
metadata:
  name: cj
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - image: b2
            name: b
          - image: a
            name: a
          hostAliases:
          - hostnames:
            - b
            ip: 2.2.2.2
          - hostnames:
            - c
            ip: 1.1.1.1
          imagePullSecrets:
          - name: s2
          - name: s1
          tolerations:
          - key: b
            operator: Exists
          volumes:
          - name: v2
            secret:
              secretName: s
          - emptyDir: {}
            name: v1
"#,
        );
    }
}
