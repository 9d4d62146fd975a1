//! What the commands that render share: choosing environments, rendering an app the way
//! `kiln compile` does (images from build folders, KSOPS keys), and protecting its Secrets.
//!
//! `kiln compile`, `kiln publish` and `kiln diff` differ only in where the result goes (a
//! folder, a git branch, a comparison); this module keeps them rendering the same bytes.

use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::discover::{App, Repo};
use crate::fs::RepoFs;
use crate::load::Loader;
use crate::project::{Project, SealScope, SecretsOutput};
use crate::render::images::ImageEntry;
use crate::render::{Renderer, Resource};
use crate::secrets::output::{ProtectError, Protection};
use crate::secrets::sealed::{Certificate, Scope};
use crate::validate::images::BuiltImage;

/// The environments `--env E...` / `--all` select, in repository order.
///
/// # Errors
/// A usage diagnostic when neither is given or an environment does not exist.
pub fn select_envs<'r>(
    repo: &'r Repo,
    wanted: &[String],
    all: bool,
) -> Result<Vec<&'r str>, Diagnostic> {
    let known: Vec<&str> = repo.envs.iter().map(|e| e.name.as_str()).collect();
    if wanted.is_empty() && !all {
        return Err(
            Diagnostic::new(Code::Usage, "say which environments to use")
                .hint(format!("--env ENV (one of: {}) or --all", known.join(", ")))
                .severity(Severity::Fatal),
        );
    }
    if let Some(unknown) = wanted.iter().find(|e| !known.contains(&e.as_str())) {
        return Err(
            Diagnostic::new(Code::Usage, format!("there is no environment `{unknown}`"))
                .hint(format!("environments: {}", known.join(", ")))
                .severity(Severity::Fatal),
        );
    }
    Ok(if all {
        known
    } else {
        known
            .into_iter()
            .filter(|e| wanted.iter().any(|a| a == e))
            .collect()
    })
}

/// Renders apps as `kiln compile` does.
pub struct Rendering<'a> {
    renderer: Renderer<'a>,
    repo: &'a Repo,
    project: &'a Project,
    built: Vec<BuiltImage>,
    key_warning: Option<Diagnostic>,
}

impl<'a> Rendering<'a> {
    /// Prepares rendering: reads the build folders when `images.setFromBuild` asks for them,
    /// and the age keys sops would use.
    ///
    /// # Errors
    /// The build folders' problems, when `images.setFromBuild` needs them.
    pub fn new(
        fs: &'a RepoFs,
        loader: &Loader<'_>,
        project: &'a Project,
        repo: &'a Repo,
    ) -> Result<Rendering<'a>, Vec<Diagnostic>> {
        let built = if project.images.set_from_build {
            let (built, problems) = crate::validate::images::builds(loader, repo);
            if !problems.is_empty() {
                return Err(problems);
            }
            built
        } else {
            Vec::new()
        };
        let (identities, key_warning) = super::load_identities();
        Ok(Rendering {
            renderer: Renderer::new(fs).with_identities(identities),
            repo,
            project,
            built,
            key_warning,
        })
    }

    /// The age identities in use.
    #[must_use]
    pub fn identities(&self) -> &[age::x25519::Identity] {
        self.renderer.identities()
    }

    /// A warning about age keys that could not be loaded, worth showing when a render failed.
    #[must_use]
    pub fn key_warning(&self) -> Option<Diagnostic> {
        self.key_warning.clone()
    }

    /// Renders one app's overlay.
    ///
    /// # Errors
    /// The render's diagnostic.
    pub fn render_app(&self, app: &App) -> Result<Vec<Resource>, Diagnostic> {
        let dir = app.deploy.as_deref().unwrap_or(&app.dir);
        let images =
            images_from_builds(self.repo, dir, &self.built, &self.project.images.registries);
        self.renderer
            .render_with_images(dir, &images)
            .map_err(|e| e.to_diagnostic())
    }
}

/// The `images:` entries `kustomize edit set image` would add to the overlay in `dir` for the
/// build folders of the bases it reaches: `<registry>/<imageName>` set to `imageTag`, for each
/// of the project's registries.
fn images_from_builds(
    repo: &Repo,
    dir: &str,
    built: &[BuiltImage],
    registries: &[String],
) -> Vec<ImageEntry> {
    if built.is_empty() {
        return Vec::new();
    }
    let mut entries: Vec<ImageEntry> = Vec::new();
    for base in repo.bases_reached(dir) {
        for image in built.iter().filter(|b| b.app == base.name) {
            for registry in registries {
                let name = format!("{registry}/{}", image.vars.image_name);
                if entries.iter().any(|e| e.name == name) {
                    continue;
                }
                // vars.yaml is schema-checked (name and tag patterns), so the entry compiles.
                if let Ok(entry) = ImageEntry::new(&name, "", &image.vars.image_tag, "", "") {
                    entries.push(entry);
                }
            }
        }
    }
    entries
}

/// The protection of each environment's Secrets (`kiln.yaml` `environments.<env>.secrets`),
/// with SealedSecrets certificates read and checked.
pub fn protections(
    fs: &crate::fs::RepoFs,
    project: &crate::project::Project,
    envs: &[&str],
) -> Result<std::collections::BTreeMap<String, Protection>, Diagnostic> {
    let mut out = std::collections::BTreeMap::new();
    for env in envs {
        let config = project
            .environments
            .get(*env)
            .and_then(|e| e.secrets.as_ref());
        let protection = match config {
            None => Protection::None,
            Some(SecretsOutput::Sops(sops)) => Protection::Sops {
                recipients: sops.age.clone(),
            },
            Some(SecretsOutput::SealedSecrets(sealed)) => {
                let bad = |message: String| {
                    Diagnostic::new(Code::InvalidProject, message)
                        .in_file(crate::project::PROJECT_FILE)
                        .severity(Severity::Fatal)
                };
                let pem = fs.read(&sealed.certificate).map_err(|e| {
                    bad(format!(
                        "environments.{env}.secrets.sealedSecrets.certificate: cannot read {}: {e}",
                        sealed.certificate
                    ))
                })?;
                let certificate = Certificate::from_pem(&pem)
                    .and_then(|c| c.check_valid_now().map(|()| c))
                    .map_err(|e| bad(format!("{}: {e}", sealed.certificate)))?;
                Protection::Sealed {
                    certificate: Box::new(certificate),
                    scope: match sealed.scope {
                        SealScope::Strict => Scope::Strict,
                        SealScope::NamespaceWide => Scope::NamespaceWide,
                        SealScope::ClusterWide => Scope::ClusterWide,
                    },
                }
            }
        };
        out.insert((*env).to_owned(), protection);
    }
    Ok(out)
}

/// The diagnostic of an app whose Secrets could not be written (it names the Secret, never
/// a value, and shows no excerpt).
pub fn protect_diagnostic(app: &App, e: &ProtectError) -> Diagnostic {
    let folder = app.deploy.clone().unwrap_or_else(|| app.dir.clone());
    let d = Diagnostic::new(
        Code::PlaintextOutput,
        format!("{}/{}: {e}", app.env, app.name),
    )
    .in_file(folder)
    .sensitive();
    match e {
        ProtectError::NotConfigured { .. } => d.hint(format!(
            "kiln never writes plaintext: set environments.{}.secrets in kiln.yaml (sops with age \
             recipients, or sealedSecrets with the controller's certificate)",
            app.env
        )),
        ProtectError::Failed { .. } => d,
    }
}

/// A fingerprint of an app's inputs: its dependency files' paths and git blob ids (free for
/// git sources, hashed for the work tree). Equal fingerprints, under an equal `kiln.yaml`,
/// mean equal renders.
#[must_use]
pub fn fingerprint(fs: &RepoFs, app: &App) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for path in &app.deps {
        hasher.update(path.as_bytes());
        hasher.update([0]);
        if let Some(id) = fs.blob_id(path) {
            hasher.update(id.as_bytes());
        }
        hasher.update([0xff]);
    }
    hasher.finalize().into()
}

/// A fingerprint of what every render of the project depends on besides an app's own inputs:
/// `kiln.yaml` and the files it names (SealedSecrets certificates).
#[must_use]
pub fn project_fingerprint(fs: &RepoFs, project: &Project) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let mut files = vec![crate::project::PROJECT_FILE.to_owned()];
    for env in project.environments.values() {
        if let Some(SecretsOutput::SealedSecrets(sealed)) = &env.secrets {
            files.push(sealed.certificate.clone());
        }
    }
    for path in files {
        hasher.update(path.as_bytes());
        hasher.update([0]);
        if let Some(id) = fs.blob_id(&path) {
            hasher.update(id.as_bytes());
        }
    }
    hasher.finalize().into()
}
