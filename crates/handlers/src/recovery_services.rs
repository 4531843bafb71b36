//! All or nothing for a release of several services: when one fails (or ECS rolls it back),
//! every other service the release moved goes back to its previous task definition, and
//! every schedule it repointed goes back too; after an interrupted step, ECS is asked what
//! each service really runs.

use stevedore_aws::ecs::without_own_hook;
use stevedore_aws::store::attr_s;
use stevedore_core::release::{reason_for_failure, service_status};
use stevedore_core::Error;

use crate::deploy::{explained, Deploy, DeployResponse, ServiceDeployment, StartedDeployment};
use crate::reconcile::{reconcile, Reconciled};
use crate::record::key;
use crate::stage_lock::{fence, Lease};
use crate::verdict::Verdict;
use crate::{ReleaseSpec, RenderOutput, StateError};

/// The release's deployment id of each service, as recorded (none for a service not started).
async fn recorded_deployments(
    ctx: &Deploy,
    release: &ReleaseSpec,
) -> Result<Vec<Option<String>>, Error> {
    Ok(ctx
        .store
        .get_release(&release.app, &release.stage, &release.release_id)
        .await?
        .map(|record| {
            record
                .services
                .into_iter()
                .map(|s| s.deployment_id)
                .collect()
        })
        .unwrap_or_default())
}

/// Puts back every service that runs the release's revision (a service ECS rolled back, one
/// never started, or one someone else deployed since, is left alone) and every repointed
/// schedule. The restores are waited for as one batch.
pub(crate) async fn restore_services(
    ctx: &Deploy,
    release: &ReleaseSpec,
    render: &RenderOutput,
    error: &StateError,
    execution_arn: &str,
) -> Result<DeployResponse, Error> {
    let (_, why) = reason_for_failure(&error.error, &error.cause);
    // A release that lost the stage must not put its predecessors back over a newer one.
    let lease = Lease::for_deployment(render.deploy_timeout_seconds);
    fence(&ctx.store, release, execution_arn, lease, false).await?;
    let recorded = recorded_deployments(ctx, release).await?;
    let schedules_restored = crate::schedules::restore_schedules(ctx, release, render).await?;
    let mut batch = Vec::new();
    for (index, service) in render.services.iter().enumerate() {
        let state = ctx
            .ecs
            .describe_service(&service.cluster, &service.service)
            .await?;
        if state.task_definition != service.task_definition_arn {
            continue;
        }
        // Its own wait is over: a late event of the abandoned deployment changes nothing.
        if let Some(Some(deployment_id)) = recorded.get(index) {
            ctx.store.take_wait(deployment_id).await?;
        }
        let config = without_own_hook(
            state.deployment_configuration.as_ref(),
            &ctx.hook.function_arn,
        );
        let restore_id = ctx
            .ecs
            .update_service(
                &service.cluster,
                &service.service,
                &service.previous_task_definition_arn,
                config,
            )
            .await?;
        ctx.store
            .set_entry_fields(
                key(release),
                "services",
                index,
                &[
                    ("restore_deployment_id", attr_s(&restore_id)),
                    ("status", attr_s(service_status::RESTORING)),
                    (
                        "reason",
                        attr_s(format!(
                            "put back to {} because the release failed",
                            service.previous_task_definition_arn
                        )),
                    ),
                ],
            )
            .await?;
        tracing::warn!(release_id = %release.release_id, service = %service.service, %restore_id, "restoring the previous task definition");
        batch.push(ServiceDeployment {
            index,
            deployment_id: restore_id,
            cluster: service.cluster.clone(),
            service: service.service.clone(),
            task_definition_arn: service.previous_task_definition_arn.clone(),
            restoring: true,
        });
    }
    let restored: Vec<String> = batch
        .iter()
        .map(|d| format!("`{}` (deployment {})", d.service, d.deployment_id))
        .chain((schedules_restored > 0).then(|| format!("{schedules_restored} schedule(s)")))
        .collect();
    if restored.is_empty() {
        return Ok(DeployResponse::Restoring {
            restore: None,
            reason: why,
            error_type: error.error.clone(),
        });
    }
    let reason = format!(
        "{why}; Stevedore put back the previous task definitions of {}",
        restored.join(", ")
    );
    let restore = batch.first().cloned().map(|first| StartedDeployment {
        deployment_id: first.deployment_id,
        cluster: first.cluster,
        service: first.service,
        task_definition_arn: first.task_definition_arn,
        deploy_timeout_seconds: render.deploy_timeout_seconds,
        more_to_start: false,
        batch: batch.clone(),
    });
    Ok(DeployResponse::Restoring {
        restore,
        reason,
        error_type: "DeploymentRolledBack".into(),
    })
}

/// What ECS runs on each service after `error` interrupted the release: a failed service
/// fails the release (the state machine then restores the others); a release whose services
/// were only partly started is failed too, so the ones that moved go back.
pub(crate) async fn reconcile_services(
    ctx: &Deploy,
    release: &ReleaseSpec,
    render: &RenderOutput,
    error: &StateError,
) -> Result<DeployResponse, Error> {
    let (_, why) = reason_for_failure(&error.error, &error.cause);
    let recorded = recorded_deployments(ctx, release).await?;
    let (mut in_progress, mut not_started, mut live) = (Vec::new(), Vec::new(), 0);
    for (index, service) in render.services.iter().enumerate() {
        let state = ctx
            .ecs
            .describe_service(&service.cluster, &service.service)
            .await?;
        let recorded = recorded.get(index).cloned().flatten();
        match reconcile(&state, recorded.as_deref(), &service.task_definition_arn) {
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
                .await
                .prefixed(&format!("service `{}`: ", service.service));
                tracing::warn!(release_id = %release.release_id, %why, %failure, "reconciled: ECS failed a service's deployment");
                return Err(failure);
            }
            Reconciled::Live {
                verdict: Verdict::Completed,
                ..
            } => live += 1,
            Reconciled::Live { deployment_id, .. } => {
                live += 1;
                in_progress.push(ServiceDeployment {
                    index,
                    deployment_id,
                    cluster: service.cluster.clone(),
                    service: service.service.clone(),
                    task_definition_arn: service.task_definition_arn.clone(),
                    restoring: false,
                });
            }
            Reconciled::NotStarted => not_started.push(service.service.clone()),
        }
    }
    if live > 0 && !not_started.is_empty() {
        return Err(Error::DeploymentFailed(format!(
            "{why}; the rollout stopped before service(s) {} started, so the services that moved go back",
            not_started.join(", ")
        )));
    }
    let (outcome, deployment) = if live == 0 {
        ("not_started", None)
    } else if let Some(first) = in_progress.first().cloned() {
        let deployment = StartedDeployment {
            deployment_id: first.deployment_id,
            cluster: first.cluster,
            service: first.service,
            task_definition_arn: first.task_definition_arn,
            deploy_timeout_seconds: render.deploy_timeout_seconds,
            more_to_start: false,
            batch: in_progress,
        };
        ("in_progress", Some(deployment))
    } else {
        ("completed", None)
    };
    let note = format!("{why}; ECS then reported the release's services {outcome}");
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
