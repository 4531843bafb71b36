//! EventBridge rules: every ECS target of the family is put back whole, the others untouched.

use aws_sdk_eventbridge::operation::list_targets_by_rule::ListTargetsByRuleOutput;
use aws_sdk_eventbridge::operation::put_targets::{PutTargetsInput, PutTargetsOutput};
use aws_sdk_eventbridge::types::{
    EcsParameters as RuleEcsParameters, PutTargetsResultEntry, Target as RuleTarget,
};
use aws_smithy_mocks::{mock, Rule};

use super::*;

fn rule_target(id: &str, task_definition: Option<&str>) -> RuleTarget {
    let mut target = RuleTarget::builder()
        .id(id)
        .arn("arn:aws:ecs:us-east-1:123456789012:cluster/main")
        .role_arn("arn:aws:iam::123456789012:role/events-run-task")
        .input(r#"{"a":1}"#);
    if let Some(td) = task_definition {
        target = target.ecs_parameters(
            RuleEcsParameters::builder()
                .task_definition_arn(td)
                .task_count(1)
                .launch_type(aws_sdk_eventbridge::types::LaunchType::Fargate)
                .group("hourly")
                .enable_execute_command(true)
                .build()
                .expect("ecs parameters"),
        );
    } else {
        target = target.arn("arn:aws:lambda:us-east-1:123456789012:function:audit");
    }
    target.build().expect("target")
}

/// Two pages: a Lambda target and the report task, then the cleanup task.
fn list_targets() -> [Rule; 2] {
    let first = mock!(aws_sdk_eventbridge::Client::list_targets_by_rule)
        .match_requests(|r| {
            r.rule() == Some("hourly")
                && r.event_bus_name() == Some("jobs-bus")
                && r.next_token().is_none()
        })
        .then_output(|| {
            ListTargetsByRuleOutput::builder()
                .targets(rule_target("audit", None))
                .targets(rule_target("report", Some("report:6")))
                .next_token("page-2")
                .build()
        });
    let second = mock!(aws_sdk_eventbridge::Client::list_targets_by_rule)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            ListTargetsByRuleOutput::builder()
                .targets(rule_target("cleanup", Some(OTHER_TD)))
                .build()
        });
    [first, second]
}

#[tokio::test]
async fn a_rule_lists_the_task_definitions_of_its_ecs_targets_on_every_page() {
    let found = schedules(&[], &list_targets())
        .ecs_task_definitions(RULE)
        .await
        .unwrap();
    assert_eq!(found, ["report:6", OTHER_TD]);
}

#[tokio::test]
async fn pointing_a_rule_puts_back_only_its_targets_of_the_family_whole() {
    let seen = captured::<PutTargetsInput>();
    let log = seen.clone();
    let put = mock!(aws_sdk_eventbridge::Client::put_targets).then_compute_output(move |input| {
        log.lock().unwrap().push(input.clone());
        PutTargetsOutput::builder().failed_entry_count(0).build()
    });
    let [first, second] = list_targets();
    let pointed = schedules(&[], &[first, second, put])
        .point(RULE, NEW_TD)
        .await
        .unwrap();
    assert_eq!(
        pointed,
        [PointedTarget {
            target_id: Some("report".into()),
            previous_task_definition_arn: "report:6".into()
        }]
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].rule(), Some("hourly"));
    assert_eq!(seen[0].event_bus_name(), Some("jobs-bus"));
    assert_eq!(seen[0].targets(), [rule_target("report", Some(NEW_TD))]);
}

#[tokio::test]
async fn failed_put_targets_entries_are_errors() {
    let put = mock!(aws_sdk_eventbridge::Client::put_targets).then_output(|| {
        PutTargetsOutput::builder()
            .failed_entry_count(1)
            .failed_entries(
                PutTargetsResultEntry::builder()
                    .target_id("report")
                    .error_code("ConcurrentModificationException")
                    .error_message("try again")
                    .build(),
            )
            .build()
    });
    let [first, second] = list_targets();
    let error = schedules(&[], &[first, second, put])
        .point(RULE, NEW_TD)
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "AwsError");
    let text = error.to_string();
    assert!(
        text.contains("rule `hourly` on event bus `jobs-bus` was not changed"),
        "{text}"
    );
    assert!(
        text.contains("target `report`: ConcurrentModificationException"),
        "{text}"
    );
}

#[tokio::test]
async fn a_rule_without_a_target_of_the_family_is_schedule_not_found() {
    let error = schedules(&[], &list_targets())
        .point(
            RULE,
            "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
        )
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "ScheduleNotFound");
    assert!(error.to_string().contains("family `web`"), "{error}");
}

#[tokio::test]
async fn a_missing_rule_is_schedule_not_found() {
    let list = mock!(aws_sdk_eventbridge::Client::list_targets_by_rule)
        .sequence()
        .http_status(
            400,
            Some(error_body(
                "ResourceNotFoundException",
                "Rule hourly does not exist.",
            )),
        )
        .build();
    let error = schedules(&[], &[list])
        .point(RULE, NEW_TD)
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "ScheduleNotFound");
    assert!(
        error
            .to_string()
            .contains("rule `hourly` on event bus `jobs-bus` does not exist"),
        "{error}"
    );
}
