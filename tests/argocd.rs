//! The Argo CD Applications `kiln publish` writes into a rendered branch
//! (`publish::argocd`): every file kiln writes is valid against Argo CD's own Application CRD
//! (`testdata/argocd/application-crd.yaml`, `manifests/crds/application-crd.yaml` of
//! argoproj/argo-cd v3.5.1, Apache-2.0), checked with kiln's CRD validator; the output is
//! deterministic; wrong configurations fail with clear messages.

use std::sync::LazyLock;

use kiln::publish::argocd::{
    ArgoCdConfig, ArgoCdError, AutomatedConfig, application_objects, applications,
};
use kiln::validate::schema::SchemaSet;
use serde_json::{Value, json};

const CRD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/argocd/application-crd.yaml"
);

/// The built-in schemas plus Argo CD's Application CRD.
static SCHEMAS: LazyLock<SchemaSet> = LazyLock::new(|| {
    let text = std::fs::read_to_string(CRD).expect("the Argo CD CRD fixture is present");
    let crd = kiln::yaml::parse_one(&text)
        .expect("the CRD parses")
        .expect("the CRD is one document")
        .to_json();
    assert_eq!(crd["metadata"]["name"], "applications.argoproj.io");
    let mut set = SchemaSet::builtin("1.33").expect("Kubernetes 1.33 schemas are built in");
    let added = set.add_crd(&crd).expect("the CRD converts");
    assert!(
        added
            .kinds
            .contains(&("argoproj.io/v1alpha1".to_owned(), "Application".to_owned())),
        "{:?}",
        added.kinds
    );
    assert!(
        added.violations.is_empty(),
        "the CRD itself: {:?}",
        added.violations
    );
    set
});

fn apps() -> Vec<(String, Option<String>)> {
    vec![
        ("web".to_owned(), Some("web".to_owned())),
        ("monitoring".to_owned(), None),
        ("db".to_owned(), Some("data".to_owned())),
    ]
}

/// Parses one written file the way a reader of the branch would: exactly one YAML document.
fn parse(path: &str, bytes: &[u8]) -> Value {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    let docs = kiln::yaml::parse_documents(text).expect("the file parses");
    assert_eq!(docs.len(), 1, "{path}: one document per file");
    docs[0].root.to_json()
}

fn assert_valid(files: &[(String, Vec<u8>)]) {
    for (path, bytes) in files {
        let app = parse(path, bytes);
        assert_eq!(app["apiVersion"], "argoproj.io/v1alpha1", "{path}");
        assert_eq!(app["kind"], "Application", "{path}");
        let violations = SCHEMAS.validate(&app).expect("the kind has a schema");
        assert!(violations.is_empty(), "{path}: {violations:#?}");
    }
}

/// Configurations covering every optional field of the Application kiln writes.
fn configs() -> Vec<ArgoCdConfig> {
    let base = ArgoCdConfig::new("https://git.example/acme/gitops.git");
    let mut named = base.clone();
    named.destination.name = Some("prod-eu".to_owned());
    named.destination.namespace = Some("apps".to_owned());
    named.automated = Some(AutomatedConfig {
        prune: true,
        self_heal: true,
    });
    named.sync_options = vec![
        "CreateNamespace=true".to_owned(),
        "ServerSideApply=true".to_owned(),
    ];
    let mut server = base.clone();
    server.destination.server = Some("https://10.0.0.1:6443".to_owned());
    server.namespace_from_app = false;
    server.cascade_delete = false;
    server.automated = Some(AutomatedConfig::default());
    server.path = "deploy/argocd/".to_owned();
    server.project = "platform".to_owned();
    server.namespace = "gitops".to_owned();
    server.name = "{app}.{env}".to_owned();
    server.root_name = "root-{env}".to_owned();
    let mut ssh = base.clone();
    ssh.repo_url = "git@github.com:acme/gitops.git".to_owned();
    vec![base, named, server, ssh]
}

#[test]
fn written_applications_validate_against_the_argo_cd_crd() {
    for config in configs() {
        let files = applications("prod", "rendered/prod", &apps(), &config).expect("valid config");
        assert_eq!(files.len(), apps().len() + 1);
        assert_valid(&files);
    }
    // No apps: only the app of apps.
    let files = applications("prod", "rendered/prod", &[], &configs()[0]).expect("valid");
    assert_eq!(files.len(), 1);
    assert_valid(&files);
}

#[test]
fn the_check_is_not_vacuous() {
    // The same validator rejects Applications Argo CD would reject.
    let files = applications("prod", "rendered/prod", &apps(), &configs()[1]).expect("valid");
    let good = parse(&files[0].0, &files[0].1);
    let mut no_project = good.clone();
    no_project["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("project");
    let mut typo = good.clone();
    typo["spec"]["syncPolicy"]["automated"]["selfheal"] = json!(true);
    let mut wrong_type = good.clone();
    wrong_type["spec"]["syncPolicy"]["syncOptions"] = json!("CreateNamespace=true");
    for (what, bad) in [
        ("spec.project", no_project),
        ("selfheal", typo),
        ("syncOptions", wrong_type),
    ] {
        let violations = SCHEMAS.validate(&bad).expect("the kind has a schema");
        assert!(!violations.is_empty(), "{what} should be rejected");
    }
}

#[test]
fn layout_and_exact_bytes() {
    let mut config = ArgoCdConfig::new("https://git.example/acme/gitops.git");
    config.automated = Some(AutomatedConfig {
        prune: true,
        self_heal: true,
    });
    config.sync_options = vec!["CreateNamespace=true".to_owned()];
    let files = applications("vagrant", "rendered/vagrant", &apps(), &config).expect("valid");
    let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "argocd/vagrant-apps.yaml",
            "argocd/vagrant-db.yaml",
            "argocd/vagrant-monitoring.yaml",
            "argocd/vagrant-web.yaml",
        ]
    );
    let text = |i: usize| String::from_utf8(files[i].1.clone()).expect("UTF-8");
    assert_eq!(
        text(0),
        "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  annotations:
    argocd.argoproj.io/manifest-generate-paths: .
  labels:
    kiln.dev/environment: vagrant
  name: vagrant-apps
  namespace: argocd
spec:
  destination:
    namespace: argocd
    server: https://kubernetes.default.svc
  project: default
  source:
    path: argocd
    repoURL: https://git.example/acme/gitops.git
    targetRevision: rendered/vagrant
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
    - CreateNamespace=true
"
    );
    assert_eq!(
        text(3),
        "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  annotations:
    argocd.argoproj.io/manifest-generate-paths: .
  finalizers:
  - resources-finalizer.argocd.argoproj.io
  labels:
    kiln.dev/app: web
    kiln.dev/environment: vagrant
  name: vagrant-web
  namespace: argocd
spec:
  destination:
    namespace: web
    server: https://kubernetes.default.svc
  project: default
  source:
    path: web
    repoURL: https://git.example/acme/gitops.git
    targetRevision: rendered/vagrant
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
    - CreateNamespace=true
"
    );
    // The app without a shared namespace and no fallback: no destination namespace.
    let monitoring = parse(&files[2].0, &files[2].1);
    assert_eq!(
        monitoring["spec"]["destination"],
        json!({"server": "https://kubernetes.default.svc"})
    );
}

#[test]
fn the_yaml_is_the_typed_object() {
    for config in configs() {
        let objects =
            application_objects("prod", "rendered/prod", &apps(), &config).expect("valid");
        let files = applications("prod", "rendered/prod", &apps(), &config).expect("valid");
        for object in objects {
            let path = format!(
                "{}/{}.yaml",
                config.path.trim_end_matches('/'),
                object.metadata.name
            );
            let (_, bytes) = files
                .iter()
                .find(|(p, _)| *p == path)
                .unwrap_or_else(|| panic!("{path} is written"));
            assert_eq!(
                parse(&path, bytes),
                serde_json::to_value(&object).expect("serialises"),
                "{path}"
            );
        }
    }
}

#[test]
fn deterministic() {
    for config in configs() {
        let a = applications("prod", "rendered/prod", &apps(), &config).expect("valid");
        let b = applications("prod", "rendered/prod", &apps(), &config).expect("valid");
        assert_eq!(a, b);
        let mut reversed = apps();
        reversed.reverse();
        let c = applications("prod", "rendered/prod", &reversed, &config).expect("valid");
        assert_eq!(a, c, "the order of the apps does not matter");
    }
}

/// `kiln.yaml`'s `argocd` section, read as kiln reads configuration: checked against the
/// schema generated from the Rust type, then deserialised.
fn read_config(yaml: &str) -> Result<ArgoCdConfig, String> {
    let json = kiln::yaml::parse_one(yaml)
        .expect("parses")
        .expect("one document")
        .to_json();
    let schema = serde_json::to_value(schemars::schema_for!(ArgoCdConfig)).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    serde_json::from_value(json).map_err(|e| e.to_string())
}

#[test]
fn configuration_defaults() {
    let config = read_config("repoURL: https://git.example/acme/gitops.git\n").expect("valid");
    assert_eq!(
        config,
        ArgoCdConfig::new("https://git.example/acme/gitops.git")
    );
    let config = read_config(
        "repoURL: https://git.example/acme/gitops.git\n\
         destination: {name: prod-eu, namespace: apps}\n\
         automated: {prune: true}\n\
         syncOptions: [CreateNamespace=true]\n",
    )
    .expect("valid");
    assert_eq!(config.destination.name.as_deref(), Some("prod-eu"));
    assert_eq!(
        config.automated,
        Some(AutomatedConfig {
            prune: true,
            self_heal: false
        })
    );
}

#[test]
fn wrong_configurations_are_explained() {
    // Missing repoURL: the schema says so, and so does serde.
    let err = read_config("path: argocd\n").expect_err("repoURL is required");
    assert!(err.contains("\"repoURL\" is a required property"), "{err}");
    let err = serde_json::from_value::<ArgoCdConfig>(json!({"path": "argocd"}))
        .expect_err("repoURL is required");
    assert!(err.to_string().contains("missing field `repoURL`"), "{err}");
    // A misspelt field is not ignored.
    let err = read_config("repoURL: x\nrepoUrl: y\n").expect_err("unknown field");
    assert!(err.contains("'repoUrl' was unexpected"), "{err}");
    let err = read_config("repoURL: x\nautomated: {selfheal: true}\n").expect_err("unknown field");
    assert!(err.contains("'selfheal' was unexpected"), "{err}");

    let base = ArgoCdConfig::new("https://git.example/acme/gitops.git");
    let run = |config: &ArgoCdConfig, apps: &[(String, Option<String>)]| {
        applications("prod", "rendered/prod", apps, config)
            .expect_err("invalid")
            .to_string()
    };
    let mut empty = base.clone();
    empty.repo_url = "  ".to_owned();
    assert_eq!(
        empty.check(),
        Err(ArgoCdError::MissingRepoUrl),
        "an empty repoURL"
    );
    assert!(run(&empty, &apps()).starts_with("argocd.repoURL is empty"));

    let mut both = base.clone();
    both.destination.server = Some("https://kubernetes.default.svc".to_owned());
    both.destination.name = Some("in-cluster".to_owned());
    assert_eq!(
        run(&both, &apps()),
        "argocd.destination sets both server `https://kubernetes.default.svc` and name \
         `in-cluster`: set one of them (neither means the cluster Argo CD runs in)"
    );

    // The folder of an app named like the Applications' folder.
    let with_argocd_app = [("argocd".to_owned(), Some("argocd".to_owned()))];
    assert_eq!(
        run(&base, &with_argocd_app),
        "argocd.path `argocd` collides with the folder of the app `argocd` of the rendered \
         branch: set argocd.path to a folder no app uses (for example `argocd-apps`)"
    );
    let mut nested = base.clone();
    nested.path = "web/argocd".to_owned();
    assert!(run(&nested, &apps()).contains("the folder of the app `web`"));
    for bad in ["", "/abs", "a/../b", ".argocd", "hydrator.metadata"] {
        let mut c = base.clone();
        c.path = bad.to_owned();
        let err = run(&c, &apps());
        assert!(err.starts_with(&format!("argocd.path `{bad}`")), "{err}");
    }

    // Names: a template without {app} gives every app the same name; unknown placeholders;
    // names Kubernetes rejects.
    let mut same = base.clone();
    same.name = "{env}".to_owned();
    assert_eq!(
        run(&same, &apps()),
        "the Application name `prod` is used by both app `web` and app `monitoring`; change \
         argocd.name or argocd.rootName"
    );
    let mut clash = base.clone();
    clash.root_name = "{env}-web".to_owned();
    assert!(run(&clash, &apps()).contains("used by both the app of apps and app `web`"));
    let mut unknown = base.clone();
    unknown.name = "{environment}-{app}".to_owned();
    assert_eq!(
        run(&unknown, &apps()),
        "argocd.name `{environment}-{app}`: unknown placeholder `{environment}` (known: {env}, \
         {app})"
    );
    let upper = [("Web_UI".to_owned(), None)];
    assert!(run(&base, &upper).starts_with(
        "the Application name `prod-Web_UI` of app `Web_UI` is not a valid Kubernetes name"
    ));
    let bad_ns = [("web".to_owned(), Some("Web".to_owned()))];
    assert!(run(&base, &bad_ns).starts_with("app `web`: namespace `Web` is invalid"));
    let mut bad_option = base.clone();
    bad_option.sync_options = vec!["CreateNamespace".to_owned()];
    assert!(run(&bad_option, &apps()).starts_with("argocd.syncOptions `CreateNamespace`"));
    let mut bad_namespace = base.clone();
    bad_namespace.namespace = "Argo CD".to_owned();
    assert!(run(&bad_namespace, &apps()).starts_with("argocd.namespace `Argo CD` is invalid"));
    assert_eq!(
        applications("prod", "", &apps(), &base).expect_err("no branch"),
        ArgoCdError::EmptyBranch
    );
    let twice = [("web".to_owned(), None), ("web".to_owned(), None)];
    assert!(run(&base, &twice).contains("listed twice"));
}
