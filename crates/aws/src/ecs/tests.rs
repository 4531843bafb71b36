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

// ---- register_rendered ------------------------------------------------------------------

fn kv(name: &str, value: &str) -> KeyValuePair {
    KeyValuePair::builder().name(name).value(value).build()
}

fn secret(name: &str, value_from: &str) -> Secret {
    Secret::builder()
        .name(name)
        .value_from(value_from)
        .build()
        .unwrap()
}

fn sidecar() -> ContainerDefinition {
    ContainerDefinition::builder()
        .name("envoy")
        .image("public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29")
        .environment(kv("APPMESH_VIRTUAL_NODE_NAME", "mesh/web"))
        .secrets(secret(
            "MESH_TOKEN",
            "arn:aws:secretsmanager:us-east-1:1:secret:mesh-Xy",
        ))
        .essential(false)
        .build()
}

/// web:6 as DescribeTaskDefinition returns it, read-only fields included.
fn described_task_definition() -> TaskDefinition {
    TaskDefinition::builder()
        .task_definition_arn(OLD_TD)
        .revision(6)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .registered_at(aws_smithy_types::DateTime::from_secs(1_700_000_000))
        .registered_by("arn:aws:iam::123456789012:role/deployer")
        .compatibilities(Compatibility::Ec2)
        .compatibilities(Compatibility::Fargate)
        .family("web")
        .task_role_arn("arn:aws:iam::123456789012:role/web-task")
        .execution_role_arn("arn:aws:iam::123456789012:role/web-exec")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("512")
        .memory("1024")
        .volumes(Volume::builder().name("scratch").build())
        .ephemeral_storage(EphemeralStorage::builder().size_in_gib(30).build())
        .runtime_platform(
            RuntimePlatform::builder()
                .cpu_architecture(aws_sdk_ecs::types::CpuArchitecture::Arm64)
                .build(),
        )
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:old")
                .environment(kv("LOG_LEVEL", "info"))
                .environment(kv("FEATURE", "off"))
                .environment(kv("DB_PASSWORD", "plain-text"))
                .secrets(secret(
                    "API_KEY",
                    "arn:aws:secretsmanager:us-east-1:1:secret:api-Ab",
                ))
                .secrets(secret(
                    "MODE",
                    "arn:aws:secretsmanager:us-east-1:1:secret:mode-Cd",
                ))
                .cpu(256)
                .essential(true)
                .build(),
        )
        .container_definitions(sidecar())
        .build()
}

const NEW_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:new";

fn app_change() -> ContainerChange {
    ContainerChange {
        name: "app".into(),
        image: NEW_IMAGE.into(),
        environment: BTreeMap::from([
            ("FEATURE".to_string(), "on".to_string()),
            ("MODE".to_string(), "fast".to_string()),
        ]),
        secrets: BTreeMap::from([(
            "DB_PASSWORD".to_string(),
            "arn:aws:secretsmanager:us-east-1:1:secret:db-Ef".to_string(),
        )]),
    }
}

fn registered(arn: &'static str) -> RegisterTaskDefinitionOutput {
    RegisterTaskDefinitionOutput::builder()
        .task_definition(
            TaskDefinition::builder()
                .task_definition_arn(arn)
                .family("web")
                .revision(7)
                .build(),
        )
        .build()
}

#[tokio::test]
async fn register_rendered_changes_only_the_target_container() {
    let seen = captured::<RegisterTaskDefinitionInput>();
    let log = seen.clone();
    let rule = mock!(Client::register_task_definition)
        .match_requests(|r| r.family() == Some("web"))
        .then_compute_output(move |input| {
            log.lock().unwrap().push(input.clone());
            registered(NEW_TD)
        });
    let current = described_task_definition();
    let arn = ecs(&[rule])
        .register_rendered(&current, &[], &[app_change()], "01JRELEASE")
        .await
        .unwrap();
    assert_eq!(arn, NEW_TD);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let input = &seen[0];
    // Everything a new revision needs is carried over from the described one.
    assert_eq!(input.family.as_deref(), Some("web"));
    assert_eq!(
        input.task_role_arn.as_deref(),
        Some("arn:aws:iam::123456789012:role/web-task")
    );
    assert_eq!(
        input.execution_role_arn.as_deref(),
        Some("arn:aws:iam::123456789012:role/web-exec")
    );
    assert_eq!(input.network_mode, Some(NetworkMode::Awsvpc));
    assert_eq!(input.cpu.as_deref(), Some("512"));
    assert_eq!(input.memory.as_deref(), Some("1024"));
    assert_eq!(
        input.requires_compatibilities,
        Some(vec![Compatibility::Fargate])
    );
    assert_eq!(input.volumes, current.volumes);
    assert_eq!(input.ephemeral_storage, current.ephemeral_storage);
    assert_eq!(input.runtime_platform, current.runtime_platform);
    assert_eq!(
        input.tags(),
        [aws_sdk_ecs::types::Tag::builder()
            .key("stevedore:release")
            .value("01JRELEASE")
            .build()]
    );

    let containers = input.container_definitions();
    assert_eq!(containers.len(), 2, "container order and count are kept");
    let app = &containers[0];
    assert_eq!(app.name.as_deref(), Some("app"));
    assert_eq!(app.image.as_deref(), Some(NEW_IMAGE));
    // Set/overridden variables win; a name that became a secret leaves the environment.
    assert_eq!(
        app.environment(),
        [
            kv("FEATURE", "on"),
            kv("LOG_LEVEL", "info"),
            kv("MODE", "fast")
        ]
    );
    // Existing secrets stay unless now plain environment; new ones are added.
    assert_eq!(
        app.secrets(),
        [
            secret(
                "API_KEY",
                "arn:aws:secretsmanager:us-east-1:1:secret:api-Ab"
            ),
            secret(
                "DB_PASSWORD",
                "arn:aws:secretsmanager:us-east-1:1:secret:db-Ef"
            ),
        ]
    );
    // Other settings of the target container are untouched.
    assert_eq!(app.cpu, 256);
    assert_eq!(app.essential, Some(true));
    // The sidecar is sent exactly as described.
    assert_eq!(containers[1], sidecar());
}

#[tokio::test]
async fn register_rendered_without_secrets_sends_no_secret_list() {
    let mut current = described_task_definition();
    current.container_definitions = Some(vec![ContainerDefinition::builder()
        .name("app")
        .image("old")
        .build()]);
    let change = ContainerChange {
        name: "app".into(),
        image: NEW_IMAGE.into(),
        environment: BTreeMap::new(),
        secrets: BTreeMap::new(),
    };
    let rule = mock!(Client::register_task_definition)
        .match_requests(|r| {
            let app = &r.container_definitions()[0];
            app.image.as_deref() == Some(NEW_IMAGE) && app.secrets.is_none()
        })
        .then_output(|| registered(NEW_TD));
    let arn = ecs(std::slice::from_ref(&rule))
        .register_rendered(&current, &[], &[change], "01JRELEASE")
        .await
        .unwrap();
    assert_eq!(arn, NEW_TD);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn rejected_task_definition_carries_the_message() {
    for code in ["ClientException", "InvalidParameterException"] {
        let rule = mock!(Client::register_task_definition)
            .sequence()
            .http_status(
                400,
                Some(error_body(
                    code,
                    "Invalid 'cpu' setting for task. For more information, see the Troubleshooting section.",
                )),
            )
            .build();
        let err = ecs(&[rule])
            .register_rendered(
                &described_task_definition(),
                &[],
                &[app_change()],
                "01JRELEASE",
            )
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "TaskDefinitionRejected", "{err}");
        let text = err.to_string();
        assert!(text.contains(code), "{text}");
        assert!(text.contains("Invalid 'cpu' setting for task."), "{text}");
    }
}

#[tokio::test]
async fn register_throttle_is_not_a_rejection() {
    let rule = mock!(Client::register_task_definition)
        .sequence()
        .http_status(
            400,
            Some(error_body("ThrottlingException", "Rate exceeded")),
        )
        .build();
    let err = ecs(&[rule])
        .register_rendered(
            &described_task_definition(),
            &[],
            &[app_change()],
            "01JRELEASE",
        )
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Throttled", "{err}");
}

// ---- update_service ---------------------------------------------------------------------

fn update_answer(deployments: Vec<aws_sdk_ecs::types::Deployment>) -> Rule {
    mock!(Client::update_service)
        .match_requests(|r| {
            r.cluster() == Some(CLUSTER)
                && r.service() == Some(SERVICE)
                && r.task_definition() == Some(NEW_TD)
                // The service's own deployment configuration (circuit breaker) is kept.
                && r.deployment_configuration().is_none()
                && r.force_new_deployment().is_none()
        })
        .then_output(move || {
            let mut service = active_service();
            service.deployments = Some(deployments.clone());
            UpdateServiceOutput::builder().service(service).build()
        })
}

#[tokio::test]
async fn update_service_returns_the_new_primary_deployment() {
    let rule = update_answer(vec![
        deployment("ecs-svc/old", "ACTIVE", OLD_TD),
        deployment("ecs-svc/new", "PRIMARY", NEW_TD),
    ]);
    let id = ecs(std::slice::from_ref(&rule))
        .update_service(CLUSTER, SERVICE, NEW_TD, None)
        .await
        .unwrap();
    assert_eq!(id, "ecs-svc/new");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn update_service_sends_a_given_deployment_configuration() {
    let config = DeploymentConfiguration::builder()
        .strategy(aws_sdk_ecs::types::DeploymentStrategy::BlueGreen)
        .bake_time_in_minutes(3)
        .build();
    let expected = config.clone();
    let rule = mock!(Client::update_service)
        .match_requests(move |r| r.deployment_configuration() == Some(&expected))
        .then_output(|| {
            let mut service = active_service();
            service.deployments = Some(vec![deployment("ecs-svc/new", "PRIMARY", NEW_TD)]);
            UpdateServiceOutput::builder().service(service).build()
        });
    let id = ecs(std::slice::from_ref(&rule))
        .update_service(CLUSTER, SERVICE, NEW_TD, Some(config))
        .await
        .unwrap();
    assert_eq!(id, "ecs-svc/new");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn blue_green_services_roll_back_failures_and_need_an_advanced_load_balancer() {
    let mut service = active_service();
    service.deployment_configuration = Some(
        DeploymentConfiguration::builder()
            .strategy(aws_sdk_ecs::types::DeploymentStrategy::BlueGreen)
            .build(),
    );
    let plain = ecs(&[services_answer(service.clone())])
        .describe_service(CLUSTER, SERVICE)
        .await
        .unwrap();
    assert!(plain.rolls_back_failures);
    assert!(!plain.blue_green_load_balancer);
    service.load_balancers = Some(vec![aws_sdk_ecs::types::LoadBalancer::builder()
        .target_group_arn("arn:tg/blue")
        .advanced_configuration(
            aws_sdk_ecs::types::AdvancedConfiguration::builder()
                .alternate_target_group_arn("arn:tg/green")
                .production_listener_rule("arn:rule/prod")
                .test_listener_rule("arn:rule/test")
                .role_arn("arn:role")
                .build(),
        )
        .build()]);
    let ready = ecs(&[services_answer(service)])
        .describe_service(CLUSTER, SERVICE)
        .await
        .unwrap();
    assert!(ready.blue_green_load_balancer);
    assert!(ready.test_listener_rule);
}

#[tokio::test]
async fn update_service_without_a_primary_of_ours_is_deployment_failed() {
    // A PRIMARY deployment of another task definition, and ours only ACTIVE.
    let rule = update_answer(vec![
        deployment("ecs-svc/other", "PRIMARY", OLD_TD),
        deployment("ecs-svc/new", "ACTIVE", NEW_TD),
    ]);
    let err = ecs(&[rule])
        .update_service(CLUSTER, SERVICE, NEW_TD, None)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "DeploymentFailed", "{err}");
    assert!(err.to_string().contains(NEW_TD), "{err}");
}

#[tokio::test]
async fn update_of_a_missing_service_is_service_not_found() {
    for code in ["ServiceNotFoundException", "ServiceNotActiveException"] {
        let rule = mock!(Client::update_service)
            .sequence()
            .http_status(400, Some(error_body(code, "Service not found.")))
            .build();
        let err = ecs(&[rule])
            .update_service(CLUSTER, SERVICE, NEW_TD, None)
            .await
            .unwrap_err();
        assert_service_not_found(&err, &["`web`", "`main`"]);
    }
}

// ---- describe_task / tasks_in_group ----------------------------------------------------

const TASK: &str = "arn:aws:ecs:us-east-1:123456789012:task/main/0a1b2c";

#[tokio::test]
async fn describe_task_maps_exit_codes_and_stop_code() {
    let rule = mock!(Client::describe_tasks)
        .match_requests(|r| r.cluster() == Some(CLUSTER) && r.tasks() == [TASK])
        .then_output(|| {
            DescribeTasksOutput::builder()
                .tasks(
                    Task::builder()
                        .task_arn(TASK)
                        .last_status("STOPPED")
                        .stop_code(TaskStopCode::EssentialContainerExited)
                        .stopped_reason("Essential container in task exited")
                        .containers(
                            Container::builder()
                                .name("app")
                                .exit_code(3)
                                .reason("migration failed")
                                .build(),
                        )
                        .containers(Container::builder().name("envoy").exit_code(0).build())
                        .containers(Container::builder().name("never-started").build())
                        .build(),
                )
                .build()
        });
    let task = ecs(&[rule])
        .describe_task(CLUSTER, TASK)
        .await
        .unwrap()
        .expect("the task is known");
    assert_eq!(
        task,
        StoppedTask {
            last_status: "STOPPED".into(),
            stop_code: Some("EssentialContainerExited".into()),
            stopped_reason: Some("Essential container in task exited".into()),
            containers: vec![
                StoppedContainer {
                    name: "app".into(),
                    exit_code: Some(3),
                    reason: Some("migration failed".into()),
                },
                StoppedContainer {
                    name: "envoy".into(),
                    exit_code: Some(0),
                    reason: None,
                },
                StoppedContainer {
                    name: "never-started".into(),
                    exit_code: None,
                    reason: None,
                },
            ],
        }
    );
}

#[tokio::test]
async fn describe_task_of_a_forgotten_task_is_none() {
    let rule = mock!(Client::describe_tasks).then_output(|| {
        DescribeTasksOutput::builder()
            .failures(Failure::builder().arn(TASK).reason("MISSING").build())
            .build()
    });
    assert_eq!(
        ecs(&[rule]).describe_task(CLUSTER, TASK).await.unwrap(),
        None
    );
}

fn list(
    status: DesiredStatus,
    token: Option<&'static str>,
    arns: Vec<String>,
    next: Option<&'static str>,
) -> Rule {
    mock!(Client::list_tasks)
        .match_requests(move |r| {
            r.cluster() == Some(CLUSTER)
                && r.family() == Some("web")
                && r.desired_status() == Some(&status)
                && r.next_token() == token
        })
        .then_output(move || {
            ListTasksOutput::builder()
                .set_task_arns(Some(arns.clone()))
                .set_next_token(next.map(str::to_string))
                .build()
        })
}

fn task_arn(i: usize) -> String {
    format!("arn:aws:ecs:us-east-1:123456789012:task/main/{i:04}")
}

fn task_in(arn: &str, group: &str) -> Task {
    Task::builder().task_arn(arn).group(group).build()
}

#[tokio::test]
async fn tasks_in_group_keeps_only_that_group() {
    let describe = mock!(Client::describe_tasks)
        .match_requests(|r| {
            r.cluster() == Some(CLUSTER) && r.tasks() == [task_arn(1), task_arn(2), task_arn(3)]
        })
        .then_output(|| {
            DescribeTasksOutput::builder()
                .tasks(task_in(&task_arn(1), "service:web"))
                .tasks(task_in(&task_arn(2), "stevedore:01JRELEASE"))
                .tasks(task_in(&task_arn(3), "stevedore:01JRELEASE"))
                .build()
        });
    let found = ecs(&[
        list(
            DesiredStatus::Running,
            None,
            vec![task_arn(1), task_arn(2)],
            None,
        ),
        list(DesiredStatus::Stopped, None, vec![task_arn(3)], None),
        describe,
    ])
    .tasks_in_group(CLUSTER, NEW_TD, "stevedore:01JRELEASE")
    .await
    .unwrap();
    assert_eq!(found, vec![task_arn(2), task_arn(3)]);
}

#[tokio::test]
async fn tasks_in_group_with_no_tasks_describes_nothing() {
    // A DescribeTasks call would panic: there is no rule for it.
    let found = ecs(&[
        list(DesiredStatus::Running, None, vec![], None),
        list(DesiredStatus::Stopped, None, vec![], None),
    ])
    .tasks_in_group(CLUSTER, NEW_TD, "stevedore:01JRELEASE")
    .await
    .unwrap();
    assert!(found.is_empty());
}

#[tokio::test]
async fn tasks_in_group_follows_list_pages_and_describes_in_hundreds() {
    let page1: Vec<String> = (0..100).map(task_arn).collect();
    let page2: Vec<String> = (100..120).map(task_arn).collect();
    let stopped = vec![task_arn(120)];
    let first_hundred: Vec<String> = (0..100).map(task_arn).collect();
    let rest: Vec<String> = (100..121).map(task_arn).collect();
    let describe = |chunk: Vec<String>| {
        mock!(Client::describe_tasks)
            .match_requests(move |r| r.tasks() == chunk.as_slice())
            .then_compute_output(|r| {
                DescribeTasksOutput::builder()
                    .set_tasks(Some(
                        r.tasks()
                            .iter()
                            .map(|arn| {
                                // The migration task is on the second list page; one stopped try.
                                let group = if arn == &task_arn(110) || arn == &task_arn(120) {
                                    "stevedore:01JRELEASE"
                                } else {
                                    "service:web"
                                };
                                task_in(arn, group)
                            })
                            .collect(),
                    ))
                    .build()
            })
    };
    let found = ecs(&[
        list(DesiredStatus::Running, None, page1, Some("page-2")),
        list(DesiredStatus::Running, Some("page-2"), page2, None),
        list(DesiredStatus::Stopped, None, stopped, None),
        describe(first_hundred),
        describe(rest),
    ])
    .tasks_in_group(CLUSTER, NEW_TD, "stevedore:01JRELEASE")
    .await
    .unwrap();
    assert_eq!(found, vec![task_arn(110), task_arn(120)]);
}

#[tokio::test]
async fn stop_task_sends_the_reason() {
    let rule = mock!(Client::stop_task)
        .match_requests(|r| {
            r.cluster() == Some(CLUSTER)
                && r.task() == Some(TASK)
                && r.reason() == Some("Stevedore: migration timed out after 600 s")
        })
        .then_output(|| aws_sdk_ecs::operation::stop_task::StopTaskOutput::builder().build());
    ecs(std::slice::from_ref(&rule))
        .stop_task(CLUSTER, TASK, "Stevedore: migration timed out after 600 s")
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[test]
fn new_revisions_keep_the_current_tags_and_name_the_release() {
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    let current = [
        tag("team", "payments"),
        tag("aws:cloudformation:stack-name", "app"),
        tag("stevedore:release", "01JOLD"),
    ];
    let tags = release_tags(&current, "01JNEW");
    let pairs: Vec<(&str, &str)> = tags
        .iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect();
    assert_eq!(
        pairs,
        [("team", "payments"), ("stevedore:release", "01JNEW")]
    );
}

#[tokio::test]
async fn a_capacity_provider_service_has_its_strategy_and_no_launch_type() {
    let mut service = active_service();
    service.launch_type = None;
    service.platform_version = Some("1.4.0".into());
    service.capacity_provider_strategy = Some(vec![
        aws_sdk_ecs::types::CapacityProviderStrategyItem::builder()
            .capacity_provider("FARGATE_SPOT")
            .weight(3)
            .base(1)
            .build()
            .unwrap(),
    ]);
    let state = ecs(&[services_answer(service)])
        .describe_service(CLUSTER, SERVICE)
        .await
        .unwrap();
    assert_eq!(state.launch_type, None);
    assert_eq!(state.platform_version.as_deref(), Some("1.4.0"));
    assert_eq!(
        state.capacity_provider_strategy,
        Some(json!([{"CapacityProvider": "FARGATE_SPOT", "Weight": 3, "Base": 1}]))
    );
}
