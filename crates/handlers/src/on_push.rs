//! on-push: an ECR `ECR Image Action` event becomes one PENDING release and one deploy
//! execution per matching (app, stage). The execution name is the release id, derived from
//! the event, so a duplicate delivery starts nothing new.

use std::collections::BTreeMap;

use futures_util::future::join_all;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Serialize;
use serde_json::Value;
use stevedore_aws::{Ecr, StepFunctions, Store};
use stevedore_core::ecr_event::{decide_push, EcrImageAction, PushDecision};
use stevedore_core::image::image_uri;
use stevedore_core::release::{id_time, push_time_ms, release_id, timestamp, Trigger};
use stevedore_core::routing::{stages_for_push, Target as StageTarget};

use crate::runtime::now;
use crate::starter::start_release;
use crate::{HandlerError, ReleaseSpec};

pub struct OnPush {
    pub store: Store,
    pub ecr: Ecr,
    pub sfn: StepFunctions,
    pub deploy_state_machine_arn: String,
    /// The account and region this Stevedore serves: events from elsewhere (a cross-account
    /// or cross-region bus rule) are not ours to deploy.
    pub account: String,
    pub region: String,
}

#[derive(Debug, Serialize, PartialEq, Default)]
pub struct OnPushOutput {
    pub releases: Vec<StartedRelease>,
    /// Why nothing was started, when nothing was.
    pub ignored: Option<String>,
    /// What a scheduled reconcile looked at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconciled: Option<crate::reconcile_pushes::ReconcileSummary>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct StartedRelease {
    pub app: String,
    pub stage: String,
    pub release_id: String,
    /// False when the execution already existed (a duplicate event).
    pub started: bool,
}

fn ignored(why: String) -> OnPushOutput {
    tracing::info!(reason = %why, "push ignored");
    OnPushOutput {
        releases: Vec::new(),
        ignored: Some(why),
        reconciled: None,
    }
}

pub async fn handle(ctx: &OnPush, event: Value) -> Result<OnPushOutput, HandlerError> {
    // The reconcile schedule's input.
    if event.get("action").and_then(Value::as_str) == Some("reconcile") {
        let request = serde_json::from_value(event).map_err(|e| {
            stevedore_core::Error::InvalidInput(format!("malformed reconcile request: {e}"))
        })?;
        return crate::reconcile_pushes::handle(ctx, request).await;
    }
    // A malformed event is logged and dropped: failing would only make EventBridge retry it.
    let event: EventBridgeEvent<EcrImageAction> = match serde_json::from_value(event) {
        Ok(event) => event,
        Err(e) => return Ok(ignored(format!("not an ECR Image Action event: {e}"))),
    };
    // A push in a workload account (forwarded by its rule, keeping its account and region)
    // deploys only to the stages that live there (see `targets::Registry`).
    let registry = crate::targets::Registry {
        account: event.account.clone().unwrap_or_else(|| ctx.account.clone()),
        region: event.region.clone().unwrap_or_else(|| ctx.region.clone()),
    };
    let (repository, digest, tag) = match decide_push(&event.detail) {
        PushDecision::Deploy {
            repository,
            digest,
            tag,
        } => (repository, digest, tag),
        PushDecision::Ignore(why) => return Ok(ignored(why)),
    };
    let at = now();
    // Release order is push order: the ECR event's own time, never only when this function
    // ran (a redelivered or late event keeps its place).
    let push = Push {
        repository,
        digest,
        tag,
        pushed_ms: push_time_ms(
            event.time.map(|time| time.timestamp_millis()),
            at.timestamp_millis(),
        ),
        registry: Some(registry),
    };
    release_push(ctx, &push, at).await
}

/// One push of one tag: what the ECR event (or the reconcile, from DescribeImages) says.
#[derive(Debug, Clone)]
pub(crate) struct Push {
    pub repository: String,
    pub digest: String,
    pub tag: String,
    /// The release ids' time (`push_time_ms`).
    pub pushed_ms: u64,
    /// The registry pushed to; None: Stevedore's own account and region.
    pub registry: Option<crate::targets::Registry>,
}

/// A PENDING release and a deploy execution for each (app, stage) whose rules match the
/// push; the release id claim makes a second call for the same push start nothing.
pub(crate) async fn release_push(
    ctx: &OnPush,
    push: &Push,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<OnPushOutput, HandlerError> {
    let Push {
        repository,
        digest,
        tag,
        registry,
        ..
    } = push.clone();
    let mut configs = BTreeMap::new();
    let apps = ctx.store.apps_for_repository(&repository).await?;
    // One read per app, all at once: the push's path waits for the slowest, not the sum.
    let reads = join_all(apps.iter().map(|app| ctx.store.get_app_config(app))).await;
    for (app, read) in apps.into_iter().zip(reads) {
        match read {
            Ok(Some(config)) if config.repository == repository => {
                configs.insert(app, config);
            }
            Ok(_) => {}
            // A transient failure fails the invocation, to be retried (nothing started yet):
            // read as "not configured", it would lose the push.
            Err(e) if e.is_retryable() => return Err(e.into()),
            // One app's broken config must not stop the others' deploys.
            Err(e) => {
                tracing::error!(app = %app, error = %e, "skipping app with unreadable config")
            }
        }
    }
    if configs.is_empty() {
        return Ok(ignored(format!(
            "repository `{repository}` is not configured in any app; add it to a stevedore.yaml"
        )));
    }
    let registry = registry.unwrap_or_else(|| crate::targets::Registry::home(ctx));
    let targets = stages_for_push(&configs, &repository, &tag);
    if targets.is_empty() {
        return Ok(ignored(format!(
            "tag `{tag}` of `{repository}` matches no stage's tag rules"
        )));
    }
    let targets = match registry.stages_fed(ctx, &configs, targets) {
        Ok(targets) => targets,
        Err(why) => return Ok(ignored(why)),
    };
    let uri = image_uri(&registry.account, &registry.region, &repository, &digest);
    let mut output = OnPushOutput::default();
    let mut failures = Vec::new();
    // Each (app, stage) is independent: their claims and starts run at once.
    let started = join_all(
        targets
            .into_iter()
            .map(|target| release_target(ctx, target, push, &uri, at)),
    )
    .await;
    for result in started {
        match result {
            Ok(release) => output.releases.push(release),
            Err(e) => failures.push(e),
        }
    }
    // Fail the invocation (so EventBridge/Lambda retry it) only after every target was tried;
    // the retry is safe because each step is idempotent.
    if let Some(first) = failures.into_iter().next() {
        return Err(first.into());
    }
    Ok(output)
}

/// Claims the release id of one (app, stage) for the push and starts its release.
async fn release_target(
    ctx: &OnPush,
    target: StageTarget,
    push: &Push,
    uri: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<StartedRelease, stevedore_core::Error> {
    let Push {
        repository,
        digest,
        tag,
        pushed_ms,
        ..
    } = push;
    let candidate = release_id(&target.app, &target.stage, digest, *pushed_ms);
    let id = ctx
        .store
        .claim_release_id(&target.app, &target.stage, digest, &candidate)
        .await
        .inspect_err(|e| {
            tracing::error!(app = %target.app, stage = %target.stage, error = %e, "could not claim a release id")
        })?;
    let input = ReleaseSpec {
        release_id: id.clone(),
        app: target.app.clone(),
        stage: target.stage.clone(),
        repository: repository.clone(),
        digest: digest.clone(),
        tag: tag.clone(),
        image_uri: uri.to_string(),
        trigger: Trigger::Push,
        source_release_id: None,
        // The claimed id's time: the push time of the delivery that claimed it first.
        pushed_at: id_time(&id).map(timestamp),
        redeploy_task_definition_arn: None,
        redeploy_services: Default::default(),
    };
    let started = start_release(
        &ctx.store,
        &ctx.sfn,
        &ctx.deploy_state_machine_arn,
        &input,
        at,
    )
    .await
    .inspect_err(|e| {
        tracing::error!(app = %target.app, stage = %target.stage, error = %e, "could not start release")
    })?;
    Ok(StartedRelease {
        app: target.app,
        stage: target.stage,
        release_id: id,
        started,
    })
}
