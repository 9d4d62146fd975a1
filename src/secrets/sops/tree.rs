//! The decrypted tree: branches (YAML documents; one for the other formats) of ordered items.
//!
//! This is sops' own model, shared by every format. Values hold their bytes in buffers that are
//! zeroed on drop, and `Debug` never prints them.

use std::fmt;
use std::ops::Range;

use zeroize::Zeroizing;

use super::value::ValueType;

/// A whole file: one branch per YAML document, exactly one for JSON, dotenv, INI and binary.
#[derive(Debug, Default)]
pub struct Tree {
    /// The branches in file order, without their `sops` metadata entries.
    pub branches: Vec<Vec<Item>>,
}

/// An item of a mapping (or of a branch).
#[derive(Debug)]
pub enum Item {
    /// A key and its value.
    Entry(String, TreeValue),
    /// A comment line (dotenv, INI); its AAD is the path of the container.
    Comment(Leaf),
}

/// A value in the tree.
#[derive(Debug)]
pub enum TreeValue {
    /// `null`: never encrypted, not in the MAC.
    Null,
    /// A scalar.
    Leaf(Leaf),
    /// A mapping, in file order.
    Map(Vec<Item>),
    /// A list; its elements share the list's path.
    Seq(Vec<TreeValue>),
}

/// A scalar value or comment.
pub struct Leaf {
    /// Its type: from `type:` once decrypted, from the file's syntax if it was in clear.
    pub value_type: ValueType,
    /// The value's text (for clear values read from YAML or JSON, Go's canonical spelling:
    /// `true`, `42`, `1234.5`); raw bytes in the binary format.
    pub bytes: Zeroizing<Vec<u8>>,
    /// Whether the value was encrypted in the file.
    pub encrypted: bool,
    /// Where the value is written in the source (YAML), to splice the plaintext in.
    pub(crate) span: Option<Range<usize>>,
}

impl Leaf {
    /// A leaf as read from the file (not yet decrypted).
    pub(crate) fn clear(value_type: ValueType, text: impl Into<Vec<u8>>) -> Self {
        Leaf {
            value_type,
            bytes: Zeroizing::new(text.into()),
            encrypted: false,
            span: None,
        }
    }

    /// The value as UTF-8 text, `None` if it is not.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes).ok()
    }
}

impl fmt::Debug for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the value: a `{:?}` in a log or test failure must not leak plaintext.
        f.debug_struct("Leaf")
            .field("value_type", &self.value_type)
            .field("len", &self.bytes.len())
            .field("encrypted", &self.encrypted)
            .finish_non_exhaustive()
    }
}

impl Tree {
    /// The value at a path of map keys in the first branch holding it (`&["stringData", "key"]`).
    #[must_use]
    pub fn get(&self, path: &[&str]) -> Option<&TreeValue> {
        self.branches.iter().find_map(|items| lookup(items, path))
    }

    /// The leaf at a path of map keys, if it is a scalar.
    #[must_use]
    pub fn leaf(&self, path: &[&str]) -> Option<&Leaf> {
        match self.get(path)? {
            TreeValue::Leaf(leaf) => Some(leaf),
            _ => None,
        }
    }
}

fn lookup<'t>(items: &'t [Item], path: &[&str]) -> Option<&'t TreeValue> {
    let (first, rest) = path.split_first()?;
    let value = items.iter().find_map(|item| match item {
        Item::Entry(key, value) if key == first => Some(value),
        _ => None,
    })?;
    if rest.is_empty() {
        return Some(value);
    }
    match value {
        TreeValue::Map(items) => lookup(items, rest),
        _ => None,
    }
}
