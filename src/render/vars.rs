//! `vars`: kustomize's deprecated `$(VAR)` substitution.
//!
//! A var names an object (`objref`) and a field in it (`fieldref.fieldpath`, default
//! `metadata.name`). Each kustomization's vars are bound, after its transformers ran, to the one
//! object they select (by any of its ids, so later renames do not lose it); at the end of the
//! top-level build the field's value (as text) replaces `$(NAME)` in the fields the
//! `varReference` field specs name. `$$` escapes a `$`; `$(UNKNOWN)` is left as written.
//!
//! This module owns var definitions, binding and the expansion of strings. Which fields are
//! visited is the field specs' business (`render::fieldspec`).

use std::collections::HashMap;

use super::resource::{Gvk, ResId, Resource};
use crate::yaml::{Node, NodeKind, ScalarStyle, Span};

/// One `vars:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    /// `name`: what `$(name)` refers to.
    pub name: String,
    /// The selected object's group/version/kind (empty parts match anything).
    pub gvk: Gvk,
    /// The selected object's name.
    pub obj_name: String,
    /// The selected object's namespace, if given.
    pub namespace: String,
    /// `fieldref.fieldpath`.
    pub field_path: String,
    /// Where it is defined.
    pub span: Span,
}

impl Var {
    /// Reads a `vars:` entry (field names matched ignoring case).
    ///
    /// # Errors
    /// A message when `name` or `objref` is missing.
    pub fn from_node(node: &Node) -> Result<Var, String> {
        let text = |n: Option<&Node>| -> String {
            n.filter(|n| !n.is_null())
                .and_then(Node::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let name = text(node.get_ignore_case("name"));
        if name.is_empty() {
            return Err("a var needs a name".to_owned());
        }
        let Some(objref) = node.get_ignore_case("objref").filter(|n| n.is_map()) else {
            return Err(format!("var '{name}' needs an objref"));
        };
        let api_version = text(objref.get_ignore_case("apiVersion"));
        let mut gvk = Gvk::from_api_version(&api_version, &text(objref.get_ignore_case("kind")));
        let group = text(objref.get_ignore_case("group"));
        if !group.is_empty() {
            gvk.group = group;
        }
        let version = text(objref.get_ignore_case("version"));
        if !version.is_empty() {
            gvk.version = version;
        }
        let field_path = node
            .get_ignore_case("fieldref")
            .map(|f| text(f.get_ignore_case("fieldpath")))
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "metadata.name".to_owned());
        Ok(Var {
            name,
            gvk,
            obj_name: text(objref.get_ignore_case("name")),
            namespace: text(objref.get_ignore_case("namespace")),
            field_path,
            span: node.span,
        })
    }

    fn selects(&self, id: &ResId) -> bool {
        id.gvk.is_selected_by(&self.gvk)
            && id.name == self.obj_name
            && (self.namespace.is_empty() || id.namespace == self.namespace)
    }
}

/// Binds vars to the objects they select, as kustomize's `MergeVars` does after each
/// kustomization's transformers: the one object having the var's id among its current and
/// previous ids records the var's name. `known` are the vars bound so far (names must be
/// unique across the whole build).
///
/// # Errors
/// A message for a duplicate var name or an ambiguous selection.
pub fn bind(resources: &mut [Resource], vars: &[Var], known: &[Var]) -> Result<(), String> {
    for (i, var) in vars.iter().enumerate() {
        if known.iter().chain(&vars[..i]).any(|k| k.name == var.name) {
            return Err(format!("var '{}' already encountered", var.name));
        }
        let matched: Vec<usize> = resources
            .iter()
            .enumerate()
            .filter(|(_, r)| r.any_id(|id| var.selects(id)))
            .map(|(i, _)| i)
            .collect();
        match matched.as_slice() {
            [] => {}
            [one] => resources[*one].ref_var_names.push(var.name.clone()),
            many => {
                return Err(format!(
                    "found {} resId matches for var {} (unable to disambiguate)",
                    many.len(),
                    var.name
                ));
            }
        }
    }
    Ok(())
}

/// The value of every var: the text of its field in the object it is bound to.
///
/// # Errors
/// A message when a var is bound to no object, or its field does not exist.
pub fn values(resources: &[Resource], vars: &[Var]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for var in vars {
        let Some(r) = resources
            .iter()
            .find(|r| r.ref_var_names.iter().any(|n| n == &var.name))
        else {
            return Err(format!(
                "var '{}' cannot be mapped to a field in the set of known resources",
                var.name
            ));
        };
        let value = field_text(&r.node, &var.field_path).ok_or_else(|| {
            format!(
                "field specified in var '{}' ({}) not found in corresponding resource",
                var.name, var.field_path
            )
        })?;
        out.insert(var.name.clone(), value);
    }
    Ok(out)
}

/// The text of the scalar at a dotted field path (`spec.ports[0].port`, `data.KEY`).
fn field_text(node: &Node, path: &str) -> Option<String> {
    let mut current = node;
    for part in path.split('.') {
        let (key, index) = match part.find('[') {
            Some(i) if part.ends_with(']') => (&part[..i], Some(&part[i + 1..part.len() - 1])),
            _ => (part, None),
        };
        if !key.is_empty() {
            current = current.field(key)?;
        }
        if let Some(index) = index {
            let items = current.as_seq()?;
            current = match index.split_once('=') {
                Some((k, v)) => items.iter().find(|item| item.field_str(k) == Some(v))?,
                None => items.get(index.parse::<usize>().ok()?)?,
            };
        }
    }
    match &current.kind {
        NodeKind::Scalar(s) => Some(s.text.clone()),
        _ => None,
    }
}

/// kustomize's refvar `set`: expands `$(VAR)` in a field the var-reference field specs name,
/// whether it is a string, a mapping of strings (its values) or a sequence of strings.
///
/// # Errors
/// A message for a sequence item or mapping key that is not a string.
pub fn expand_node(node: &mut Node, values: &HashMap<String, String>) -> Result<(), String> {
    if node.is_null() {
        return Ok(());
    }
    match &mut node.kind {
        NodeKind::Scalar(_) => {
            expand_scalar(node, values);
            Ok(())
        }
        NodeKind::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                if !is_string(k) {
                    return Err(format!(
                        "invalid map key: value='{}'",
                        k.as_str().unwrap_or("")
                    ));
                }
                if is_string(v) {
                    expand_scalar(v, values);
                }
            }
            Ok(())
        }
        NodeKind::Seq(items) => {
            for item in items.iter_mut() {
                if !is_string(item) {
                    return Err("invalid value type expect a string".to_owned());
                }
                expand_scalar(item, values);
            }
            Ok(())
        }
    }
}

fn is_string(node: &Node) -> bool {
    node.as_scalar().is_some_and(|s| {
        matches!(
            crate::yaml::scalar_value(node.tag.as_deref(), s),
            crate::yaml::KustomizeValue::Str(_)
        )
    })
}

fn expand_scalar(node: &mut Node, values: &HashMap<String, String>) {
    if !is_string(node) {
        return;
    }
    let Some(text) = node.as_str() else { return };
    if !text.contains('$') {
        return;
    }
    let expanded = expand(text, values);
    *node = Node::scalar(expanded, ScalarStyle::DoubleQuoted);
}

/// Expands `$(NAME)` references in `input` (Kubernetes' expansion rules, as kustomize applies
/// them): `$$` is a literal `$`; a reference to an unknown name, or an unclosed `$(`, is kept.
#[must_use]
pub fn expand(input: &str, values: &HashMap<String, String>) -> String {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < bytes.len() {
        if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let advance = match rest.as_bytes()[0] {
                b'$' => {
                    out.push('$');
                    1
                }
                b'(' => match rest[1..].find(')') {
                    Some(close) => {
                        let name = &rest[1..=close];
                        match values.get(name) {
                            Some(v) => out.push_str(v),
                            None => {
                                out.push_str("$(");
                                out.push_str(name);
                                out.push(')');
                            }
                        }
                        close + 2
                    }
                    None => {
                        out.push_str("$(");
                        1
                    }
                },
                _ => {
                    // `$` and the next character are copied as they are.
                    let c = rest.chars().next().map_or(1, char::len_utf8);
                    out.push('$');
                    out.push_str(&rest[..c]);
                    c
                }
            };
            cursor += advance + 1;
            checkpoint = cursor;
        } else {
            cursor += 1;
        }
    }
    out.push_str(&input[checkpoint.min(input.len())..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn expands_known_and_keeps_unknown_references() {
        let v = map(&[("NS", "kubeflow"), ("SVC", "web")]);
        assert_eq!(expand("$(SVC).$(NS).svc", &v), "web.kubeflow.svc");
        assert_eq!(expand("$(OTHER)-x", &v), "$(OTHER)-x");
        assert_eq!(expand("cost $$5 $(NS)", &v), "cost $5 kubeflow");
        assert_eq!(expand("open $(NS", &v), "open $(NS");
        assert_eq!(expand("trailing $", &v), "trailing $");
        assert_eq!(expand("a$b", &v), "a$b");
    }

    #[test]
    fn field_text_follows_dots_and_indices() {
        let node = crate::yaml::parse_one(
            "metadata: {name: x}\nspec:\n  ports:\n  - name: http\n    port: 80\n",
        )
        .expect("yaml")
        .expect("doc");
        assert_eq!(field_text(&node, "metadata.name").as_deref(), Some("x"));
        assert_eq!(
            field_text(&node, "spec.ports[0].port").as_deref(),
            Some("80")
        );
        assert_eq!(
            field_text(&node, "spec.ports[name=http].port").as_deref(),
            Some("80")
        );
        assert_eq!(field_text(&node, "spec.missing"), None);
    }
}
