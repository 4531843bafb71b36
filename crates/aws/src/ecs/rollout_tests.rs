//! Tests of the deployment configuration Stevedore sends (see `rollout.rs`).
use super::*;
use aws_sdk_ecs::types::DeploymentCircuitBreaker;
use serde_json::json;

const OURS: &str = "arn:aws:lambda:us-east-1:1:function:stevedore-hook";
const THEIRS: &str = "arn:aws:lambda:us-east-1:1:function:their-hook";

fn hook(target: &str) -> DeploymentLifecycleHook {
    DeploymentLifecycleHook::builder()
        .hook_target_arn(target)
        .role_arn("arn:aws:iam::1:role/r")
        .lifecycle_stages(DeploymentLifecycleHookStage::PreScaleUp)
        .build()
}

fn current(strategy: DeploymentStrategy) -> DeploymentConfiguration {
    DeploymentConfiguration::builder()
        .strategy(strategy)
        .maximum_percent(200)
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(true)
                .rollback(true)
                .build(),
        )
        .lifecycle_hooks(hook(OURS))
        .lifecycle_hooks(hook(THEIRS))
        .build()
}

fn blue_green(with_hook: bool) -> RolloutPlan {
    RolloutPlan::BlueGreen {
        bake_minutes: 5,
        hook: with_hook.then(|| LifecycleHook {
            function_arn: OURS.into(),
            role_arn: "arn:aws:iam::1:role/hook".into(),
            stages: vec![DeploymentLifecycleHookStage::PostTestTrafficShift],
            details: json!({"release_id": "01J", "attempts_made": 0, "ok": true, "n": -1, "f": 0.5}),
        }),
    }
}

#[test]
fn rolling_leaves_a_rolling_service_alone() {
    let mut config = current(DeploymentStrategy::Rolling);
    config.lifecycle_hooks = Some(vec![hook(THEIRS)]);
    assert_eq!(
        deployment_configuration(Some(&config), &RolloutPlan::Rolling, Some(OURS)),
        None
    );
    assert_eq!(
        deployment_configuration(None, &RolloutPlan::Rolling, Some(OURS)),
        None
    );
}

#[test]
fn rolling_switches_blue_green_back_and_drops_only_our_hook() {
    let config = current(DeploymentStrategy::BlueGreen);
    let sent = deployment_configuration(Some(&config), &RolloutPlan::Rolling, Some(OURS))
        .expect("changed");
    assert_eq!(sent.strategy, Some(DeploymentStrategy::Rolling));
    let targets: Vec<_> = sent
        .lifecycle_hooks()
        .iter()
        .map(|h| h.hook_target_arn())
        .collect();
    assert_eq!(targets, [Some(THEIRS)]);
    assert_eq!(sent.maximum_percent, Some(200));
}

#[test]
fn blue_green_keeps_the_owners_settings_and_replaces_our_hook() {
    let config = current(DeploymentStrategy::Rolling);
    let sent =
        deployment_configuration(Some(&config), &blue_green(true), Some(OURS)).expect("changed");
    assert_eq!(sent.strategy, Some(DeploymentStrategy::BlueGreen));
    assert_eq!(sent.bake_time_in_minutes, Some(5));
    assert_eq!(sent.maximum_percent, Some(200));
    assert!(sent
        .deployment_circuit_breaker
        .as_ref()
        .is_some_and(|cb| cb.rollback));
    let hooks = sent.lifecycle_hooks();
    assert_eq!(hooks.len(), 2);
    assert_eq!(hooks[0].hook_target_arn(), Some(THEIRS));
    assert_eq!(hooks[1].hook_target_arn(), Some(OURS));
    assert_eq!(
        hooks[1].lifecycle_stages(),
        [DeploymentLifecycleHookStage::PostTestTrafficShift]
    );
    let Some(Document::Object(details)) = hooks[1].hook_details() else {
        panic!("hook details should be an object");
    };
    assert_eq!(details["release_id"], Document::String("01J".into()));
    assert_eq!(
        details["attempts_made"],
        Document::Number(Number::PosInt(0))
    );
    assert_eq!(details["n"], Document::Number(Number::NegInt(-1)));
    assert_eq!(details["f"], Document::Number(Number::Float(0.5)));
    assert_eq!(details["ok"], Document::Bool(true));
}

#[test]
fn a_restore_drops_only_our_hook_and_keeps_blue_green() {
    let config = current(DeploymentStrategy::BlueGreen);
    let kept = without_own_hook(Some(&config), OURS).expect("changed");
    assert_eq!(kept.strategy, Some(DeploymentStrategy::BlueGreen));
    let targets: Vec<_> = kept
        .lifecycle_hooks()
        .iter()
        .map(|h| h.hook_target_arn())
        .collect();
    assert_eq!(targets, [Some(THEIRS)]);
    assert_eq!(without_own_hook(Some(&kept), OURS), None);
    assert_eq!(without_own_hook(None, OURS), None);
}

#[test]
fn blue_green_without_a_smoke_test_attaches_no_hook() {
    let sent = deployment_configuration(None, &blue_green(false), Some(OURS)).expect("changed");
    assert_eq!(sent.strategy, Some(DeploymentStrategy::BlueGreen));
    assert_eq!(sent.lifecycle_hooks, Some(vec![]));
}

#[test]
fn switching_to_blue_green_drops_linear_and_canary_settings() {
    use aws_sdk_ecs::types::{CanaryConfiguration, LinearConfiguration};
    let mut linear = current(DeploymentStrategy::Linear);
    linear.linear_configuration = Some(LinearConfiguration::builder().step_percent(20.0).build());
    linear.canary_configuration = Some(CanaryConfiguration::builder().canary_percent(5.0).build());
    let sent =
        deployment_configuration(Some(&linear), &blue_green(true), Some(OURS)).expect("changed");
    assert_eq!(sent.strategy, Some(DeploymentStrategy::BlueGreen));
    assert_eq!(sent.linear_configuration, None);
    assert_eq!(sent.canary_configuration, None);
    // A restore keeps the owners' strategy and its own settings, never another's.
    let kept = without_own_hook(Some(&linear), OURS).expect("changed");
    assert_eq!(kept.strategy, Some(DeploymentStrategy::Linear));
    assert!(kept.linear_configuration.is_some());
    assert_eq!(kept.canary_configuration, None);
}

#[test]
fn a_rolling_stage_leaves_a_linear_or_canary_service_its_strategy() {
    for strategy in [DeploymentStrategy::Linear, DeploymentStrategy::Canary] {
        let config = DeploymentConfiguration::builder()
            .strategy(strategy)
            .build();
        assert_eq!(
            deployment_configuration(Some(&config), &RolloutPlan::Rolling, Some(OURS)),
            None
        );
    }
}

#[test]
fn who_rolls_back_failures() {
    use aws_sdk_ecs::types::DeploymentAlarms;
    let alarms = |enable, rollback| {
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::Rolling)
            .alarms(
                DeploymentAlarms::builder()
                    .alarm_names("web-5xx")
                    .enable(enable)
                    .rollback(rollback)
                    .build()
                    .expect("alarms"),
            )
            .build()
    };
    assert!(rolls_back_failures(Some(&alarms(true, true))));
    assert!(!rolls_back_failures(Some(&alarms(true, false))));
    assert!(!rolls_back_failures(Some(&alarms(false, true))));
    for strategy in [
        DeploymentStrategy::BlueGreen,
        DeploymentStrategy::Linear,
        DeploymentStrategy::Canary,
    ] {
        let config = DeploymentConfiguration::builder()
            .strategy(strategy)
            .build();
        assert!(rolls_back_failures(Some(&config)));
    }
    assert!(rolls_back_failures(Some(&current(
        DeploymentStrategy::Rolling
    ))));
    let plain = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::Rolling)
        .build();
    assert!(!rolls_back_failures(Some(&plain)));
    assert!(!rolls_back_failures(None));
}

#[test]
fn names_the_hook_roles_it_may_not_pass() {
    let config = current(DeploymentStrategy::BlueGreen);
    assert_eq!(
        hooks_to_pass(Some(&config), &["arn:aws:iam::1:role/hook"]),
        vec![
            ("arn:aws:iam::1:role/r".to_string(), OURS.to_string()),
            ("arn:aws:iam::1:role/r".to_string(), THEIRS.to_string()),
        ]
    );
    assert!(hooks_to_pass(Some(&config), &["arn:aws:iam::1:role/r"]).is_empty());
    assert!(hooks_to_pass(None, &[]).is_empty());
}

fn only_ours(strategy: DeploymentStrategy) -> DeploymentConfiguration {
    DeploymentConfiguration::builder()
        .strategy(strategy)
        .lifecycle_hooks(hook(OURS))
        .build()
}

#[test]
fn removing_our_only_hook_sends_an_explicit_empty_list() {
    // UpdateService merges: a left-out `lifecycleHooks` would keep our hook.
    let restored =
        without_own_hook(Some(&only_ours(DeploymentStrategy::BlueGreen)), OURS).expect("changed");
    assert_eq!(restored.lifecycle_hooks, Some(vec![]));
    let rolled = deployment_configuration(
        Some(&only_ours(DeploymentStrategy::BlueGreen)),
        &RolloutPlan::Rolling,
        Some(OURS),
    )
    .expect("changed");
    assert_eq!(rolled.strategy, Some(DeploymentStrategy::Rolling));
    assert_eq!(rolled.lifecycle_hooks, Some(vec![]));
}

#[test]
fn rolling_removes_our_hook_left_on_a_rolling_service() {
    let sent = deployment_configuration(
        Some(&only_ours(DeploymentStrategy::Rolling)),
        &RolloutPlan::Rolling,
        Some(OURS),
    )
    .expect("our hook must go");
    assert_eq!(sent.lifecycle_hooks, Some(vec![]));
    assert_eq!(sent.strategy, Some(DeploymentStrategy::Rolling));
}

fn stepped(shift: TrafficShift) -> RolloutPlan {
    RolloutPlan::Stepped {
        shift,
        bake_minutes: 3,
        hook: Some(LifecycleHook {
            function_arn: OURS.into(),
            role_arn: "arn:aws:iam::1:role/hook".into(),
            stages: vec![
                DeploymentLifecycleHookStage::PreScaleUp,
                DeploymentLifecycleHookStage::ProductionTrafficShift,
            ],
            details: json!({"release_id": "01J"}),
        }),
    }
}

#[test]
fn linear_sets_its_steps_and_bake_and_keeps_the_owners_settings() {
    use stevedore_core::config::LinearSettings;
    let config = current(DeploymentStrategy::BlueGreen);
    let linear = TrafficShift::Linear(LinearSettings {
        step_percent: 33.3,
        step_minutes: 4,
    });
    let sent =
        deployment_configuration(Some(&config), &stepped(linear), Some(OURS)).expect("changed");
    assert_eq!(sent.strategy, Some(DeploymentStrategy::Linear));
    assert_eq!(sent.bake_time_in_minutes, Some(3));
    let steps = sent.linear_configuration.as_ref().expect("linear");
    assert_eq!(steps.step_percent, Some(33.3));
    assert_eq!(steps.step_bake_time_in_minutes, Some(4));
    assert_eq!(sent.canary_configuration, None);
    assert_eq!(sent.maximum_percent, Some(200));
    let hooks = sent.lifecycle_hooks();
    assert_eq!(hooks.len(), 2);
    assert_eq!(hooks[0].hook_target_arn(), Some(THEIRS));
    assert_eq!(
        hooks[1].lifecycle_stages(),
        [
            DeploymentLifecycleHookStage::PreScaleUp,
            DeploymentLifecycleHookStage::ProductionTrafficShift
        ]
    );
}

#[test]
fn canary_replaces_linear_settings_and_rolling_switches_our_canary_back() {
    use aws_sdk_ecs::types::LinearConfiguration;
    use stevedore_core::config::CanarySettings;
    let mut config = current(DeploymentStrategy::Linear);
    config.linear_configuration = Some(LinearConfiguration::builder().step_percent(20.0).build());
    let canary = TrafficShift::Canary(CanarySettings {
        percent: 12.5,
        bake_minutes: 7,
    });
    let sent =
        deployment_configuration(Some(&config), &stepped(canary), Some(OURS)).expect("changed");
    assert_eq!(sent.strategy, Some(DeploymentStrategy::Canary));
    assert_eq!(sent.linear_configuration, None);
    let canary = sent.canary_configuration.as_ref().expect("canary");
    assert_eq!(canary.canary_percent, Some(12.5));
    assert_eq!(canary.canary_bake_time_in_minutes, Some(7));
    // Our canary (our hook is on it) goes back to rolling, without its settings.
    let back =
        deployment_configuration(Some(&sent), &RolloutPlan::Rolling, Some(OURS)).expect("changed");
    assert_eq!(back.strategy, Some(DeploymentStrategy::Rolling));
    assert_eq!(back.canary_configuration, None);
    assert_eq!(back.bake_time_in_minutes, None);
    let targets: Vec<_> = back
        .lifecycle_hooks()
        .iter()
        .map(|h| h.hook_target_arn())
        .collect();
    assert_eq!(targets, [Some(THEIRS)]);
}
