use serde_json::{json, Value};

use super::*;
use crate::config::parse_file;
use crate::release::event::EventStatus;

const EXECUTION_URL: &str = "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/arn:aws:states:us-east-1:123456789012:execution:stevedore-deploy:01J9ZQ3X7M2K8V4N6P0R5T1W3Y";
const SERVICE_URL: &str = "https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/demo/services/backend-production/health?region=us-east-1";

fn event(status: &str, stage: &str) -> ReleaseStateChange {
    serde_json::from_value(json!({
        "version": "1",
        "app": "backend",
        "stage": stage,
        "release_id": "01J9ZQ3X7M2K8V4N6P0R5T1W3Y",
        "trigger": "push",
        "status": status,
        "previous_status": "IN_PROGRESS",
        "phase": "finished",
        "reason": "ECS deployment circuit breaker: tasks failed to start <web> & rolled back",
        "repository": "backend",
        "digest": "sha256:5f0b5b1c0ffee4d3b2a1908f7e6d5c4b3a291807f6e5d4c3b2a1908f7e6d5c4b",
        "tag": "v1.4.2",
        "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/backend@sha256:5f0b5b1c0ffee4d3b2a1908f7e6d5c4b3a291807f6e5d4c3b2a1908f7e6d5c4b",
        "cluster": "demo",
        "service": "backend-production",
        "task_definition_arn": "arn:aws:ecs:us-east-1:123456789012:task-definition/backend:8",
        "previous_task_definition_arn": "arn:aws:ecs:us-east-1:123456789012:task-definition/backend:7",
        "created_at": "2026-12-06T10:00:00.000Z",
        "time": "2026-12-06T10:03:12.000Z",
        "durations": {"total_seconds": 192.0},
        "links": {"execution": EXECUTION_URL, "service": SERVICE_URL},
    }))
    .expect("a release event")
}

const CONFIG: &str = r#"apps:
  backend:
    repository: backend
    notifications:
      - slack: stevedore/notifications/backend-slack
      - webhook: stevedore/notifications/audit
        on: [SUCCEEDED, IN_PROGRESS]
    stages:
      staging:
        cluster: demo
        service: backend-staging
        tags: ["main-*"]
      production:
        cluster: demo
        service: backend-production
      live:
        cluster: demo
        service: backend-live
        production: true
        notifications:
          - webhook: stevedore/notifications/live
"#;

fn keys(deliveries: &[Delivery]) -> Vec<&str> {
    deliveries.iter().map(|d| d.key.as_str()).collect()
}

#[test]
fn plan_applies_each_destinations_filter_and_the_production_rule() {
    let file = parse_file("stevedore.yaml", CONFIG).expect("valid");
    let config = file.app("backend");
    let topic = StatusFilter::Default;

    let rolled_back = plan(&event("ROLLED_BACK", "staging"), config, &topic);
    assert_eq!(
        keys(&rolled_back),
        ["topic", "apps.backend.notifications[0]"]
    );
    assert_eq!(
        rolled_back[1].target,
        Target::Webhook {
            kind: TargetKind::Slack,
            secret_id: "stevedore/notifications/backend-slack".into()
        }
    );
    // A success on staging is only for the destination that asked for successes.
    let staging_success = plan(&event("SUCCEEDED", "staging"), config, &topic);
    assert_eq!(keys(&staging_success), ["apps.backend.notifications[1]"]);
    // On production (by name) the default rule announces it too.
    let production_success = plan(&event("SUCCEEDED", "production"), config, &topic);
    assert_eq!(
        keys(&production_success),
        [
            "topic",
            "apps.backend.notifications[0]",
            "apps.backend.notifications[1]"
        ]
    );
    // `live` is production by its flag, and its own list replaces the app's.
    let live = plan(&event("SUCCEEDED", "live"), config, &topic);
    assert_eq!(
        keys(&live),
        ["topic", "apps.backend.stages.live.notifications[0]"]
    );
    assert!(plan(&event("SUPERSEDED", "production"), config, &topic).is_empty());
}

#[test]
fn without_a_config_only_the_topic_is_considered() {
    let topic = StatusFilter::Default;
    assert_eq!(keys(&plan(&event("FAILED", "qa"), None, &topic)), ["topic"]);
    assert!(plan(&event("SUCCEEDED", "qa"), None, &topic).is_empty());
    assert_eq!(
        keys(&plan(&event("SUCCEEDED", "prod"), None, &topic)),
        ["topic"]
    );
    let only_in_progress = StatusFilter::from_on(Some(&[EventStatus::InProgress]));
    assert!(plan(&event("FAILED", "qa"), None, &only_in_progress).is_empty());
}

/// Every block within Slack's documented limits (see slack.rs).
fn assert_within_slack_limits(message: &Value) {
    let blocks = message["blocks"].as_array().expect("blocks");
    assert!(!blocks.is_empty() && blocks.len() <= 50);
    assert!(message["text"].as_str().is_some_and(|t| !t.is_empty()));
    for block in blocks {
        match block["type"].as_str().expect("a block type") {
            "header" => {
                assert_eq!(block["text"]["type"], "plain_text");
                assert!(block["text"]["text"].as_str().unwrap().chars().count() <= 150);
            }
            "section" => {
                if let Some(fields) = block["fields"].as_array() {
                    assert!(fields.len() <= 10);
                    for field in fields {
                        assert!(field["text"].as_str().unwrap().chars().count() <= 2000);
                    }
                } else {
                    assert!(block["text"]["text"].as_str().unwrap().chars().count() <= 3000);
                }
            }
            "context" => assert!(!block["elements"].as_array().unwrap().is_empty()),
            "actions" => {
                for button in block["elements"].as_array().unwrap() {
                    assert_eq!(button["type"], "button");
                    assert!(button["text"]["text"].as_str().unwrap().chars().count() <= 75);
                    assert!(button["url"].as_str().unwrap().len() <= 3000);
                }
            }
            other => panic!("unexpected block type {other}"),
        }
    }
}

fn field(message: &Value, name: &str) -> String {
    let prefix = format!("*{name}*\n");
    message["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["fields"].as_array())
        .flatten()
        .filter_map(|f| f["text"].as_str()?.strip_prefix(&prefix))
        .next()
        .unwrap_or_else(|| panic!("no field {name} in {message}"))
        .to_string()
}

#[test]
fn the_slack_message_shows_the_release_and_links_to_the_console() {
    let message = slack::message(&event("ROLLED_BACK", "production"));
    assert_within_slack_limits(&message);
    assert_eq!(
        message["blocks"][0]["text"]["text"],
        "⏪ backend · production: rolled back"
    );
    assert_eq!(field(&message, "App"), "backend");
    assert_eq!(field(&message, "Stage"), "production");
    assert_eq!(field(&message, "Outcome"), "ROLLED_BACK");
    assert_eq!(field(&message, "Tag"), "`v1.4.2`");
    assert_eq!(field(&message, "Digest"), "`sha256:5f0b5b1c0ffe`");
    assert_eq!(field(&message, "Duration"), "3m 12s");
    let text = message.to_string();
    // The reason, with Slack's control characters escaped.
    assert!(
        text.contains("*Reason*\\nECS deployment circuit breaker: tasks failed to start &lt;web&gt; &amp; rolled back"),
        "{text}"
    );
    let actions = message["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("an actions block");
    let urls: Vec<&str> = actions["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls, [EXECUTION_URL, SERVICE_URL]);
    assert_eq!(message["text"], "backend/production rolled back: v1.4.2");
}

#[test]
fn an_approval_message_says_how_to_decide() {
    let mut waiting = event("WAITING_FOR_APPROVAL", "production");
    waiting.reason = Some("waiting for approval (timeout 24h)".into());
    waiting.links = Default::default();
    let message = slack::message(&waiting);
    assert_within_slack_limits(&message);
    let text = message.to_string();
    assert!(
        text.contains("✋ backend · production: waiting for approval"),
        "{text}"
    );
    assert!(text.contains(r#"start the approve state machine with {\"app\": \"backend\", \"stage\": \"production\", \"decision\": \"approve\"}"#), "{text}");
    assert!(
        !text.contains("\"actions\""),
        "no links, so no buttons: {text}"
    );
}

#[test]
fn long_reasons_and_many_services_stay_within_slack_limits() {
    let mut long = event("FAILED", "production");
    long.reason = Some("x".repeat(10_000));
    long.app = "a".repeat(200);
    long.links.execution = Some(format!("https://example.com/{}", "e".repeat(4000)));
    long.services = (0..60)
        .map(|i| crate::release::event::ServiceState {
            service: format!("service-{i}"),
            status: "FAILED".into(),
            task_definition_arn: None,
        })
        .collect();
    let message = slack::message(&long);
    assert_within_slack_limits(&message);
    // The over-long execution link is left out rather than sent broken.
    let buttons = message["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("the service button");
    assert_eq!(buttons["elements"].as_array().unwrap().len(), 1);
}

#[test]
fn the_topic_message_is_a_chat_custom_notification() {
    let message = chat::notification(
        Some("6a7e8feb-b491-4cf7-a9f1-bf3703467718"),
        &event("ROLLED_BACK", "production"),
    );
    // The required fields and their only accepted values (see chat.rs).
    assert_eq!(message["version"], "1.0");
    assert_eq!(message["source"], "custom");
    assert_eq!(message["content"]["textType"], "client-markdown");
    let description = message["content"]["description"]
        .as_str()
        .expect("description");
    assert!(
        description
            .starts_with("*backend* `v1.4.2` (`sha256:5f0b5b1c0ffe`) on *production*: ROLLED_BACK"),
        "{description}"
    );
    assert!(
        description.contains("Reason: ECS deployment circuit breaker"),
        "{description}"
    );
    assert!(description.contains("Duration: 3m 12s"), "{description}");
    assert_eq!(
        message["content"]["title"],
        "⏪ backend/production rolled back: v1.4.2"
    );
    assert_eq!(message["id"], "6a7e8feb-b491-4cf7-a9f1-bf3703467718");
    let metadata = &message["metadata"];
    assert_eq!(
        metadata["threadId"],
        "stevedore/backend/production/01J9ZQ3X7M2K8V4N6P0R5T1W3Y"
    );
    assert_eq!(metadata["eventType"], "ROLLED_BACK");
    assert_eq!(metadata["additionalContext"]["app"], "backend");
    assert_eq!(metadata["additionalContext"]["status"], "ROLLED_BACK");
    // additionalContext is a map of strings only.
    assert!(metadata["additionalContext"]
        .as_object()
        .unwrap()
        .values()
        .all(Value::is_string));
    assert_eq!(
        metadata["relatedResources"],
        json!([
            "arn:aws:ecs:us-east-1:123456789012:task-definition/backend:8",
            "arn:aws:ecs:us-east-1:123456789012:task-definition/backend:7"
        ])
    );
    let steps = message["content"]["nextSteps"].to_string();
    assert!(
        steps.contains(EXECUTION_URL) && steps.contains(SERVICE_URL),
        "{steps}"
    );
    let no_id = chat::notification(None, &event("FAILED", "staging"));
    assert!(no_id.get("id").is_none());
}

#[test]
fn the_topic_subject_is_short_plain_ascii() {
    let mut unusual = event("FAILED", "production");
    unusual.tag = format!("ünïcode-{}", "t".repeat(200));
    let subject = text::subject(&unusual);
    assert!(subject.chars().count() <= 100, "{subject}");
    assert!(subject.is_ascii() && subject.ends_with("..."), "{subject}");
    assert!(
        subject.starts_with("Stevedore: backend/production FAILED ?n?code-"),
        "{subject}"
    );
}
