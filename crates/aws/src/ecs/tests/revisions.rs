//! Retention's reads and its one write.

use aws_sdk_ecs::operation::deregister_task_definition::DeregisterTaskDefinitionOutput;
use aws_sdk_ecs::operation::list_services::ListServicesOutput;
use aws_sdk_ecs::operation::list_task_definitions::ListTaskDefinitionsOutput;
use aws_sdk_ecs::types::{Deployment, Service, TaskDefinitionStatus};

use super::*;

fn td(family: &str, revision: u32) -> String {
    format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:{revision}")
}

#[tokio::test]
async fn active_revisions_reads_every_page_of_the_family_only() {
    let first = mock!(Client::list_task_definitions)
        .match_requests(|r| {
            r.family_prefix() == Some("web")
                && r.status() == Some(&TaskDefinitionStatus::Active)
                && r.next_token().is_none()
        })
        .then_output(|| {
            ListTaskDefinitionsOutput::builder()
                .task_definition_arns(td("web", 1))
                .task_definition_arns(td("web-worker", 1))
                .next_token("page-2")
                .build()
        });
    let second = mock!(Client::list_task_definitions)
        .match_requests(|r| {
            r.next_token() == Some("page-2") && r.status() == Some(&TaskDefinitionStatus::Active)
        })
        .then_output(|| {
            ListTaskDefinitionsOutput::builder()
                .task_definition_arns(td("web", 2))
                .build()
        });
    let found = ecs(&[first, second]).active_revisions("web").await.unwrap();
    assert_eq!(found, [td("web", 1), td("web", 2)]);
}

#[tokio::test]
async fn revisions_in_use_gathers_deployments_and_running_tasks() {
    let services = mock!(Client::list_services)
        .match_requests(|r| r.cluster() == Some(CLUSTER))
        .then_output(|| {
            ListServicesOutput::builder()
                .service_arns(SERVICE_ARN)
                .build()
        });
    let described = mock!(Client::describe_services)
        .match_requests(|r| r.cluster() == Some(CLUSTER) && r.services() == [SERVICE_ARN])
        .then_output(|| {
            DescribeServicesOutput::builder()
                .services(
                    Service::builder()
                        .service_arn(SERVICE_ARN)
                        .task_definition(td("web", 7))
                        .deployments(Deployment::builder().task_definition(td("web", 7)).build())
                        .deployments(Deployment::builder().task_definition(td("web", 6)).build())
                        .build(),
                )
                .build()
        });
    let tasks = mock!(Client::list_tasks)
        .match_requests(|r| {
            r.cluster() == Some(CLUSTER) && r.desired_status() == Some(&DesiredStatus::Running)
        })
        .then_output(|| ListTasksOutput::builder().task_arns("task-1").build());
    let running = mock!(Client::describe_tasks)
        .match_requests(|r| r.tasks() == ["task-1"])
        .then_output(|| {
            DescribeTasksOutput::builder()
                .tasks(
                    Task::builder()
                        .task_arn("task-1")
                        .task_definition_arn(td("web-worker", 3))
                        .build(),
                )
                .build()
        });
    let found = ecs(&[services, described, tasks, running])
        .revisions_in_use(CLUSTER)
        .await
        .unwrap();
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        [td("web-worker", 3), td("web", 6), td("web", 7)]
    );
}

#[tokio::test]
async fn deregister_names_the_revision() {
    let rule = mock!(Client::deregister_task_definition)
        .match_requests(|r| r.task_definition() == Some(OLD_TD))
        .then_output(|| DeregisterTaskDefinitionOutput::builder().build());
    ecs(&[rule])
        .deregister_task_definition(OLD_TD)
        .await
        .unwrap();
}

#[tokio::test]
async fn clusters_reads_every_page() {
    const A: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/main";
    const B: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/batch";
    let first = mock!(Client::list_clusters)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            aws_sdk_ecs::operation::list_clusters::ListClustersOutput::builder()
                .cluster_arns(A)
                .next_token("page-2")
                .build()
        });
    let second = mock!(Client::list_clusters)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            aws_sdk_ecs::operation::list_clusters::ListClustersOutput::builder()
                .cluster_arns(B)
                .build()
        });
    let found = ecs(&[first, second]).clusters().await.unwrap();
    assert_eq!(found, [A, B]);
}

#[tokio::test]
async fn clusters_failure_is_classified() {
    let denied = mock!(Client::list_clusters)
        .sequence()
        .http_status(400, Some(error_body("AccessDeniedException", "nope")))
        .build();
    let err = ecs(&[denied]).clusters().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("ListClusters failed: AccessDeniedException"),
        "{err}"
    );
}
