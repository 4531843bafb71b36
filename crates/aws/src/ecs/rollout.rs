//! The service's deployment configuration for a release: ECS rolling, or ECS native
//! blue/green, linear or canary with Stevedore's lifecycle hook. Everything else the service's owners set
//! (circuit breaker, alarms, percentages, their own hooks, the load balancers'
//! `advancedConfiguration`) stays as it is, except settings only another strategy accepts:
//! `linearConfiguration` is "only valid" with strategy LINEAR and `canaryConfiguration` with
//! CANARY (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LinearConfiguration.html>,
//! <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CanaryConfiguration.html>),
//! so they are never sent with another one. (The API has no way to send a structure as null:
//! they are left out, and whatever ECS keeps of them applies to LINEAR/CANARY only.)

use std::collections::HashMap;

use aws_sdk_ecs::types::{
    CanaryConfiguration, DeploymentConfiguration, DeploymentLifecycleHook,
    DeploymentLifecycleHookStage, DeploymentStrategy, LinearConfiguration, Service,
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
    /// ECS LINEAR or CANARY: blue/green whose production traffic moves in steps.
    Stepped {
        shift: TrafficShift,
        /// After 100 % (`bakeTimeInMinutes`).
        bake_minutes: u32,
        /// Stevedore's hook: records each step (and runs the smoke test).
        hook: Option<LifecycleHook>,
    },
}

/// How a stepped deployment moves production traffic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrafficShift {
    Linear(stevedore_core::config::LinearSettings),
    Canary(stevedore_core::config::CanarySettings),
}

/// A Lambda lifecycle hook: the function, the role ECS invokes it with, the stages it runs
/// at and the `hookDetails` ECS hands it.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleHook {
    pub function_arn: String,
    pub role_arn: String,
    pub stages: Vec<DeploymentLifecycleHookStage>,
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
    let strategy = current.and_then(|c| c.strategy.as_ref());
    let has_own_hook = own_hook_function.is_some_and(|own| {
        current.is_some_and(|c| {
            c.lifecycle_hooks()
                .iter()
                .any(|h| h.hook_target_arn() == Some(own))
        })
    });
    // A rolling stage switches blue/green back, and linear or canary when Stevedore set it
    // (its hook is on the service: it always is for those); an owner's own linear or canary
    // stays.
    let is_blue_green = match strategy {
        Some(DeploymentStrategy::BlueGreen) => true,
        Some(DeploymentStrategy::Linear | DeploymentStrategy::Canary) => has_own_hook,
        _ => false,
    };
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
            config.bake_time_in_minutes = Some(minutes(*bake_minutes));
            hooks.extend(hook.as_ref().map(lifecycle_hook));
        }
        RolloutPlan::Stepped {
            shift,
            bake_minutes,
            hook,
        } => {
            set_traffic_shift(&mut config, shift);
            config.bake_time_in_minutes = Some(minutes(*bake_minutes));
            hooks.extend(hook.as_ref().map(lifecycle_hook));
        }
    }
    config.lifecycle_hooks = Some(hooks);
    Some(without_other_strategies_settings(config))
}

fn minutes(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn lifecycle_hook(hook: &LifecycleHook) -> DeploymentLifecycleHook {
    DeploymentLifecycleHook::builder()
        .hook_target_arn(&hook.function_arn)
        .role_arn(&hook.role_arn)
        .set_lifecycle_stages(Some(hook.stages.clone()))
        .hook_details(to_document(&hook.details))
        .build()
}

/// Strategy LINEAR with `linearConfiguration` (`stepPercent`, `stepBakeTimeInMinutes`), or
/// CANARY with `canaryConfiguration` (`canaryPercent`, `canaryBakeTimeInMinutes`), from the
/// stage's settings (checked against ECS's ranges at `config apply`).
fn set_traffic_shift(config: &mut DeploymentConfiguration, shift: &TrafficShift) {
    match shift {
        TrafficShift::Linear(linear) => {
            config.strategy = Some(DeploymentStrategy::Linear);
            config.linear_configuration = Some(
                LinearConfiguration::builder()
                    .step_percent(linear.step_percent)
                    .step_bake_time_in_minutes(minutes(linear.step_minutes))
                    .build(),
            );
        }
        TrafficShift::Canary(canary) => {
            config.strategy = Some(DeploymentStrategy::Canary);
            config.canary_configuration = Some(
                CanaryConfiguration::builder()
                    .canary_percent(canary.percent)
                    .canary_bake_time_in_minutes(minutes(canary.bake_minutes))
                    .build(),
            );
        }
    }
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
    // Sent even when empty: a merged UpdateService keeps a left-out list.
    config.lifecycle_hooks = Some(kept);
    Some(config)
}

/// Whether the service has what ECS blue/green, linear and canary need to shift traffic: a
/// load balancer with an alternate target group and a production listener rule (the other
/// way, Service Connect, is [`has_service_connect`]).
pub(super) fn has_blue_green_load_balancer(service: &Service) -> bool {
    service.load_balancers().iter().any(|lb| {
        lb.advanced_configuration.as_ref().is_some_and(|advanced| {
            advanced.alternate_target_group_arn.is_some()
                && advanced.production_listener_rule.is_some()
        })
    })
}

/// Whether the service's primary deployment uses Service Connect, which linear, canary and
/// blue/green deployments can shift traffic with instead of a load balancer
/// (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/linear-deployment-implementation.html>,
/// <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/canary-deployment.html>).
pub(super) fn has_service_connect(service: &Service) -> bool {
    service
        .deployments()
        .iter()
        .filter(|d| d.status.as_deref() == Some("PRIMARY"))
        .any(|d| {
            d.service_connect_configuration
                .as_ref()
                .is_some_and(|sc| sc.enabled)
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
#[path = "rollout_tests.rs"]
mod tests;
