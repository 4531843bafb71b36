use chrono::{TimeZone, Utc};

use super::event::{EventStatus, ReleaseStateChange};
use super::state_change::{
    durations, service_location, state_change, EventContext, ServiceLocation,
};
use super::transition::transition;
use super::transition_tests::{after, at, locked, pending_release, service};
use super::*;
use crate::config::StageConfig;

fn stage(json: serde_json::Value) -> StageConfig {
    serde_json::from_value(json).expect("a stage config")
}

fn context(location: Option<ServiceLocation>) -> EventContext {
    EventContext {
        partition: "aws".into(),
        region: "eu-west-1".into(),
        location,
        recorded_at: Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
    }
}

/// A push release that went through every phase and SUCCEEDED 100 s after its push.
fn succeeded() -> Release {
    after(&locked(&pending_release()), |r| {
        r.rendered_at = Some(at(10));
        r.migrated_at = Some(at(40));
        r.deploy_started_at = Some(at(45));
        r.status = ReleaseStatus::Succeeded;
        r.finished_at = Some(at(100));
        r.task_definition_arn =
            Some("arn:aws:ecs:us-east-1:123456789012:task-definition/backend-staging:8".into());
    })
}

#[test]
fn durations_come_from_the_phase_timestamps() {
    let release = succeeded();
    let finished = Utc.with_ymd_and_hms(2026, 3, 2, 9, 1, 40).unwrap();
    let d = durations(&release, EventStatus::Succeeded, finished);
    // Created 2 s after the push; locked at 5, rendered at 10, migrated at 40, deploy
    // started at 45, finished at 100.
    assert_eq!(d.total_seconds, Some(98.0));
    assert_eq!(d.lock_wait_seconds, Some(3.0));
    assert_eq!(d.render_seconds, Some(5.0));
    assert_eq!(d.approval_wait_seconds, None);
    assert_eq!(d.migration_seconds, Some(30.0));
    assert_eq!(d.rollout_seconds, Some(55.0));
    assert_eq!(d.lead_time_seconds, Some(100.0));
}

#[test]
fn behind_an_approval_gate_the_migration_is_timed_from_the_decision() {
    let release = after(&succeeded(), |r| {
        r.approval_requested_at = Some(at(11));
        r.approval_decided_at = Some(at(31));
    });
    let d = durations(&release, EventStatus::Succeeded, Utc::now());
    assert_eq!(d.approval_wait_seconds, Some(20.0));
    assert_eq!(d.migration_seconds, Some(9.0));
}

#[test]
fn only_a_success_has_a_lead_time() {
    let rolled_back = after(&succeeded(), |r| r.status = ReleaseStatus::RolledBack);
    let d = durations(&rolled_back, EventStatus::RolledBack, Utc::now());
    assert_eq!(d.lead_time_seconds, None);
    assert_eq!(d.rollout_seconds, Some(55.0));
}

#[test]
fn lead_time_starts_at_the_push_of_the_image_a_promotion_ships() {
    let staging = pending_release();
    let pushed = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    assert_eq!(staging.push_time(), Some(pushed));
    let promoted_at = pushed + chrono::Duration::hours(2);
    let mut spec = staging.spec.clone();
    spec.release_id = release_id(
        "backend",
        "production",
        &spec.digest,
        promoted_at.timestamp_millis() as u64,
    );
    spec.stage = "production".into();
    spec.trigger = Trigger::Promote;
    spec.source_release_id = Some(staging.spec.release_id.clone());
    let mut promoted = Release::new_pending(spec, promoted_at);
    assert_eq!(promoted.push_time(), Some(pushed));
    promoted.status = ReleaseStatus::Succeeded;
    promoted.finished_at = Some(timestamp(promoted_at + chrono::Duration::seconds(60)));
    let d = durations(&promoted, EventStatus::Succeeded, Utc::now());
    assert_eq!(d.lead_time_seconds, Some(7260.0));
    // A rollback ships no new change.
    promoted.spec.trigger = Trigger::Rollback;
    assert_eq!(promoted.push_time(), None);
}

#[test]
fn the_detail_of_a_success_carries_identity_durations_and_links() {
    let before = after(&succeeded(), |r| {
        r.status = ReleaseStatus::InProgress;
        r.finished_at = None;
    });
    let release = succeeded();
    let change = transition(Some(&before), &release).expect("a transition");
    let stage = stage(serde_json::json!({"cluster": "demo", "service": "backend-staging"}));
    let location = service_location(&release, Some(&stage));
    let detail = state_change(&release, &change, &context(location));
    assert_eq!(detail.version, "1");
    assert_eq!(detail.status, EventStatus::Succeeded);
    assert_eq!(detail.previous_status, Some(EventStatus::InProgress));
    assert_eq!(detail.phase, Phase::Finished);
    assert_eq!(detail.time, at(100));
    assert_eq!(detail.release_id, release.spec.release_id);
    assert_eq!(detail.tag, "v1.4.0");
    assert_eq!(detail.image, release.spec.image_uri);
    assert_eq!(
        (detail.cluster.as_deref(), detail.service.as_deref()),
        (Some("demo"), Some("backend-staging"))
    );
    assert_eq!(detail.durations.lead_time_seconds, Some(100.0));
    let execution_arn = release.execution_arn.clone().expect("execution");
    assert_eq!(
        detail.execution_arn.as_deref(),
        Some(execution_arn.as_str())
    );
    assert_eq!(
        detail.links.execution,
        Some(format!(
            "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/{execution_arn}"
        ))
    );
    // The cluster is given by name: the service is linked in the function's region.
    assert_eq!(
        detail.links.service.as_deref(),
        Some("https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/demo/services/backend-staging/deployments?region=eu-west-1")
    );
    let json = serde_json::to_value(&detail).expect("json");
    let back: ReleaseStateChange = serde_json::from_value(json).expect("parses back");
    assert_eq!(back, detail);
}

#[test]
fn a_service_given_by_arn_is_linked_in_its_own_region() {
    let release = succeeded();
    let stage = stage(serde_json::json!({
        "cluster": "arn:aws-cn:ecs:cn-north-1:111122223333:cluster/prod",
        "service": "arn:aws-cn:ecs:cn-north-1:111122223333:service/prod/backend"
    }));
    let location = service_location(&release, Some(&stage));
    let change = transition(None, &release).expect("a transition");
    let detail = state_change(&release, &change, &context(location));
    assert_eq!(
        detail.links.service.as_deref(),
        Some("https://cn-north-1.console.amazonaws.cn/ecs/v2/clusters/prod/services/backend/deployments?region=cn-north-1")
    );
}

#[test]
fn without_a_stage_config_or_execution_there_are_no_links() {
    let pending = pending_release();
    assert_eq!(service_location(&pending, None), None);
    let change = transition(None, &pending).expect("a transition");
    let detail = state_change(&pending, &change, &context(None));
    assert_eq!(detail.links, Default::default());
    assert_eq!((detail.cluster, detail.service), (None, None));
    assert_eq!(detail.time, pending.created_at);
}

#[test]
fn a_phase_without_a_timestamp_is_timed_when_the_stream_recorded_it() {
    let pending = pending_release();
    let mut change = transition(None, &pending).expect("a transition");
    change.phase = Phase::Migrated;
    let detail = state_change(&pending, &change, &context(None));
    assert_eq!(detail.time, "2026-03-02T10:00:00.000Z");
}

#[test]
fn a_multi_service_release_lists_its_services_and_links_the_migration_service() {
    let release = after(&succeeded(), |r| {
        r.services = vec![
            service("backend-web", "COMPLETED"),
            service("backend-worker", "ROLLED_BACK"),
        ];
    });
    let stage = stage(serde_json::json!({
        "cluster": "demo",
        "services": [{"service": "backend-web"}, {"service": "backend-worker"}],
        "migration_service": "backend-worker"
    }));
    let location = service_location(&release, Some(&stage)).expect("a service");
    assert_eq!(location.service, "backend-worker");
    // Without the config, the record's first service.
    assert_eq!(
        service_location(&release, None).map(|l| l.service),
        Some("backend-web".into())
    );
    let change = transition(None, &release).expect("a transition");
    let detail = state_change(&release, &change, &context(Some(location)));
    let services: Vec<(&str, &str)> = detail
        .services
        .iter()
        .map(|s| (s.service.as_str(), s.status.as_str()))
        .collect();
    assert_eq!(
        services,
        [
            ("backend-web", "COMPLETED"),
            ("backend-worker", "ROLLED_BACK")
        ]
    );
    assert!(detail.services[1]
        .task_definition_arn
        .as_deref()
        .is_some_and(|arn| arn.ends_with("backend-worker:8")));
}

#[test]
fn the_parked_approval_token_is_never_in_the_detail() {
    let rendered = after(&locked(&pending_release()), |r| {
        r.rendered_at = Some(at(10))
    });
    let parked = after(&rendered, |r| {
        r.approval_task_token = Some("AQB-parked-task-token-value".into());
        r.approval_requested_at = Some(at(11));
    });
    let change = transition(Some(&rendered), &parked).expect("a transition");
    assert_eq!(change.status, EventStatus::WaitingForApproval);
    let detail = state_change(&parked, &change, &context(None));
    let json = serde_json::to_string(&detail).expect("json");
    assert!(!json.contains("AQB-parked-task-token-value"), "{json}");
    assert!(!json.contains("task_token"), "{json}");
}

#[test]
fn a_promotion_of_a_promotion_counts_its_lead_time_from_the_push() {
    // staging (push) -> preprod (promote) -> production (promote): production's source is
    // preprod's release, started hours after the push; pushed_at carries the push along.
    let staging = pending_release();
    let pushed = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let promote = |source: &Release, stage: &str, at: DateTime<Utc>| {
        let mut spec = source.spec.clone();
        spec.release_id = release_id("backend", stage, &spec.digest, at.timestamp_millis() as u64);
        spec.stage = stage.into();
        spec.trigger = Trigger::Promote;
        spec.source_release_id = Some(source.spec.release_id.clone());
        spec.pushed_at = source.pushed_at_for(Trigger::Promote);
        Release::new_pending(spec, at)
    };
    let preprod = promote(&staging, "preprod", pushed + chrono::Duration::hours(3));
    let mut production = promote(&preprod, "production", pushed + chrono::Duration::hours(30));
    assert_eq!(
        production.spec.pushed_at.as_deref(),
        Some("2026-03-02T09:00:00.000Z")
    );
    production.status = ReleaseStatus::Succeeded;
    production.finished_at = Some(timestamp(pushed + chrono::Duration::hours(31)));
    let d = durations(&production, EventStatus::Succeeded, Utc::now());
    assert_eq!(d.lead_time_seconds, Some(31.0 * 3600.0));
    // Without pushed_at (a release recorded before the field), one step back only.
    production.spec.pushed_at = None;
    let d = durations(&production, EventStatus::Succeeded, Utc::now());
    assert_eq!(d.lead_time_seconds, Some(28.0 * 3600.0));
    // A rollback of it carries no push time.
    assert_eq!(production.pushed_at_for(Trigger::Rollback), None);
}
