//! ECS adapter tests: SDK answers in (mocked per call, in order), core shapes out.

use std::collections::BTreeMap;

use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::operation::register_task_definition::{
    RegisterTaskDefinitionInput, RegisterTaskDefinitionOutput,
};
use aws_sdk_ecs::operation::update_service::UpdateServiceOutput;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, Container, DeploymentCircuitBreaker,
    DeploymentConfiguration, DeploymentRolloutState, DesiredStatus, EphemeralStorage, Failure,
    LaunchType, NetworkConfiguration, NetworkMode, RuntimePlatform, Task, TaskStopCode, Volume,
};
use aws_smithy_mocks::{mock, Rule};

use super::*;
use crate::test_support::{captured, error_body, mocked_client};
use aws_sdk_ecs::types::{ContainerDefinition, KeyValuePair, Secret};
use stevedore_core::render::ContainerChange;

mod register;
mod revisions;
mod traffic_shifting;
mod updates_and_tasks;

const CLUSTER: &str = "main";
const SERVICE: &str = "web";
const SERVICE_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:service/main/web";
const OLD_TD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:6";
const NEW_TD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7";

fn ecs(rules: &[Rule]) -> Ecs {
    Ecs::new(mocked_client!(aws_sdk_ecs, rules))
}

#[test]
fn family_of_a_task_definition() {
    assert_eq!(
        task_definition_family("arn:aws:ecs:us-east-1:1:task-definition/web:12"),
        "web"
    );
    assert_eq!(task_definition_family("web:3"), "web");
    assert_eq!(task_definition_family("web"), "web");
}

// ---- describe_service -------------------------------------------------------------------

fn describe_services() -> aws_smithy_mocks::RuleBuilder<
    aws_sdk_ecs::operation::describe_services::DescribeServicesInput,
    DescribeServicesOutput,
    aws_sdk_ecs::operation::describe_services::DescribeServicesError,
> {
    mock!(Client::describe_services)
        .match_requests(|r| r.cluster() == Some(CLUSTER) && r.services() == [SERVICE])
}

fn deployment(id: &str, status: &str, td: &str) -> aws_sdk_ecs::types::Deployment {
    aws_sdk_ecs::types::Deployment::builder()
        .id(id)
        .status(status)
        .task_definition(td)
        .build()
}

/// An ACTIVE Fargate service mid-rollout: PRIMARY (new) and ACTIVE (old) deployments.
fn active_service() -> Service {
    Service::builder()
        .service_name(SERVICE)
        .service_arn(SERVICE_ARN)
        .status("ACTIVE")
        .task_definition(NEW_TD)
        .launch_type(LaunchType::Fargate)
        .deployments(
            aws_sdk_ecs::types::Deployment::builder()
                .id("ecs-svc/new")
                .status("PRIMARY")
                .task_definition(NEW_TD)
                .rollout_state(DeploymentRolloutState::InProgress)
                .rollout_state_reason("ECS deployment ecs-svc/new in progress.")
                .build(),
        )
        .deployments(
            aws_sdk_ecs::types::Deployment::builder()
                .id("ecs-svc/old")
                .status("ACTIVE")
                .task_definition(OLD_TD)
                .rollout_state(DeploymentRolloutState::Completed)
                .build(),
        )
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets("subnet-a")
                        .subnets("subnet-b")
                        .security_groups("sg-1")
                        .assign_public_ip(AssignPublicIp::Enabled)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .deployment_circuit_breaker(
                    DeploymentCircuitBreaker::builder()
                        .enable(true)
                        .rollback(true)
                        .build(),
                )
                .build(),
        )
        .build()
}

fn services_answer(service: Service) -> Rule {
    describe_services().then_output(move || {
        DescribeServicesOutput::builder()
            .services(service.clone())
            .build()
    })
}

#[tokio::test]
async fn describe_service_maps_the_service_state() {
    let state = ecs(&[services_answer(active_service())])
        .describe_service(CLUSTER, SERVICE)
        .await
        .unwrap();
    assert_eq!(
        state,
        ServiceState {
            arn: SERVICE_ARN.into(),
            status: "ACTIVE".into(),
            task_definition: NEW_TD.into(),
            deployments: vec![
                DeploymentState {
                    id: "ecs-svc/new".into(),
                    status: "PRIMARY".into(),
                    rollout_state: Some("IN_PROGRESS".into()),
                    rollout_state_reason: Some("ECS deployment ecs-svc/new in progress.".into()),
                    task_definition: NEW_TD.into(),
                    desired_count: 0,
                    running_count: 0,
                },
                DeploymentState {
                    id: "ecs-svc/old".into(),
                    status: "ACTIVE".into(),
                    rollout_state: Some("COMPLETED".into()),
                    rollout_state_reason: None,
                    task_definition: OLD_TD.into(),
                    desired_count: 0,
                    running_count: 0,
                },
            ],
            launch_type: Some("FARGATE".into()),
            capacity_provider_strategy: None,
            platform_version: None,
            network_configuration: Some(json!({"AwsvpcConfiguration": {
                "Subnets": ["subnet-a", "subnet-b"],
                "SecurityGroups": ["sg-1"],
                "AssignPublicIp": "ENABLED",
            }})),
            rolls_back_failures: true,
            deployment_configuration: active_service().deployment_configuration,
            blue_green_load_balancer: false,
            test_listener_rule: false,
            service_connect: false,
            desired_count: 0,
            target_group_arns: Vec::new(),
        }
    );
    assert_eq!(
        state
            .deployment("ecs-svc/old")
            .map(|d| d.task_definition.as_str()),
        Some(OLD_TD)
    );
    assert_eq!(state.deployment("ecs-svc/gone"), None);
}

#[tokio::test]
async fn describe_service_accepts_the_service_arn() {
    let rule = mock!(Client::describe_services)
        .match_requests(|r| r.services() == [SERVICE_ARN])
        .then_output(|| {
            DescribeServicesOutput::builder()
                .services(active_service())
                .build()
        });
    let state = ecs(&[rule])
        .describe_service(CLUSTER, SERVICE_ARN)
        .await
        .unwrap();
    assert_eq!(state.arn, SERVICE_ARN);
}

#[tokio::test]
async fn breaker_without_rollback_and_vpc_defaults() {
    let mut service = active_service();
    service.deployment_configuration = Some(
        DeploymentConfiguration::builder()
            .deployment_circuit_breaker(
                DeploymentCircuitBreaker::builder()
                    .enable(true)
                    .rollback(false)
                    .build(),
            )
            .build(),
    );
    service.network_configuration = Some(
        NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder()
                    .subnets("subnet-a")
                    .build()
                    .unwrap(),
            )
            .build(),
    );
    let state = ecs(&[services_answer(service)])
        .describe_service(CLUSTER, SERVICE)
        .await
        .unwrap();
    assert!(!state.rolls_back_failures);
    // RunTask through Step Functions wants every key present, in PascalCase.
    assert_eq!(
        state.network_configuration,
        Some(json!({"AwsvpcConfiguration": {
            "Subnets": ["subnet-a"],
            "SecurityGroups": [],
            "AssignPublicIp": "DISABLED",
        }}))
    );
}

#[tokio::test]
async fn rollback_without_enabled_breaker_is_no_rollback() {
    let mut service = active_service();
    service.deployment_configuration = Some(
        DeploymentConfiguration::builder()
            .deployment_circuit_breaker(
                DeploymentCircuitBreaker::builder()
                    .enable(false)
                    .rollback(true)
                    .build(),
            )
            .build(),
    );
    service.network_configuration = None;
    service.launch_type = None;
    let state = ecs(&[services_answer(service)])
        .describe_service(CLUSTER, SERVICE)
        .await
        .unwrap();
    assert!(!state.rolls_back_failures);
    assert_eq!(state.network_configuration, None);
    assert_eq!(state.launch_type, None);
}

fn assert_service_not_found(err: &Error, mentions: &[&str]) {
    assert_eq!(err.error_type(), "ServiceNotFound", "{err}");
    for text in mentions {
        assert!(err.to_string().contains(text), "`{text}` not in: {err}");
    }
}

#[tokio::test]
async fn a_failures_entry_is_service_not_found() {
    let rule = describe_services().then_output(|| {
        DescribeServicesOutput::builder()
            .failures(
                Failure::builder()
                    .arn(SERVICE_ARN)
                    .reason("MISSING")
                    .build(),
            )
            .build()
    });
    let err = ecs(&[rule])
        .describe_service(CLUSTER, SERVICE)
        .await
        .unwrap_err();
    assert_service_not_found(&err, &["`web`", "`main`", "not found"]);
}

#[tokio::test]
async fn an_empty_answer_is_service_not_found() {
    let rule = describe_services().then_output(|| DescribeServicesOutput::builder().build());
    let err = ecs(&[rule])
        .describe_service(CLUSTER, SERVICE)
        .await
        .unwrap_err();
    assert_service_not_found(&err, &["`web`", "`main`"]);
}

#[tokio::test]
async fn another_service_in_the_answer_is_not_taken_for_ours() {
    let mut other = active_service();
    other.service_name = Some("worker".into());
    other.service_arn = Some("arn:aws:ecs:us-east-1:123456789012:service/main/worker".into());
    let err = ecs(&[services_answer(other)])
        .describe_service(CLUSTER, SERVICE)
        .await
        .unwrap_err();
    assert_service_not_found(&err, &["`web`"]);
}

#[tokio::test]
async fn inactive_or_draining_service_is_service_not_found() {
    for status in ["INACTIVE", "DRAINING"] {
        let mut service = active_service();
        service.status = Some(status.into());
        let err = ecs(&[services_answer(service)])
            .describe_service(CLUSTER, SERVICE)
            .await
            .unwrap_err();
        assert_service_not_found(&err, &["`web`", status, "ACTIVE service"]);
    }
}

#[tokio::test]
async fn missing_cluster_is_service_not_found() {
    let rule = describe_services()
        .sequence()
        .http_status(
            400,
            Some(error_body("ClusterNotFoundException", "Cluster not found.")),
        )
        .build();
    let err = ecs(&[rule])
        .describe_service(CLUSTER, SERVICE)
        .await
        .unwrap_err();
    assert_service_not_found(&err, &["cluster `main` does not exist"]);
}

#[tokio::test]
async fn other_describe_failures_are_classified() {
    let rule = describe_services()
        .sequence()
        .http_status(400, Some(error_body("AccessDeniedException", "nope")))
        .build();
    let err = ecs(&[rule])
        .describe_service(CLUSTER, SERVICE)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "AwsError", "{err}");
    assert!(err
        .to_string()
        .contains("DescribeServices failed: AccessDeniedException"));

    let rule = describe_services()
        .sequence()
        .http_status(500, Some(error_body("ServerException", "try again")))
        .build();
    let err = ecs(&[rule])
        .describe_service(CLUSTER, SERVICE)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "TransientAws", "{err}");
}
