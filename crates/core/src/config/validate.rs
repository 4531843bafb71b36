//! The rules a stevedore.yaml must follow beyond its shape. Each check names the field at
//! fault, so the message leads straight to the line to fix.

use std::collections::BTreeSet;

use super::{AppConfig, ConfigError, MigrationConfig, MigrationRunner, StageConfig};

const MAX_NAME_LEN: usize = 24;
const MIGRATION_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=86_400;
const DEPLOY_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 30..=86_400;

/// App and stage names: `^[a-z][a-z0-9-]{0,23}$`. They become parts of Step Functions
/// execution names and table keys, so they are kept short and free of separators.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    name.len() <= MAX_NAME_LEN
        && first.is_ascii_lowercase()
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Environment variable names: `^[A-Za-z_][A-Za-z0-9_]*$`.
pub fn is_valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// ECR repository names: 2..=256 chars of
/// `[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*`.
pub fn is_valid_repository_name(name: &str) -> bool {
    (2..=256).contains(&name.len()) && name.split('/').all(is_valid_repository_component)
}

/// One `/`-separated component: alphanumeric runs joined by single `.`, `_` or `-`.
fn is_valid_repository_component(component: &str) -> bool {
    component.split(['.', '_', '-']).all(|run| {
        !run.is_empty()
            && run
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    })
}

pub(super) fn validate_app(
    app: &AppConfig,
    file_name: &str,
    app_name: &str,
) -> Result<(), ConfigError> {
    let app_path = format!("apps.{app_name}");
    let fail = |path: String, message: String| Err(ConfigError::new(file_name, path, message));

    if !is_valid_name(app_name) {
        return fail(app_path, name_rule_message("app", app_name));
    }
    if app.repository.is_empty() {
        return fail(format!("{app_path}.repository"), "must not be empty".into());
    }
    if !is_valid_repository_name(&app.repository) {
        return fail(
            format!("{app_path}.repository"),
            format!(
                "{:?} is not a valid ECR repository name (2-256 lowercase letters, digits, and single `.`, `_`, `-` or `/` between them)",
                app.repository
            ),
        );
    }
    if let Some(containers) = &app.containers {
        validate_containers(containers, &format!("{app_path}.containers"))
            .or_else(|(path, message)| fail(path, message))?;
    }
    if let Some(migration) = &app.migration {
        validate_migration(
            migration,
            app.containers.as_deref(),
            &format!("{app_path}.migration"),
        )
        .or_else(|(path, message)| fail(path, message))?;
    }
    super::notifications::validate_targets(
        &app.notifications,
        &format!("{app_path}.notifications"),
    )
    .or_else(|(path, message)| fail(path, message))?;
    if app.stages.is_empty() {
        return fail(
            format!("{app_path}.stages"),
            format!("app `{app_name}` defines no stages; add at least one"),
        );
    }
    for (stage_name, stage) in &app.stages {
        let stage_path = format!("{app_path}.stages.{stage_name}");
        if !is_valid_name(stage_name) {
            return fail(stage_path, name_rule_message("stage", stage_name));
        }
        validate_stage(stage, &stage_path).or_else(|(path, message)| fail(path, message))?;
        for (index, source) in stage.promote_from.iter().enumerate() {
            if source == stage_name || !app.stages.contains_key(source) {
                return fail(
                    format!("{stage_path}.promote_from[{index}]"),
                    format!("`{source}` is not another stage of app `{app_name}`"),
                );
            }
        }
    }
    Ok(())
}

fn name_rule_message(kind: &str, name: &str) -> String {
    format!(
        "{kind} name {name:?} must start with a lowercase letter and hold at most {MAX_NAME_LEN} lowercase letters, digits and `-`"
    )
}

/// A failed check: (path, message).
pub(super) type CheckResult = Result<(), (String, String)>;

pub(super) fn validate_containers(containers: &[String], path: &str) -> CheckResult {
    if containers.is_empty() {
        return Err((
            path.to_string(),
            "must list at least one container; leave `containers` out to update every container from `repository`".into(),
        ));
    }
    let mut seen = BTreeSet::new();
    for (index, container) in containers.iter().enumerate() {
        if container.is_empty() {
            return Err((format!("{path}[{index}]"), "must not be empty".into()));
        }
        if !seen.insert(container.as_str()) {
            return Err((
                format!("{path}[{index}]"),
                format!("container `{container}` is listed twice"),
            ));
        }
    }
    Ok(())
}

fn validate_migration(
    migration: &MigrationConfig,
    containers: Option<&[String]>,
    path: &str,
) -> CheckResult {
    if migration.runner == MigrationRunner::Codebuild {
        return validate_codebuild_migration(migration, path);
    }
    if migration.project.is_some() {
        return Err((
            format!("{path}.project"),
            "is only used with `runner: codebuild`; add `runner: codebuild` or remove `project`"
                .into(),
        ));
    }
    if migration
        .command
        .first()
        .is_none_or(|program| program.is_empty())
    {
        return Err((
            format!("{path}.command"),
            "must name the program to run, e.g. [\"bin/migrate\", \"up\"]".into(),
        ));
    }
    if let (Some(container), Some(containers)) = (&migration.container, containers) {
        if !containers.contains(container) {
            return Err((
                format!("{path}.container"),
                format!(
                    "container `{container}` is not one of the app's containers ({})",
                    containers.join(", ")
                ),
            ));
        }
    }
    validate_migration_timeout(migration, path)
}

/// CodeBuild project names: `[A-Za-z0-9][A-Za-z0-9_-]{1,254}`.
fn is_valid_codebuild_project(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && (2..=255).contains(&name.len())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn validate_codebuild_migration(migration: &MigrationConfig, path: &str) -> CheckResult {
    let Some(project) = &migration.project else {
        return Err((
            format!("{path}.project"),
            "`runner: codebuild` needs `project`: the CodeBuild project that runs the migration"
                .into(),
        ));
    };
    if !is_valid_codebuild_project(project) {
        return Err((
            format!("{path}.project"),
            format!("{project:?} is not a CodeBuild project name (2-255 letters, digits, `-` and `_`, starting with a letter or digit)"),
        ));
    }
    for (field, set) in [
        ("command", !migration.command.is_empty()),
        ("container", migration.container.is_some()),
    ] {
        if set {
            return Err((
                format!("{path}.{field}"),
                format!("is not used with `runner: codebuild` (the project's buildspec runs the migration); remove `{field}`"),
            ));
        }
    }
    validate_migration_timeout(migration, path)
}

fn validate_migration_timeout(migration: &MigrationConfig, path: &str) -> CheckResult {
    if !MIGRATION_TIMEOUT_RANGE.contains(&migration.timeout_seconds) {
        return Err((
            format!("{path}.timeout_seconds"),
            format!(
                "{} is out of range {}..={}",
                migration.timeout_seconds,
                MIGRATION_TIMEOUT_RANGE.start(),
                MIGRATION_TIMEOUT_RANGE.end()
            ),
        ));
    }
    Ok(())
}

fn validate_stage(stage: &StageConfig, path: &str) -> CheckResult {
    if stage.cluster.is_empty() {
        return Err((format!("{path}.cluster"), "must not be empty".into()));
    }
    super::services::validate_services(stage, path)?;
    super::target::validate_target(stage, path)?;
    super::tag_rules::validate_tag_rules(stage, path)?;
    if !DEPLOY_TIMEOUT_RANGE.contains(&stage.deploy_timeout_seconds) {
        return Err((
            format!("{path}.deploy_timeout_seconds"),
            format!(
                "{} is out of range {}..={}",
                stage.deploy_timeout_seconds,
                DEPLOY_TIMEOUT_RANGE.start(),
                DEPLOY_TIMEOUT_RANGE.end()
            ),
        ));
    }
    if !(1..=super::MAX_APPROVAL_TIMEOUT_SECONDS).contains(&stage.approval_timeout_seconds) {
        return Err((
            format!("{path}.approval_timeout_seconds"),
            format!(
                "{} is out of range 1..={}",
                stage.approval_timeout_seconds,
                super::MAX_APPROVAL_TIMEOUT_SECONDS
            ),
        ));
    }
    super::strategy_rules::validate_strategy(
        &super::strategy_rules::Rollout {
            strategy: stage.strategy,
            bake_minutes: stage.bake_minutes,
            smoke_test: stage.smoke_test.as_ref(),
            linear: stage.linear.as_ref(),
            canary: stage.canary.as_ref(),
        },
        stage.deploy_timeout_seconds,
        path,
        path,
    )?;
    for service in stage.services() {
        if service.field == "service" {
            continue; // the stage's own settings, checked above
        }
        super::strategy_rules::validate_strategy(
            &super::strategy_rules::Rollout {
                strategy: service.strategy,
                bake_minutes: service.bake_minutes,
                smoke_test: service.smoke_test,
                linear: service.linear,
                canary: service.canary,
            },
            stage.deploy_timeout_seconds,
            &format!("{path}.{}", service.field),
            path,
        )?;
    }
    super::alarms::validate_alarms(&stage.alarms, &format!("{path}.alarms"))?;
    for (index, entry) in stage.services.iter().enumerate() {
        if let Some(alarms) = &entry.alarms {
            super::alarms::validate_alarms(alarms, &format!("{path}.services[{index}].alarms"))?;
        }
    }
    if let Some(targets) = &stage.notifications {
        super::notifications::validate_targets(targets, &format!("{path}.notifications"))?;
    }
    for name in stage.environment.keys() {
        if !is_valid_env_name(name) {
            return Err((
                format!("{path}.environment.{name}"),
                format!("{name:?} is not a valid environment variable name (letters, digits and `_`, not starting with a digit)"),
            ));
        }
    }
    for name in stage.secrets.keys() {
        if !is_valid_env_name(name) {
            return Err((
                format!("{path}.secrets.{name}"),
                format!("{name:?} is not a valid environment variable name (letters, digits and `_`, not starting with a digit)"),
            ));
        }
        if stage.environment.contains_key(name) {
            return Err((
                format!("{path}.secrets.{name}"),
                format!("`{name}` is set in both `environment` and `secrets`; keep only one"),
            ));
        }
    }
    Ok(())
}
