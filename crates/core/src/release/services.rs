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
    /// (by ECS), RESTORING then RESTORED or RESTORE_FAILED (put back by Stevedore because the
    /// release failed); a service never started keeps PENDING.
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
    pub const RESTORING: &str = "RESTORING";
    pub const RESTORED: &str = "RESTORED";
    pub const RESTORE_FAILED: &str = "RESTORE_FAILED";
    pub const POINTED: &str = "POINTED";
}

/// Which services the next deploy step starts: for `parallel`, every one not started yet;
/// for `sequential`, the first not started, and only when none is rolling out (so each
/// starts after the one before completed). `started[i]` says whether service `i` got its
/// UpdateService, `rolling[i]` whether its deployment is still in progress.
pub fn services_to_start(
    order: crate::config::RolloutOrder,
    started: &[bool],
    rolling: &[bool],
) -> Vec<usize> {
    let not_started = started
        .iter()
        .enumerate()
        .filter(|(_, s)| !**s)
        .map(|(i, _)| i);
    match order {
        crate::config::RolloutOrder::Parallel => not_started.collect(),
        crate::config::RolloutOrder::Sequential if rolling.iter().any(|r| *r) => Vec::new(),
        crate::config::RolloutOrder::Sequential => not_started.take(1).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::services_to_start;
    use crate::config::RolloutOrder::{Parallel, Sequential};

    #[test]
    fn parallel_starts_every_service_not_started() {
        assert_eq!(
            services_to_start(Parallel, &[false, false, false], &[false; 3]),
            vec![0, 1, 2]
        );
        // A retried start skips the ones whose UpdateService was sent.
        assert_eq!(
            services_to_start(Parallel, &[true, false, false], &[true, false, false]),
            vec![1, 2]
        );
    }

    #[test]
    fn sequential_starts_the_next_only_when_none_rolls_out() {
        assert_eq!(
            services_to_start(Sequential, &[false, false], &[false, false]),
            vec![0]
        );
        assert_eq!(
            services_to_start(Sequential, &[true, false], &[true, false]),
            Vec::<usize>::new()
        );
        assert_eq!(
            services_to_start(Sequential, &[true, false], &[false, false]),
            vec![1]
        );
        assert_eq!(
            services_to_start(Sequential, &[true, true], &[false, false]),
            Vec::<usize>::new()
        );
    }
}
