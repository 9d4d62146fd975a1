//! `.sops.yaml` creation rules: which configuration file applies to a file, and which of its
//! rules decides the recipients and the encryption rule of that file.
//!
//! This module owns:
//! - finding the `.sops.yaml` for a file ([`find`]): the file's own directory, then its parents,
//!   stopping at the project root when the file is inside it (else after 100 parents, sops'
//!   limit). sops itself starts from the *current directory*; kiln starts from the file so the
//!   answer does not depend on where it runs (the seed layout keeps one `.sops.yaml` per app);
//! - parsing it ([`SopsConfig::parse`]): `creation_rules` with `path_regex`, `age` (a
//!   comma-separated string or a list), `key_groups` (age entries, `merge:` groups), the six
//!   encryption-rule keys (at most one per rule), `mac_only_encrypted`; and `stores.yaml.indent`.
//!   PGP, KMS, Vault and other key types are recorded and reported as unsupported when the
//!   chosen rule needs them; unknown keys are ignored, as sops ignores them;
//! - picking the rule for a file ([`SopsConfig::rule_for`]) exactly as sops does: the file path
//!   made absolute, the config directory plus `/` stripped from its front (so paths below the
//!   config are relative, others stay absolute), then the first rule with no `path_regex` or
//!   whose unanchored regex matches.
//!
//! It does not own: reading anything but the configuration file, `destination_rules`, the
//! `--config`/`SOPS_CONFIG` override (callers may pass a path to [`SopsConfig::load`]), Shamir
//! thresholds (several key groups are refused), or encrypting (see [`super::sops::encrypt`]).
//! Errors carry the configuration file and, where known, the 1-based line.

use std::path::{Component, Path, PathBuf};

use regex::Regex;

use super::sops::{EncryptOptions, EncryptionRule, Timestamp};
use crate::yaml::{self, Node, Value};

/// The configuration file's name (`.sops.yml` is not read by sops either).
pub const CONFIG_FILE: &str = ".sops.yaml";

/// How many parents of the start directory are searched when no root bounds the search.
const MAX_PARENTS: usize = 100;

/// Key types sops knows in a rule, besides `age`, that kiln cannot encrypt to.
const OTHER_KEYS: [&str; 7] = [
    "pgp",
    "kms",
    "gcp_kms",
    "azure_keyvault",
    "hc_vault_transit_uri",
    "hckms",
    "hc_vault",
];

/// Why a configuration could not be used. Never holds secret values: a `.sops.yaml` holds
/// public recipients and patterns only.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The configuration file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML or does not have the shape sops expects.
    #[error("{}:{line}: {message}", path.display())]
    Invalid {
        /// The configuration file.
        path: PathBuf,
        /// 1-based line.
        line: u32,
        /// What is wrong.
        message: String,
    },
    /// No rule matches the file.
    #[error("{}: no creation rule matches `{file}`", path.display())]
    NoMatchingRule {
        /// The configuration file.
        path: PathBuf,
        /// The file path as it was matched (relative to the configuration's directory).
        file: String,
    },
    /// The matching rule needs a key type kiln does not support.
    #[error(
        "{}:{line}: the creation rule for `{file}` uses {what}, which kiln cannot encrypt to",
        path.display()
    )]
    Unsupported {
        /// The configuration file.
        path: PathBuf,
        /// The rule's line.
        line: u32,
        /// The file path as matched.
        file: String,
        /// The unsupported feature.
        what: String,
    },
    /// The matching rule names no age recipient.
    #[error("{}:{line}: the creation rule for `{file}` has no age recipients", path.display())]
    NoRecipients {
        /// The configuration file.
        path: PathBuf,
        /// The rule's line.
        line: u32,
        /// The file path as matched.
        file: String,
    },
}

impl ConfigError {
    /// The configuration file the error is about.
    #[must_use]
    pub fn path(&self) -> &Path {
        match self {
            ConfigError::Io { path, .. }
            | ConfigError::Invalid { path, .. }
            | ConfigError::NoMatchingRule { path, .. }
            | ConfigError::Unsupported { path, .. }
            | ConfigError::NoRecipients { path, .. } => path,
        }
    }

    /// The 1-based line, when the error is about one.
    #[must_use]
    pub fn line(&self) -> Option<u32> {
        match self {
            ConfigError::Invalid { line, .. }
            | ConfigError::Unsupported { line, .. }
            | ConfigError::NoRecipients { line, .. } => Some(*line),
            ConfigError::Io { .. } | ConfigError::NoMatchingRule { .. } => None,
        }
    }
}

/// One entry of `creation_rules`.
#[derive(Debug, Clone)]
pub struct CreationRule {
    /// The 1-based line the rule starts on.
    pub line: u32,
    /// `path_regex` as written; `None` matches every file.
    pub path_regex: Option<String>,
    regex: Option<Regex>,
    /// The age recipients (from `age`, or from the key group), trimmed and de-duplicated.
    pub age: Vec<String>,
    /// Key types the rule also names that kiln cannot encrypt to (`pgp`, `kms`, …).
    pub other_keys: Vec<&'static str>,
    /// Number of key groups (more than one is Shamir secret sharing).
    pub key_groups: usize,
    /// The encryption rule (`encrypted_regex`, …), if any.
    pub encryption_rule: Option<EncryptionRule>,
    /// `mac_only_encrypted`.
    pub mac_only_encrypted: bool,
}

impl CreationRule {
    /// Whether the rule applies to `path` (already relative to the configuration's directory).
    #[must_use]
    pub fn matches(&self, path: &str) -> bool {
        self.regex.as_ref().is_none_or(|re| re.is_match(path))
    }
}

/// A parsed `.sops.yaml`.
#[derive(Debug, Clone)]
pub struct SopsConfig {
    /// The configuration file.
    pub path: PathBuf,
    /// `creation_rules`, in order; `None` when the key is absent (sops then treats the file as
    /// if there were no configuration).
    pub rules: Option<Vec<CreationRule>>,
    /// `stores.yaml.indent`.
    pub yaml_indent: Option<usize>,
}

/// The rule chosen for a file, with what encrypting it needs.
#[derive(Debug, Clone)]
pub struct Selected<'c> {
    /// The rule.
    pub rule: &'c CreationRule,
    /// The path as it was matched.
    pub matched_path: String,
    /// The age recipients to encrypt for.
    pub recipients: Vec<String>,
}

impl Selected<'_> {
    /// The encryption options the rule (and the configuration's YAML indent) call for.
    #[must_use]
    pub fn options(&self, config: &SopsConfig, lastmodified: Timestamp) -> EncryptOptions {
        let mut options = EncryptOptions::new(lastmodified);
        options.rule = self.rule.encryption_rule.clone();
        options.mac_only_encrypted = self.rule.mac_only_encrypted;
        if let Some(indent) = config.yaml_indent {
            options.yaml_indent = indent;
        }
        options
    }
}

impl SopsConfig {
    /// Reads and parses a configuration file.
    ///
    /// # Errors
    /// [`ConfigError::Io`] or [`ConfigError::Invalid`].
    pub fn load(path: &Path) -> Result<SopsConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        SopsConfig::parse(path, &text)
    }

    /// Parses the text of the configuration file at `path` (used for messages and for the
    /// directory paths are matched against).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] with the line of the offending node.
    pub fn parse(path: &Path, text: &str) -> Result<SopsConfig, ConfigError> {
        let invalid = |line: u32, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            message,
        };
        let root = yaml::parse_one(text).map_err(|e| invalid(e.span().line, e.to_string()))?;
        let mut config = SopsConfig {
            path: path.to_path_buf(),
            rules: None,
            yaml_indent: None,
        };
        let Some(root) = root else {
            return Ok(config);
        };
        if root.as_map().is_none() {
            return Err(invalid(
                root.span.line,
                format!(
                    "the configuration must be a mapping, not a {}",
                    root.kind_name()
                ),
            ));
        }
        if let Some(indent) = root
            .get("stores")
            .and_then(|s| s.get("yaml")?.get("indent"))
        {
            match indent.resolve() {
                Some(Value::Int(n)) if (0..=9).contains(&n) => {
                    // sops uses 4 for 0 (unset), and go-yaml refuses indents below 2.
                    let n = usize::try_from(n).unwrap_or(0);
                    config.yaml_indent = Some(if n == 0 { 4 } else { n.max(2) });
                }
                _ => {
                    return Err(invalid(
                        indent.span.line,
                        "stores.yaml.indent must be an integer from 0 to 9".to_owned(),
                    ));
                }
            }
        }
        match root.get("creation_rules") {
            None => {}
            Some(rules) if rules.is_null() => {}
            Some(rules) => {
                let Some(items) = rules.as_seq() else {
                    return Err(invalid(
                        rules.span.line,
                        "creation_rules must be a list of rules".to_owned(),
                    ));
                };
                let parsed = items
                    .iter()
                    .map(|rule| parse_rule(rule).map_err(|(line, m)| invalid(line, m)))
                    .collect::<Result<Vec<_>, _>>()?;
                config.rules = Some(parsed);
            }
        }
        Ok(config)
    }

    /// The directory paths are matched relative to: the configuration file's directory.
    #[must_use]
    pub fn dir(&self) -> PathBuf {
        absolute(self.path.parent().unwrap_or(Path::new(".")))
    }

    /// The path sops matches `path_regex` against for `file`: absolute, then relative to the
    /// configuration's directory when it is below it, with `/` separators.
    #[must_use]
    pub fn match_path(&self, file: &Path) -> String {
        let file = absolute(file).to_string_lossy().replace('\\', "/");
        let dir = self.dir().to_string_lossy().replace('\\', "/");
        let prefix = if dir.ends_with('/') {
            dir
        } else {
            format!("{dir}/")
        };
        match file.strip_prefix(&prefix) {
            Some(rest) => rest.to_owned(),
            None => file,
        }
    }

    /// The first rule that matches `file`, with its age recipients.
    ///
    /// # Errors
    /// [`ConfigError::NoMatchingRule`] when no rule matches (or the file has no
    /// `creation_rules`), [`ConfigError::Unsupported`] when the rule also names PGP, KMS, …
    /// keys or several key groups, [`ConfigError::NoRecipients`] when it names no age key.
    pub fn rule_for(&self, file: &Path) -> Result<Selected<'_>, ConfigError> {
        let matched_path = self.match_path(file);
        let rule = self
            .rules
            .iter()
            .flatten()
            .find(|r| r.matches(&matched_path))
            .ok_or_else(|| ConfigError::NoMatchingRule {
                path: self.path.clone(),
                file: matched_path.clone(),
            })?;
        let unsupported = |what: String| ConfigError::Unsupported {
            path: self.path.clone(),
            line: rule.line,
            file: matched_path.clone(),
            what,
        };
        if rule.key_groups > 1 {
            return Err(unsupported(format!(
                "{} key groups (Shamir secret sharing)",
                rule.key_groups
            )));
        }
        if !rule.other_keys.is_empty() {
            return Err(unsupported(format!("{} keys", rule.other_keys.join(", "))));
        }
        if rule.age.is_empty() {
            return Err(ConfigError::NoRecipients {
                path: self.path.clone(),
                line: rule.line,
                file: matched_path,
            });
        }
        Ok(Selected {
            rule,
            recipients: rule.age.clone(),
            matched_path,
        })
    }
}

/// Finds the `.sops.yaml` for `file`: in the file's directory or the nearest parent that has
/// one, not above `root` when `file` is inside `root`.
#[must_use]
pub fn find(file: &Path, root: Option<&Path>) -> Option<PathBuf> {
    let file = absolute(file);
    let start = file.parent()?;
    let root = root.map(absolute).filter(|r| start.starts_with(r));
    for (count, dir) in start.ancestors().enumerate() {
        if root.is_none() && count > MAX_PARENTS {
            break;
        }
        let candidate = dir.join(CONFIG_FILE);
        if candidate.is_file() {
            return Some(candidate);
        }
        if root.as_deref() == Some(dir) {
            break;
        }
    }
    None
}

/// Finds and loads the configuration for `file` (see [`find`]); `Ok(None)` when there is none.
///
/// # Errors
/// As [`SopsConfig::load`].
pub fn for_file(file: &Path, root: Option<&Path>) -> Result<Option<SopsConfig>, ConfigError> {
    find(file, root).map(|p| SopsConfig::load(&p)).transpose()
}

/// `path` made absolute against the current directory and cleaned lexically (`.` removed, `..`
/// applied), as Go's `filepath.Abs` does: symlinks are not resolved.
#[must_use]
pub fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                // `..` at the root stays at the root, as in `filepath.Clean`.
                if out.parent().is_some() {
                    out.pop();
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

type RuleError = (u32, String);

fn parse_rule(node: &Node) -> Result<CreationRule, RuleError> {
    let line = node.span.line;
    if node.as_map().is_none() {
        return Err((
            line,
            format!(
                "a creation rule must be a mapping, not a {}",
                node.kind_name()
            ),
        ));
    }
    let mut rule = CreationRule {
        line,
        path_regex: None,
        regex: None,
        age: Vec::new(),
        other_keys: Vec::new(),
        key_groups: 0,
        encryption_rule: None,
        mac_only_encrypted: false,
    };
    if let Some(re) = node.get("path_regex").filter(|n| !n.is_null()) {
        let text = scalar(re, "path_regex")?;
        if !text.is_empty() {
            let compiled = Regex::new(text).map_err(|e| {
                (
                    re.span.line,
                    format!(
                        "path_regex is not a valid regular expression: {}",
                        regex_error(&e)
                    ),
                )
            })?;
            rule.path_regex = Some(text.to_owned());
            rule.regex = Some(compiled);
        }
    }
    match node.get("key_groups").filter(|n| !n.is_null()) {
        Some(groups) => {
            let items = groups
                .as_seq()
                .ok_or_else(|| (groups.span.line, "key_groups must be a list".to_owned()))?;
            rule.key_groups = items.len();
            for group in items {
                collect_group(group, &mut rule, 0)?;
            }
        }
        None => {
            if let Some(age) = node.get("age").filter(|n| !n.is_null()) {
                push_keys(&mut rule.age, age, "age")?;
            }
            for key in OTHER_KEYS {
                if node.get(key).is_some_and(has_keys) {
                    rule.other_keys.push(key);
                }
            }
            rule.key_groups = usize::from(!rule.age.is_empty() || !rule.other_keys.is_empty());
        }
    }
    // In document order, so a second rule key is reported on its own line.
    let mut present: Vec<(&str, &Node)> = EncryptionRule::FIELDS
        .iter()
        .filter_map(|field| Some((*field, node.get(field).filter(|n| !n.is_null())?)))
        .collect();
    present.sort_by_key(|(_, value)| value.span.start);
    for (field, value) in present {
        let text = scalar(value, field)?;
        if text.is_empty() {
            continue;
        }
        if rule.encryption_rule.is_some() {
            return Err((
                value.span.line,
                format!(
                    "a rule may use only one of {}; `{field}` is the second",
                    EncryptionRule::FIELDS.join(", ")
                ),
            ));
        }
        if field.ends_with("_regex") {
            Regex::new(text).map_err(|e| {
                (
                    value.span.line,
                    format!(
                        "{field} is not a valid regular expression: {}",
                        regex_error(&e)
                    ),
                )
            })?;
        }
        rule.encryption_rule = EncryptionRule::from_field(field, text.to_owned());
    }
    if let Some(flag) = node.get("mac_only_encrypted").filter(|n| !n.is_null()) {
        match flag.resolve() {
            Some(Value::Bool(b)) => rule.mac_only_encrypted = b,
            _ => {
                return Err((
                    flag.span.line,
                    "mac_only_encrypted must be true or false".to_owned(),
                ));
            }
        }
    }
    Ok(rule)
}

/// Adds the keys of one key group (and its `merge:` groups) to the rule.
fn collect_group(group: &Node, rule: &mut CreationRule, depth: usize) -> Result<(), RuleError> {
    if depth > 32 {
        return Err((
            group.span.line,
            "key groups are nested too deeply".to_owned(),
        ));
    }
    if group.as_map().is_none() {
        return Err((
            group.span.line,
            format!("a key group must be a mapping, not a {}", group.kind_name()),
        ));
    }
    if let Some(age) = group.get("age").filter(|n| !n.is_null()) {
        push_keys(&mut rule.age, age, "age")?;
    }
    for key in OTHER_KEYS {
        if group.get(key).is_some_and(has_keys) && !rule.other_keys.contains(&key) {
            rule.other_keys.push(key);
        }
    }
    if let Some(merge) = group.get("merge").filter(|n| !n.is_null()) {
        let items = merge.as_seq().ok_or_else(|| {
            (
                merge.span.line,
                "merge must be a list of key groups".to_owned(),
            )
        })?;
        for nested in items {
            collect_group(nested, rule, depth + 1)?;
        }
    }
    Ok(())
}

/// Appends recipients given as a comma-separated string or a list of strings: entries trimmed,
/// empty ones dropped, duplicates skipped.
fn push_keys(out: &mut Vec<String>, node: &Node, field: &str) -> Result<(), RuleError> {
    let mut add = |text: &str| {
        for key in text.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            if !out.iter().any(|k| k == key) {
                out.push(key.to_owned());
            }
        }
    };
    match (node.as_str(), node.as_seq()) {
        (Some(text), _) => add(text),
        (_, Some(items)) => {
            for item in items {
                add(scalar(item, field)?);
            }
        }
        _ => {
            return Err((
                node.span.line,
                format!("{field} must be a string or a list of strings"),
            ));
        }
    }
    Ok(())
}

/// Whether a key field names at least one key (a non-empty string, list or mapping).
fn has_keys(node: &Node) -> bool {
    if node.is_null() {
        return false;
    }
    match (node.as_str(), node.as_seq(), node.as_map()) {
        (Some(text), _, _) => text.split(',').any(|k| !k.trim().is_empty()),
        (_, Some(items), _) => !items.is_empty(),
        (_, _, Some(entries)) => !entries.is_empty(),
        _ => false,
    }
}

/// The regex crate's message on one line (it draws the pattern with a caret above its last
/// line, `error: unclosed group`).
fn regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(&text);
    last.trim().trim_start_matches("error: ").to_owned()
}

fn scalar<'n>(node: &'n Node, field: &str) -> Result<&'n str, RuleError> {
    node.as_str()
        .ok_or_else(|| (node.span.line, format!("{field} must be a string")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const R1: &str = "age184m538ykd59z6pve834jjurs8v8lszjkzy3vlxrlj8mgcvcayfsq9l9j3m";
    const R2: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

    fn parse(text: &str) -> Result<SopsConfig, ConfigError> {
        SopsConfig::parse(Path::new("/repo/app/.sops.yaml"), text)
    }

    #[test]
    fn seed_rule() {
        let config = parse(&format!(
            "# comment\ncreation_rules:\n- path_regex: secret/.*\\.yaml$\n  encrypted_regex: ^(data|stringData)$\n  age: {R1}\n"
        ))
        .expect("parses");
        let selected = config
            .rule_for(Path::new("/repo/app/secret/db.yaml"))
            .expect("matches");
        assert_eq!(selected.matched_path, "secret/db.yaml");
        assert_eq!(selected.recipients, [R1]);
        assert_eq!(selected.rule.line, 3);
        assert_eq!(
            selected.rule.encryption_rule,
            Some(EncryptionRule::EncryptedRegex("^(data|stringData)$".into()))
        );
        // Unanchored, relative to the config's directory: the plaintext folder does not match.
        let err = config
            .rule_for(Path::new("/repo/app/secret-decrypted/db.yaml"))
            .expect_err("no rule");
        assert!(
            matches!(err, ConfigError::NoMatchingRule { ref file, .. } if file == "secret-decrypted/db.yaml")
        );
        // Outside the config's directory the path stays absolute.
        assert_eq!(
            config.match_path(Path::new("/elsewhere/secret/x.yaml")),
            "/elsewhere/secret/x.yaml"
        );
        assert_eq!(
            config.match_path(Path::new("/repo/app/./sub/../secret/x.yaml")),
            "secret/x.yaml"
        );
    }

    #[test]
    fn first_match_wins_and_keys_in_every_form() {
        let config = parse(&format!(
            "creation_rules:\n\
             - path_regex: \\.env$\n  age: ' {R1} , , {R2}'\n  mac_only_encrypted: true\n\
             - path_regex: prod/\n  age: [{R2}, {R1}, {R2}]\n  unencrypted_suffix: _clear\n\
             - key_groups:\n  - age: [{R1}]\n    merge:\n    - age: [{R2}]\n"
        ))
        .expect("parses");
        let a = config
            .rule_for(Path::new("/repo/app/prod/x.env"))
            .expect("env");
        assert_eq!(a.recipients, [R1, R2]);
        assert!(a.rule.mac_only_encrypted);
        let b = config
            .rule_for(Path::new("/repo/app/prod/x.yaml"))
            .expect("prod");
        assert_eq!(b.recipients, [R2, R1]);
        assert_eq!(
            b.options(&config, Timestamp::from_unix_seconds(0)).rule,
            Some(EncryptionRule::UnencryptedSuffix("_clear".into()))
        );
        let c = config
            .rule_for(Path::new("/repo/app/x.json"))
            .expect("catch-all");
        assert_eq!(c.recipients, [R1, R2]);
        assert_eq!(c.rule.line, 8);
    }

    #[test]
    fn aliases_and_indent() {
        let config = parse(&format!(
            "keys:\n  - &me {R1}\nstores:\n  yaml:\n    indent: 2\ncreation_rules:\n  - age: *me\n"
        ))
        .expect("parses");
        assert_eq!(config.yaml_indent, Some(2));
        let s = config.rule_for(Path::new("/x")).expect("matches");
        assert_eq!(s.recipients, [R1]);
        assert_eq!(
            s.options(&config, Timestamp::from_unix_seconds(0))
                .yaml_indent,
            2
        );
    }

    #[test]
    fn unsupported_and_empty_rules() {
        let config = parse(&format!(
            "creation_rules:\n- path_regex: pgp\n  pgp: ABCDEF\n  age: {R1}\n\
             - path_regex: shamir\n  key_groups:\n  - age: [{R1}]\n  - age: [{R2}]\n\
             - path_regex: none\n  encrypted_regex: x\n"
        ))
        .expect("parses");
        let err = config
            .rule_for(Path::new("/repo/app/pgp"))
            .expect_err("pgp");
        assert_eq!(
            err.to_string(),
            "/repo/app/.sops.yaml:2: the creation rule for `pgp` uses pgp keys, which kiln cannot encrypt to"
        );
        assert!(matches!(
            config.rule_for(Path::new("/repo/app/shamir")),
            Err(ConfigError::Unsupported { line: 5, .. })
        ));
        assert!(matches!(
            config.rule_for(Path::new("/repo/app/none")),
            Err(ConfigError::NoRecipients { line: 9, .. })
        ));
        let empty = parse("# nothing\n").expect("parses");
        assert!(empty.rules.is_none());
        assert!(matches!(
            empty.rule_for(Path::new("/x")),
            Err(ConfigError::NoMatchingRule { .. })
        ));
    }

    #[test]
    fn errors_have_lines() {
        for (text, line, needle) in [
            ("creation_rules: {}\n", 1, "must be a list"),
            (
                "creation_rules:\n- path_regex: '('\n",
                2,
                "path_regex is not a valid",
            ),
            (
                "creation_rules:\n- encrypted_regex: a\n  unencrypted_regex: b\n",
                3,
                "only one of",
            ),
            ("creation_rules:\n- age: {a: b}\n", 2, "string or a list"),
            (
                "creation_rules:\n- mac_only_encrypted: maybe\n",
                2,
                "true or false",
            ),
            ("creation_rules:\n  - x\n", 2, "must be a mapping"),
            ("a: [\n", 2, "YAML syntax error"),
            ("stores:\n  yaml:\n    indent: many\n", 3, "indent"),
        ] {
            let err = parse(text).expect_err(text);
            assert_eq!(err.line(), Some(line), "{text}: {err}");
            assert!(err.to_string().contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn finds_the_nearest_config_below_the_root() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("repo");
        let app = root.join("apps/dev/db");
        std::fs::create_dir_all(app.join("secret")).expect("mkdir");
        assert_eq!(find(&app.join("secret/x.yaml"), Some(&root)), None);
        std::fs::write(tmp.path().join(CONFIG_FILE), "").expect("write");
        // Above the root: not used for files inside the root.
        assert_eq!(find(&app.join("secret/x.yaml"), Some(&root)), None);
        std::fs::write(root.join(CONFIG_FILE), "").expect("write");
        assert_eq!(
            find(&app.join("secret/x.yaml"), Some(&root)),
            Some(root.join(CONFIG_FILE))
        );
        std::fs::write(app.join(CONFIG_FILE), "").expect("write");
        assert_eq!(
            find(&app.join("secret/x.yaml"), Some(&root)),
            Some(app.join(CONFIG_FILE))
        );
        // A file outside the root searches its own parents.
        assert_eq!(
            find(&tmp.path().join("other/x.yaml"), Some(&root)),
            Some(tmp.path().join(CONFIG_FILE))
        );
    }
}
