//! `transformers:` and `generators:` entries: kustomize's built-in plugins configured by
//! hand (`apiVersion: builtin`, `kind: LabelTransformer`, ...), and the KSOPS generator,
//! which kiln renders natively.
//!
//! An entry is inline configuration (YAML text of one or more objects) or a path to a file or
//! kustomization directory whose objects are configurations. Each configuration runs with its
//! own field specs, which replace (not extend) the built-in ones.
//!
//! Anything else is an exec or container plugin (a KRM function): kiln runs no external
//! programs, so it refuses them with [`RenderError::Unsupported`].
//!
//! This module owns reading plugin configurations and dispatching them; the work is done by
//! the same transformer functions the kustomization fields use.

use super::fieldspec::{self, FieldSpec, TransformerConfig};
use super::images::ImageEntry;
use super::kustomization::Kustomization;
use super::resource::Resource;
use super::select::Selector;
use super::smp::SchemaLookup;
use super::transform::{self, End, TransformError};
use super::{Files, RenderError, patch, replacements};
use crate::yaml::{Node, Span};

/// Where a plugin configuration was given, for diagnostics.
pub struct Ctx<'a> {
    /// Files, for patch paths.
    pub files: &'a dyn Files,
    /// The kustomization listing the plugin.
    pub k: &'a Kustomization,
    /// The entry in its `transformers:`/`generators:` list.
    pub span: Span,
    /// The schemas strategic-merge patches use.
    pub schemas: &'a dyn SchemaLookup,
}

impl Ctx<'_> {
    fn fail(&self, message: String) -> RenderError {
        RenderError::invalid(&self.k.file, self.span, message)
    }
}

/// Whether a configuration object is one of kustomize's built-in plugins.
#[must_use]
pub fn is_builtin(config: &Node) -> bool {
    config.field_str("apiVersion") == Some("builtin")
}

/// Runs one transformer configuration over the resources.
///
/// # Errors
/// An unknown or external plugin, a malformed configuration, or the transformer's failure.
pub fn transform(
    ctx: &Ctx<'_>,
    config: &Node,
    resources: &mut Vec<Resource>,
    defaults: &TransformerConfig,
) -> Result<(), RenderError> {
    let kind = config.field_str("kind").unwrap_or("");
    if !is_builtin(config) {
        return Err(external(ctx, config));
    }
    let t = |e: TransformError| ctx.fail(format!("{kind}: {}", e.0));
    let specs = |fallback: &[FieldSpec]| -> Result<Vec<FieldSpec>, RenderError> {
        match config
            .get_ignore_case("fieldSpecs")
            .filter(|n| !n.is_null())
        {
            Some(node) => fieldspec::parse_specs(node).map_err(|e| ctx.fail(e.to_string())),
            None => Ok(fallback.to_vec()),
        }
    };
    let pairs = |field: &str| -> Result<Vec<(String, String)>, RenderError> {
        let map = config
            .get_ignore_case(field)
            .and_then(Node::as_map)
            .unwrap_or_default();
        transform::string_pairs(map).map_err(t)
    };
    let text = |field: &str| {
        config
            .get_ignore_case(field)
            .filter(|n| !n.is_null())
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_owned()
    };
    match kind {
        "AnnotationsTransformer" => {
            let specs = specs(&[])?;
            transform::set_pairs(resources, &pairs("annotations")?, &specs).map_err(t)
        }
        "LabelTransformer" => {
            let specs = specs(&[])?;
            transform::set_pairs(resources, &pairs("labels")?, &specs).map_err(t)
        }
        "NamespaceTransformer" => {
            let ns = config
                .path(&["metadata", "namespace"])
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_owned();
            if ns.is_empty() {
                return Ok(());
            }
            let mut own = defaults.clone();
            own.namespace = specs(&defaults.namespace)?;
            transform::namespace(resources, &ns, &own).map_err(t)
        }
        "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
            let prefix_specs = specs(&defaults.name_prefix)?;
            transform::rename(resources, &text("prefix"), End::Prefix, &prefix_specs).map_err(t)?;
            let suffix_specs = specs(&defaults.name_suffix)?;
            transform::rename(resources, &text("suffix"), End::Suffix, &suffix_specs).map_err(t)
        }
        "ImageTagTransformer" => {
            let entry = config
                .get_ignore_case("imageTag")
                .ok_or_else(|| ctx.fail("ImageTagTransformer needs an imageTag".to_owned()))?;
            let image = ImageEntry::from_node(entry).map_err(|e| ctx.fail(e.to_string()))?;
            transform::image(resources, &image, &specs(&defaults.images)?).map_err(t)
        }
        "ReplicaCountTransformer" => {
            let replica = config.get_ignore_case("replica");
            let name = replica
                .and_then(|r| r.get_ignore_case("name"))
                .and_then(Node::as_str)
                .unwrap_or("");
            let count = replica
                .and_then(|r| r.get_ignore_case("count"))
                .and_then(Node::as_str)
                .and_then(|c| c.parse::<i64>().ok())
                .ok_or_else(|| ctx.fail("replica needs a name and an integer count".to_owned()))?;
            transform::replicas(resources, name, count, &specs(&defaults.replicas)?).map_err(t)
        }
        "PatchTransformer" => {
            let p = patch::load_patch_entry(ctx.files, ctx.k, config, "patch")?;
            patch::apply(resources, &p, ctx.schemas)
        }
        "PatchJson6902Transformer" => {
            let p = patch::load_patch_entry(ctx.files, ctx.k, config, "jsonOp")?;
            patch::apply(resources, &p, ctx.schemas)
        }
        "PatchStrategicMergeTransformer" => {
            let mut raws: Vec<&str> = config
                .get_ignore_case("paths")
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter_map(Node::as_str)
                .collect();
            let inline = text("patches");
            if !inline.is_empty() {
                raws.push(&inline);
            }
            for raw in raws {
                let p = patch::strategic_merge(ctx.files, ctx.k, raw, ctx.span)?;
                patch::apply(resources, &p, ctx.schemas)?;
            }
            Ok(())
        }
        "ReplacementTransformer" => {
            let list = config
                .get_ignore_case("replacements")
                .and_then(Node::as_seq)
                .unwrap_or_default();
            replacements::apply_replacements(resources, list).map_err(|e| ctx.fail(e.to_string()))
        }
        "ValueAddTransformer" => value_add(ctx, config, resources),
        _ => Err(RenderError::Unsupported {
            file: ctx.k.file.clone(),
            span: ctx.span,
            what: format!("the built-in plugin '{kind}' as a transformer"),
            hint: "use the kustomization field that configures it instead".to_owned(),
        }),
    }
}

fn external(ctx: &Ctx<'_>, config: &Node) -> RenderError {
    let api_version = config.field_str("apiVersion").unwrap_or("");
    let kind = config.field_str("kind").unwrap_or("");
    RenderError::Unsupported {
        file: ctx.k.file.clone(),
        span: ctx.span,
        what: format!("the plugin {api_version}/{kind} (an exec or container KRM function)"),
        hint: "kiln runs no external programs: express the change with kustomize's built-in \
               fields (patches, replacements, generators), or commit the generated manifests"
            .to_owned(),
    }
}

/// kustomize's `ValueAddTransformer`: puts `value` (default: the kustomization directory's
/// name) at each target's `fieldPath`, or inserts it into the path held there when
/// `filePathPosition` is given.
fn value_add(ctx: &Ctx<'_>, config: &Node, resources: &mut [Resource]) -> Result<(), RenderError> {
    let value = match config.get_ignore_case("value").and_then(Node::as_str) {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ => {
            let dir = ctx.k.dir.trim_end_matches('/');
            dir.rsplit('/').next().unwrap_or(dir).to_owned()
        }
    };
    for target in config
        .get_ignore_case("targets")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let field_path = target
            .get_ignore_case("fieldPath")
            .and_then(Node::as_str)
            .unwrap_or("");
        let position = target
            .get_ignore_case("filePathPosition")
            .and_then(Node::as_str)
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(0);
        let selector = match target.get_ignore_case("selector").filter(|n| !n.is_null()) {
            Some(node) => Some(
                Selector::from_node(node)
                    .and_then(|s| s.compile())
                    .map_err(|e| ctx.fail(e.to_string()))?,
            ),
            None => None,
        };
        let fields: Vec<String> = fieldspec::split_path(field_path)
            .into_iter()
            .map(|c| c.into_owned())
            .collect();
        for r in resources.iter_mut() {
            if selector.as_ref().is_some_and(|s| !s.matches(r)) {
                continue;
            }
            if field_path == "metadata/namespace" && r.cur_id().is_cluster_scoped() {
                continue;
            }
            let mut node = &mut r.node;
            for field in &fields {
                if !node.is_map() {
                    return Err(ctx.fail(format!(
                        "ValueAddTransformer: '{field_path}' does not lead to a scalar"
                    )));
                }
                if node.field(field).is_none_or(Node::is_null) {
                    node.set(field, Node::map());
                }
                node = node
                    .get_mut(field)
                    .ok_or_else(|| ctx.fail(format!("cannot create '{field_path}'")))?;
            }
            let old = if node.is_map() && node.as_map().is_some_and(<[(Node, Node)]>::is_empty) {
                String::new()
            } else {
                node.as_str()
                    .ok_or_else(|| {
                        ctx.fail(format!(
                            "ValueAddTransformer: '{field_path}' is not a scalar"
                        ))
                    })?
                    .to_owned()
            };
            let new = if position > 0 {
                insert_path_part(&old, usize::try_from(position - 1).unwrap_or(0), &value)
            } else {
                value.clone()
            };
            *node = Node::string(new);
        }
    }
    Ok(())
}

/// kustomize's `InsertPathPart`: `value` becomes path element `pos` of `path` (appended when
/// `pos` is past the end); a leading `/` stays.
fn insert_path_part(path: &str, pos: usize, value: &str) -> String {
    if path.is_empty() {
        return value.to_owned();
    }
    if path == "/" {
        return format!("/{value}");
    }
    let (lead, rest) = match path.strip_prefix('/') {
        Some(rest) => ("/", rest),
        None => ("", path),
    };
    let mut parts: Vec<&str> = rest.split('/').collect();
    let pos = pos.min(parts.len());
    parts.insert(pos, value);
    format!("{lead}{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::insert_path_part;

    #[test]
    fn insert_path_part_follows_kustomize_table() {
        // The table of kustomize's ValueAddTransformer documentation.
        assert_eq!(insert_path_part("", 0, "PEACH"), "PEACH");
        assert_eq!(insert_path_part("/", 0, "PEACH"), "/PEACH");
        assert_eq!(insert_path_part("pie", 0, "PEACH"), "PEACH/pie");
        assert_eq!(insert_path_part("/pie", 0, "PEACH"), "/PEACH/pie");
        assert_eq!(insert_path_part("raw", 1, "PEACH"), "raw/PEACH");
        assert_eq!(insert_path_part("/raw", 1, "PEACH"), "/raw/PEACH");
        assert_eq!(
            insert_path_part("a/nice/warm/pie", 3, "PEACH"),
            "a/nice/warm/PEACH/pie"
        );
        assert_eq!(
            insert_path_part("/a/nice/warm/pie", 3, "PEACH"),
            "/a/nice/warm/PEACH/pie"
        );
        assert_eq!(insert_path_part("raw", 9998, "PEACH"), "raw/PEACH");
    }
}
