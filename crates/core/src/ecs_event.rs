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

/// A service ARN: `arn:<partition>:ecs:<region>:<account>:service/<cluster>/<service>`, or the
/// legacy short form `…:service/<service>` (no cluster), which ECS still uses for services
/// created before the long ARN format was opted into.
/// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-account-settings.html#ecs-resource-ids
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceArn {
    pub region: String,
    pub account: String,
    /// None for a legacy short ARN.
    pub cluster: Option<String>,
    pub service: String,
}

pub fn parse_service_arn(arn: &str) -> Option<ServiceArn> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", _, "ecs", region, account, resource] = parts.as_slice() else {
        return None;
    };
    let path = resource.strip_prefix("service/")?;
    let (cluster, service) = match path.split_once('/') {
        Some((cluster, service)) => (Some(cluster.to_string()), service),
        None => (None, path),
    };
    if service.is_empty() || service.contains('/') || cluster.as_deref() == Some("") {
        return None;
    }
    Some(ServiceArn {
        region: region.to_string(),
        account: account.to_string(),
        cluster,
        service: service.to_string(),
    })
}

/// The account and region Stevedore runs in; ECS events of any other are not its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub account: String,
    pub region: String,
}

impl Home {
    /// `account` from the stack (`AWS::AccountId` in the template), `region` from Lambda's
    /// reserved `AWS_REGION`. Not from the invoked function's ARN: a local runtime (`cargo
    /// lambda watch`) hands the function the placeholder `function-arn`, which would leave the
    /// origin of events unchecked exactly where the tests run.
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Home {
        Home {
            account: account.into(),
            region: region.into(),
        }
    }

    /// Why an event (its `account`, `region` and service ARN) is not from here, or None when it is.
    pub fn foreign(
        &self,
        event_account: Option<&str>,
        event_region: Option<&str>,
        service: Option<&ServiceArn>,
    ) -> Option<String> {
        let accounts = [event_account, service.map(|s| s.account.as_str())];
        if let Some(other) = accounts.into_iter().flatten().find(|a| *a != self.account) {
            return Some(format!(
                "event from account {other}, not this stack's account {}",
                self.account
            ));
        }
        let regions = [event_region, service.map(|s| s.region.as_str())];
        if let Some(other) = regions.into_iter().flatten().find(|r| *r != self.region) {
            return Some(format!(
                "event from region {other}, not this stack's region {}",
                self.region
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_arns_long_and_legacy() {
        assert_eq!(
            parse_service_arn("arn:aws:ecs:us-east-1:123456789012:service/demo/web"),
            Some(ServiceArn {
                region: "us-east-1".into(),
                account: "123456789012".into(),
                cluster: Some("demo".into()),
                service: "web".into(),
            })
        );
        assert_eq!(
            parse_service_arn("arn:aws-cn:ecs:cn-north-1:123456789012:service/web"),
            Some(ServiceArn {
                region: "cn-north-1".into(),
                account: "123456789012".into(),
                cluster: None,
                service: "web".into(),
            })
        );
        for bad in [
            "arn:aws:ecs:us-east-1:1:task/demo/abc",
            "arn:aws:ecs:us-east-1:1:service/",
            "arn:aws:ecs:us-east-1:1:service//web",
            "arn:aws:ecs:us-east-1:1:service/a/b/c",
            "arn:aws:lambda:us-east-1:1:service/demo/web",
            "service/demo/web",
        ] {
            assert_eq!(parse_service_arn(bad), None, "{bad}");
        }
    }

    #[test]
    fn events_from_another_account_or_region_are_foreign() {
        let home = Home::new("123456789012", "us-east-1");
        let ours = parse_service_arn("arn:aws:ecs:us-east-1:123456789012:service/demo/web");
        assert_eq!(
            home.foreign(Some("123456789012"), Some("us-east-1"), ours.as_ref()),
            None
        );
        assert_eq!(home.foreign(None, None, None), None);
        let theirs = parse_service_arn("arn:aws:ecs:us-east-1:999999999999:service/demo/web");
        let why = home
            .foreign(Some("123456789012"), Some("us-east-1"), theirs.as_ref())
            .expect("foreign");
        assert!(why.contains("999999999999"), "{why}");
        let why = home
            .foreign(Some("123456789012"), Some("eu-west-1"), ours.as_ref())
            .expect("foreign");
        assert!(why.contains("eu-west-1"), "{why}");
    }

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
