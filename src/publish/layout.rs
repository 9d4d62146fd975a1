//! The file tree of a hydrated branch, in Argo CD's Source Hydrator layout. Pure: bytes in,
//! bytes out, no git, no clock.
//!
//! # Owns
//! ```text
//! .gitattributes            marks README.md and hydrator.metadata as generated (Argo CD's bytes)
//! hydrator.metadata         JSON: repoURL, drySha, author, date, subject, body
//! <app>/manifest.yaml       the app's rendered resources, as the renderer produced them
//! <app>/hydrator.metadata   JSON: repoURL, drySha, commands
//! <app>/README.md           what this is, the source commit, the command that reproduces it
//! <app>/<extra files>       for example `secrets/<ns>.<name>.yaml`, encrypted for the environment
//! ```
//! The JSON is Argo CD's: `json.Encoder` with a two-space indent, no HTML escaping, empty
//! fields left out, a final newline; field names and order as in `HydratorCommitMetadata`.
//!
//! # Does not own
//! The manifest bytes (the renderer's), the commit and the note (`super::git`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{GitTime, SourceInfo};

/// The file every hydrated directory describes its provenance in.
pub const METADATA_FILE: &str = "hydrator.metadata";
/// The rendered resources of one app.
pub const MANIFEST_FILE: &str = "manifest.yaml";
/// The per-app explanation for humans.
pub const README_FILE: &str = "README.md";
/// Marks the generated files for GitHub's diff view.
pub const GITATTRIBUTES_FILE: &str = ".gitattributes";

/// Argo CD's `.gitattributes`, byte for byte (no final newline), so that a branch moved from Argo
/// CD's hydrator to kiln does not change it.
const GITATTRIBUTES: &str =
    "**/README.md linguist-generated=true\n**/hydrator.metadata linguist-generated=true";

/// The directory the secrets of an app live in, relative to the app.
const SECRETS_DIR: &str = "secrets/";

/// One app of an environment, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedApp {
    /// The app's name: its directory on the branch.
    pub name: String,
    /// Every resource of the app, multi-document YAML, in kustomize output order.
    pub manifest: Vec<u8>,
    /// Further files of the app, with paths relative to the app's directory, for example
    /// `secrets/<ns>.<name>.yaml`.
    pub extra_files: Vec<(String, Vec<u8>)>,
}

/// An app or file name the hydrated layout cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// The app name cannot be a directory of the branch.
    #[error("app `{app}`: invalid name for a directory of the rendered branch: {reason}")]
    InvalidAppName {
        /// The name.
        app: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two apps have the same name.
    #[error("app `{app}` is rendered twice")]
    DuplicateApp {
        /// The name.
        app: String,
    },
    /// An extra file's path cannot be stored under the app's directory.
    #[error("app `{app}`: invalid file path `{path}`: {reason}")]
    InvalidFilePath {
        /// The app.
        app: String,
        /// The path, relative to the app.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two files of an app have the same path, or one's path is a directory of the other.
    #[error("app `{app}`: the file `{path}` is written twice (or is also a directory)")]
    DuplicateFile {
        /// The app.
        app: String,
        /// The path, relative to the app.
        path: String,
    },
}

/// Whether `path` (a `/`-separated path of the branch) is a generated file: a
/// `hydrator.metadata` or a `README.md` in any directory, the files `.gitattributes` marks as
/// `linguist-generated`. They carry provenance, not rendered content, and do not count when
/// deciding whether a render changed.
pub fn is_generated(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == METADATA_FILE || name == README_FILE
}

/// The command that reproduces the render of `env` from the source commit `commit`.
pub fn reproduce_command(env: &str, commit: &str) -> String {
    format!("kiln compile --env {env} --rev {commit}")
}

/// Lays out the rendered apps of one environment as the full file tree of its hydrated branch:
/// path (`/`-separated, relative to the branch root) to bytes.
pub fn hydrated_tree(
    env: &str,
    apps: &[RenderedApp],
    source: &SourceInfo,
) -> Result<BTreeMap<String, Vec<u8>>, LayoutError> {
    let mut files = BTreeMap::new();
    files.insert(
        GITATTRIBUTES_FILE.to_owned(),
        GITATTRIBUTES.as_bytes().to_vec(),
    );
    files.insert(METADATA_FILE.to_owned(), root_metadata(source));

    let command = reproduce_command(env, &source.commit);
    let app_metadata = app_metadata(source, &command);
    let mut seen = BTreeSet::new();
    for app in apps {
        check_app_name(&app.name)?;
        if !seen.insert(app.name.as_str()) {
            return Err(LayoutError::DuplicateApp {
                app: app.name.clone(),
            });
        }
        let mut app_files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        app_files.insert(MANIFEST_FILE.to_owned(), app.manifest.clone());
        app_files.insert(METADATA_FILE.to_owned(), app_metadata.clone());
        let has_secrets = app
            .extra_files
            .iter()
            .any(|(p, _)| p.starts_with(SECRETS_DIR));
        app_files.insert(
            README_FILE.to_owned(),
            readme(env, &app.name, source, &command, has_secrets).into_bytes(),
        );
        for (path, bytes) in &app.extra_files {
            check_extra_path(&app.name, path)?;
            if app_files.insert(path.clone(), bytes.clone()).is_some() {
                return Err(LayoutError::DuplicateFile {
                    app: app.name.clone(),
                    path: path.clone(),
                });
            }
        }
        // A file that is also a directory (`a` and `a/b`): sorted order puts `a` right before
        // its first child, or before other names starting with `a` that sort before `/`.
        let paths: Vec<&String> = app_files.keys().collect();
        for (i, path) in paths.iter().enumerate() {
            let prefix = format!("{path}/");
            if paths[i + 1..].iter().any(|p| p.starts_with(&prefix)) {
                return Err(LayoutError::DuplicateFile {
                    app: app.name.clone(),
                    path: (*path).clone(),
                });
            }
        }
        for (path, bytes) in app_files {
            files.insert(format!("{}/{path}", app.name), bytes);
        }
    }
    Ok(files)
}

/// Argo CD's `HydratorCommitMetadata`, the fields kiln fills.
#[derive(Serialize)]
struct Metadata<'a> {
    #[serde(rename = "repoURL", skip_serializing_if = "str::is_empty")]
    repo_url: &'a str,
    #[serde(rename = "drySha", skip_serializing_if = "str::is_empty")]
    dry_sha: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    commands: &'a [String],
    #[serde(skip_serializing_if = "str::is_empty")]
    author: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    date: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    subject: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    body: &'a str,
}

impl Metadata<'_> {
    fn to_bytes(&self) -> Vec<u8> {
        // Serializing a struct of strings into memory cannot fail.
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

fn root_metadata(source: &SourceInfo) -> Vec<u8> {
    let date = rfc3339(source.author_time);
    Metadata {
        repo_url: &source.repo_url,
        dry_sha: &source.commit,
        commands: &[],
        author: &source.author,
        date: &date,
        subject: &source.subject,
        body: source.body.trim(),
    }
    .to_bytes()
}

fn app_metadata(source: &SourceInfo, command: &str) -> Vec<u8> {
    Metadata {
        repo_url: &source.repo_url,
        dry_sha: &source.commit,
        commands: &[command.to_owned()],
        author: "",
        date: "",
        subject: "",
        body: "",
    }
    .to_bytes()
}

fn readme(env: &str, app: &str, source: &SourceInfo, command: &str, has_secrets: bool) -> String {
    let secrets = if has_secrets {
        " `secrets/` holds its Secrets, encrypted for this environment."
    } else {
        ""
    };
    format!(
        "# Manifest Hydration\n\
         \n\
         This directory holds the app `{app}` of the environment `{env}`, rendered by kiln. \
         `manifest.yaml` holds every resource of the app, fully hydrated: Argo CD or \
         `kubectl apply -f` applies it as it is.{secrets} Do not edit these files: kiln rewrites \
         them when it publishes the environment.\n\
         \n\
         Source: `{repo}` at commit `{commit}` ({subject}).\n\
         \n\
         To hydrate the manifests in this repository, run the following commands:\n\
         \n\
         ```shell\n\
         git clone {repo}\n\
         # cd into the cloned directory\n\
         git checkout {commit}\n\
         {command}\n\
         ```\n",
        repo = source.repo_url,
        commit = source.commit,
        subject = source.subject,
    )
}

fn check_app_name(app: &str) -> Result<(), LayoutError> {
    let reason = if app.is_empty() {
        Some("it is empty")
    } else if app.contains(['/', '\\']) {
        Some("it contains a path separator")
    } else if app.contains(|c: char| c.is_control()) {
        Some("it contains a control character")
    } else if app.starts_with('.') {
        Some("it starts with a dot")
    } else if app == METADATA_FILE || app == README_FILE {
        Some("it is the name of a file at the root of the branch")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(LayoutError::InvalidAppName {
            app: app.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

fn check_extra_path(app: &str, path: &str) -> Result<(), LayoutError> {
    let reason = if let Some(reason) = path_problem(path) {
        Some(reason)
    } else if path == MANIFEST_FILE {
        Some("it is the app's manifest.yaml")
    } else if is_generated(path) {
        Some("hydrator.metadata and README.md are generated by kiln")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(LayoutError::InvalidFilePath {
            app: app.to_owned(),
            path: path.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// What keeps `path` from being a relative, `/`-separated path git stores as is; `None` if
/// nothing does.
pub(crate) fn path_problem(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("it is empty");
    }
    if path.starts_with('/') {
        return Some("it is absolute");
    }
    if path.contains('\\') {
        return Some("it contains a backslash");
    }
    if path.contains(['\0', '\n', '\r']) {
        return Some("it contains a NUL or line break");
    }
    for component in path.split('/') {
        match component {
            "" => return Some("it has an empty component"),
            "." | ".." => return Some("it has a `.` or `..` component"),
            c if c.eq_ignore_ascii_case(".git") => return Some("it has a `.git` component"),
            _ => {}
        }
    }
    None
}

/// `time` in RFC 3339 as Go's `time.RFC3339` writes it (`Z` for UTC), which is what Argo CD
/// writes into `hydrator.metadata`.
pub fn rfc3339(time: GitTime) -> String {
    let local = time.seconds + i64::from(time.offset_seconds);
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let offset = if time.offset_seconds == 0 {
        "Z".to_owned()
    } else {
        let sign = if time.offset_seconds < 0 { '-' } else { '+' };
        let abs = time.offset_seconds.unsigned_abs();
        format!("{sign}{:02}:{:02}", abs / 3600, abs % 3600 / 60)
    };
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}{offset}")
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> SourceInfo {
        SourceInfo {
            repo_url: "https://example.com/gitops.git".to_owned(),
            commit: "0123456789abcdef0123456789abcdef01234567".to_owned(),
            author: "Ada <ada@example.com>".to_owned(),
            author_time: GitTime {
                seconds: 1_704_067_200,
                offset_seconds: 0,
            },
            committer_time: GitTime {
                seconds: 1_704_067_200,
                offset_seconds: 0,
            },
            subject: "web: more replicas".to_owned(),
            body: "Because of load.\n".to_owned(),
        }
    }

    fn app(name: &str) -> RenderedApp {
        RenderedApp {
            name: name.to_owned(),
            manifest: b"kind: ConfigMap\n".to_vec(),
            extra_files: vec![("secrets/web.db.yaml".to_owned(), b"sops: {}\n".to_vec())],
        }
    }

    #[test]
    fn layout_has_argo_cd_file_names_and_fields() -> Result<(), Box<dyn std::error::Error>> {
        let tree = hydrated_tree("prod", &[app("web")], &source())?;
        let paths: Vec<&str> = tree.keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            [
                ".gitattributes",
                "hydrator.metadata",
                "web/README.md",
                "web/hydrator.metadata",
                "web/manifest.yaml",
                "web/secrets/web.db.yaml",
            ]
        );
        let root = String::from_utf8(tree["hydrator.metadata"].clone())?;
        assert_eq!(
            root,
            "{\n  \"repoURL\": \"https://example.com/gitops.git\",\n  \
             \"drySha\": \"0123456789abcdef0123456789abcdef01234567\",\n  \
             \"author\": \"Ada <ada@example.com>\",\n  \"date\": \"2024-01-01T00:00:00Z\",\n  \
             \"subject\": \"web: more replicas\",\n  \"body\": \"Because of load.\"\n}\n"
        );
        let app_meta: serde_json::Value = serde_json::from_slice(&tree["web/hydrator.metadata"])?;
        assert_eq!(
            app_meta["commands"][0],
            "kiln compile --env prod --rev 0123456789abcdef0123456789abcdef01234567"
        );
        let readme = String::from_utf8(tree["web/README.md"].clone())?;
        assert!(readme.contains("kiln compile --env prod --rev 0123456789abcdef"));
        assert!(readme.contains("`secrets/`"));
        Ok(())
    }

    #[test]
    fn bad_names_are_refused() {
        for name in ["", ".git", "a/b", "hydrator.metadata", ".."] {
            assert!(matches!(
                hydrated_tree("prod", &[app(name)], &source()),
                Err(LayoutError::InvalidAppName { .. })
            ));
        }
        for path in [
            "../x",
            "README.md",
            "a/hydrator.metadata",
            "manifest.yaml",
            "a//b",
            "",
        ] {
            let mut a = app("web");
            a.extra_files = vec![(path.to_owned(), Vec::new())];
            assert!(
                matches!(
                    hydrated_tree("prod", &[a], &source()),
                    Err(LayoutError::InvalidFilePath { .. })
                ),
                "{path}"
            );
        }
        let mut a = app("web");
        a.extra_files = vec![("x".to_owned(), Vec::new()), ("x/y".to_owned(), Vec::new())];
        assert!(matches!(
            hydrated_tree("prod", &[a], &source()),
            Err(LayoutError::DuplicateFile { .. })
        ));
        assert!(matches!(
            hydrated_tree("prod", &[app("web"), app("web")], &source()),
            Err(LayoutError::DuplicateApp { .. })
        ));
    }

    #[test]
    fn rfc3339_matches_go() {
        let t = |seconds, offset_seconds| {
            rfc3339(GitTime {
                seconds,
                offset_seconds,
            })
        };
        assert_eq!(t(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(t(1_709_210_096, 3600), "2024-02-29T13:34:56+01:00");
        assert_eq!(t(951_782_400, -16_200), "2000-02-28T19:30:00-04:30");
    }
}
