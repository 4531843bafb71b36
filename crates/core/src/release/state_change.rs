//! Builds a release event's detail ([`ReleaseStateChange`]) from the release item and the
//! [`Transition`] it just made: the release's identity, the durations its phase timestamps
//! give, and console links for a person.
//!
//! The detail depends only on the item and the transition (its `time` is the timestamp of
//! the phase reached), so a redelivered stream record gives the same detail again. The
//! parked approval task token is never part of it.

use chrono::{DateTime, Utc};

use super::event::{
    Durations, EventStatus, Links, ReleaseStateChange, ServiceState, DETAIL_VERSION,
};
use super::transition::Transition;
use super::{timestamp, Phase, Release};
use crate::config::{service_identity, StageConfig};

/// The ECS service a release's console link and `cluster`/`service` fields name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLocation {
    /// As configured: a name or an ARN.
    pub cluster: String,
    pub service: String,
}

/// Where the release's events are built: the account's partition and region, for links to
/// resources given by name (a resource given by ARN is linked in its own region).
#[derive(Debug, Clone)]
pub struct EventContext {
    pub partition: String,
    pub region: String,
    pub location: Option<ServiceLocation>,
    /// When the change was recorded: the event's time when the phase has no timestamp.
    pub recorded_at: DateTime<Utc>,
}

/// The release's service: the record's own (a multi-service release's migration service,
/// else its first) when the record lists its services, else the stage's (`stage` is the
/// app's stage config, absent if the app or stage is no longer configured).
pub fn service_location(release: &Release, stage: Option<&StageConfig>) -> Option<ServiceLocation> {
    if !release.services.is_empty() {
        let wanted = stage.and_then(|s| s.migration_service.as_deref());
        let record = wanted
            .and_then(|name| release.services.iter().find(|r| r.service == name))
            .or_else(|| release.services.first())?;
        return Some(ServiceLocation {
            cluster: record.cluster.clone(),
            service: record.service.clone(),
        });
    }
    let stage = stage?;
    let service = stage
        .migration_service
        .as_deref()
        .unwrap_or_else(|| stage.first_service());
    (!service.is_empty()).then(|| ServiceLocation {
        cluster: stage.cluster.clone(),
        service: service.to_string(),
    })
}

/// The event detail of `transition` of `release`.
pub fn state_change(
    release: &Release,
    transition: &Transition,
    context: &EventContext,
) -> ReleaseStateChange {
    let at = release
        .phase_timestamp(transition.phase)
        .and_then(parse)
        .unwrap_or(context.recorded_at);
    let spec = &release.spec;
    ReleaseStateChange {
        version: DETAIL_VERSION.to_string(),
        app: spec.app.clone(),
        stage: spec.stage.clone(),
        release_id: spec.release_id.clone(),
        trigger: spec.trigger,
        source_release_id: spec.source_release_id.clone(),
        status: transition.status,
        previous_status: transition.previous_status,
        phase: transition.phase,
        reason: transition.reason.clone(),
        repository: spec.repository.clone(),
        digest: spec.digest.clone(),
        tag: spec.tag.clone(),
        image: spec.image_uri.clone(),
        cluster: context.location.as_ref().map(|l| l.cluster.clone()),
        service: context.location.as_ref().map(|l| l.service.clone()),
        task_definition_arn: release.task_definition_arn.clone(),
        previous_task_definition_arn: release.previous_task_definition_arn.clone(),
        execution_arn: release.execution_arn.clone(),
        services: release
            .services
            .iter()
            .map(|s| ServiceState {
                service: s.service.clone(),
                status: s.status.clone(),
                task_definition_arn: Some(s.task_definition_arn.clone()),
            })
            .collect(),
        created_at: release.created_at.clone(),
        time: timestamp(at),
        durations: durations(release, transition.status, at),
        links: links(release, context),
    }
}

/// Each duration whose two ends the release has recorded by `at` (see [`Durations`]).
pub fn durations(release: &Release, status: EventStatus, at: DateTime<Utc>) -> Durations {
    let ts = |phase: Phase| release.phase_timestamp(phase).and_then(parse);
    let created = parse(&release.created_at);
    let finished = ts(Phase::Finished);
    Durations {
        total_seconds: created.map(|c| seconds(c, at)),
        lock_wait_seconds: between(ts(Phase::Pending).or(created), ts(Phase::LockAcquired)),
        render_seconds: between(ts(Phase::LockAcquired), ts(Phase::Rendered)),
        approval_wait_seconds: between(ts(Phase::ApprovalRequested), ts(Phase::ApprovalDecided)),
        // Behind an approval gate the migration starts once a person approved.
        migration_seconds: between(
            ts(Phase::ApprovalDecided).or(ts(Phase::Rendered)),
            ts(Phase::Migrated),
        ),
        rollout_seconds: between(ts(Phase::DeployStarted), finished),
        lead_time_seconds: match status {
            EventStatus::Succeeded => between(release.push_time(), finished.or(Some(at))),
            _ => None,
        },
    }
}

fn links(release: &Release, context: &EventContext) -> Links {
    let execution = release.execution_arn.as_deref().and_then(|arn| {
        let (partition, region) = arn_partition_region(arn)?;
        Some(format!(
            "https://{region}.{host}/states/home?region={region}#/v2/executions/details/{arn}",
            host = console_host(partition)
        ))
    });
    let service = context.location.as_ref().and_then(|location| {
        let (cluster, service) = service_identity(&location.cluster, &location.service).ok()?;
        let (partition, region) = arn_partition_region(&location.cluster)
            .unwrap_or((context.partition.as_str(), context.region.as_str()));
        Some(format!(
            "https://{region}.{host}/ecs/v2/clusters/{cluster}/services/{service}/deployments?region={region}",
            host = console_host(partition)
        ))
    });
    Links { execution, service }
}

/// `(partition, region)` of an ARN (`arn:<partition>:<service>:<region>:...`).
fn arn_partition_region(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(5, ':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(partition), Some(_), Some(region)) if !region.is_empty() => {
            Some((partition, region))
        }
        _ => None,
    }
}

/// The console's host in each partition.
fn console_host(partition: &str) -> &'static str {
    match partition {
        "aws-cn" => "console.amazonaws.cn",
        "aws-us-gov" => "console.amazonaws-us-gov.com",
        _ => "console.aws.amazon.com",
    }
}

fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn between(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Option<f64> {
    Some(seconds(from?, to?))
}

/// Seconds from `from` to `to`, to the millisecond; never negative (clocks of two functions
/// may disagree by a little).
fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    ((to - from).num_milliseconds().max(0) as f64) / 1000.0
}
