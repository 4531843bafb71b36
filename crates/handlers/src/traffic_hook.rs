//! Stevedore's lifecycle hook on a linear or canary deployment: where it is registered, what
//! it is handed, and what it does at the traffic stages.
//!
//! - PRE_SCALE_UP: the new revision is the target and has no production traffic yet; the
//!   hook records it (a 0 % entry of `traffic_steps`), so a later invocation can be told
//!   apart from a rollback's.
//! - PRODUCTION_TRAFFIC_SHIFT, "invoked at every traffic shift step" of a linear or canary
//!   deployment (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html>):
//!   a forward step (the new revision's production share rose, `traffic::classify`) is
//!   recorded, and with `smoke_test.each_step` the smoke test runs again (FAILED makes ECS
//!   roll back). ECS runs these hooks again during a rollback; such invocations are answered
//!   SUCCEEDED without a record or a check: their answer changes nothing.

use stevedore_aws::ecs::DeploymentLifecycleHookStage;
use stevedore_aws::store::attr_of;
use stevedore_core::smoke::HookContext;
use stevedore_core::traffic::{
    classify, last_step, target_weight, StepKind, TrafficStep, START_STAGE,
};
use stevedore_core::Release;

use crate::lifecycle_hook::{
    record_on_release, smoke_attempt, DeploymentHook, HookInvocation, HookResponse,
};
use crate::runtime::{now, timestamp};
use crate::{ReleaseSpec, RolloutSpec};

/// The stages Stevedore's hook is registered at on a linear or canary service.
pub(crate) fn hook_stages(smoke_test: bool) -> Vec<DeploymentLifecycleHookStage> {
    let mut stages = vec![DeploymentLifecycleHookStage::PreScaleUp];
    if smoke_test {
        stages.push(DeploymentLifecycleHookStage::PostTestTrafficShift);
    }
    stages.push(DeploymentLifecycleHookStage::ProductionTrafficShift);
    stages
}

/// What Stevedore's hook needs in `hookDetails`: the release, the service and its smoke
/// test. Null when the hook has nothing to do (blue/green without a smoke test).
pub(crate) fn hook_details(
    release: &ReleaseSpec,
    rollout: &RolloutSpec,
    service: &str,
) -> serde_json::Value {
    if rollout.smoke_test.is_none() && !rollout.strategy.shifts_in_steps() {
        return serde_json::Value::Null;
    }
    serde_json::to_value(HookContext {
        app: release.app.clone(),
        stage: release.stage.clone(),
        release_id: release.release_id.clone(),
        smoke_test: rollout.smoke_test.clone(),
        service: Some(service.to_string()),
        attempts_made: 0,
    })
    .unwrap_or_default()
}

/// The answer at PRE_SCALE_UP or PRODUCTION_TRAFFIC_SHIFT for a release still deploying
/// (`release` None: it could not be read).
pub(crate) async fn on_traffic_stage(
    ctx: &DeploymentHook,
    stage: &str,
    invocation: &HookInvocation,
    context: &HookContext,
    release: Option<&Release>,
) -> HookResponse {
    let succeeded = HookResponse::status("SUCCEEDED");
    let Some((target, percent)) = target_weight(invocation.execution_details.as_ref()) else {
        tracing::warn!(release_id = %context.release_id, %stage, "no target revision weight in executionDetails; nothing to record");
        return succeeded;
    };
    let steps = release.map_or(&[][..], |r| r.traffic_steps.as_slice());
    let service = context.service.as_deref();
    if stage == START_STAGE {
        if last_step(steps, service).is_some_and(|s| s.revision.as_deref() == Some(&target)) {
            return succeeded; // invoked again
        }
        record(ctx, context, stage, &target, percent).await;
        return succeeded;
    }
    let each_step = context.smoke_test.as_ref().filter(|smoke| smoke.each_step);
    let kind = classify(steps, service, &target, percent);
    match kind {
        StepKind::NotForward => {
            tracing::info!(release_id = %context.release_id, %target, percent, "not a forward traffic step (a rollback's); answering SUCCEEDED");
            return succeeded;
        }
        StepKind::Forward => record(ctx, context, stage, &target, percent).await,
        StepKind::Same => {}
    }
    // At a new step the smoke test starts; at the same step again (our IN_PROGRESS answer
    // brought ECS back) it goes on only if it had started.
    let smoke_runs = kind == StepKind::Forward || context.attempts_made > 0;
    match each_step {
        Some(smoke) if smoke_runs => {
            smoke_attempt(
                ctx,
                context,
                smoke,
                invocation.execution_id.as_deref(),
                Some(percent),
            )
            .await
        }
        _ => succeeded,
    }
}

/// Appends the step to the release's `traffic_steps`; a failed write is logged, not fatal
/// (the answer to ECS matters more).
async fn record(
    ctx: &DeploymentHook,
    context: &HookContext,
    stage: &str,
    target: &str,
    percent: f64,
) {
    let step = TrafficStep {
        percent,
        lifecycle_stage: stage.to_string(),
        at: timestamp(now()),
        revision: Some(target.to_string()),
        service: context.service.clone(),
    };
    let item = attr_of(&step);
    if record_on_release(
        ctx,
        context,
        "traffic_steps",
        "traffic_step_count",
        item,
        &[],
    )
    .await
    {
        tracing::info!(release_id = %context.release_id, service = ?context.service, %stage, percent, "traffic step recorded");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stevedore_core::config::Strategy;

    fn release() -> ReleaseSpec {
        serde_json::from_value(serde_json::json!({
            "release_id": "01JREL", "app": "backend", "stage": "production", "repository": "backend",
            "digest": "sha256:ab", "tag": "v1", "image_uri": "r/backend@sha256:ab", "trigger": "push"
        }))
        .expect("release")
    }

    #[test]
    fn linear_hooks_get_a_context_even_without_a_smoke_test() {
        let linear = RolloutSpec {
            strategy: Strategy::Linear,
            ..RolloutSpec::default()
        };
        let details = hook_details(&release(), &linear, "web");
        let context: HookContext = serde_json::from_value(details).expect("a context");
        assert_eq!(context.service.as_deref(), Some("web"));
        assert_eq!(context.smoke_test, None);
        let blue_green = RolloutSpec {
            strategy: Strategy::BlueGreen,
            ..RolloutSpec::default()
        };
        assert_eq!(
            hook_details(&release(), &blue_green, "web"),
            serde_json::Value::Null
        );
    }

    /// A hook whose store and probe fail the test if used (no endpoint answers).
    fn offline_hook() -> DeploymentHook {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        DeploymentHook {
            store: stevedore_aws::Store::from_sdk(&sdk, "unused"),
            probe: crate::smoke_probe::SmokeProbe::new().expect("probe"),
        }
    }

    const GREEN: &str = "arn:aws:ecs:us-east-1:1:service-revision/c/web/2";
    const BLUE: &str = "arn:aws:ecs:us-east-1:1:service-revision/c/web/1";

    fn invocation(stage: &str, target: &str, green_percent: u32) -> HookInvocation {
        serde_json::from_value(serde_json::json!({
            "lifecycleStage": stage,
            "executionDetails": {"targetServiceRevisionArn": target,
                "productionTrafficWeights": {GREEN: green_percent, BLUE: 100 - green_percent}}
        }))
        .expect("invocation")
    }

    #[tokio::test]
    async fn rollback_invocations_and_repeated_starts_answer_succeeded_without_a_write() {
        let hook = offline_hook();
        let mut record = Release::new_pending(release(), now());
        let step = |percent, stage: &str| TrafficStep {
            percent,
            lifecycle_stage: stage.into(),
            at: "t".into(),
            revision: Some(GREEN.into()),
            service: Some("web".into()),
        };
        record.traffic_steps = vec![
            step(0.0, START_STAGE),
            step(34.0, "PRODUCTION_TRAFFIC_SHIFT"),
        ];
        let mut context: HookContext = serde_json::from_value(hook_details(
            &release(),
            &RolloutSpec {
                strategy: Strategy::Linear,
                smoke_test: Some(stevedore_core::config::SmokeTest {
                    test_url: "http://127.0.0.1:9/healthz".into(),
                    expect_status: 200,
                    attempts: 2,
                    interval_seconds: 1,
                    timeout_seconds: 1,
                    each_step: true,
                }),
                ..RolloutSpec::default()
            },
            "web",
        ))
        .expect("context");
        let answer = |stage: &'static str, target: &'static str, percent, context: HookContext| {
            let (hook, record) = (&hook, &record);
            async move {
                on_traffic_stage(
                    hook,
                    stage,
                    &invocation(stage, target, percent),
                    &context,
                    Some(record),
                )
                .await
            }
        };
        let rollback_to_blue = answer("PRODUCTION_TRAFFIC_SHIFT", BLUE, 0, context.clone()).await;
        assert_eq!(rollback_to_blue, HookResponse::status("SUCCEEDED"));
        let green_drained = answer("PRODUCTION_TRAFFIC_SHIFT", GREEN, 0, context.clone()).await;
        assert_eq!(green_drained, HookResponse::status("SUCCEEDED"));
        // The step already recorded, invoked again without our IN_PROGRESS: nothing to do.
        let again = answer("PRODUCTION_TRAFFIC_SHIFT", GREEN, 34, context.clone()).await;
        assert_eq!(again, HookResponse::status("SUCCEEDED"));
        let restarted = answer(START_STAGE, GREEN, 0, context.clone()).await;
        assert_eq!(restarted, HookResponse::status("SUCCEEDED"));
        // No target weight: nothing to record.
        context.attempts_made = 1;
        let blind: HookInvocation = serde_json::from_value(
            serde_json::json!({"lifecycleStage": "PRODUCTION_TRAFFIC_SHIFT"}),
        )
        .expect("invocation");
        assert_eq!(
            on_traffic_stage(
                &hook,
                "PRODUCTION_TRAFFIC_SHIFT",
                &blind,
                &context,
                Some(&record)
            )
            .await,
            HookResponse::status("SUCCEEDED")
        );
    }
}
