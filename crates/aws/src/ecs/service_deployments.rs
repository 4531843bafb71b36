//! Which alarms made ECS roll a service back. The deployment state change event does not
//! name them; the service deployment does: `alarms.triggeredAlarmNames` and `rollback.reason`
//! (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeployment.html>,
//! <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentAlarms.html>),
//! found with ListServiceDeployments
//! (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServiceDeployments.html>)
//! and read with DescribeServiceDeployments
//! (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceDeployments.html>).

use aws_sdk_ecs::types::{ServiceDeployment, ServiceDeploymentStatus};
use stevedore_core::Result;

use super::Ecs;
use crate::error::classify;

/// The service's latest rolled-back deployment, when alarms triggered its rollback.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmRollback {
    pub service_deployment_arn: String,
    /// The alarms that were in ALARM, in ECS's order.
    pub triggered_alarms: Vec<String>,
    /// ECS's own words for the rollback, when it gives them.
    pub rollback_reason: Option<String>,
}

/// DescribeServiceDeployments takes at most 20 ARNs; the latest rollbacks suffice.
const LATEST_ROLLBACKS: i32 = 20;

impl Ecs {
    /// The alarms of the service's most recent rolled-back deployment (status
    /// ROLLBACK_REQUESTED/IN_PROGRESS/SUCCESSFUL/FAILED), None when it has none or no alarm
    /// triggered it. Called right after a release's deployment failed rolled back, while the
    /// stage's lock keeps any other release off the service, so the latest one is the release's.
    pub async fn alarm_rollback(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Option<AlarmRollback>> {
        let listed = self
            .client
            .list_service_deployments()
            .cluster(cluster)
            .service(service)
            .status(ServiceDeploymentStatus::RollbackRequested)
            .status(ServiceDeploymentStatus::RollbackInProgress)
            .status(ServiceDeploymentStatus::RollbackSuccessful)
            .status(ServiceDeploymentStatus::RollbackFailed)
            .max_results(LATEST_ROLLBACKS)
            .send()
            .await
            .map_err(|e| classify("ListServiceDeployments", e))?;
        let arns: Vec<String> = listed
            .service_deployments()
            .iter()
            .filter_map(|d| d.service_deployment_arn.clone())
            .collect();
        if arns.is_empty() {
            return Ok(None);
        }
        let described = self
            .client
            .describe_service_deployments()
            .set_service_deployment_arns(Some(arns))
            .send()
            .await
            .map_err(|e| classify("DescribeServiceDeployments", e))?;
        Ok(latest_alarm_rollback(described.service_deployments()))
    }
}

/// The most recently created of `deployments`, as an [`AlarmRollback`] if alarms triggered it.
fn latest_alarm_rollback(deployments: &[ServiceDeployment]) -> Option<AlarmRollback> {
    let latest = deployments
        .iter()
        .max_by_key(|d| d.created_at.map(|t| (t.secs(), t.subsec_nanos())))?;
    let triggered = latest
        .alarms
        .as_ref()
        .map(|a| a.triggered_alarm_names().to_vec())
        .unwrap_or_default();
    if triggered.is_empty() {
        return None;
    }
    Some(AlarmRollback {
        service_deployment_arn: latest.service_deployment_arn.clone().unwrap_or_default(),
        triggered_alarms: triggered,
        rollback_reason: latest.rollback.as_ref().and_then(|r| r.reason.clone()),
    })
}

#[cfg(test)]
#[path = "service_deployments_tests.rs"]
mod tests;
