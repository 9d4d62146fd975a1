//! `kiln::validate::rendered::validate_rendered` on a small repository rendered by kiln's own
//! renderer: every check of the rendered output, with the exact diagnostics (code, severity,
//! file, line, message), and the file and line pointing into the source the field came from.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use kiln::diagnostics::{Diagnostic, Severity};
use kiln::project::{EnvironmentConfig, Project, UnknownCustomResources};
use kiln::render::{DiskFiles, Renderer, Resource};
use kiln::validate::rendered::{RenderedApp, SchemaDocument, SchemaFiles, validate_rendered};

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(full, text).expect("write");
    }
}

const WIDGET_CRD: &str = "\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
";

/// The repository: two apps in `prod` (Kubernetes 1.30) and one in `dev` (an unknown version).
fn repo(root: &Path) {
    write(
        root,
        &[
            (
                "apps/base/web/deploy/kustomization.yaml",
                "namespace: shop\nresources:\n- deployment.yaml\n- secret.yaml\n- shared.yaml\n- widget.yaml\n- crd.yaml\n",
            ),
            (
                "apps/base/web/deploy/deployment.yaml",
                "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: \"3\"
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      serviceAccountName: web
      containers:
      - name: web
        image: nginx:1.27
        envFrom:
        - configMapRef:
            name: web-config
        - secretRef:
            name: web-env
            optional: true
        resources:
          limits:
            memory: 1 GB
",
            ),
            (
                "apps/base/web/deploy/secret.yaml",
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ndata:\n  token: 12345\n",
            ),
            (
                "apps/base/web/deploy/shared.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata:\n  a: b\n",
            ),
            (
                "apps/base/web/deploy/widget.yaml",
                "\
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec:
  size: big
---
apiVersion: example.com/v1
kind: Gadget
metadata:
  name: g
---
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  minAvailable: 1
",
            ),
            ("apps/base/web/deploy/crd.yaml", WIDGET_CRD),
            (
                "apps/base/api/deploy/kustomization.yaml",
                "namespace: shop\nresources:\n- shared.yaml\n- role.yaml\n",
            ),
            (
                "apps/base/api/deploy/shared.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata:\n  a: c\n",
            ),
            (
                "apps/base/api/deploy/role.yaml",
                "\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: reader
rules: []
",
            ),
            (
                "apps/base/tools/deploy/kustomization.yaml",
                "resources:\n- job.yaml\n",
            ),
            (
                "apps/base/tools/deploy/job.yaml",
                "\
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: m
        image: busybox
      volumes:
      - name: data
        persistentVolumeClaim:
          claimName: data
",
            ),
        ],
    );
}

fn render(root: &Path, dir: &str) -> Vec<Resource> {
    let files = DiskFiles {
        base: root.to_path_buf(),
    };
    Renderer::new(&files).render(dir).expect("renders")
}

/// The files of the repository, as `kiln compile` gives them through its loader.
fn sources(root: &Path) -> impl Fn(&str) -> Option<Arc<str>> + Sync + use<> {
    let root = root.to_path_buf();
    move |path: &str| std::fs::read_to_string(root.join(path)).ok().map(Arc::from)
}

fn show(diags: &[Diagnostic]) -> Vec<String> {
    let mut lines: Vec<String> = diags
        .iter()
        .map(|d| {
            format!(
                "{} {} {}:{} {}{}",
                d.code,
                d.severity,
                d.file.as_deref().unwrap_or("-"),
                d.span.map_or(0, |s| s.line),
                d.message,
                if d.sensitive { " [sensitive]" } else { "" }
            )
        })
        .collect();
    lines.sort();
    lines
}

fn project(unknown: UnknownCustomResources) -> Project {
    let mut p = Project::default();
    p.validation.unknown_custom_resources = unknown;
    let mut envs = BTreeMap::new();
    envs.insert(
        "prod".to_string(),
        EnvironmentConfig {
            kubernetes_version: Some("1.30".to_string()),
            ..EnvironmentConfig::default()
        },
    );
    envs.insert(
        "dev".to_string(),
        EnvironmentConfig {
            kubernetes_version: Some("1.12".to_string()),
            ..EnvironmentConfig::default()
        },
    );
    p.environments = envs;
    p
}

#[test]
fn rendered_output_is_validated_with_sources() {
    let tmp = tempfile::tempdir().expect("tempdir");
    repo(tmp.path());
    let web = render(tmp.path(), "apps/base/web/deploy");
    let api = render(tmp.path(), "apps/base/api/deploy");
    let tools = render(tmp.path(), "apps/base/tools/deploy");
    let apps = [
        RenderedApp {
            env: "prod",
            app: "web",
            resources: &web,
        },
        RenderedApp {
            env: "prod",
            app: "api",
            resources: &api,
        },
        RenderedApp {
            env: "prod",
            app: "tools",
            resources: &tools,
        },
        RenderedApp {
            env: "dev",
            app: "tools",
            resources: &tools,
        },
    ];
    let diags = validate_rendered(
        &project(UnknownCustomResources::Warn),
        &SchemaFiles::default(),
        &apps,
        &sources(tmp.path()),
    );
    let got = show(&diags);
    let want = vec![
        "KLN0401 error apps/base/web/deploy/deployment.yaml:25 Deployment shop/web (environment prod, app web): spec.template.spec.containers[0].resources.limits.memory: \"1 GB\" is not a valid quantity (examples: 1, 0.5, 500m, 128Mi, 2G)",
        "KLN0401 error apps/base/web/deploy/deployment.yaml:6 Deployment shop/web (environment prod, app web): spec.replicas: expected integer, got string \"3\"",
        "KLN0401 error apps/base/web/deploy/secret.yaml:6 Secret shop/creds (environment prod, app web): data.token: expected string, got integer <hidden> [sensitive]",
        "KLN0401 error apps/base/web/deploy/widget.yaml:6 Widget shop/w (environment prod, app web): spec.size: expected integer, got string \"big\"",
        "KLN0402 error apps/base/web/deploy/widget.yaml:13 PodDisruptionBudget shop/web (environment prod, app web): policy/v1beta1 PodDisruptionBudget is not served by Kubernetes 1.30: removed in 1.25; use policy/v1",
        "KLN0404 warning apps/base/web/deploy/widget.yaml:9 Gadget shop/g (environment prod, app web): no schema for example.com/v1 Gadget: no CustomResourceDefinition defines it",
        "KLN0406 error apps/base/api/deploy/shared.yaml:1 ConfigMap shop/shared (environment prod, app api): rendered twice in environment prod: app web renders it too (from apps/base/web/deploy/shared.yaml:1)",
        "KLN0407 error apps/base/tools/deploy/job.yaml:1 Job migrate (environment dev, app tools): Job is namespaced, but no namespace is set",
        "KLN0407 error apps/base/tools/deploy/job.yaml:1 Job migrate (environment prod, app tools): Job is namespaced, but no namespace is set",
        "KLN0408 warning apps/base/tools/deploy/job.yaml:15 Job migrate (environment dev, app tools): spec.template.spec.volumes[0].persistentVolumeClaim.claimName: PersistentVolumeClaim \"data\" is rendered nowhere in namespace (none) of environment dev",
        "KLN0408 warning apps/base/tools/deploy/job.yaml:15 Job migrate (environment prod, app tools): spec.template.spec.volumes[0].persistentVolumeClaim.claimName: PersistentVolumeClaim \"data\" is rendered nowhere in namespace (none) of environment prod",
        "KLN0408 warning apps/base/web/deploy/deployment.yaml:13 Deployment shop/web (environment prod, app web): spec.template.spec.serviceAccountName: ServiceAccount \"web\" is rendered nowhere in namespace shop of environment prod",
        "KLN0408 warning apps/base/web/deploy/deployment.yaml:19 Deployment shop/web (environment prod, app web): spec.template.spec.containers[0].envFrom[0].configMapRef.name: ConfigMap \"web-config\" is rendered nowhere in namespace shop of environment prod",
        "KLN0410 fatal kiln.yaml:0 environment dev: cannot validate against Kubernetes \"1.12\": no schemas for Kubernetes 1.12: kiln has 1.25 to 1.37",
    ];
    assert_eq!(got, want, "\n{}", got.join("\n"));
    // The CRD object itself was validated (it is valid) and Secret diagnostics hide values.
    assert!(
        diags
            .iter()
            .filter(|d| d.message.contains("Secret"))
            .all(|d| d.sensitive && !d.message.contains("12345"))
    );
}

#[test]
fn unknown_custom_resources_can_be_errors_and_schema_files_define_kinds() {
    let tmp = tempfile::tempdir().expect("tempdir");
    repo(tmp.path());
    let web = render(tmp.path(), "apps/base/web/deploy");
    let apps = [RenderedApp {
        env: "prod",
        app: "web",
        resources: &web,
    }];
    let project = project(UnknownCustomResources::Error);
    let gadgets = |kind: &str| {
        WIDGET_CRD
            .replace("widgets", "gadgets")
            .replace("Widget", kind)
            .replace("widget", "gadget")
    };
    let no_files = validate_rendered(
        &project,
        &SchemaFiles::default(),
        &apps,
        &sources(tmp.path()),
    );
    let gadget: Vec<&Diagnostic> = no_files
        .iter()
        .filter(|d| d.message.contains("Gadget"))
        .collect();
    assert_eq!(gadget.len(), 1);
    assert_eq!(gadget[0].severity, Severity::Error);

    // A schema file defines Gadget (as the CRD's schema says, `size` is an integer).
    let text = gadgets("Gadget");
    let mut files = SchemaFiles::default();
    let docs = kiln::yaml::parse_documents(&text).expect("parses");
    files.add(
        "prod",
        docs.into_iter().map(|d| SchemaDocument {
            file: "crds/gadget.yaml".to_string(),
            span: d.span,
            node: d.root,
        }),
    );
    let with_files = validate_rendered(&project, &files, &apps, &sources(tmp.path()));
    assert!(
        !with_files.iter().any(|d| d.message.contains("Gadget")),
        "{:#?}",
        with_files
    );

    // A schema file whose CRD does not convert, and one that is not a CRD.
    let broken = text.replace("size: {type: integer}", "size: {type: [integer]}");
    let mut files = SchemaFiles::default();
    for (name, text) in [
        ("crds/broken.yaml", broken.as_str()),
        (
            "crds/other.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        ),
    ] {
        let docs = kiln::yaml::parse_documents(text).expect("parses");
        files.add(
            "prod",
            docs.into_iter().map(|d| SchemaDocument {
                file: name.to_string(),
                span: d.span,
                node: d.root,
            }),
        );
    }
    let got = show(&validate_rendered(
        &project,
        &files,
        &apps,
        &sources(tmp.path()),
    ));
    let about_files: Vec<&String> = got.iter().filter(|l| l.contains(" crds/")).collect();
    assert_eq!(
        about_files,
        vec![
            "KLN0405 error crds/broken.yaml:1 CustomResourceDefinition gadgets.example.com: the schema of version v1 is invalid: openAPIV3Schema.properties.spec.properties.size: `type` must be a string",
            "KLN0411 error crds/other.yaml:1 ConfigMap x in a schema file is not a CustomResourceDefinition",
        ],
        "\n{}",
        got.join("\n")
    );
}

/// Speed of `validate_rendered` on an already-rendered repository (not a timed test):
/// `python3 ../shared/tools/gen_monorepo.py /tmp/mono --apps 1000` then
/// `KILN_BENCH_REPO=/tmp/mono cargo test --release --test validate_rendered -- --ignored
/// --nocapture`.
#[test]
#[ignore = "benchmark: needs KILN_BENCH_REPO"]
fn bench_validate_rendered() {
    let Some(root) = std::env::var_os("KILN_BENCH_REPO") else {
        eprintln!("set KILN_BENCH_REPO to a repository generated by gen_monorepo.py");
        return;
    };
    let root = Path::new(&root);
    let fs = kiln::commands::open(root, kiln::fs::Source::WorkTree).expect("opens");
    let loader = kiln::load::Loader::new(&fs);
    let project = kiln::commands::load_project(&loader).expect("kiln.yaml loads");
    let repo = kiln::discover::discover(&loader);
    let rendering =
        kiln::commands::pipeline::Rendering::new(&fs, &loader, &project, &repo).expect("prepares");
    let apps: Vec<&kiln::discover::App> = repo.apps().filter(|a| a.deploy.is_some()).collect();
    let started = std::time::Instant::now();
    let rendered: Vec<Vec<Resource>> = {
        use rayon::prelude::*;
        apps.par_iter()
            .map(|a| rendering.render_app(a).expect("renders"))
            .collect()
    };
    let render_ms = started.elapsed().as_secs_f64() * 1000.0;
    let inputs: Vec<RenderedApp<'_>> = apps
        .iter()
        .zip(&rendered)
        .map(|(a, r)| RenderedApp {
            env: &a.env,
            app: &a.name,
            resources: r,
        })
        .collect();
    let resources: usize = rendered.iter().map(Vec::len).sum();
    let mut times = Vec::new();
    let mut found = 0;
    for _ in 0..9 {
        let t = std::time::Instant::now();
        let diags = validate_rendered(&project, &SchemaFiles::default(), &inputs, &loader);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        found = diags.len();
        // Let the deferred freeing of the previous run finish, as the rest of a compile would.
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    times.sort_by(f64::total_cmp);
    // Where the time goes: the JSON form of every resource, and loading the schemas.
    let t = std::time::Instant::now();
    let docs: Vec<serde_json::Value> = {
        use rayon::prelude::*;
        rendered
            .par_iter()
            .flat_map_iter(|r| r.iter().map(|x| x.node.to_json()))
            .collect()
    };
    let json_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = std::time::Instant::now();
    let set = kiln::validate::schema::SchemaSet::builtin("1.37").expect("loads");
    let set_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = std::time::Instant::now();
    let results = set.validate_all(&docs);
    let validate_ms = t.elapsed().as_secs_f64() * 1000.0;
    eprintln!(
        "to_json {json_ms:.1} ms, SchemaSet::builtin {set_ms:.1} ms, validate_all (compiling included) {validate_ms:.1} ms ({} results)",
        results.len()
    );
    eprintln!(
        "{} apps, {resources} resources: render {render_ms:.0} ms; validate_rendered median {:.1} ms (min {:.1}, max {:.1}), {found} diagnostics, {} threads",
        apps.len(),
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        rayon::current_num_threads()
    );
}
