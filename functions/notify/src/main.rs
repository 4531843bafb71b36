//! Lambda `notify`: see `stevedore_handlers::notify` for what it does.

use std::time::Duration;

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use stevedore_aws::{load_sdk_config, NotificationSecrets, Store, Topic};
use stevedore_core::notify::StatusFilter;
use stevedore_handlers::notify::{handle, Notify};
use stevedore_handlers::webhook::WebhookClient;
use stevedore_handlers::{init_tracing, required_env};

/// How long one webhook request may take, answer included (the function's timeout is 60 s;
/// destinations are tried in parallel).
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// The function's settings, read once (template.yaml sets them).
struct Settings {
    table: String,
    topic_arn: String,
    topic_filter: StatusFilter,
}

impl Settings {
    fn from_env() -> Result<Self, String> {
        let statuses = std::env::var("NOTIFICATION_TOPIC_STATUSES").unwrap_or_default();
        Ok(Settings {
            table: required_env("STEVEDORE_TABLE")?,
            topic_arn: required_env("NOTIFICATION_TOPIC_ARN")?,
            topic_filter: statuses
                .parse()
                .map_err(|e| format!("NOTIFICATION_TOPIC_STATUSES: {e}"))?,
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let settings = Settings::from_env()?;
    let sdk = load_sdk_config().await;
    let ctx = Notify {
        store: Store::from_sdk(&sdk, settings.table),
        secrets: NotificationSecrets::from_sdk(&sdk),
        topic: Topic::from_sdk(&sdk, settings.topic_arn),
        webhooks: WebhookClient::new(WEBHOOK_TIMEOUT)?,
        topic_filter: settings.topic_filter,
        delivered: Default::default(),
    };
    let ctx = &ctx;
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move { handle(ctx, event.payload).await },
    ))
    .await
}
