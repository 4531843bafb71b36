//! ECS's own rollout time, predicted from the services' settings just before deploy starts
//! it (`stevedore_core::rollout_estimate`) and measured once the release SUCCEEDED (the
//! services' deployments as ECS reports them), both recorded on the release. Neither may
//! fail a release: a read that fails is logged and nothing is recorded.
//! `stevedore doctor` reads the same settings the same way ([`read_settings`]).

use chrono::DateTime;
use serde_json::Value;
use stevedore_aws::ecs::{
    deployment_configuration, service_settings, with_stage_alarms, DeploymentConfiguration,
    ServiceState,
};
use stevedore_aws::store::{attr_n, attr_of, AttributeValue};
use stevedore_aws::{Ecs, LoadBalancers};
use stevedore_core::config::RolloutOrder;
use stevedore_core::metrics::rollout_emf_line;
use stevedore_core::rollout_estimate::{estimate, stage_parts, stage_seconds, ServiceSettings};
use stevedore_core::Error;

use crate::deploy::Deploy;
use crate::rollout_check::{rollout_plan, HookTarget};
use crate::{ReleaseSpec, RenderOutput, RolloutSpec};

/// ECS's `createdAt` of a deployment comes a little before deploy records that it started.
const CREATED_BEFORE_RECORDED_SECONDS: f64 = 60.0;

/// What the prediction reads of one service: its task definition (containers, health
/// checks, stop timeouts) and its target groups, with the deployment configuration
/// `config` the rollout runs with.
pub async fn read_settings(
    ecs: &Ecs,
    load_balancers: &LoadBalancers,
    name: &str,
    service: &ServiceState,
    config: Option<&DeploymentConfiguration>,
    task_definition: &str,
) -> Result<ServiceSettings, Error> {
    let described = ecs.describe_task_definition(task_definition).await?;
    let target_groups = load_balancers
        .target_group_settings(&service.target_group_arns)
        .await?;
    Ok(service_settings(
        name,
        service,
        config,
        &described.definition,
        target_groups,
    ))
}

/// The deployment configuration a release of `rollout` runs the service with: what deploy
/// sends with UpdateService, or the service's own when it sends none.
pub fn release_configuration(
    service: &ServiceState,
    rollout: &RolloutSpec,
    hook: &HookTarget,
) -> Option<DeploymentConfiguration> {
    let plan = rollout_plan(rollout, hook, Value::Null);
    let current = service.deployment_configuration.as_ref();
    with_stage_alarms(
        deployment_configuration(current, &plan, Some(&hook.function_arn)),
        current,
        &rollout.alarms,
    )
    .or_else(|| current.cloned())
}

/// One service about to roll out.
pub(crate) struct ToRoll<'a> {
    pub name: &'a str,
    pub service: &'a ServiceState,
    pub config: Option<&'a DeploymentConfiguration>,
    pub task_definition: &'a str,
}

/// The release fields of the stage's prediction, none when a read failed (logged).
pub(crate) async fn prediction_fields(
    ctx: &Deploy,
    release_id: &str,
    order: RolloutOrder,
    services: &[ToRoll<'_>],
) -> Vec<(&'static str, AttributeValue)> {
    let mut estimates = Vec::with_capacity(services.len());
    for s in services {
        let read = read_settings(
            &ctx.ecs,
            &ctx.load_balancers,
            s.name,
            s.service,
            s.config,
            s.task_definition,
        )
        .await;
        match read {
            Ok(settings) => estimates.push(estimate(&settings)),
            Err(error) => {
                tracing::warn!(%release_id, service = s.name, %error, "could not read the settings the rollout prediction needs; none recorded");
                return Vec::new();
            }
        }
    }
    let seconds = stage_seconds(order, &estimates);
    let parts = stage_parts(order, &estimates);
    tracing::info!(%release_id, predicted_rollout_seconds = seconds, ?parts, "rollout predicted");
    match attr_of(&parts) {
        Ok(parts) => vec![
            ("predicted_rollout_seconds", attr_n(seconds as i64)),
            ("predicted_rollout_parts", parts),
        ],
        Err(error) => {
            tracing::warn!(%release_id, %error, "could not store the rollout prediction");
            Vec::new()
        }
    }
}

/// [`prediction_fields`] of a stage of one service; `config` is what deploy sends, if anything.
pub(crate) async fn predict_one(
    ctx: &Deploy,
    release: &ReleaseSpec,
    render: &RenderOutput,
    service: &ServiceState,
    config: Option<&DeploymentConfiguration>,
) -> Vec<(&'static str, AttributeValue)> {
    let rolled = ToRoll {
        name: &render.service,
        service,
        config: config.or(service.deployment_configuration.as_ref()),
        task_definition: &render.task_definition_arn,
    };
    prediction_fields(ctx, &release.release_id, RolloutOrder::Parallel, &[rolled]).await
}

/// [`prediction_fields`] of a stage of several services, each read as deploy is about to
/// roll it out.
pub(crate) async fn predict_services(
    ctx: &Deploy,
    release: &ReleaseSpec,
    render: &RenderOutput,
) -> Vec<(&'static str, AttributeValue)> {
    let mut states = Vec::with_capacity(render.services.len());
    for s in &render.services {
        match ctx.ecs.describe_service(&s.cluster, &s.service).await {
            Ok(state) => {
                let config = release_configuration(&state, &s.rollout, &ctx.hook);
                states.push((state, config));
            }
            Err(error) => {
                tracing::warn!(release_id = %release.release_id, service = %s.service, %error, "could not read the service for the rollout prediction; none recorded");
                return Vec::new();
            }
        }
    }
    let rolled: Vec<ToRoll<'_>> = render
        .services
        .iter()
        .zip(&states)
        .map(|(s, (state, config))| ToRoll {
            name: &s.service,
            service: state,
            config: config.as_ref(),
            task_definition: &s.task_definition_arn,
        })
        .collect();
    prediction_fields(ctx, &release.release_id, render.rollout_order, &rolled).await
}

/// Records how long ECS took, as its deployments of the release's services say (first
/// start to last finish), and prints it beside the prediction as an EMF metric line.
/// Never fails: the release has SUCCEEDED already.
pub(crate) async fn record_measured(ctx: &Deploy, release: &ReleaseSpec, render: &RenderOutput) {
    if let Err(error) = measure(ctx, release, render).await {
        tracing::warn!(release_id = %release.release_id, %error, "could not measure the ECS rollout; none recorded");
    }
}

async fn measure(ctx: &Deploy, release: &ReleaseSpec, render: &RenderOutput) -> Result<(), Error> {
    let Some(record) = ctx
        .store
        .get_release(&release.app, &release.stage, &release.release_id)
        .await?
    else {
        return Ok(());
    };
    let Some(started) = record
        .deploy_started_at
        .as_deref()
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
    else {
        return Ok(());
    };
    let after = started.timestamp_millis() as f64 / 1000.0 - CREATED_BEFORE_RECORDED_SECONDS;
    let services: Vec<(&str, &str)> = if render.services.is_empty() {
        vec![(render.cluster.as_str(), render.service.as_str())]
    } else {
        render
            .services
            .iter()
            .map(|s| (s.cluster.as_str(), s.service.as_str()))
            .collect()
    };
    let (mut first_start, mut last_finish) = (f64::MAX, f64::MIN);
    for (cluster, service) in services {
        let Some(span) = ctx.ecs.completed_rollout(cluster, service, after).await? else {
            tracing::info!(release_id = %release.release_id, %service, "ECS reports no finished deployment of the release; rollout not measured");
            return Ok(());
        };
        first_start = first_start.min(span.started_at);
        last_finish = last_finish.max(span.finished_at);
    }
    let seconds = ((last_finish - first_start).max(0.0) * 1000.0).round() / 1000.0;
    ctx.store
        .set_release_fields(
            &release.app,
            &release.stage,
            &release.release_id,
            &[(
                "measured_rollout_seconds",
                AttributeValue::N(seconds.to_string()),
            )],
        )
        .await?;
    let line = rollout_emf_line(
        &release.app,
        &release.stage,
        &release.release_id,
        seconds,
        record.predicted_rollout_seconds,
        chrono::Utc::now().timestamp_millis(),
    );
    // One write of the whole line: nothing else lands inside it.
    {
        use std::io::Write as _;
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }
    tracing::info!(release_id = %release.release_id, measured_rollout_seconds = seconds, predicted_rollout_seconds = ?record.predicted_rollout_seconds, "ECS rollout measured");
    Ok(())
}
