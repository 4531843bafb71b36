//! The release: one attempt to run one image (by digest) on one stage of one app, and the
//! DynamoDB item that records it.

pub mod event;
mod failure;
pub mod input;
mod services;
pub mod state_change;
mod status;
pub mod transition;

#[cfg(test)]
mod state_change_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod transition_tests;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use failure::reason_for_failure;
pub use services::{service_status, services_to_start, ScheduleRecord, ServiceRecord};
pub use status::{Phase, ReleaseStatus, Trigger};

/// A release id: a ULID whose timestamp is when the image was pushed (`push_time_ms`; for
/// promote, rollback and retry, when their execution started), and
/// whose randomness is the first 80 bits of sha256(`{app}/{stage}/{digest}`): ids sort in
/// push order, and pushes within one second in a stable (digest-derived) order whichever
/// delivery of their events comes first.
///
/// The first id computed for (app, stage, digest) is claimed in the table; later deliveries
/// of the same push find and reuse it, and since the id is also the execution name, a
/// duplicate starts nothing.
pub fn release_id(app: &str, stage: &str, digest: &str, event_time_ms: u64) -> String {
    let hash = Sha256::digest(format!("{app}/{stage}/{digest}").as_bytes());
    let randomness = hash
        .iter()
        .take(10)
        .fold(0u128, |bits, byte| (bits << 8) | u128::from(*byte));
    ulid::Ulid::from_parts(event_time_ms, randomness).to_string()
}

/// The time a release id of a push carries, in milliseconds: the second of the ECR event's
/// own `time` (which is all it has: whole seconds), plus how far into that second on-push
/// first saw it, capped at 999 ms. Pushes in different seconds sort by when they were
/// pushed however late their events arrive; pushes within one second by arrival (the id a
/// first delivery claims is kept by every later one). No event time: when it was seen.
pub fn push_time_ms(event_time_ms: Option<i64>, seen_ms: i64) -> u64 {
    let ms = match event_time_ms {
        Some(event_ms) => {
            let second = event_ms - event_ms.rem_euclid(1000);
            second + (seen_ms - second).clamp(0, 999)
        }
        None => seen_ms,
    };
    ms.max(0) as u64
}

/// The time a release id (a ULID) carries: for a push, when it was pushed; for a release
/// started by hand, when its execution started.
pub fn id_time(release_id: &str) -> Option<DateTime<Utc>> {
    let ms = ulid::Ulid::from_string(release_id).ok()?.timestamp_ms();
    DateTime::from_timestamp_millis(i64::try_from(ms).ok()?)
}

/// Partition key of a stage's releases and its HEAD item.
pub fn release_pk(app: &str, stage: &str) -> String {
    format!("APP#{app}#STAGE#{stage}")
}

pub fn release_sk(release_id: &str) -> String {
    format!("REL#{release_id}")
}

/// Partition key of the `ByDigest` index: "where is this image running".
pub fn digest_gsi_pk(digest: &str) -> String {
    format!("DIGEST#{digest}")
}

/// Sort key of the `ByDigest` index.
pub fn digest_gsi_sk(app: &str, stage: &str, release_id: &str) -> String {
    format!("APP#{app}#STAGE#{stage}#REL#{release_id}")
}

/// How timestamps are written in release items: RFC 3339, UTC, milliseconds.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One release's identity: which image goes to which stage, and why. It is the deploy
/// state machine's input (`events/deploy-input.json`) and the first half of every release item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseSpec {
    pub release_id: String,
    pub app: String,
    pub stage: String,
    pub repository: String,
    pub digest: String,
    pub tag: String,
    pub image_uri: String,
    pub trigger: Trigger,
    /// For promote and rollback: the release whose image (or task definition) this redeploys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_release_id: Option<String>,
    /// When the image this release ships was pushed (RFC 3339): a push's own push time; a
    /// promotion's or a retry's is its source release's, however many stages back the push
    /// was. None for a rollback (it ships no new change) and for releases recorded before the
    /// field existed. Lead time runs from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_at: Option<String>,
    /// For rollback: the task definition to put back as it is (no render, no migration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeploy_task_definition_arn: Option<String>,
    /// For rollback of a multi-service stage: service name → the task definition to put back.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub redeploy_services: std::collections::BTreeMap<String, String>,
}

/// The release item. Key attributes use the table's names (`PK`, `SK`, `GSI1PK`, `GSI1SK`);
/// `None` fields are left out of the item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "GSI1PK")]
    pub gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1sk: String,
    /// What is released where, and why (the deploy state machine's input).
    #[serde(flatten)]
    pub spec: ReleaseSpec,
    pub status: ReleaseStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_task_definition_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration_task_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration_exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    /// The approval gate's parked task token, while the release waits for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_task_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_requested_at: Option<String>,
    /// `approved` or `rejected`, with who said so and why, when they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_decision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_decided_at: Option<String>,
    /// The deployment that put the previous task definition back after ECS failed ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_deployment_id: Option<String>,
    /// The CodeBuild migration's build and its log link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration_build_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration_log_link: Option<String>,
    /// How deploy rolled the release out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<crate::config::Strategy>,
    /// The blue/green smoke test: IN_PROGRESS, SUCCEEDED or FAILED (the hook's answer to
    /// ECS), why, and its attempts: the first and the latest ones, at most
    /// [`crate::bounds::MAX_LIST_ITEMS`], with `smoke_check_count` counting all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoke_test_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoke_test_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub smoke_checks: Vec<crate::smoke::SmokeCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoke_check_count: Option<u64>,
    /// A multi-service stage's services (in rollout order) and schedules; empty for a stage
    /// of one service, whose fields above say it all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<ScheduleRecord>,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_acquired_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy_started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// linear/canary: the new revision's start and each production traffic step, as the
    /// lifecycle hook saw them (the first and the latest ones), all counted in
    /// `traffic_step_count`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traffic_steps: Vec<crate::traffic::TrafficStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_step_count: Option<u64>,
    /// ECS's own rollout as predicted from the services' settings just before it started
    /// (`crate::rollout_estimate`; the stage's: parallel services' longest, sequential ones'
    /// sum), and its parts; absent when the settings could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_rollout_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub predicted_rollout_parts: Vec<crate::rollout_estimate::Part>,
    /// ECS's own rollout as ECS measured it (its service deployments' first start to last
    /// finish), recorded once the release SUCCEEDED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_rollout_seconds: Option<f64>,
}

impl Release {
    /// A new PENDING release, as `on-push` (or promote / rollback) writes it.
    pub fn new_pending(spec: ReleaseSpec, now: DateTime<Utc>) -> Release {
        let created_at = timestamp(now);
        Release {
            pk: release_pk(&spec.app, &spec.stage),
            sk: release_sk(&spec.release_id),
            gsi1pk: digest_gsi_pk(&spec.digest),
            gsi1sk: digest_gsi_sk(&spec.app, &spec.stage, &spec.release_id),
            spec,
            status: ReleaseStatus::Pending,
            reason: None,
            execution_arn: None,
            task_definition_arn: None,
            previous_task_definition_arn: None,
            migration_task_arn: None,
            migration_exit_code: None,
            deployment_id: None,
            restore_deployment_id: None,
            migration_build_id: None,
            migration_log_link: None,
            strategy: None,
            smoke_test_status: None,
            smoke_test_reason: None,
            smoke_checks: Vec::new(),
            smoke_check_count: None,
            approval_task_token: None,
            approval_requested_at: None,
            approval_decision: None,
            approval_decided_at: None,
            services: Vec::new(),
            schedules: Vec::new(),
            pending_at: Some(created_at.clone()),
            created_at,
            lock_acquired_at: None,
            rendered_at: None,
            migrated_at: None,
            deploy_started_at: None,
            finished_at: None,
            traffic_steps: Vec::new(),
            traffic_step_count: None,
            predicted_rollout_seconds: None,
            predicted_rollout_parts: Vec::new(),
            measured_rollout_seconds: None,
        }
    }

    /// When the image this release ships was pushed, as far as the release itself tells:
    /// its `pushed_at`; else, for a push, its own id's time; else (a promotion or retry
    /// recorded before `pushed_at` existed) its source release id's time, one step back.
    /// None for a rollback: it ships no new change.
    pub fn push_time(&self) -> Option<DateTime<Utc>> {
        if self.spec.trigger == Trigger::Rollback {
            return None;
        }
        if let Some(at) = self.spec.pushed_at.as_deref() {
            return DateTime::parse_from_rfc3339(at)
                .ok()
                .map(|t| t.with_timezone(&Utc));
        }
        match self.spec.trigger {
            Trigger::Push => id_time(&self.spec.release_id),
            _ => id_time(self.spec.source_release_id.as_deref()?),
        }
    }

    /// The `pushed_at` of a new release that redeploys this one with `trigger` (promote,
    /// retry: the same image, so the same push; rollback: none).
    pub fn pushed_at_for(&self, trigger: Trigger) -> Option<String> {
        match trigger {
            Trigger::Rollback => None,
            _ => self.push_time().map(timestamp),
        }
    }

    /// The timestamp field of `phase`.
    pub fn phase_timestamp(&self, phase: Phase) -> Option<&str> {
        match phase {
            Phase::Pending => self.pending_at.as_deref(),
            Phase::LockAcquired => self.lock_acquired_at.as_deref(),
            Phase::Rendered => self.rendered_at.as_deref(),
            Phase::ApprovalRequested => self.approval_requested_at.as_deref(),
            Phase::ApprovalDecided => self.approval_decided_at.as_deref(),
            Phase::Migrated => self.migrated_at.as_deref(),
            Phase::DeployStarted => self.deploy_started_at.as_deref(),
            Phase::Finished => self.finished_at.as_deref(),
        }
    }

    /// Records when `phase` was reached.
    pub fn record_phase(&mut self, phase: Phase, at: DateTime<Utc>) {
        let field = match phase {
            Phase::Pending => &mut self.pending_at,
            Phase::LockAcquired => &mut self.lock_acquired_at,
            Phase::Rendered => &mut self.rendered_at,
            Phase::ApprovalRequested => &mut self.approval_requested_at,
            Phase::ApprovalDecided => &mut self.approval_decided_at,
            Phase::Migrated => &mut self.migrated_at,
            Phase::DeployStarted => &mut self.deploy_started_at,
            Phase::Finished => &mut self.finished_at,
        };
        *field = Some(timestamp(at));
    }
}
