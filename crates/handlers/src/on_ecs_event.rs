//! on-ecs-event: `ECS Deployment State Change` events complete the deploy state machine's
//! parked task token: success on SERVICE_DEPLOYMENT_COMPLETED of our deployment, failure
//! (rolled back or not) on SERVICE_DEPLOYMENT_FAILED.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;
use stevedore_aws::{Ecs, StepFunctions, Store};
use stevedore_core::ecs_event::{
    classify_failed_deployment, deployment_outcome, parse_service_arn, DeploymentOutcome,
    DeploymentStateChange, Home, ServiceArn,
};
use stevedore_core::Error;

use crate::alarm_reason::with_alarm_names;
use crate::deploy::complete_wait;
use crate::verdict::{foreign_deployment, Verdict};
use crate::HandlerError;

pub struct OnEcsEvent {
    pub store: Store,
    pub ecs: Ecs,
    pub sfn: StepFunctions,
    pub home: Home,
}

/// `ctx.home` is the account and region this stack runs in: ECS events of another account or
/// region (a rule forwarding another bus's events) are not this stack's deployments, whatever
/// their deployment ids say, and are ignored.
pub async fn handle(ctx: &OnEcsEvent, event: Value) -> Result<Value, HandlerError> {
    let event: EventBridgeEvent<DeploymentStateChange> = match serde_json::from_value(event) {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(error = %e, "not an ECS Deployment State Change event; ignored");
            return Ok(serde_json::json!({"ignored": e.to_string()}));
        }
    };
    let service = service_of(&event);
    if let Some(why) = ctx.home.foreign(
        event.account.as_deref(),
        event.region.as_deref(),
        service.as_ref(),
    ) {
        tracing::info!(deployment_id = %event.detail.deployment_id, %why, "ECS event of another account or region; ignored");
        return Ok(serde_json::json!({"ignored": why}));
    }
    let detail = &event.detail;
    let finished = match deployment_outcome(detail) {
        DeploymentOutcome::InProgress => {
            tracing::info!(deployment_id = %detail.deployment_id, event = %detail.event_name, "deployment in progress");
            notice_foreign_deployment(ctx, &event, service.as_ref()).await?;
            return Ok(
                serde_json::json!({"deployment_id": detail.deployment_id, "outcome": "IN_PROGRESS"}),
            );
        }
        DeploymentOutcome::Completed => Verdict::Completed,
        DeploymentOutcome::Failed { reason } => {
            // Whether ECS rolls back is the service's setting (circuit breaker, alarms,
            // strategy). Not knowing it must not restore on top of ECS's own rollback: a
            // failed read fails the invocation, to be retried. A legacy short service ARN
            // names no cluster: the waiting release knows it.
            let cluster = match service.as_ref().and_then(|s| s.cluster.clone()) {
                Some(cluster) => Some(cluster),
                None => ctx
                    .store
                    .peek_wait(&detail.deployment_id)
                    .await?
                    .map(|wait| wait.cluster),
            };
            let rolled_back = match (&cluster, service.as_ref()) {
                (Some(cluster), Some(service)) => {
                    match ctx.ecs.describe_service(cluster, &service.service).await {
                        Ok(s) => s.rolls_back_failures,
                        Err(Error::ServiceNotFound(_)) => false,
                        Err(e) => return Err(e.into()),
                    }
                }
                _ => false,
            };
            let verdict = Verdict::Failed(classify_failed_deployment(rolled_back, &reason));
            match (&cluster, service.as_ref()) {
                (Some(cluster), Some(service)) => {
                    with_alarm_names(&ctx.ecs, cluster, &service.service, verdict).await
                }
                _ => verdict,
            }
        }
    };
    let outcome = match &finished {
        Verdict::Completed => "COMPLETED",
        _ => "FAILED",
    };
    complete_wait(&ctx.store, &ctx.sfn, &detail.deployment_id, finished).await?;
    // Another deployment's end (an ECS rollback's COMPLETED when ours' FAILED was lost).
    notice_foreign_deployment(ctx, &event, service.as_ref()).await?;
    Ok(serde_json::json!({"deployment_id": detail.deployment_id, "outcome": outcome}))
}

/// A deployment starting on a service where a release waits for another one: ECS rolling
/// ours back (circuit breaker, alarms, a blue/green hook), or someone else updating the
/// service mid-deploy; the service's state tells which (see [`foreign_deployment`]).
async fn notice_foreign_deployment(
    ctx: &OnEcsEvent,
    event: &EventBridgeEvent<DeploymentStateChange>,
    service: Option<&ServiceArn>,
) -> Result<(), Error> {
    let detail = &event.detail;
    // A legacy short ARN names no cluster, so the waiting release cannot be found by service;
    // its own deployment's events still complete it by deployment id.
    let Some((cluster, service)) = service.and_then(|s| Some((s.cluster.clone()?, &s.service)))
    else {
        return Ok(());
    };
    let Some(waiting_for) = ctx.store.service_wait(&cluster, service).await? else {
        return Ok(());
    };
    if waiting_for == detail.deployment_id {
        return Ok(());
    }
    let state = ctx.ecs.describe_service(&cluster, service).await?;
    match foreign_deployment(&state, &waiting_for, detail.reason.as_deref()) {
        Some(finished) => {
            let finished = with_alarm_names(&ctx.ecs, &cluster, service, finished).await;
            complete_wait(&ctx.store, &ctx.sfn, &waiting_for, finished).await
        }
        None => {
            tracing::info!(%waiting_for, other = %detail.deployment_id, "another deployment's event while ours still leads; waiting");
            Ok(())
        }
    }
}

/// The service of the event's resources (a long or a legacy short service ARN).
fn service_of<T: serde::Serialize + serde::de::DeserializeOwned>(
    event: &EventBridgeEvent<T>,
) -> Option<ServiceArn> {
    event
        .resources
        .as_ref()?
        .iter()
        .find_map(|r| parse_service_arn(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_naming(resource: &str) -> EventBridgeEvent<Value> {
        serde_json::from_value(serde_json::json!({
            "detail-type": "ECS Deployment State Change", "source": "aws.ecs",
            "resources": [resource], "detail": {}
        }))
        .expect("event parses")
    }

    #[test]
    fn reads_cluster_and_service_from_the_event_resources() {
        let event = event_naming("arn:aws:ecs:us-east-1:123456789012:service/demo/backend-staging");
        let service = service_of(&event).expect("a service ARN");
        assert_eq!(service.cluster.as_deref(), Some("demo"));
        assert_eq!(service.service, "backend-staging");
        assert_eq!(service.account, "123456789012");
    }

    #[test]
    fn understands_a_legacy_short_service_arn() {
        let event = event_naming("arn:aws:ecs:us-east-1:123456789012:service/backend-staging");
        let service = service_of(&event).expect("a legacy service ARN");
        assert_eq!(service.cluster, None);
        assert_eq!(service.service, "backend-staging");
    }
}
