//! Release status, trigger and phases.

use serde::{Deserialize, Serialize};

/// `PENDING → IN_PROGRESS → SUCCEEDED | FAILED | ROLLED_BACK`; a release still PENDING may
/// fail (e.g. bad config) or be SUPERSEDED by a newer push; one IN_PROGRESS is SUPERSEDED
/// when it lost the stage to a newer one before changing anything. ABORTED: its execution
/// was stopped, timed out or died without recording an outcome.
#[derive(
    Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ReleaseStatus {
    Pending,
    InProgress,
    Succeeded,
    Failed,
    RolledBack,
    Superseded,
    Aborted,
}

impl ReleaseStatus {
    pub fn is_terminal(self) -> bool {
        !matches!(self, ReleaseStatus::Pending | ReleaseStatus::InProgress)
    }

    /// Whether a release in this status may move to `next`. A terminal status is final, so
    /// a late or duplicate event can never turn ROLLED_BACK into SUCCEEDED.
    pub fn can_become(self, next: ReleaseStatus) -> bool {
        use ReleaseStatus::*;
        matches!(
            (self, next),
            (Pending, InProgress | Failed | Superseded | Aborted)
                | (
                    InProgress,
                    Succeeded | Failed | RolledBack | Superseded | Aborted
                )
        )
    }
}

/// What started a release.
#[derive(
    Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Trigger {
    Push,
    Promote,
    Rollback,
    /// An operator asked for a new release of a digest that failed (a re-push starts nothing).
    Retry,
}

/// The steps of a release that get a timestamp on its item, in the order a release reaches
/// them (the approval gate, when the stage has one, sits between render and the migration).
#[derive(
    Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Phase {
    Pending,
    LockAcquired,
    Rendered,
    /// The approval gate parked its task token (the release waits for a person).
    ApprovalRequested,
    /// A person approved or rejected the release.
    ApprovalDecided,
    Migrated,
    DeployStarted,
    Finished,
}

impl Phase {
    /// Every phase, in the order a release reaches them.
    pub const ALL: [Phase; 8] = [
        Phase::Pending,
        Phase::LockAcquired,
        Phase::Rendered,
        Phase::ApprovalRequested,
        Phase::ApprovalDecided,
        Phase::Migrated,
        Phase::DeployStarted,
        Phase::Finished,
    ];

    /// The item attribute holding the time this phase was reached.
    pub fn attribute(self) -> &'static str {
        match self {
            Phase::Pending => "pending_at",
            Phase::LockAcquired => "lock_acquired_at",
            Phase::Rendered => "rendered_at",
            Phase::ApprovalRequested => "approval_requested_at",
            Phase::ApprovalDecided => "approval_decided_at",
            Phase::Migrated => "migrated_at",
            Phase::DeployStarted => "deploy_started_at",
            Phase::Finished => "finished_at",
        }
    }
}
