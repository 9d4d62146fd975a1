//! A kustomization's `crds:` files: OpenAPI definitions of custom types (a JSON or YAML map of
//! type name to `{Schema: ...}`, as kustomize's `LoadConfigFromCRDs` reads them) whose property
//! annotations extend the transformer configuration:
//!
//! - `x-kubernetes-object-ref-kind` + `x-kubernetes-object-ref-api-version` (and optionally
//!   `x-kubernetes-object-ref-name-key`, default `name`): the property refers to an object by
//!   name, so renames of that kind update it (a name reference);
//! - `x-kubernetes-label-selector`: a label field (common labels);
//! - `x-kubernetes-annotation`: an annotation field;
//! - `x-kubernetes-identity`: a name field that gets the name prefix.
//!
//! Types that look like Kubernetes objects (properties `kind`, `apiVersion` and `metadata`) are
//! the roots; `$ref`s to other definitions are followed. This module owns reading the files
//! into a [`TransformerConfig`]; merging is [`super::fieldspec`]'s job.

use serde_json::Value;

use super::fieldspec::{FieldSpec, NameBackRef, TransformerConfig};
use super::resource::Gvk;

/// Reads one `crds:` file.
///
/// # Errors
/// A message when the text is neither JSON nor YAML, is not a map of definitions, or a
/// property names a kind without an api version.
pub fn config_from_crd_file(text: &str) -> Result<TransformerConfig, String> {
    let doc: Value = match serde_json::from_str(text) {
        Ok(doc) => doc,
        Err(json_error) => match crate::yaml::parse_one(text) {
            Ok(Some(node)) => node.to_json(),
            _ => return Err(format!("invalid CRD definitions file: {json_error}")),
        },
    };
    let Some(types) = doc.as_object() else {
        return Err("a crds file must map type names to OpenAPI definitions".to_owned());
    };
    let mut config = TransformerConfig::default();
    for (name, definition) in types {
        let props = properties(definition);
        if ["kind", "apiVersion", "metadata"]
            .iter()
            .all(|p| props.is_some_and(|m| m.contains_key(*p)))
        {
            let kind = name.rsplit('.').next().unwrap_or(name);
            let gvk = Gvk {
                kind: kind.to_owned(),
                ..Gvk::default()
            };
            walk(&mut config, &gvk, types, name, &mut Vec::new(), 0)?;
        }
    }
    Ok(config)
}

fn properties(definition: &Value) -> Option<&serde_json::Map<String, Value>> {
    let schema = definition.get("Schema").unwrap_or(definition);
    schema.get("properties")?.as_object()
}

fn walk(
    config: &mut TransformerConfig,
    gvk: &Gvk,
    types: &serde_json::Map<String, Value>,
    type_name: &str,
    path: &mut Vec<String>,
    depth: usize,
) -> Result<(), String> {
    // Definitions may refer to each other in cycles; real ones are shallow.
    if depth > 32 {
        return Ok(());
    }
    let Some(props) = types.get(type_name).and_then(properties) else {
        return Ok(());
    };
    for (prop, schema) in props {
        path.push(prop.clone());
        let ext = |key: &str| schema.get(key).and_then(Value::as_str);
        let spec = |extra: Option<&str>| {
            let mut parts = path.clone();
            parts.extend(extra.map(str::to_owned));
            FieldSpec::new(gvk.clone(), parts.join("/"), false)
        };
        if ext("x-kubernetes-label-selector").is_some() {
            config.common_labels.push(spec(None));
        }
        if ext("x-kubernetes-annotation").is_some() {
            config.common_annotations.push(spec(None));
        }
        if ext("x-kubernetes-identity").is_some() {
            config.name_prefix.push(spec(None));
        }
        if let Some(kind) = ext("x-kubernetes-object-ref-kind") {
            let Some(version) = ext("x-kubernetes-object-ref-api-version") else {
                path.pop();
                return Err(format!(
                    "{type_name}.{prop}: x-kubernetes-object-ref-kind needs x-kubernetes-object-ref-api-version"
                ));
            };
            let key = ext("x-kubernetes-object-ref-name-key").unwrap_or("name");
            let referred = Gvk {
                kind: kind.to_owned(),
                version: version.to_owned(),
                ..Gvk::default()
            };
            let field = spec(Some(key));
            match config.name_reference.iter_mut().find(|b| b.gvk == referred) {
                Some(back) => back.fields.push(field),
                None => config.name_reference.push(NameBackRef {
                    gvk: referred,
                    fields: vec![field],
                }),
            }
        }
        if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
            let target = target.trim_start_matches("#/definitions/");
            walk(config, gvk, types, target, path, depth + 1)?;
        }
        path.pop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_refs_become_name_references() {
        let text = r#"{
          "example.com/v1.Bee": {"Schema": {"properties": {
            "apiVersion": {}, "kind": {}, "metadata": {},
            "spec": {"$ref": "example.com/v1.BeeSpec"}}}},
          "example.com/v1.BeeSpec": {"Schema": {"properties": {
            "secretRef": {"x-kubernetes-object-ref-kind": "Secret",
                          "x-kubernetes-object-ref-api-version": "v1"},
            "selector": {"x-kubernetes-label-selector": ""}}}}
        }"#;
        let config = config_from_crd_file(text).expect("valid");
        assert_eq!(config.name_reference.len(), 1);
        assert_eq!(config.name_reference[0].gvk.kind, "Secret");
        assert_eq!(
            config.name_reference[0].fields[0].path,
            "spec/secretRef/name"
        );
        assert_eq!(config.name_reference[0].fields[0].gvk.kind, "Bee");
        assert_eq!(config.common_labels[0].path, "spec/selector");
    }
}
