//! on-ecs-event: `ECS Deployment State Change` events complete the deploy state machine's
//! parked task token: success on SERVICE_DEPLOYMENT_COMPLETED of our deployment, failure
//! (rolled back or not) on SERVICE_DEPLOYMENT_FAILED.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;
use stevedore_aws::{Ecs, StepFunctions, Store};
use stevedore_core::ecs_event::{
    classify_failed_deployment, deployment_outcome, DeploymentOutcome, DeploymentStateChange,
};

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
                    .map(|s| s.circuit_breaker_rollback)
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
