//! Agreement with an independent validator: kiln's verdict (valid / invalid) on every resource
//! of the kustomize conformance corpus (`../shared/conformance/kustomize/*/expected.yaml`) must
//! equal the verdict of the PyPI package `kubernetes-validate` (pinned below; strict mode) for
//! Kubernetes 1.30.
//!
//! The package is installed with pip into `CARGO_TARGET_TMPDIR` when Python cannot import it;
//! without Python or network the test prints why and passes. All resources go through one
//! Python process (JSON lines in, JSON lines out). Excluded on both sides: custom resources
//! (kubernetes-validate has no CRD support) and APIs this version does not serve.
//!
//! Then the same comparison on mutated copies of valid resources: an unknown field at the
//! root and in `spec`, an integer, a boolean and a string leaf replaced by a value of another
//! type, a required field removed.
//!
//! Known, deliberate differences are listed in `KNOWN_DIFFERENCES`.
//! `KILN_AGREEMENT_VERBOSE=1` prints every resource both sides reject, with both messages.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use kiln::validate::schema::{SchemaSet, ValidateError};
use serde_json::{Value, json};

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/conformance/kustomize"
);
const PINNED: &str = "1.37.0";
const VERSION: &str = "1.30";

/// (case, kind, name) of resources where kiln is deliberately stricter or laxer.
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[
    // `storage: FROM_OVERLAY` is not a Quantity: the API server rejects it, kiln checks the
    // quantity grammar, kubernetes-validate accepts any string.
    (
        "redhat-cop__gitops-catalog__openshift-image-registry__base",
        "PersistentVolumeClaim",
        "image-registry-storage",
    ),
];

/// How many valid resources get mutated copies (keeps the oracle's run short).
const MUTATED: usize = 600;

const ORACLE: &str = r#"
import functools, json, sys
import kubernetes_validate
from kubernetes_validate import utils

# kubernetes-validate re-reads ~1 MB of schema JSON per call; cache the file reads.
utils.schema_contents = functools.lru_cache(maxsize=None)(utils.schema_contents)

version = sys.argv[1]
for line in sys.stdin:
    req = json.loads(line)
    try:
        kubernetes_validate.validate(req["obj"], version, strict=True)
        out = {"id": req["id"], "status": "valid"}
    except utils.SchemaNotFoundError as e:
        out = {"id": req["id"], "status": "noschema", "message": e.message}
    except utils.ValidationError as e:
        path = ".".join(str(p) for p in e.path)
        out = {"id": req["id"], "status": "invalid", "message": path + ": " + e.message}
    except Exception as e:
        out = {"id": req["id"], "status": "error", "message": repr(e)}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
"#;

fn python_can_import(pythonpath: Option<&Path>) -> bool {
    let mut cmd = Command::new("python3");
    cmd.args([
        "-c",
        "import importlib.metadata as m, sys; \
         sys.exit(0 if m.version('kubernetes-validate') == sys.argv[1] else 1)",
        PINNED,
    ]);
    if let Some(p) = pythonpath {
        cmd.env("PYTHONPATH", p);
    }
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The PYTHONPATH under which `kubernetes_validate` imports, installing it if needed.
fn oracle_env() -> Result<Option<PathBuf>, String> {
    if python_can_import(None) {
        return Ok(None);
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("kubernetes-validate-{PINNED}"));
    if python_can_import(Some(&dir)) {
        return Ok(Some(dir));
    }
    let out = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
        ])
        .arg(&dir)
        .arg(format!("kubernetes-validate=={PINNED}"))
        .output()
        .map_err(|e| format!("cannot run python3 -m pip: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "pip install kubernetes-validate=={PINNED} failed (no network?): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    if python_can_import(Some(&dir)) {
        Ok(Some(dir))
    } else {
        Err("kubernetes-validate installed but does not import".to_string())
    }
}

struct Resource {
    case: String,
    kind: String,
    name: String,
    json: Value,
}

fn corpus() -> Vec<Resource> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .expect("corpus directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("expected.yaml").is_file())
        .collect();
    cases.sort();
    let mut out = Vec::new();
    for case in cases {
        let text = std::fs::read_to_string(case.join("expected.yaml")).expect("readable");
        let docs = kiln::yaml::parse_documents(&text).expect("expected.yaml parses");
        let case_name = case
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for doc in docs {
            let json = doc.root.to_json();
            if !json.is_object() {
                continue;
            }
            let kind = json["kind"].as_str().unwrap_or("").to_string();
            let name = json["metadata"]["name"].as_str().unwrap_or("").to_string();
            out.push(Resource {
                case: case_name.clone(),
                kind,
                name,
                json,
            });
        }
    }
    out
}

/// The JSON pointer of the first leaf (depth-first, keys in order) accepted by `pick`.
fn first_leaf(v: &Value, pointer: String, pick: &dyn Fn(&Value) -> bool) -> Option<String> {
    match v {
        Value::Object(m) => m.iter().find_map(|(k, c)| {
            let k = k.replace('~', "~0").replace('/', "~1");
            first_leaf(c, format!("{pointer}/{k}"), pick)
        }),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, c)| first_leaf(c, format!("{pointer}/{i}"), pick)),
        leaf => pick(leaf).then_some(pointer),
    }
}

fn set_pointer(v: &mut Value, pointer: &str, new: Value) {
    if let Some(slot) = v.pointer_mut(pointer) {
        *slot = new;
    }
}

type LeafPick = dyn Fn(&Value) -> bool;

/// Mutated copies of a valid resource, with a label saying what was changed.
fn mutations(r: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut root = r.clone();
    root["kilnUnknownField"] = json!(1);
    out.push(("unknown root field".to_string(), root));
    if r.get("spec").is_some_and(Value::is_object) {
        let mut spec = r.clone();
        spec["spec"]["kilnUnknownField"] = json!("x");
        out.push(("unknown spec field".to_string(), spec));
    }
    let skip_meta = |p: &String| !p.starts_with("/metadata");
    let leaves: [(&str, &LeafPick, Value); 3] = [
        ("integer -> string", &|v: &Value| v.is_i64(), json!("kiln")),
        (
            "boolean -> string",
            &|v: &Value| v.is_boolean(),
            json!("kiln"),
        ),
        (
            "string -> object",
            &|v: &Value| v.is_string(),
            json!({"kiln": 1}),
        ),
    ];
    for (label, pick, new) in leaves {
        let Some(body) = r.as_object() else { continue };
        // Leaves outside apiVersion/kind/metadata, first one found.
        let found = body
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "apiVersion" | "kind"))
            .find_map(|(k, c)| first_leaf(c, format!("/{k}"), pick).filter(skip_meta));
        if let Some(p) = found {
            let mut m = r.clone();
            set_pointer(&mut m, &p, new);
            out.push((format!("{label} at {p}"), m));
        }
    }
    for (parent, field) in [
        ("/spec/template/spec/containers/0", "name"),
        ("/spec", "selector"),
        ("/roleRef", "name"),
        ("/spec/ports/0", "port"),
    ] {
        let mut m = r.clone();
        if let Some(obj) = m.pointer_mut(parent).and_then(Value::as_object_mut)
            && obj.remove(field).is_some()
        {
            out.push((format!("{parent}/{field} removed"), m));
        }
    }
    out
}

fn run_oracle(pythonpath: Option<&Path>, objs: &[&Value]) -> Vec<(String, String)> {
    let mut cmd = Command::new("python3");
    cmd.args(["-c", ORACLE, VERSION])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(p) = pythonpath {
        cmd.env("PYTHONPATH", p);
    }
    let mut child = cmd.spawn().expect("python3 starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let input: String = objs
        .iter()
        .enumerate()
        .map(|(id, obj)| json!({"id": id, "obj": obj}).to_string() + "\n")
        .collect();
    let writer = std::thread::spawn(move || {
        stdin.write_all(input.as_bytes()).expect("write to oracle");
    });
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut results = vec![(String::new(), String::new()); objs.len()];
    for line in stdout.lines() {
        let line = line.expect("oracle output");
        let v: Value = serde_json::from_str(&line).expect("oracle JSON");
        let id = v["id"].as_u64().expect("id") as usize;
        results[id] = (
            v["status"].as_str().unwrap_or("").to_string(),
            v["message"].as_str().unwrap_or("").to_string(),
        );
    }
    writer.join().expect("writer thread");
    assert!(
        child.wait().expect("oracle exits").success(),
        "oracle failed"
    );
    results
}

#[test]
fn kiln_agrees_with_kubernetes_validate() {
    if !Path::new(CORPUS).is_dir() {
        eprintln!("SKIPPED: no corpus at {CORPUS}");
        return;
    }
    let pythonpath = match oracle_env() {
        Ok(p) => p,
        Err(why) => {
            eprintln!("SKIPPED: {why}");
            return;
        }
    };
    let verbose = std::env::var_os("KILN_AGREEMENT_VERBOSE").is_some();
    let resources = corpus();
    let set = SchemaSet::builtin(VERSION).expect("schemas load");

    let start = std::time::Instant::now();
    let jsons: Vec<Value> = resources.iter().map(|r| r.json.clone()).collect();
    let kiln = set.validate_all(&jsons);
    let kiln_time = start.elapsed();

    let start = std::time::Instant::now();
    let oracle = run_oracle(pythonpath.as_deref(), &jsons.iter().collect::<Vec<_>>());
    let oracle_time = start.elapsed();

    let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
    let mut disagreements = Vec::new();
    for (i, r) in resources.iter().enumerate() {
        let (status, message) = &oracle[i];
        let kiln_verdict = match &kiln[i] {
            Ok(v) if v.is_empty() => "valid",
            Ok(_) => "invalid",
            // Custom resources and APIs 1.30 does not serve: no schema on either side.
            Err(ValidateError::NoSchema { .. } | ValidateError::NotServed { .. }) => "noschema",
            Err(_) => "error",
        };
        *tally.entry(kiln_verdict).or_default() += 1;
        let known = KNOWN_DIFFERENCES
            .iter()
            .any(|(c, kd, n)| *c == r.case && *kd == r.kind && *n == r.name);
        if kiln_verdict != status.as_str() && !known {
            disagreements.push(format!(
                "{} {} {}: kiln {kiln_verdict} {:?}, kubernetes-validate {status} {message:?}",
                r.case, r.kind, r.name, kiln[i]
            ));
        } else if verbose && kiln_verdict != "valid" {
            eprintln!(
                "both reject {} {} {}: kiln {:?} / kubernetes-validate {message}",
                r.case, r.kind, r.name, kiln[i]
            );
        }
    }
    eprintln!(
        "{} resources, kiln's verdicts {tally:?}; {} disagreements; kiln {kiln_time:?}, \
         kubernetes-validate {oracle_time:?}",
        resources.len(),
        disagreements.len()
    );

    // Mutations of resources both sides accept.
    let both_valid: Vec<usize> = (0..resources.len())
        .filter(|&i| matches!(&kiln[i], Ok(v) if v.is_empty()) && oracle[i].0 == "valid")
        .collect();
    // Spread over the whole corpus.
    let stride = (both_valid.len() / MUTATED).max(1);
    let mut mutated: Vec<(usize, String, Value)> = Vec::new();
    for &i in both_valid.iter().step_by(stride).take(MUTATED) {
        mutated.extend(
            mutations(&resources[i].json)
                .into_iter()
                .map(|(l, v)| (i, l, v)),
        );
    }
    let mutated_json: Vec<Value> = mutated.iter().map(|(_, _, v)| v.clone()).collect();
    let kiln_m = set.validate_all(&mutated_json);
    let oracle_m = run_oracle(
        pythonpath.as_deref(),
        &mutated_json.iter().collect::<Vec<_>>(),
    );
    let mut tally_m: BTreeMap<&str, usize> = BTreeMap::new();
    let before = disagreements.len();
    for (k, (i, label, _)) in mutated.iter().enumerate() {
        let r = &resources[*i];
        let kiln_verdict = match &kiln_m[k] {
            Ok(v) if v.is_empty() => "valid",
            Ok(_) => "invalid",
            Err(_) => "error",
        };
        *tally_m.entry(kiln_verdict).or_default() += 1;
        let (status, message) = &oracle_m[k];
        if kiln_verdict != status.as_str() {
            disagreements.push(format!(
                "{} {} {} ({label}): kiln {kiln_verdict} {:?}, kubernetes-validate {status} {message:?}",
                r.case, r.kind, r.name, kiln_m[k]
            ));
        }
    }
    eprintln!(
        "{} mutations, kiln's verdicts {tally_m:?}; {} disagreements",
        mutated.len(),
        disagreements.len() - before
    );
    assert!(
        disagreements.is_empty(),
        "kiln and kubernetes-validate disagree on {} resources:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

/// Every CustomResourceDefinition of the corpus converts, and the custom resources of a case
/// are validated against the CRDs of the same case. No oracle here (kubernetes-validate has no
/// CRD support): the counts are printed, and the violations with KILN_AGREEMENT_VERBOSE=1.
#[test]
fn corpus_crds_convert_and_validate_their_resources() {
    if !Path::new(CORPUS).is_dir() {
        eprintln!("SKIPPED: no corpus at {CORPUS}");
        return;
    }
    let verbose = std::env::var_os("KILN_AGREEMENT_VERBOSE").is_some();
    let resources = corpus();
    let mut by_case: BTreeMap<&str, Vec<&Resource>> = BTreeMap::new();
    for r in &resources {
        by_case.entry(r.case.as_str()).or_default().push(r);
    }
    let (mut crds, mut crd_invalid, mut crs, mut cr_invalid, mut cr_unknown) = (0, 0, 0, 0, 0);
    let mut failures = Vec::new();
    for (case, items) in by_case {
        let is_cr = |r: &Resource| {
            matches!(
                kiln::validate::schema::api_status(
                    VERSION,
                    r.json["apiVersion"].as_str().unwrap_or(""),
                    &r.kind,
                ),
                Ok(kiln::validate::schema::ApiStatus::NotBuiltin)
            )
        };
        if !items.iter().any(|r| r.kind == "CustomResourceDefinition") {
            // No CRD in this case: its custom resources have no schema.
            let n = items.iter().filter(|r| is_cr(r)).count();
            crs += n;
            cr_unknown += n;
            continue;
        }
        let mut set = SchemaSet::builtin(VERSION).expect("schemas load");
        for r in items
            .iter()
            .filter(|r| r.kind == "CustomResourceDefinition")
        {
            crds += 1;
            match set.add_crd(&r.json) {
                Ok(added) if added.violations.is_empty() => {}
                Ok(added) => {
                    crd_invalid += 1;
                    if verbose {
                        eprintln!("{case} CRD {}: {:?}", r.name, added.violations);
                    }
                }
                Err(e) => failures.push(format!("{case} CRD {}: {e}", r.name)),
            }
        }
        for r in items.iter().filter(|r| is_cr(r)) {
            crs += 1;
            match set.validate(&r.json) {
                Ok(v) if v.is_empty() => {}
                Ok(v) => {
                    cr_invalid += 1;
                    if verbose {
                        eprintln!("{case} {} {}: {:?}", r.kind, r.name, v);
                    }
                }
                Err(ValidateError::NoSchema { .. }) => cr_unknown += 1,
                Err(e) => failures.push(format!("{case} {} {}: {e}", r.kind, r.name)),
            }
        }
    }
    eprintln!(
        "{crds} CRDs ({crd_invalid} with violations of their own); {crs} custom resources: \
         {cr_unknown} without a CRD in their case, {cr_invalid} invalid"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Benchmark-style (prints, asserts nothing): loading the 1.30 schemas, compiling the kinds
/// of the corpus, and validating 15,000 resources (the corpus' built-in resources, repeated)
/// in parallel. Run with `--release` for meaningful numbers.
#[test]
fn validation_throughput() {
    if !Path::new(CORPUS).is_dir() {
        eprintln!("SKIPPED: no corpus at {CORPUS}");
        return;
    }
    let start = std::time::Instant::now();
    let set = SchemaSet::builtin(VERSION).expect("schemas load");
    let load = start.elapsed();
    let builtin: Vec<Value> = corpus()
        .into_iter()
        .map(|r| r.json)
        .filter(|j| !matches!(set.validate(j), Err(ValidateError::NoSchema { .. })))
        .collect();
    let compile = start.elapsed() - load;
    let many: Vec<Value> = builtin.iter().cycle().take(15_000).cloned().collect();
    let start = std::time::Instant::now();
    let results = set.validate_all(&many);
    let validate = start.elapsed();
    let invalid = results
        .iter()
        .filter(|r| !matches!(r, Ok(v) if v.is_empty()))
        .count();
    eprintln!(
        "schemas {VERSION}: load {load:?}; first pass over {} corpus resources (compiles every \
         kind) {compile:?}; validate {} resources on {} threads {validate:?} ({invalid} not valid)",
        builtin.len(),
        many.len(),
        rayon::current_num_threads()
    );
}
