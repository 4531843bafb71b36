//! What the notify function decides for one release event: which destinations hear of it
//! (the stack's SNS topic, and the app's or stage's `notifications:`), and what each gets.
//! Pure: the handler reads the config and the secrets, and sends.

pub mod chat;
mod filter;
pub mod slack;
pub mod text;
pub mod url;

#[cfg(test)]
mod tests;

pub use filter::StatusFilter;

use crate::config::{is_production_name, AppConfig, TargetKind};
use crate::release::event::ReleaseStateChange;

/// The key of the stack's topic among an event's deliveries.
pub const TOPIC_KEY: &str = "topic";

/// One destination an event goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Names the destination in logs, errors and the retry bookkeeping: [`TOPIC_KEY`], or
    /// where stevedore.yaml writes it (`apps.backend.stages.production.notifications[0]`).
    pub key: String,
    pub target: Target,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The stack's SNS topic, in the chat applications' custom notification format.
    Topic,
    /// A Slack incoming webhook (Block Kit) or another webhook (the event's detail), whose
    /// URL is the value of the secret `secret_id`.
    Webhook { kind: TargetKind, secret_id: String },
}

/// Whether the event's stage counts as production: the stage's `production:`, else the name
/// rule ([`is_production_name`]), also for a stage the config no longer has.
pub fn is_production(event: &ReleaseStateChange, config: Option<&AppConfig>) -> bool {
    config
        .and_then(|c| c.stage(&event.stage))
        .map(|stage| stage.is_production(&event.stage))
        .unwrap_or_else(|| is_production_name(&event.stage))
}

/// Every destination that hears of `event`: the topic (when `topic_filter` lets the status
/// through), then the app's or stage's destinations whose `on` (or the default) does.
/// `config` is None when the app has no config (any more): only the topic is considered.
pub fn plan(
    event: &ReleaseStateChange,
    config: Option<&AppConfig>,
    topic_filter: &StatusFilter,
) -> Vec<Delivery> {
    let production = is_production(event, config);
    let mut deliveries = Vec::new();
    if topic_filter.matches(event.status, production) {
        deliveries.push(Delivery {
            key: TOPIC_KEY.into(),
            target: Target::Topic,
        });
    }
    let Some(config) = config else {
        return deliveries;
    };
    for (key, target) in config.notification_targets(&event.app, &event.stage) {
        let Some((kind, secret)) = target.destination() else {
            continue; // a validated config has exactly one per entry
        };
        if StatusFilter::from_on(target.on.as_deref()).matches(event.status, production) {
            deliveries.push(Delivery {
                key,
                target: Target::Webhook {
                    kind,
                    secret_id: secret.secret_id().to_string(),
                },
            });
        }
    }
    deliveries
}
