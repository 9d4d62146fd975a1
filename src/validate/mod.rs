//! Validation of a discovered repository: layout rules, images, plaintext secrets and
//! CODEOWNERS.
//!
//! Every rule is a function from the model ([`Repo`], the [`Project`] configuration and
//! the file view) to diagnostics; rules never stop at the first finding and never fail:
//! whatever they cannot read becomes a diagnostic too. [`validate`] runs them all and
//! returns the collected list. Each rule family lives in its own module and owns its
//! codes (see `diagnostics::Code`).

pub mod images;
pub mod layout;
pub mod owners;
pub mod plaintext;
pub mod rendered;
pub mod schema;

use crate::diagnostics::Diagnostics;
use crate::discover::Repo;
use crate::load::Loader;
use crate::project::Project;

/// What to validate.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only these environments' apps (all when empty). Bases, images, CODEOWNERS and
    /// plaintext rules always apply to the whole repository.
    pub envs: Vec<String>,
    /// `kiln check --staged`: the changed paths the check is scoped to (see
    /// [`Options::staged`]); `None` checks everything. Rules that read file contents
    /// (plaintext secrets and keys, image references) and rendering look only at the changed
    /// files and the apps they reach; rules on the repository's shape (layout, CODEOWNERS,
    /// plaintext folders) always look at everything: they read no file contents.
    pub scope: Option<std::collections::BTreeSet<String>>,
}

impl Options {
    /// The options of `kiln check --staged`: scoped to the `changed` paths, unless one of them
    /// is shared by every app (`kiln.yaml`, CODEOWNERS, the common base `apps/base/_common`),
    /// which leaves nothing unaffected.
    pub fn staged(envs: Vec<String>, changed: &std::collections::BTreeSet<String>) -> Options {
        let shared = changed.contains(crate::project::PROJECT_FILE)
            || crate::codeowners::LOCATIONS
                .iter()
                .any(|l| changed.contains(*l))
            || has_below(changed, "apps/base/_common");
        Options {
            envs,
            scope: (!shared).then(|| changed.clone()),
        }
    }

    /// Whether `app` is checked in depth (its images, its render): always, unless the check is
    /// scoped and none of the changed paths is in the app's dependency set or folder.
    pub fn affects(&self, app: &crate::discover::App) -> bool {
        self.scope.as_ref().is_none_or(|changed| {
            app.deps.iter().any(|d| changed.contains(d)) || has_below(changed, &app.dir)
        })
    }

    /// Whether the contents of `path` are read by the per-file rules.
    pub fn covers_file(&self, path: &str) -> bool {
        self.scope
            .as_ref()
            .is_none_or(|changed| changed.contains(path))
    }
}

/// Whether a sorted set of paths holds one below the folder `dir`.
fn has_below(paths: &std::collections::BTreeSet<String>, dir: &str) -> bool {
    let prefix = format!("{dir}/");
    paths
        .range(prefix.clone()..)
        .next()
        .is_some_and(|p| p.starts_with(&prefix))
}

/// Runs every rule and collects the diagnostics, sorted and deduplicated.
pub fn validate(
    loader: &Loader<'_>,
    project: &Project,
    repo: &Repo,
    opts: &Options,
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    diags.extend(repo.diagnostics.iter().cloned());
    let ((layout, images), (owners, plaintext)) = rayon::join(
        || {
            rayon::join(
                || layout::check(loader, repo, opts),
                || images::check(loader, project, repo, opts),
            )
        },
        || {
            rayon::join(
                || owners::check(loader, project, repo),
                || plaintext::check(loader, project, repo, opts),
            )
        },
    );
    diags.extend(layout);
    diags.extend(images);
    diags.extend(owners);
    diags.extend(plaintext);
    diags.finish();
    diags
}

/// Whether an environment is selected by the options.
pub(crate) fn env_selected(opts: &Options, env: &str) -> bool {
    opts.envs.is_empty() || opts.envs.iter().any(|e| e == env)
}
