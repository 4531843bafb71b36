//! render: the new task definition revision. Reads the service's current one, pins the
//! target containers to the image digest, merges the stage's environment, resolves secrets
//! to full ARNs (never their values), and registers it. Everything that can be wrong with the
//! config is found here, before the migration runs and before the service changes: the
//! planning is `render_plan`'s (which `stevedore plan` runs without registering), the
//! registering and recording is here and in `render_services`.

use std::collections::BTreeMap;

use serde::Deserialize;
use stevedore_aws::store::attr_s;
use stevedore_aws::{Ecs, ParameterStore, SecretsManager, Store};
use stevedore_core::config::{AppConfig, Approval, StageConfig};
use stevedore_core::secret::SecretId;
use stevedore_core::Error;

use crate::problems::{Checking, Problems};
use crate::render_plan::{check_services, plan_stage, PlannedService};
use crate::runtime::{now, timestamp};
use crate::{HandlerError, HookTarget, ReleaseSpec, RenderOutput, RolloutSpec};

pub struct Render {
    pub store: Store,
    pub ecs: Ecs,
    pub secrets: SecretsManager,
    pub parameters: ParameterStore,
    /// The stage's schedules and rules (read only: render checks them).
    pub schedules: stevedore_aws::Schedules,
    /// Secrets must live in the region the service runs in (Stevedore's own); parameter
    /// ARNs are built from the account and region.
    pub region: String,
    pub account: String,
    /// Stevedore's lifecycle hook: whether the stage's rollout can run on the service is
    /// checked here, before the migration (see `rollout_check`).
    pub hook: HookTarget,
}

#[derive(Debug, Deserialize)]
pub struct RenderRequest {
    pub release: ReleaseSpec,
}

/// The app's config and the stage's part of it, or an error naming what is missing.
pub async fn load_stage(
    store: &Store,
    app: &str,
    stage: &str,
) -> Result<(AppConfig, StageConfig), Error> {
    let config = store
        .get_app_config(app)
        .await?
        .ok_or_else(|| Error::AppNotFound(app.to_string()))?;
    let stage_config = config
        .stages
        .get(stage)
        .cloned()
        .ok_or_else(|| Error::StageNotFound {
            app: app.to_string(),
            stage: stage.to_string(),
        })?;
    Ok((config, stage_config))
}

pub async fn handle(ctx: &Render, request: RenderRequest) -> Result<RenderOutput, HandlerError> {
    let release = &request.release;
    let (app, stage) = load_stage(&ctx.store, &release.app, &release.stage).await?;
    if stage.is_multi_service() {
        return Ok(crate::render_services::render_services(ctx, release, &app, &stage).await?);
    }
    if release.redeploy_task_definition_arn.is_some() {
        return Ok(redeploy(ctx, release, &stage).await?);
    }
    let plan = plan_stage(
        ctx,
        release,
        &app,
        &stage,
        Problems::new(Checking::FirstProblem),
    )
    .await?;
    let (Some(service), Some(revision)) = (plan.services.first(), plan.revisions.first()) else {
        return Err(Error::InvalidConfig(format!(
            "{}/{}: the stage has no service to render",
            release.app, release.stage
        ))
        .into());
    };
    let previous = current_task_definition(service);
    let task_definition_arn = ctx
        .ecs
        .register_rendered(
            &revision.from.definition,
            &revision.from.tags,
            &revision.changes,
            &release.release_id,
        )
        .await?;
    tracing::info!(release_id = %release.release_id, %task_definition_arn,
        %previous, "task definition registered");
    record_rendered(ctx, release, &task_definition_arn, &previous).await?;
    Ok(RenderOutput {
        task_definition_arn,
        previous_task_definition_arn: previous,
        cluster: stage.cluster.clone(),
        service: service.name.clone(),
        deploy_timeout_seconds: stage.deploy_timeout_seconds,
        migration: plan.migration,
        build_migration: plan.build_migration,
        approval_required: stage.approval == Approval::Required,
        approval_timeout_seconds: stage.approval_timeout_seconds,
        rollout: service.rollout.clone(),
        services: Vec::new(),
        rollout_order: Default::default(),
        schedules: Vec::new(),
    })
}

/// The revision the service runs now (read by `check_services`).
pub(crate) fn current_task_definition(service: &PlannedService) -> String {
    service
        .state
        .as_ref()
        .map(|state| state.task_definition.clone())
        .unwrap_or_default()
}

async fn record_rendered(
    ctx: &Render,
    release: &ReleaseSpec,
    task_definition_arn: &str,
    previous: &str,
) -> Result<(), Error> {
    ctx.store
        .set_release_fields(
            &release.app,
            &release.stage,
            &release.release_id,
            &[
                ("task_definition_arn", attr_s(task_definition_arn)),
                ("previous_task_definition_arn", attr_s(previous)),
                ("rendered_at", attr_s(timestamp(now()))),
            ],
        )
        .await
}

/// The service's launch type; none when it runs on a capacity-provider strategy (RunTask
/// refuses both: "If a capacityProviderStrategy is specified, the launchType parameter must be
/// omitted", https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html).
/// A service with neither runs on the cluster's default strategy, and so does a RunTask
/// given neither.
pub(crate) fn migration_launch_type(service: &stevedore_aws::ecs::ServiceState) -> Option<String> {
    if service.capacity_provider_strategy.is_some() {
        None
    } else {
        service.launch_type.clone()
    }
}

/// A rollback: the recorded task definition goes back as it is (no render, no migration);
/// a revision deregistered since is registered again as a new revision. The service is
/// checked as for a new release, so a rollback too is refused before it changes anything.
async fn redeploy(
    ctx: &Render,
    release: &ReleaseSpec,
    stage: &StageConfig,
) -> Result<RenderOutput, Error> {
    let first_problem = &mut Problems::new(Checking::FirstProblem);
    let services = check_services(ctx, release, stage, first_problem).await?;
    let previous = services
        .first()
        .map(current_task_definition)
        .unwrap_or_default();
    let recorded = release
        .redeploy_task_definition_arn
        .as_deref()
        .unwrap_or_default();
    let task_definition_arn = active_task_definition(ctx, release, recorded).await?;
    record_rendered(ctx, release, &task_definition_arn, &previous).await?;
    Ok(RenderOutput {
        task_definition_arn,
        previous_task_definition_arn: previous,
        cluster: stage.cluster.clone(),
        service: stage.first_service().to_string(),
        deploy_timeout_seconds: stage.deploy_timeout_seconds,
        migration: None,
        build_migration: None,
        // A rollback is the way back from a bad release: it does not wait for a person.
        approval_required: false,
        approval_timeout_seconds: stage.approval_timeout_seconds,
        // …but it goes out the stage's way (blue/green with its smoke test included).
        rollout: rollout_spec(stage),
        services: Vec::new(),
        rollout_order: Default::default(),
        schedules: Vec::new(),
    })
}

/// `task_definition` as a rollback can deploy it: itself, or, when it was deregistered since,
/// the same definition registered again as a new revision.
pub(crate) async fn active_task_definition(
    ctx: &Render,
    release: &ReleaseSpec,
    task_definition: &str,
) -> Result<String, Error> {
    let described = ctx.ecs.describe_task_definition(task_definition).await?;
    if !described.is_inactive() {
        return Ok(task_definition.to_string());
    }
    let arn = ctx
        .ecs
        .register_rendered(
            &described.definition,
            &described.tags,
            &[],
            &release.release_id,
        )
        .await?;
    tracing::info!(release_id = %release.release_id, deregistered = %task_definition, %arn, "task definition registered again");
    Ok(arn)
}

pub(crate) fn rollout_spec(stage: &StageConfig) -> RolloutSpec {
    RolloutSpec {
        strategy: stage.strategy,
        bake_minutes: stage.bake_minutes,
        smoke_test: stage.smoke_test.clone(),
        linear: stage.linear,
        canary: stage.canary,
        alarms: stage.alarms.clone(),
    }
}

/// env var → `valueFrom` for every secret of the stage that resolves; every wrong secret is
/// named in one problem, then every missing one in another.
pub(crate) async fn resolve_secrets(
    ctx: &Render,
    release: &ReleaseSpec,
    stage: &StageConfig,
    problems: &mut Problems,
) -> Result<BTreeMap<String, String>, Error> {
    let (secrets, region) = (&ctx.secrets, ctx.region.as_str());
    let mut resolved = BTreeMap::new();
    let mut missing = Vec::new();
    let mut wrong = Vec::new();
    for (env_name, secret) in &stage.secrets {
        if let SecretId::SsmParameter(name) = &secret.secret {
            match ctx
                .parameters
                .parameter_arn(name, region, &ctx.account)
                .await?
            {
                Some(arn) => {
                    resolved.insert(env_name.clone(), secret.value_from(&arn));
                }
                None => missing.push(format!("parameter `{name}` (for {env_name})")),
            }
            continue;
        }
        if let SecretId::Arn(arn) = &secret.secret {
            let arn_region = arn.split(':').nth(3).unwrap_or_default();
            if arn_region != region {
                wrong.push(format!(
                    "`{arn}` (for {env_name}) is in region {arn_region}, not {region}: replicate the secret to {region} and reference the replica"
                ));
                continue;
            }
        }
        match secrets.describe(secret.lookup_id()).await? {
            Some(found) => {
                if let SecretId::Name(name) = &secret.secret {
                    if found.name != *name {
                        wrong.push(format!(
                            "`{name}` (for {env_name}) is ambiguous: Secrets Manager read it as the partial ARN of secret `{}`; reference the secret by its full ARN",
                            found.name
                        ));
                        continue;
                    }
                }
                resolved.insert(env_name.clone(), secret.value_from(&found.arn));
            }
            None => missing.push(format!("secret `{}` (for {env_name})", secret.lookup_id())),
        }
    }
    let where_ = format!("{}/{}", release.app, release.stage);
    if !wrong.is_empty() {
        problems.add(Error::InvalidConfig(format!(
            "{where_}: secret {}",
            wrong.join("; ")
        )))?;
    }
    if !missing.is_empty() {
        problems.add(Error::SecretNotFound(format!(
            "{where_}: {} not found (Secrets Manager / Parameter Store); create it or fix `secrets` of the stage",
            missing.join(", ")
        )))?;
    }
    Ok(resolved)
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
