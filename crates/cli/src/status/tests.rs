//! `status` rendered from fixture releases and HEAD items (snapshots in `snapshots/`).

use stevedore_core::release::ReleaseStatus;

use super::*;
use crate::fixtures::{finished, head, now, release};

const RUNNING: &str = "01JD3Q8Z0000000000000000AB";
const IN_FLIGHT: &str = "01JD3R2K0000000000000000CD";
const QUEUED: &str = "01JD3R5M0000000000000000EF";

fn busy_staging() -> StageStatus {
    let running = finished(
        RUNNING,
        ReleaseStatus::Succeeded,
        7,
        "2026-01-01T00:00:42.000Z",
    );
    let mut flight = release(IN_FLIGHT, ReleaseStatus::InProgress);
    flight.spec.tag = "develop-9f8e7d6".into();
    flight.spec.digest = crate::fixtures::digest("a1");
    flight.lock_acquired_at = Some("2026-01-01T01:58:00.000Z".into());
    flight.rendered_at = Some("2026-01-01T01:58:01.000Z".into());
    flight.deploy_started_at = Some("2026-01-01T01:59:00.000Z".into());
    flight.approval_task_token = Some("AQB8-parked-token".into());
    let h = head(Some(RUNNING), Some(IN_FLIGHT), &[QUEUED]);
    StageStatus {
        app: "backend".into(),
        stage: "staging".into(),
        running: Some(public_release(&running)),
        in_flight: Some(InFlight {
            phase: phase(&flight),
            release: public_release(&flight),
        }),
        lock: lock_of(&h, now()),
        waiting: vec![Waiter {
            release_id: QUEUED.into(),
            tag: Some("develop-0c0ffee".into()),
            status: Some(ReleaseStatus::Pending),
        }],
    }
}

fn idle(stage: &str, running: Option<Release>) -> StageStatus {
    StageStatus {
        app: "backend".into(),
        stage: stage.into(),
        running,
        in_flight: None,
        lock: None,
        waiting: Vec::new(),
    }
}

#[test]
fn a_busy_stage_shows_its_release_in_flight_the_lock_and_the_queue() {
    let mut production = finished(
        "01JD2Z0A0000000000000000GH",
        ReleaseStatus::Succeeded,
        5,
        "2025-12-30T09:15:00.000Z",
    );
    production.spec.stage = "production".into();
    production.spec.tag = "v1.4.0".into();
    let stages = [busy_staging(), idle("production", Some(production))];
    let text = render(&stages, now(), Paint::default());
    insta::assert_snapshot!(text);
}

#[test]
fn an_idle_app_and_a_stage_never_deployed() {
    let mut other = idle("staging", None);
    other.app = "worker".into();
    let stages = [
        idle(
            "staging",
            Some(finished(
                RUNNING,
                ReleaseStatus::Succeeded,
                7,
                "2026-01-01T00:00:42.000Z",
            )),
        ),
        other,
    ];
    insta::assert_snapshot!(render(&stages, now(), Paint::default()));
}

#[test]
fn an_expired_lease_says_the_stage_is_free() {
    let mut h = head(Some(RUNNING), Some(IN_FLIGHT), &[]);
    h.lock_expires_at = Some(now().timestamp() - 60);
    let lock = lock_of(&h, now()).unwrap();
    assert!(lock.expired);
    let mut stage = busy_staging();
    stage.lock = Some(lock);
    stage.waiting.clear();
    let text = render(&[stage], now(), Paint::default());
    assert!(
        text.contains("ran out at 2026-01-01 01:59:00Z (1m ago): the stage is free"),
        "{text}"
    );
}

#[test]
fn no_apps_says_how_to_add_one() {
    assert!(render(&[], now(), Paint::default()).contains("stevedore config apply"));
}

#[test]
fn json_never_carries_the_approval_task_token() {
    let json = serde_json::to_string(&busy_staging()).unwrap();
    assert!(
        !json.contains("AQB8-parked-token") && !json.contains("approval_task_token"),
        "{json}"
    );
    let text = render(&[busy_staging()], now(), Paint::default());
    assert!(!text.contains("AQB8-parked-token"));
}
