use std::sync::OnceLock;

use serde_json::{Value, json};

use super::*;

fn set() -> &'static SchemaSet {
    static SET: OnceLock<SchemaSet> = OnceLock::new();
    SET.get_or_init(|| SchemaSet::builtin("1.30").expect("1.30 loads"))
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "prod", "labels": {"app.kubernetes.io/name": "web"},
                     "creationTimestamp": null},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "name": "web",
                        "image": "nginx:1.27",
                        "ports": [{"containerPort": 80}],
                        "resources": {"limits": {"cpu": 1, "memory": "128Mi"},
                                      "requests": {"cpu": "500m", "memory": 0.5}}
                    }],
                    "volumes": [{"name": "c", "configMap": {"name": "c", "defaultMode": 420}}]
                }
            }
        }
    })
}

fn with(mut v: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    let target = v.pointer_mut(parent).expect("parent exists");
    match target {
        Value::Object(m) => {
            m.insert(key.to_string(), value);
        }
        Value::Array(a) => a[key.parse::<usize>().expect("index")] = value,
        _ => panic!("not a container"),
    }
    v
}

fn messages(v: &Value) -> Vec<String> {
    set()
        .validate(v)
        .expect("validated")
        .into_iter()
        .map(|v| v.message)
        .collect()
}

#[test]
fn valid_deployment_has_no_violations() {
    assert_eq!(messages(&deployment()), Vec::<String>::new());
}

#[test]
fn wrong_type_is_reported_with_path_and_value() {
    let v = with(deployment(), "/spec/replicas", json!("three"));
    let found = set().validate(&v).expect("validated");
    assert_eq!(
        found,
        vec![Violation {
            pointer: "/spec/replicas".into(),
            message: "spec.replicas: expected integer, got string \"three\"".into(),
            value: Some("\"three\"".into()),
        }]
    );
    let v = with(
        deployment(),
        "/spec/template/spec/containers/0/ports/0/containerPort",
        json!("80"),
    );
    assert_eq!(
        messages(&v),
        vec![
            "spec.template.spec.containers[0].ports[0].containerPort: expected integer, got string \"80\""
        ]
    );
}

#[test]
fn unknown_fields_are_errors() {
    let v = with(deployment(), "/spec/replica", json!(2));
    let found = set().validate(&v).expect("validated");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].pointer, "/spec/replica");
    assert_eq!(found[0].message, "spec.replica: unknown field");
    assert_eq!(found[0].value.as_deref(), Some("2"));
    // metadata is validated as ObjectMeta.
    let v = with(deployment(), "/metadata/labelz", json!({}));
    assert_eq!(messages(&v), vec!["metadata.labelz: unknown field"]);
    // At the root.
    let v = with(deployment(), "/metafffdata", json!({}));
    assert_eq!(messages(&v), vec!["metafffdata: unknown field"]);
}

#[test]
fn maps_allow_any_key() {
    let v = with(
        deployment(),
        "/metadata/annotations",
        json!({"example.com/any": "x", "b": "y"}),
    );
    assert_eq!(messages(&v), Vec::<String>::new());
    let v = with(deployment(), "/metadata/annotations", json!({"n": 1}));
    assert_eq!(
        messages(&v),
        vec!["metadata.annotations.n: expected string, got integer 1"]
    );
    let v = with(
        deployment(),
        "/metadata/labels",
        json!({"app.kubernetes.io/x": 1}),
    );
    assert_eq!(
        messages(&v),
        vec!["metadata.labels[\"app.kubernetes.io/x\"]: expected string, got integer 1"]
    );
}

#[test]
fn integer_formats_are_range_checked() {
    let v = with(deployment(), "/spec/replicas", json!(9_999_999_999_i64));
    assert_eq!(
        messages(&v),
        vec!["spec.replicas: 9999999999 is greater than the maximum 2147483647"]
    );
    let v = with(deployment(), "/spec/replicas", json!(2_147_483_647));
    assert_eq!(messages(&v), Vec::<String>::new());
    let v = with(deployment(), "/spec/replicas", json!(-2_147_483_649_i64));
    assert_eq!(messages(&v).len(), 1);
    // int64 fields take larger values.
    let v = with(
        deployment(),
        "/spec/template/spec/terminationGracePeriodSeconds",
        json!(9_999_999_999_i64),
    );
    assert_eq!(messages(&v), Vec::<String>::new());
    let v = with(deployment(), "/spec/replicas", json!(1.5));
    assert_eq!(
        messages(&v),
        vec!["spec.replicas: expected integer, got number 1.5"]
    );
}

#[test]
fn int_or_string_is_accepted_like_the_api_server() {
    for ok in [json!(1), json!("25%"), json!(null), json!("3")] {
        let v = with(
            deployment(),
            "/spec/strategy/rollingUpdate/maxSurge",
            ok.clone(),
        );
        assert_eq!(messages(&v), Vec::<String>::new(), "{ok}");
    }
    let v = with(
        deployment(),
        "/spec/strategy/rollingUpdate/maxSurge",
        json!(1.5),
    );
    assert_eq!(
        messages(&v),
        vec!["spec.strategy.rollingUpdate.maxSurge: expected integer or string, got number 1.5"]
    );
    let v = with(
        deployment(),
        "/spec/strategy/rollingUpdate/maxSurge",
        json!(true),
    );
    assert_eq!(messages(&v).len(), 1);
    let v = with(
        deployment(),
        "/spec/strategy/rollingUpdate/maxSurge",
        json!(4_294_967_296_i64),
    );
    assert_eq!(messages(&v).len(), 1);
}

#[test]
fn quantities_follow_the_quantity_grammar() {
    let limits = "/spec/template/spec/containers/0/resources/limits/cpu";
    for ok in [
        json!(1),
        json!(0.5),
        json!("500m"),
        json!("1"),
        json!("1.5"),
        json!("128Mi"),
        json!("1e3"),
        json!("2E"),
        json!("+1k"),
        json!(".5"),
    ] {
        let v = with(deployment(), limits, ok.clone());
        assert_eq!(messages(&v), Vec::<String>::new(), "{ok}");
    }
    for bad in ["5 GB", "5GB", "", "1e", "abc", "1Mb", "m"] {
        let v = with(deployment(), limits, json!(bad));
        let found = messages(&v);
        assert_eq!(found.len(), 1, "{bad}");
        assert!(
            found[0].contains("is not a valid quantity"),
            "{bad}: {found:?}"
        );
    }
    let v = with(deployment(), limits, json!("5 GB"));
    assert_eq!(
        messages(&v),
        vec![
            "spec.template.spec.containers[0].resources.limits.cpu: \"5 GB\" is not a valid quantity (examples: 1, 0.5, 500m, 128Mi, 2G)"
        ]
    );
}

#[test]
fn required_fields_are_reported_where_they_belong() {
    let mut v = deployment();
    v.pointer_mut("/spec/template/spec/containers/0")
        .and_then(Value::as_object_mut)
        .expect("container")
        .remove("name");
    let found = set().validate(&v).expect("validated");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].pointer, "/spec/template/spec/containers/0/name");
    assert_eq!(
        found[0].message,
        "spec.template.spec.containers[0].name: required field is missing"
    );
}

#[test]
fn several_violations_are_all_reported() {
    let v = with(deployment(), "/spec/replicas", json!("x"));
    let v = with(v, "/spec/paused", json!("yes"));
    let v = with(v, "/spec/foo", json!(1));
    assert_eq!(
        messages(&v),
        vec![
            "spec.foo: unknown field",
            "spec.paused: expected boolean, got string \"yes\"",
            "spec.replicas: expected integer, got string \"x\"",
        ]
    );
}

#[test]
fn secret_data_must_be_base64() {
    let secret = |data: Value| {
        json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "s"}, "data": data, "stringData": {"x": "plain"}})
    };
    assert_eq!(
        messages(&secret(json!({"a": "aGVsbG8=", "b": "aGVs\nbG8="}))),
        Vec::<String>::new()
    );
    assert_eq!(
        messages(&secret(json!({"a": "hello world"}))),
        vec!["data.a: not valid base64"]
    );
}

#[test]
fn resources_that_cannot_be_checked() {
    let s = set();
    assert_eq!(
        s.validate(&json!([1])),
        Err(ValidateError::NotAnObject("array"))
    );
    assert_eq!(
        s.validate(&json!({"kind": "ConfigMap"})),
        Err(ValidateError::MissingTypeField("apiVersion"))
    );
    assert_eq!(
        s.validate(&json!({"apiVersion": "v1", "kind": 3})),
        Err(ValidateError::MissingTypeField("kind"))
    );
    let cr = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "a"}});
    assert!(matches!(
        s.validate(&cr),
        Err(ValidateError::NoSchema { .. })
    ));
    let hpa = json!({"apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "a"}});
    let err = s.validate(&hpa).expect_err("removed");
    assert_eq!(
        err.to_string(),
        "autoscaling/v2beta2 HorizontalPodAutoscaler is not served by Kubernetes 1.30: removed in 1.26; use autoscaling/v2"
    );
    let typo = json!({"apiVersion": "apps/v1", "kind": "Deploymnt", "metadata": {"name": "a"}});
    assert_eq!(
        s.validate(&typo).expect_err("typo").to_string(),
        "apps/v1 Deploymnt does not exist in Kubernetes 1.30"
    );
}

#[test]
fn unknown_versions_are_errors() {
    assert!(matches!(
        SchemaSet::builtin("1.12"),
        Err(SchemaError::UnsupportedVersion { .. })
    ));
    assert!(matches!(
        SchemaSet::builtin("latest"),
        Err(SchemaError::InvalidVersion(_))
    ));
}

#[test]
fn every_bundled_version_compiles_a_deployment() {
    for v in supported_versions() {
        let s = SchemaSet::builtin(v).expect("loads");
        assert_eq!(s.validate(&deployment()), Ok(vec![]), "{v}");
    }
}

fn widget_crd(props: Value) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
            "scope": "Namespaced",
            "versions": [
                {"name": "v1", "served": true, "storage": true,
                 "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                     "spec": {"type": "object", "properties": props, "required": ["size"]},
                     "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                 }}}},
                {"name": "v1beta1", "served": true, "storage": false,
                 "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}
            ]
        }
    })
}

fn crd_set() -> SchemaSet {
    let mut s = SchemaSet::builtin("1.30").expect("loads");
    let added = s
        .add_crd(&widget_crd(json!({
            "size": {"type": "integer", "format": "int32", "minimum": 1},
            "port": {"x-kubernetes-int-or-string": true,
                     "anyOf": [{"type": "integer"}, {"type": "string"}]},
            "note": {"type": "string", "nullable": true, "maxLength": 5},
            "mode": {"type": "string", "enum": ["a", "b"]},
            "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                       "properties": {"level": {"type": "integer"}}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                         "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}}},
            "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": true},
            "cpu": {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+m$"}],
                    "x-kubernetes-int-or-string": true}
        })))
        .expect("adds");
    assert_eq!(
        added.kinds,
        vec![
            ("example.com/v1".to_string(), "Widget".to_string()),
            ("example.com/v1beta1".to_string(), "Widget".to_string())
        ]
    );
    assert_eq!(added.violations, vec![]);
    s
}

fn widget(spec: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget",
           "metadata": {"name": "w", "namespace": "n"}, "spec": spec})
}

#[test]
fn crd_kinds_are_validated() {
    let s = crd_set();
    let check = |spec: Value| -> Vec<String> {
        s.validate(&widget(spec))
            .expect("validated")
            .into_iter()
            .map(|v| v.message)
            .collect()
    };
    assert_eq!(
        check(json!({"size": 2, "port": "http", "note": null, "mode": "a",
            "config": {"anything": {"goes": 1}, "level": 3},
            "labels": {"x": "y"},
            "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"a": "b"}},
            "ratio": 0.5, "cpu": 3})),
        Vec::<String>::new()
    );
    assert_eq!(
        check(json!({"size": 0, "extra": 1})),
        vec![
            "spec.extra: unknown field",
            "spec.size: 0 is less than the minimum 1"
        ]
    );
    assert_eq!(
        check(json!({})),
        vec!["spec.size: required field is missing"]
    );
    assert_eq!(
        check(json!({"size": 1, "port": 1.5})),
        vec!["spec.port: expected integer or string, got number 1.5"]
    );
    assert_eq!(
        check(json!({"size": 1, "mode": "c"})),
        vec!["spec.mode: expected one of \"a\", \"b\", got string \"c\""]
    );
    assert_eq!(
        check(json!({"size": 1, "config": {"level": "high"}})),
        vec!["spec.config.level: expected integer, got string \"high\""]
    );
    assert_eq!(
        check(json!({"size": 1, "template": {"metadata": {"nam": "p"}, "spec": {"b": 1}}})),
        vec![
            "spec.template.metadata.nam: unknown field",
            "spec.template.spec.b: unknown field"
        ]
    );
    assert_eq!(
        check(json!({"size": 1, "ratio": 0})),
        vec!["spec.ratio: 0 is less than or equal to the minimum of 0"]
    );
    assert_eq!(check(json!({"size": 1, "cpu": "5"})).len(), 1);
    assert_eq!(
        check(json!({"size": 5_000_000_000_i64})),
        vec!["spec.size: 5000000000 is greater than the maximum 2147483647"]
    );
    // Root: apiVersion/kind fixed, metadata is ObjectMeta, status preserves unknown fields.
    let mut w = widget(json!({"size": 1}));
    w["metadata"]["labels"] = json!({"a": 1});
    w["status"] = json!({"whatever": [1, 2]});
    w["bogus"] = json!(1);
    let found: Vec<String> = s
        .validate(&w)
        .expect("validated")
        .into_iter()
        .map(|v| v.message)
        .collect();
    assert_eq!(
        found,
        vec![
            "bogus: unknown field",
            "metadata.labels.a: expected string, got integer 1"
        ]
    );
    // The other served version has no structure: anything goes except root metadata.
    let v1beta1 = json!({"apiVersion": "example.com/v1beta1", "kind": "Widget",
        "metadata": {"name": "w"}, "spec": {"anything": true}});
    assert_eq!(s.validate(&v1beta1), Ok(vec![]));
}

#[test]
fn the_crd_object_itself_is_validated() {
    let mut s = SchemaSet::builtin("1.30").expect("loads");
    let mut crd = widget_crd(json!({"size": {"type": "integer"}}));
    crd["spec"]["scope"] = json!(3);
    crd["spec"]["bogus"] = json!(true);
    let added = s.add_crd(&crd).expect("still converts");
    let found: Vec<&str> = added
        .violations
        .iter()
        .map(|v| v.message.as_str())
        .collect();
    assert_eq!(
        found,
        vec![
            "spec.bogus: unknown field",
            "spec.scope: expected string, got integer 3"
        ]
    );
    // As a resource, a CRD validates against the built-in schema too.
    assert_eq!(s.validate(&crd).expect("validated").len(), 2);
}

#[test]
fn a_broken_crd_is_an_error_for_that_crd_only() {
    let mut s = crd_set();
    let mut broken = widget_crd(json!({"size": {"type": ["integer"]}}));
    broken["spec"]["names"]["kind"] = json!("Gadget");
    assert!(matches!(
        s.add_crd(&broken),
        Err(CrdError::InvalidSchema { .. })
    ));
    // A pattern the regex engine rejects: the kind reports a broken schema on use.
    let mut bad_pattern = widget_crd(json!({"size": {"type": "string", "pattern": "(unclosed"}}));
    bad_pattern["spec"]["names"]["kind"] = json!("Gizmo");
    s.add_crd(&bad_pattern).expect("converts");
    let gizmo = json!({"apiVersion": "example.com/v1", "kind": "Gizmo",
        "metadata": {"name": "g"}, "spec": {"size": "x"}});
    assert!(matches!(
        s.validate(&gizmo),
        Err(ValidateError::BrokenSchema { .. })
    ));
    // Everything else still validates.
    assert_eq!(s.validate(&widget(json!({"size": 1}))), Ok(vec![]));
    assert_eq!(s.validate(&deployment()), Ok(vec![]));
}

#[test]
fn validate_all_runs_in_parallel_and_keeps_order() {
    let good = deployment();
    let bad = with(deployment(), "/spec/replicas", json!("x"));
    let input: Vec<Value> = (0..200)
        .map(|i| {
            if i % 2 == 0 {
                good.clone()
            } else {
                bad.clone()
            }
        })
        .collect();
    let results = set().validate_all(&input);
    for (i, r) in results.iter().enumerate() {
        let n = r.as_ref().expect("validated").len();
        assert_eq!(n, i % 2, "{i}");
    }
}
