//! The rollout prediction's inputs (`stevedore_core::rollout_estimate`) from what ECS reports:
//! the service (desired count), the deployment configuration a rollout runs with, and the
//! task definition's containers (health checks, `stopTimeout`, `essential`, which "defaults
//! to true" per
//! <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html>),
//! and the ECS rollout's own measured span (ListServiceDeployments' `startedAt` and
//! `finishedAt`, <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentBrief.html>).

use aws_sdk_ecs::types::{
    DeploymentConfiguration, DeploymentStrategy, ServiceDeploymentStatus, TaskDefinition,
};
use stevedore_core::config::{CanarySettings, LinearSettings, Strategy};
use stevedore_core::rollout_estimate::{
    ContainerHealthCheck, ContainerSettings, ServiceSettings, TargetGroupSettings,
};
use stevedore_core::Result;

use super::{Ecs, ServiceState};
use crate::error::classify;

/// The service's settings for the prediction. `config` is the deployment configuration the
/// rollout runs with (the one about to be sent, or the service's own).
pub fn service_settings(
    name: &str,
    service: &ServiceState,
    config: Option<&DeploymentConfiguration>,
    task_definition: &TaskDefinition,
    target_groups: Vec<TargetGroupSettings>,
) -> ServiceSettings {
    let percent = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok());
    let breaker = config.and_then(|c| c.deployment_circuit_breaker.as_ref());
    ServiceSettings {
        service: name.to_string(),
        desired_count: u32::try_from(service.desired_count).unwrap_or(0),
        minimum_healthy_percent: percent(config.and_then(|c| c.minimum_healthy_percent)),
        maximum_percent: percent(config.and_then(|c| c.maximum_percent)),
        strategy: strategy(config),
        linear: config
            .and_then(|c| c.linear_configuration.as_ref())
            .map(|l| {
                let default = LinearSettings::default();
                LinearSettings {
                    step_percent: l.step_percent.unwrap_or(default.step_percent),
                    step_minutes: percent(l.step_bake_time_in_minutes)
                        .unwrap_or(default.step_minutes),
                }
            }),
        canary: config
            .and_then(|c| c.canary_configuration.as_ref())
            .map(|c| {
                let default = CanarySettings::default();
                CanarySettings {
                    percent: c.canary_percent.unwrap_or(default.percent),
                    bake_minutes: percent(c.canary_bake_time_in_minutes)
                        .unwrap_or(default.bake_minutes),
                }
            }),
        bake_time_minutes: percent(config.and_then(|c| c.bake_time_in_minutes)),
        circuit_breaker: breaker.is_some_and(|b| b.enable),
        circuit_breaker_rollback: breaker.is_some_and(|b| b.enable && b.rollback),
        target_groups,
        containers: task_definition
            .container_definitions()
            .iter()
            .map(|c| ContainerSettings {
                name: c.name.clone().unwrap_or_default(),
                essential: c.essential.unwrap_or(true),
                stop_timeout_seconds: percent(c.stop_timeout),
                health_check: c.health_check.as_ref().map(|h| ContainerHealthCheck {
                    interval_seconds: percent(h.interval),
                    timeout_seconds: percent(h.timeout),
                    retries: percent(h.retries),
                    start_period_seconds: percent(h.start_period),
                }),
            })
            .collect(),
        task_cpu: task_definition.cpu.clone(),
        task_memory: task_definition.memory.clone(),
    }
}

fn strategy(config: Option<&DeploymentConfiguration>) -> Strategy {
    match config.and_then(|c| c.strategy.as_ref()) {
        Some(DeploymentStrategy::BlueGreen) => Strategy::BlueGreen,
        Some(DeploymentStrategy::Linear) => Strategy::Linear,
        Some(DeploymentStrategy::Canary) => Strategy::Canary,
        _ => Strategy::Rolling,
    }
}

/// When ECS started and finished a rollout, in seconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RolloutSpan {
    pub started_at: f64,
    pub finished_at: f64,
}

impl RolloutSpan {
    pub fn seconds(&self) -> f64 {
        (self.finished_at - self.started_at).max(0.0)
    }
}

/// How many of the service's successful deployments are looked at (ListServiceDeployments'
/// most). The request's `createdAt` filter narrows them; they are filtered again here, so an
/// answer that ignores the filter cannot name an older deployment.
const LATEST_SUCCESSES: i32 = 100;

impl Ecs {
    /// The span of the service's latest SUCCESSFUL deployment created at or after
    /// `created_after` (epoch seconds), None when there is none or ECS reports no start or
    /// finish. Called after a release's rollout completed, while the stage's lock keeps any
    /// other release off the service, so the latest one is the release's.
    pub async fn completed_rollout(
        &self,
        cluster: &str,
        service: &str,
        created_after: f64,
    ) -> Result<Option<RolloutSpan>> {
        let out = self
            .client
            .list_service_deployments()
            .cluster(cluster)
            .service(service)
            .status(ServiceDeploymentStatus::Successful)
            .created_at(
                aws_sdk_ecs::types::CreatedAt::builder()
                    .after(aws_smithy_types::DateTime::from_secs_f64(created_after))
                    .build(),
            )
            .max_results(LATEST_SUCCESSES)
            .send()
            .await
            .map_err(|e| classify("ListServiceDeployments", e))?;
        let latest = out
            .service_deployments()
            .iter()
            .filter(|d| {
                d.created_at
                    .is_some_and(|t| t.as_secs_f64() >= created_after)
            })
            .max_by(|a, b| {
                let at = |d: &aws_sdk_ecs::types::ServiceDeploymentBrief| {
                    d.created_at.map(|t| t.as_secs_f64()).unwrap_or_default()
                };
                at(a).total_cmp(&at(b))
            });
        Ok(latest.and_then(|d| {
            Some(RolloutSpan {
                started_at: d.started_at?.as_secs_f64(),
                finished_at: d.finished_at?.as_secs_f64(),
            })
        }))
    }
}

#[cfg(test)]
#[path = "rollout_settings_tests.rs"]
mod tests;
