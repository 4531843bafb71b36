//! on-ecs-event: `ECS Deployment State Change` events complete the deploy state machine's
//! parked task token: success on SERVICE_DEPLOYMENT_COMPLETED of our deployment, failure
//! (rolled back or not) on SERVICE_DEPLOYMENT_FAILED.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;
use stevedore_aws::{Ecs, StepFunctions, Store};
use stevedore_core::ecs_event::{
    classify_failed_deployment, deployment_outcome, DeploymentOutcome, DeploymentStateChange,
};
use stevedore_core::Error;

use crate::deploy::complete_wait;
use crate::verdict::{foreign_deployment, Verdict};
use crate::HandlerError;

pub struct OnEcsEvent {
    pub store: Store,
    pub ecs: Ecs,
    pub sfn: StepFunctions,
}

pub async fn handle(ctx: &OnEcsEvent, event: Value) -> Result<Value, HandlerError> {
    let event: EventBridgeEvent<DeploymentStateChange> = match serde_json::from_value(event) {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(error = %e, "not an ECS Deployment State Change event; ignored");
            return Ok(serde_json::json!({"ignored": e.to_string()}));
        }
    };
    let detail = &event.detail;
    let finished = match deployment_outcome(detail) {
        DeploymentOutcome::InProgress => {
            tracing::info!(deployment_id = %detail.deployment_id, event = %detail.event_name, "deployment in progress");
            notice_foreign_deployment(ctx, &event).await?;
            return Ok(
                serde_json::json!({"deployment_id": detail.deployment_id, "outcome": "IN_PROGRESS"}),
            );
        }
        DeploymentOutcome::Completed => Verdict::Completed,
        DeploymentOutcome::Failed { reason } => {
            // Whether ECS rolls back is the service's setting (circuit breaker, alarms,
            // strategy). Not knowing it must not restore on top of ECS's own rollback: a
            // failed read fails the invocation, to be retried.
            let rolled_back = match service_of(&event) {
                Some((cluster, service)) => {
                    match ctx.ecs.describe_service(&cluster, &service).await {
                        Ok(s) => s.rolls_back_failures,
                        Err(Error::ServiceNotFound(_)) => false,
                        Err(e) => return Err(e.into()),
                    }
                }
                None => false,
            };
            Verdict::Failed(classify_failed_deployment(rolled_back, &reason))
        }
    };
    let outcome = match &finished {
        Verdict::Completed => "COMPLETED",
        _ => "FAILED",
    };
    complete_wait(&ctx.store, &ctx.sfn, &detail.deployment_id, finished).await?;
    // Another deployment's end (an ECS rollback's COMPLETED when ours' FAILED was lost).
    notice_foreign_deployment(ctx, &event).await?;
    Ok(serde_json::json!({"deployment_id": detail.deployment_id, "outcome": outcome}))
}

/// A deployment starting on a service where a release waits for another one: ECS rolling
/// ours back (circuit breaker, alarms, a blue/green hook), or someone else updating the
/// service mid-deploy; the service's state tells which (see [`foreign_deployment`]).
async fn notice_foreign_deployment(
    ctx: &OnEcsEvent,
    event: &EventBridgeEvent<DeploymentStateChange>,
) -> Result<(), Error> {
    let detail = &event.detail;
    let Some((cluster, service)) = service_of(event) else {
        return Ok(());
    };
    let Some(waiting_for) = ctx.store.service_wait(&cluster, &service).await? else {
        return Ok(());
    };
    if waiting_for == detail.deployment_id {
        return Ok(());
    }
    let state = ctx.ecs.describe_service(&cluster, &service).await?;
    match foreign_deployment(&state, &waiting_for, detail.reason.as_deref()) {
        Some(finished) => complete_wait(&ctx.store, &ctx.sfn, &waiting_for, finished).await,
        None => {
            tracing::info!(%waiting_for, other = %detail.deployment_id, "another deployment's event while ours still leads; waiting");
            Ok(())
        }
    }
}

/// (cluster, service) from the event's service ARN `arn:aws:ecs:<region>:<account>:service/<cluster>/<service>`.
fn service_of<T: serde::Serialize + serde::de::DeserializeOwned>(
    event: &EventBridgeEvent<T>,
) -> Option<(String, String)> {
    let arn = event
        .resources
        .as_ref()?
        .iter()
        .find(|r| r.contains(":service/"))?;
    let path = arn.split_once(":service/")?.1;
    let (cluster, service) = path.split_once('/')?;
    Some((cluster.to_string(), service.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cluster_and_service_from_the_event_resources() {
        let event: EventBridgeEvent<Value> = serde_json::from_value(serde_json::json!({
            "detail-type": "ECS Deployment State Change", "source": "aws.ecs",
            "resources": ["arn:aws:ecs:us-east-1:123456789012:service/demo/backend-staging"],
            "detail": {}
        }))
        .expect("event parses");
        assert_eq!(
            service_of(&event),
            Some(("demo".into(), "backend-staging".into()))
        );
    }
}
