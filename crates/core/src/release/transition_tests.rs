use chrono::{TimeZone, Utc};

use super::event::EventStatus;
use super::transition::{event_status, transition, Transition, WAITING_REASON};
use super::*;

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub(super) fn pending_release() -> Release {
    let pushed = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let id = release_id(
        "backend",
        "staging",
        DIGEST,
        pushed.timestamp_millis() as u64,
    );
    let spec = ReleaseSpec {
        release_id: id,
        app: "backend".into(),
        stage: "staging".into(),
        repository: "backend".into(),
        digest: DIGEST.into(),
        tag: "v1.4.0".into(),
        image_uri: format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/backend@{DIGEST}"),
        trigger: Trigger::Push,
        source_release_id: None,
        pushed_at: None,
        redeploy_task_definition_arn: None,
        redeploy_services: Default::default(),
    };
    Release::new_pending(spec, pushed + chrono::Duration::seconds(2))
}

/// `release` after a write that `change` makes.
pub(super) fn after(release: &Release, change: impl FnOnce(&mut Release)) -> Release {
    let mut next = release.clone();
    change(&mut next);
    next
}

pub(super) fn at(seconds_after_push: i64) -> String {
    let pushed = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    timestamp(pushed + chrono::Duration::seconds(seconds_after_push))
}

pub(super) fn locked(release: &Release) -> Release {
    after(release, |r| {
        r.status = ReleaseStatus::InProgress;
        r.lock_acquired_at = Some(at(5));
        r.execution_arn = Some(format!(
            "arn:aws:states:us-east-1:123456789012:execution:stevedore-deploy:{}",
            r.spec.release_id
        ));
    })
}

fn expect(
    status: EventStatus,
    previous: Option<EventStatus>,
    phase: Phase,
    reason: Option<&str>,
) -> Option<Transition> {
    Some(Transition {
        status,
        previous_status: previous,
        phase,
        reason: reason.map(str::to_string),
    })
}

#[test]
fn a_new_release_is_pending() {
    let pending = pending_release();
    assert_eq!(
        transition(None, &pending),
        expect(EventStatus::Pending, None, Phase::Pending, None)
    );
}

#[test]
fn taking_the_lock_is_in_progress_at_lock_acquired() {
    let pending = pending_release();
    assert_eq!(
        transition(Some(&pending), &locked(&pending)),
        expect(
            EventStatus::InProgress,
            Some(EventStatus::Pending),
            Phase::LockAcquired,
            None
        )
    );
}

#[test]
fn each_phase_stamp_is_in_progress_at_that_phase() {
    let running = locked(&pending_release());
    for phase in [Phase::Rendered, Phase::Migrated, Phase::DeployStarted] {
        let stamped = after(&running, |r| r.record_phase(phase, Utc::now()));
        assert_eq!(
            transition(Some(&running), &stamped),
            expect(
                EventStatus::InProgress,
                Some(EventStatus::InProgress),
                phase,
                None
            ),
            "{phase}"
        );
    }
}

#[test]
fn the_approval_gate_waits_then_in_progress_again_with_who_decided() {
    let rendered = after(&locked(&pending_release()), |r| {
        r.rendered_at = Some(at(10))
    });
    let parked = after(&rendered, |r| {
        r.approval_task_token = Some("AQB-secret-token".into());
        r.approval_requested_at = Some(at(11));
    });
    assert_eq!(event_status(&parked), EventStatus::WaitingForApproval);
    assert_eq!(
        transition(Some(&rendered), &parked),
        expect(
            EventStatus::WaitingForApproval,
            Some(EventStatus::InProgress),
            Phase::ApprovalRequested,
            Some(WAITING_REASON)
        )
    );
    // approve takes the token away first: no transition yet.
    let token_taken = after(&parked, |r| r.approval_task_token = None);
    assert_eq!(transition(Some(&parked), &token_taken), None);
    let decided = after(&token_taken, |r| {
        r.approval_decision = Some("approved by alice".into());
        r.approval_decided_at = Some(at(300));
    });
    assert_eq!(event_status(&decided), EventStatus::InProgress);
    assert_eq!(
        transition(Some(&token_taken), &decided),
        expect(
            EventStatus::InProgress,
            Some(EventStatus::WaitingForApproval),
            Phase::ApprovalDecided,
            Some("approved by alice")
        )
    );
}

#[test]
fn every_terminal_status_is_finished_with_its_reason() {
    use ReleaseStatus::*;
    let pending = pending_release();
    let running = locked(&pending);
    for (from, status, reason) in [
        (&running, Succeeded, None),
        (&running, Failed, Some("migration exited with code 3")),
        (
            &running,
            RolledBack,
            Some("ECS deployment circuit breaker: tasks failed to start."),
        ),
        (&running, Superseded, Some("a newer push took the stage")),
        (&running, Aborted, Some("the execution was stopped")),
        (&pending, Failed, Some("bad config")),
        (&pending, Superseded, Some("a newer push took the stage")),
        (&pending, Aborted, Some("the execution timed out")),
    ] {
        let ended = after(from, |r| {
            r.status = status;
            r.reason = reason.map(str::to_string);
            r.finished_at = Some(at(90));
        });
        assert_eq!(
            transition(Some(from), &ended),
            expect(
                status.into(),
                Some(from.status.into()),
                Phase::Finished,
                reason
            ),
            "{} -> {status}",
            from.status
        );
    }
}

#[test]
fn a_rejection_recorded_after_the_release_ended_is_no_transition() {
    let failed = after(&locked(&pending_release()), |r| {
        r.approval_requested_at = Some(at(11));
        r.status = ReleaseStatus::Failed;
        r.reason = Some("rejected at the approval gate by bob: not today".into());
        r.finished_at = Some(at(20));
    });
    let decided = after(&failed, |r| {
        r.approval_decision = Some("rejected by bob: not today".into());
        r.approval_decided_at = Some(at(21));
    });
    assert_eq!(transition(Some(&failed), &decided), None);
}

#[test]
fn writes_that_move_no_status_and_stamp_no_phase_are_no_transition() {
    let running = after(&locked(&pending_release()), |r| {
        r.deploy_started_at = Some(at(45))
    });
    let no_ops: [fn(&mut Release); 5] = [
        |r| r.smoke_test_status = Some("IN_PROGRESS".into()),
        |r| r.smoke_check_count = Some(3),
        |r| r.deployment_id = Some("ecs-svc/123".into()),
        |r| r.migration_exit_code = Some(0),
        // The same stamp written again (a retried step that keeps its timestamp).
        |r| r.deploy_started_at = Some(at(45)),
    ];
    for change in no_ops {
        let written = after(&running, change);
        assert_eq!(transition(Some(&running), &written), None, "{written:?}");
    }
}

#[test]
fn a_service_finishing_inside_a_multi_service_release_is_no_transition() {
    let running = after(&locked(&pending_release()), |r| {
        r.services = vec![service("backend-web", "IN_PROGRESS")];
    });
    let web_done = after(&running, |r| {
        r.services[0].status = "COMPLETED".into();
    });
    assert_eq!(transition(Some(&running), &web_done), None);
}

#[test]
fn a_write_stamping_two_phases_reports_the_later() {
    let running = locked(&pending_release());
    let both = after(&running, |r| {
        r.migrated_at = Some(at(40));
        r.deploy_started_at = Some(at(41));
    });
    assert_eq!(
        transition(Some(&running), &both).map(|t| t.phase),
        Some(Phase::DeployStarted)
    );
}

#[test]
fn a_release_inserted_already_ended_is_its_terminal_status() {
    let failed = after(&pending_release(), |r| {
        r.status = ReleaseStatus::Failed;
        r.reason = Some("no stage matches".into());
        r.finished_at = Some(at(3));
    });
    assert_eq!(
        transition(None, &failed),
        expect(
            EventStatus::Failed,
            None,
            Phase::Finished,
            Some("no stage matches")
        )
    );
}

pub(super) fn service(name: &str, status: &str) -> ServiceRecord {
    ServiceRecord {
        cluster: "demo".into(),
        service: name.into(),
        task_definition_arn: format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{name}:8"),
        previous_task_definition_arn: format!(
            "arn:aws:ecs:us-east-1:123456789012:task-definition/{name}:7"
        ),
        status: status.into(),
        deployment_id: None,
        restore_deployment_id: None,
        reason: None,
        started_at: None,
        finished_at: None,
    }
}
