//! The live view's lines, rendered from fixture releases (snapshots in `snapshots/`), and
//! which endings count as done.

use stevedore_core::release::ReleaseStatus;

use super::*;
use crate::fixtures::{finished, release};

const ID: &str = "01JD3Q8Z0000000000000000AB";

/// Every line the live view prints for `release`, header first.
fn lines(release: &Release) -> String {
    let mut out = vec![header(release, Paint::default())];
    out.extend(
        milestones(release)
            .iter()
            .map(|m| line(m, release, Paint::default())),
    );
    out.join("\n")
}

#[test]
fn a_release_that_succeeded() {
    let r = finished(ID, ReleaseStatus::Succeeded, 8, "2026-01-01T00:00:42.300Z");
    insta::assert_snapshot!(lines(&r));
    assert!(outcome(&r, Expect::Success).is_ok());
}

#[test]
fn a_release_ecs_rolled_back() {
    let mut r = finished(ID, ReleaseStatus::RolledBack, 8, "2026-01-01T00:01:15.000Z");
    r.reason = Some("ECS rolled the deployment back: tasks failed their health checks".into());
    insta::assert_snapshot!(lines(&r));
    let err = outcome(&r, Expect::Success).unwrap_err();
    let failure = err.downcast_ref::<Failure>().expect("a Failure");
    assert_eq!(failure.code(), 4);
    assert!(
        failure.to_string().contains("ROLLED_BACK: ECS rolled"),
        "{failure}"
    );
}

#[test]
fn a_promotion_parked_at_the_approval_gate() {
    let mut r = release(ID, ReleaseStatus::InProgress);
    r.spec.stage = "production".into();
    r.spec.tag = "v1.4.0".into();
    r.spec.trigger = stevedore_core::release::Trigger::Promote;
    r.lock_acquired_at = Some("2026-01-01T00:00:00.300Z".into());
    r.rendered_at = Some("2026-01-01T00:00:01.100Z".into());
    r.task_definition_arn =
        Some("arn:aws:ecs:us-east-1:123456789012:task-definition/backend:9".into());
    r.approval_requested_at = Some("2026-01-01T00:00:01.250Z".into());
    insta::assert_snapshot!(lines(&r));
    // Once decided, the hint goes and the decision is a line of its own.
    r.approval_decided_at = Some("2026-01-01T00:03:00.000Z".into());
    r.approval_decision =
        Some("approved by arn:aws:sts::123456789012:assumed-role/release/alice".into());
    let text = lines(&r);
    assert!(!text.contains("stevedore approve"), "{text}");
    assert!(
        text.contains("+3m00s   approved by arn:aws:sts::123456789012:assumed-role/release/alice"),
        "{text}"
    );
}

#[test]
fn a_rejection_is_done_when_the_release_ended_rejected() {
    let mut r = release(ID, ReleaseStatus::Failed);
    r.approval_decision = Some("rejected by bob: change freeze".into());
    r.reason =
        Some("rejected at the approval gate by bob: change freeze; nothing was changed".into());
    assert!(outcome(&r, Expect::Rejection).is_ok());
    assert!(outcome(&r, Expect::Success).is_err());
    let mut other = release(ID, ReleaseStatus::Failed);
    other.reason = Some("migration exited 3".into());
    assert!(
        outcome(&other, Expect::Rejection).is_err(),
        "a failure of its own is not the rejection"
    );
}

#[test]
fn colour_marks_the_outcome_only_when_asked() {
    let r = finished(ID, ReleaseStatus::Failed, 8, "2026-01-01T00:00:42.300Z");
    let last = milestones(&r).pop().unwrap();
    assert!(!line(&last, &r, Paint::default()).contains('\u{1b}'));
    assert!(line(&last, &r, Paint { colour: true }).contains("\u{1b}[31m"));
}
