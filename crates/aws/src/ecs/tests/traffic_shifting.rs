//! What DescribeServices tells about a service's ways to shift traffic.
use super::*;

#[tokio::test]
async fn service_connect_on_the_primary_deployment_is_seen() {
    let mut service = active_service();
    let connected = aws_sdk_ecs::types::ServiceConnectConfiguration::builder()
        .enabled(true)
        .build();
    service.deployments = Some(vec![
        aws_sdk_ecs::types::Deployment::builder()
            .id("ecs-svc/old")
            .status("ACTIVE")
            .task_definition(OLD_TD)
            .service_connect_configuration(connected.clone())
            .build(),
        deployment("ecs-svc/new", "PRIMARY", NEW_TD),
    ]);
    let only_old = ecs(&[services_answer(service.clone())])
        .describe_service(CLUSTER, SERVICE)
        .await
        .unwrap();
    assert!(
        !only_old.service_connect,
        "only the primary deployment counts"
    );
    if let Some(deployments) = service.deployments.as_mut() {
        deployments[1].service_connect_configuration = Some(connected);
    }
    let primary = ecs(&[services_answer(service)])
        .describe_service(CLUSTER, SERVICE)
        .await
        .unwrap();
    assert!(primary.service_connect);
}
