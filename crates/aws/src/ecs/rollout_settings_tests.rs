//! Tests of the prediction's inputs and the measured rollout (see `rollout_settings.rs`).
use aws_sdk_ecs::operation::list_service_deployments::ListServiceDeploymentsOutput;
use aws_sdk_ecs::types::{
    CanaryConfiguration, ContainerDefinition, DeploymentCircuitBreaker, HealthCheck,
    ServiceDeploymentBrief,
};
use aws_sdk_ecs::Client;
use aws_smithy_mocks::mock;
use aws_smithy_types::DateTime;

use super::*;
use crate::test_support::mocked_client;

fn state(desired: i32) -> ServiceState {
    ServiceState {
        arn: "arn:aws:ecs:us-east-1:1:service/main/web".into(),
        status: "ACTIVE".into(),
        task_definition: "web:1".into(),
        deployments: Vec::new(),
        launch_type: Some("FARGATE".into()),
        capacity_provider_strategy: None,
        platform_version: None,
        network_configuration: None,
        rolls_back_failures: false,
        deployment_configuration: None,
        blue_green_load_balancer: false,
        test_listener_rule: false,
        service_connect: false,
        desired_count: desired,
        target_group_arns: Vec::new(),
    }
}

fn task_definition() -> TaskDefinition {
    TaskDefinition::builder()
        .cpu("512")
        .memory("1024")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .stop_timeout(10)
                .health_check(
                    HealthCheck::builder()
                        .command("CMD-SHELL")
                        .interval(15)
                        .retries(3)
                        .build()
                        .expect("command set"),
                )
                .build(),
        )
        .container_definitions(
            ContainerDefinition::builder()
                .name("log-router")
                .essential(false)
                .build(),
        )
        .build()
}

#[test]
fn the_service_task_definition_and_configuration_become_the_prediction_inputs() {
    let config = DeploymentConfiguration::builder()
        .minimum_healthy_percent(50)
        .maximum_percent(100)
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(true)
                .rollback(false)
                .build(),
        )
        .build();
    let settings = service_settings("web", &state(4), Some(&config), &task_definition(), vec![]);
    assert_eq!(settings.desired_count, 4);
    assert_eq!(settings.minimum_healthy_percent, Some(50));
    assert_eq!(settings.maximum_percent, Some(100));
    assert_eq!(settings.strategy, Strategy::Rolling);
    assert!(settings.circuit_breaker && !settings.circuit_breaker_rollback);
    assert_eq!(settings.task_cpu.as_deref(), Some("512"));
    let app = &settings.containers[0];
    assert!(app.essential, "essential defaults to true");
    assert_eq!(app.stop_timeout_seconds, Some(10));
    let check = app.health_check.as_ref().expect("health check");
    assert_eq!(
        (check.interval_seconds, check.retries, check.timeout_seconds),
        (Some(15), Some(3), None)
    );
    assert!(!settings.containers[1].essential);
}

#[test]
fn a_canary_configuration_carries_its_bake_and_ecs_defaults_fill_the_rest() {
    let config = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::Canary)
        .bake_time_in_minutes(3)
        .canary_configuration(
            CanaryConfiguration::builder()
                .canary_bake_time_in_minutes(2)
                .build(),
        )
        .build();
    let settings = service_settings("web", &state(2), Some(&config), &task_definition(), vec![]);
    assert_eq!(settings.strategy, Strategy::Canary);
    assert_eq!(settings.bake_time_minutes, Some(3));
    let canary = settings.canary.expect("canary");
    assert_eq!(canary.bake_minutes, 2);
    assert_eq!(canary.percent, CanarySettings::default().percent);
    // No configuration at all: rolling with ECS's defaults, no circuit breaker.
    let bare = service_settings("web", &state(2), None, &task_definition(), vec![]);
    assert_eq!(
        (
            bare.strategy,
            bare.minimum_healthy_percent,
            bare.circuit_breaker
        ),
        (Strategy::Rolling, None, false)
    );
}

fn brief(created: f64, started: Option<f64>, finished: Option<f64>) -> ServiceDeploymentBrief {
    ServiceDeploymentBrief::builder()
        .created_at(DateTime::from_secs_f64(created))
        .set_started_at(started.map(DateTime::from_secs_f64))
        .set_finished_at(finished.map(DateTime::from_secs_f64))
        .status(ServiceDeploymentStatus::Successful)
        .build()
}

#[tokio::test]
async fn the_measured_rollout_is_the_latest_successful_deployments_start_to_finish() {
    let listed = mock!(Client::list_service_deployments)
        .match_requests(|r| {
            r.cluster() == Some("main")
                && r.service() == Some("web")
                && r.status() == [ServiceDeploymentStatus::Successful]
        })
        .then_output(|| {
            ListServiceDeploymentsOutput::builder()
                .service_deployments(brief(1001.0, Some(1001.5), Some(1243.0)))
                .service_deployments(brief(1300.0, Some(1300.0), Some(1400.25)))
                .service_deployments(brief(900.0, Some(900.0), Some(2000.0)))
                .build()
        });
    let ecs = Ecs::new(mocked_client!(aws_sdk_ecs, [&listed]));
    let span = ecs
        .completed_rollout("main", "web", 1000.0)
        .await
        .unwrap()
        .expect("a span");
    assert_eq!(
        span,
        RolloutSpan {
            started_at: 1300.0,
            finished_at: 1400.25
        }
    );
    assert_eq!(span.seconds(), 100.25);
}

#[tokio::test]
async fn no_finished_deployment_measures_nothing() {
    let unfinished = mock!(Client::list_service_deployments).then_output(|| {
        ListServiceDeploymentsOutput::builder()
            .service_deployments(brief(1001.0, Some(1001.0), None))
            .build()
    });
    let none = mock!(Client::list_service_deployments)
        .then_output(|| ListServiceDeploymentsOutput::builder().build());
    let ecs = Ecs::new(mocked_client!(aws_sdk_ecs, [&unfinished, &none]));
    assert_eq!(
        ecs.completed_rollout("main", "web", 1000.0).await.unwrap(),
        None
    );
    assert_eq!(
        ecs.completed_rollout("main", "web", 1000.0).await.unwrap(),
        None
    );
}
