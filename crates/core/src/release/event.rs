//! The release event: what Stevedore puts on the account's default EventBridge bus at every
//! transition of a release, for the notify function and for any rule a user adds.
//!
//! `source` is [`SOURCE`], `detail-type` is [`DETAIL_TYPE`], and `detail` is a
//! [`ReleaseStateChange`]. The detail is versioned ([`DETAIL_VERSION`]): fields may be added
//! within a version; a field is never renamed, removed or given another meaning without a new
//! version. Documented in `events/README.md`, with samples beside it.

use serde::{Deserialize, Serialize};

use super::{Phase, ReleaseStatus, Trigger};

pub const SOURCE: &str = "stevedore";
pub const DETAIL_TYPE: &str = "Stevedore Release State Change";
pub const DETAIL_VERSION: &str = "1";

/// A release's status as its events say it: the record's status, with the approval wait
/// (an IN_PROGRESS release whose task token is parked) told apart.
#[derive(
    Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum EventStatus {
    Pending,
    InProgress,
    WaitingForApproval,
    Succeeded,
    Failed,
    RolledBack,
    Superseded,
    Aborted,
}

impl From<ReleaseStatus> for EventStatus {
    fn from(status: ReleaseStatus) -> Self {
        match status {
            ReleaseStatus::Pending => EventStatus::Pending,
            ReleaseStatus::InProgress => EventStatus::InProgress,
            ReleaseStatus::Succeeded => EventStatus::Succeeded,
            ReleaseStatus::Failed => EventStatus::Failed,
            ReleaseStatus::RolledBack => EventStatus::RolledBack,
            ReleaseStatus::Superseded => EventStatus::Superseded,
            ReleaseStatus::Aborted => EventStatus::Aborted,
        }
    }
}

impl EventStatus {
    pub const ALL: [EventStatus; 8] = [
        EventStatus::Pending,
        EventStatus::InProgress,
        EventStatus::WaitingForApproval,
        EventStatus::Succeeded,
        EventStatus::Failed,
        EventStatus::RolledBack,
        EventStatus::Superseded,
        EventStatus::Aborted,
    ];

    pub fn is_terminal(self) -> bool {
        !matches!(
            self,
            EventStatus::Pending | EventStatus::InProgress | EventStatus::WaitingForApproval
        )
    }
}

/// The `detail` of a "Stevedore Release State Change" event (version 1).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ReleaseStateChange {
    /// [`DETAIL_VERSION`].
    pub version: String,
    pub app: String,
    pub stage: String,
    pub release_id: String,
    pub trigger: Trigger,
    /// For promote, rollback and retry: the release whose image or revision this one redeploys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_release_id: Option<String>,
    pub status: EventStatus,
    /// The status of the previous event of this release (absent on its first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<EventStatus>,
    /// The phase just reached (the record's phase timestamps: `pending`, `lock_acquired`,
    /// `rendered`, `approval_requested`, `approval_decided`, `migrated`, `deploy_started`,
    /// `finished`). With `status` and `release_id` it names the transition: a consumer
    /// dedupes redelivered events on (`release_id`, `status`, `phase`).
    pub phase: Phase,
    /// Why the release ended as it did (terminal statuses other than SUCCEEDED), or what it
    /// waits for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub repository: String,
    pub digest: String,
    pub tag: String,
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The stage's service (the migration service of a multi-service stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_task_definition_arn: Option<String>,
    /// The deploy state machine's execution running the release (absent while PENDING).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    /// Every service of a multi-service stage with its own status; empty for one service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceState>,
    /// When the release was created (RFC 3339) and when this transition was recorded.
    pub created_at: String,
    pub time: String,
    pub durations: Durations,
    pub links: Links,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ServiceState {
    pub service: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
}

/// Seconds, each present once both of its ends are recorded.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct Durations {
    /// Created → this transition (the whole release once it is terminal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_seconds: Option<f64>,
    /// PENDING → lock acquired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_wait_seconds: Option<f64>,
    /// Lock acquired → rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render_seconds: Option<f64>,
    /// Approval requested → decided (stages with an approval gate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_wait_seconds: Option<f64>,
    /// Rendered (or, behind an approval gate, approval decided) → migrated (absent without a
    /// migration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration_seconds: Option<f64>,
    /// Deployment started → finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_seconds: Option<f64>,
    /// Push (the release id's time; a promotion's source release's) → SUCCEEDED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_time_seconds: Option<f64>,
}

/// AWS console links for a person reading the notification.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct Links {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}
