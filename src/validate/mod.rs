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
    /// `kiln check --staged`: the paths the commit changes. Rules that read file contents
    /// (plaintext secrets and keys, image references) and rendering look only at the files
    /// changed and the apps they reach, unless a file every app shares changed
    /// ([`Options::shared_changed`]). Rules on the repository's shape (layout, CODEOWNERS,
    /// plaintext folders) always look at everything: they read no file contents.
    pub changed: Option<std::collections::BTreeSet<String>>,
}

impl Options {
    /// Whether a change touches what every app shares: `kiln.yaml`, CODEOWNERS, or the common
    /// base `apps/base/_common`. Then nothing is scoped.
    pub fn shared_changed(&self) -> bool {
        self.changed.as_ref().is_some_and(|c| {
            c.contains(crate::project::PROJECT_FILE)
                || crate::codeowners::LOCATIONS.iter().any(|l| c.contains(*l))
                || has_below(c, "apps/base/_common")
        })
    }

    /// Whether `app` is checked in depth (its images, its render): always, unless the check is
    /// scoped to changed paths and none of them is in the app's dependency set or folder.
    pub fn affects(&self, app: &crate::discover::App) -> bool {
        match &self.changed {
            Some(changed) if !self.shared_changed() => {
                app.deps.iter().any(|d| changed.contains(d)) || has_below(changed, &app.dir)
            }
            _ => true,
        }
    }

    /// Whether the contents of `path` are read by the per-file rules.
    pub fn covers_file(&self, path: &str) -> bool {
        match &self.changed {
            Some(changed) if !self.shared_changed() => changed.contains(path),
            _ => true,
        }
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
