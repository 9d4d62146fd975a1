//! Fixtures of the validation of rendered output, one directory per case, each with
//! `snapshot.txt` holding exactly what a user sees. `KILN_BLESS=1 cargo test --test
//! validate_fixtures` writes the snapshots of new or changed cases; review them with `git diff`.
//!
//! - `testdata/validate/<case>/`: `kiln validate` run in `repo/` with the arguments of `args`
//!   (one per line): exit status, stdout and stderr.
//! - `testdata/validate-rendered/<case>/repo/`: a kiln project; every app of every environment
//!   is rendered as `kiln compile` renders it and the output goes through
//!   `kiln::validate::rendered::validate_rendered`; the snapshot holds the diagnostics as
//!   `kiln check` prints them (with excerpts).

use std::path::{Path, PathBuf};

use kiln::commands::Output;
use kiln::diagnostics::{Diagnostics, render_human};
use kiln::validate::rendered::{RenderedApp, SchemaFiles, validate_rendered};

fn cases(area: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(area);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("testdata area exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("repo").is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn check_area(area: &str, run: fn(&Path) -> String) {
    let bless = std::env::var_os("KILN_BLESS").is_some();
    let mut failures = Vec::new();
    let cases = cases(area);
    assert!(!cases.is_empty(), "no fixtures in testdata/{area}");
    for dir in cases {
        let got = run(&dir);
        let snap = dir.join("snapshot.txt");
        let want = std::fs::read_to_string(&snap).unwrap_or_default();
        if got != want {
            if bless {
                std::fs::write(&snap, &got).expect("testdata is writable when blessing");
            } else {
                failures.push(format!(
                    "== {}\n--- expected\n{want}\n--- got\n{got}",
                    dir.display()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn run_command(dir: &Path) -> String {
    let args: Vec<String> = std::fs::read_to_string(dir.join("args"))
        .expect("a validate fixture has args")
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let mut argv = vec![
        "kiln".to_string(),
        "-C".to_string(),
        dir.join("repo").display().to_string(),
        "--color".to_string(),
        "never".to_string(),
    ];
    argv.extend(args);
    let cli = <kiln::cli::Cli as clap::Parser>::try_parse_from(&argv).expect("fixture args parse");
    let mut out = Vec::new();
    let mut err = Vec::new();
    let status =
        kiln::commands::run(cli, &mut out, &mut err).expect("writing to a Vec cannot fail");
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        status.code(),
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&err)
    )
}

/// What `kiln compile --all` would validate: every deployed app of every environment.
fn run_rendered(dir: &Path) -> String {
    let root = dir.join("repo");
    let fs = kiln::commands::open(&root, kiln::fs::Source::WorkTree).expect("opens");
    let loader = kiln::load::Loader::new(&fs);
    let project = kiln::commands::load_project(&loader).expect("kiln.yaml loads");
    let repo = kiln::discover::discover(&loader);
    let rendering = kiln::commands::pipeline::Rendering::new(&fs, &loader, &project, &repo)
        .expect("rendering prepares");
    let apps: Vec<&kiln::discover::App> = repo.apps().filter(|a| a.deploy.is_some()).collect();
    let rendered: Vec<Vec<kiln::render::Resource>> = apps
        .iter()
        .map(|a| rendering.render_app(a).expect("the app renders"))
        .collect();
    let inputs: Vec<RenderedApp<'_>> = apps
        .iter()
        .zip(&rendered)
        .map(|(a, r)| RenderedApp {
            env: &a.env,
            app: &a.name,
            resources: r,
        })
        .collect();
    let (files, mut problems) = SchemaFiles::load(&loader, &project);
    problems.extend(validate_rendered(&project, &files, &inputs, &loader));
    let mut diags = Diagnostics::new();
    diags.extend(problems);
    diags.finish();
    format!(
        "exit: {}\n{}",
        diags.exit_status().code(),
        render_human(&diags, &loader, false)
    )
}

#[test]
fn validate_command_fixtures() {
    check_area("validate", run_command);
}

#[test]
fn rendered_output_fixtures() {
    check_area("validate-rendered", run_rendered);
}

/// `-` reads standard input (not reachable from a fixture).
#[test]
fn standard_input_is_read_once() {
    let cli = <kiln::cli::Cli as clap::Parser>::try_parse_from([
        "kiln",
        "validate",
        "--kubernetes-version",
        "1.30",
        "-",
    ])
    .expect("parses");
    let kiln::cli::Command::Validate(args) = &cli.command else {
        panic!("validate");
    };
    let output = Output {
        format: kiln::cli::Format::Human,
        color: false,
        quiet: false,
        verbose: 0,
        cache: false,
    };
    let mut stdin = std::io::Cursor::new(
        "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"c\"}, \"data\": {\"a\": 1}}\n",
    );
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let status = kiln::commands::validate::run_with_stdin(
        Path::new("."),
        args,
        output,
        &mut stdin,
        &mut out,
        &mut err,
    )
    .expect("writes");
    assert_eq!(status.code(), 1);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "<stdin> - ConfigMap c is invalid: data.a: expected string, got integer 1 (line 1)\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&err),
        "kiln validate: 1 resource in 1 file against Kubernetes 1.30: 0 valid, 1 invalid\n"
    );
}
