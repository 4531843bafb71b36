//! deploy for a release of several services: each batch (every service at once, or the next
//! one for `rollout: sequential`) is started after the release proves it holds the stage,
//! and the batch's deployments share one parked task token that succeeds when the last of
//! them completed and fails with the first that failed, naming its service.

use stevedore_aws::ecs::{deployment_configuration, with_stage_alarms};
use stevedore_aws::store::{attr_s, DeploymentWait, ReleaseKey};
use stevedore_aws::{StepFunctions, Store};
use stevedore_core::release::{service_status, services_to_start};
use stevedore_core::Error;

use crate::deploy::{
    explained, hook_details, Deploy, DeployResponse, ServiceDeployment, StartedDeployment,
};
use crate::record::key;
use crate::rollout_check::{check_rollout, rollout_plan};
use crate::runtime::{now, timestamp};
use crate::stage_lock::{fence, Lease};
use crate::verdict::{verdict, Verdict};
use crate::{ReleaseSpec, RenderOutput};

/// Records how the `index`-th service of the release stands.
pub(crate) async fn set_service_status(
    store: &Store,
    release: ReleaseKey<'_>,
    index: usize,
    status: &str,
    reason: Option<&str>,
) -> Result<(), Error> {
    let at = timestamp(now());
    let mut fields = vec![("status", attr_s(status))];
    match status {
        service_status::IN_PROGRESS => fields.push(("started_at", attr_s(&at))),
        _ => fields.push(("finished_at", attr_s(&at))),
    }
    if let Some(reason) = reason {
        fields.push(("reason", attr_s(reason)));
    }
    store
        .set_entry_fields(release, "services", index, &fields)
        .await
}

/// Starts the next batch: every service not started yet (parallel), or the first of them
/// (sequential). A retried start skips the services whose UpdateService it already sent.
pub(crate) async fn start_batch(
    ctx: &Deploy,
    release: &ReleaseSpec,
    render: &RenderOutput,
    execution_arn: &str,
) -> Result<StartedDeployment, Error> {
    let record = ctx
        .store
        .get_release(&release.app, &release.stage, &release.release_id)
        .await?
        .ok_or_else(|| {
            Error::InvalidInput(format!("release {} has no record", release.release_id))
        })?;
    if record.services.len() != render.services.len() {
        return Err(Error::InvalidInput(format!(
            "release {} records {} services, render {}",
            release.release_id,
            record.services.len(),
            render.services.len()
        )));
    }
    let not_started: Vec<usize> = (0..render.services.len())
        .filter(|&i| record.services[i].deployment_id.is_none())
        .collect();
    let mut batch: Vec<ServiceDeployment> = record
        .services
        .iter()
        .enumerate()
        .filter(|(_, s)| s.status == service_status::IN_PROGRESS)
        .filter_map(|(index, s)| {
            Some(ServiceDeployment {
                index,
                deployment_id: s.deployment_id.clone()?,
                cluster: s.cluster.clone(),
                service: s.service.clone(),
                task_definition_arn: s.task_definition_arn.clone(),
                restoring: false,
            })
        })
        .collect();
    let started: Vec<bool> = record
        .services
        .iter()
        .map(|s| s.deployment_id.is_some())
        .collect();
    let rolling: Vec<bool> = record
        .services
        .iter()
        .map(|s| s.status == service_status::IN_PROGRESS)
        .collect();
    let to_start = services_to_start(render.rollout_order, &started, &rolling);
    let lease = Lease::for_deployment(render.deploy_timeout_seconds);
    if !to_start.is_empty() {
        // Only the stage's lock holder may change a service; the lease now covers the rollout.
        fence(&ctx.store, release, execution_arn, lease, false).await?;
    }
    if not_started.len() == render.services.len() && !to_start.is_empty() {
        let mut fields = crate::rollout_prediction::predict_services(ctx, release, render).await;
        fields.push(("deploy_started_at", attr_s(timestamp(now()))));
        ctx.store
            .set_release_fields(&release.app, &release.stage, &release.release_id, &fields)
            .await?;
    }
    for &index in &to_start {
        let service = &render.services[index];
        let state = ctx
            .ecs
            .describe_service(&service.cluster, &service.service)
            .await?;
        check_rollout(
            &release.stage,
            &service.service,
            &state,
            &service.rollout,
            &ctx.hook,
        )?;
        let plan = rollout_plan(
            &service.rollout,
            &ctx.hook,
            hook_details(release, &service.rollout, &service.service),
        );
        let config = with_stage_alarms(
            deployment_configuration(
                state.deployment_configuration.as_ref(),
                &plan,
                Some(&ctx.hook.function_arn),
            ),
            state.deployment_configuration.as_ref(),
            &service.rollout.alarms,
        );
        let deployment_id = ctx
            .ecs
            .update_service(
                &service.cluster,
                &service.service,
                &service.task_definition_arn,
                config,
            )
            .await?;
        ctx.store
            .set_entry_fields(
                key(release),
                "services",
                index,
                &[
                    ("deployment_id", attr_s(&deployment_id)),
                    ("status", attr_s(service_status::IN_PROGRESS)),
                    ("started_at", attr_s(timestamp(now()))),
                ],
            )
            .await?;
        tracing::info!(release_id = %release.release_id, %deployment_id, service = %service.service, "service updated");
        batch.push(ServiceDeployment {
            index,
            deployment_id,
            cluster: service.cluster.clone(),
            service: service.service.clone(),
            task_definition_arn: service.task_definition_arn.clone(),
            restoring: false,
        });
    }
    let Some(first) = batch.first().cloned() else {
        return Err(Error::InvalidInput(format!(
            "release {}: every service was started already and none is rolling out",
            release.release_id
        )));
    };
    let started_now = to_start.len();
    Ok(StartedDeployment {
        deployment_id: first.deployment_id,
        cluster: first.cluster,
        service: first.service,
        task_definition_arn: first.task_definition_arn,
        deploy_timeout_seconds: render.deploy_timeout_seconds,
        more_to_start: not_started.len() > started_now,
        batch,
    })
}

/// Parks one token for the whole batch, then completes it at once for deployments ECS
/// finished before the token was parked.
pub(crate) async fn wait_batch(
    ctx: &Deploy,
    release: &ReleaseSpec,
    deployment: &StartedDeployment,
    task_token: String,
) -> Result<(), Error> {
    let expires_at = now().timestamp() + deployment.deploy_timeout_seconds as i64 + 3600;
    let group: Vec<String> = deployment
        .batch
        .iter()
        .map(|d| d.deployment_id.clone())
        .collect();
    for member in &deployment.batch {
        let wait = DeploymentWait {
            task_token: task_token.clone(),
            app: release.app.clone(),
            stage: release.stage.clone(),
            release_id: release.release_id.clone(),
            cluster: member.cluster.clone(),
            service: member.service.clone(),
            expires_at,
            group: group.clone(),
            service_index: Some(member.index),
            done: None,
            restoring: member.restoring,
        };
        ctx.store.put_wait(&member.deployment_id, &wait).await?;
    }
    for member in &deployment.batch {
        let service = ctx
            .ecs
            .describe_service(&member.cluster, &member.service)
            .await?;
        match verdict(&service, &member.deployment_id, &member.task_definition_arn) {
            Verdict::InProgress(_) => {}
            finished => {
                complete_group_member(&ctx.store, &ctx.sfn, &member.deployment_id, finished).await?
            }
        }
    }
    Ok(())
}

/// One member of a batch ended: record it; fail the token if it failed, complete it if
/// every sibling completed too.
pub(crate) async fn complete_group_member(
    store: &Store,
    sfn: &StepFunctions,
    deployment_id: &str,
    finished: Verdict,
) -> Result<(), Error> {
    let done = match &finished {
        Verdict::Completed => service_status::COMPLETED,
        Verdict::Failed(_) => service_status::FAILED,
        Verdict::InProgress(_) => return Ok(()),
    };
    let Some(wait) = store.finish_group_wait(deployment_id, done).await? else {
        tracing::info!(%deployment_id, "this deployment's end was handled already");
        return Ok(());
    };
    let release = ReleaseKey {
        app: &wait.app,
        stage: &wait.stage,
        release_id: &wait.release_id,
    };
    match finished {
        Verdict::Completed => {
            if let Some(index) = wait.service_index {
                let status = if wait.restoring {
                    service_status::RESTORED
                } else {
                    service_status::COMPLETED
                };
                set_service_status(store, release, index, status, None).await?;
            }
            for other in wait.group.iter().filter(|id| *id != deployment_id) {
                let sibling = store.peek_wait(other).await?.and_then(|w| w.done);
                if sibling.as_deref() != Some(service_status::COMPLETED) {
                    tracing::info!(release_id = %wait.release_id, %deployment_id, waiting_for = %other, "deployment completed; another service of the release is not done yet");
                    return Ok(());
                }
            }
            let output = serde_json::json!({"status": "COMPLETED", "deployment_ids": wait.group});
            if sfn
                .send_task_success_if_open(&wait.task_token, &output)
                .await?
            {
                tracing::info!(release_id = %wait.release_id, "every service of the batch completed");
            }
        }
        Verdict::Failed(error) => {
            let error = explained(store, &wait.app, &wait.stage, &wait.release_id, error)
                .await
                .prefixed(&format!("service `{}`: ", wait.service));
            if let Some(index) = wait.service_index {
                let status = match error {
                    _ if wait.restoring => service_status::RESTORE_FAILED,
                    Error::DeploymentRolledBack(_) => service_status::ROLLED_BACK,
                    _ => service_status::FAILED,
                };
                set_service_status(store, release, index, status, Some(&error.to_string())).await?;
            }
            sfn.send_task_failure_if_open(&wait.task_token, error.error_type(), &error.to_string())
                .await?;
            tracing::warn!(release_id = %wait.release_id, %deployment_id, error = %error, "a service of the release failed");
        }
        Verdict::InProgress(_) => {}
    }
    Ok(())
}

/// No event came in time: ask ECS about every deployment of the batch once.
pub(crate) async fn check_batch(
    ctx: &Deploy,
    release: &ReleaseSpec,
    deployment: &StartedDeployment,
) -> Result<DeployResponse, Error> {
    let mut unfinished = Vec::new();
    for member in &deployment.batch {
        let service = ctx
            .ecs
            .describe_service(&member.cluster, &member.service)
            .await?;
        match verdict(&service, &member.deployment_id, &member.task_definition_arn) {
            Verdict::Completed => {
                set_service_status(
                    &ctx.store,
                    key(release),
                    member.index,
                    service_status::COMPLETED,
                    None,
                )
                .await?
            }
            Verdict::Failed(error) => {
                let error = explained(
                    &ctx.store,
                    &release.app,
                    &release.stage,
                    &release.release_id,
                    error,
                )
                .await;
                return Err(error.prefixed(&format!("service `{}`: ", member.service)));
            }
            Verdict::InProgress(state) => {
                unfinished.push(format!("service `{}`: {state}", member.service))
            }
        }
    }
    if !unfinished.is_empty() {
        return Err(Error::DeploymentTimedOut(format!(
            "ECS did not finish the deployment within {} s (deploy_timeout_seconds): {}",
            deployment.deploy_timeout_seconds,
            unfinished.join("; ")
        )));
    }
    tracing::info!(release_id = %release.release_id, "no event arrived, but ECS reports every deployment of the batch completed");
    Ok(DeployResponse::Outcome {
        status: "COMPLETED".into(),
        deployment_id: deployment.deployment_id.clone(),
    })
}
