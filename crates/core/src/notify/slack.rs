//! The Slack message for a release event: Block Kit blocks, POSTed to an incoming webhook.
//!
//! Incoming webhooks take the same JSON as chat.postMessage: `text` (the notification's
//! fallback) and `blocks`
//! (https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks/). Block limits
//! from Slack's block reference (https://api.slack.com/reference/block-kit/blocks): at most 50
//! blocks; a header's plain_text at most 150 characters; a section's text at most 3000, its
//! `fields` at most 10 of at most 2000 each; a button's text at most 75 and its `url` at most
//! 3000 (https://api.slack.com/reference/block-kit/block-elements#button). mrkdwn text
//! escapes `&`, `<` and `>` (https://api.slack.com/reference/surfaces/formatting#escaping).

use serde_json::{json, Value};

use super::text::{approval_hint, duration, headline, outcome, short_digest, truncate};
use crate::release::event::{EventStatus, ReleaseStateChange};

const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;
const FIELD_MAX: usize = 2000;
const BUTTON_URL_MAX: usize = 3000;

/// The webhook body: `{"text": ..., "blocks": [...]}`.
pub fn message(event: &ReleaseStateChange) -> Value {
    let (emoji, outcome_text) = outcome(event.status);
    let mut blocks = vec![json!({
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": truncate(&format!("{emoji} {} · {}: {outcome_text}", event.app, event.stage), HEADER_MAX),
            "emoji": true,
        },
    })];
    let status = match event.status {
        EventStatus::InProgress => format!("{} ({})", event.status, event.phase),
        other => other.to_string(),
    };
    let fields = [
        ("App", escape(&event.app)),
        ("Stage", escape(&event.stage)),
        ("Outcome", status),
        ("Tag", format!("`{}`", escape(&event.tag))),
        (
            "Digest",
            format!("`{}`", escape(&short_digest(&event.digest))),
        ),
        ("Duration", duration(event.durations.total_seconds)),
    ];
    blocks.push(json!({
        "type": "section",
        "fields": fields
            .iter()
            .map(|(name, value)| mrkdwn(&format!("*{name}*\n{value}"), FIELD_MAX))
            .collect::<Vec<_>>(),
    }));
    if let Some(reason) = event.reason.as_deref().filter(|r| !r.is_empty()) {
        blocks.push(section(&format!("*Reason*\n{}", escape(reason))));
    }
    if !event.services.is_empty() {
        let lines: Vec<String> = event
            .services
            .iter()
            .map(|s| format!("• `{}`: {}", escape(&s.service), escape(&s.status)))
            .collect();
        blocks.push(section(&format!("*Services*\n{}", lines.join("\n"))));
    }
    if event.status == EventStatus::WaitingForApproval {
        blocks.push(section(&escape(&approval_hint(event))));
    }
    let mut context = format!(
        "Release `{}` · {}",
        escape(&event.release_id),
        event.trigger
    );
    if let Some(source) = &event.source_release_id {
        context.push_str(&format!(" of `{}`", escape(source)));
    }
    context.push_str(&format!(" · `{}`", escape(&event.image)));
    blocks.push(json!({"type": "context", "elements": [mrkdwn(&context, SECTION_MAX)]}));
    let buttons: Vec<Value> = [
        (
            "open_execution",
            "Step Functions execution",
            &event.links.execution,
        ),
        ("open_service", "ECS service", &event.links.service),
    ]
    .into_iter()
    .filter_map(|(id, text, url)| {
        let url = url
            .as_deref()
            .filter(|u| u.starts_with("https://") && u.len() <= BUTTON_URL_MAX)?;
        Some(json!({
            "type": "button",
            "action_id": id,
            "text": {"type": "plain_text", "text": text},
            "url": url,
        }))
    })
    .collect();
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "elements": buttons}));
    }
    json!({"text": escape(&headline(event)), "blocks": blocks})
}

/// Text for mrkdwn: Slack's three control characters escaped.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn mrkdwn(text: &str, max: usize) -> Value {
    json!({"type": "mrkdwn", "text": truncate(text, max)})
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": mrkdwn(text, SECTION_MAX)})
}
