//! A rollback ECS made because of deployment alarms, named by those alarms: the deployment
//! state change event does not say which alarm fired, the service deployment does
//! (`alarms.triggeredAlarmNames`,
//! <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentAlarms.html>).

use stevedore_aws::ecs::AlarmRollback;
use stevedore_aws::Ecs;
use stevedore_core::Error;

use crate::verdict::Verdict;

/// `verdict` with the triggering alarms in its reason when it is a rollback that alarms
/// caused; any other verdict, or a failed lookup (logged), keeps the event's own reason.
pub(crate) async fn with_alarm_names(
    ecs: &Ecs,
    cluster: &str,
    service: &str,
    verdict: Verdict,
) -> Verdict {
    let Verdict::Failed(Error::DeploymentRolledBack(reason)) = &verdict else {
        return verdict;
    };
    match ecs.alarm_rollback(cluster, service).await {
        Ok(Some(rollback)) => {
            Verdict::Failed(Error::DeploymentRolledBack(alarm_reason(&rollback, reason)))
        }
        Ok(None) => verdict,
        Err(e) => {
            tracing::warn!(error = %e, %cluster, %service, "could not read which alarms rolled the service back; keeping ECS's event reason");
            verdict
        }
    }
}

/// "ECS rolled the service back: alarm `x` went into ALARM during the rollout (…)".
fn alarm_reason(rollback: &AlarmRollback, event_reason: &str) -> String {
    let names = rollback
        .triggered_alarms
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let noun = if rollback.triggered_alarms.len() == 1 {
        "alarm"
    } else {
        "alarms"
    };
    let detail = rollback.rollback_reason.as_deref().unwrap_or(event_reason);
    format!(
        "ECS rolled the service back: {noun} {names} went into ALARM during the rollout ({detail})"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollback(names: &[&str], reason: Option<&str>) -> AlarmRollback {
        AlarmRollback {
            service_deployment_arn: "arn:sd".into(),
            triggered_alarms: names.iter().map(|n| n.to_string()).collect(),
            rollback_reason: reason.map(str::to_string),
        }
    }

    #[test]
    fn names_each_triggered_alarm_and_ecs_reason() {
        assert_eq!(
            alarm_reason(&rollback(&["web-5xx"], Some("alarm in ALARM")), "event says"),
            "ECS rolled the service back: alarm `web-5xx` went into ALARM during the rollout (alarm in ALARM)"
        );
        assert_eq!(
            alarm_reason(&rollback(&["a", "b"], None), "event says"),
            "ECS rolled the service back: alarms `a`, `b` went into ALARM during the rollout (event says)"
        );
    }
}
