//! Tests of the alarm rollback lookup (see `service_deployments.rs`).
use aws_sdk_ecs::operation::describe_service_deployments::DescribeServiceDeploymentsOutput;
use aws_sdk_ecs::operation::list_service_deployments::ListServiceDeploymentsOutput;
use aws_sdk_ecs::types::{
    Rollback, ServiceDeploymentAlarms, ServiceDeploymentBrief,
    ServiceDeploymentRollbackMonitorsStatus,
};
use aws_sdk_ecs::Client;
use aws_smithy_mocks::{mock, Rule};
use aws_smithy_types::DateTime;

use super::*;
use crate::test_support::mocked_client;

const OLD: &str = "arn:aws:ecs:us-east-1:1:service-deployment/main/web/old";
const NEW: &str = "arn:aws:ecs:us-east-1:1:service-deployment/main/web/new";

fn ecs(rules: &[Rule]) -> Ecs {
    Ecs::new(mocked_client!(aws_sdk_ecs, rules))
}

fn rolled_back(arn: &str, created: i64, triggered: &[&str]) -> ServiceDeployment {
    ServiceDeployment::builder()
        .service_deployment_arn(arn)
        .created_at(DateTime::from_secs(created))
        .status(ServiceDeploymentStatus::RollbackSuccessful)
        .alarms(
            ServiceDeploymentAlarms::builder()
                .status(ServiceDeploymentRollbackMonitorsStatus::Triggered)
                .alarm_names("x")
                .alarm_names("y")
                .set_triggered_alarm_names(Some(triggered.iter().map(|s| s.to_string()).collect()))
                .build(),
        )
        .rollback(Rollback::builder().reason("rolled back on alarm").build())
        .build()
}

fn list_rule(arns: &'static [&'static str]) -> Rule {
    mock!(Client::list_service_deployments)
        .match_requests(|r| {
            r.cluster() == Some("main")
                && r.service() == Some("web")
                && r.status().len() == 4
                && r.status()
                    .contains(&ServiceDeploymentStatus::RollbackSuccessful)
        })
        .then_output(move || {
            ListServiceDeploymentsOutput::builder()
                .set_service_deployments(Some(
                    arns.iter()
                        .map(|a| {
                            ServiceDeploymentBrief::builder()
                                .service_deployment_arn(*a)
                                .build()
                        })
                        .collect(),
                ))
                .build()
        })
}

#[tokio::test]
async fn names_the_alarms_of_the_latest_rollback() {
    let list = list_rule(&[OLD, NEW]);
    let describe = mock!(Client::describe_service_deployments)
        .match_requests(|r| r.service_deployment_arns() == [OLD, NEW])
        .then_output(|| {
            DescribeServiceDeploymentsOutput::builder()
                .service_deployments(rolled_back(OLD, 100, &["y"]))
                .service_deployments(rolled_back(NEW, 200, &["x"]))
                .build()
        });
    let found = ecs(&[list.clone(), describe.clone()])
        .alarm_rollback("main", "web")
        .await
        .unwrap()
        .expect("an alarm rollback");
    assert_eq!(found.service_deployment_arn, NEW);
    assert_eq!(found.triggered_alarms, ["x"]);
    assert_eq!(
        found.rollback_reason.as_deref(),
        Some("rolled back on alarm")
    );
    assert_eq!((list.num_calls(), describe.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_rollback_no_alarm_triggered_and_no_rollback_name_nothing() {
    let list = list_rule(&[NEW]);
    let describe = mock!(Client::describe_service_deployments).then_output(|| {
        DescribeServiceDeploymentsOutput::builder()
            .service_deployments(rolled_back(NEW, 200, &[]))
            .build()
    });
    let found = ecs(&[list, describe])
        .alarm_rollback("main", "web")
        .await
        .unwrap();
    assert_eq!(found, None);

    let none = list_rule(&[]);
    assert_eq!(
        ecs(&[none]).alarm_rollback("main", "web").await.unwrap(),
        None
    );
}
