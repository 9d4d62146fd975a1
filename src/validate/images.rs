//! Image rules: every build folder holds a Dockerfile and a valid vars.yaml, and every
//! image a manifest references under an internal registry is built, with that tag.
//!
//! References are evaluated the way Kustomize would see them: the `image:` fields of the
//! resource and patch files a kustomization names, after the `images:` overrides of that
//! kustomization and of every overlay above it. Each kustomization is evaluated once and
//! memoised, so a shared base costs the same for one app or a thousand.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rayon::prelude::*;

use crate::diagnostics::{Code, Diagnostic, Span};
use crate::discover::{Repo, Target, join};
use crate::load::Loader;
use crate::project::{ImageVars, Project, vars_from_yaml};
use crate::yaml::{Node, NodeKind};

use super::{Options, env_selected};

/// An image a build folder produces.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    /// The app whose base holds the build folder.
    pub app: String,
    /// `apps/base/<app>/build/<image>`.
    pub context: String,
    /// Its vars.yaml.
    pub vars_file: String,
    /// What vars.yaml declares.
    pub vars: ImageVars,
}

/// An image reference and where it was last set.
#[derive(Debug, Clone)]
struct ImageUse {
    reference: String,
    file: String,
    span: Span,
}

/// Reads every build folder of every base: the images the repository builds, and the
/// diagnostics for folders that are incomplete or invalid.
pub fn builds(loader: &Loader<'_>, repo: &Repo) -> (Vec<BuiltImage>, Vec<Diagnostic>) {
    let fs = loader.fs();
    let folders: Vec<(&str, &str)> = repo
        .bases
        .iter()
        .flat_map(|b| {
            b.builds
                .iter()
                .map(move |dir| (b.name.as_str(), dir.as_str()))
        })
        .collect();
    let results: Vec<(Option<BuiltImage>, Vec<Diagnostic>)> = folders
        .par_iter()
        .map(|&(app, dir)| {
            let mut diags = Vec::new();
            if !fs.is_file(&join(dir, "Dockerfile")) {
                diags.push(
                    Diagnostic::new(
                        Code::MissingDockerfile,
                        format!("build folder {dir} has no Dockerfile"),
                    )
                    .in_file(dir)
                    .hint("every build/<image>/ folder holds the Dockerfile of that image"),
                );
            }
            let vars_file = join(dir, "vars.yaml");
            if !fs.is_file(&vars_file) {
                diags.push(
                    Diagnostic::new(
                        Code::MissingVars,
                        format!("build folder {dir} has no vars.yaml"),
                    )
                    .in_file(dir)
                    .hint("add vars.yaml with `image_name` and `image_tag`"),
                );
                return (None, diags);
            }
            let vars = match loader.yaml_one(&vars_file) {
                Err(d) => {
                    diags.push(d);
                    None
                }
                Ok((_, None)) => {
                    diags.push(
                        Diagnostic::new(Code::InvalidVars, format!("{vars_file} is empty"))
                            .in_file(&vars_file)
                            .hint("vars.yaml holds `image_name` and `image_tag`"),
                    );
                    None
                }
                Ok((_, Some(node))) => match vars_from_yaml(&vars_file, &node) {
                    Ok(vars) => Some(vars),
                    Err(ds) => {
                        diags.extend(ds);
                        None
                    }
                },
            };
            let built = vars.map(|vars| BuiltImage {
                app: app.to_string(),
                context: dir.to_string(),
                vars_file,
                vars,
            });
            (built, diags)
        })
        .collect();
    let mut images = Vec::new();
    let mut diags = Vec::new();
    for (img, ds) in results {
        images.extend(img);
        diags.extend(ds);
    }
    (images, diags)
}

/// Runs the image rules.
pub fn check(
    loader: &Loader<'_>,
    project: &Project,
    repo: &Repo,
    opts: &Options,
) -> Vec<Diagnostic> {
    let (built, mut out) = builds(loader, repo);
    // Folders that exist but could not be read: their images are not "unbuilt", the
    // folder's own diagnostic says what is wrong.
    let read: std::collections::HashSet<&str> =
        built.iter().map(|img| img.context.as_str()).collect();
    let broken: std::collections::HashSet<&str> = repo
        .bases
        .iter()
        .flat_map(|b| b.builds.iter())
        .filter(|dir| !read.contains(dir.as_str()))
        .filter_map(|dir| dir.rsplit('/').next())
        .collect();

    let mut by_name: BTreeMap<&str, &BuiltImage> = BTreeMap::new();
    for img in &built {
        if let Some(first) = by_name.insert(img.vars.image_name.as_str(), img) {
            out.push(
                Diagnostic::new(
                    Code::ImageDuplicate,
                    format!(
                        "image {} is built by both {} and {}",
                        img.vars.image_name, first.context, img.context
                    ),
                )
                .in_file(&img.vars_file)
                .hint("give each build folder its own image_name"),
            );
        }
    }

    // `--staged`: only the files the affected apps reach (see `Options::affects`).
    let scope: Option<std::collections::HashSet<&str>> = opts.scope.is_some().then(|| {
        repo.apps()
            .filter(|a| env_selected(opts, &a.env) && opts.affects(a))
            .flat_map(|a| a.deps.iter().map(String::as_str))
            .collect()
    });
    let (uses, diags) = effective_uses(loader, repo, scope.as_ref());
    // With a manifest unreadable (or not read), "no manifest uses this image" cannot be known.
    let all_manifests_read = diags.is_empty() && scope.is_none();
    out.extend(diags);

    // Which roots to judge: every selected overlay, and every base (an unused base is
    // still a Kustomize target a user may build); for `--staged`, those the change reaches.
    let in_scope = |dir: &str| {
        scope.as_ref().is_none_or(|files| {
            files.iter().any(|f| {
                f.strip_prefix(dir)
                    .is_some_and(|rest| rest.starts_with('/'))
            })
        })
    };
    let mut roots: Vec<&str> = repo
        .apps()
        .filter(|a| env_selected(opts, &a.env) && opts.affects(a))
        .filter_map(|a| a.deploy.as_deref())
        .collect();
    roots.extend(
        repo.bases
            .iter()
            .filter_map(|b| b.deploy.as_deref())
            .filter(|d| in_scope(d)),
    );

    let registries: Vec<(&str, String)> = project
        .images
        .registries
        .iter()
        .map(|r| (r.as_str(), format!("{r}/")))
        .collect();
    for root in roots {
        let Some(list) = uses.get(root) else { continue };
        for u in list.iter() {
            for (registry, prefix) in &registries {
                let Some(rest) = u.reference.strip_prefix(prefix.as_str()) else {
                    continue;
                };
                let (name, tag) = split_reference(rest);
                match by_name.get(name) {
                    None if broken.contains(name) => {}
                    None => out.push(
                        Diagnostic::new(
                            Code::ImageNotBuilt,
                            format!(
                                "image {} is under the internal registry {registry} but no build folder builds {name}",
                                u.reference
                            ),
                        )
                        .in_file(&u.file)
                        .at(u.span)
                        .hint(format!(
                            "add apps/base/<app>/build/{name}/ with a Dockerfile and a vars.yaml whose image_name is {name}"
                        )),
                    ),
                    Some(img) => {
                        if let Some(tag) = tag
                            && tag != img.vars.image_tag
                        {
                            out.push(
                                Diagnostic::new(
                                    Code::ImageTagMismatch,
                                    format!(
                                        "image {} has tag {tag}, but {} declares {}",
                                        u.reference, img.vars_file, img.vars.image_tag
                                    ),
                                )
                                .in_file(&u.file)
                                .at(u.span)
                                .hint(format!(
                                    "use {registry}/{name}:{}, or change image_tag in {}",
                                    img.vars.image_tag, img.vars_file
                                )),
                            );
                        }
                    }
                }
            }
        }
    }

    // A built image must be referenced somewhere: by its registry path or its bare name.
    let mut used: Vec<&str> = uses
        .values()
        .flat_map(|l| l.iter().map(|u| split_reference(&u.reference).0))
        .collect();
    used.sort_unstable();
    used.dedup();
    for img in built.iter().filter(|_| all_manifests_read) {
        let name = img.vars.image_name.as_str();
        let is_used = used
            .iter()
            .any(|u| *u == name || u.strip_suffix(name).is_some_and(|p| p.ends_with('/')));
        if !is_used {
            out.push(
                Diagnostic::new(
                    Code::ImageUnused,
                    format!(
                        "image {name} is built in {} but no manifest uses it",
                        img.context
                    ),
                )
                .in_file(&img.vars_file)
                .hint("remove the build folder, or reference the image from a manifest"),
            );
        }
    }
    out
}

/// Splits `name[:tag][@digest]` into the name and the tag (no tag when a digest pins it).
fn split_reference(reference: &str) -> (&str, Option<&str>) {
    let (head, digest) = match reference.split_once('@') {
        Some((h, _)) => (h, true),
        None => (reference, false),
    };
    // A `:` after the last `/` separates the tag; one before it is a registry port.
    let slash = head.rfind('/').map_or(0, |i| i + 1);
    match head[slash..].rfind(':') {
        Some(i) => {
            let (name, tag) = head.split_at(slash + i);
            (name, (!digest).then(|| &tag[1..]))
        }
        None => (head, None),
    }
}

type Uses = HashMap<String, Arc<Vec<ImageUse>>>;

/// The image references every kustomization renders, after its `images:` overrides.
fn effective_uses(
    loader: &Loader<'_>,
    repo: &Repo,
    scope: Option<&std::collections::HashSet<&str>>,
) -> (Uses, Vec<Diagnostic>) {
    // Scan every resource and patch file (in scope) once, in parallel.
    let mut files: Vec<&str> = repo
        .kustomizations
        .values()
        .flat_map(|k| k.refs.iter())
        .filter(|r| {
            matches!(
                r.field.field,
                "resources" | "patches" | "patchesStrategicMerge"
            )
        })
        .filter_map(|r| match &r.target {
            Target::File(f) => Some(f.as_str()),
            _ => None,
        })
        .filter(|f| scope.is_none_or(|s| s.contains(f)))
        .collect();
    files.sort_unstable();
    files.dedup();
    let scanned: Vec<(&str, Result<Vec<ImageUse>, Diagnostic>)> = files
        .par_iter()
        .map(|&f| (f, scan_file(loader, f)))
        .collect();
    let mut diags = Vec::new();
    let mut raw: HashMap<&str, Vec<ImageUse>> = HashMap::new();
    for (f, result) in scanned {
        match result {
            Ok(uses) => {
                raw.insert(f, uses);
            }
            Err(d) => diags.push(d),
        }
    }

    let mut memo: Uses = HashMap::new();
    for dir in repo.kustomizations.keys() {
        evaluate(repo, dir, &raw, &mut memo, &mut Vec::new());
    }
    (memo, diags)
}

/// Evaluates one kustomization (children first), with cycle protection.
fn evaluate(
    repo: &Repo,
    dir: &str,
    raw: &HashMap<&str, Vec<ImageUse>>,
    memo: &mut Uses,
    stack: &mut Vec<String>,
) -> Arc<Vec<ImageUse>> {
    if let Some(done) = memo.get(dir) {
        return done.clone();
    }
    let Some(k) = repo.kustomizations.get(dir) else {
        return Arc::default();
    };
    if stack.iter().any(|d| d == dir) {
        return Arc::default(); // A cycle; Kustomize refuses it, rendering will report it.
    }
    stack.push(dir.to_string());
    let mut uses = Vec::new();
    for r in &k.refs {
        match &r.target {
            Target::Kustomization(child) => {
                uses.extend(evaluate(repo, child, raw, memo, stack).iter().cloned());
            }
            Target::File(f) => uses.extend(raw.get(f.as_str()).into_iter().flatten().cloned()),
            _ => {}
        }
    }
    stack.pop();
    if let Some(images) = k
        .node
        .as_ref()
        .and_then(|n| n.get("images"))
        .and_then(Node::as_seq)
    {
        for entry in images {
            apply_override(&k.file, entry, &mut uses);
        }
    }
    let uses = Arc::new(uses);
    memo.insert(dir.to_string(), uses.clone());
    uses
}

/// Applies one `images:` entry (`name`, `newName`, `newTag`, `digest`) like Kustomize.
fn apply_override(file: &str, entry: &Node, uses: &mut [ImageUse]) {
    let Some(name) = entry.get("name").and_then(Node::as_str) else {
        return;
    };
    let new_name = entry.get("newName");
    let new_tag = entry.get("newTag");
    let digest = entry.get("digest");
    let Some(changed) = digest.or(new_tag).or(new_name) else {
        return;
    };
    for u in uses.iter_mut() {
        let (old_name, old_tag) = split_reference(&u.reference);
        if old_name != name {
            continue;
        }
        let base = new_name.and_then(Node::as_str).unwrap_or(old_name);
        let reference = match (
            digest.and_then(Node::as_str),
            new_tag.and_then(Node::as_str),
        ) {
            (Some(d), _) => format!("{base}@{d}"),
            (None, Some(t)) => format!("{base}:{t}"),
            (None, None) => match old_tag {
                Some(t) => format!("{base}:{t}"),
                None => base.to_string(),
            },
        };
        *u = ImageUse {
            reference,
            file: file.to_string(),
            span: changed.span,
        };
    }
}

/// Every `image:` string in the documents of a manifest file.
fn scan_file(loader: &Loader<'_>, file: &str) -> Result<Vec<ImageUse>, Diagnostic> {
    // Most manifests (Services, Ingresses, replica patches) name no image, and parsing is
    // by far the most expensive part of `kiln check`: a key `image` contains these bytes
    // however it is quoted, so a file without them cannot hold one. (Such files are parsed,
    // and their syntax reported, when they are rendered.)
    if !loader.text(file)?.contains("image") {
        return Ok(Vec::new());
    }
    let (_, docs) = loader.yaml_docs(file)?;
    let mut uses = Vec::new();
    for doc in &docs {
        collect_images(&doc.root, file, &mut uses);
    }
    Ok(uses)
}

fn collect_images(node: &Node, file: &str, out: &mut Vec<ImageUse>) {
    match &node.kind {
        NodeKind::Map(entries) => {
            for (k, v) in entries {
                if k.as_str() == Some("image")
                    && let NodeKind::Scalar(s) = &v.kind
                    && !s.text.is_empty()
                {
                    out.push(ImageUse {
                        reference: s.text.clone(),
                        file: file.to_string(),
                        span: v.span,
                    });
                } else {
                    collect_images(v, file, out);
                }
            }
        }
        NodeKind::Seq(items) => {
            for item in items {
                collect_images(item, file, out);
            }
        }
        NodeKind::Scalar(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::split_reference;

    #[test]
    fn references_split_into_name_and_tag() {
        let cases = [
            ("registry.lan/web:1.2", ("registry.lan/web", Some("1.2"))),
            ("registry.lan:5000/web", ("registry.lan:5000/web", None)),
            (
                "registry.lan:5000/web:2",
                ("registry.lan:5000/web", Some("2")),
            ),
            ("nginx", ("nginx", None)),
            ("web:1@sha256:abc", ("web", None)),
        ];
        for (input, want) in cases {
            assert_eq!(split_reference(input), want, "{input}");
        }
    }
}
