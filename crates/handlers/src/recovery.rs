//! When a rollout goes wrong: finding out what ECS really runs after a step failed past
//! UpdateService, and putting the previous task definition back (the restore is then
//! watched to its end like any deployment, before the lock is released).

use stevedore_aws::ecs::without_own_hook;
use stevedore_aws::store::attr_s;
use stevedore_core::release::reason_for_failure;
use stevedore_core::Error;

use crate::deploy::{explained, Deploy, DeployResponse, StartedDeployment};
use crate::reconcile::{reconcile, Reconciled};
use crate::stage_lock::{fence, Lease};
use crate::verdict::Verdict;
use crate::{ReleaseSpec, RenderOutput, StateError};

/// Asks ECS what became of the release's deployment after `error` interrupted the rollout
/// or its recording. ECS failing it without a rollback is `DeploymentFailed` (the state
/// machine restores); a rollback or someone else's deployment ends the release as such.
pub(crate) async fn reconcile_release(
    ctx: &Deploy,
    release: &ReleaseSpec,
    render: &RenderOutput,
    error: &StateError,
) -> Result<DeployResponse, Error> {
    if !render.services.is_empty() {
        return crate::recovery_services::reconcile_services(ctx, release, render, error).await;
    }
    let (_, why) = reason_for_failure(&error.error, &error.cause);
    let service = ctx
        .ecs
        .describe_service(&render.cluster, &render.service)
        .await?;
    let recorded = ctx
        .store
        .get_release(&release.app, &release.stage, &release.release_id)
        .await?
        .and_then(|r| r.deployment_id);
    let started = |deployment_id: String| StartedDeployment {
        deployment_id,
        cluster: render.cluster.clone(),
        service: render.service.clone(),
        task_definition_arn: render.task_definition_arn.clone(),
        deploy_timeout_seconds: render.deploy_timeout_seconds,
        batch: Vec::new(),
        more_to_start: false,
    };
    let (outcome, deployment) = match reconcile(
        &service,
        recorded.as_deref(),
        &render.task_definition_arn,
    ) {
        Reconciled::Live {
            verdict: Verdict::Failed(failure),
            ..
        } => {
            let failure = explained(
                &ctx.store,
                &release.app,
                &release.stage,
                &release.release_id,
                failure,
            )
            .await;
            tracing::warn!(release_id = %release.release_id, %why, %failure, "reconciled: ECS failed the deployment");
            return Err(failure);
        }
        Reconciled::Live {
            deployment_id,
            verdict: Verdict::Completed,
        } => ("completed", Some(started(deployment_id))),
        Reconciled::Live {
            deployment_id,
            verdict: Verdict::InProgress(_),
        } => ("in_progress", Some(started(deployment_id))),
        Reconciled::NotStarted => ("not_started", None),
    };
    let note = format!(
        "{why}; ECS then reported the release's deployment {}",
        match outcome {
            "completed" => "completed",
            "in_progress" => "still rolling out, so Stevedore waited for it",
            _ => "never started (the service still runs its previous task definition)",
        }
    );
    ctx.store
        .set_release_fields(
            &release.app,
            &release.stage,
            &release.release_id,
            &[("reconciled", attr_s(&note))],
        )
        .await?;
    tracing::warn!(release_id = %release.release_id, %outcome, %note, "reconciled with ECS");
    Ok(DeployResponse::Reconciled {
        outcome: outcome.to_string(),
        deployment,
    })
}

/// Puts the previous task definition back (only while the release still holds its stage)
/// and hands the restore's deployment to the state machine to wait for.
pub(crate) async fn restore_previous(
    ctx: &Deploy,
    release: &ReleaseSpec,
    render: &RenderOutput,
    error: &StateError,
    execution_arn: &str,
) -> Result<DeployResponse, Error> {
    if !render.services.is_empty() {
        return crate::recovery_services::restore_services(
            ctx,
            release,
            render,
            error,
            execution_arn,
        )
        .await;
    }
    let (_, why) = reason_for_failure(&error.error, &error.cause);
    // A release that lost the stage must not put its predecessor back over a newer one.
    let lease = Lease::for_deployment(render.deploy_timeout_seconds);
    fence(&ctx.store, release, execution_arn, lease, false).await?;
    let previous = &render.previous_task_definition_arn;
    let service = ctx
        .ecs
        .describe_service(&render.cluster, &render.service)
        .await?;
    let config = without_own_hook(
        service.deployment_configuration.as_ref(),
        &ctx.hook.function_arn,
    );
    let restore_id = ctx
        .ecs
        .update_service(&render.cluster, &render.service, previous, config)
        .await?;
    ctx.store
        .set_release_fields(
            &release.app,
            &release.stage,
            &release.release_id,
            &[("restore_deployment_id", attr_s(&restore_id))],
        )
        .await?;
    tracing::warn!(release_id = %release.release_id, %previous, %restore_id, "restoring the previous task definition");
    Ok(DeployResponse::Restoring {
        reason: format!(
            "{why}; Stevedore restored the previous task definition {previous} (deployment {restore_id})"
        ),
        restore: Some(StartedDeployment {
            deployment_id: restore_id,
            cluster: render.cluster.clone(),
            service: render.service.clone(),
            task_definition_arn: previous.clone(),
            deploy_timeout_seconds: render.deploy_timeout_seconds,
            batch: Vec::new(),
            more_to_start: false,
        }),
        error_type: "DeploymentRolledBack".into(),
    })
}
