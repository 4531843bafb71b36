//! Every sample in `events/` is the input of a function or of the deploy state machine;
//! these tests keep the samples and the request types in step. The AWS events (ECR, ECS,
//! Step Functions, the lifecycle hook payload) are shaped as AWS's documentation shows them
//! (`events/README.md` cites the pages), and are parsed here with the very types the
//! functions use.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::de::DeserializeOwned;
use stevedore_core::ecr_event::{decide_push, EcrImageAction, PushDecision};
use stevedore_core::ecs_event::{deployment_outcome, DeploymentOutcome, DeploymentStateChange};
use stevedore_core::smoke::{HookContext, SMOKE_TEST_STAGE};
use stevedore_handlers::approve::{ApproveRequest, Decision};
use stevedore_handlers::deploy::DeployRequest;
use stevedore_handlers::execution_ended::ExecutionStatusChange;
use stevedore_handlers::lifecycle_hook::HookInvocation as LifecycleHookInvocation;
use stevedore_handlers::migrate::MigrateRequest;
use stevedore_handlers::promote::PromoteRequest;
use stevedore_handlers::record::RecordRequest;
use stevedore_handlers::render::RenderRequest;
use stevedore_handlers::rollback::RollbackRequest;
use stevedore_handlers::ReleaseSpec;

fn sample<T: DeserializeOwned>(name: &str) -> T {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} does not parse: {e}"))
}

#[test]
fn ecr_push_sample_is_a_deployable_push() {
    let event: EventBridgeEvent<EcrImageAction> = sample("ecr-push.json");
    assert_eq!(event.detail_type, "ECR Image Action");
    assert_eq!(event.source, "aws.ecr");
    assert_eq!(event.account.as_deref(), Some("123456789012"));
    match decide_push(&event.detail) {
        PushDecision::Deploy {
            repository,
            tag,
            digest,
        } => {
            assert_eq!(repository, "backend");
            assert_eq!(tag, "develop-1a2b3c4");
            assert!(digest.starts_with("sha256:5f0b5b1c"), "{digest}");
        }
        PushDecision::Ignore(why) => panic!("sample push ignored: {why}"),
    }
}

fn ecs_sample(name: &str) -> EventBridgeEvent<DeploymentStateChange> {
    let event: EventBridgeEvent<DeploymentStateChange> = sample(name);
    assert_eq!(event.detail_type, "ECS Deployment State Change");
    assert_eq!(event.source, "aws.ecs");
    assert_eq!(
        event.resources.as_deref(),
        Some(&["arn:aws:ecs:us-east-1:123456789012:service/demo/backend-staging".to_string()][..])
    );
    event
}

#[test]
fn ecs_samples_progress_complete_fail_and_roll_back() {
    let started = ecs_sample("ecs-deployment-in-progress.json");
    assert_eq!(started.detail.event_type, "INFO");
    assert_eq!(started.detail.deployment_id, "ecs-svc/1234567890123456789");
    assert_eq!(
        deployment_outcome(&started.detail),
        DeploymentOutcome::InProgress
    );
    let done = ecs_sample("ecs-deployment-completed.json");
    assert_eq!(
        deployment_outcome(&done.detail),
        DeploymentOutcome::Completed
    );
    let failed = ecs_sample("ecs-deployment-failed.json");
    assert_eq!(failed.detail.event_type, "ERROR");
    assert_eq!(
        deployment_outcome(&failed.detail),
        DeploymentOutcome::Failed {
            reason: "ECS deployment circuit breaker: tasks failed to start.".into()
        }
    );
    // ECS documents a circuit-breaker rollback as a new deployment IN_PROGRESS whose reason
    // names the deployment it rolls back to (there is no separate rollback event name).
    let rollback = ecs_sample("ecs-deployment-rollback.json");
    assert_eq!(rollback.detail.event_name, "SERVICE_DEPLOYMENT_IN_PROGRESS");
    assert_ne!(rollback.detail.deployment_id, failed.detail.deployment_id);
    assert_eq!(
        deployment_outcome(&rollback.detail),
        DeploymentOutcome::InProgress
    );
    assert!(rollback.detail.reason.as_deref().is_some_and(
        |r| r.starts_with("ECS deployment circuit breaker: rolling back to deploymentId ")
    ));
}

#[test]
fn step_functions_samples_are_abnormal_ends_of_a_release() {
    let release: ReleaseSpec = sample("deploy-input.json");
    for (name, status) in [
        ("sfn-execution-failed.json", "FAILED"),
        ("sfn-execution-aborted.json", "ABORTED"),
    ] {
        // As record parses it: the event by its detail-type, then its detail.
        let event: serde_json::Value = sample(name);
        assert_eq!(
            event["detail-type"],
            "Step Functions Execution Status Change"
        );
        assert_eq!(event["source"], "aws.states");
        let change: ExecutionStatusChange =
            serde_json::from_value(event["detail"].clone()).expect("a status change");
        assert_eq!(change.status, status);
        assert!(change.execution_arn.ends_with(&release.release_id));
        assert!(change.input_details.is_some_and(|d| d.included));
        // As documented, the event carries no error or cause (the function reads them with
        // DescribeExecution); the input is the release itself.
        assert_eq!((change.error, change.cause), (None, None));
        let input: ReleaseSpec =
            serde_json::from_str(change.input.as_deref().expect("input")).expect("a release");
        assert_eq!(input, release);
    }
}

#[test]
fn state_machine_and_function_samples_parse() {
    let input: ReleaseSpec = sample("deploy-input.json");
    assert_eq!(input.stage, "staging");
    let render: RenderRequest = sample("render.json");
    assert_eq!(render.release, input);
    assert!(matches!(
        sample::<MigrateRequest>("migrate-check.json"),
        MigrateRequest::Check { .. }
    ));
    assert!(matches!(
        sample::<MigrateRequest>("migrate-explain.json"),
        MigrateRequest::Explain { .. }
    ));
    assert!(matches!(
        sample::<MigrateRequest>("migrate-stop.json"),
        MigrateRequest::Stop { .. }
    ));
    match sample::<MigrateRequest>("migrate-explain-build.json") {
        MigrateRequest::ExplainBuild { render, .. } => {
            let plan = render.build_migration.expect("a CodeBuild migration");
            assert_eq!(plan.project, "backend-migrate");
        }
        other => panic!("expected explain_build, got {other:?}"),
    }
    let hook: LifecycleHookInvocation = sample("deployment-hook.json");
    assert_eq!(hook.lifecycle_stage.as_deref(), Some(SMOKE_TEST_STAGE));
    assert_eq!(
        hook.execution_id.as_deref(),
        Some("4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d")
    );
    let context: HookContext =
        serde_json::from_value(hook.hook_details.expect("hookDetails")).expect("a HookContext");
    assert_eq!(context.stage, "production");
    assert!(matches!(
        sample::<DeployRequest>("deploy-start.json"),
        DeployRequest::Start { .. }
    ));
    // A multi-service stage: every service, the rollout order and the schedules travel in
    // `render`; the schedules move once every service completed.
    let DeployRequest::Start { render, .. } = sample::<DeployRequest>("deploy-start-services.json")
    else {
        panic!("deploy-start-services.json is a start");
    };
    assert_eq!(render.services.len(), 2);
    assert_eq!(render.services[1].service, "backend-worker-staging");
    assert_eq!(
        render.rollout_order,
        stevedore_core::config::RolloutOrder::Sequential
    );
    assert_eq!(
        render.schedules[0].target.to_string(),
        "schedule default/backend-nightly-staging"
    );
    assert!(matches!(
        sample::<DeployRequest>("deploy-point-schedules.json"),
        DeployRequest::PointSchedules { .. }
    ));
    assert!(matches!(
        sample::<DeployRequest>("deploy-prune-revisions.json"),
        DeployRequest::PruneRevisions { .. }
    ));
    assert!(matches!(
        sample::<DeployRequest>("deploy-wait.json"),
        DeployRequest::Wait { .. }
    ));
    assert!(matches!(
        sample::<DeployRequest>("deploy-check.json"),
        DeployRequest::Check { .. }
    ));
    assert!(matches!(
        sample::<RecordRequest>("record-acquire-lock.json"),
        RecordRequest::AcquireLock { .. }
    ));
    assert!(matches!(
        sample::<RecordRequest>("record-succeed.json"),
        RecordRequest::Succeed { .. }
    ));
    let approve: ApproveRequest = sample("approve.json");
    assert_eq!(approve.decision, Decision::Approve);
    let promote: PromoteRequest = sample("promote.json");
    assert_eq!(
        (promote.from.as_str(), promote.to.as_str()),
        ("staging", "production")
    );
    let rollback: RollbackRequest = sample("rollback.json");
    assert_eq!((rollback.app.as_str(), rollback.release), ("backend", None));
    assert!(matches!(
        sample::<RecordRequest>("record-fail.json"),
        RecordRequest::Fail { .. }
    ));
}
