//! The `ECS Deployment State Change` EventBridge event and what it means for a release.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The `detail` of an `ECS Deployment State Change` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStateChange {
    pub event_type: String,
    pub event_name: String,
    pub deployment_id: String,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeploymentOutcome {
    InProgress,
    Completed,
    Failed { reason: String },
}

pub fn deployment_outcome(event: &DeploymentStateChange) -> DeploymentOutcome {
    match event.event_name.as_str() {
        "SERVICE_DEPLOYMENT_COMPLETED" => DeploymentOutcome::Completed,
        "SERVICE_DEPLOYMENT_FAILED" => DeploymentOutcome::Failed {
            reason: event
                .reason
                .as_deref()
                .map(str::trim)
                .filter(|reason| !reason.is_empty())
                .map_or_else(
                    || {
                        format!(
                            "deployment {} failed; ECS gave no reason",
                            event.deployment_id
                        )
                    },
                    str::to_string,
                ),
        },
        _ => DeploymentOutcome::InProgress,
    }
}

/// The error for a failed deployment: a rollback by ECS (circuit breaker, blue/green hook)
/// is recorded as ROLLED_BACK, anything else as FAILED.
pub fn classify_failed_deployment(rolled_back: bool, reason: &str) -> Error {
    if rolled_back {
        Error::DeploymentRolledBack(format!("ECS rolled the service back: {reason}"))
    } else {
        Error::DeploymentFailed(format!("ECS deployment failed: {reason}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, reason: Option<&str>) -> DeploymentStateChange {
        DeploymentStateChange {
            event_type: "INFO".into(),
            event_name: name.into(),
            deployment_id: "ecs-svc/123".into(),
            updated_at: None,
            reason: reason.map(str::to_string),
        }
    }

    #[test]
    fn deserializes_a_real_detail() {
        let detail: DeploymentStateChange = serde_json::from_str(
            r#"{"eventType":"ERROR","eventName":"SERVICE_DEPLOYMENT_FAILED","deploymentId":"ecs-svc/9",
                "updatedAt":"2024-05-01T12:00:00.000Z","reason":"ECS deployment circuit breaker: tasks failed to start."}"#,
        )
        .expect("valid detail");
        assert_eq!(
            deployment_outcome(&detail),
            DeploymentOutcome::Failed {
                reason: "ECS deployment circuit breaker: tasks failed to start.".into()
            }
        );
    }

    #[test]
    fn outcomes() {
        assert_eq!(
            deployment_outcome(&event("SERVICE_DEPLOYMENT_COMPLETED", None)),
            DeploymentOutcome::Completed
        );
        assert_eq!(
            deployment_outcome(&event("SERVICE_DEPLOYMENT_IN_PROGRESS", None)),
            DeploymentOutcome::InProgress
        );
        assert_eq!(
            deployment_outcome(&event("SOMETHING_NEW", None)),
            DeploymentOutcome::InProgress
        );
        assert_eq!(
            deployment_outcome(&event("SERVICE_DEPLOYMENT_FAILED", Some(" "))),
            DeploymentOutcome::Failed {
                reason: "deployment ecs-svc/123 failed; ECS gave no reason".into()
            }
        );
    }

    #[test]
    fn classify() {
        assert_eq!(
            classify_failed_deployment(true, "circuit breaker"),
            Error::DeploymentRolledBack("ECS rolled the service back: circuit breaker".into())
        );
        assert_eq!(
            classify_failed_deployment(false, "no capacity"),
            Error::DeploymentFailed("ECS deployment failed: no capacity".into())
        );
    }
}
