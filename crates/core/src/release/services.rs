//! What a multi-service release records about each service and each schedule it moved.

use serde::{Deserialize, Serialize};

use crate::config::ScheduleRef;

/// One service of a multi-service release, from render to its end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceRecord {
    pub cluster: String,
    pub service: String,
    /// The revision this release runs on the service.
    pub task_definition_arn: String,
    /// What the service ran before (what a restore or a rollback puts back).
    pub previous_task_definition_arn: String,
    /// PENDING (rendered), IN_PROGRESS (UpdateService sent), COMPLETED, FAILED, ROLLED_BACK
    /// (by ECS), RESTORED (put back by Stevedore because the release failed) or UNCHANGED
    /// (never started: the release failed first).
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_deployment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

/// A schedule or rule of a multi-service release: pointed at the new revision once every
/// service completed, put back when the release failed after that.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRecord {
    pub target: ScheduleRef,
    /// The revision the release points the schedule's ECS target at.
    pub task_definition_arn: String,
    /// What the target ran when the release was rendered.
    pub previous_task_definition_arn: String,
    /// PENDING, POINTED or RESTORED.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointed_at: Option<String>,
}

/// Service statuses, as recorded.
pub mod service_status {
    pub const PENDING: &str = "PENDING";
    pub const IN_PROGRESS: &str = "IN_PROGRESS";
    pub const COMPLETED: &str = "COMPLETED";
    pub const FAILED: &str = "FAILED";
    pub const ROLLED_BACK: &str = "ROLLED_BACK";
    pub const RESTORED: &str = "RESTORED";
    pub const POINTED: &str = "POINTED";
}
