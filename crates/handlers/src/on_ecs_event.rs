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
use crate::verdict::Verdict;
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
            // Whether ECS rolls back is the service's circuit-breaker setting.
            let rolled_back = match service_of(&event) {
                Some((cluster, service)) => ctx
                    .ecs
                    .describe_service(&cluster, &service)
                    .await
                    .map(|s| s.rolls_back_failures)
                    .unwrap_or(false),
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
    Ok(serde_json::json!({"deployment_id": detail.deployment_id, "outcome": outcome}))
}

/// A deployment starting on a service where a release waits for another one: someone
/// (or something) else updated the service mid-deploy. ECS's own circuit-breaker rollback
/// also starts a deployment, but only after failing ours, which already took the token.
async fn notice_foreign_deployment(
    ctx: &OnEcsEvent,
    event: &EventBridgeEvent<DeploymentStateChange>,
) -> Result<(), Error> {
    let detail = &event.detail;
    let rollback = detail
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("circuit breaker"));
    let Some((cluster, service)) = service_of(event) else {
        return Ok(());
    };
    let Some(waiting_for) = ctx.store.service_wait(&cluster, &service).await? else {
        return Ok(());
    };
    if rollback || waiting_for == detail.deployment_id {
        return Ok(());
    }
    let replaced = Verdict::Failed(Error::DeploymentReplaced(format!(
        "another deployment ({}) started on service `{service}` while this release's deployment {waiting_for} was rolling out: someone else updated the service mid-deploy; deploy again once they are done",
        detail.deployment_id
    )));
    complete_wait(&ctx.store, &ctx.sfn, &waiting_for, replaced).await
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
