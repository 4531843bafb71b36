//! Task-definition rendering as a plan: which containers change and how.
//!
//! The adapter reads the current task definition, calls these functions, and applies the
//! plan to the SDK shapes. Everything that can be wrong with a release (unknown container,
//! unresolved secret) is found here, before the migration runs and the service changes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{AppConfig, StageConfig};
use crate::error::{Error, Result};
use crate::image::EcrRepository;

/// A container of the current task definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSummary {
    pub name: String,
    pub image: String,
}

/// What to change in one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerChange {
    pub name: String,
    pub image: String,
    /// Variables to set or override.
    pub environment: BTreeMap<String, String>,
    /// Environment variable name → `valueFrom` (full ARN form).
    pub secrets: BTreeMap<String, String>,
}

/// The containers a release updates, in config order (explicit `containers`) or task
/// definition order (every container whose image comes from the app's repository in the
/// registry of `release_image`: same account, region and repository name, so a sidecar from
/// another account's `backend` repository is left alone).
pub fn target_containers(
    app: &AppConfig,
    current: &[ContainerSummary],
    release_image: &str,
) -> Result<Vec<String>> {
    match matched_containers(app, current, release_image) {
        (_, Some(problem)) => Err(problem),
        (targets, None) => Ok(targets),
    }
}

/// The containers a release updates that the task definition has, and what is wrong when
/// that is not every one it should update (see [`target_containers`]).
fn matched_containers(
    app: &AppConfig,
    current: &[ContainerSummary],
    release_image: &str,
) -> (Vec<String>, Option<Error>) {
    let present = || {
        current
            .iter()
            .map(|container| format!("`{}` ({})", container.name, container.image))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(configured) = &app.containers {
        let (found, missing): (Vec<&String>, Vec<&String>) = configured
            .iter()
            .partition(|name| current.iter().any(|container| &container.name == *name));
        let found = found.into_iter().cloned().collect();
        if missing.is_empty() {
            return (found, None);
        }
        let missing: Vec<String> = missing.iter().map(|name| format!("`{name}`")).collect();
        let problem = Error::ContainerNotFound(format!(
            "the task definition has no container {}; it has {}",
            missing.join(", "),
            present()
        ));
        return (found, Some(problem));
    }
    // The release image is always in Stevedore's own registry (on-push builds it from the
    // ECR event); the app's repository is the one of that name in that registry.
    let Some(release_repository) = EcrRepository::of_image(release_image) else {
        return (Vec::new(), Some(Error::ContainerNotFound(format!(
            "the release image `{release_image}` is not in an ECR private registry, so no container can be matched to repository `{}`; \
             list the containers to update under `containers:` in stevedore.yaml",
            app.repository
        ))));
    };
    let repository = EcrRepository {
        registry: release_repository.registry,
        name: app.repository.clone(),
    };
    let from_repository: Vec<String> = current
        .iter()
        .filter(|container| repository.holds(&container.image))
        .map(|container| container.name.clone())
        .collect();
    if from_repository.is_empty() {
        return (Vec::new(), Some(Error::ContainerNotFound(format!(
            "no container in the task definition runs an image from repository `{}` of account {} in {} (it has {}); \
             list the containers to update under `containers:` in stevedore.yaml",
            app.repository,
            repository.registry.account,
            repository.registry.region,
            present()
        ))));
    }
    (from_repository, None)
}

/// What a release changes in one task definition, with every problem found rather than the
/// first: the changes of the containers it could match (so a dry run still shows them), and
/// what is wrong. Secrets are the caller's to check (they are resolved once per release);
/// `resolved_secrets` holds those that resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderPlan {
    /// The containers the release updates (those of them the task definition has).
    pub targets: Vec<String>,
    pub changes: Vec<ContainerChange>,
    /// In the order [`plan_render`] meets them: containers, then the migration container.
    pub problems: Vec<Error>,
}

/// The changes for one release, every problem collected (see [`RenderPlan`]).
pub fn render_plan(
    app: &AppConfig,
    stage: &StageConfig,
    current: &[ContainerSummary],
    image_uri: &str,
    resolved_secrets: &BTreeMap<String, String>,
) -> RenderPlan {
    let (targets, container_problem) = matched_containers(app, current, image_uri);
    let mut problems: Vec<Error> = container_problem.into_iter().collect();
    if let Some(container) = migration_container(app, &targets) {
        if !current.iter().any(|summary| summary.name == container) {
            problems.push(Error::ContainerNotFound(format!(
                "the migration container `{container}` is not in the task definition; it has {}",
                current
                    .iter()
                    .map(|summary| format!("`{}`", summary.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let changes = targets
        .iter()
        .map(|name| ContainerChange {
            name: name.clone(),
            image: image_uri.to_string(),
            environment: stage.environment.clone(),
            secrets: resolved_secrets.clone(),
        })
        .collect();
    RenderPlan {
        targets,
        changes,
        problems,
    }
}

/// The changes for one release: every target container gets the new image and the stage's
/// environment and secrets; the first problem is the error.
///
/// `resolved_secrets` maps each of the stage's secret env vars to its `valueFrom`; a
/// declared secret missing from it is `SecretNotFound`.
pub fn plan_render(
    app: &AppConfig,
    stage: &StageConfig,
    current: &[ContainerSummary],
    image_uri: &str,
    resolved_secrets: &BTreeMap<String, String>,
) -> Result<Vec<ContainerChange>> {
    let plan = render_plan(app, stage, current, image_uri, resolved_secrets);
    if let Some(problem) = plan.problems.into_iter().next() {
        return Err(problem);
    }
    let unresolved: Vec<String> = stage
        .secrets
        .iter()
        .filter(|(name, _)| !resolved_secrets.contains_key(*name))
        .map(|(name, secret_ref)| format!("`{name}` ({secret_ref})"))
        .collect();
    if !unresolved.is_empty() {
        return Err(Error::SecretNotFound(format!(
            "secrets not resolved: {}",
            unresolved.join(", ")
        )));
    }
    Ok(plan.changes)
}

/// The container's environment after the change: existing variables plus overrides,
/// minus names that are now secrets (ECS rejects a name in both). Sorted by name.
pub fn merge_environment(
    existing: &[(String, String)],
    change: &ContainerChange,
) -> Vec<(String, String)> {
    let mut merged: BTreeMap<String, String> = existing.iter().cloned().collect();
    merged.extend(change.environment.clone());
    merged.retain(|name, _| !change.secrets.contains_key(name));
    merged.into_iter().collect()
}

/// The container's secrets after the change: existing `(name, valueFrom)` pairs with
/// same-named ones replaced, minus names now set as plain environment. Sorted by name.
pub fn merge_secrets(
    existing: &[(String, String)],
    change: &ContainerChange,
) -> Vec<(String, String)> {
    let mut merged: BTreeMap<String, String> = existing.iter().cloned().collect();
    merged.retain(|name, _| !change.environment.contains_key(name));
    merged.extend(change.secrets.clone());
    merged.into_iter().collect()
}

/// The container the migration command runs in: the configured one, else the first
/// target. `None` when the app has no migration.
pub fn migration_container(app: &AppConfig, targets: &[String]) -> Option<String> {
    let migration = app.migration.as_ref()?;
    migration
        .container
        .clone()
        .or_else(|| targets.first().cloned())
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
