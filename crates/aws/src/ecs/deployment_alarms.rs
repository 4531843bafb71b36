//! The stage's `alarms` in the service's deployment configuration: ECS watches them during the
//! rollout and, with `rollback`, puts the last completed deployment back when one goes into
//! ALARM (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentAlarms.html>,
//! <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html>).

use aws_sdk_ecs::types::{DeploymentAlarms, DeploymentConfiguration};

/// `config` (what [`super::deployment_configuration`] decided to send, None for nothing) with
/// the stage's `alarms` added to the ones the service already has (`current`).
///
/// UpdateService replaces a `deploymentConfiguration` member that is sent whole, so the
/// service's own alarm names are sent back with the stage's (once each, in order). ECS has one
/// `enable`/`rollback` pair for all of them: both on, as the stage asks. With no stage
/// alarms `config` is returned as it is, so the service's alarms stay exactly as they were.
pub fn with_stage_alarms(
    config: Option<DeploymentConfiguration>,
    current: Option<&DeploymentConfiguration>,
    stage_alarms: &[String],
) -> Option<DeploymentConfiguration> {
    if stage_alarms.is_empty() {
        return config;
    }
    let mut names: Vec<String> = current
        .and_then(|c| c.alarms.as_ref())
        .map(|a| a.alarm_names.clone())
        .unwrap_or_default();
    for name in stage_alarms {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    let alarms = DeploymentAlarms::builder()
        .set_alarm_names(Some(names))
        .enable(true)
        .rollback(true)
        .build()
        .ok()?;
    // Nothing else to change: only the alarms member is sent, the rest of the service's
    // configuration is kept by the merge.
    let mut config = config.unwrap_or_else(|| DeploymentConfiguration::builder().build());
    config.alarms = Some(alarms);
    Some(config)
}

#[cfg(test)]
#[path = "deployment_alarms_tests.rs"]
mod tests;
