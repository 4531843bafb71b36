//! Concrete changes that would shorten a service's rollout, each with what it saves (the
//! prediction run again with the change made) and what it trades; and warnings about
//! settings that make a failing rollout slow.

use serde::{Deserialize, Serialize};

use super::{
    estimate, human_duration, step_wait_seconds, traffic_waits, Estimate, ServiceSettings,
    DEFAULT_CONTAINER_HEALTH_CHECK_INTERVAL_SECONDS, DEFAULT_DEREGISTRATION_DELAY_SECONDS,
    DEFAULT_HEALTHY_THRESHOLD_COUNT, DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS,
    DEFAULT_HEALTH_CHECK_TIMEOUT_SECONDS, DEFAULT_STOP_TIMEOUT_SECONDS,
};
use crate::config::Strategy;

/// Suggested values: short enough to matter, within what ELB and ECS accept.
const SHORT_DEREGISTRATION_DELAY: u32 = 30;
const SHORT_HEALTH_CHECK_INTERVAL: u32 = 10;
const SHORT_HEALTHY_THRESHOLD: u32 = 2;
const SHORT_CONTAINER_INTERVAL: u32 = 10;
const SHORT_STOP_TIMEOUT: u32 = 10;
const SHORT_STEP_MINUTES: u32 = 1;

/// One change, where to make it, what it saves and what it costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advice {
    /// e.g. `deregistration delay 300 s → 30 s`.
    pub change: String,
    /// The setting to change, as AWS names it.
    pub setting: String,
    pub saves_seconds: u64,
    /// The saving per wave, when the change keeps the rollout's waves (more than one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saves_per_wave_seconds: Option<u64>,
    pub trade: String,
}

/// What the service's settings say, as (advice, warnings); advice saving most first.
pub fn advise(
    settings: &ServiceSettings,
    timeout_seconds: Option<u64>,
) -> (Vec<Advice>, Vec<String>) {
    let base = estimate(settings);
    let mut advice = Vec::new();
    if base.stalled.is_none() && settings.desired_count > 0 {
        let candidates = [
            deregistration_delay(settings),
            target_group_health_checks(settings),
            container_health_check(settings),
            maximum_percent(settings),
            minimum_healthy(settings),
            stop_timeout(settings),
            step_bake(settings),
            bake_time(settings),
        ];
        for (changed, mut item) in candidates.into_iter().flatten() {
            let after = estimate(&changed);
            let saves = base.seconds.saturating_sub(after.seconds);
            if saves > 0 {
                item.saves_seconds = saves;
                let waves = u64::from(base.waves);
                item.saves_per_wave_seconds =
                    (after.waves == base.waves && waves > 1 && saves.is_multiple_of(waves))
                        .then(|| saves / waves);
                advice.push(item);
            }
        }
    }
    advice.sort_by_key(|a| std::cmp::Reverse(a.saves_seconds));
    (advice, warnings(settings, &base, timeout_seconds))
}

/// `saves ~9 min (4 min 30 s per wave)`, or `saves ~4 min 30 s`.
pub fn savings_words(advice: &Advice) -> String {
    match advice.saves_per_wave_seconds {
        Some(each) => format!(
            "saves ~{} ({} per wave)",
            human_duration(advice.saves_seconds),
            human_duration(each)
        ),
        None => format!("saves ~{}", human_duration(advice.saves_seconds)),
    }
}

fn item(change: String, setting: &str, trade: &str) -> Advice {
    Advice {
        change,
        setting: setting.to_string(),
        saves_seconds: 0,
        saves_per_wave_seconds: None,
        trade: trade.to_string(),
    }
}

fn deregistration_delay(s: &ServiceSettings) -> Option<(ServiceSettings, Advice)> {
    let longest = s
        .target_groups
        .iter()
        .map(|tg| {
            tg.deregistration_delay_seconds
                .unwrap_or(DEFAULT_DEREGISTRATION_DELAY_SECONDS)
        })
        .max()?;
    if longest <= SHORT_DEREGISTRATION_DELAY {
        return None;
    }
    let mut changed = s.clone();
    for tg in &mut changed.target_groups {
        let delay = tg
            .deregistration_delay_seconds
            .unwrap_or(DEFAULT_DEREGISTRATION_DELAY_SECONDS);
        tg.deregistration_delay_seconds = Some(delay.min(SHORT_DEREGISTRATION_DELAY));
    }
    Some((changed, item(
        format!("deregistration delay {longest} s → {SHORT_DEREGISTRATION_DELAY} s"),
        "target group attribute deregistration_delay.timeout_seconds",
        &format!("only for services whose requests end within {SHORT_DEREGISTRATION_DELAY} s: a request still running on an old task after that is cut off"),
    )))
}

fn target_group_health_checks(s: &ServiceSettings) -> Option<(ServiceSettings, Advice)> {
    let tg = s.target_groups.iter().max_by_key(|tg| {
        tg.healthy_threshold_count
            .unwrap_or(DEFAULT_HEALTHY_THRESHOLD_COUNT)
            * tg.health_check_interval_seconds
                .unwrap_or(DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS)
    })?;
    let interval = tg
        .health_check_interval_seconds
        .unwrap_or(DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS);
    let threshold = tg
        .healthy_threshold_count
        .unwrap_or(DEFAULT_HEALTHY_THRESHOLD_COUNT);
    if interval <= SHORT_HEALTH_CHECK_INTERVAL && threshold <= SHORT_HEALTHY_THRESHOLD {
        return None;
    }
    let (new_interval, new_threshold) = (
        interval.min(SHORT_HEALTH_CHECK_INTERVAL),
        threshold.min(SHORT_HEALTHY_THRESHOLD),
    );
    let mut changed = s.clone();
    for tg in &mut changed.target_groups {
        tg.health_check_interval_seconds = Some(
            tg.health_check_interval_seconds
                .unwrap_or(DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS)
                .min(new_interval),
        );
        tg.healthy_threshold_count = Some(
            tg.healthy_threshold_count
                .unwrap_or(DEFAULT_HEALTHY_THRESHOLD_COUNT)
                .min(new_threshold),
        );
    }
    let timeout = tg
        .health_check_timeout_seconds
        .unwrap_or(DEFAULT_HEALTH_CHECK_TIMEOUT_SECONDS);
    let timeout_note = if timeout >= new_interval {
        format!(" (its timeout, {timeout} s, must then be lowered below the interval)")
    } else {
        String::new()
    };
    Some((changed, item(
        format!("target group health checks {threshold} × {interval} s → {new_threshold} × {new_interval} s{timeout_note}"),
        "target group HealthyThresholdCount and HealthCheckIntervalSeconds",
        &format!("a new task takes traffic after {new_threshold} passing checks instead of {threshold}, and each load balancer node checks every task more often: keep the health check cheap and make it fail when the app cannot serve"),
    )))
}

fn container_health_check(s: &ServiceSettings) -> Option<(ServiceSettings, Advice)> {
    let interval = s
        .containers
        .iter()
        .filter(|c| c.essential)
        .filter_map(|c| c.health_check.as_ref())
        .map(|h| {
            h.interval_seconds
                .unwrap_or(DEFAULT_CONTAINER_HEALTH_CHECK_INTERVAL_SECONDS)
        })
        .max()?;
    if interval <= SHORT_CONTAINER_INTERVAL {
        return None;
    }
    let mut changed = s.clone();
    for check in changed
        .containers
        .iter_mut()
        .filter_map(|c| c.health_check.as_mut())
    {
        let now = check
            .interval_seconds
            .unwrap_or(DEFAULT_CONTAINER_HEALTH_CHECK_INTERVAL_SECONDS);
        check.interval_seconds = Some(now.min(SHORT_CONTAINER_INTERVAL));
    }
    Some((changed, item(
        format!("container health check interval {interval} s → {SHORT_CONTAINER_INTERVAL} s"),
        "task definition containerDefinitions[].healthCheck.interval",
        "the check command runs more often inside the container (its CPU and memory); a new task is found HEALTHY sooner",
    )))
}

fn maximum_percent(s: &ServiceSettings) -> Option<(ServiceSettings, Advice)> {
    if s.strategy != Strategy::Rolling || s.maximum() >= 200 {
        return None;
    }
    let mut changed = s.clone();
    changed.maximum_percent = Some(200);
    Some((changed, item(
        format!("maximum percent {} → 200 (one wave)", s.maximum()),
        "service deploymentConfiguration.maximumPercent",
        "ECS starts every new task beside the old ones: room for twice the tasks during the rollout (on Fargate, that many more tasks billed for those minutes; on EC2, spare cluster capacity)",
    )))
}

fn minimum_healthy(s: &ServiceSettings) -> Option<(ServiceSettings, Advice)> {
    if s.strategy != Strategy::Rolling || s.desired_count < 2 || s.minimum_healthy() <= 50 {
        return None;
    }
    let mut changed = s.clone();
    changed.minimum_healthy_percent = Some(50);
    Some((changed, item(
        format!("minimum healthy percent {} → 50", s.minimum_healthy()),
        "service deploymentConfiguration.minimumHealthyPercent",
        "when maximum percent cannot be raised: half of the tasks may be stopped before their replacements are healthy, so the service runs on half its capacity during the rollout",
    )))
}

fn stop_timeout(s: &ServiceSettings) -> Option<(ServiceSettings, Advice)> {
    let longest = s
        .containers
        .iter()
        .map(|c| {
            c.stop_timeout_seconds
                .unwrap_or(DEFAULT_STOP_TIMEOUT_SECONDS)
        })
        .max()
        .unwrap_or(DEFAULT_STOP_TIMEOUT_SECONDS);
    if longest <= SHORT_STOP_TIMEOUT {
        return None;
    }
    let mut changed = s.clone();
    for c in &mut changed.containers {
        let now = c
            .stop_timeout_seconds
            .unwrap_or(DEFAULT_STOP_TIMEOUT_SECONDS);
        c.stop_timeout_seconds = Some(now.min(SHORT_STOP_TIMEOUT));
    }
    Some((changed, item(
        format!("stopTimeout {longest} s → {SHORT_STOP_TIMEOUT} s"),
        "task definition containerDefinitions[].stopTimeout",
        &format!("only when the app finishes its work within {SHORT_STOP_TIMEOUT} s of SIGTERM (ECS then kills it); an app that exits on SIGTERM already stops sooner than this prediction assumes"),
    )))
}

fn step_bake(s: &ServiceSettings) -> Option<(ServiceSettings, Advice)> {
    let minutes = step_wait_seconds(s) / 60;
    if traffic_waits(s) == 0 || minutes <= u64::from(SHORT_STEP_MINUTES) {
        return None;
    }
    let mut changed = s.clone();
    let (name, setting) = match s.strategy {
        Strategy::Linear => {
            let mut linear = s.linear.unwrap_or_default();
            linear.step_minutes = SHORT_STEP_MINUTES;
            changed.linear = Some(linear);
            (
                "linear step bake",
                "linearConfiguration.stepBakeTimeInMinutes, stevedore.yaml `linear.step_minutes`",
            )
        }
        _ => {
            let mut canary = s.canary.unwrap_or_default();
            canary.bake_minutes = SHORT_STEP_MINUTES;
            changed.canary = Some(canary);
            (
                "canary bake",
                "canaryConfiguration.canaryBakeTimeInMinutes, stevedore.yaml `canary.bake_minutes`",
            )
        }
    };
    Some((changed, item(
        format!("{name} {minutes} min → {SHORT_STEP_MINUTES} min"),
        setting,
        "the deployment alarms have less time at each step to catch a bad revision before more production traffic moves to it",
    )))
}

fn bake_time(s: &ServiceSettings) -> Option<(ServiceSettings, Advice)> {
    let minutes = s.bake_time_minutes.filter(|m| *m > 0)?;
    if !s.strategy.shifts_traffic() {
        return None;
    }
    let mut changed = s.clone();
    changed.bake_time_minutes = Some(0);
    Some((changed, item(
        format!("bake time {minutes} min → 0"),
        "deploymentConfiguration.bakeTimeInMinutes, stevedore.yaml `bake_minutes`",
        "blue is stopped as soon as all traffic moved: a rollback after that is a new deployment, not an instant switch back",
    )))
}

fn warnings(s: &ServiceSettings, base: &Estimate, timeout_seconds: Option<u64>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(stalled) = &base.stalled {
        out.push(format!("this rollout never finishes: {stalled}"));
    }
    if s.desired_count == 0 {
        out.push("desired count is 0: the rollout replaces no task, so it shows nothing about the new revision's health".to_string());
    }
    if s.strategy == Strategy::Rolling && !s.circuit_breaker {
        let until = timeout_seconds
            .map(|t| format!("Stevedore's deploy_timeout_seconds ({})", human_duration(t)))
            .unwrap_or_else(|| "the deploy timeout".to_string());
        out.push(format!("deployment circuit breaker is off: a rollout whose tasks never become healthy keeps retrying until {until}, instead of failing after a few failed tasks; turn it on (with rollback) in the service's deploymentConfiguration.deploymentCircuitBreaker"));
    } else if s.strategy == Strategy::Rolling && !s.circuit_breaker_rollback {
        out.push("deployment circuit breaker has no rollback: a failed rollout stops, and the previous revision comes back only by Stevedore's restore (one more rollout)".to_string());
    }
    out
}
