//! Tests of the target group reads (see `load_balancers.rs`).
use aws_sdk_elasticloadbalancingv2::operation::describe_target_group_attributes::DescribeTargetGroupAttributesOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::{
    DescribeTargetGroupsError, DescribeTargetGroupsOutput,
};
use aws_sdk_elasticloadbalancingv2::types::error::TargetGroupNotFoundException;
use aws_sdk_elasticloadbalancingv2::types::TargetGroupAttribute;
use aws_smithy_mocks::{mock, Rule};

use super::*;
use crate::test_support::mocked_client;

const SLOW: &str = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/slow/1";
const FAST: &str = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/fast/2";

fn balancers(rules: &[Rule]) -> LoadBalancers {
    LoadBalancers::new(mocked_client!(aws_sdk_elasticloadbalancingv2, rules))
}

fn group(arn: &str, name: &str, interval: i32, threshold: i32) -> TargetGroup {
    TargetGroup::builder()
        .target_group_arn(arn)
        .target_group_name(name)
        .health_check_interval_seconds(interval)
        .healthy_threshold_count(threshold)
        .health_check_timeout_seconds(5)
        .build()
}

fn attributes(arn: &'static str, delay: Option<&'static str>) -> Rule {
    mock!(Client::describe_target_group_attributes)
        .match_requests(move |r| r.target_group_arn() == Some(arn))
        .then_output(move || {
            let mut out = DescribeTargetGroupAttributesOutput::builder().attributes(
                TargetGroupAttribute::builder()
                    .key("stickiness.enabled")
                    .value("false")
                    .build(),
            );
            if let Some(delay) = delay {
                out = out.attributes(
                    TargetGroupAttribute::builder()
                        .key(DEREGISTRATION_DELAY)
                        .value(delay)
                        .build(),
                );
            }
            out.build()
        })
}

#[tokio::test]
async fn each_target_group_gives_its_health_checks_and_deregistration_delay_in_order() {
    // ELB answers in its own order; the settings come back in the service's.
    let described = mock!(Client::describe_target_groups)
        .match_requests(|r| r.target_group_arns() == [SLOW.to_string(), FAST.to_string()])
        .then_output(|| {
            DescribeTargetGroupsOutput::builder()
                .target_groups(group(FAST, "fast", 5, 2))
                .target_groups(group(SLOW, "slow", 30, 5))
                .build()
        });
    let slow = attributes(SLOW, Some("300"));
    let fast = attributes(FAST, None);
    let settings = balancers(&[described, slow, fast])
        .target_group_settings(&[SLOW.to_string(), FAST.to_string()])
        .await
        .unwrap();
    assert_eq!(
        settings,
        vec![
            TargetGroupSettings {
                name: "slow".into(),
                deregistration_delay_seconds: Some(300),
                health_check_interval_seconds: Some(30),
                healthy_threshold_count: Some(5),
                health_check_timeout_seconds: Some(5),
            },
            TargetGroupSettings {
                name: "fast".into(),
                deregistration_delay_seconds: None,
                health_check_interval_seconds: Some(5),
                healthy_threshold_count: Some(2),
                health_check_timeout_seconds: Some(5),
            },
        ]
    );
}

#[tokio::test]
async fn no_target_group_reads_nothing() {
    let settings = balancers(&[]).target_group_settings(&[]).await.unwrap();
    assert!(settings.is_empty());
}

#[tokio::test]
async fn a_missing_target_group_is_an_error_naming_the_call() {
    let missing = mock!(Client::describe_target_groups).then_error(|| {
        DescribeTargetGroupsError::TargetGroupNotFoundException(
            TargetGroupNotFoundException::builder()
                .message("One or more target groups not found")
                .build(),
        )
    });
    let err = balancers(&[missing])
        .target_group_settings(&[SLOW.to_string()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("DescribeTargetGroups"), "{err}");
    // ELB answering without the group asked for is an error too, not a guess.
    let empty = mock!(Client::describe_target_groups)
        .then_output(|| DescribeTargetGroupsOutput::builder().build());
    let err = balancers(&[empty])
        .target_group_settings(&[SLOW.to_string()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains(SLOW), "{err}");
}
