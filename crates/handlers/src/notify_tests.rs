//! notify with its AWS calls mocked (DynamoDB for the config, Secrets Manager for the URLs,
//! SNS for the topic) and its webhooks served by local HTTP receivers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::notify::*;
use crate::webhook::WebhookClient;
use stevedore_aws::{NotificationSecrets, Store, Topic};

const TOPIC_ARN: &str = "arn:aws:sns:us-east-1:123456789012:stevedore-NotificationTopic";

/// A local receiver answering every request with `status`; it keeps each request's body.
#[derive(Clone)]
struct Receiver {
    url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
}

async fn receiver(status: u16, path: &str) -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}{path}", listener.local_addr().expect("address"));
    let bodies: Arc<Mutex<Vec<Value>>> = Default::default();
    let seen = bodies.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut data = Vec::new();
            let mut buffer = [0u8; 4096];
            while let Ok(n) = socket.read(&mut buffer).await {
                data.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&data).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        seen.lock()
                            .unwrap()
                            .push(serde_json::from_str(body).unwrap_or(Value::Null));
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let answer =
                format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno");
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    Receiver { url, bodies }
}

impl Receiver {
    fn received(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }
}

fn config_rule(config: Option<Value>) -> Rule {
    mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| {
            r.key()
                .and_then(|k| k.get("PK"))
                .and_then(|v| v.as_s().ok())
                == Some(&"APP#backend".to_string())
        })
        .then_output(move || {
            let item = config.as_ref().map(|config| {
                HashMap::from([
                    ("config".to_string(), AttributeValue::S(config.to_string())),
                    ("app".to_string(), AttributeValue::S("backend".into())),
                ])
            });
            GetItemOutput::builder().set_item(item).build()
        })
}

fn secret_rule(id: &'static str, url: String) -> Rule {
    mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .match_requests(move |r| r.secret_id() == Some(id))
        .then_output(move || {
            GetSecretValueOutput::builder()
                .secret_string(url.clone())
                .build()
        })
}

fn publish_rule(published: Arc<Mutex<Vec<Value>>>) -> Rule {
    mock!(aws_sdk_sns::Client::publish)
        .match_requests(move |r| {
            let body = serde_json::from_str(r.message().unwrap_or("null")).unwrap_or(Value::Null);
            published.lock().unwrap().push(body);
            r.topic_arn() == Some(TOPIC_ARN)
        })
        .then_output(|| PublishOutput::builder().message_id("m").build())
}

fn notify(config: &Rule, secrets: &[&Rule], publish: &Rule) -> Notify {
    Notify {
        store: Store::new(
            mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [config]),
            "table",
        ),
        secrets: NotificationSecrets::new(mock_client!(
            aws_sdk_secretsmanager,
            RuleMode::MatchAny,
            secrets
        )),
        topic: Topic::new(
            mock_client!(aws_sdk_sns, RuleMode::MatchAny, [publish]),
            TOPIC_ARN,
        ),
        webhooks: WebhookClient::new(Duration::from_secs(5)).expect("TLS roots"),
        topic_filter: Default::default(),
        delivered: Default::default(),
    }
}

fn event(status: &str, stage: &str) -> Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "Stevedore Release State Change",
        "source": "stevedore",
        "account": "123456789012",
        "time": "2026-12-06T10:03:12Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "version": "1", "app": "backend", "stage": stage,
            "release_id": "01J9ZQ3X7M2K8V4N6P0R5T1W3Y", "trigger": "push", "status": status,
            "phase": "finished", "reason": "ECS deployment circuit breaker: rolled back",
            "repository": "backend", "digest": "sha256:5f0b5b1c0ffee4d3b2a1908f7e6d5c4b",
            "tag": "v1.4.2", "image": "backend@sha256:5f0b5b1c0ffee4d3b2a1908f7e6d5c4b",
            "created_at": "2026-12-06T10:00:00.000Z", "time": "2026-12-06T10:03:12.000Z",
            "durations": {"total_seconds": 192.0}, "links": {},
        },
    })
}

fn app_config() -> Value {
    json!({
        "repository": "backend",
        "notifications": [
            {"slack": "stevedore/notifications/slack"},
            {"webhook": "stevedore/notifications/broken"},
            {"webhook": "stevedore/notifications/audit", "on": ["SUCCEEDED"]},
        ],
        "stages": {"staging": {"cluster": "demo", "service": "backend-staging"}},
    })
}

#[tokio::test]
async fn a_failing_webhook_fails_the_invocation_and_a_retry_resends_only_to_it() {
    let slack = receiver(200, "/hooks/slack").await;
    let broken = receiver(500, "/hooks/broken").await;
    let audit = receiver(200, "/hooks/audit").await;
    let published: Arc<Mutex<Vec<Value>>> = Default::default();
    let (config, publish) = (
        config_rule(Some(app_config())),
        publish_rule(published.clone()),
    );
    let secrets = [
        secret_rule("stevedore/notifications/slack", slack.url.clone()),
        secret_rule("stevedore/notifications/broken", broken.url.clone()),
        secret_rule("stevedore/notifications/audit", audit.url.clone()),
    ];
    let ctx = notify(&config, &secrets.iter().collect::<Vec<_>>(), &publish);

    let error = handle(&ctx, event("ROLLED_BACK", "staging"))
        .await
        .unwrap_err();
    let diagnostic: lambda_runtime::Diagnostic = error.into();
    assert_eq!(diagnostic.error_type, "NotificationFailed");
    let message = diagnostic.error_message;
    assert!(
        message.contains("1 of 3 deliveries failed: apps.backend.notifications[1]: webhook (secret `stevedore/notifications/broken`): HTTP 500: no"),
        "{message}"
    );
    assert!(
        !message.contains(&broken.url) && !message.contains("/hooks/broken"),
        "{message}"
    );
    // The others got theirs: the topic its custom notification, Slack its blocks.
    assert_eq!(publish.num_calls(), 1);
    assert_eq!(published.lock().unwrap()[0]["source"], "custom");
    let slack_got = slack.received();
    assert_eq!(slack_got.len(), 1);
    assert!(
        slack_got[0]["blocks"].to_string().contains("rolled back"),
        "{slack_got:?}"
    );
    // The broken one got the event's detail; the success-only one nothing.
    assert_eq!(broken.received()[0]["status"], "ROLLED_BACK");
    assert!(audit.received().is_empty());

    // Lambda's retry (the same event), or the transition put again (another event id):
    // only the destination that failed is tried again.
    let again = handle(&ctx, event("ROLLED_BACK", "staging"))
        .await
        .unwrap_err();
    assert_eq!(
        lambda_runtime::Diagnostic::from(again).error_type,
        "NotificationFailed"
    );
    let mut put_again = event("ROLLED_BACK", "staging");
    put_again["id"] = json!("0d2b8c1e-3f4a-4b5c-9d6e-7f8091a2b3c4");
    handle(&ctx, put_again).await.unwrap_err();
    assert_eq!(
        publish.num_calls(),
        1,
        "the topic was not published to again"
    );
    assert_eq!(slack.received().len(), 1, "Slack was not posted to again");
    assert_eq!(broken.received().len(), 3);
    // Another transition of the same release is news to every destination.
    let mut failed = event("FAILED", "staging");
    failed["detail"]["previous_status"] = json!("ROLLED_BACK");
    handle(&ctx, failed).await.unwrap_err();
    assert_eq!(publish.num_calls(), 2);
    assert_eq!(slack.received().len(), 2);
}

#[tokio::test]
async fn all_delivered_is_a_success_naming_each_destination() {
    let slack = receiver(200, "/s").await;
    let audit = receiver(204, "/a").await;
    let published: Arc<Mutex<Vec<Value>>> = Default::default();
    let mut config = app_config();
    config["notifications"].as_array_mut().unwrap().remove(1);
    config["stages"]["production"] = json!({"cluster": "demo", "service": "backend-production"});
    let (config, publish) = (config_rule(Some(config)), publish_rule(published.clone()));
    let secrets = [
        secret_rule("stevedore/notifications/slack", slack.url.clone()),
        secret_rule(
            "stevedore/notifications/audit",
            format!(r#"{{"url": "{}"}}"#, audit.url),
        ),
    ];
    let ctx = notify(&config, &secrets.iter().collect::<Vec<_>>(), &publish);
    let out = handle(&ctx, event("SUCCEEDED", "production"))
        .await
        .expect("delivered");
    assert_eq!(
        out["delivered"],
        json!([
            "topic",
            "apps.backend.notifications[0]",
            "apps.backend.notifications[1]"
        ])
    );
    assert_eq!(audit.received()[0]["app"], "backend");
    assert_eq!(
        published.lock().unwrap()[0]["metadata"]["eventType"],
        "SUCCEEDED"
    );
}

#[tokio::test]
async fn an_app_without_config_still_reaches_the_topic() {
    let published: Arc<Mutex<Vec<Value>>> = Default::default();
    let (config, publish) = (config_rule(None), publish_rule(published.clone()));
    let ctx = notify(&config, &[], &publish);
    let out = handle(&ctx, event("FAILED", "staging"))
        .await
        .expect("delivered");
    assert_eq!(out["delivered"], json!(["topic"]));
    // A status nobody listens to sends nothing.
    let out = handle(&ctx, event("IN_PROGRESS", "staging"))
        .await
        .expect("nothing to do");
    assert_eq!(out["delivered"], json!([]));
    assert_eq!(publish.num_calls(), 1);
}

#[tokio::test]
async fn other_events_are_ignored_and_an_unknown_version_is_an_error() {
    let (config, publish) = (config_rule(None), publish_rule(Default::default()));
    let ctx = notify(&config, &[], &publish);
    let mut foreign = event("FAILED", "staging");
    foreign["source"] = json!("aws.ecs");
    let out = handle(&ctx, foreign).await.expect("ignored");
    assert!(out.get("ignored").is_some(), "{out}");
    let mut future = event("FAILED", "staging");
    future["detail"]["version"] = json!("2");
    let error = handle(&ctx, future).await.unwrap_err();
    assert_eq!(
        lambda_runtime::Diagnostic::from(error).error_type,
        "InvalidInput"
    );
    assert_eq!(config.num_calls() + publish.num_calls(), 0);
}
