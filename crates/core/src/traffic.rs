//! The production traffic steps of a linear or canary deployment, as Stevedore's lifecycle
//! hook sees them and records them on the release.
//!
//! ECS invokes PRODUCTION_TRAFFIC_SHIFT hooks "at every production traffic shift step" of a
//! linear or canary deployment, with `productionTrafficWeights` (revision ARN → percent) and
//! `targetServiceRevisionArn` in the payload
//! (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html>,
//! <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-linear.html>).
//! No step index is sent: the step is the target revision's production weight. "When a roll
//! back happens, Amazon ECS runs the lifecycle hooks for … PRODUCTION_TRAFFIC_SHIFT" again
//! (same page), and which revision such an invocation targets is not documented; so an
//! invocation is a forward step only when it targets the revision the deployment started
//! (recorded at PRE_SCALE_UP, where the new revision is the target and has no traffic yet)
//! and that revision's weight rose above its last recorded step.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The stage invoked at every production traffic step.
pub const STEP_STAGE: &str = "PRODUCTION_TRAFFIC_SHIFT";
/// The stage before the new revision starts: it is the target, with 0 % of production.
pub const START_STAGE: &str = "PRE_SCALE_UP";

/// One traffic step as recorded on the release (`traffic_steps`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrafficStep {
    /// Percent of production traffic on the new revision after the step.
    pub percent: f64,
    /// The ECS lifecycle stage the hook was invoked at.
    pub lifecycle_stage: String,
    pub at: String,
    /// The new revision (ECS service revision ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The ECS service, in a release of several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// The target revision and its percent of production traffic from an invocation's
/// `executionDetails`; None when either is missing.
pub fn target_weight(execution_details: Option<&Value>) -> Option<(String, f64)> {
    let details = execution_details?;
    let target = details.get("targetServiceRevisionArn")?.as_str()?;
    let percent = details
        .get("productionTrafficWeights")?
        .get(target)?
        .as_f64()?;
    Some((target.to_string(), percent))
}

/// What a PRODUCTION_TRAFFIC_SHIFT invocation is, against the steps recorded so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StepKind {
    /// The new revision's production share rose: a step to record (and check).
    Forward,
    /// The step last recorded, invoked again (after the hook answered IN_PROGRESS).
    Same,
    /// A rollback (or a stray invocation): neither recorded nor checked.
    NotForward,
}

/// The last step recorded for `service`.
pub fn last_step<'a>(steps: &'a [TrafficStep], service: Option<&str>) -> Option<&'a TrafficStep> {
    steps
        .iter()
        .rev()
        .find(|step| step.service.as_deref() == service)
}

/// Whether `target` at `percent` moves the deployment's traffic forward. Without any record
/// for the service (its start could not be written) a share above 0 counts as forward.
pub fn classify(
    steps: &[TrafficStep],
    service: Option<&str>,
    target: &str,
    percent: f64,
) -> StepKind {
    const EPSILON: f64 = 1e-6;
    let Some(last) = last_step(steps, service) else {
        return if percent > EPSILON {
            StepKind::Forward
        } else {
            StepKind::NotForward
        };
    };
    if last.revision.as_deref().is_some_and(|rev| rev != target) {
        return StepKind::NotForward;
    }
    if percent > last.percent + EPSILON {
        StepKind::Forward
    } else if (percent - last.percent).abs() <= EPSILON && last.lifecycle_stage == STEP_STAGE {
        StepKind::Same
    } else {
        StepKind::NotForward
    }
}

/// The production steps for a person: `34 % → 68 % → 100 %` (service-prefixed per service
/// in a release of several), or None when none was recorded.
pub fn describe_steps(steps: &[TrafficStep]) -> Option<String> {
    let mut services: Vec<Option<&str>> = Vec::new();
    for step in steps {
        if !services.contains(&step.service.as_deref()) {
            services.push(step.service.as_deref());
        }
    }
    let parts: Vec<String> = services
        .into_iter()
        .filter_map(|service| {
            let shares: Vec<String> = steps
                .iter()
                .filter(|s| s.service.as_deref() == service && s.lifecycle_stage == STEP_STAGE)
                .map(|s| format!("{} %", s.percent))
                .collect();
            if shares.is_empty() {
                return None;
            }
            let shares = shares.join(" → ");
            Some(match service {
                Some(name) if steps.iter().any(|s| s.service.as_deref() != Some(name)) => {
                    format!("{name}: {shares}")
                }
                _ => shares,
            })
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
#[path = "traffic_tests.rs"]
mod tests;
