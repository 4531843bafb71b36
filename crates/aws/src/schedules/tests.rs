//! Schedules adapter tests: Scheduler and EventBridge answers in (mocked per call, in order),
//! the exact UpdateSchedule / PutTargets requests out.

use std::collections::HashMap;

use aws_sdk_scheduler::operation::update_schedule::{UpdateScheduleInput, UpdateScheduleOutput};
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem,
    DeadLetterConfig, EcsParameters, FlexibleTimeWindow, FlexibleTimeWindowMode,
    NetworkConfiguration, PlacementStrategy, PlacementStrategyType, PropagateTags, RetryPolicy,
    ScheduleState, Target,
};
use aws_smithy_mocks::{mock, Rule};
use aws_smithy_types::DateTime;

use super::*;
use crate::test_support::{captured, error_body, mocked_client};

mod rules;

const OLD_TD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/report:6";
const NEW_TD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/report:7";
const OTHER_TD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/cleanup:2";
const SCHEDULE: ScheduleTarget<'static> = ScheduleTarget::Schedule {
    name: "nightly-report",
    group: "jobs",
};
const RULE: ScheduleTarget<'static> = ScheduleTarget::Rule {
    name: "hourly",
    event_bus: "jobs-bus",
};

fn schedules(scheduler: &[Rule], events: &[Rule]) -> Schedules {
    Schedules::new(
        mocked_client!(aws_sdk_scheduler, scheduler),
        mocked_client!(aws_sdk_eventbridge, events),
    )
}

/// A schedule target with every field a team may set.
fn schedule_target(task_definition: &str) -> Target {
    let ecs = EcsParameters::builder()
        .task_definition_arn(task_definition)
        .task_count(2)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets("subnet-1")
                        .security_groups("sg-1")
                        .assign_public_ip(AssignPublicIp::Disabled)
                        .build()
                        .expect("awsvpc"),
                )
                .build(),
        )
        .platform_version("1.4.0")
        .group("reports")
        .capacity_provider_strategy(
            CapacityProviderStrategyItem::builder()
                .capacity_provider("FARGATE_SPOT")
                .weight(1)
                .base(0)
                .build()
                .expect("strategy"),
        )
        .enable_ecs_managed_tags(true)
        .enable_execute_command(false)
        .placement_strategy(
            PlacementStrategy::builder()
                .r#type(PlacementStrategyType::Spread)
                .field("attribute:ecs.availability-zone")
                .build(),
        )
        .propagate_tags(PropagateTags::TaskDefinition)
        .reference_id("ref-1")
        .tags(HashMap::from([("team".to_string(), "data".to_string())]))
        .build()
        .expect("ecs parameters");
    Target::builder()
        .arn("arn:aws:ecs:us-east-1:123456789012:cluster/main")
        .role_arn("arn:aws:iam::123456789012:role/scheduler-run-report")
        .dead_letter_config(
            DeadLetterConfig::builder()
                .arn("arn:aws:sqs:us-east-1:123456789012:dlq")
                .build(),
        )
        .retry_policy(
            RetryPolicy::builder()
                .maximum_retry_attempts(3)
                .maximum_event_age_in_seconds(600)
                .build(),
        )
        .input(r#"{"containerOverrides":[]}"#)
        .ecs_parameters(ecs)
        .build()
        .expect("target")
}

/// In 2096: a start date still to come goes back as it was.
const START_DATE: i64 = 4_100_000_000;

fn schedule(target: Target) -> GetScheduleOutput {
    GetScheduleOutput::builder()
        .arn("arn:aws:scheduler:us-east-1:123456789012:schedule/jobs/nightly-report")
        .name("nightly-report")
        .group_name("jobs")
        .schedule_expression("cron(0 3 * * ? *)")
        .schedule_expression_timezone("Europe/Berlin")
        .start_date(DateTime::from_secs(START_DATE))
        .end_date(DateTime::from_secs(4_200_000_000))
        .description("the nightly report")
        .state(ScheduleState::Disabled)
        .kms_key_arn("arn:aws:kms:us-east-1:123456789012:key/k")
        .flexible_time_window(
            FlexibleTimeWindow::builder()
                .mode(FlexibleTimeWindowMode::Flexible)
                .maximum_window_in_minutes(15)
                .build()
                .expect("window"),
        )
        .action_after_completion(ActionAfterCompletion::None)
        .creation_date(DateTime::from_secs(1_600_000_000))
        .target(target)
        .build()
}

fn get_schedule(target: Target) -> Rule {
    mock!(aws_sdk_scheduler::Client::get_schedule)
        .match_requests(|r| r.name() == Some("nightly-report") && r.group_name() == Some("jobs"))
        .then_output(move || schedule(target.clone()))
}

#[test]
fn family_comparison_accepts_arns_revisions_and_bare_families() {
    assert!(same_family(OLD_TD, NEW_TD));
    assert!(same_family(OLD_TD, "report:3"));
    assert!(same_family("report", NEW_TD));
    assert!(same_family(
        "arn:aws:ecs:us-east-1:123456789012:task-definition/report",
        "report"
    ));
    assert!(!same_family(OLD_TD, OTHER_TD));
    assert!(!same_family("report", "report-worker:1"));
}

#[tokio::test]
async fn a_schedule_runs_its_ecs_targets_task_definition() {
    let found = schedules(&[get_schedule(schedule_target(OLD_TD))], &[])
        .ecs_task_definitions(SCHEDULE)
        .await
        .unwrap();
    assert_eq!(found, [OLD_TD]);
}

#[tokio::test]
async fn pointing_a_schedule_sends_back_every_field_but_the_task_definition() {
    let seen = point_and_capture(schedule(schedule_target(OLD_TD))).await;
    let sent = &seen[0];
    let before = schedule(schedule_target(OLD_TD));
    assert_eq!(sent.name(), Some("nightly-report"));
    assert_eq!(sent.group_name(), Some("jobs"));
    assert_eq!(sent.schedule_expression, before.schedule_expression);
    assert_eq!(
        sent.schedule_expression_timezone,
        before.schedule_expression_timezone
    );
    assert_eq!(sent.start_date, before.start_date);
    assert_eq!(sent.end_date, before.end_date);
    assert_eq!(sent.description, before.description);
    assert_eq!(sent.state, before.state);
    assert_eq!(sent.kms_key_arn, before.kms_key_arn);
    assert_eq!(sent.flexible_time_window, before.flexible_time_window);
    assert_eq!(sent.action_after_completion, before.action_after_completion);
    // The whole target (role, input, retry policy, dead-letter queue, every ECS parameter)
    // is the one read, with the new revision.
    assert_eq!(sent.target, Some(schedule_target(NEW_TD)));
}

#[tokio::test]
async fn a_start_date_already_past_is_not_sent_back() {
    let mut past = schedule(schedule_target(OLD_TD));
    past.start_date = Some(DateTime::from_secs(1_700_000_000));
    let seen = point_and_capture(past).await;
    assert_eq!(seen[0].start_date, None);
    assert!(seen[0].end_date.is_some(), "the end date still goes back");
}

/// Points the schedule GetSchedule answers with `read` at NEW_TD; the UpdateSchedule sent.
async fn point_and_capture(read: GetScheduleOutput) -> Vec<UpdateScheduleInput> {
    let seen = captured::<UpdateScheduleInput>();
    let log = seen.clone();
    let update =
        mock!(aws_sdk_scheduler::Client::update_schedule).then_compute_output(move |input| {
            log.lock().unwrap().push(input.clone());
            UpdateScheduleOutput::builder()
                .schedule_arn(
                    "arn:aws:scheduler:us-east-1:123456789012:schedule/jobs/nightly-report",
                )
                .build()
                .expect("output")
        });
    let answer = mock!(aws_sdk_scheduler::Client::get_schedule).then_output(move || read.clone());
    let pointed = schedules(&[answer, update], &[])
        .point(SCHEDULE, NEW_TD)
        .await
        .unwrap();
    assert_eq!(
        pointed,
        [PointedTarget {
            target_id: None,
            previous_task_definition_arn: OLD_TD.into()
        }]
    );

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    seen.clone()
}

#[tokio::test]
async fn a_schedule_already_on_the_revision_is_not_written() {
    // No UpdateSchedule rule: a write would fail the call.
    let pointed = schedules(&[get_schedule(schedule_target(NEW_TD))], &[])
        .point(SCHEDULE, NEW_TD)
        .await
        .unwrap();
    assert_eq!(pointed[0].previous_task_definition_arn, NEW_TD);
}

#[tokio::test]
async fn a_schedule_of_another_family_is_schedule_not_found() {
    let error = schedules(&[get_schedule(schedule_target(OTHER_TD))], &[])
        .point(SCHEDULE, NEW_TD)
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "ScheduleNotFound");
    let text = error.to_string();
    assert!(
        text.contains("schedule `nightly-report` in group `jobs`"),
        "{text}"
    );
    assert!(text.contains("family `report`"), "{text}");
}

#[tokio::test]
async fn a_missing_schedule_is_schedule_not_found() {
    let get = mock!(aws_sdk_scheduler::Client::get_schedule)
        .sequence()
        .http_status(
            404,
            Some(error_body(
                "ResourceNotFoundException",
                "Schedule nightly-report does not exist.",
            )),
        )
        .build();
    let error = schedules(&[get], &[])
        .point(SCHEDULE, NEW_TD)
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "ScheduleNotFound");
    assert!(
        error
            .to_string()
            .contains("schedule `nightly-report` in group `jobs` does not exist"),
        "{error}"
    );
}

#[tokio::test]
async fn a_throttled_schedule_update_is_retryable() {
    let update = mock!(aws_sdk_scheduler::Client::update_schedule)
        .sequence()
        .http_status(
            429,
            Some(error_body("ThrottlingException", "Rate exceeded")),
        )
        .build();
    let error = schedules(&[get_schedule(schedule_target(OLD_TD)), update], &[])
        .point(SCHEDULE, NEW_TD)
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "Throttled", "{error}");
}
