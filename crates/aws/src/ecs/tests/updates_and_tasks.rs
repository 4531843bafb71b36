//! ECS adapter tests: UpdateService, tasks, tags and capacity providers.

use super::*;

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
    assert!(!ready.service_connect);
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
