//! Conversion of a CustomResourceDefinition's `openAPIV3Schema` into the JSON Schema kiln
//! compiles.
//!
//! This module owns the translation rules for CRD schemas (OpenAPI v3 structural schemas):
//! - strictness: an object that lists `properties` or says `type: object` rejects other fields,
//!   unless it has `additionalProperties` or `x-kubernetes-preserve-unknown-fields: true`
//!   (that node only, as the API server's pruning does);
//! - `x-kubernetes-int-or-string` → integer or string; `x-kubernetes-embedded-resource` → the
//!   object also accepts `apiVersion`, `kind` and a `metadata` validated as ObjectMeta;
//! - `nullable: true` and optional fields accept `null`;
//! - OpenAPI's boolean `exclusiveMinimum`/`exclusiveMaximum` → JSON Schema's numeric ones;
//!   `format: int32`/`int64` → ranges, `format: byte` kept, other formats dropped;
//! - the root gets `apiVersion` and `kind` constrained to the CRD's group/version and kind,
//!   and `metadata` validated as ObjectMeta.
//!
//! It does not own compiling the result or validating the CRD object itself (the parent
//! module does both), nor CEL rules (`x-kubernetes-validations`, not evaluated).

use serde_json::{Map, Value, json};

use super::CrdError;

const INT32: (i64, i64) = (i32::MIN as i64, i32::MAX as i64);

/// One kind version a CRD serves, with its converted schema.
#[derive(Debug)]
pub(crate) struct CrdVersion {
    pub api_version: String,
    pub kind: String,
    pub schema: Value,
}

/// Converts every served version of `crd`. `object_meta` is the `$ref` target of ObjectMeta.
pub(crate) fn convert(crd: &Value, object_meta: &str) -> Result<Vec<CrdVersion>, CrdError> {
    let name = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("<unnamed>")
        .to_string();
    let missing = |field: &'static str| CrdError::MissingField {
        crd: name.clone(),
        field,
    };
    if crd.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
        return Err(CrdError::NotACrd);
    }
    let spec = crd.get("spec").ok_or_else(|| missing("spec"))?;
    let group = spec
        .get("group")
        .and_then(Value::as_str)
        .ok_or_else(|| missing("spec.group"))?;
    let kind = spec
        .pointer("/names/kind")
        .and_then(Value::as_str)
        .ok_or_else(|| missing("spec.names.kind"))?;
    // apiextensions.k8s.io/v1beta1 had one schema for all versions.
    let legacy_schema = spec.pointer("/validation/openAPIV3Schema");
    let mut versions: Vec<(&str, Option<&Value>)> = Vec::new();
    match spec.get("versions").and_then(Value::as_array) {
        Some(list) => {
            for v in list {
                if v.get("served").and_then(Value::as_bool) == Some(false) {
                    continue;
                }
                let vname = v
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| missing("spec.versions[].name"))?;
                let schema = v.pointer("/schema/openAPIV3Schema").or(legacy_schema);
                versions.push((vname, schema));
            }
        }
        None => {
            let vname = spec
                .get("version")
                .and_then(Value::as_str)
                .ok_or_else(|| missing("spec.versions"))?;
            versions.push((vname, legacy_schema));
        }
    }
    let mut out = Vec::with_capacity(versions.len());
    for (vname, schema) in versions {
        let api_version = format!("{group}/{vname}");
        let ctx = Ctx {
            crd: &name,
            version: vname,
            object_meta,
        };
        let root = match schema {
            Some(s) => ctx.root(s, &api_version, kind)?,
            None => ctx.root(
                &json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
                &api_version,
                kind,
            )?,
        };
        out.push(CrdVersion {
            api_version,
            kind: kind.to_string(),
            schema: root,
        });
    }
    Ok(out)
}

struct Ctx<'a> {
    crd: &'a str,
    version: &'a str,
    object_meta: &'a str,
}

/// How a node is converted.
#[derive(Clone, Copy)]
struct Mode {
    /// Structural position (not inside `allOf`/`anyOf`/`oneOf`/`not`): strictness applies.
    structural: bool,
    /// `null` is accepted (optional field or `nullable: true`).
    nullable: bool,
}

fn as_bool(v: Option<&Value>) -> bool {
    v.and_then(Value::as_bool).unwrap_or(false)
}

impl Ctx<'_> {
    fn err(&self, path: &str, message: impl Into<String>) -> CrdError {
        CrdError::InvalidSchema {
            crd: self.crd.to_string(),
            version: self.version.to_string(),
            path: if path.is_empty() {
                "openAPIV3Schema".to_string()
            } else {
                format!("openAPIV3Schema{path}")
            },
            message: message.into(),
        }
    }

    fn root(&self, schema: &Value, api_version: &str, kind: &str) -> Result<Value, CrdError> {
        let mut root = self.node(
            schema,
            "",
            Mode {
                structural: true,
                nullable: false,
            },
        )?;
        let Value::Object(map) = &mut root else {
            return Err(self.err("", "not an object"));
        };
        let user_meta = map
            .get_mut("properties")
            .and_then(Value::as_object_mut)
            .and_then(|p| {
                p.remove("apiVersion");
                p.remove("kind");
                p.remove("metadata")
            });
        let props = map
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(props) = props else {
            return Err(self.err(".properties", "not an object"));
        };
        props.insert(
            "apiVersion".into(),
            json!({"type": "string", "enum": [api_version]}),
        );
        props.insert("kind".into(), json!({"type": "string", "enum": [kind]}));
        // A CRD may only restrict metadata.name / generateName; its metadata schema is applied
        // on top of ObjectMeta, without strictness.
        let meta = match schema.pointer("/properties/metadata") {
            Some(m) if user_meta.is_some() => {
                let loose = self.node(
                    m,
                    ".properties.metadata",
                    Mode {
                        structural: false,
                        nullable: true,
                    },
                )?;
                json!({"allOf": [{"$ref": self.object_meta}, loose]})
            }
            _ => json!({"$ref": self.object_meta}),
        };
        props.insert("metadata".into(), meta);
        Ok(root)
    }

    fn node(&self, schema: &Value, path: &str, mode: Mode) -> Result<Value, CrdError> {
        let Value::Object(s) = schema else {
            return match schema {
                Value::Bool(b) => Ok(Value::Bool(*b)),
                _ => Err(self.err(path, "a schema must be an object")),
            };
        };
        let mut out = Map::new();
        let preserve = as_bool(s.get("x-kubernetes-preserve-unknown-fields"));
        let embedded = as_bool(s.get("x-kubernetes-embedded-resource"));
        let int_or_string = as_bool(s.get("x-kubernetes-int-or-string"));
        let nullable = mode.nullable || as_bool(s.get("nullable"));

        let mut types: Vec<Value> = Vec::new();
        if int_or_string {
            types.push("integer".into());
            types.push("string".into());
        } else if let Some(t) = s.get("type") {
            match t {
                Value::String(t) => types.push(Value::String(t.clone())),
                _ => return Err(self.err(path, "`type` must be a string")),
            }
        }
        let is_object =
            types.iter().any(|t| t == "object") || s.contains_key("properties") || embedded;

        let mut required: Vec<String> = Vec::new();
        if let Some(r) = s.get("required") {
            let Some(list) = r.as_array() else {
                return Err(self.err(path, "`required` must be a list"));
            };
            for item in list {
                let Some(item) = item.as_str() else {
                    return Err(self.err(path, "`required` must list strings"));
                };
                required.push(item.to_string());
            }
            out.insert("required".into(), r.clone());
        }

        let mut combinators = false;
        for (key, value) in s {
            let here = format!("{path}.{key}");
            match key.as_str() {
                "properties" => {
                    let Some(props) = value.as_object() else {
                        return Err(self.err(&here, "must be an object"));
                    };
                    let mut converted = Map::new();
                    for (name, sub) in props {
                        let child = Mode {
                            structural: mode.structural,
                            nullable: !required.iter().any(|r| r == name),
                        };
                        converted.insert(
                            name.clone(),
                            self.node(sub, &format!("{here}.{name}"), child)?,
                        );
                    }
                    out.insert("properties".into(), Value::Object(converted));
                }
                "additionalProperties" => {
                    let child = Mode {
                        structural: mode.structural,
                        nullable: true,
                    };
                    out.insert(key.clone(), self.node(value, &here, child)?);
                }
                "items" => {
                    let child = Mode {
                        structural: mode.structural,
                        nullable: false,
                    };
                    if value.is_array() {
                        return Err(self.err(&here, "a list of item schemas is not supported"));
                    }
                    out.insert(key.clone(), self.node(value, &here, child)?);
                }
                "allOf" | "anyOf" | "oneOf" => {
                    let Some(list) = value.as_array() else {
                        return Err(self.err(&here, "must be a list"));
                    };
                    // `anyOf: [{type: integer}, {type: string}]` restates int-or-string.
                    let restates_type = |b: &Value| {
                        b.as_object().is_some_and(|o| {
                            o.len() == 1
                                && matches!(
                                    o.get("type").and_then(Value::as_str),
                                    Some("integer" | "string")
                                )
                        })
                    };
                    if int_or_string && key == "anyOf" && list.iter().all(restates_type) {
                        continue;
                    }
                    let value_mode = Mode {
                        structural: false,
                        nullable: false,
                    };
                    let mut branches = Vec::with_capacity(list.len());
                    for (i, b) in list.iter().enumerate() {
                        branches.push(self.node(b, &format!("{here}[{i}]"), value_mode)?);
                    }
                    out.insert(key.clone(), Value::Array(branches));
                    combinators = true;
                }
                "not" => {
                    let value_mode = Mode {
                        structural: false,
                        nullable: false,
                    };
                    out.insert(key.clone(), self.node(value, &here, value_mode)?);
                    combinators = true;
                }
                "enum" => {
                    if !value.is_array() {
                        return Err(self.err(&here, "must be a list"));
                    }
                    out.insert(key.clone(), value.clone());
                }
                "pattern" => {
                    if !value.is_string() {
                        return Err(self.err(&here, "must be a string"));
                    }
                    out.insert(key.clone(), value.clone());
                }
                "minimum" | "maximum" | "multipleOf" => {
                    if !value.is_number() {
                        return Err(self.err(&here, "must be a number"));
                    }
                    out.insert(key.clone(), value.clone());
                }
                "minLength" | "maxLength" | "minItems" | "maxItems" | "minProperties"
                | "maxProperties" => {
                    if !value.is_u64() {
                        return Err(self.err(&here, "must be a non-negative integer"));
                    }
                    out.insert(key.clone(), value.clone());
                }
                "uniqueItems" if as_bool(Some(value)) => {
                    out.insert(key.clone(), Value::Bool(true));
                }
                "format" => match value.as_str() {
                    Some("int32") => {
                        out.entry("minimum").or_insert(json!(INT32.0));
                        out.entry("maximum").or_insert(json!(INT32.1));
                    }
                    Some("int64") => {
                        out.entry("minimum").or_insert(json!(i64::MIN));
                        out.entry("maximum").or_insert(json!(i64::MAX));
                    }
                    Some("byte") => {
                        out.insert(key.clone(), value.clone());
                    }
                    _ => {}
                },
                // Handled below (they need `minimum` / `maximum`).
                "exclusiveMinimum" | "exclusiveMaximum" => {}
                // Annotations, defaults, CEL rules and keywords structural schemas forbid.
                _ => {}
            }
        }
        for (flag, bound) in [
            ("exclusiveMinimum", "minimum"),
            ("exclusiveMaximum", "maximum"),
        ] {
            if as_bool(s.get(flag))
                && let Some(limit) = s.get(bound).filter(|v| v.is_number())
            {
                out.remove(bound);
                out.insert(flag.into(), limit.clone());
            }
        }

        if embedded {
            let props = out
                .entry("properties")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(props) = props {
                props
                    .entry("apiVersion")
                    .or_insert_with(|| json!({"type": "string"}));
                props
                    .entry("kind")
                    .or_insert_with(|| json!({"type": "string"}));
                props.insert("metadata".into(), json!({"$ref": self.object_meta}));
            }
        }
        if mode.structural && is_object && !preserve && !out.contains_key("additionalProperties") {
            out.insert("additionalProperties".into(), Value::Bool(false));
        }

        if !types.is_empty() {
            if nullable && !combinators {
                types.push("null".into());
            }
            out.insert(
                "type".into(),
                if types.len() == 1 {
                    types.remove(0)
                } else {
                    Value::Array(types)
                },
            );
        }
        let out = Value::Object(out);
        if nullable && combinators {
            // `null` must not be checked against the combinators' branches.
            return Ok(json!({"anyOf": [{"type": "null"}, out]}));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd(schema: Value) -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "names": {"kind": "Widget", "plural": "widgets"},
                "scope": "Namespaced",
                "versions": [
                    {"name": "v1", "served": true, "storage": true,
                     "schema": {"openAPIV3Schema": schema}},
                    {"name": "v0", "served": false, "storage": false}
                ]
            }
        })
    }

    #[test]
    fn converts_served_versions_with_root_fields() {
        let out = convert(
            &crd(
                json!({"type": "object", "properties": {"spec": {"type": "object",
                "properties": {"size": {"type": "integer", "format": "int32"}}}}}),
            ),
            "META",
        )
        .expect("converts");
        assert_eq!(out.len(), 1);
        let s = &out[0].schema;
        assert_eq!(out[0].api_version, "example.com/v1");
        assert_eq!(s["properties"]["kind"]["enum"], json!(["Widget"]));
        assert_eq!(s["properties"]["metadata"]["$ref"], json!("META"));
        assert_eq!(s["additionalProperties"], json!(false));
        let size = &s["properties"]["spec"]["properties"]["size"];
        assert_eq!(size["maximum"], json!(2147483647));
        assert_eq!(size["type"], json!(["integer", "null"]));
    }

    #[test]
    fn broken_schemas_are_errors() {
        for bad in [
            json!({"type": 3}),
            json!({"type": "object", "required": "spec"}),
            json!({"type": "object", "properties": []}),
            json!({"type": "object", "properties": {"a": {"type": "array", "items": [{}]}}}),
            json!("nope"),
        ] {
            let err = convert(&crd(bad.clone()), "M").expect_err("broken");
            assert!(
                matches!(err, CrdError::InvalidSchema { .. }),
                "{bad}: {err}"
            );
        }
        let mut no_group = crd(json!({}));
        no_group["spec"]
            .as_object_mut()
            .expect("spec")
            .remove("group");
        assert!(matches!(
            convert(&no_group, "M"),
            Err(CrdError::MissingField {
                field: "spec.group",
                ..
            })
        ));
        assert!(matches!(
            convert(&json!({"kind": "ConfigMap"}), "M"),
            Err(CrdError::NotACrd)
        ));
    }
}
