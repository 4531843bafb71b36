//! Release metrics as CloudWatch Embedded Metric Format (EMF) log lines: the record function
//! prints one line per release transition that ends a measured span, and CloudWatch Logs
//! extracts the metrics from it (no PutMetricData call, no extra permission). On Lambda,
//! "Lambda automatically sends everything that your function writes to standard output to a
//! CloudWatch Logs log group, and CloudWatch Logs extracts metrics from any log events that
//! follow the embedded metric format specification"
//! (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Lambda.html);
//! with the function's JSON log format, Lambda keeps a line that is already JSON as it is.
//!
//! Shape, from "Specification: Embedded metric format"
//! (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
//! the log event is one JSON object with nothing before or after it; its root has an `_aws`
//! metadata object with `Timestamp` (epoch milliseconds) and `CloudWatchMetrics`, an array of
//! metric directives, each with a `Namespace`, `Dimensions` (an array of dimension sets, each
//! an array of at most 30 root member names) and `Metrics` (at most 100 metric definitions:
//! `Name`, `Unit`); every dimension and metric named there is a member of the root (dimension
//! values strings, metric values numbers). Other root members are plain properties, kept in
//! the log for queries (here `ReleaseId`, `Phase`, `Trigger`). EMF delivers at least once:
//! the page warns that duplicate metric values may occasionally occur.
//!
//! Metrics, namespace [`NAMESPACE`]:
//! - `Releases` (Count, 1 per terminal status) by `App`, `Stage`, `Status`;
//! - `ReleaseDuration` (created → terminal), `LeadTime` (push → SUCCEEDED), `LockWait`
//!   (at `lock_acquired`), `RenderDuration` (at `rendered`), `MigrationDuration` (at
//!   `migrated`), `RolloutDuration` (deploy started → terminal), in Seconds, by `App`, `Stage`;
//! - once a release SUCCEEDED, deploy's line: `EcsRolloutDuration` (ECS's own rollout, as its
//!   service deployments measured it) and `PredictedRolloutDuration` (what the services'
//!   settings predicted, `crate::rollout_estimate`), in Seconds, by `App`, `Stage`.

use chrono::DateTime;
use serde_json::{json, Map, Value};

use crate::release::event::ReleaseStateChange;
use crate::release::Phase;

pub const NAMESPACE: &str = "Stevedore";

/// The metric names, as the template's dashboard graphs them.
pub mod names {
    pub const RELEASES: &str = "Releases";
    pub const RELEASE_DURATION: &str = "ReleaseDuration";
    pub const LEAD_TIME: &str = "LeadTime";
    pub const LOCK_WAIT: &str = "LockWait";
    pub const RENDER_DURATION: &str = "RenderDuration";
    pub const MIGRATION_DURATION: &str = "MigrationDuration";
    pub const ROLLOUT_DURATION: &str = "RolloutDuration";
    pub const ECS_ROLLOUT_DURATION: &str = "EcsRolloutDuration";
    pub const PREDICTED_ROLLOUT_DURATION: &str = "PredictedRolloutDuration";
}

/// The release's ECS rollout, measured and predicted (when it was), as one EMF line.
pub fn rollout_emf_line(
    app: &str,
    stage: &str,
    release_id: &str,
    measured_seconds: f64,
    predicted_seconds: Option<u64>,
    timestamp_ms: i64,
) -> String {
    let mut metrics = vec![(names::ECS_ROLLOUT_DURATION, measured_seconds)];
    metrics.extend(predicted_seconds.map(|p| (names::PREDICTED_ROLLOUT_DURATION, p as f64)));
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": [directive(&["App", "Stage"], &metrics, "Seconds")]}),
    );
    root.insert("App".into(), json!(app));
    root.insert("Stage".into(), json!(stage));
    root.insert("ReleaseId".into(), json!(release_id));
    for (name, value) in &metrics {
        root.insert((*name).into(), json!(value));
    }
    format!("{}\n", Value::Object(root))
}

/// The EMF document for the transition `change` describes, or `None` when it ends no
/// measured span (PENDING, the approval gate, deploy started).
pub fn emf_document(change: &ReleaseStateChange) -> Option<Value> {
    let d = &change.durations;
    let mut durations: Vec<(&str, f64)> = Vec::new();
    let mut counts: Vec<(&str, f64)> = Vec::new();
    if change.status.is_terminal() {
        counts.push((names::RELEASES, 1.0));
        durations.extend(d.total_seconds.map(|v| (names::RELEASE_DURATION, v)));
        durations.extend(d.lead_time_seconds.map(|v| (names::LEAD_TIME, v)));
        durations.extend(d.rollout_seconds.map(|v| (names::ROLLOUT_DURATION, v)));
    } else {
        let ended = match change.phase {
            Phase::LockAcquired => d.lock_wait_seconds.map(|v| (names::LOCK_WAIT, v)),
            Phase::Rendered => d.render_seconds.map(|v| (names::RENDER_DURATION, v)),
            Phase::Migrated => d.migration_seconds.map(|v| (names::MIGRATION_DURATION, v)),
            _ => None,
        };
        durations.extend(ended);
    }
    if counts.is_empty() && durations.is_empty() {
        return None;
    }
    let mut directives = Vec::new();
    if !counts.is_empty() {
        directives.push(directive(&["App", "Stage", "Status"], &counts, "Count"));
    }
    if !durations.is_empty() {
        directives.push(directive(&["App", "Stage"], &durations, "Seconds"));
    }
    let timestamp_ms = DateTime::parse_from_rfc3339(&change.time)
        .map(|t| t.timestamp_millis())
        .unwrap_or_default();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": directives}),
    );
    root.insert("App".into(), json!(change.app));
    root.insert("Stage".into(), json!(change.stage));
    root.insert("Status".into(), json!(change.status.to_string()));
    root.insert("ReleaseId".into(), json!(change.release_id));
    root.insert("Phase".into(), json!(change.phase.to_string()));
    root.insert("Trigger".into(), json!(change.trigger.to_string()));
    for (name, value) in counts.iter().chain(&durations) {
        root.insert((*name).into(), json!(value));
    }
    Some(Value::Object(root))
}

/// [`emf_document`] as one log line, newline included: written with a single write, so no
/// other log output can land inside it.
pub fn emf_line(change: &ReleaseStateChange) -> Option<String> {
    emf_document(change).map(|doc| format!("{doc}\n"))
}

fn directive(dimensions: &[&str], metrics: &[(&str, f64)], unit: &str) -> Value {
    json!({
        "Namespace": NAMESPACE,
        "Dimensions": [dimensions],
        "Metrics": metrics
            .iter()
            .map(|(name, _)| json!({"Name": name, "Unit": unit}))
            .collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests;
