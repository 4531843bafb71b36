//! After a step failed once UpdateService may have been sent (the start or the wait step
//! crashed, or recording the success failed), the release must not be recorded FAILED while
//! its deployment runs: ECS is asked what is actually rolling out, and the release waits for
//! it, restores the previous task definition, or ends with what the service really runs.

use stevedore_aws::ecs::ServiceState;

use crate::verdict::{verdict, Verdict};

/// What the service says about the release's deployment.
#[derive(Debug, PartialEq)]
pub enum Reconciled {
    /// Our task definition reached the service as `deployment_id`; `verdict` says how far.
    Live {
        deployment_id: String,
        verdict: Verdict,
    },
    /// Our task definition never became a deployment: nothing of the release is live.
    NotStarted,
}

/// Finds the release's deployment: by its recorded id when the start step got as far as
/// recording it, else the newest deployment of the release's task definition.
pub fn reconcile(
    service: &ServiceState,
    recorded_deployment: Option<&str>,
    task_definition: &str,
) -> Reconciled {
    let found = recorded_deployment.map(str::to_string).or_else(|| {
        // ECS lists the PRIMARY deployment first.
        service
            .deployments
            .iter()
            .find(|d| d.task_definition == task_definition)
            .map(|d| d.id.clone())
    });
    match found {
        Some(deployment_id) => Reconciled::Live {
            verdict: verdict(service, &deployment_id, task_definition),
            deployment_id,
        },
        // Its deployment is gone from the list but the service runs it: it completed.
        None if service.task_definition == task_definition => Reconciled::Live {
            deployment_id: String::new(),
            verdict: Verdict::Completed,
        },
        None => Reconciled::NotStarted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::fixtures::deployment;

    fn service(
        deployments: Vec<stevedore_aws::ecs::DeploymentState>,
        task_definition: &str,
    ) -> ServiceState {
        crate::verdict::fixtures::service(deployments, task_definition, true)
    }

    #[test]
    fn an_unrecorded_deployment_is_found_by_its_task_definition() {
        let running = service(
            vec![
                deployment("d2", "IN_PROGRESS", "td:2"),
                deployment("d1", "COMPLETED", "td:1"),
            ],
            "td:2",
        );
        match reconcile(&running, None, "td:2") {
            Reconciled::Live {
                deployment_id,
                verdict: Verdict::InProgress(_),
            } => assert_eq!(deployment_id, "d2"),
            other => panic!("expected a live deployment in progress, got {other:?}"),
        }
        let done = service(vec![deployment("d2", "COMPLETED", "td:2")], "td:2");
        assert_eq!(
            reconcile(&done, Some("d2"), "td:2"),
            Reconciled::Live {
                deployment_id: "d2".into(),
                verdict: Verdict::Completed
            }
        );
    }

    #[test]
    fn a_service_that_never_got_the_release_has_nothing_live() {
        let untouched = service(vec![deployment("d1", "COMPLETED", "td:1")], "td:1");
        assert_eq!(reconcile(&untouched, None, "td:2"), Reconciled::NotStarted);
    }

    #[test]
    fn a_rolled_back_deployment_is_reported_as_such() {
        let rolled_back = service(vec![deployment("d1", "COMPLETED", "td:1")], "td:1");
        match reconcile(&rolled_back, Some("d2"), "td:2") {
            Reconciled::Live {
                verdict: Verdict::Failed(error),
                ..
            } => assert_eq!(error.error_type(), "DeploymentRolledBack"),
            other => panic!("expected a rollback, got {other:?}"),
        }
    }
}
