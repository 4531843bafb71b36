//! Tests of the stage's alarms in the deployment configuration (see `deployment_alarms.rs`).
use super::*;
use crate::ecs::{deployment_configuration, RolloutPlan};
use aws_sdk_ecs::types::{DeploymentCircuitBreaker, DeploymentStrategy};

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| n.to_string()).collect()
}

fn service_with_alarms(alarms: &[&str], enable: bool, rollback: bool) -> DeploymentConfiguration {
    DeploymentConfiguration::builder()
        .maximum_percent(200)
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(true)
                .rollback(false)
                .build(),
        )
        .alarms(
            DeploymentAlarms::builder()
                .set_alarm_names(Some(names(alarms)))
                .enable(enable)
                .rollback(rollback)
                .build()
                .expect("alarms"),
        )
        .build()
}

#[test]
fn the_stage_alarms_join_the_services_own_with_enable_and_rollback() {
    let current = service_with_alarms(&["y", "x"], false, false);
    let base = deployment_configuration(Some(&current), &RolloutPlan::Rolling, None);
    let sent = with_stage_alarms(base, Some(&current), &names(&["x", "z"])).expect("sent");
    let alarms = sent.alarms.expect("alarms sent");
    assert_eq!(alarms.alarm_names, ["y", "x", "z"]);
    assert!(alarms.enable && alarms.rollback);
    // A rolling release otherwise changes nothing: only the alarms member is sent, the merge
    // keeps the rest (circuit breaker, percentages).
    assert_eq!(sent.deployment_circuit_breaker, None);
    assert_eq!(sent.maximum_percent, None);
}

#[test]
fn a_service_without_alarms_gets_the_stages() {
    let sent = with_stage_alarms(None, None, &names(&["x"])).expect("sent");
    assert_eq!(sent.alarms.expect("alarms").alarm_names, ["x"]);
}

#[test]
fn alarms_are_added_to_a_blue_green_configuration() {
    let mut current = service_with_alarms(&["y"], true, true);
    current.strategy = Some(DeploymentStrategy::BlueGreen);
    let plan = RolloutPlan::BlueGreen {
        bake_minutes: 3,
        hook: None,
    };
    let base = deployment_configuration(Some(&current), &plan, None);
    let sent = with_stage_alarms(base, Some(&current), &names(&["x"])).expect("sent");
    assert_eq!(sent.strategy, Some(DeploymentStrategy::BlueGreen));
    assert_eq!(sent.bake_time_in_minutes, Some(3));
    assert_eq!(sent.alarms.expect("alarms").alarm_names, ["y", "x"]);
}

#[test]
fn without_stage_alarms_the_services_alarms_are_left_as_they_are() {
    let current = service_with_alarms(&["y"], true, false);
    assert_eq!(with_stage_alarms(None, Some(&current), &[]), None);
    let mut blue_green = current.clone();
    blue_green.strategy = Some(DeploymentStrategy::BlueGreen);
    let plan = RolloutPlan::BlueGreen {
        bake_minutes: 0,
        hook: None,
    };
    let base = deployment_configuration(Some(&blue_green), &plan, None);
    let sent = with_stage_alarms(base.clone(), Some(&blue_green), &[]);
    assert_eq!(sent, base);
    assert_eq!(
        sent.and_then(|c| c.alarms),
        blue_green.alarms,
        "the service's alarms are sent back unchanged"
    );
}
