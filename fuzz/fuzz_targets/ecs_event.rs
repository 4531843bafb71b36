//! ECS `ECS Deployment State Change` events: arbitrary bytes, and structured mutations of
//! valid events, through the parse, deployment_outcome and classify_failed_deployment.
#![no_main]

use arbitrary::Unstructured;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use stevedore_core::ecs_event::{
    classify_failed_deployment, deployment_outcome, DeploymentOutcome, DeploymentStateChange,
};
use stevedore_core::Error;
use stevedore_fuzz::mutate_event;

const COMPLETED: &str = include_str!("../../events/ecs-deployment-completed.json");
const FAILED: &str = include_str!("../../events/ecs-deployment-failed.json");

fn check(bytes: &[u8]) {
    let Ok(event) = serde_json::from_slice::<EventBridgeEvent<DeploymentStateChange>>(bytes) else {
        return;
    };
    let detail = &event.detail;
    match deployment_outcome(detail) {
        DeploymentOutcome::Completed => {
            assert_eq!(detail.event_name, "SERVICE_DEPLOYMENT_COMPLETED")
        }
        DeploymentOutcome::InProgress => assert!(!matches!(
            detail.event_name.as_str(),
            "SERVICE_DEPLOYMENT_COMPLETED" | "SERVICE_DEPLOYMENT_FAILED"
        )),
        DeploymentOutcome::Failed { reason } => {
            assert_eq!(detail.event_name, "SERVICE_DEPLOYMENT_FAILED");
            assert!(!reason.trim().is_empty());
            for rolled_back in [false, true] {
                match classify_failed_deployment(rolled_back, &reason) {
                    Error::DeploymentRolledBack(message) | Error::DeploymentFailed(message) => {
                        assert!(message.contains(&reason))
                    }
                    other => panic!("unexpected classification {other:?}"),
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);

    let mut u = Unstructured::new(data);
    let seed = if u.arbitrary().unwrap_or(false) {
        FAILED
    } else {
        COMPLETED
    };
    let mut event: Value = serde_json::from_str(seed).expect("seed event is JSON");
    let detail_fields: &[(&str, &[&str])] = &[
        ("eventType", &["INFO", "ERROR", "WARN"]),
        (
            "eventName",
            &[
                "SERVICE_DEPLOYMENT_COMPLETED",
                "SERVICE_DEPLOYMENT_FAILED",
                "SERVICE_DEPLOYMENT_IN_PROGRESS",
            ],
        ),
        ("deploymentId", &["ecs-svc/1234567890123456789", ""]),
        ("updatedAt", &["2026-11-21T12:02:58Z", ""]),
        ("reason", &["", " ", "\n\t", "circuit breaker"]),
    ];
    if mutate_event(&mut u, &mut event, detail_fields).is_ok() {
        check(&serde_json::to_vec(&event).expect("a Value serializes"));
    }
});
