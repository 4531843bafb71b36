//! A release's progress as the release item records it: one milestone per phase timestamp
//! (pending_at, lock_acquired_at, rendered_at, approval, migrated_at, deploy_started_at,
//! finished_at), in the order the deploy state machine reaches them. `status` shows the last
//! one; the live view prints each as it appears.

use serde::Serialize;
use stevedore_core::config::Strategy;
use stevedore_core::release::{Release, ReleaseStatus, Trigger};

use crate::output::{revision, seconds_between};

/// One phase a release reached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Milestone {
    /// Stable name (`pending`, `lock_acquired`, `rendered`, `approval_requested`,
    /// `approval_decided`, `migrated`, `deploy_started`, `finished`).
    pub phase: &'static str,
    /// What a person reads.
    pub label: String,
    /// When (as stored).
    pub at: String,
    /// Seconds since the release was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What the release waits for after its last milestone, while it is not finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// PENDING: another release holds the stage, or the execution has not started yet.
    Lock,
    /// Between the lock and its task definition.
    Render,
    /// Parked at the approval gate.
    Approval,
    /// The migration (or, without one, the start of the rollout).
    Migration,
    /// Migrated: the rollout is being started.
    Rollout,
    /// ECS is rolling the service(s) out.
    Ecs,
}

impl Waiting {
    pub fn label(self) -> &'static str {
        match self {
            Waiting::Lock => "waiting for the stage",
            Waiting::Render => "rendering",
            Waiting::Approval => "waiting for approval",
            Waiting::Migration => "migrating",
            Waiting::Rollout => "starting the rollout",
            Waiting::Ecs => "waiting on ECS",
        }
    }
}

/// The milestones `release` reached, in phase order.
pub fn milestones(release: &Release) -> Vec<Milestone> {
    let start = release.pending_at.as_deref().unwrap_or(&release.created_at);
    let mut out = Vec::new();
    let mut add = |phase, label: String, at: Option<&String>, detail: Option<String>| {
        if let Some(at) = at {
            out.push(Milestone {
                phase,
                label,
                at: at.clone(),
                elapsed_seconds: seconds_between(start, at),
                detail,
            });
        }
    };
    add(
        "pending",
        "pending".into(),
        release.pending_at.as_ref().or(Some(&release.created_at)),
        None,
    );
    add(
        "lock_acquired",
        "lock acquired".into(),
        release.lock_acquired_at.as_ref(),
        None,
    );
    add(
        "rendered",
        "rendered".into(),
        release.rendered_at.as_ref(),
        rendered_detail(release),
    );
    add(
        "approval_requested",
        "approval requested".into(),
        release.approval_requested_at.as_ref(),
        None,
    );
    add(
        "approval_decided",
        release
            .approval_decision
            .clone()
            .unwrap_or_else(|| "decided".into()),
        release.approval_decided_at.as_ref(),
        None,
    );
    add(
        "migrated",
        "migrated".into(),
        release.migrated_at.as_ref(),
        release
            .migration_exit_code
            .map(|code| format!("exit code {code}")),
    );
    add(
        "deploy_started",
        "rollout started".into(),
        release.deploy_started_at.as_ref(),
        rollout_detail(release),
    );
    if release.status.is_terminal() {
        add(
            "finished",
            release.status.to_string(),
            release.finished_at.as_ref().or(Some(&release.created_at)),
            release.reason.clone(),
        );
    }
    out
}

/// How the rollout runs: the strategy, ECS's deployment id of a single service, and the
/// production traffic steps of a linear or canary rollout so far.
fn rollout_detail(release: &Release) -> Option<String> {
    let strategy = release.strategy.map(|s| match s {
        Strategy::Rolling => "rolling",
        Strategy::BlueGreen => "blue/green",
        Strategy::Linear => "linear",
        Strategy::Canary => "canary",
    });
    let steps = stevedore_core::traffic::describe_steps(&release.traffic_steps)
        .map(|steps| format!("traffic {steps}"));
    let services =
        (!release.services.is_empty()).then(|| format!("{} services", release.services.len()));
    let parts: Vec<String> = strategy
        .map(str::to_string)
        .into_iter()
        .chain(services)
        .chain(release.deployment_id.clone())
        .chain(steps)
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The task definition(s) the release will run.
fn rendered_detail(release: &Release) -> Option<String> {
    if release.services.is_empty() {
        return release
            .task_definition_arn
            .as_deref()
            .map(|arn| revision(Some(arn)));
    }
    Some(
        release
            .services
            .iter()
            .map(|s| revision(Some(&s.task_definition_arn)))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// What an unfinished release waits for now; `None` once it ended.
pub fn waiting(release: &Release) -> Option<Waiting> {
    if release.status.is_terminal() {
        return None;
    }
    if release.status == ReleaseStatus::Pending || release.lock_acquired_at.is_none() {
        return Some(Waiting::Lock);
    }
    if release.deploy_started_at.is_some() {
        return Some(Waiting::Ecs);
    }
    if release.approval_requested_at.is_some() && release.approval_decided_at.is_none() {
        return Some(Waiting::Approval);
    }
    // A rollback puts a recorded task definition back: it never migrates.
    if release.migrated_at.is_some() || release.spec.trigger == Trigger::Rollback {
        return Some(Waiting::Rollout);
    }
    if release.rendered_at.is_some() {
        return Some(Waiting::Migration);
    }
    Some(Waiting::Render)
}

/// The phase `status` shows: the finished status, or what it waits for now.
pub fn phase(release: &Release) -> String {
    match waiting(release) {
        Some(w) => w.label().to_string(),
        None => release.status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::release;

    #[test]
    fn milestones_follow_the_phase_timestamps_in_order() {
        let mut r = release("01JD3Q8Z0000000000000000AB", ReleaseStatus::InProgress);
        r.lock_acquired_at = Some("2026-01-01T00:00:00.400Z".into());
        r.rendered_at = Some("2026-01-01T00:00:01.200Z".into());
        let shown: Vec<(&str, Option<f64>)> = milestones(&r)
            .iter()
            .map(|m| (m.phase, m.elapsed_seconds))
            .collect();
        assert_eq!(
            shown,
            [
                ("pending", Some(0.0)),
                ("lock_acquired", Some(0.4)),
                ("rendered", Some(1.2))
            ]
        );
        assert_eq!(waiting(&r), Some(Waiting::Migration));
        r.spec.trigger = Trigger::Rollback;
        assert_eq!(
            waiting(&r),
            Some(Waiting::Rollout),
            "a rollback never migrates"
        );
        r.spec.trigger = Trigger::Push;
        r.deploy_started_at = Some("2026-01-01T00:00:02.000Z".into());
        assert_eq!(phase(&r), "waiting on ECS");
        r.status = ReleaseStatus::RolledBack;
        r.finished_at = Some("2026-01-01T00:00:09.000Z".into());
        r.reason = Some("tasks failed health checks".into());
        let last = milestones(&r).pop().unwrap();
        assert_eq!(last.phase, "finished");
        assert_eq!(last.label, "ROLLED_BACK");
        assert_eq!(last.detail.as_deref(), Some("tasks failed health checks"));
        assert_eq!(waiting(&r), None);
        assert_eq!(phase(&r), "ROLLED_BACK");
    }

    #[test]
    fn a_linear_rollout_shows_its_traffic_steps() {
        use stevedore_core::traffic::{TrafficStep, START_STAGE, STEP_STAGE};
        let mut r = release("01JD3Q8Z0000000000000000AB", ReleaseStatus::InProgress);
        r.deploy_started_at = Some("2026-01-01T00:00:02.000Z".into());
        r.strategy = Some(Strategy::Linear);
        r.deployment_id = Some("ecs-svc/1".into());
        let step = |percent, stage: &str| TrafficStep {
            percent,
            lifecycle_stage: stage.into(),
            at: "2026-01-01T00:00:03.000Z".into(),
            revision: Some("arn:rev/2".into()),
            service: Some("web".into()),
        };
        r.traffic_steps = vec![
            step(0.0, START_STAGE),
            step(34.0, STEP_STAGE),
            step(68.0, STEP_STAGE),
        ];
        let started = milestones(&r)
            .into_iter()
            .find(|m| m.phase == "deploy_started")
            .expect("rollout started");
        assert_eq!(
            started.detail.as_deref(),
            Some("linear, ecs-svc/1, traffic 34 % → 68 %")
        );
    }

    #[test]
    fn a_release_parked_at_the_gate_waits_for_approval() {
        let mut r = release("01JD3Q8Z0000000000000000AB", ReleaseStatus::InProgress);
        r.lock_acquired_at = Some("2026-01-01T00:00:00.400Z".into());
        r.rendered_at = Some("2026-01-01T00:00:01.200Z".into());
        r.approval_requested_at = Some("2026-01-01T00:00:01.300Z".into());
        assert_eq!(waiting(&r), Some(Waiting::Approval));
        r.approval_decided_at = Some("2026-01-01T00:01:00.000Z".into());
        r.approval_decision = Some("approved by alice".into());
        assert_eq!(waiting(&r), Some(Waiting::Migration));
        let labels: Vec<String> = milestones(&r).into_iter().map(|m| m.label).collect();
        assert!(
            labels.contains(&"approved by alice".to_string()),
            "{labels:?}"
        );
    }

    #[test]
    fn a_pending_release_waits_for_the_stage() {
        let r = release("01JD3Q8Z0000000000000000AB", ReleaseStatus::Pending);
        assert_eq!(waiting(&r), Some(Waiting::Lock));
        assert_eq!(milestones(&r).len(), 1);
    }
}
