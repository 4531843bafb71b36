//! The `stevedore.yaml` model: apps, their stages, tag rules, secrets and migration.
//!
//! Every struct denies unknown fields so that a typo (`tag:` for `tags:`) is an error at
//! `config apply` time rather than a stage that silently never deploys.

mod alarms;
mod locate;
mod notifications;
mod service_id;
mod services;
mod strategy;
mod strategy_rules;
mod tag_rules;
mod target;
mod traffic_shift;
mod validate;

#[cfg(test)]
mod alarms_tests;
#[cfg(test)]
mod duplicate_tests;
#[cfg(test)]
mod notifications_tests;
#[cfg(test)]
mod strategy_tests;
#[cfg(test)]
mod tag_rules_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
use tests as tests_support;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::secret::SecretRef;

pub use notifications::{
    is_production_name, NotificationSecret, NotificationTarget, TargetKind,
    MAX_NOTIFICATION_TARGETS,
};
pub use service_id::{service_identity, stages_by_service};
pub use services::{RolloutOrder, ScheduleConfig, ScheduleRef, ServiceConfig, StageService};
pub use strategy::{SmokeTest, Strategy, MAX_BAKE_MINUTES};
pub use target::{partition_of, StageTarget, DEFAULT_TARGET_ROLE_NAME};
pub use traffic_shift::{CanarySettings, LinearSettings};
pub use validate::{is_valid_env_name, is_valid_name, is_valid_repository_name};

pub const DEFAULT_MIGRATION_TIMEOUT_SECONDS: u64 = 600;
pub const DEFAULT_DEPLOY_TIMEOUT_SECONDS: u64 = 900;
pub const DEFAULT_APPROVAL_TIMEOUT_SECONDS: u64 = 24 * 3600;
/// The longest approval wait accepted (30 days): a release older than that is stale.
pub const MAX_APPROVAL_TIMEOUT_SECONDS: u64 = 30 * 24 * 3600;

/// A whole stevedore.yaml file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StevedoreFile {
    pub apps: BTreeMap<String, AppConfig>,
}

/// One app: the ECR repository its images come from and the stages it deploys to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// ECR repository name (without registry).
    pub repository: String,
    /// Containers to update; `None` means every container whose image comes from `repository`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<Vec<String>>,
    /// `migrate:` is accepted as another spelling.
    #[serde(default, alias = "migrate", skip_serializing_if = "Option::is_none")]
    pub migration: Option<MigrationConfig>,
    pub stages: BTreeMap<String, StageConfig>,
    /// Where every stage's release events go (a stage's own `notifications` replace these).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<NotificationTarget>,
}

/// The migration run once per release per stage, before the service changes: a command in
/// a one-off ECS task from the new task definition, or a CodeBuild build of `project`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationConfig {
    #[serde(default)]
    pub runner: MigrationRunner,
    /// The command (runner `ecs`); a CodeBuild project has its own buildspec.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Container whose command is overridden (runner `ecs`); `None` means the first target
    /// container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The CodeBuild project (runner `codebuild`); it gets the image URI, release id and
    /// stage as environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default = "default_migration_timeout")]
    pub timeout_seconds: u64,
}

/// Where a migration runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationRunner {
    #[default]
    Ecs,
    Codebuild,
}

/// One stage of an app: an ECS service, the tags that deploy to it, and its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    pub cluster: String,
    /// The stage's one ECS service (name or ARN); a stage of several names them in
    /// `services` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Several ECS services released together: one migration, then all of them or none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceConfig>,
    /// `parallel` (default) or `sequential` (in the listed order) rollout of `services`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub rollout: RolloutOrder,
    /// The service whose new revision runs the migration; default the first one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration_service: Option<String>,
    /// Schedules and rules pointed at the new revision once every service succeeded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<ScheduleConfig>,
    /// Globs and semver rules; a pushed tag matching any of them deploys to this stage
    /// automatically. Empty means the stage is only deployed by promotion.
    #[serde(default)]
    pub tags: Vec<crate::tag_rule::TagRule>,
    #[serde(default = "default_deploy_timeout")]
    pub deploy_timeout_seconds: u64,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretRef>,
    /// Stages whose SUCCEEDED releases may be promoted to this one (the promote state machine
    /// refuses any other source).
    #[serde(default)]
    pub promote_from: Vec<String>,
    /// `required`: the release waits, after render, for a person's approve/reject (the
    /// approve state machine) before its migration and rollout.
    #[serde(default)]
    pub approval: Approval,
    /// `approval: required`: how long a release waits at the gate before it ends FAILED
    /// (`ApprovalTimedOut`), so an old release can never be approved into a stage that
    /// moved on. Default 24 h.
    #[serde(
        default = "default_approval_timeout",
        alias = "approval_timeout",
        skip_serializing_if = "is_default_approval_timeout"
    )]
    pub approval_timeout_seconds: u64,
    /// What happens to pushes that arrive while this stage is being deployed.
    #[serde(default)]
    pub concurrency: crate::lock::ConcurrencyPolicy,
    /// `rolling` (ECS rolling update), `blue_green` (ECS native blue/green), `linear` or
    /// `canary` (ECS native, production traffic in steps).
    #[serde(default)]
    pub strategy: Strategy,
    /// blue_green, linear, canary: minutes ECS keeps blue running after all production
    /// traffic moved to green, so a rollback is instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake_minutes: Option<u32>,
    /// blue_green: the check made through the test listener before production traffic moves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoke_test: Option<SmokeTest>,
    /// Whether the stage counts as production for notifications (its successes are
    /// announced by default); absent: see [`StageConfig::is_production`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production: Option<bool>,
    /// This stage's notification destinations, in place of the app's (`[]`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<Vec<NotificationTarget>>,
    /// `strategy: linear`: step percent and minutes between steps (ECS's defaults if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear: Option<LinearSettings>,
    /// `strategy: canary`: canary percent and its bake (ECS's defaults if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanarySettings>,
    /// CloudWatch alarm names ECS watches during each release's rollout: one going into
    /// ALARM fails the deployment and ECS rolls back. Added to the alarms the service
    /// already has.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<String>,
    /// The AWS account the stage's services live in (12 digits, quoted); absent: Stevedore's
    /// own. Stevedore assumes `role_name` there (see config/target.rs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The region the stage's services live in; absent: Stevedore's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The role assumed in `account`; default `stevedore-target` (template-target.yaml).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
    /// `concurrency: latest`: `push` (default) lets the newest push win; `semver` lets the
    /// highest version win, so an older version pushed later never replaces a newer one.
    #[serde(default, skip_serializing_if = "is_default")]
    pub order: crate::lock::ReleaseOrder,
    /// After a release SUCCEEDED, revisions Stevedore registered for the stage are
    /// deregistered unless running, scheduled, or of its `keep_revisions` newest SUCCEEDED
    /// releases; 0 turns this off.
    #[serde(
        default = "default_keep_revisions",
        skip_serializing_if = "is_default_keep_revisions"
    )]
    pub keep_revisions: u32,
}

fn default_keep_revisions() -> u32 {
    crate::retention::DEFAULT_KEEP_REVISIONS
}

fn is_default_keep_revisions(keep: &u32) -> bool {
    *keep == crate::retention::DEFAULT_KEEP_REVISIONS
}

/// Whether a stage's releases wait for a person before they change anything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    #[default]
    None,
    Required,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

fn default_migration_timeout() -> u64 {
    DEFAULT_MIGRATION_TIMEOUT_SECONDS
}

fn default_approval_timeout() -> u64 {
    DEFAULT_APPROVAL_TIMEOUT_SECONDS
}

fn is_default_approval_timeout(seconds: &u64) -> bool {
    *seconds == DEFAULT_APPROVAL_TIMEOUT_SECONDS
}

fn default_deploy_timeout() -> u64 {
    DEFAULT_DEPLOY_TIMEOUT_SECONDS
}

/// A problem in a stevedore.yaml, located as precisely as we can for the person fixing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Dotted path of the offending field, e.g. `apps.backend.stages.staging.tags[1]`;
    /// empty when the problem is the file as a whole.
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(file: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_string(),
            line: None,
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Parses and validates a stevedore.yaml. A key given twice in one mapping is an error (it
/// would otherwise mean one of the two silently), as are unknown fields and wrong types; each
/// error names the line and the field.
pub fn parse_file(file_name: &str, yaml: &str) -> Result<StevedoreFile, ConfigError> {
    let (file, tree): (StevedoreFile, _) =
        crate::yaml::from_str(yaml).map_err(|error| ConfigError {
            file: file_name.to_string(),
            line: error.line,
            path: error.path.unwrap_or_default(),
            message: error.message,
        })?;
    file.validate(file_name).map_err(|mut error| {
        error.line = tree
            .as_ref()
            .and_then(|tree| locate::line_of_path(tree, &error.path));
        error
    })?;
    Ok(file)
}

impl StevedoreFile {
    pub fn validate(&self, file_name: &str) -> Result<(), ConfigError> {
        if self.apps.is_empty() {
            return Err(ConfigError::new(file_name, "apps", "defines no apps"));
        }
        for (app_name, app) in &self.apps {
            app.validate(file_name, app_name)?;
        }
        if let Err(message) = stages_by_service(self) {
            let (path, message) = message.split_once(": ").unwrap_or(("apps", &message));
            return Err(ConfigError::new(file_name, path, message));
        }
        Ok(())
    }

    /// The app named `app`, if the file defines it.
    pub fn app(&self, app: &str) -> Option<&AppConfig> {
        self.apps.get(app)
    }
}

impl AppConfig {
    /// Validates one app; also used when an app's config is loaded back from the table.
    pub fn validate(&self, file_name: &str, app_name: &str) -> Result<(), ConfigError> {
        validate::validate_app(self, file_name, app_name)
    }

    pub fn stage(&self, stage: &str) -> Option<&StageConfig> {
        self.stages.get(stage)
    }
}
