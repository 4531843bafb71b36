//! What the service's own state says about our deployment, for when no event tells us.

use stevedore_aws::ecs::ServiceState;
use stevedore_core::ecs_event::classify_failed_deployment;
use stevedore_core::Error;

#[derive(Debug, PartialEq)]
pub enum Verdict {
    Completed,
    Failed(Error),
    InProgress(String),
}

pub fn verdict(service: &ServiceState, deployment_id: &str, task_definition: &str) -> Verdict {
    match service.deployment(deployment_id) {
        // "The rolloutState of a service is only returned for services that use the rolling
        // update (ECS) deployment type that aren't behind a Classic Load Balancer."
        // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html
        // Without it, the deployment is done when it alone is left and runs all its tasks.
        Some(d) if d.rollout_state.is_none() => {
            let alone = service.deployments.len() == 1;
            if d.status == "PRIMARY" && alone && d.running_count >= d.desired_count {
                Verdict::Completed
            } else {
                Verdict::InProgress(format!(
                    "deployment {deployment_id} is {} with {} of {} tasks running{} (ECS reports no rollout state for this service)",
                    d.status,
                    d.running_count,
                    d.desired_count,
                    if alone { "" } else { " beside older deployments" }
                ))
            }
        }
        Some(d) => match d.rollout_state.as_deref() {
            Some("COMPLETED") => Verdict::Completed,
            Some("FAILED") => Verdict::Failed(classify_failed_deployment(
                service.rolls_back_failures,
                d.rollout_state_reason.as_deref().unwrap_or("rollout failed"),
            )),
            other => Verdict::InProgress(format!(
                "deployment {deployment_id} is {} ({})",
                other.unwrap_or("IN_PROGRESS"),
                d.rollout_state_reason.as_deref().unwrap_or("no reason given")
            )),
        },
        // ECS drops a deployment once another replaces it.
        None if service.task_definition == task_definition => Verdict::Completed,
        None if service.rolls_back_failures => Verdict::Failed(Error::DeploymentRolledBack(format!(
            "deployment {deployment_id} is gone and the service runs {} again: ECS rolled it back",
            service.task_definition
        ))),
        None => Verdict::Failed(Error::DeploymentReplaced(format!(
            "deployment {deployment_id} is gone and the service now runs {}: someone else updated the service",
            service.task_definition
        ))),
    }
}

/// Services and deployments as DescribeServices reports them, for the tests of what is
/// decided from them.
#[cfg(test)]
pub(crate) mod fixtures {
    use stevedore_aws::ecs::{DeploymentState, ServiceState};

    pub(crate) fn service(
        deployments: Vec<DeploymentState>,
        task_definition: &str,
        rollback: bool,
    ) -> ServiceState {
        ServiceState {
            arn: "arn:aws:ecs:us-east-1:1:service/demo/web".into(),
            status: "ACTIVE".into(),
            task_definition: task_definition.into(),
            deployments,
            launch_type: Some("FARGATE".into()),
            capacity_provider_strategy: None,
            platform_version: None,
            network_configuration: None,
            rolls_back_failures: rollback,
            deployment_configuration: None,
            blue_green_load_balancer: false,
        }
    }

    pub(crate) fn deployment(id: &str, rollout: &str, td: &str) -> DeploymentState {
        DeploymentState {
            id: id.into(),
            status: "PRIMARY".into(),
            rollout_state: Some(rollout.into()),
            rollout_state_reason: Some("tasks failed to start".into()),
            task_definition: td.into(),
            desired_count: 2,
            running_count: 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{deployment, service};
    use super::*;

    #[test]
    fn rollout_states_decide() {
        let done = service(vec![deployment("d1", "COMPLETED", "td:2")], "td:2", true);
        assert_eq!(verdict(&done, "d1", "td:2"), Verdict::Completed);
        let running = service(vec![deployment("d1", "IN_PROGRESS", "td:2")], "td:2", true);
        assert!(matches!(
            verdict(&running, "d1", "td:2"),
            Verdict::InProgress(_)
        ));
        let failed = service(vec![deployment("d1", "FAILED", "td:2")], "td:1", true);
        match verdict(&failed, "d1", "td:2") {
            Verdict::Failed(e) => assert_eq!(e.error_type(), "DeploymentRolledBack"),
            other => panic!("expected a rollback, got {other:?}"),
        }
        let failed_no_breaker = service(vec![deployment("d1", "FAILED", "td:2")], "td:2", false);
        match verdict(&failed_no_breaker, "d1", "td:2") {
            Verdict::Failed(e) => assert_eq!(e.error_type(), "DeploymentFailed"),
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn without_a_rollout_state_the_counts_decide() {
        // A service behind a Classic Load Balancer: ECS reports no rolloutState.
        let mut steady = deployment("d1", "unused", "td:2");
        steady.rollout_state = None;
        steady.rollout_state_reason = None;
        let done = service(vec![steady.clone()], "td:2", false);
        assert_eq!(verdict(&done, "d1", "td:2"), Verdict::Completed);

        let mut starting = steady.clone();
        starting.running_count = 1;
        assert!(matches!(
            verdict(&service(vec![starting], "td:2", false), "d1", "td:2"),
            Verdict::InProgress(_)
        ));

        let mut old = deployment("d0", "unused", "td:1");
        old.status = "ACTIVE".into();
        old.rollout_state = None;
        let draining = service(vec![steady, old], "td:2", false);
        match verdict(&draining, "d1", "td:2") {
            Verdict::InProgress(state) => assert!(state.contains("older deployments"), "{state}"),
            other => panic!("expected in progress, got {other:?}"),
        }
    }

    #[test]
    fn a_vanished_deployment_is_judged_by_what_the_service_runs() {
        assert_eq!(
            verdict(&service(vec![], "td:2", false), "d1", "td:2"),
            Verdict::Completed
        );
        match verdict(&service(vec![], "td:1", true), "d1", "td:2") {
            Verdict::Failed(e) => assert_eq!(e.error_type(), "DeploymentRolledBack"),
            other => panic!("expected a rollback, got {other:?}"),
        }
        match verdict(&service(vec![], "td:9", false), "d1", "td:2") {
            Verdict::Failed(e) => assert_eq!(e.error_type(), "DeploymentReplaced"),
            other => panic!("expected a replacement, got {other:?}"),
        }
    }
}
