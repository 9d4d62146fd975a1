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
                || plaintext::check(loader, project, repo),
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
