use std::collections::BTreeMap;

use super::*;

fn deployment(ns: &str, name: &str, image: &str, replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app: {name}
  name: {name}
  namespace: {ns}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
      - env:
        - name: A
          value: a
        - name: B
          value: b
        - name: C
          value: c
        image: {image}
        name: main
        ports:
        - containerPort: 8080
"
    )
}

fn service(ns: &str, name: &str) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
spec:
  ports:
  - port: 80
"
    )
}

fn config_map(ns: &str, name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1
data:
  key: {value}
kind: ConfigMap
metadata:
  name: {name}
  namespace: {ns}
"
    )
}

fn manifest(docs: &[String]) -> String {
    docs.join("---\n")
}

fn files(manifest: String) -> AppFiles {
    BTreeMap::from([("manifest.yaml".to_owned(), manifest)])
}

fn texts(apps: &[(&str, &str, AppFiles)]) -> Texts {
    let mut t = Texts::new();
    for (env, app, f) in apps {
        t.entry((*env).to_owned())
            .or_default()
            .insert((*app).to_owned(), f.clone());
    }
    t
}

fn diff(base: &Texts, head: &Texts) -> Diff {
    match diff_texts(base, head) {
        Ok(d) => d,
        Err(e) => panic!("diff failed: {e}"),
    }
}

fn no_owners(_: &str) -> Vec<String> {
    Vec::new()
}

fn id(group: &str, kind: &str, ns: &str, name: &str) -> ResourceId {
    ResourceId {
        group: group.into(),
        kind: kind.into(),
        namespace: ns.into(),
        name: name.into(),
    }
}

#[test]
fn identical_inputs_give_an_empty_diff() {
    let m = manifest(&[
        deployment("web", "web", "nginx:1", 2),
        service("web", "web"),
    ]);
    let t = texts(&[("prod", "web", files(m.clone())), ("dev", "web", files(m))]);
    let d = diff(&t, &t);
    assert!(d.is_empty());
    assert_eq!(render_human(&d, false), "No changes.\n");
    assert!(render_markdown(&d, &no_owners, DEFAULT_MARKDOWN_CAP).contains("No changes."));
    assert!(render_json(&d).contains("\"envs\": []"));

    // The same objects written differently (other key order) are equal too.
    let reordered = "kind: Service\napiVersion: v1\nspec:\n  ports:\n  - port: 80\nmetadata:\n  namespace: web\n  name: web\n";
    let a = texts(&[("prod", "web", files(service("web", "web")))]);
    let b = texts(&[("prod", "web", files(reordered.to_owned()))]);
    assert!(diff(&a, &b).is_empty());
}

#[test]
fn added_removed_and_changed_resources() {
    let base = texts(&[(
        "prod",
        "web",
        files(manifest(&[
            deployment("web", "web", "nginx:1", 2),
            service("web", "old"),
        ])),
    )]);
    let head = texts(&[(
        "prod",
        "web",
        files(manifest(&[
            deployment("web", "web", "nginx:2", 2),
            service("web", "new"),
        ])),
    )]);
    let d = diff(&base, &head);
    assert_eq!(d.envs.len(), 1);
    let app = &d.envs[0].apps[0];
    assert_eq!((d.envs[0].env.as_str(), app.app.as_str()), ("prod", "web"));
    assert_eq!(app.status, AppStatus::Changed);
    assert_eq!(app.added, vec![id("", "Service", "web", "new")]);
    assert_eq!(app.removed, vec![id("", "Service", "web", "old")]);
    assert_eq!(app.changed.len(), 1);
    let change = &app.changed[0];
    assert_eq!(change.id, id("apps", "Deployment", "web", "web"));
    assert!(change.secret.is_none());
    let expected = "\
--- base/prod/web: apps/Deployment web/web
+++ head/prod/web: apps/Deployment web/web
@@ -23,7 +23,7 @@
           value: b
         - name: C
           value: c
-        image: nginx:1
+        image: nginx:2
         name: main
         ports:
         - containerPort: 8080
";
    assert_eq!(change.unified_diff, expected);

    let human = render_human(&d, false);
    assert!(
        human.contains("  prod/web: 1 added, 1 changed, 1 removed\n"),
        "{human}"
    );
    assert!(human.contains("    + Service web/new\n"));
    assert!(human.contains("    - Service web/old\n"));
    assert!(human.contains("    ~ apps/Deployment web/web\n"));
    assert!(human.contains(expected));
    assert!(!human.contains('\x1b'));
    let colored = render_human(&d, true);
    assert!(colored.contains("\x1b[32m+        image: nginx:2\x1b[0m"));
    assert!(colored.contains("\x1b[31m-        image: nginx:1\x1b[0m"));
}

#[test]
fn added_and_removed_apps_and_environments() {
    let base = texts(&[
        ("prod", "old", files(service("a", "a"))),
        ("gone", "x", files(service("x", "x"))),
    ]);
    let head = texts(&[("prod", "new", files(service("b", "b")))]);
    let d = diff(&base, &head);
    let envs: Vec<_> = d.envs.iter().map(|e| e.env.as_str()).collect();
    assert_eq!(envs, ["gone", "prod"]);
    assert_eq!(d.envs[0].apps[0].status, AppStatus::Removed);
    let prod: Vec<_> = d.envs[1]
        .apps
        .iter()
        .map(|a| (a.app.as_str(), a.status))
        .collect();
    assert_eq!(
        prod,
        [("new", AppStatus::Added), ("old", AppStatus::Removed)]
    );
}

#[test]
fn resource_moved_between_apps_is_a_move() {
    let cm = config_map("shared", "settings", "one");
    let base = texts(&[
        (
            "prod",
            "a",
            files(manifest(&[service("a", "a"), cm.clone()])),
        ),
        ("prod", "b", files(service("b", "b"))),
    ]);
    let head = texts(&[
        ("prod", "a", files(service("a", "a"))),
        ("prod", "b", files(manifest(&[service("b", "b"), cm]))),
    ]);
    let d = diff(&base, &head);
    let apps = &d.envs[0].apps;
    assert_eq!(apps.len(), 2);
    let settings = id("", "ConfigMap", "shared", "settings");
    assert!(apps[0].added.is_empty() && apps[0].removed.is_empty());
    assert_eq!(
        apps[0].moved_out,
        vec![MovedOut {
            id: settings.clone(),
            to: "b".into()
        }]
    );
    assert_eq!(
        apps[1].moved_in,
        vec![MovedIn {
            id: settings.clone(),
            from: "a".into(),
            change: None
        }]
    );
    assert_eq!(d.totals().moved, 1);
    let human = render_human(&d, false);
    assert!(
        human.contains("> ConfigMap shared/settings (moved from app a)"),
        "{human}"
    );
    assert!(human.contains("< ConfigMap shared/settings (moved to app b)"));

    // Moved and changed on the way: the diff names both apps.
    let head = texts(&[
        ("prod", "a", files(service("a", "a"))),
        (
            "prod",
            "b",
            files(manifest(&[
                service("b", "b"),
                config_map("shared", "settings", "two"),
            ])),
        ),
    ]);
    let d = diff(&base, &head);
    let moved = &d.envs[0].apps[1].moved_in[0];
    let change = moved.change.as_ref().map(|c| c.unified_diff.as_str());
    assert_eq!(
        change,
        Some(
            "--- base/prod/a: ConfigMap shared/settings\n\
             +++ head/prod/b: ConfigMap shared/settings\n\
             @@ -1,6 +1,6 @@\n \
             apiVersion: v1\n \
             data:\n\
             -  key: one\n\
             +  key: two\n \
             kind: ConfigMap\n \
             metadata:\n   \
             name: settings\n"
        )
    );
}

#[test]
fn reordered_list_items_are_summarised() {
    let base = deployment("web", "web", "nginx:1", 2);
    let head = base.replace(
        "        - name: A\n          value: a\n        - name: B\n          value: b\n",
        "        - name: B\n          value: b\n        - name: A\n          value: a\n",
    );
    assert_ne!(base, head);
    let d = diff(
        &texts(&[("prod", "web", files(base))]),
        &texts(&[("prod", "web", files(head))]),
    );
    let change = &d.envs[0].apps[0].changed[0];
    assert_eq!(
        change.reordered,
        vec![ListReorder {
            path: "spec.template.spec.containers[0].env".into(),
            items: 3
        }]
    );
    assert!(
        render_human(&d, false)
            .contains("[spec.template.spec.containers[0].env: 3 items reordered]")
    );
}

const CANARY: &str = "hunter2-CANARY-s3cr3t";
const CANARY_2: &str = "an0ther-CANARY-value";

fn b64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn secret(data: &[(&str, &str)], string_data: &[(&str, &str)]) -> String {
    let mut text = String::from("apiVersion: v1\n");
    if !data.is_empty() {
        text.push_str("data:\n");
        for (k, v) in data {
            text.push_str(&format!("  {k}: {}\n", b64(v)));
        }
    }
    text.push_str("kind: Secret\nmetadata:\n  name: creds\n  namespace: web\n");
    if !string_data.is_empty() {
        text.push_str("stringData:\n");
        for (k, v) in string_data {
            text.push_str(&format!("  {k}: {v}\n"));
        }
    }
    text.push_str("type: Opaque\n");
    text
}

fn sops_secret(password_ciphertext: &str, mac: &str) -> String {
    format!(
        "apiVersion: v1
data:
  password: ENC[AES256_GCM,data:{password_ciphertext},iv:abc,tag:def,type:str]
  user: ENC[AES256_GCM,data:dXNlcg,iv:ghi,tag:jkl,type:str]
kind: Secret
metadata:
  name: db
  namespace: web
sops:
  age:
  - enc: |
      -----BEGIN AGE ENCRYPTED FILE-----
      {password_ciphertext}
      -----END AGE ENCRYPTED FILE-----
    recipient: age1example
  lastmodified: \"2024-01-01T00:00:00Z\"
  mac: ENC[AES256_GCM,data:{mac},iv:x,tag:y,type:str]
  version: 3.9.0
"
    )
}

fn assert_no_leak(output: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!output.contains(s), "{s:?} leaked into:\n{output}");
        assert!(
            !output.contains(&b64(s)),
            "base64 of {s:?} leaked into:\n{output}"
        );
    }
}

#[test]
fn secret_changes_name_keys_and_never_values() {
    let base = secret(
        &[("password", CANARY), ("stable", CANARY), ("old", CANARY)],
        &[("token", CANARY)],
    );
    let head = secret(
        &[
            ("password", CANARY_2),
            ("stable", CANARY),
            ("new", CANARY_2),
        ],
        &[("token", CANARY_2)],
    )
    .replace("type: Opaque", "type: kubernetes.io/basic-auth");
    let sops_base = sops_secret("Q0FOQVJZY2lwaGVy", "bWFjMQ");
    let sops_head = sops_secret("Q0FOQVJZY2lwaGVyMg", "bWFjMg");
    let base_t = texts(&[(
        "prod",
        "web",
        BTreeMap::from([
            ("manifest.yaml".to_owned(), base),
            ("secrets/web.db.yaml".to_owned(), sops_base),
        ]),
    )]);
    let head_t = texts(&[(
        "prod",
        "web",
        BTreeMap::from([
            ("manifest.yaml".to_owned(), head),
            ("secrets/web.db.yaml".to_owned(), sops_head),
        ]),
    )]);
    let d = diff(&base_t, &head_t);
    let app = &d.envs[0].apps[0];
    assert_eq!(app.changed.len(), 2);
    let creds = &app.changed[0];
    assert_eq!(creds.id, id("", "Secret", "web", "creds"));
    assert_eq!(
        creds.secret,
        Some(SecretChange {
            added: vec!["data.new".into()],
            removed: vec!["data.old".into()],
            changed: vec!["data.password".into(), "stringData.token".into()],
        })
    );
    // Non-secret fields still show in the diff; values are placeholders.
    assert!(
        creds
            .unified_diff
            .contains("+type: kubernetes.io/basic-auth")
    );
    assert!(
        creds
            .unified_diff
            .contains("+  password: '<redacted: changed>'"),
        "{}",
        creds.unified_diff
    );
    assert!(
        creds.unified_diff.contains("-  old: <redacted>"),
        "{}",
        creds.unified_diff
    );
    let db = &app.changed[1];
    assert_eq!(db.id, id("", "Secret", "web", "db"));
    assert_eq!(
        db.secret,
        Some(SecretChange {
            added: vec![],
            removed: vec![],
            changed: vec!["data.password".into(), "sops".into()],
        })
    );

    let outputs = [
        render_human(&d, false),
        render_human(&d, true),
        render_markdown(&d, &no_owners, DEFAULT_MARKDOWN_CAP),
        render_json(&d),
        format!("{d:?}"),
    ];
    for output in &outputs {
        assert_no_leak(
            output,
            &[
                CANARY,
                CANARY_2,
                "Q0FOQVJZY2lwaGVy",
                "bWFjMQ",
                "bWFjMg",
                "dXNlcg",
                "ENC[",
            ],
        );
    }
    assert!(outputs[0].contains(
        "~ Secret web/creds [secret: keys added: data.new; keys changed: data.password, stringData.token; keys removed: data.old]"
    ), "{}", outputs[0]);
}

#[test]
fn secret_with_only_a_value_change_has_no_diff_body_and_moves_stay_redacted() {
    let base = texts(&[
        ("prod", "a", files(secret(&[("password", CANARY)], &[]))),
        ("prod", "b", files(service("b", "b"))),
    ]);
    let head = texts(&[
        ("prod", "a", files(service("a", "a"))),
        (
            "prod",
            "b",
            files(manifest(&[
                service("b", "b"),
                secret(&[("password", CANARY_2)], &[]),
            ])),
        ),
    ]);
    let d = diff(&base, &head);
    let moved = &d.envs[0].apps[1].moved_in[0];
    let change = moved.change.as_ref().map(|c| c.secret.clone());
    assert_eq!(
        change,
        Some(Some(SecretChange {
            changed: vec!["data.password".into()],
            ..SecretChange::default()
        }))
    );
    for output in [
        render_human(&d, false),
        render_markdown(&d, &no_owners, DEFAULT_MARKDOWN_CAP),
        render_json(&d),
    ] {
        assert_no_leak(&output, &[CANARY, CANARY_2]);
    }

    // Only a value changed, in place: the resource is listed, its diff shows the marker.
    let base = texts(&[("prod", "a", files(secret(&[("password", CANARY)], &[])))]);
    let head = texts(&[("prod", "a", files(secret(&[("password", CANARY_2)], &[])))]);
    let d = diff(&base, &head);
    let change = &d.envs[0].apps[0].changed[0];
    assert!(change.unified_diff.contains("-  password: <redacted>"));
    assert!(
        change
            .unified_diff
            .contains("+  password: '<redacted: changed>'")
    );
    assert_no_leak(&render_json(&d), &[CANARY, CANARY_2]);
}

#[test]
fn sealed_secret_keys_are_redacted() {
    let sealed = |value: &str| {
        format!(
            "apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: s
  namespace: web
spec:
  encryptedData:
    token: {value}
  template:
    metadata:
      name: s
"
        )
    };
    let d = diff(
        &texts(&[("prod", "a", files(sealed("AgBcipher1CANARY")))]),
        &texts(&[("prod", "a", files(sealed("AgBcipher2CANARY")))]),
    );
    let change = &d.envs[0].apps[0].changed[0];
    assert_eq!(
        change.secret.as_ref().map(|s| s.changed.clone()),
        Some(vec!["spec.encryptedData.token".to_owned()])
    );
    assert_no_leak(&render_json(&d), &["AgBcipher"]);
    assert_no_leak(&render_human(&d, false), &["AgBcipher"]);
}

fn many_apps(n: usize, image: &str) -> Texts {
    let mut t = Texts::new();
    let env = t.entry("prod".to_owned()).or_default();
    for i in 0..n {
        let name = format!("app-{i:04}");
        env.insert(
            name.clone(),
            files(manifest(&[
                deployment(&name, &name, image, 2),
                service(&name, &name),
                config_map(&name, "settings", "value"),
            ])),
        );
    }
    t
}

#[test]
fn markdown_holds_the_cap_for_a_huge_diff_and_names_what_was_cut() {
    let d = diff(&many_apps(3_000, "nginx:1"), &many_apps(3_000, "nginx:2"));
    assert_eq!(d.app_count(), 3_000);
    let owners = |path: &str| vec![format!("@org/{}", path.replace('/', "-"))];
    let md = render_markdown(&d, &owners, DEFAULT_MARKDOWN_CAP);
    assert!(md.len() <= DEFAULT_MARKDOWN_CAP, "{}", md.len());
    assert!(md.starts_with("### kiln diff\n\n0 added, 3000 changed, 0 removed in 3000 app(s)"));
    assert!(md.contains("> [!NOTE]\n> Cut to fit the comment size limit (65000 characters)."));
    // The table is kept before the sections: every section (and so every diff) is cut, and
    // the note names the first ones and counts the rest.
    assert!(
        md.contains("> Sections omitted, with their diffs (3000 apps): `prod/app-0000`, "),
        "{}",
        &md[md.len() - 2_500..]
    );
    assert!(md.contains(" more.\n"));
    assert!(md.contains("> Table rows omitted: "));
    assert!(md.contains("| … | "));
    // Determinism.
    assert_eq!(md, render_markdown(&d, &owners, DEFAULT_MARKDOWN_CAP));

    // Small caps hold too.
    for cap in [0, 10, 200, 1_000, 5_000, 20_000] {
        let md = render_markdown(&d, &owners, cap);
        assert!(md.len() <= cap, "cap {cap}: {}", md.len());
    }
}

#[test]
fn markdown_drops_the_largest_diff_first_and_names_it() {
    let base = many_apps(20, "nginx:1");
    let mut head = many_apps(20, "nginx:2");
    // app-0007 gets a huge change.
    let big: String = (0..3_000).map(|i| format!("line {i}\n")).collect();
    if let Some(app) = head.get_mut("prod").and_then(|e| e.get_mut("app-0007")) {
        app.insert(
            "manifest.yaml".into(),
            manifest(&[
                deployment("app-0007", "app-0007", "nginx:2", 2),
                service("app-0007", "app-0007"),
                format!(
                    "apiVersion: v1\ndata:\n  key: |\n{}kind: ConfigMap\nmetadata:\n  name: settings\n  namespace: app-0007\n",
                    big.lines().map(|l| format!("    {l}\n")).collect::<String>()
                ),
            ]),
        );
    }
    let d = diff(&base, &head);
    let owners = |path: &str| {
        if path == "prod/app-0003" {
            vec![
                "@example/web-team".to_owned(),
                "@example/platform".to_owned(),
            ]
        } else {
            vec![]
        }
    };
    let full = render_markdown(&d, &owners, usize::MAX);
    assert!(full.len() > 20_000);
    assert!(!full.contains("[!NOTE]"));
    let md = render_markdown(&d, &owners, 20_000);
    assert!(md.len() <= 20_000);
    assert!(
        md.contains("> Diffs omitted (1 apps): `prod/app-0007`.\n"),
        "{md}"
    );
    assert!(!md.contains("Sections omitted"));
    assert!(md.contains(
        "<summary><b>prod/app-0003</b>: 0 added, 1 changed, 0 removed · owners: <code>@example/web-team</code> <code>@example/platform</code></summary>"
    ));
    assert!(md.contains("```diff\n--- base/prod/app-0003: apps/Deployment app-0003/app-0003\n"));
    assert!(md.contains("| prod | app-0019 | 0 | 1 | 0 | 0 |\n"));
    assert_eq!(md.matches("<details>").count(), 20);
}

#[test]
fn json_shape() {
    let base = texts(&[
        (
            "prod",
            "a",
            files(manifest(&[service("a", "gone"), config_map("a", "c", "1")])),
        ),
        ("prod", "b", files(service("b", "b"))),
    ]);
    let head = texts(&[
        ("prod", "a", files(config_map("a", "c", "2"))),
        ("prod", "c", files(service("b", "b"))),
    ]);
    let d = diff(&base, &head);
    let json = render_json(&d);
    let expected = r#"{
  "version": 1,
  "summary": {
    "envs": 1,
    "apps": 3,
    "added": 0,
    "changed": 1,
    "removed": 1,
    "moved": 1
  },
  "envs": [
    {
      "env": "prod",
      "apps": [
        {
          "app": "a",
          "status": "changed",
          "added": [],
          "removed": [
            {
              "group": "",
              "kind": "Service",
              "namespace": "a",
              "name": "gone"
            }
          ],
          "changed": [
            {
              "resource": {
                "group": "",
                "kind": "ConfigMap",
                "namespace": "a",
                "name": "c"
              },
              "renamed_from": null,
              "diff": "--- base/prod/a: ConfigMap a/c\n+++ head/prod/a: ConfigMap a/c\n@@ -1,6 +1,6 @@\n apiVersion: v1\n data:\n-  key: 1\n+  key: 2\n kind: ConfigMap\n metadata:\n   name: c\n",
              "reordered": [],
              "secret": null
            }
          ],
          "moved_in": [],
          "moved_out": []
        },
        {
          "app": "b",
          "status": "removed",
          "added": [],
          "removed": [],
          "changed": [],
          "moved_in": [],
          "moved_out": [
            {
              "resource": {
                "group": "",
                "kind": "Service",
                "namespace": "b",
                "name": "b"
              },
              "to": "c"
            }
          ]
        },
        {
          "app": "c",
          "status": "added",
          "added": [],
          "removed": [],
          "changed": [],
          "moved_in": [
            {
              "resource": {
                "group": "",
                "kind": "Service",
                "namespace": "b",
                "name": "b"
              },
              "from": "b",
              "change": null
            }
          ],
          "moved_out": []
        }
      ]
    }
  ]
}
"#;
    assert_eq!(json, expected);
    let parsed: serde_json::Value = match serde_json::from_str(&json) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(parsed["version"], 1);
}

#[test]
fn same_input_gives_the_same_bytes() {
    let base = many_apps(50, "nginx:1");
    let mut head = many_apps(50, "nginx:2");
    if let Some(env) = head.get_mut("prod") {
        env.remove("app-0003");
    }
    let render = |d: &Diff| {
        (
            render_human(d, true),
            render_markdown(d, &no_owners, 10_000),
            render_json(d),
        )
    };
    let first = diff(&base, &head);
    let second = diff(&base, &head);
    assert_eq!(first, second);
    assert_eq!(render(&first), render(&second));
    // diff_objects gives the same result as diff_texts.
    let objects = |t: &Texts| -> Objects {
        t.iter()
            .map(|(env, apps)| {
                let apps = apps
                    .iter()
                    .map(|(app, f)| {
                        let objs = f
                            .values()
                            .flat_map(|text| objects_from_manifest(text).unwrap_or_default())
                            .collect();
                        (app.clone(), objs)
                    })
                    .collect();
                (env.clone(), apps)
            })
            .collect()
    };
    assert_eq!(diff_objects(&objects(&base), &objects(&head)), first);
}

#[test]
fn unchanged_apps_are_not_parsed_and_bad_yaml_is_reported() {
    // A broken file in an app that is byte-identical on both sides is never parsed.
    let mut base = many_apps(3_000, "nginx:1");
    let broken = files("a: [\n".to_owned());
    if let Some(env) = base.get_mut("prod") {
        env.insert("broken".into(), broken.clone());
    }
    let mut head = base.clone();
    if let Some(app) = head.get_mut("prod").and_then(|e| e.get_mut("app-1234")) {
        app.insert(
            "manifest.yaml".into(),
            manifest(&[deployment("app-1234", "app-1234", "nginx:9", 2)]),
        );
        app.insert("README.md".into(), "ignored".into());
    }
    let start = std::time::Instant::now();
    let d = diff(&base, &head);
    let elapsed = start.elapsed();
    assert_eq!(d.app_count(), 1);
    let app = &d.envs[0].apps[0];
    assert_eq!(app.app, "app-1234");
    assert_eq!((app.changed.len(), app.removed.len()), (1, 2));
    eprintln!("3,000 apps, one changed: {elapsed:?}");

    // Only README.md differs: no change.
    let mut readme = base.clone();
    if let Some(app) = readme.get_mut("prod").and_then(|e| e.get_mut("app-0001")) {
        app.insert("README.md".into(), "new source commit".into());
    }
    assert!(diff(&base, &readme).is_empty());

    // The broken app differs: its error names the side, env, app and file.
    let mut head = base.clone();
    if let Some(env) = head.get_mut("prod") {
        env.insert("broken".into(), files("a: [\nb".to_owned()));
    }
    match diff_texts(&base, &head) {
        Err(DiffError::Parse {
            side,
            env,
            app,
            file,
            ..
        }) => assert_eq!(
            (side, env.as_str(), app.as_str(), file.as_str()),
            (Side::Base, "prod", "broken", "manifest.yaml")
        ),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn cluster_scoped_and_core_ids_display() {
    assert_eq!(
        id("rbac.authorization.k8s.io", "ClusterRole", "", "admin").to_string(),
        "rbac.authorization.k8s.io/ClusterRole admin"
    );
    assert_eq!(
        id("", "Service", "web", "web").to_string(),
        "Service web/web"
    );
    let objects = objects_from_manifest(
        "---\n# empty\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n",
    );
    let objects = objects.unwrap_or_default();
    assert_eq!(objects.len(), 1);
    assert_eq!(
        ResourceId::of(&objects[0]),
        id("apps", "Deployment", "", "x")
    );
}

#[test]
fn generated_names_with_a_new_hash_are_one_change() {
    assert_eq!(generated_stem("web-config-7kgk9bbht4"), Some("web-config"));
    assert_eq!(generated_stem("web-config-aaaaaaaaaa"), None);
    assert_eq!(generated_stem("-7kgk9bbht4"), None);
    assert_eq!(generated_stem("short"), None);

    let secret_named = |name: &str, value: &str| {
        secret(&[("password", value)], &[]).replace("name: creds", &format!("name: {name}"))
    };
    let base = texts(&[(
        "prod",
        "web",
        files(manifest(&[
            config_map("web", "web-config-7kgk9bbht4", "one"),
            secret_named("web-creds-b2c4d5f6g7", CANARY),
        ])),
    )]);
    let head = texts(&[(
        "prod",
        "web",
        files(manifest(&[
            config_map("web", "web-config-9m8t7h6g5f", "two"),
            secret_named("web-creds-h2k4m5t6b7", CANARY_2),
        ])),
    )]);
    let d = diff(&base, &head);
    let app = &d.envs[0].apps[0];
    assert!(app.added.is_empty() && app.removed.is_empty(), "{app:?}");
    assert_eq!(app.changed.len(), 2);
    let cm = &app.changed[0];
    assert_eq!(cm.id, id("", "ConfigMap", "web", "web-config-9m8t7h6g5f"));
    assert_eq!(cm.renamed_from.as_deref(), Some("web-config-7kgk9bbht4"));
    assert!(cm.unified_diff.starts_with(
        "--- base/prod/web: ConfigMap web/web-config-7kgk9bbht4\n+++ head/prod/web: ConfigMap web/web-config-9m8t7h6g5f\n"
    ));
    assert!(cm.unified_diff.contains("-  key: one\n+  key: two\n"));
    let s = &app.changed[1];
    assert_eq!(s.renamed_from.as_deref(), Some("web-creds-b2c4d5f6g7"));
    assert_eq!(
        s.secret.as_ref().map(|s| s.changed.clone()),
        Some(vec!["data.password".to_owned()])
    );
    let human = render_human(&d, false);
    assert!(
        human
            .contains("~ ConfigMap web/web-config-9m8t7h6g5f (renamed from web-config-7kgk9bbht4)")
    );
    for output in [
        human,
        render_json(&d),
        render_markdown(&d, &no_owners, 65_000),
    ] {
        assert_no_leak(&output, &[CANARY, CANARY_2]);
    }
}
