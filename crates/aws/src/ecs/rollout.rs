//! The service's deployment configuration for a release: ECS rolling, or ECS native
//! blue/green with Stevedore's lifecycle hook. Everything else the service's owners set
//! (circuit breaker, alarms, percentages, their own hooks, the load balancers'
//! `advancedConfiguration`) stays as it is, except settings only another strategy accepts:
//! `linearConfiguration` is "only valid" with strategy LINEAR and `canaryConfiguration` with
//! CANARY (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LinearConfiguration.html>,
//! <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CanaryConfiguration.html>),
//! so they are never sent with another one. (The API has no way to send a structure as null:
//! they are left out, and whatever ECS keeps of them applies to LINEAR/CANARY only.)

use std::collections::HashMap;

use aws_sdk_ecs::types::{
    DeploymentConfiguration, DeploymentLifecycleHook, DeploymentLifecycleHookStage,
    DeploymentStrategy, Service,
};
use aws_smithy_types::{Document, Number};
use serde_json::Value;

/// How the release is rolled out.
#[derive(Debug, Clone, PartialEq)]
pub enum RolloutPlan {
    Rolling,
    BlueGreen {
        bake_minutes: u32,
        /// Stevedore's hook, when the stage has a smoke test.
        hook: Option<LifecycleHook>,
    },
}

/// A Lambda lifecycle hook: the function, the role ECS invokes it with, the stage it runs
/// at and the `hookDetails` ECS hands it.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleHook {
    pub function_arn: String,
    pub role_arn: String,
    pub stage: DeploymentLifecycleHookStage,
    pub details: Value,
}

/// The configuration to send with UpdateService, or None to leave the service's as it is.
///
/// `own_hook_function` is Stevedore's hook function: its earlier hooks are replaced (blue/green)
/// or removed (rolling); other hooks are kept.
pub fn deployment_configuration(
    current: Option<&DeploymentConfiguration>,
    plan: &RolloutPlan,
    own_hook_function: Option<&str>,
) -> Option<DeploymentConfiguration> {
    let is_blue_green =
        current.and_then(|c| c.strategy.as_ref()) == Some(&DeploymentStrategy::BlueGreen);
    let mut config = current
        .cloned()
        .unwrap_or_else(|| DeploymentConfiguration::builder().build());
    let mut hooks: Vec<DeploymentLifecycleHook> = config
        .lifecycle_hooks
        .take()
        .unwrap_or_default()
        .into_iter()
        .filter(|hook| {
            own_hook_function.is_none() || hook.hook_target_arn.as_deref() != own_hook_function
        })
        .collect();
    match plan {
        RolloutPlan::Rolling if !is_blue_green => return None,
        RolloutPlan::Rolling => {
            config.strategy = Some(DeploymentStrategy::Rolling);
            config.bake_time_in_minutes = None;
        }
        RolloutPlan::BlueGreen { bake_minutes, hook } => {
            config.strategy = Some(DeploymentStrategy::BlueGreen);
            config.bake_time_in_minutes = Some(i32::try_from(*bake_minutes).unwrap_or(i32::MAX));
            if let Some(hook) = hook {
                hooks.push(
                    DeploymentLifecycleHook::builder()
                        .hook_target_arn(&hook.function_arn)
                        .role_arn(&hook.role_arn)
                        .lifecycle_stages(hook.stage.clone())
                        .hook_details(to_document(&hook.details))
                        .build(),
                );
            }
        }
    }
    config.lifecycle_hooks = (!hooks.is_empty()).then_some(hooks);
    Some(without_other_strategies_settings(config))
}

/// `config` without the settings its strategy does not accept.
fn without_other_strategies_settings(
    mut config: DeploymentConfiguration,
) -> DeploymentConfiguration {
    if config.strategy != Some(DeploymentStrategy::Linear) {
        config.linear_configuration = None;
    }
    if config.strategy != Some(DeploymentStrategy::Canary) {
        config.canary_configuration = None;
    }
    config
}

/// Whether ECS puts the previous revision back by itself when a deployment fails, so
/// Stevedore must not restore on top of it: the circuit breaker with `rollback`, deployment
/// alarms with `rollback` ("the service is rolled back to the last deployment that completed
/// successfully",
/// <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentAlarms.html>;
/// when both methods are on, either can fail the deployment,
/// <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-failure-detection.html>),
/// and the BLUE_GREEN, LINEAR and CANARY strategies, which roll back to the last successful
/// deployment when a hook fails or the new revision does not come up
/// (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html>).
pub fn rolls_back_failures(config: Option<&DeploymentConfiguration>) -> bool {
    let Some(config) = config else {
        return false;
    };
    let circuit_breaker = config
        .deployment_circuit_breaker
        .as_ref()
        .is_some_and(|cb| cb.enable && cb.rollback);
    let alarms = config
        .alarms
        .as_ref()
        .is_some_and(|a| a.enable && a.rollback);
    let traffic_shifting = matches!(
        config.strategy,
        Some(
            DeploymentStrategy::BlueGreen | DeploymentStrategy::Linear | DeploymentStrategy::Canary
        )
    );
    circuit_breaker || alarms || traffic_shifting
}

/// The other teams' hooks a configuration about to be sent carries, as (role, hook target),
/// whose role is not in `passable`. Sending a role ARN to a service passes it, which needs
/// `iam:PassRole` on it (<https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html>);
/// AWS documents no exception for a role that is already set, so every hook sent counts.
pub fn hooks_to_pass(
    config: Option<&DeploymentConfiguration>,
    passable: &[&str],
) -> Vec<(String, String)> {
    config
        .map(|c| c.lifecycle_hooks())
        .unwrap_or_default()
        .iter()
        .filter_map(|hook| {
            let role = hook.role_arn.as_deref()?;
            (!passable.contains(&role)).then(|| {
                (
                    role.to_string(),
                    hook.hook_target_arn.clone().unwrap_or_default(),
                )
            })
        })
        .collect()
}

/// The service's configuration without Stevedore's hook, or None when it has none: a
/// restore must not run the failed release's smoke test against the previous revision.
pub fn without_own_hook(
    current: Option<&DeploymentConfiguration>,
    own_hook_function: &str,
) -> Option<DeploymentConfiguration> {
    let current = current?;
    let hooks = current.lifecycle_hooks();
    if !hooks
        .iter()
        .any(|h| h.hook_target_arn() == Some(own_hook_function))
    {
        return None;
    }
    let mut config = without_other_strategies_settings(current.clone());
    let kept: Vec<_> = hooks
        .iter()
        .filter(|h| h.hook_target_arn() != Some(own_hook_function))
        .cloned()
        .collect();
    config.lifecycle_hooks = (!kept.is_empty()).then_some(kept);
    Some(config)
}

/// Whether the service has what ECS blue/green needs: a load balancer with an alternate
/// target group and a production listener rule.
pub(super) fn has_blue_green_load_balancer(service: &Service) -> bool {
    service.load_balancers().iter().any(|lb| {
        lb.advanced_configuration.as_ref().is_some_and(|advanced| {
            advanced.alternate_target_group_arn.is_some()
                && advanced.production_listener_rule.is_some()
        })
    })
}

/// Whether a load balancer's `advancedConfiguration` names a test listener rule.
pub(super) fn has_test_listener_rule(service: &Service) -> bool {
    service.load_balancers().iter().any(|lb| {
        lb.advanced_configuration
            .as_ref()
            .is_some_and(|advanced| advanced.test_listener_rule.is_some())
    })
}

/// JSON to the SDK's document type (`hookDetails`).
fn to_document(value: &Value) -> Document {
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Number::PosInt(u),
            (None, Some(i)) => Number::NegInt(i),
            _ => Number::Float(n.as_f64().unwrap_or_default()),
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(items) => Document::Array(items.iter().map(to_document).collect()),
        Value::Object(fields) => Document::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), to_document(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
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
                stage: DeploymentLifecycleHookStage::PostTestTrafficShift,
                details: json!({"release_id": "01J", "attempts_made": 0, "ok": true, "n": -1, "f": 0.5}),
            }),
        }
    }

    #[test]
    fn rolling_leaves_a_rolling_service_alone() {
        let config = current(DeploymentStrategy::Rolling);
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
        let sent = deployment_configuration(Some(&config), &blue_green(true), Some(OURS))
            .expect("changed");
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
        assert!(sent.lifecycle_hooks.is_none());
    }

    #[test]
    fn switching_to_blue_green_drops_linear_and_canary_settings() {
        use aws_sdk_ecs::types::{CanaryConfiguration, LinearConfiguration};
        let mut linear = current(DeploymentStrategy::Linear);
        linear.linear_configuration =
            Some(LinearConfiguration::builder().step_percent(20.0).build());
        linear.canary_configuration =
            Some(CanaryConfiguration::builder().canary_percent(5.0).build());
        let sent = deployment_configuration(Some(&linear), &blue_green(true), Some(OURS))
            .expect("changed");
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
}
