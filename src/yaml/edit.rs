//! Building and editing [`Node`] trees: what the renderer's transformers need.
//!
//! This module owns:
//! - constructors for nodes that come from no source text (their [`Span`] is the default, all
//!   zeros): strings, plain scalars, empty mappings and sequences;
//! - in-place edits by key (`get_mut`, `set`, `remove`, `map_entry`) and by path of keys;
//! - kyaml's `DeAnchor` as kustomize applies it on reading: `<<` merge keys applied and removed.
//!
//! Keys are matched by their text, as kyaml does: the renderer works on kustomize's view of the
//! tree, where keys are strings. It does not own reading values (that is [`Node::resolve`] and
//! [`super::emit::scalar_value`]) or printing.

use super::{Node, NodeKind, Scalar, ScalarStyle, Span};

impl Node {
    /// A string scalar. It is double-quoted, so it stays a string whatever its text (`"true"`,
    /// `"123"`), as kyaml tags the strings it creates `!!str`.
    #[must_use]
    pub fn string(text: impl Into<String>) -> Node {
        Node::scalar(text, ScalarStyle::DoubleQuoted)
    }

    /// A plain scalar, resolved like unquoted text (`3` is an integer, `true` a boolean).
    #[must_use]
    pub fn plain(text: impl Into<String>) -> Node {
        Node::scalar(text, ScalarStyle::Plain)
    }

    /// A scalar with the given style and no tag.
    #[must_use]
    pub fn scalar(text: impl Into<String>, style: ScalarStyle) -> Node {
        Node {
            kind: NodeKind::Scalar(Scalar {
                text: text.into(),
                style,
            }),
            span: Span::default(),
            tag: None,
        }
    }

    /// The null scalar (`null`).
    #[must_use]
    pub fn null() -> Node {
        Node::plain("null")
    }

    /// An empty mapping.
    #[must_use]
    pub fn map() -> Node {
        Node::from_entries(Vec::new())
    }

    /// A mapping of the given entries.
    #[must_use]
    pub fn from_entries(entries: Vec<(Node, Node)>) -> Node {
        Node {
            kind: NodeKind::Map(entries),
            span: Span::default(),
            tag: None,
        }
    }

    /// A sequence of the given items.
    #[must_use]
    pub fn seq(items: Vec<Node>) -> Node {
        Node {
            kind: NodeKind::Seq(items),
            span: Span::default(),
            tag: None,
        }
    }

    /// The entries, if this is a mapping.
    pub fn as_map_mut(&mut self) -> Option<&mut Vec<(Node, Node)>> {
        match &mut self.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The items, if this is a sequence.
    pub fn as_seq_mut(&mut self) -> Option<&mut Vec<Node>> {
        match &mut self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// Whether this is a mapping.
    #[must_use]
    pub fn is_map(&self) -> bool {
        matches!(self.kind, NodeKind::Map(_))
    }

    /// Whether this is a sequence.
    #[must_use]
    pub fn is_seq(&self) -> bool {
        matches!(self.kind, NodeKind::Seq(_))
    }

    /// The value of the entry whose key text is `key` (no `<<` handling: apply
    /// [`Node::deanchor`] first).
    #[must_use]
    pub fn field(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// The text of the scalar at `key`, if it is a non-null scalar.
    #[must_use]
    pub fn field_str(&self, key: &str) -> Option<&str> {
        let node = self.field(key)?;
        if node.is_null() { None } else { node.as_str() }
    }

    /// Mutable access to the value of the entry whose key text is `key`.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.as_map_mut()?
            .iter_mut()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// The node at a path of keys, if every step is a mapping that has the key.
    #[must_use]
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.field(key))
    }

    /// Mutable access to the node at a path of keys.
    pub fn path_mut(&mut self, keys: &[&str]) -> Option<&mut Node> {
        keys.iter().try_fold(self, |node, key| node.get_mut(key))
    }

    /// Sets `key` to `value`, replacing the value in place if the key exists (its position is
    /// kept) and appending the entry otherwise. A non-mapping becomes an empty mapping first.
    pub fn set(&mut self, key: &str, value: Node) {
        if let Some(slot) = self.get_mut(key) {
            *slot = value;
            return;
        }
        if !self.is_map() {
            *self = Node::map();
        }
        if let Some(entries) = self.as_map_mut() {
            entries.push((Node::plain(key), value));
        }
    }

    /// Removes the entry `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        let entries = self.as_map_mut()?;
        let index = entries.iter().position(|(k, _)| k.as_str() == Some(key))?;
        Some(entries.remove(index).1)
    }

    /// The mapping at `key`, created (or replacing a null or non-mapping value) when missing;
    /// a non-mapping `self` becomes an empty mapping first.
    pub fn map_entry(&mut self, key: &str) -> &mut Node {
        if !self.is_map() {
            *self = Node::map();
        }
        let entries = match &mut self.kind {
            NodeKind::Map(entries) => entries,
            _ => unreachable!("made a mapping above"),
        };
        let index = match entries.iter().position(|(k, _)| k.as_str() == Some(key)) {
            Some(i) => i,
            None => {
                entries.push((Node::plain(key), Node::map()));
                entries.len() - 1
            }
        };
        let value = &mut entries[index].1;
        if !value.is_map() {
            *value = Node::map();
        }
        value
    }

    /// The mapping at a path of keys, creating each missing step (see [`Node::map_entry`]).
    pub fn map_path(&mut self, keys: &[&str]) -> &mut Node {
        keys.iter().fold(self, |node, key| node.map_entry(key))
    }

    /// Applies `<<` merge keys everywhere below and including this node, and removes them, as
    /// kyaml's `DeAnchor` does when kustomize reads a resource: keys written in the mapping win
    /// over merged ones; among several merged mappings the first wins; merged keys are appended
    /// after the mapping's own keys.
    pub fn deanchor(&mut self) {
        match &mut self.kind {
            NodeKind::Scalar(_) => {}
            NodeKind::Seq(items) => items.iter_mut().for_each(Node::deanchor),
            NodeKind::Map(entries) => {
                if entries.iter().any(|(k, _)| is_merge(k)) {
                    let mut own = Vec::with_capacity(entries.len());
                    let mut merged = Vec::new();
                    for (k, v) in entries.drain(..) {
                        if is_merge(&k) {
                            match v.kind {
                                NodeKind::Seq(items) => merged.extend(items),
                                _ => merged.push(v),
                            }
                        } else {
                            own.push((k, v));
                        }
                    }
                    for mut source in merged {
                        source.deanchor();
                        if let NodeKind::Map(source_entries) = source.kind {
                            for (k, v) in source_entries {
                                if !own.iter().any(|(o, _)| o.as_str() == k.as_str()) {
                                    own.push((k, v));
                                }
                            }
                        }
                    }
                    *entries = own;
                }
                for (_, v) in entries.iter_mut() {
                    v.deanchor();
                }
            }
        }
    }
}

fn is_merge(key: &Node) -> bool {
    key.as_scalar()
        .is_some_and(|s| s.style == ScalarStyle::Plain && s.text == "<<")
        && key.tag.as_deref().is_none_or(|t| t == "!!merge")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_one;

    fn parse(text: &str) -> Node {
        parse_one(text).expect("valid yaml").expect("one document")
    }

    #[test]
    fn set_replaces_in_place_and_appends_new_keys() {
        let mut n = parse("a: 1\nb: 2\n");
        n.set("a", Node::string("x"));
        n.set("c", Node::plain("3"));
        let keys: Vec<_> = n
            .as_map()
            .expect("map")
            .iter()
            .map(|(k, _)| k.as_str().expect("scalar").to_owned())
            .collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert_eq!(n.field_str("a"), Some("x"));
    }

    #[test]
    fn map_path_creates_missing_steps_and_replaces_null() {
        let mut n = parse("metadata:\n  labels:\n");
        n.map_path(&["metadata", "labels"])
            .set("app", Node::string("web"));
        assert_eq!(
            n.path(&["metadata", "labels", "app"])
                .and_then(Node::as_str),
            Some("web")
        );
        n.map_path(&["spec", "template"]);
        assert!(n.path(&["spec", "template"]).is_some_and(Node::is_map));
    }

    #[test]
    fn deanchor_merges_and_removes_merge_keys() {
        let mut n = parse("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n");
        n.deanchor();
        let derived = n.field("derived").expect("derived");
        assert_eq!(derived.field_str("x"), Some("1"));
        assert_eq!(derived.field_str("y"), Some("3"));
        assert!(derived.field("<<").is_none());
    }

    #[test]
    fn remove_returns_the_value() {
        let mut n = parse("a: 1\nb: 2\n");
        assert_eq!(
            n.remove("a")
                .and_then(|v| v.as_str().map(str::to_owned))
                .as_deref(),
            Some("1")
        );
        assert!(n.field("a").is_none());
        assert!(n.remove("zz").is_none());
    }
}
