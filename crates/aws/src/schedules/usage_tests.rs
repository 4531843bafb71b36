//! The account-wide scan: every page of schedules, buses, rules and targets is read, only ECS
//! schedules are read whole, and a schedule or rule gone meanwhile is skipped.

use aws_sdk_eventbridge::operation::list_event_buses::ListEventBusesOutput;
use aws_sdk_eventbridge::operation::list_rules::ListRulesOutput;
use aws_sdk_eventbridge::operation::list_targets_by_rule::ListTargetsByRuleOutput;
use aws_sdk_eventbridge::types::{
    EcsParameters as RuleEcsParameters, EventBus, Rule as EventRule, Target as RuleTarget,
};
use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
use aws_sdk_scheduler::operation::list_schedules::ListSchedulesOutput;
use aws_sdk_scheduler::types::{EcsParameters, ScheduleSummary, Target, TargetSummary};
use aws_smithy_mocks::{mock, Rule};

use super::*;
use crate::test_support::{error_body, mocked_client};

const CLUSTER: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/batch";
const LAMBDA: &str = "arn:aws:lambda:us-east-1:123456789012:function:audit";

fn td(family: &str, revision: u32) -> String {
    format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:{revision}")
}

fn schedules(scheduler: &[Rule], events: &[Rule]) -> Schedules {
    Schedules::new(
        mocked_client!(aws_sdk_scheduler, scheduler),
        mocked_client!(aws_sdk_eventbridge, events),
    )
}

fn summary(name: &str, group: &str, target: &str) -> ScheduleSummary {
    ScheduleSummary::builder()
        .name(name)
        .group_name(group)
        .target(
            TargetSummary::builder()
                .arn(target)
                .build()
                .expect("summary"),
        )
        .build()
}

fn get_schedule(name: &'static str, group: &'static str, task_definition: String) -> Rule {
    mock!(aws_sdk_scheduler::Client::get_schedule)
        .match_requests(move |r| r.name() == Some(name) && r.group_name() == Some(group))
        .then_output(move || {
            let ecs = EcsParameters::builder()
                .task_definition_arn(task_definition.clone())
                .build()
                .expect("ecs parameters");
            GetScheduleOutput::builder()
                .name(name)
                .group_name(group)
                .target(
                    Target::builder()
                        .arn(CLUSTER)
                        .role_arn("arn:aws:iam::123456789012:role/scheduler-run-task")
                        .ecs_parameters(ecs)
                        .build()
                        .expect("target"),
                )
                .build()
        })
}

fn rule_target(id: &str, task_definition: Option<&str>) -> RuleTarget {
    let target = RuleTarget::builder().id(id);
    match task_definition {
        Some(td) => target.arn(CLUSTER).ecs_parameters(
            RuleEcsParameters::builder()
                .task_definition_arn(td)
                .build()
                .expect("ecs parameters"),
        ),
        None => target.arn(LAMBDA),
    }
    .build()
    .expect("target")
}

fn list_rules(
    bus: &'static str,
    token: Option<&'static str>,
    names: &[&str],
    next: Option<&'static str>,
) -> Rule {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    mock!(aws_sdk_eventbridge::Client::list_rules)
        .match_requests(move |r| r.event_bus_name() == Some(bus) && r.next_token() == token)
        .then_output(move || {
            ListRulesOutput::builder()
                .set_rules(Some(
                    names
                        .iter()
                        .map(|n| EventRule::builder().name(n).build())
                        .collect(),
                ))
                .set_next_token(next.map(String::from))
                .build()
        })
}

fn targets(rule: &'static str, bus: &'static str, found: Vec<RuleTarget>) -> Rule {
    mock!(aws_sdk_eventbridge::Client::list_targets_by_rule)
        .match_requests(move |r| r.rule() == Some(rule) && r.event_bus_name() == Some(bus))
        .then_output(move || {
            ListTargetsByRuleOutput::builder()
                .set_targets(Some(found.clone()))
                .build()
        })
}

#[tokio::test]
async fn every_schedule_and_rule_target_of_ecs_is_found() {
    let first = mock!(aws_sdk_scheduler::Client::list_schedules)
        .match_requests(|r| r.group_name().is_none() && r.next_token().is_none())
        .then_output(|| {
            ListSchedulesOutput::builder()
                .schedules(summary("audit", "default", LAMBDA))
                .schedules(summary("nightly", "default", CLUSTER))
                .next_token("page-2")
                .build()
                .expect("list")
        });
    let second = mock!(aws_sdk_scheduler::Client::list_schedules)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            ListSchedulesOutput::builder()
                .schedules(summary("gone", "jobs", CLUSTER))
                .schedules(summary("weekly", "jobs", CLUSTER))
                .build()
                .expect("list")
        });
    let nightly = get_schedule("nightly", "default", td("report", 3));
    let gone = mock!(aws_sdk_scheduler::Client::get_schedule)
        .match_requests(|r| r.name() == Some("gone"))
        .sequence()
        .http_status(
            404,
            Some(error_body(
                "ResourceNotFoundException",
                "Schedule gone does not exist.",
            )),
        )
        .build();
    let weekly = get_schedule("weekly", "jobs", "cleanup:2".into());

    let buses_1 = mock!(aws_sdk_eventbridge::Client::list_event_buses)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            ListEventBusesOutput::builder()
                .event_buses(EventBus::builder().name("default").build())
                .next_token("buses-2")
                .build()
        });
    let buses_2 = mock!(aws_sdk_eventbridge::Client::list_event_buses)
        .match_requests(|r| r.next_token() == Some("buses-2"))
        .then_output(|| {
            ListEventBusesOutput::builder()
                .event_buses(EventBus::builder().name("jobs-bus").build())
                .build()
        });
    let events = [
        buses_1,
        buses_2,
        list_rules("default", None, &["hourly"], Some("rules-2")),
        list_rules("default", Some("rules-2"), &["audit-only"], None),
        targets(
            "hourly",
            "default",
            vec![rule_target("a", None), rule_target("b", Some("web"))],
        ),
        targets("audit-only", "default", vec![rule_target("a", None)]),
        list_rules("jobs-bus", None, &["deleted", "batch"], None),
        mock!(aws_sdk_eventbridge::Client::list_targets_by_rule)
            .match_requests(|r| r.rule() == Some("deleted"))
            .sequence()
            .http_status(
                400,
                Some(error_body(
                    "ResourceNotFoundException",
                    "Rule deleted does not exist.",
                )),
            )
            .build(),
        targets(
            "batch",
            "jobs-bus",
            vec![rule_target("t", Some(&td("web", 4)))],
        ),
    ];
    let found = schedules(&[first, second, nightly, gone, weekly], &events)
        .ecs_task_definitions_anywhere()
        .await
        .unwrap();
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        [
            td("report", 3),
            td("web", 4),
            "cleanup:2".into(),
            "web".into()
        ]
    );
}

#[tokio::test]
async fn a_listing_failure_stops_the_scan() {
    let denied = mock!(aws_sdk_scheduler::Client::list_schedules)
        .sequence()
        .http_status(403, Some(error_body("AccessDeniedException", "nope")))
        .build();
    let err = schedules(&[denied], &[])
        .ecs_task_definitions_anywhere()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("ListSchedules failed: AccessDeniedException"),
        "{err}"
    );
}

#[test]
fn only_cluster_arns_are_ecs_targets() {
    assert!(is_ecs_cluster(CLUSTER));
    assert!(is_ecs_cluster(
        "arn:aws-cn:ecs:cn-north-1:123456789012:cluster/x"
    ));
    assert!(!is_ecs_cluster(LAMBDA));
    assert!(!is_ecs_cluster(
        "arn:aws:ecs:us-east-1:123456789012:service/batch/web"
    ));
    assert!(!is_ecs_cluster("arn:aws:scheduler:::aws-sdk:ecs:runTask"));
}
