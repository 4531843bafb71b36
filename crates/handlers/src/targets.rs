//! Stages in other accounts and regions: each handler's context with the stage's own ECS,
//! Secrets Manager, Parameter Store, Scheduler and CodeBuild clients, built from the role
//! Stevedore assumes there (`stevedore_aws::Accounts`). A stage in Stevedore's own account
//! and region keeps the handler's own clients (`None` below).

use stevedore_aws::{
    Accounts, CodeBuild, Ecs, ParameterStore, Schedules, SdkConfig, SecretsManager, Store,
};
use stevedore_core::config::{StageConfig, StageTarget, DEFAULT_TARGET_ROLE_NAME};
use stevedore_core::Error;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use stevedore_core::ecs_event::{DeploymentStateChange, ServiceArn};

use crate::deploy::{Deploy, DeployRequest};
use crate::migrate::Migrate;
use crate::on_ecs_event::OnEcsEvent;
use crate::on_push::OnPush;
use crate::render::{load_stage, Render};
use crate::{HookTarget, ReleaseSpec};
use std::collections::BTreeMap;
use stevedore_core::config::AppConfig;
use stevedore_core::release::input::{validate_release_image, ExecutionArn};
use stevedore_core::routing::Target;

/// The functions' `Accounts`: Stevedore's own account (`STEVEDORE_ACCOUNT_ID`) and region
/// (`AWS_REGION`), sessions named after the function (`AWS_LAMBDA_FUNCTION_NAME`).
pub fn accounts_from_env(sdk: &SdkConfig) -> Result<Accounts, String> {
    let caller = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    Ok(Accounts::new(
        sdk,
        caller,
        crate::required_env("STEVEDORE_ACCOUNT_ID")?,
        crate::required_env("AWS_REGION")?,
    ))
}

/// The ECS lifecycle-hook role in a workload account: template-target.yaml names it after
/// the target role (`<role_name>-ecs-hook`); ECS passes it with the service, so it lives
/// beside the service (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-permissions.html).
pub(crate) fn hook_in(target: &StageTarget, stage: &StageConfig, home: &HookTarget) -> HookTarget {
    let role = stage
        .role_name
        .as_deref()
        .unwrap_or(DEFAULT_TARGET_ROLE_NAME);
    let partition = stevedore_core::config::partition_of(&target.region);
    HookTarget {
        function_arn: home.function_arn.clone(),
        role_arn: format!(
            "arn:{partition}:iam::{}:role/{role}-ecs-hook",
            target.account
        ),
    }
}

async fn sdk_for(
    accounts: Option<&Accounts>,
    target: &StageTarget,
    release_id: &str,
) -> Result<Option<SdkConfig>, Error> {
    match accounts {
        Some(accounts) => accounts.sdk_for(target, release_id).await,
        None => Ok(None),
    }
}

/// Render's context in the stage's account and region, and the target (None: at home).
pub(crate) async fn render_in(
    ctx: &Render,
    app: &AppConfig,
    stage: &StageConfig,
    release_id: &str,
) -> Result<(Option<Render>, Option<StageTarget>), Error> {
    let Some(target) = ctx.accounts.as_ref().and_then(|a| a.target_of(stage)) else {
        return Ok((None, None));
    };
    check_migration_region(app, &target, &ctx.region)?;
    let Some(sdk) = sdk_for(ctx.accounts.as_ref(), &target, release_id).await? else {
        return Ok((None, Some(target)));
    };
    let render = Render {
        store: ctx.store.clone(),
        ecs: Ecs::from_sdk(&sdk),
        secrets: SecretsManager::from_sdk(&sdk),
        parameters: ParameterStore::from_sdk(&sdk),
        schedules: Schedules::from_sdk(&sdk),
        region: target.region.clone(),
        account: target.account.clone(),
        hook: hook_in(&target, stage, &ctx.hook),
        accounts: None,
    };
    Ok((Some(render), Some(target)))
}

fn release_of(request: &DeployRequest) -> &ReleaseSpec {
    match request {
        DeployRequest::Start { release, .. }
        | DeployRequest::Wait { release, .. }
        | DeployRequest::Check { release, .. }
        | DeployRequest::Reconcile { release, .. }
        | DeployRequest::PointSchedules { release, .. }
        | DeployRequest::PruneRevisions { release, .. }
        | DeployRequest::Restore { release, .. } => release,
    }
}

/// The deploy state machine runs an ECS migration task with its optimized integration, in
/// its own region (`Credentials.RoleArn` changes the account, not the region:
/// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-access-cross-acct-resources.html);
/// a stage in another region is refused before anything changes rather than failing there.
fn check_migration_region(
    app: &AppConfig,
    target: &StageTarget,
    home_region: &str,
) -> Result<(), Error> {
    let ecs_task = app
        .migration
        .as_ref()
        .is_some_and(|m| m.runner == stevedore_core::config::MigrationRunner::Ecs);
    if ecs_task && target.region != home_region {
        return Err(Error::InvalidConfig(format!(
            "a stage in region {} cannot run an ECS migration task: Stevedore's deploy state machine runs it in its own region {home_region}; use `runner: codebuild` there, or install Stevedore in {}",
            target.region, target.region
        )));
    }
    Ok(())
}

/// Deploy's context in the release's stage's account and region (its config read again:
/// every request, the restore and schedule paths included, acts where the stage lives).
pub(crate) async fn deploy_in(
    ctx: &Deploy,
    request: &DeployRequest,
) -> Result<Option<Deploy>, Error> {
    let Some(accounts) = ctx.accounts.as_ref() else {
        return Ok(None);
    };
    let release = release_of(request);
    let (_, stage) = load_stage(&ctx.store, &release.app, &release.stage).await?;
    let Some(target) = accounts.target_of(&stage) else {
        return Ok(None);
    };
    let Some(sdk) = accounts.sdk_for(&target, &release.release_id).await? else {
        return Ok(None);
    };
    Ok(Some(Deploy {
        store: ctx.store.clone(),
        ecs: Ecs::from_sdk(&sdk),
        sfn: ctx.sfn.clone(),
        schedules: Schedules::from_sdk(&sdk),
        load_balancers: stevedore_aws::LoadBalancers::from_sdk(&sdk),
        hook: hook_in(&target, &stage, &ctx.hook),
        accounts: None,
    }))
}

/// Migrate's context where render found the stage (`render.target`).
pub(crate) async fn migrate_in(
    ctx: &Migrate,
    target: Option<&StageTarget>,
    release_id: &str,
) -> Result<Option<Migrate>, Error> {
    let Some(target) = target else {
        return Ok(None);
    };
    let Some(sdk) = sdk_for(ctx.accounts.as_ref(), target, release_id).await? else {
        return Ok(None);
    };
    Ok(Some(Migrate {
        store: ctx.store.clone(),
        ecs: Ecs::from_sdk(&sdk),
        codebuild: CodeBuild::from_sdk(&sdk),
        accounts: None,
    }))
}

/// Whose an ECS event is: Stevedore's own account and region, a configured stage's
/// elsewhere (with a context whose ECS client acts there), or nobody's we know.
pub(crate) enum EventOrigin {
    Home,
    Stage(Box<OnEcsEvent>),
    Foreign(String),
}

/// Events of other accounts and regions reach Stevedore's bus through the workload
/// accounts' forwarding rules (template-target.yaml); they keep their own `account` and
/// `region` (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html).
pub(crate) async fn event_ctx(
    ctx: &OnEcsEvent,
    event: &EventBridgeEvent<DeploymentStateChange>,
    service: Option<&ServiceArn>,
) -> Result<EventOrigin, Error> {
    let (account, region) = (event.account.as_deref(), event.region.as_deref());
    let Some(why) = ctx.home.foreign(account, region, service) else {
        return Ok(EventOrigin::Home);
    };
    let (Some(account), Some(region)) = (account, region) else {
        return Ok(EventOrigin::Foreign(why));
    };
    if service.is_some_and(|s| s.account != account || s.region != region) {
        return Ok(EventOrigin::Foreign(why));
    }
    let deployment_id = &event.detail.deployment_id;
    match ecs_for_event(
        &ctx.store,
        ctx.accounts.as_ref(),
        deployment_id,
        account,
        region,
    )
    .await?
    {
        Some(ecs) => Ok(EventOrigin::Stage(Box::new(OnEcsEvent {
            store: ctx.store.clone(),
            ecs,
            sfn: ctx.sfn.clone(),
            home: ctx.home.clone(),
            accounts: None,
        }))),
        None => Ok(EventOrigin::Foreign(format!(
            "{why}, and no release of a stage there waits for deployment {deployment_id}"
        ))),
    }
}

/// The ECS client of the account and region an event came from, when a release of one of
/// the configured stages there waits for `deployment_id`; None when no such release waits
/// (the event is someone else's).
async fn ecs_for_event(
    store: &Store,
    accounts: Option<&Accounts>,
    deployment_id: &str,
    account: &str,
    region: &str,
) -> Result<Option<Ecs>, Error> {
    let Some(accounts) = accounts else {
        return Ok(None);
    };
    let Some(wait) = store.peek_wait(deployment_id).await? else {
        return Ok(None);
    };
    let (_, stage) = match load_stage(store, &wait.app, &wait.stage).await {
        Ok(found) => found,
        Err(Error::AppNotFound(_) | Error::StageNotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(target) = accounts.target_of(&stage) else {
        return Ok(None);
    };
    if target.account != account || target.region != region {
        return Ok(None);
    }
    Ok(accounts
        .sdk_for(&target, &wait.release_id)
        .await?
        .map(|sdk| Ecs::from_sdk(&sdk)))
}

/// Whose registry a release's image may come from: the execution's own (Stevedore's), or the
/// stage's account and region when the push was there (on-push builds the URI so).
pub(crate) fn image_registry<'a>(
    execution: &ExecutionArn<'a>,
    target: &'a StageTarget,
    image_uri: &str,
) -> ExecutionArn<'a> {
    let own = format!("{}.dkr.ecr.{}.", target.account, target.region);
    if image_uri.starts_with(&own) {
        ExecutionArn {
            account: &target.account,
            region: &target.region,
            ..*execution
        }
    } else {
        ExecutionArn { ..*execution }
    }
}

/// `validate_release_image`, with the stage's own registry allowed besides Stevedore's.
pub(crate) fn validate_image(
    release: &ReleaseSpec,
    execution: &ExecutionArn<'_>,
    repository: &str,
    config: Option<&AppConfig>,
) -> Result<(), Error> {
    let stage = config.and_then(|c| c.stage(&release.stage));
    let Some(target) = stage.map(|s| s.target(execution.account, execution.region)) else {
        return validate_release_image(release, execution, repository);
    };
    let registry = image_registry(execution, &target, &release.image_uri);
    validate_release_image(release, &registry, repository)
}

/// The ECR registry (account and region) an image was pushed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Registry {
    pub account: String,
    pub region: String,
}

impl Registry {
    pub fn home(ctx: &OnPush) -> Registry {
        Registry {
            account: ctx.account.clone(),
            region: ctx.region.clone(),
        }
    }

    /// The matched stages this registry's pushes deploy to. Stevedore's own registry feeds
    /// every stage (a stage elsewhere pulls across accounts, as the repository's policy
    /// allows); a workload account's registry feeds only the stages living in that account
    /// and region. Err: why none of them does.
    pub fn stages_fed(
        &self,
        ctx: &OnPush,
        configs: &BTreeMap<String, AppConfig>,
        matched: Vec<Target>,
    ) -> Result<Vec<Target>, String> {
        if self.account == ctx.account && self.region == ctx.region {
            return Ok(matched);
        }
        let fed: Vec<Target> = matched
            .into_iter()
            .filter(|t| {
                configs
                    .get(&t.app)
                    .and_then(|app| app.stage(&t.stage))
                    .is_some_and(|stage| {
                        let target = stage.target(&ctx.account, &ctx.region);
                        target.account == self.account && target.region == self.region
                    })
            })
            .collect();
        if fed.is_empty() {
            return Err(format!(
                "push in account {} region {}: no matching stage lives there (this Stevedore serves account {} region {} and the stages naming their own `account`/`region`)",
                self.account, self.region, ctx.account, ctx.region
            ));
        }
        Ok(fed)
    }
}

impl crate::migrate::MigrateRequest {
    pub(crate) fn release_and_render(&self) -> (&ReleaseSpec, &crate::RenderOutput) {
        use crate::migrate::MigrateRequest::*;
        match self {
            Check {
                release, render, ..
            }
            | Explain {
                release, render, ..
            }
            | Stop { release, render }
            | CheckBuild {
                release, render, ..
            }
            | ExplainBuild {
                release, render, ..
            }
            | StopBuild { release, render } => (release, render),
        }
    }
}

#[cfg(test)]
#[path = "targets_tests.rs"]
mod tests;
