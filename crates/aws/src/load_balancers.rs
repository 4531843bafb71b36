//! Elastic Load Balancing v2: what a service's target groups make a rollout wait for, read
//! with DescribeTargetGroups (health check interval, healthy threshold, timeout;
//! <https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTargetGroups.html>)
//! and DescribeTargetGroupAttributes (`deregistration_delay.timeout_seconds`;
//! <https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTargetGroupAttributes.html>,
//! <https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetGroupAttribute.html>).
//! Read only: Stevedore never changes a target group.

use aws_sdk_elasticloadbalancingv2::types::TargetGroup;
use aws_sdk_elasticloadbalancingv2::Client;
use stevedore_core::rollout_estimate::TargetGroupSettings;
use stevedore_core::{Error, Result};

use crate::error::classify;

/// The attribute that holds a target group's deregistration delay, in seconds.
pub const DEREGISTRATION_DELAY: &str = "deregistration_delay.timeout_seconds";

/// DescribeTargetGroups takes at most 20 ARNs per call (its `TargetGroupArns` member).
const MAX_ARNS_PER_CALL: usize = 20;

#[derive(Clone)]
pub struct LoadBalancers {
    client: Client,
}

impl LoadBalancers {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub fn from_sdk(config: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(config))
    }

    /// The rollout settings of each target group, in the order of `arns`.
    pub async fn target_group_settings(&self, arns: &[String]) -> Result<Vec<TargetGroupSettings>> {
        let mut groups: Vec<TargetGroup> = Vec::new();
        for chunk in arns.chunks(MAX_ARNS_PER_CALL) {
            let out = self
                .client
                .describe_target_groups()
                .set_target_group_arns(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| classify("DescribeTargetGroups", e))?;
            groups.extend(out.target_groups.unwrap_or_default());
        }
        let mut settings = Vec::with_capacity(arns.len());
        for arn in arns {
            let group = groups
                .iter()
                .find(|g| g.target_group_arn.as_deref() == Some(arn.as_str()))
                .ok_or_else(|| {
                    Error::AwsError(format!("DescribeTargetGroups did not return {arn}"))
                })?;
            let delay = self.deregistration_delay(arn).await?;
            settings.push(settings_of(group, arn, delay));
        }
        Ok(settings)
    }

    /// `deregistration_delay.timeout_seconds`, None when the target group does not report it
    /// (a Lambda target group has none).
    async fn deregistration_delay(&self, arn: &str) -> Result<Option<u32>> {
        let out = self
            .client
            .describe_target_group_attributes()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|e| classify("DescribeTargetGroupAttributes", e))?;
        Ok(out
            .attributes()
            .iter()
            .find(|a| a.key() == Some(DEREGISTRATION_DELAY))
            .and_then(|a| a.value())
            .and_then(|v| v.trim().parse().ok()))
    }
}

fn settings_of(group: &TargetGroup, arn: &str, delay: Option<u32>) -> TargetGroupSettings {
    let seconds = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok());
    TargetGroupSettings {
        name: group
            .target_group_name
            .clone()
            .unwrap_or_else(|| arn.to_string()),
        deregistration_delay_seconds: delay,
        health_check_interval_seconds: seconds(group.health_check_interval_seconds),
        healthy_threshold_count: seconds(group.healthy_threshold_count),
        health_check_timeout_seconds: seconds(group.health_check_timeout_seconds),
    }
}

#[cfg(test)]
#[path = "load_balancers_tests.rs"]
mod tests;
