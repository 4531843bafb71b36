//! The SNS message for Amazon Q Developer in chat applications (formerly AWS Chatbot): a
//! custom notification, which a chat channel subscribed to the stack's topic shows in Slack
//! or Microsoft Teams with no code.
//!
//! Format: "Custom notifications using Amazon Q Developer in chat applications"
//! (https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html), "Event schema":
//! `version` (required, must be `1.0`), `source` (required, must be `custom`), `id`,
//! `content` {`textType` (only `client-markdown`), `title`, `description`, `nextSteps`,
//! `keywords`}, `metadata` {`threadId` (notifications with the same id are threaded),
//! `summary`, `eventType`, `relatedResources`, `additionalContext` (string to string),
//! `enableCustomActions`}.

use serde_json::{json, Map, Value};

use super::text::{approval_hint, duration, headline, outcome, short_digest};
use crate::release::event::{EventStatus, ReleaseStateChange};

pub const VERSION: &str = "1.0";
pub const SOURCE: &str = "custom";
pub const TEXT_TYPE: &str = "client-markdown";

/// The custom notification for one release event; `event_id` is the EventBridge event's id.
/// Every event of one release is threaded under the release (`threadId`).
pub fn notification(event_id: Option<&str>, event: &ReleaseStateChange) -> Value {
    let (emoji, _) = outcome(event.status);
    let mut description = vec![format!(
        "*{}* `{}` (`{}`) on *{}*: {}",
        event.app,
        event.tag,
        short_digest(&event.digest),
        event.stage,
        match event.status {
            EventStatus::InProgress => format!("{} ({})", event.status, event.phase),
            other => other.to_string(),
        }
    )];
    if let Some(reason) = event.reason.as_deref().filter(|r| !r.is_empty()) {
        description.push(format!("Reason: {reason}"));
    }
    description.push(format!(
        "Duration: {} · release `{}` ({})",
        duration(event.durations.total_seconds),
        event.release_id,
        event.trigger
    ));
    let mut next_steps = Vec::new();
    if event.status == EventStatus::WaitingForApproval {
        next_steps.push(approval_hint(event));
    }
    if let Some(url) = &event.links.execution {
        next_steps.push(format!("Step Functions execution: {url}"));
    }
    if let Some(url) = &event.links.service {
        next_steps.push(format!("ECS service: {url}"));
    }
    let related: Vec<&str> = [
        &event.task_definition_arn,
        &event.previous_task_definition_arn,
    ]
    .into_iter()
    .filter_map(|arn| arn.as_deref())
    .collect();
    let mut context = Map::new();
    for (key, value) in [
        ("app", Some(event.app.as_str())),
        ("stage", Some(event.stage.as_str())),
        ("releaseId", Some(event.release_id.as_str())),
        ("status", Some(&*event.status.to_string())),
        ("tag", Some(event.tag.as_str())),
        ("digest", Some(event.digest.as_str())),
        ("image", Some(event.image.as_str())),
        ("sourceReleaseId", event.source_release_id.as_deref()),
    ] {
        if let Some(value) = value {
            context.insert(key.into(), Value::String(value.to_string()));
        }
    }
    let mut body = json!({
        "version": VERSION,
        "source": SOURCE,
        "content": {
            "textType": TEXT_TYPE,
            "title": format!("{emoji} {}", headline(event)),
            "description": description.join("\n"),
            "nextSteps": next_steps,
            "keywords": [event.app.as_str(), event.stage.as_str(), &*event.status.to_string(), event.tag.as_str()],
        },
        "metadata": {
            "threadId": format!("stevedore/{}/{}/{}", event.app, event.stage, event.release_id),
            "summary": headline(event),
            "eventType": event.status.to_string(),
            "relatedResources": related,
            "additionalContext": context,
        },
    });
    if let Some(id) = event_id {
        body["id"] = Value::String(id.to_string());
    }
    body
}
