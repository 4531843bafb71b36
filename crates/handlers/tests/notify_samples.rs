//! The release event samples in `events/` (`release-state-change-*.json`) as the notify
//! function reads them: each parses with notify's type, the default filter sends the topic
//! exactly the approval waits and the failures, and every one makes a Slack message and a
//! chat notification.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use stevedore_core::notify::{chat, plan, slack, StatusFilter, TOPIC_KEY};
use stevedore_core::release::event::{ReleaseStateChange, DETAIL_TYPE, SOURCE};

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
fn release_event_samples_as_notify_sees_them() {
    for (name, to_topic, header) in [
        (
            "release-state-change-pending.json",
            false,
            "backend · staging: pending",
        ),
        (
            "release-state-change-in-progress-rendered.json",
            false,
            "backend · staging: in progress",
        ),
        (
            "release-state-change-succeeded.json",
            false,
            "backend · staging: succeeded",
        ),
        (
            "release-state-change-waiting-for-approval.json",
            true,
            "backend · production: waiting for approval",
        ),
        (
            "release-state-change-rolled-back.json",
            true,
            "backend · production: rolled back",
        ),
    ] {
        let event = sample(name);
        let deliveries = plan(&event.detail, None, &StatusFilter::Default);
        let keys: Vec<&str> = deliveries.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(
            keys,
            if to_topic { vec![TOPIC_KEY] } else { vec![] },
            "{name}"
        );
        let message = slack::message(&event.detail);
        let shown = message["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap_or_default();
        assert!(shown.ends_with(header), "{name}: {shown}");
        let notification = chat::notification(event.id.as_deref(), &event.detail);
        assert_eq!(notification["id"].as_str(), event.id.as_deref(), "{name}");
        assert_eq!(
            notification["metadata"]["eventType"],
            event.detail.status.to_string()
        );
    }
}
