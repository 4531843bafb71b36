//! `stevedore doctor`'s text: per stage its predicted rollout, per service the sum of its
//! parts (assumptions marked), what was read, then the changes that shorten it and what
//! each trades, and warnings.

use stevedore_core::config::{RolloutOrder, Strategy};
use stevedore_core::rollout_estimate::{
    human_duration, savings_words, summary, Estimate, ServiceSettings, ASSUMED_TASK_START_SECONDS,
    DEFAULT_DEREGISTRATION_DELAY_SECONDS, DEFAULT_HEALTHY_THRESHOLD_COUNT,
    DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS, DEFAULT_STOP_TIMEOUT_SECONDS,
};

use super::{DoctorReport, ServiceDoctor, StageDoctor};
use crate::output::{Paint, BAD, BOLD, BUSY, DIM};

/// The whole report as text.
pub fn human(report: &DoctorReport, paint: Paint) -> String {
    let mut lines = Vec::new();
    for stage in &report.stages {
        lines.extend(stage_lines(&report.app, stage, paint));
        lines.push(String::new());
    }
    if report.stages.is_empty() {
        lines.push(format!("app `{}` has no stages", report.app));
    }
    lines.push(paint.style(DIM, &format!(
        "ECS's own rollout only (Stevedore's steps and lifecycle hooks come on top). Assumed: {} s task start (provisioning, image pull: no setting decides it); stop timeout taken in full (an app that exits on SIGTERM stops sooner).",
        ASSUMED_TASK_START_SECONDS
    )));
    lines.join("\n") + "\n"
}

fn stage_lines(app: &str, stage: &StageDoctor, paint: Paint) -> Vec<String> {
    let how = match (stage.services.len(), stage.rollout_order) {
        (0 | 1, _) => String::new(),
        (n, RolloutOrder::Parallel) => format!(" ({n} services in parallel: the longest decides)"),
        (n, RolloutOrder::Sequential) => format!(" ({n} services one after another: they add up)"),
    };
    let total = match stage.predicted_seconds {
        Some(seconds) => format!("≈ {}", human_duration(seconds)),
        None => "not predicted (a service could not be read)".to_string(),
    };
    let mut lines = vec![paint.style(BOLD, &format!("{app} / {}{how}: {total}", stage.stage))];
    for service in &stage.services {
        lines.extend(service_lines(service, paint));
    }
    lines
}

fn service_lines(service: &ServiceDoctor, paint: Paint) -> Vec<String> {
    let (Some(settings), Some(estimate)) = (&service.settings, &service.estimate) else {
        let error = service.error.as_deref().unwrap_or("not read");
        return vec![format!(
            "  {}: {}",
            service.service,
            paint.style(BAD, &format!("could not read its settings: {error}"))
        )];
    };
    let mut lines = vec![format!(
        "  {} {}",
        paint.style(BOLD, &service.service),
        summary(estimate)
    )];
    lines.push(paint.style(
        DIM,
        &format!("    reads: {}", settings_words(settings, estimate)),
    ));
    if !service.advice.is_empty() {
        lines.push("    to shorten it:".to_string());
        for advice in &service.advice {
            lines.push(format!(
                "      - {}: {}; {} [{}]",
                advice.change,
                savings_words(advice),
                advice.trade,
                advice.setting
            ));
        }
    }
    for warning in &service.warnings {
        lines.push(format!("    {} {warning}", paint.style(BUSY, "warning:")));
    }
    lines
}

/// What the prediction read, in a line: strategy and counts, circuit breaker, each target
/// group's checks and delay, container health checks, stop timeout, task size.
pub fn settings_words(s: &ServiceSettings, e: &Estimate) -> String {
    let mut words = vec![strategy_words(s, e)];
    if s.strategy == Strategy::Rolling {
        words.push(match (s.circuit_breaker, s.circuit_breaker_rollback) {
            (true, true) => "circuit breaker with rollback".to_string(),
            (true, false) => "circuit breaker without rollback".to_string(),
            _ => "no circuit breaker".to_string(),
        });
    }
    for tg in &s.target_groups {
        words.push(format!(
            "target group {}: {} × {} health checks, deregistration delay {}",
            tg.name,
            or_default(
                tg.healthy_threshold_count,
                DEFAULT_HEALTHY_THRESHOLD_COUNT,
                ""
            ),
            or_default(
                tg.health_check_interval_seconds,
                DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS,
                " s"
            ),
            or_default(
                tg.deregistration_delay_seconds,
                DEFAULT_DEREGISTRATION_DELAY_SECONDS,
                " s"
            ),
        ));
    }
    if s.target_groups.is_empty() {
        words.push("no load balancer".to_string());
    }
    for c in s.containers.iter().filter(|c| c.essential) {
        if let Some(check) = &c.health_check {
            words.push(format!(
                "container {} health check every {}",
                c.name,
                or_default(check.interval_seconds, 30, " s")
            ));
        }
    }
    let stop = s
        .containers
        .iter()
        .map(|c| c.stop_timeout_seconds)
        .max()
        .flatten();
    let unset = s
        .containers
        .iter()
        .any(|c| c.stop_timeout_seconds.is_none());
    words.push(match stop {
        Some(seconds) if !unset || seconds >= DEFAULT_STOP_TIMEOUT_SECONDS => {
            format!("stopTimeout {seconds} s")
        }
        _ => format!("stopTimeout {DEFAULT_STOP_TIMEOUT_SECONDS} s (default)"),
    });
    if let (Some(cpu), Some(memory)) = (&s.task_cpu, &s.task_memory) {
        words.push(format!("task {cpu} CPU units, {memory} MiB"));
    }
    words.join("; ")
}

fn strategy_words(s: &ServiceSettings, e: &Estimate) -> String {
    let tasks = format!(
        "{} task{}",
        s.desired_count,
        if s.desired_count == 1 { "" } else { "s" }
    );
    let bake = s.bake_time_minutes.unwrap_or(0);
    match s.strategy {
        Strategy::Rolling => format!(
            "rolling, {tasks}, minimum healthy {} %, maximum {} % ({} wave{})",
            s.minimum_healthy(),
            s.maximum(),
            e.waves,
            if e.waves == 1 { "" } else { "s" }
        ),
        Strategy::BlueGreen => format!("blue/green, {tasks}, bake {bake} min"),
        Strategy::Linear => {
            let linear = s.linear.unwrap_or_default();
            format!(
                "linear {} % every {} min, {tasks}, bake {bake} min",
                linear.step_percent, linear.step_minutes
            )
        }
        Strategy::Canary => {
            let canary = s.canary.unwrap_or_default();
            format!(
                "canary {} % for {} min, {tasks}, bake {bake} min",
                canary.percent, canary.bake_minutes
            )
        }
    }
}

fn or_default(value: Option<u32>, default: u32, unit: &str) -> String {
    match value {
        Some(v) => format!("{v}{unit}"),
        None => format!("{default}{unit} (default)"),
    }
}

#[cfg(test)]
#[path = "doctor_output_tests.rs"]
mod tests;
