//! How long ECS itself takes to roll a service forward, predicted from the service's own
//! settings (its deployment configuration, target groups and task definition), and what
//! would shorten it. `stevedore doctor` prints it; deploy stores it on each release beside
//! the rollout ECS then measures.
//!
//! The model (shared with the local emulator's rollout simulation), in real-AWS seconds:
//! - a new task starts (launch → RUNNING) in [`ASSUMED_TASK_START_SECONDS`]: no setting
//!   decides it (provisioning, image pull), so it is an assumption and says so;
//! - it counts as healthy after its target groups' `HealthyThresholdCount ×
//!   HealthCheckIntervalSeconds` (that many consecutive passing checks, one per interval;
//!   <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html>),
//!   or an essential container's health check `interval` (the first check runs one interval
//!   after start and one pass makes it HEALTHY;
//!   <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html>), the
//!   larger when it has both (they run at the same time), else after
//!   [`UNCHECKED_TASK_WAIT_SECONDS`] ("the service scheduler will wait for 40 seconds after a
//!   task reaches a RUNNING state before the task is counted towards the minimum healthy
//!   percent total",
//!   <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html>);
//! - an old task leaves after its target groups' deregistration delay (default
//!   [`DEFAULT_DEREGISTRATION_DELAY_SECONDS`],
//!   <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#deregistration-delay>),
//!   then its containers' `stopTimeout` (default [`DEFAULT_STOP_TIMEOUT_SECONDS`],
//!   <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html>),
//!   ASSUMED taken in full (the worst case ECS waits for; an app that exits on SIGTERM
//!   stops sooner);
//! - rolling: the waves `minimumHealthyPercent` / `maximumPercent` allow ([`waves`]);
//!   blue/green, linear, canary: green comes up at once, traffic shifts (linear and canary
//!   wait between steps), the bake time passes, blue is stopped.
//!
//! Lifecycle-hook time is Stevedore's own, not part of the prediction.

use serde::{Deserialize, Serialize};

use crate::config::{RolloutOrder, Strategy};

mod accuracy;
mod advice;
mod settings;
mod waves;
mod words;

pub use accuracy::{rollout_accuracy, RolloutAccuracy};
pub use advice::{advise, savings_words, Advice};
pub(crate) use settings::TaskTimes;
pub use settings::{ContainerHealthCheck, ContainerSettings, ServiceSettings, TargetGroupSettings};
pub use words::{human_duration, part_words, summary};

/// ASSUMED: launch → RUNNING of a new task (no setting decides it).
pub const ASSUMED_TASK_START_SECONDS: u64 = 30;
/// Documented: a task without health checks counts healthy 40 s after RUNNING.
pub const UNCHECKED_TASK_WAIT_SECONDS: u64 = 40;
/// Documented defaults (see the module's links).
pub const DEFAULT_DEREGISTRATION_DELAY_SECONDS: u32 = 300;
pub const DEFAULT_STOP_TIMEOUT_SECONDS: u32 = 30;
pub const DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS: u32 = 30;
pub const DEFAULT_HEALTHY_THRESHOLD_COUNT: u32 = 5;
pub const DEFAULT_HEALTH_CHECK_TIMEOUT_SECONDS: u32 = 5;
pub const DEFAULT_CONTAINER_HEALTH_CHECK_INTERVAL_SECONDS: u32 = 30;
pub const DEFAULT_MINIMUM_HEALTHY_PERCENT: u32 = 100;
pub const DEFAULT_MAXIMUM_PERCENT: u32 = 200;

/// What a span of the rollout is spent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartKind {
    DeregistrationDelay,
    TargetGroupHealthChecks,
    ContainerHealthCheck,
    UncheckedTaskWait,
    TrafficShift,
    BakeTime,
    TaskStart,
    StopTimeout,
}

impl PartKind {
    pub const ALL: [PartKind; 8] = [
        PartKind::DeregistrationDelay,
        PartKind::TargetGroupHealthChecks,
        PartKind::ContainerHealthCheck,
        PartKind::UncheckedTaskWait,
        PartKind::TrafficShift,
        PartKind::BakeTime,
        PartKind::TaskStart,
        PartKind::StopTimeout,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PartKind::DeregistrationDelay => "deregistration delay",
            PartKind::TargetGroupHealthChecks => "target group health checks",
            PartKind::ContainerHealthCheck => "container health check",
            PartKind::UncheckedTaskWait => "wait for a task without health checks",
            PartKind::TrafficShift => "traffic shift steps",
            PartKind::BakeTime => "bake time",
            PartKind::TaskStart => "task start",
            PartKind::StopTimeout => "stop timeout",
        }
    }

    /// Not set by any setting, or taken at its worst: an ASSUMPTION where printed.
    pub fn assumed(self) -> bool {
        matches!(self, PartKind::TaskStart | PartKind::StopTimeout)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A named share of the predicted rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub kind: PartKind,
    pub name: String,
    pub seconds: u64,
    /// An ASSUMPTION of the model, not a setting.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub assumed: bool,
    /// How many times it lies on the rollout's path (waves, steps).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// The predicted rollout of one service: `seconds` is the sum of `parts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub service: String,
    pub seconds: u64,
    pub parts: Vec<Part>,
    /// Rolling: how many stop/start waves; traffic shifting: 1.
    pub waves: u32,
    /// Why ECS cannot finish this rollout at all (then `seconds` is 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stalled: Option<String>,
}

/// Seconds per part kind on a path of the rollout, and how often each lies on it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Path {
    seconds: [u64; 8],
    times: [u32; 8],
}

impl Path {
    pub(crate) fn add(mut self, kind: PartKind, seconds: u64) -> Path {
        self.seconds[kind.index()] += seconds;
        self.times[kind.index()] += 1;
        self
    }

    pub(crate) fn total(&self) -> u64 {
        self.seconds.iter().sum()
    }

    fn parts(&self) -> Vec<Part> {
        let mut parts: Vec<Part> = PartKind::ALL
            .iter()
            .filter(|k| self.times[k.index()] > 0 && self.seconds[k.index()] > 0)
            .map(|&kind| Part {
                kind,
                name: kind.name().to_string(),
                seconds: self.seconds[kind.index()],
                assumed: kind.assumed(),
                times: self.times[kind.index()],
            })
            .collect();
        // Longest first, so the summary leads with what matters most.
        parts.sort_by(|a, b| b.seconds.cmp(&a.seconds).then(a.kind.cmp(&b.kind)));
        parts
    }
}

/// The predicted rollout of one service.
pub fn estimate(settings: &ServiceSettings) -> Estimate {
    let times = settings.task_times();
    let outcome = if settings.strategy.shifts_traffic() {
        Ok((traffic_shifting(settings, &times), 1))
    } else {
        waves::simulate(
            settings.desired_count,
            settings.minimum_healthy(),
            settings.maximum(),
            &times,
        )
        .map(|done| (done.path, done.waves))
    };
    match outcome {
        Ok((path, waves)) => Estimate {
            service: settings.service.clone(),
            seconds: path.total(),
            parts: path.parts(),
            waves,
            stalled: None,
        },
        Err(stalled) => Estimate {
            service: settings.service.clone(),
            seconds: 0,
            parts: Vec::new(),
            waves: 0,
            stalled: Some(stalled),
        },
    }
}

/// Blue/green, linear, canary: green up (all tasks at once), the traffic steps, the bake
/// time, then blue's clean-up.
fn traffic_shifting(settings: &ServiceSettings, times: &TaskTimes) -> Path {
    let mut path = Path::default();
    if settings.desired_count > 0 {
        path = path
            .add(PartKind::TaskStart, times.start)
            .add(times.healthy.0, times.healthy.1);
    }
    for _ in 0..traffic_waits(settings) {
        path = path.add(PartKind::TrafficShift, step_wait_seconds(settings));
    }
    let bake = u64::from(settings.bake_time_minutes.unwrap_or(0)) * 60;
    if bake > 0 {
        path = path.add(PartKind::BakeTime, bake);
    }
    if settings.desired_count > 0 {
        if times.deregistration > 0 {
            path = path.add(PartKind::DeregistrationDelay, times.deregistration);
        }
        path = path.add(PartKind::StopTimeout, times.stop);
    }
    path
}

/// Linear: a wait after every step but the last, `ceil(100 / stepPercent) - 1`; canary: one.
pub(crate) fn traffic_waits(settings: &ServiceSettings) -> u64 {
    match settings.strategy {
        Strategy::Linear => {
            let step = settings.linear.unwrap_or_default().step_percent;
            // ECS takes tenths of a percent: count steps in whole tenths.
            let tenths = (step * 10.0).round().max(1.0) as u64;
            1000u64.div_ceil(tenths).saturating_sub(1)
        }
        Strategy::Canary => 1,
        _ => 0,
    }
}

pub(crate) fn step_wait_seconds(settings: &ServiceSettings) -> u64 {
    let minutes = match settings.strategy {
        Strategy::Linear => settings.linear.unwrap_or_default().step_minutes,
        Strategy::Canary => settings.canary.unwrap_or_default().bake_minutes,
        _ => 0,
    };
    u64::from(minutes) * 60
}

/// A stage's services: rolled out together (`parallel`, the longest decides) or one after
/// the other (`sequential`, they add up).
pub fn stage_seconds(order: RolloutOrder, estimates: &[Estimate]) -> u64 {
    let each = estimates.iter().map(|e| e.seconds);
    match order {
        RolloutOrder::Parallel => each.max().unwrap_or(0),
        RolloutOrder::Sequential => each.sum(),
    }
}

/// The parts of a stage's prediction: the longest service's (parallel), or every
/// service's summed per kind (sequential).
pub fn stage_parts(order: RolloutOrder, estimates: &[Estimate]) -> Vec<Part> {
    match order {
        RolloutOrder::Parallel => estimates
            .iter()
            .max_by_key(|e| e.seconds)
            .map(|e| e.parts.clone())
            .unwrap_or_default(),
        RolloutOrder::Sequential => {
            let mut path = Path::default();
            for part in estimates.iter().flat_map(|e| &e.parts) {
                path.seconds[part.kind.index()] += part.seconds;
                path.times[part.kind.index()] += part.times;
            }
            path.parts()
        }
    }
}

#[cfg(test)]
mod advice_tests;
#[cfg(test)]
mod tests;
