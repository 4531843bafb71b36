//! Whether the stage's rollout can run on the service as ECS has it, asked by render (before
//! the migration and before the service changes) and again by deploy right before
//! UpdateService (the service may have changed in between).

use serde_json::Value;
use stevedore_aws::ecs::{
    deployment_configuration, hooks_to_pass, DeploymentLifecycleHookStage, LifecycleHook,
    RolloutPlan, ServiceState, TrafficShift,
};
use stevedore_core::config::Strategy;
use stevedore_core::Error;

use crate::RolloutSpec;

/// Stevedore's blue/green lifecycle hook function, and the role ECS invokes it with (the
/// only role Stevedore's deploy function may pass to ECS).
#[derive(Debug, Clone)]
pub struct HookTarget {
    pub function_arn: String,
    pub role_arn: String,
}

/// The stage's rollout as ECS settings; `details` become the hook's `hookDetails`.
pub(crate) fn rollout_plan(
    rollout: &RolloutSpec,
    hook: &HookTarget,
    details: Value,
) -> RolloutPlan {
    match rollout.strategy {
        Strategy::Rolling => RolloutPlan::Rolling,
        Strategy::BlueGreen => RolloutPlan::BlueGreen {
            bake_minutes: rollout.bake_minutes.unwrap_or(0),
            hook: rollout.smoke_test.as_ref().map(|_| LifecycleHook {
                function_arn: hook.function_arn.clone(),
                role_arn: hook.role_arn.clone(),
                stages: vec![DeploymentLifecycleHookStage::PostTestTrafficShift],
                details,
            }),
        },
        Strategy::Linear | Strategy::Canary => RolloutPlan::Stepped {
            shift: match rollout.strategy {
                Strategy::Canary => TrafficShift::Canary(rollout.canary.unwrap_or_default()),
                _ => TrafficShift::Linear(rollout.linear.unwrap_or_default()),
            },
            bake_minutes: rollout.bake_minutes.unwrap_or(0),
            hook: Some(LifecycleHook {
                function_arn: hook.function_arn.clone(),
                role_arn: hook.role_arn.clone(),
                stages: crate::traffic_hook::hook_stages(rollout.smoke_test.is_some()),
                details,
            }),
        },
    }
}

/// `BlueGreenNotConfigured` when ECS cannot run the stage's blue/green (or its smoke test)
/// on the service, `HookRoleNotPassable` when the release would have to send another
/// team's lifecycle hook again with a role Stevedore may not pass.
pub(crate) fn check_rollout(
    stage: &str,
    service_name: &str,
    service: &ServiceState,
    rollout: &RolloutSpec,
    hook: &HookTarget,
) -> Result<(), Error> {
    if rollout.strategy.shifts_traffic() {
        let name = rollout.strategy.name();
        // ECS shifts blue/green, linear and canary traffic with a load balancer or with
        // Service Connect (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/linear-deployment-implementation.html).
        if !service.blue_green_load_balancer && !service.service_connect {
            return Err(Error::BlueGreenNotConfigured(format!(
                "stage `{stage}` has `strategy: {name}`, but ECS service `{service_name}` has no load balancer with an `advancedConfiguration` (alternate target group and production/test listener rules) and no Service Connect, one of which ECS needs to shift traffic; add one to the service or use `strategy: rolling`"
            )));
        }
        // The smoke test reaches green through the test listener, which routes to green
        // only through its rule (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_AdvancedConfiguration.html).
        if rollout.smoke_test.is_some() && !service.test_listener_rule {
            return Err(Error::BlueGreenNotConfigured(format!(
                "stage `{stage}` has a `smoke_test`, which reaches the green revision through the load balancer's test listener, but ECS service `{service_name}` has no `testListenerRule` in its load balancer's `advancedConfiguration`; add the test listener rule to the service or remove `smoke_test`"
            )));
        }
    }
    let plan = rollout_plan(rollout, hook, Value::Null);
    let sent = deployment_configuration(
        service.deployment_configuration.as_ref(),
        &plan,
        Some(&hook.function_arn),
    );
    let foreign = hooks_to_pass(sent.as_ref(), &[hook.role_arn.as_str()]);
    if foreign.is_empty() {
        return Ok(());
    }
    let named = foreign
        .iter()
        .map(|(role, target)| format!("role `{role}` (hook `{target}`)"))
        .collect::<Vec<_>>()
        .join(", ");
    Err(Error::HookRoleNotPassable(format!(
        "ECS service `{service_name}` has lifecycle hooks Stevedore did not set; to {} its own hook for stage `{stage}` it must send the service's hook list again, and sending a hook passes its role, which needs iam:PassRole: Stevedore may pass only `{}`, not {named}; grant Stevedore's deploy function iam:PassRole on that role (iam:PassedToService ecs.amazonaws.com), or move those hooks off the service; nothing was changed",
        if rollout.strategy.shifts_traffic() { "set" } else { "remove" },
        hook.role_arn
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::fixtures::service;
    use stevedore_aws::ecs::{
        DeploymentConfiguration, DeploymentLifecycleHook, DeploymentStrategy,
    };
    use stevedore_core::config::SmokeTest;

    const OURS: &str = "arn:aws:lambda:us-east-1:1:function:stevedore-hook";

    fn hook() -> HookTarget {
        HookTarget {
            function_arn: OURS.into(),
            role_arn: "arn:aws:iam::1:role/stevedore-hook".into(),
        }
    }

    fn blue_green(smoke: bool) -> RolloutSpec {
        RolloutSpec {
            strategy: Strategy::BlueGreen,
            bake_minutes: None,
            smoke_test: smoke.then(|| SmokeTest {
                test_url: "http://alb:8080/healthz".into(),
                expect_status: 200,
                attempts: 2,
                interval_seconds: 1,
                timeout_seconds: 1,
                each_step: false,
            }),
            ..RolloutSpec::default()
        }
    }

    fn ready(test_rule: bool, hooks: &[(&str, &str)]) -> ServiceState {
        let mut state = service(vec![], "td:1", false);
        state.blue_green_load_balancer = true;
        state.test_listener_rule = test_rule;
        let mut config = DeploymentConfiguration::builder().strategy(DeploymentStrategy::BlueGreen);
        for (target, role) in hooks {
            config = config.lifecycle_hooks(
                DeploymentLifecycleHook::builder()
                    .hook_target_arn(*target)
                    .role_arn(*role)
                    .lifecycle_stages(DeploymentLifecycleHookStage::PreScaleUp)
                    .build(),
            );
        }
        state.deployment_configuration = Some(config.build());
        state
    }

    fn error_type(result: Result<(), Error>) -> &'static str {
        result.err().map_or("ok", |e| e.error_type())
    }

    #[test]
    fn blue_green_needs_the_advanced_load_balancer_and_a_smoke_test_its_test_rule() {
        let plain = service(vec![], "td:1", false);
        let check = |s: &ServiceState, r: &RolloutSpec| check_rollout("prod", "web", s, r, &hook());
        assert_eq!(
            error_type(check(&plain, &blue_green(false))),
            "BlueGreenNotConfigured"
        );
        assert_eq!(error_type(check(&plain, &RolloutSpec::default())), "ok");
        assert_eq!(
            error_type(check(&ready(false, &[]), &blue_green(false))),
            "ok"
        );
        let no_test_rule = check(&ready(false, &[]), &blue_green(true)).expect_err("refused");
        assert_eq!(no_test_rule.error_type(), "BlueGreenNotConfigured");
        assert!(no_test_rule.to_string().contains("testListenerRule"));
        assert_eq!(
            error_type(check(&ready(true, &[]), &blue_green(true))),
            "ok"
        );
    }

    #[test]
    fn linear_and_canary_need_a_load_balancer_or_service_connect_without_smoke_test() {
        let check = |s: &ServiceState, r: &RolloutSpec| check_rollout("prod", "web", s, r, &hook());
        for strategy in [Strategy::Linear, Strategy::Canary] {
            let plain = service(vec![], "td:1", false);
            let stepped = |smoke| RolloutSpec {
                strategy,
                ..blue_green(smoke)
            };
            let refused = check(&plain, &stepped(false)).expect_err("refused");
            assert_eq!(refused.error_type(), "BlueGreenNotConfigured");
            assert!(refused
                .to_string()
                .contains(&format!("`strategy: {}`", strategy.name())));
            let mut connected = plain.clone();
            connected.service_connect = true;
            assert_eq!(error_type(check(&connected, &stepped(false))), "ok");
            // Service Connect has no test listener for the smoke test.
            assert_eq!(
                error_type(check(&connected, &stepped(true))),
                "BlueGreenNotConfigured"
            );
            assert_eq!(error_type(check(&ready(true, &[]), &stepped(true))), "ok");
        }
    }

    #[test]
    fn linear_and_canary_plans_carry_their_steps_and_our_hook_at_every_step() {
        let linear = RolloutSpec {
            strategy: Strategy::Linear,
            bake_minutes: Some(2),
            linear: Some(stevedore_core::config::LinearSettings {
                step_percent: 34.0,
                step_minutes: 1,
            }),
            ..blue_green(true)
        };
        let RolloutPlan::Stepped {
            shift: TrafficShift::Linear(steps),
            bake_minutes: 2,
            hook: Some(our_hook),
        } = rollout_plan(&linear, &hook(), Value::Null)
        else {
            panic!("expected a linear plan with our hook");
        };
        assert_eq!(steps.step_percent, 34.0);
        assert_eq!(
            our_hook.stages,
            [
                DeploymentLifecycleHookStage::PreScaleUp,
                DeploymentLifecycleHookStage::PostTestTrafficShift,
                DeploymentLifecycleHookStage::ProductionTrafficShift
            ]
        );
        // A canary without a settings block or a smoke test: ECS's defaults, and the hook
        // still records the steps.
        let canary = RolloutSpec {
            strategy: Strategy::Canary,
            ..RolloutSpec::default()
        };
        let RolloutPlan::Stepped {
            shift: TrafficShift::Canary(settings),
            bake_minutes: 0,
            hook: Some(our_hook),
        } = rollout_plan(&canary, &hook(), Value::Null)
        else {
            panic!("expected a canary plan with our hook");
        };
        assert_eq!(settings, stevedore_core::config::CanarySettings::default());
        assert_eq!(
            our_hook.stages,
            [
                DeploymentLifecycleHookStage::PreScaleUp,
                DeploymentLifecycleHookStage::ProductionTrafficShift
            ]
        );
    }

    #[test]
    fn another_teams_hook_role_stevedore_cannot_pass_stops_the_release() {
        let theirs = (
            "arn:aws:lambda:us-east-1:1:function:their-check",
            "arn:aws:iam::1:role/their-hook",
        );
        let service = ready(true, &[theirs]);
        let err = check_rollout("prod", "web", &service, &blue_green(true), &hook())
            .expect_err("refused");
        assert_eq!(err.error_type(), "HookRoleNotPassable");
        assert!(err.to_string().contains("arn:aws:iam::1:role/their-hook"));
        assert!(err.to_string().contains("their-check"));
        // A hook with Stevedore's own role can be sent again.
        let shared = ready(true, &[(theirs.0, "arn:aws:iam::1:role/stevedore-hook")]);
        assert_eq!(
            error_type(check_rollout(
                "prod",
                "web",
                &shared,
                &blue_green(true),
                &hook()
            )),
            "ok"
        );
    }

    #[test]
    fn a_rolling_stage_that_sends_no_configuration_needs_no_role() {
        let theirs = (
            "arn:aws:lambda:us-east-1:1:function:their-check",
            "arn:aws:iam::1:role/their-hook",
        );
        let mut rolling = ready(true, &[theirs]);
        rolling.deployment_configuration = rolling.deployment_configuration.map(|mut c| {
            c.strategy = Some(DeploymentStrategy::Rolling);
            c
        });
        assert_eq!(
            error_type(check_rollout(
                "prod",
                "web",
                &rolling,
                &RolloutSpec::default(),
                &hook()
            )),
            "ok"
        );
        // Switching blue/green back to rolling removes Stevedore's hook: the list goes again.
        let switching = ready(
            true,
            &[theirs, (OURS, "arn:aws:iam::1:role/stevedore-hook")],
        );
        let err = check_rollout("prod", "web", &switching, &RolloutSpec::default(), &hook())
            .expect_err("refused");
        assert_eq!(err.error_type(), "HookRoleNotPassable");
    }
}
