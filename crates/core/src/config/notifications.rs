//! `notifications:` in stevedore.yaml: where the notify function sends an app's release
//! events (besides the stack's SNS topic), and which statuses each destination hears of.
//!
//! ```yaml
//! apps:
//!   backend:
//!     notifications:                    # every stage of the app...
//!       - slack: stevedore/notifications/backend-slack
//!     stages:
//!       production:
//!         production: true              # default: the stage is named prod, production, prod-* or production-*
//!         notifications:                # ...unless the stage lists its own (they replace the app's)
//!           - slack: stevedore/notifications/backend-prod-slack
//!           - webhook: arn:aws:secretsmanager:eu-west-1:123456789012:secret:stevedore/notifications/audit-AbCdEf
//!             on: [SUCCEEDED, FAILED, ROLLED_BACK, ABORTED]
//! ```
//!
//! A destination names a Secrets Manager secret (name or ARN) whose value is the URL (the
//! plain URL, or JSON with a `url` key): the URL itself is never in stevedore.yaml, in the
//! table or in a log. Only the notify function may read these secrets.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::release::event::EventStatus;
use crate::secret::{SecretId, SecretRef};

use super::validate::CheckResult;

/// At most this many destinations per app or stage: notify delivers to all of them within
/// one invocation.
pub const MAX_NOTIFICATION_TARGETS: usize = 10;

/// One destination: exactly one of `slack` or `webhook`, and optionally the statuses it hears
/// of (`on`; absent: the default rule, see [`crate::notify::StatusFilter`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationTarget {
    /// A Slack incoming webhook: gets a Block Kit message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<NotificationSecret>,
    /// Any HTTPS endpoint: gets the event's `detail` as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<NotificationSecret>,
    #[serde(default, rename = "on", skip_serializing_if = "Option::is_none")]
    pub on: Option<Vec<EventStatus>>,
}

/// What kind of message a destination gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::Display)]
#[strum(serialize_all = "snake_case")]
pub enum TargetKind {
    Slack,
    Webhook,
}

impl NotificationTarget {
    /// The destination's kind and secret; None only before validation (neither or both set).
    pub fn destination(&self) -> Option<(TargetKind, &NotificationSecret)> {
        match (&self.slack, &self.webhook) {
            (Some(secret), None) => Some((TargetKind::Slack, secret)),
            (None, Some(secret)) => Some((TargetKind::Webhook, secret)),
            _ => None,
        }
    }
}

/// The Secrets Manager secret holding a destination's URL, by name or ARN (no JSON key, no
/// Parameter Store: the value is read whole by notify).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NotificationSecret(SecretRef);

impl NotificationSecret {
    /// The name or ARN, as GetSecretValue's `SecretId` takes it.
    pub fn secret_id(&self) -> &str {
        self.0.lookup_id()
    }
}

impl fmt::Display for NotificationSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<NotificationSecret> for String {
    fn from(secret: NotificationSecret) -> Self {
        secret.to_string()
    }
}

impl TryFrom<String> for NotificationSecret {
    type Error = String;

    /// The message never repeats a value that looks like a URL: it may be the secret itself.
    fn try_from(text: String) -> Result<Self, Self::Error> {
        let lower = text.trim().to_ascii_lowercase();
        if lower.contains("://") || lower.starts_with("http:") || lower.starts_with("https:") {
            return Err("looks like a URL: put the URL in a Secrets Manager secret and name that secret here (its name or ARN), so the URL is never stored in stevedore.yaml or the release table".into());
        }
        let reference: SecretRef = text.parse()?;
        if matches!(reference.secret, SecretId::SsmParameter(_)) {
            return Err(format!(
                "{text:?}: notification URLs are read from Secrets Manager only; name a secret"
            ));
        }
        if reference.json_key.is_some() {
            return Err(format!(
                "{text:?}: name the secret without a JSON key; its value is the URL, or JSON with a `url` key"
            ));
        }
        Ok(NotificationSecret(reference))
    }
}

/// Checks an app's or a stage's `notifications` list (`path` locates it).
pub(super) fn validate_targets(targets: &[NotificationTarget], path: &str) -> CheckResult {
    if targets.len() > MAX_NOTIFICATION_TARGETS {
        return Err((
            path.to_string(),
            format!(
                "lists {} destinations; at most {MAX_NOTIFICATION_TARGETS} are allowed",
                targets.len()
            ),
        ));
    }
    let mut secrets = BTreeSet::new();
    for (index, target) in targets.iter().enumerate() {
        let here = format!("{path}[{index}]");
        let Some((_, secret)) = target.destination() else {
            let message = if target.slack.is_some() {
                "sets both `slack` and `webhook`; give each destination its own entry"
            } else {
                "needs `slack` or `webhook`: the Secrets Manager secret (name or ARN) holding the URL"
            };
            return Err((here, message.into()));
        };
        if !secrets.insert(secret.secret_id()) {
            return Err((
                here,
                format!("secret `{secret}` is listed twice; one entry per destination"),
            ));
        }
        if let Some(on) = &target.on {
            if on.is_empty() {
                return Err((
                    format!("{here}.on"),
                    "lists no status; leave `on` out for the default (failures, rollbacks, approvals needed, successes to production)".into(),
                ));
            }
            let mut seen = BTreeSet::new();
            for (i, status) in on.iter().enumerate() {
                if !seen.insert(status.to_string()) {
                    return Err((
                        format!("{here}.on[{i}]"),
                        format!("{status} is listed twice"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The default production rule: a stage named `prod` or `production`, or starting with
/// `prod-` or `production-` (`prod-eu`). `production: true|false` on a stage overrides it.
pub fn is_production_name(stage: &str) -> bool {
    stage == "prod"
        || stage == "production"
        || stage.starts_with("prod-")
        || stage.starts_with("production-")
}

impl super::StageConfig {
    /// Whether `stage` (this stage's name) counts as production for notifications.
    pub fn is_production(&self, stage: &str) -> bool {
        self.production.unwrap_or_else(|| is_production_name(stage))
    }
}

impl super::AppConfig {
    /// The destinations of `stage`'s release events, each with where it is written in
    /// stevedore.yaml (`apps.backend.notifications[0]`), which names it in logs and errors.
    /// A stage's own list replaces the app's; an unknown stage gets the app's.
    pub fn notification_targets(
        &self,
        app: &str,
        stage: &str,
    ) -> Vec<(String, &NotificationTarget)> {
        let (prefix, targets) = match self.stage(stage).and_then(|s| s.notifications.as_ref()) {
            Some(own) => (format!("apps.{app}.stages.{stage}.notifications"), own),
            None => (format!("apps.{app}.notifications"), &self.notifications),
        };
        targets
            .iter()
            .enumerate()
            .map(|(index, target)| (format!("{prefix}[{index}]"), target))
            .collect()
    }
}
