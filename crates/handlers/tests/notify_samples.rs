//! The notify samples in `events/` (`notify-*.json`) are release events notify reads: parsed
//! with the type the function parses them with, and each heard by the stack's topic.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use stevedore_core::notify::{chat, plan, slack, StatusFilter, TOPIC_KEY};
use stevedore_core::release::event::{EventStatus, ReleaseStateChange, DETAIL_TYPE, SOURCE};

fn sample(name: &str) -> EventBridgeEvent<ReleaseStateChange> {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let event: EventBridgeEvent<ReleaseStateChange> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
    assert_eq!(event.source, SOURCE, "{name}");
    assert_eq!(event.detail_type, DETAIL_TYPE, "{name}");
    event
}

#[test]
fn notify_samples_reach_the_topic_and_make_a_slack_message() {
    for (name, status, outcome) in [
        (
            "notify-rolled-back.json",
            EventStatus::RolledBack,
            "rolled back",
        ),
        (
            "notify-waiting-for-approval.json",
            EventStatus::WaitingForApproval,
            "waiting for approval",
        ),
    ] {
        let event = sample(name);
        assert_eq!(event.detail.status, status, "{name}");
        let deliveries = plan(&event.detail, None, &StatusFilter::Default);
        assert_eq!(deliveries.len(), 1, "{name}");
        assert_eq!(deliveries[0].key, TOPIC_KEY);
        let message = slack::message(&event.detail);
        let header = message["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap_or_default();
        assert!(
            header.ends_with(&format!("backend · production: {outcome}")),
            "{name}: {header}"
        );
        let notification = chat::notification(event.id.as_deref(), &event.detail);
        assert_eq!(notification["id"].as_str(), event.id.as_deref(), "{name}");
    }
}
