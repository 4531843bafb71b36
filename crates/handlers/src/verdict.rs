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

/// Another deployment started on a service while a release waits for `waiting_for`: what
/// that means for the release, or None to keep waiting. Events arrive in any order, late or
/// twice, so the service's own state decides, not the order: ECS marks a deployment it
/// fails FAILED before it starts the rollback deployment, whose IN_PROGRESS event says it is
/// a rollback in its `reason` (documented for the circuit breaker, "rolling back to
/// deploymentId ...",
/// <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_deployment_events.html>).
pub fn foreign_deployment(
    service: &ServiceState,
    waiting_for: &str,
    reason: Option<&str>,
) -> Option<Verdict> {
    let says_rollback = reason.is_some_and(|r| {
        let r = r.to_ascii_lowercase();
        r.contains("rolling back") || r.contains("rollback") || r.contains("rolled back")
    });
    let rolled_back = || {
        Verdict::Failed(Error::DeploymentRolledBack(format!(
            "ECS rolled the service back: deployment {waiting_for} was rolled back ({})",
            reason.unwrap_or("no reason given")
        )))
    };
    let replaced = || {
        Verdict::Failed(Error::DeploymentReplaced(format!(
            "another deployment started on the service while this release's deployment {waiting_for} was rolling out: someone else updated the service mid-deploy; deploy again once they are done"
        )))
    };
    match service.deployment(waiting_for) {
        Some(d) => match d.rollout_state.as_deref() {
            Some("FAILED") => Some(Verdict::Failed(classify_failed_deployment(
                service.rolls_back_failures,
                d.rollout_state_reason
                    .as_deref()
                    .unwrap_or("rollout failed"),
            ))),
            Some("COMPLETED") => Some(Verdict::Completed),
            // Ours still leads: the event is older than ours, or ECS has not failed it yet.
            _ if d.status == "PRIMARY" => None,
            _ if says_rollback && service.rolls_back_failures => Some(rolled_back()),
            _ => Some(replaced()),
        },
        None if says_rollback && service.rolls_back_failures => Some(rolled_back()),
        None => Some(replaced()),
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
            test_listener_rule: false,
            service_connect: false,
            desired_count: 0,
            target_group_arns: Vec::new(),
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

    fn error_of(verdict: Option<Verdict>) -> &'static str {
        match verdict {
            Some(Verdict::Failed(e)) => e.error_type(),
            Some(Verdict::Completed) => "Completed",
            Some(Verdict::InProgress(_)) => "InProgress",
            None => "wait",
        }
    }

    #[test]
    fn a_rollback_deployment_ends_the_release_rolled_back_in_any_order() {
        let rollback = Some("Service deployment rolling back to deploymentId d1: hook FAILED");
        let mut green = deployment("d2", "FAILED", "td:2");
        green.status = "ACTIVE".into();
        let blue = deployment("d1", "IN_PROGRESS", "td:1");
        // ECS failed ours first (FAILED event late, lost or not yet read).
        let failed = service(vec![blue.clone(), green.clone()], "td:1", true);
        assert_eq!(
            error_of(foreign_deployment(&failed, "d2", rollback)),
            "DeploymentRolledBack"
        );
        assert_eq!(
            error_of(foreign_deployment(&failed, "d2", None)),
            "DeploymentRolledBack"
        );
        // The rollback finished before its IN_PROGRESS event was read: ours is gone.
        let done = service(vec![deployment("d1", "COMPLETED", "td:1")], "td:1", true);
        assert_eq!(
            error_of(foreign_deployment(&done, "d2", rollback)),
            "DeploymentRolledBack"
        );
        // DescribeServices does not show ours failed yet, but the rollback has begun.
        green.rollout_state = Some("IN_PROGRESS".into());
        let early = service(vec![blue, green], "td:1", true);
        assert_eq!(
            error_of(foreign_deployment(&early, "d2", rollback)),
            "DeploymentRolledBack"
        );
    }

    #[test]
    fn someone_elses_deployment_replaces_ours_and_a_stale_event_waits() {
        let mut ours = deployment("d2", "IN_PROGRESS", "td:2");
        ours.status = "ACTIVE".into();
        let theirs = deployment("d3", "IN_PROGRESS", "td:9");
        let replaced = service(vec![theirs, ours.clone()], "td:9", true);
        assert_eq!(
            error_of(foreign_deployment(
                &replaced,
                "d2",
                Some("ECS deployment d3 in progress.")
            )),
            "DeploymentReplaced"
        );
        assert_eq!(
            error_of(foreign_deployment(
                &service(vec![], "td:9", false),
                "d2",
                Some("rolling back")
            )),
            "DeploymentReplaced"
        );
        ours.status = "PRIMARY".into();
        let leading = service(
            vec![ours, deployment("d1", "COMPLETED", "td:1")],
            "td:2",
            true,
        );
        assert_eq!(
            error_of(foreign_deployment(&leading, "d2", Some("x"))),
            "wait"
        );
        let completed = service(vec![deployment("d2", "COMPLETED", "td:2")], "td:2", true);
        assert_eq!(
            error_of(foreign_deployment(&completed, "d2", None)),
            "Completed"
        );
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
