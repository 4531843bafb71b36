//! The service's deployment configuration for a release: ECS rolling, or ECS native
//! blue/green with Stevedore's lifecycle hook. Everything else the service's owners set
//! (circuit breaker, alarms, percentages, their own hooks, the load balancers'
//! `advancedConfiguration`) stays as it is.

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
/// or removed (rolling); other hooks are kept. UpdateService merges `deploymentConfiguration`
/// (a member left out keeps its value), so `lifecycleHooks` is always sent as the full list
/// wanted, an empty one when none is left: leaving it out would keep Stevedore's old hook.
pub fn deployment_configuration(
    current: Option<&DeploymentConfiguration>,
    plan: &RolloutPlan,
    own_hook_function: Option<&str>,
) -> Option<DeploymentConfiguration> {
    let is_blue_green =
        current.and_then(|c| c.strategy.as_ref()) == Some(&DeploymentStrategy::BlueGreen);
    let has_own_hook = own_hook_function.is_some_and(|own| {
        current.is_some_and(|c| {
            c.lifecycle_hooks()
                .iter()
                .any(|h| h.hook_target_arn() == Some(own))
        })
    });
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
        RolloutPlan::Rolling if !is_blue_green && !has_own_hook => return None,
        RolloutPlan::Rolling if !is_blue_green => {}
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
    config.lifecycle_hooks = Some(hooks);
    Some(config)
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
    let mut config = current.clone();
    let kept: Vec<_> = hooks
        .iter()
        .filter(|h| h.hook_target_arn() != Some(own_hook_function))
        .cloned()
        .collect();
    // Sent even when empty: a merged UpdateService keeps a left-out list.
    config.lifecycle_hooks = Some(kept);
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

    fn only_ours(strategy: DeploymentStrategy) -> DeploymentConfiguration {
        DeploymentConfiguration::builder()
            .strategy(strategy)
            .lifecycle_hooks(hook(OURS))
            .build()
    }

    #[test]
    fn removing_our_only_hook_sends_an_explicit_empty_list() {
        // UpdateService merges: a left-out `lifecycleHooks` would keep our hook.
        let restored = without_own_hook(Some(&only_ours(DeploymentStrategy::BlueGreen)), OURS)
            .expect("changed");
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

    #[test]
    fn blue_green_without_a_smoke_test_attaches_no_hook() {
        let sent = deployment_configuration(None, &blue_green(false), Some(OURS)).expect("changed");
        assert_eq!(sent.strategy, Some(DeploymentStrategy::BlueGreen));
        assert_eq!(sent.lifecycle_hooks, Some(vec![]));
    }
}
