//! Every sample in `events/` is the input of a function or of the deploy state machine;
//! these tests keep the samples and the request types in step.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::de::DeserializeOwned;
use stevedore_core::ecr_event::{decide_push, EcrImageAction, PushDecision};
use stevedore_core::ecs_event::{deployment_outcome, DeploymentOutcome, DeploymentStateChange};
use stevedore_core::smoke::{HookContext, SMOKE_TEST_STAGE};
use stevedore_handlers::approve::{ApproveRequest, Decision};
use stevedore_handlers::deploy::DeployRequest;
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
    match decide_push(&event.detail) {
        PushDecision::Deploy {
            repository, tag, ..
        } => {
            assert_eq!(repository, "backend");
            assert_eq!(tag, "develop-1a2b3c4");
        }
        PushDecision::Ignore(why) => panic!("sample push ignored: {why}"),
    }
}

#[test]
fn ecs_samples_complete_and_fail() {
    let done: EventBridgeEvent<DeploymentStateChange> = sample("ecs-deployment-completed.json");
    assert_eq!(
        deployment_outcome(&done.detail),
        DeploymentOutcome::Completed
    );
    let failed: EventBridgeEvent<DeploymentStateChange> = sample("ecs-deployment-failed.json");
    assert!(matches!(
        deployment_outcome(&failed.detail),
        DeploymentOutcome::Failed { .. }
    ));
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
    let context: HookContext =
        serde_json::from_value(hook.hook_details.expect("hookDetails")).expect("a HookContext");
    assert_eq!(context.stage, "production");
    assert!(matches!(
        sample::<DeployRequest>("deploy-start.json"),
        DeployRequest::Start { .. }
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
