//! What the prediction reads of a service (plain settings, as AWS reports them), and the
//! durations one task goes through that follow from them.

use serde::{Deserialize, Serialize};

use super::{
    PartKind, ASSUMED_TASK_START_SECONDS, DEFAULT_CONTAINER_HEALTH_CHECK_INTERVAL_SECONDS,
    DEFAULT_DEREGISTRATION_DELAY_SECONDS, DEFAULT_HEALTHY_THRESHOLD_COUNT,
    DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS, DEFAULT_MAXIMUM_PERCENT,
    DEFAULT_MINIMUM_HEALTHY_PERCENT, DEFAULT_STOP_TIMEOUT_SECONDS, UNCHECKED_TASK_WAIT_SECONDS,
};
use crate::config::{CanarySettings, LinearSettings, Strategy};

/// What the prediction reads of one service, as ECS, ELB and the task definition have it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceSettings {
    pub service: String,
    pub desired_count: u32,
    /// None: ECS's default.
    pub minimum_healthy_percent: Option<u32>,
    pub maximum_percent: Option<u32>,
    pub strategy: Strategy,
    /// `strategy: linear` / `canary`: ECS's defaults when absent.
    pub linear: Option<LinearSettings>,
    pub canary: Option<CanarySettings>,
    /// `bakeTimeInMinutes` (blue/green, linear, canary).
    pub bake_time_minutes: Option<u32>,
    pub circuit_breaker: bool,
    pub circuit_breaker_rollback: bool,
    pub target_groups: Vec<TargetGroupSettings>,
    pub containers: Vec<ContainerSettings>,
    /// The task size, as the task definition says it (`"512"`, `"1 vCPU"`); shown, not modelled.
    pub task_cpu: Option<String>,
    pub task_memory: Option<String>,
}

/// A target group the service registers its tasks with; None: ELB's default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetGroupSettings {
    pub name: String,
    pub deregistration_delay_seconds: Option<u32>,
    pub health_check_interval_seconds: Option<u32>,
    pub healthy_threshold_count: Option<u32>,
    pub health_check_timeout_seconds: Option<u32>,
}

/// A container of the task definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerSettings {
    pub name: String,
    pub essential: bool,
    pub stop_timeout_seconds: Option<u32>,
    pub health_check: Option<ContainerHealthCheck>,
}

/// A container's `healthCheck`; None: ECS's default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerHealthCheck {
    pub interval_seconds: Option<u32>,
    pub timeout_seconds: Option<u32>,
    pub retries: Option<u32>,
    pub start_period_seconds: Option<u32>,
}

/// The durations one task goes through, from the settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TaskTimes {
    pub start: u64,
    /// RUNNING → counted healthy, and what decides it.
    pub healthy: (PartKind, u64),
    pub deregistration: u64,
    pub stop: u64,
}

impl ServiceSettings {
    pub(crate) fn task_times(&self) -> TaskTimes {
        let target_group = self
            .target_groups
            .iter()
            .map(|tg| {
                u64::from(
                    tg.healthy_threshold_count
                        .unwrap_or(DEFAULT_HEALTHY_THRESHOLD_COUNT),
                ) * u64::from(
                    tg.health_check_interval_seconds
                        .unwrap_or(DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS),
                )
            })
            .max();
        let container = self
            .containers
            .iter()
            .filter(|c| c.essential)
            .filter_map(|c| c.health_check.as_ref())
            .map(|h| {
                u64::from(
                    h.interval_seconds
                        .unwrap_or(DEFAULT_CONTAINER_HEALTH_CHECK_INTERVAL_SECONDS),
                )
            })
            .max();
        let healthy = match (target_group, container) {
            (Some(tg), Some(c)) if c > tg => (PartKind::ContainerHealthCheck, c),
            (Some(tg), _) => (PartKind::TargetGroupHealthChecks, tg),
            (None, Some(c)) => (PartKind::ContainerHealthCheck, c),
            (None, None) => (PartKind::UncheckedTaskWait, UNCHECKED_TASK_WAIT_SECONDS),
        };
        let deregistration = self
            .target_groups
            .iter()
            .map(|tg| {
                u64::from(
                    tg.deregistration_delay_seconds
                        .unwrap_or(DEFAULT_DEREGISTRATION_DELAY_SECONDS),
                )
            })
            .max()
            .unwrap_or(0);
        // The task stops when its last container has: each gets its own stopTimeout.
        let stop = self
            .containers
            .iter()
            .map(|c| {
                u64::from(
                    c.stop_timeout_seconds
                        .unwrap_or(DEFAULT_STOP_TIMEOUT_SECONDS),
                )
            })
            .max()
            .unwrap_or(u64::from(DEFAULT_STOP_TIMEOUT_SECONDS));
        TaskTimes {
            start: ASSUMED_TASK_START_SECONDS,
            healthy,
            deregistration,
            stop,
        }
    }

    pub fn minimum_healthy(&self) -> u32 {
        self.minimum_healthy_percent
            .unwrap_or(DEFAULT_MINIMUM_HEALTHY_PERCENT)
    }

    pub fn maximum(&self) -> u32 {
        self.maximum_percent.unwrap_or(DEFAULT_MAXIMUM_PERCENT)
    }
}
