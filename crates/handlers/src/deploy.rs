//! deploy: points the service at the release's task definition, parks the state machine's
//! task token until ECS reports (no Lambda waits while ECS rolls out), and, only when no
//! event came in time, asks ECS once.

use serde::{Deserialize, Serialize};
use stevedore_aws::ecs::{deployment_configuration, with_stage_alarms};
use stevedore_aws::store::{attr_of, attr_s, DeploymentWait, TakenWait};
use stevedore_aws::{Ecs, StepFunctions, Store};
use stevedore_core::smoke::explain_failure;
use stevedore_core::Error;

pub use crate::rollout_check::HookTarget;
use crate::rollout_check::{check_rollout, rollout_plan};
use crate::rollout_prediction::predict_one;
use crate::runtime::{now, timestamp};
use crate::stage_lock::{fence, Lease};
use crate::verdict::{verdict, Verdict};
use crate::{HandlerError, ReleaseSpec, RenderOutput, RolloutSpec, StateError};

pub struct Deploy {
    pub store: Store,
    pub ecs: Ecs,
    pub sfn: StepFunctions,
    /// The stage's schedules and rules, repointed after the services.
    pub schedules: stevedore_aws::Schedules,
    /// The services' target groups, read for the rollout prediction.
    pub load_balancers: stevedore_aws::LoadBalancers,
    /// Stevedore's blue/green lifecycle hook function, and the role ECS invokes it with.
    pub hook: HookTarget,
    /// Stages in other accounts and regions (None: every stage is Stevedore's own).
    pub accounts: Option<stevedore_aws::Accounts>,
}

/// The deployment ECS started for a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartedDeployment {
    pub deployment_id: String,
    pub cluster: String,
    pub service: String,
    pub task_definition_arn: String,
    pub deploy_timeout_seconds: u64,
    /// Multi-service: every deployment started together (this one first), waited for as
    /// one; empty for a stage of one service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub batch: Vec<ServiceDeployment>,
    /// Multi-service, `rollout: sequential`: services are left to start after this batch.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub more_to_start: bool,
}

/// One deployment of a multi-service batch; `index` is the service's place in the release's
/// `services`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceDeployment {
    pub index: usize,
    pub deployment_id: String,
    pub cluster: String,
    pub service: String,
    pub task_definition_arn: String,
    /// A restore of the service's previous task definition, not the release's rollout.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restoring: bool,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum DeployRequest {
    Start {
        release: ReleaseSpec,
        render: RenderOutput,
        /// The release's execution: the stage's lock must still be held by it.
        execution_arn: String,
    },
    Wait {
        task_token: String,
        release: ReleaseSpec,
        deployment: StartedDeployment,
    },
    Check {
        release: ReleaseSpec,
        deployment: StartedDeployment,
    },
    /// A step failed after UpdateService may have been sent: ask ECS what runs.
    Reconcile {
        release: ReleaseSpec,
        render: RenderOutput,
        error: StateError,
    },
    /// Every service completed: point the stage's schedules at the new revisions.
    PointSchedules {
        release: ReleaseSpec,
        render: RenderOutput,
        execution_arn: String,
    },
    /// The release SUCCEEDED: deregister the stage's old revisions (`keep_revisions`).
    PruneRevisions {
        release: ReleaseSpec,
        render: RenderOutput,
    },
    /// ECS failed the deployment without rolling back, or never finished it: put the
    /// previous task definition back, so the service is left running a good one.
    Restore {
        release: ReleaseSpec,
        render: RenderOutput,
        error: StateError,
        execution_arn: String,
    },
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum DeployResponse {
    Started(StartedDeployment),
    Parked {
        parked: bool,
    },
    Outcome {
        status: String,
        deployment_id: String,
    },
    /// What ECS runs after a failed step: `completed`, `in_progress` (wait for `deployment`)
    /// or `not_started` (nothing of the release is live).
    Reconciled {
        outcome: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        deployment: Option<StartedDeployment>,
    },
    /// The previous task definition is going back as `restore` (none when nothing of the
    /// release was live any more); `reason` is why, `error_type` what the release ends as.
    Restoring {
        #[serde(skip_serializing_if = "Option::is_none")]
        restore: Option<StartedDeployment>,
        reason: String,
        error_type: String,
    },
    /// How many schedules now run the new revisions.
    Pointed {
        schedules_pointed: usize,
    },
    /// How many old task definition revisions were deregistered.
    Pruned {
        revisions_deregistered: usize,
    },
}

pub async fn handle(ctx: &Deploy, request: DeployRequest) -> Result<DeployResponse, HandlerError> {
    let targeted = crate::targets::deploy_in(ctx, &request).await?;
    let ctx = targeted.as_ref().unwrap_or(ctx);
    match request {
        DeployRequest::PruneRevisions { release, render } => {
            crate::rollout_prediction::record_measured(ctx, &release, &render).await;
            Ok(crate::retention::prune(ctx, &release).await?)
        }
        DeployRequest::Start {
            release,
            render,
            execution_arn,
        } if !render.services.is_empty() => Ok(DeployResponse::Started(
            crate::deploy_services::start_batch(ctx, &release, &render, &execution_arn).await?,
        )),
        DeployRequest::Start {
            release,
            render,
            execution_arn,
        } => {
            let service = ctx
                .ecs
                .describe_service(&render.cluster, &render.service)
                .await?;
            // Render checked this before the migration; the service may have changed since.
            check_rollout(
                &release.stage,
                &render.service,
                &service,
                &render.rollout,
                &ctx.hook,
            )?;
            let plan = rollout_plan(
                &render.rollout,
                &ctx.hook,
                hook_details(&release, &render.rollout, &render.service),
            );
            let config = with_stage_alarms(
                deployment_configuration(
                    service.deployment_configuration.as_ref(),
                    &plan,
                    Some(&ctx.hook.function_arn),
                ),
                service.deployment_configuration.as_ref(),
                &render.rollout.alarms,
            );
            let predicted = predict_one(ctx, &release, &render, &service, config.as_ref()).await;
            // Only the stage's lock holder may change the service; the lease now covers the rollout.
            let lease = Lease::for_deployment(render.deploy_timeout_seconds);
            fence(&ctx.store, &release, &execution_arn, lease, false).await?;
            let deployment_id = ctx
                .ecs
                .update_service(
                    &render.cluster,
                    &render.service,
                    &render.task_definition_arn,
                    config,
                )
                .await?;
            let strategy = render.rollout.strategy;
            let mut fields = vec![
                ("deployment_id", attr_s(&deployment_id)),
                ("deploy_started_at", attr_s(timestamp(now()))),
                ("strategy", attr_of(&strategy)?),
            ];
            fields.extend(predicted);
            ctx.store
                .set_release_fields(&release.app, &release.stage, &release.release_id, &fields)
                .await?;
            tracing::info!(release_id = %release.release_id, %deployment_id, service = %render.service, ?strategy, "service updated");
            Ok(DeployResponse::Started(StartedDeployment {
                deployment_id,
                cluster: render.cluster,
                service: render.service,
                task_definition_arn: render.task_definition_arn,
                deploy_timeout_seconds: render.deploy_timeout_seconds,
                batch: Vec::new(),
                more_to_start: false,
            }))
        }
        DeployRequest::Wait {
            task_token,
            release,
            deployment,
        } if !deployment.batch.is_empty() => {
            crate::deploy_services::wait_batch(ctx, &release, &deployment, task_token).await?;
            Ok(DeployResponse::Parked { parked: true })
        }
        DeployRequest::Wait {
            task_token,
            release,
            deployment,
        } => {
            let expires_at = now().timestamp() + deployment.deploy_timeout_seconds as i64 + 3600;
            let wait = DeploymentWait {
                task_token,
                app: release.app.clone(),
                stage: release.stage.clone(),
                release_id: release.release_id.clone(),
                cluster: deployment.cluster.clone(),
                service: deployment.service.clone(),
                expires_at,
                group: Vec::new(),
                service_index: None,
                done: None,
                restoring: false,
            };
            ctx.store.put_wait(&deployment.deployment_id, &wait).await?;
            // ECS may have finished before the token was parked; its event then found nothing.
            let service = ctx
                .ecs
                .describe_service(&deployment.cluster, &deployment.service)
                .await?;
            match verdict(
                &service,
                &deployment.deployment_id,
                &deployment.task_definition_arn,
            ) {
                Verdict::InProgress(_) => {}
                finished => {
                    complete_wait(&ctx.store, &ctx.sfn, &deployment.deployment_id, finished).await?
                }
            }
            Ok(DeployResponse::Parked { parked: true })
        }
        DeployRequest::Check {
            release,
            deployment,
        } if !deployment.batch.is_empty() => {
            Ok(crate::deploy_services::check_batch(ctx, &release, &deployment).await?)
        }
        DeployRequest::Check {
            release,
            deployment,
        } => {
            let service = ctx
                .ecs
                .describe_service(&deployment.cluster, &deployment.service)
                .await?;
            // The token is no longer wanted whatever the answer.
            ctx.store.take_wait(&deployment.deployment_id).await?;
            match verdict(&service, &deployment.deployment_id, &deployment.task_definition_arn) {
                Verdict::Completed => {
                    tracing::info!(release_id = %release.release_id, "no event arrived, but ECS reports the deployment completed");
                    Ok(DeployResponse::Outcome { status: "COMPLETED".into(), deployment_id: deployment.deployment_id })
                }
                Verdict::Failed(error) => {
                    Err(explained(&ctx.store, &release.app, &release.stage, &release.release_id, error).await.into())
                }
                Verdict::InProgress(state) => Err(Error::DeploymentTimedOut(format!(
                    "ECS did not finish the deployment within {} s (deploy_timeout_seconds): {state}",
                    deployment.deploy_timeout_seconds
                ))
                .into()),
            }
        }
        DeployRequest::Reconcile {
            release,
            render,
            error,
        } => Ok(crate::recovery::reconcile_release(ctx, &release, &render, &error).await?),
        DeployRequest::PointSchedules {
            release,
            render,
            execution_arn,
        } => Ok(crate::schedules::point_schedules(ctx, &release, &render, &execution_arn).await?),
        DeployRequest::Restore {
            release,
            render,
            error,
            execution_arn,
        } => Ok(
            crate::recovery::restore_previous(ctx, &release, &render, &error, &execution_arn)
                .await?,
        ),
    }
}

/// Completes the parked token for a finished deployment, if nobody has yet.
pub(crate) async fn complete_wait(
    store: &Store,
    sfn: &StepFunctions,
    deployment_id: &str,
    finished: Verdict,
) -> Result<(), Error> {
    let wait = match store.take_single_wait(deployment_id).await? {
        TakenWait::Single(wait) => wait,
        TakenWait::GroupMember => {
            return crate::deploy_services::complete_group_member(
                store,
                sfn,
                deployment_id,
                finished,
            )
            .await
        }
        TakenWait::None => {
            tracing::info!(%deployment_id, "no waiting release for this deployment (not ours, or already completed)");
            return Ok(());
        }
    };
    match finished {
        Verdict::Completed => {
            let output = serde_json::json!({"status": "COMPLETED", "deployment_id": deployment_id});
            sfn.send_task_success(&wait.task_token, &output).await?;
            tracing::info!(release_id = %wait.release_id, %deployment_id, "deployment completed");
        }
        Verdict::Failed(error) => {
            let error = explained(store, &wait.app, &wait.stage, &wait.release_id, error).await;
            sfn.send_task_failure(&wait.task_token, error.error_type(), &error.to_string())
                .await?;
            tracing::warn!(release_id = %wait.release_id, %deployment_id, error = %error, "deployment failed");
        }
        Verdict::InProgress(_) => {}
    }
    Ok(())
}

/// What Stevedore's hook needs in `hookDetails` (see `traffic_hook::hook_details`).
pub(crate) fn hook_details(
    release: &ReleaseSpec,
    rollout: &RolloutSpec,
    service: &str,
) -> serde_json::Value {
    crate::traffic_hook::hook_details(release, rollout, service)
}

/// A failed deployment's error, led by the smoke test's reason when that is what failed it.
pub(crate) async fn explained(
    store: &Store,
    app: &str,
    stage: &str,
    release_id: &str,
    error: Error,
) -> Error {
    match store.get_release(app, stage, release_id).await {
        Ok(Some(release)) => explain_failure(
            error,
            release.smoke_test_status.as_deref(),
            release.smoke_test_reason.as_deref(),
        ),
        Ok(None) => error,
        Err(e) => {
            tracing::warn!(%release_id, error = %e, "could not read the release for its smoke test result");
            error
        }
    }
}

#[cfg(test)]
#[path = "deploy_tests.rs"]
mod tests;
