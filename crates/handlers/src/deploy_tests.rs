use super::*;
use crate::RolloutSpec;
use stevedore_aws::ecs::{DeploymentLifecycleHookStage, RolloutPlan};
use stevedore_core::config::{SmokeTest, Strategy};
use stevedore_core::smoke::HookContext;

/// The plan deploy sends for `render`'s stage.
fn plan_for(release: &ReleaseSpec, render: &RenderOutput, hook: &HookTarget) -> RolloutPlan {
    rollout_plan(
        &render.rollout,
        hook,
        hook_details(release, &render.rollout, &render.service),
    )
}

fn release() -> ReleaseSpec {
    serde_json::from_value(serde_json::json!({
        "release_id": "01JREL", "app": "backend", "stage": "production", "repository": "backend",
        "digest": "sha256:ab", "tag": "v1", "image_uri": "r/backend@sha256:ab", "trigger": "push"
    }))
    .expect("release")
}

fn render(rollout: RolloutSpec) -> RenderOutput {
    RenderOutput {
        task_definition_arn: "td:2".into(),
        previous_task_definition_arn: "td:1".into(),
        cluster: "demo".into(),
        service: "backend-production".into(),
        deploy_timeout_seconds: 900,
        migration: None,
        build_migration: None,
        approval_required: false,
        approval_timeout_seconds: 60,
        rollout,
        services: Vec::new(),
        rollout_order: Default::default(),
        schedules: Vec::new(),
    }
}

fn hook() -> HookTarget {
    HookTarget {
        function_arn: "arn:aws:lambda:us-east-1:1:function:deployment-hook".into(),
        role_arn: "arn:aws:iam::1:role/hook".into(),
    }
}

#[test]
fn rolling_stages_roll() {
    let plan = plan_for(&release(), &render(RolloutSpec::default()), &hook());
    assert_eq!(plan, RolloutPlan::Rolling);
}

#[test]
fn blue_green_carries_the_release_and_its_smoke_test_to_the_hook() {
    let smoke_test = SmokeTest {
        test_url: "http://alb:8080/healthz".into(),
        expect_status: 204,
        attempts: 4,
        interval_seconds: 3,
        timeout_seconds: 2,
        each_step: false,
    };
    let rollout = RolloutSpec {
        strategy: Strategy::BlueGreen,
        bake_minutes: Some(7),
        smoke_test: Some(smoke_test.clone()),
        ..RolloutSpec::default()
    };
    let RolloutPlan::BlueGreen {
        bake_minutes,
        hook: Some(lifecycle_hook),
    } = plan_for(&release(), &render(rollout), &hook())
    else {
        panic!("expected blue/green with a hook");
    };
    assert_eq!(bake_minutes, 7);
    assert_eq!(lifecycle_hook.function_arn, hook().function_arn);
    assert_eq!(lifecycle_hook.role_arn, hook().role_arn);
    assert_eq!(
        lifecycle_hook.stages,
        [DeploymentLifecycleHookStage::PostTestTrafficShift]
    );
    let context: HookContext =
        serde_json::from_value(lifecycle_hook.details).expect("hook details are a HookContext");
    assert_eq!(
        context,
        HookContext {
            app: "backend".into(),
            stage: "production".into(),
            release_id: "01JREL".into(),
            smoke_test: Some(smoke_test),
            service: Some("backend-production".into()),
            attempts_made: 0,
        }
    );
}

#[test]
fn blue_green_without_a_smoke_test_has_no_hook_and_no_bake_by_default() {
    let rollout = RolloutSpec {
        strategy: Strategy::BlueGreen,
        bake_minutes: None,
        smoke_test: None,
        ..RolloutSpec::default()
    };
    assert_eq!(
        plan_for(&release(), &render(rollout), &hook()),
        RolloutPlan::BlueGreen {
            bake_minutes: 0,
            hook: None
        }
    );
}
