use super::*;
use serde_json::json;

const GREEN: &str = "arn:aws:ecs:us-east-1:1:service-revision/c/web/2";
const BLUE: &str = "arn:aws:ecs:us-east-1:1:service-revision/c/web/1";

fn step(percent: f64, stage: &str, revision: &str) -> TrafficStep {
    TrafficStep {
        percent,
        lifecycle_stage: stage.into(),
        at: "t".into(),
        revision: Some(revision.into()),
        service: Some("web".into()),
    }
}

#[test]
fn the_target_and_its_production_share_come_from_the_payload() {
    let details = json!({"targetServiceRevisionArn": GREEN,
        "productionTrafficWeights": {BLUE: 66, GREEN: 34}, "testTrafficWeights": {}});
    assert_eq!(target_weight(Some(&details)), Some((GREEN.into(), 34.0)));
    let fractional = json!({"targetServiceRevisionArn": GREEN,
        "productionTrafficWeights": {BLUE: 66.7, GREEN: 33.3}});
    assert_eq!(target_weight(Some(&fractional)), Some((GREEN.into(), 33.3)));
    assert_eq!(target_weight(None), None);
    let no_weight = json!({"targetServiceRevisionArn": GREEN, "productionTrafficWeights": {}});
    assert_eq!(target_weight(Some(&no_weight)), None);
}

#[test]
fn rising_shares_of_the_started_revision_are_forward_steps() {
    let mut steps = vec![step(0.0, START_STAGE, GREEN)];
    assert_eq!(
        classify(&steps, Some("web"), GREEN, 34.0),
        StepKind::Forward
    );
    steps.push(step(34.0, STEP_STAGE, GREEN));
    assert_eq!(classify(&steps, Some("web"), GREEN, 34.0), StepKind::Same);
    assert_eq!(
        classify(&steps, Some("web"), GREEN, 68.0),
        StepKind::Forward
    );
}

#[test]
fn rollback_invocations_are_not_steps() {
    // Rolled back before any production step: blue is the target, with all the traffic.
    let started = vec![step(0.0, START_STAGE, GREEN)];
    assert_eq!(
        classify(&started, Some("web"), BLUE, 100.0),
        StepKind::NotForward
    );
    // Rolled back after 34 %: green's share falls.
    let shifted = vec![step(0.0, START_STAGE, GREEN), step(34.0, STEP_STAGE, GREEN)];
    assert_eq!(
        classify(&shifted, Some("web"), GREEN, 0.0),
        StepKind::NotForward
    );
    assert_eq!(
        classify(&shifted, Some("web"), BLUE, 100.0),
        StepKind::NotForward
    );
    // The start invoked again is no step either.
    assert_eq!(
        classify(&started, Some("web"), GREEN, 0.0),
        StepKind::NotForward
    );
}

#[test]
fn each_service_has_its_own_steps_and_an_unknown_start_counts_any_share() {
    let mut worker = step(50.0, STEP_STAGE, "arn:worker/2");
    worker.service = Some("worker".into());
    let steps = vec![step(0.0, START_STAGE, GREEN), worker];
    assert_eq!(
        classify(&steps, Some("web"), GREEN, 10.0),
        StepKind::Forward
    );
    assert_eq!(
        classify(&steps, Some("worker"), "arn:worker/2", 50.0),
        StepKind::Same
    );
    assert_eq!(classify(&[], None, GREEN, 5.0), StepKind::Forward);
    assert_eq!(classify(&[], None, GREEN, 0.0), StepKind::NotForward);
}

#[test]
fn steps_read_as_a_line_per_release() {
    let mut steps = vec![
        step(0.0, START_STAGE, GREEN),
        step(34.0, STEP_STAGE, GREEN),
        step(68.0, STEP_STAGE, GREEN),
        step(100.0, STEP_STAGE, GREEN),
    ];
    assert_eq!(
        describe_steps(&steps).as_deref(),
        Some("34 % → 68 % → 100 %")
    );
    let mut worker = step(5.5, STEP_STAGE, "arn:worker/2");
    worker.service = Some("worker".into());
    steps.push(worker);
    assert_eq!(
        describe_steps(&steps).as_deref(),
        Some("web: 34 % → 68 % → 100 %; worker: 5.5 %")
    );
    assert_eq!(describe_steps(&steps[..1]), None);
}
