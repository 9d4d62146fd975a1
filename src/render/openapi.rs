//! A kustomization's `openapi: {path: FILE}`: a custom OpenAPI (swagger `definitions`) schema
//! that tells strategic-merge patches how to merge the lists of custom resources.
//!
//! The document is compiled once into a small graph ([`CustomSchemas`]): each definition with
//! `x-kubernetes-group-version-kind` is a resource type; properties, `additionalProperties`,
//! `items` and `$ref`s are followed; an array property whose `x-kubernetes-patch-strategy`
//! includes `merge` merges on `x-kubernetes-patch-merge-key` (or `x-kubernetes-list-map-keys`).
//!
//! This module owns reading the schema; merging is [`super::smp`]'s job.

use std::collections::HashMap;

use serde_json::Value;

use super::smp::{SchemaId, SchemaLookup};

#[derive(Debug, Default, Clone)]
struct CompiledNode {
    fields: Vec<(String, u32)>,
    additional: Option<u32>,
    items: Option<u32>,
    merge_keys: Option<Vec<String>>,
}

/// A compiled custom schema.
#[derive(Debug, Default, Clone)]
pub struct CustomSchemas {
    nodes: Vec<CompiledNode>,
    resources: HashMap<(String, String), u32>,
}

impl CustomSchemas {
    /// Compiles a swagger document's `definitions`.
    ///
    /// # Errors
    /// A message when the text is neither JSON nor YAML, or has no `definitions` object.
    pub fn parse(text: &str) -> Result<CustomSchemas, String> {
        let doc: Value = match serde_json::from_str(text) {
            Ok(doc) => doc,
            Err(json_error) => match crate::yaml::parse_one(text) {
                Ok(Some(node)) => node.to_json(),
                _ => return Err(format!("invalid OpenAPI document: {json_error}")),
            },
        };
        let Some(definitions) = doc.get("definitions").and_then(Value::as_object) else {
            return Err("the OpenAPI document has no `definitions` object".to_owned());
        };
        let mut compiler = Compiler {
            definitions,
            by_name: HashMap::new(),
            nodes: Vec::new(),
        };
        let mut resources = HashMap::new();
        for (name, schema) in definitions {
            let id = compiler.definition(name);
            for gvk in schema
                .get("x-kubernetes-group-version-kind")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let text = |k: &str| gvk.get(k).and_then(Value::as_str).unwrap_or("");
                let api_version = if text("group").is_empty() {
                    text("version").to_owned()
                } else {
                    format!("{}/{}", text("group"), text("version"))
                };
                resources.insert((api_version, text("kind").to_owned()), id);
            }
        }
        Ok(CustomSchemas {
            nodes: compiler.nodes,
            resources,
        })
    }

    fn node(&self, id: SchemaId) -> Option<&CompiledNode> {
        self.nodes.get(usize::try_from(id.0).ok()?)
    }
}

struct Compiler<'d> {
    definitions: &'d serde_json::Map<String, Value>,
    by_name: HashMap<String, u32>,
    nodes: Vec<CompiledNode>,
}

impl Compiler<'_> {
    fn definition(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.by_name.get(name) {
            return id;
        }
        let id = self.reserve();
        self.by_name.insert(name.to_owned(), id);
        let schema = self.definitions.get(name).cloned().unwrap_or(Value::Null);
        let node = self.compile_body(&schema);
        self.nodes[id as usize] = node;
        id
    }

    fn reserve(&mut self) -> u32 {
        self.nodes.push(CompiledNode::default());
        u32::try_from(self.nodes.len() - 1).unwrap_or(u32::MAX)
    }

    fn schema(&mut self, schema: &Value) -> u32 {
        if let Some(name) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/definitions/"))
        {
            // A `$ref` with patch extensions next to it (on a property) keeps them.
            let target = self.definition(name);
            if schema.get("x-kubernetes-patch-strategy").is_none() {
                return target;
            }
            let mut node = self.nodes[target as usize].clone();
            node.merge_keys = merge_keys(schema);
            let id = self.reserve();
            self.nodes[id as usize] = node;
            return id;
        }
        let id = self.reserve();
        let node = self.compile_body(schema);
        self.nodes[id as usize] = node;
        id
    }

    fn compile_body(&mut self, schema: &Value) -> CompiledNode {
        let mut node = CompiledNode {
            merge_keys: merge_keys(schema),
            ..CompiledNode::default()
        };
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            let mut fields: Vec<(String, u32)> = props
                .iter()
                .map(|(name, sub)| (name.clone(), self.schema(sub)))
                .collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            node.fields = fields;
        }
        if let Some(additional) = schema.get("additionalProperties").filter(|v| v.is_object()) {
            node.additional = Some(self.schema(additional));
        }
        if let Some(items) = schema.get("items").filter(|v| v.is_object()) {
            node.items = Some(self.schema(items));
        }
        node
    }
}

fn merge_keys(schema: &Value) -> Option<Vec<String>> {
    let strategy = schema.get("x-kubernetes-patch-strategy")?.as_str()?;
    if !strategy.split(',').any(|s| s.trim() == "merge") {
        return None;
    }
    if let Some(key) = schema
        .get("x-kubernetes-patch-merge-key")
        .and_then(Value::as_str)
    {
        return Some(vec![key.to_owned()]);
    }
    Some(
        schema
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect(),
    )
}

impl SchemaLookup for CustomSchemas {
    fn resource(&self, api_version: &str, kind: &str) -> Option<SchemaId> {
        self.resources
            .get(&(api_version.to_owned(), kind.to_owned()))
            .map(|&id| SchemaId(id))
    }

    fn field(&self, schema: SchemaId, name: &str) -> Option<SchemaId> {
        let node = self.node(schema)?;
        match node.fields.binary_search_by(|(f, _)| f.as_str().cmp(name)) {
            Ok(i) => node.fields.get(i).map(|(_, id)| SchemaId(*id)),
            Err(_) => node.additional.map(SchemaId),
        }
    }

    fn elements(&self, schema: SchemaId) -> Option<SchemaId> {
        self.node(schema)?.items.map(SchemaId)
    }

    fn merge_keys(&self, schema: SchemaId) -> Option<Vec<String>> {
        self.node(schema)?.merge_keys.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_refs_and_merge_keys() {
        let doc = r##"{"definitions": {
            "v1.Thing": {"properties": {"spec": {"properties": {"items": {
                "type": "array", "items": {"$ref": "#/definitions/v1.Item"},
                "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"}}}},
                "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "Thing"}]},
            "v1.Item": {"properties": {"name": {"type": "string"}}}
        }}"##;
        let schemas = CustomSchemas::parse(doc).expect("valid");
        let root = schemas
            .resource("example.com/v1", "Thing")
            .expect("resource");
        let spec = schemas.field(root, "spec").expect("spec");
        let items = schemas.field(spec, "items").expect("items");
        assert_eq!(schemas.merge_keys(items), Some(vec!["name".to_owned()]));
        let item = schemas.elements(items).expect("elements");
        assert!(schemas.field(item, "name").is_some());
        assert!(schemas.resource("v1", "Thing").is_none());
    }
}
