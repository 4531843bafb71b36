//! notify: a "Stevedore Release State Change" event (EventBridge, asynchronous invoke) goes
//! to the stack's SNS topic (Amazon Q Developer in chat applications' custom notification)
//! and to the app's or stage's Slack and webhook destinations whose filter lets it through.
//!
//! Delivery never changes a release: this function only reads the app's config. Each
//! destination is tried on its own; when any fails, the invocation fails after the others
//! were tried, so Lambda retries it and, once its retries are spent, the event lands in the
//! notification dead-letter queue (template.yaml). Delivery is at least once: a retry, or the
//! same transition put on the bus again (record reads the table's stream, which delivers at
//! least once), skips the destinations this function instance already delivered that
//! transition to (a retry mostly reaches the same warm instance, but may not). A webhook can
//! drop a repeat itself: a transition is (`release_id`, `status`, `phase`) of the body, and the
//! EventBridge event id comes in `X-Stevedore-Event-Id`.

use std::collections::VecDeque;
use std::sync::Mutex;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use futures_util::future::join_all;
use serde_json::{json, Value};
use stevedore_aws::{NotificationSecrets, Store, Topic, TopicMessage};
use stevedore_core::config::TargetKind;
use stevedore_core::notify::{
    self, chat, slack, text, url::url_from_secret, Delivery, StatusFilter, Target,
};
use stevedore_core::release::event::{ReleaseStateChange, DETAIL_TYPE, DETAIL_VERSION, SOURCE};
use stevedore_core::Error;

use crate::webhook::WebhookClient;
use crate::HandlerError;

/// How many (transition, destination) deliveries an instance remembers for its retries.
const REMEMBERED_DELIVERIES: usize = 1024;

pub struct Notify {
    pub store: Store,
    pub secrets: NotificationSecrets,
    pub topic: Topic,
    pub webhooks: WebhookClient,
    /// Which statuses the topic hears of (`NotificationTopicStatuses`).
    pub topic_filter: StatusFilter,
    pub delivered: Delivered,
}

/// The deliveries this instance made, by transition and destination key, oldest forgotten
/// first.
#[derive(Default)]
pub struct Delivered(Mutex<VecDeque<String>>);

impl Delivered {
    fn contains(&self, key: &str) -> bool {
        self.0
            .lock()
            .is_ok_and(|seen| seen.iter().any(|k| k == key))
    }

    fn insert(&self, key: String) {
        if let Ok(mut seen) = self.0.lock() {
            if seen.len() >= REMEMBERED_DELIVERIES {
                seen.pop_front();
            }
            seen.push_back(key);
        }
    }
}

pub async fn handle(ctx: &Notify, event: Value) -> Result<Value, HandlerError> {
    let source = event.get("source").and_then(Value::as_str);
    let detail_type = event.get("detail-type").and_then(Value::as_str);
    if source != Some(SOURCE) || detail_type != Some(DETAIL_TYPE) {
        tracing::warn!(
            ?source,
            ?detail_type,
            "not a Stevedore release event; ignored"
        );
        return Ok(json!({"ignored": "not a Stevedore Release State Change event"}));
    }
    let version = event.pointer("/detail/version").and_then(Value::as_str);
    if version != Some(DETAIL_VERSION) {
        return Err(Error::InvalidInput(format!(
            "release event detail version {version:?} is not the one this function reads ({DETAIL_VERSION})"
        ))
        .into());
    }
    let event: EventBridgeEvent<ReleaseStateChange> = serde_json::from_value(event)
        .map_err(|e| Error::InvalidInput(format!("malformed release event: {e}")))?;
    let detail = &event.detail;
    let config = ctx.store.get_app_config(&detail.app).await;
    let (config, config_error) = match config {
        Ok(config) => (config, None),
        Err(e) => (None, Some(e)),
    };
    if config.is_none() && config_error.is_none() {
        tracing::warn!(app = %detail.app, "the app has no config; only the topic is considered");
    }
    let deliveries = notify::plan(detail, config.as_ref(), &ctx.topic_filter);
    let event_id = event.id.as_deref();
    // A transition is (release, status, phase): the key of a delivery already made.
    let remembered = |delivery: &Delivery| {
        let (release, status, phase) = (&detail.release_id, detail.status, detail.phase);
        format!("{release}/{status}/{phase}/{}", delivery.key)
    };
    let (done, to_send): (Vec<&Delivery>, Vec<&Delivery>) = deliveries
        .iter()
        .partition(|d| ctx.delivered.contains(&remembered(d)));
    let results = join_all(to_send.iter().map(|d| deliver(ctx, event_id, detail, d))).await;

    let mut delivered = Vec::new();
    let mut failed = Vec::new();
    for (delivery, result) in to_send.iter().zip(results) {
        match result {
            Ok(()) => {
                tracing::info!(destination = %delivery.key, status = %detail.status, release_id = %detail.release_id, "delivered");
                ctx.delivered.insert(remembered(delivery));
                delivered.push(delivery.key.clone());
            }
            Err(why) => {
                tracing::error!(destination = %delivery.key, status = %detail.status, release_id = %detail.release_id, error = %why, "not delivered");
                failed.push(format!("{}: {why}", delivery.key));
            }
        }
    }
    let attempted = to_send.len() + usize::from(config_error.is_some());
    if let Some(e) = config_error {
        failed.push(format!("the app's destinations (config not read): {e}"));
    }
    if !failed.is_empty() {
        return Err(Error::NotificationFailed(format!(
            "release {} ({}/{} {}): {} of {} deliveries failed: {}",
            detail.release_id,
            detail.app,
            detail.stage,
            detail.status,
            failed.len(),
            attempted,
            failed.join("; ")
        ))
        .into());
    }
    Ok(json!({
        "release_id": detail.release_id,
        "status": detail.status,
        "delivered": delivered,
        "already_delivered": done.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(),
    }))
}

async fn deliver(
    ctx: &Notify,
    event_id: Option<&str>,
    detail: &ReleaseStateChange,
    delivery: &Delivery,
) -> Result<(), String> {
    match &delivery.target {
        Target::Topic => {
            let message = TopicMessage {
                subject: text::subject(detail),
                body: chat::notification(event_id, detail).to_string(),
                attributes: vec![
                    ("app".into(), detail.app.clone()),
                    ("stage".into(), detail.stage.clone()),
                    ("status".into(), detail.status.to_string()),
                ],
            };
            ctx.topic
                .publish(&message)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        Target::Webhook { kind, secret_id } => {
            let secret = ctx
                .secrets
                .read(secret_id)
                .await
                .map_err(|e| e.to_string())?;
            let url = url_from_secret(secret.expose())
                .map_err(|why| format!("secret `{secret_id}` {why}"))?;
            let body = match kind {
                TargetKind::Slack => slack::message(detail).to_string().into_bytes(),
                TargetKind::Webhook => serde_json::to_vec(detail).map_err(|e| e.to_string())?,
            };
            ctx.webhooks
                .post_json(&url, body, event_id)
                .await
                .map_err(|why| {
                    let what = match kind {
                        TargetKind::Slack => "Slack webhook",
                        TargetKind::Webhook => "webhook",
                    };
                    format!("{what} (secret `{secret_id}`): {why}")
                })
        }
    }
}
