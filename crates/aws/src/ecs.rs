//! ECS: the service's state, task definitions (described, re-registered with a render plan
//! applied), UpdateService, and migration tasks.

use aws_sdk_ecs::types::{Service, Tag, TaskDefinition, TaskDefinitionField};
use aws_sdk_ecs::Client;
use serde_json::{json, Value};
use stevedore_core::migration::{StoppedContainer, StoppedTask};
use stevedore_core::render::ContainerSummary;
use stevedore_core::{Error, Result};

use crate::error::{classify, code_and_message};

mod deployment_alarms;
mod registration;
mod revisions;
mod rollout;
mod rollout_settings;
mod service_deployments;
pub use aws_sdk_ecs::types::{
    DeploymentConfiguration, DeploymentLifecycleHook, DeploymentLifecycleHookStage,
    DeploymentStrategy,
};
pub use deployment_alarms::with_stage_alarms;
#[cfg(test)]
use registration::release_tags;
pub use rollout::{
    deployment_configuration, hooks_to_pass, rolls_back_failures, without_own_hook, LifecycleHook,
    RolloutPlan, TrafficShift,
};
use rollout::{has_blue_green_load_balancer, has_service_connect, has_test_listener_rule};
pub use rollout_settings::{service_settings, RolloutSpan};
pub use service_deployments::AlarmRollback;

/// A task definition as DescribeTaskDefinition returns it, tags included.
#[derive(Debug, Clone, PartialEq)]
pub struct DescribedTaskDefinition {
    pub definition: TaskDefinition,
    pub tags: Vec<Tag>,
}

impl DescribedTaskDefinition {
    /// A deregistered revision: ECS will not start a deployment of it, so it must be
    /// registered again (as a new revision) to be deployed.
    pub fn is_inactive(&self) -> bool {
        self.definition.status == Some(aws_sdk_ecs::types::TaskDefinitionStatus::Inactive)
    }
}

/// What Stevedore needs to know about a service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceState {
    pub arn: String,
    pub status: String,
    pub task_definition: String,
    pub deployments: Vec<DeploymentState>,
    /// None on a service that runs on a capacity-provider strategy.
    pub launch_type: Option<String>,
    /// The service's capacity-provider strategy in Step Functions' (PascalCase) shape, for RunTask.
    pub capacity_provider_strategy: Option<Value>,
    /// The Fargate platform version the service runs on (none on EC2).
    pub platform_version: Option<String>,
    /// The service's awsvpc network configuration in Step Functions' (PascalCase) shape, for RunTask.
    pub network_configuration: Option<Value>,
    /// ECS itself puts the previous revision back when a deployment fails (see
    /// [`rollout::rolls_back_failures`]).
    pub rolls_back_failures: bool,
    /// The deployment configuration as ECS reports it (strategy, hooks, circuit breaker…).
    pub deployment_configuration: Option<DeploymentConfiguration>,
    /// A load balancer with the alternate target group and listener rule blue/green needs.
    pub blue_green_load_balancer: bool,
    /// A load balancer whose `advancedConfiguration` has a test listener rule: the route
    /// Stevedore's smoke test reaches green by.
    pub test_listener_rule: bool,
    /// The primary deployment uses Service Connect (a way to shift traffic without a load
    /// balancer, but with no test listener for a smoke test).
    pub service_connect: bool,
    /// The service's desired count of tasks.
    pub desired_count: i32,
    /// The target groups its load balancers register tasks with (the rollout's health
    /// checks and deregistration delay).
    pub target_group_arns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentState {
    pub id: String,
    pub status: String,
    pub rollout_state: Option<String>,
    pub rollout_state_reason: Option<String>,
    pub task_definition: String,
    pub desired_count: i32,
    pub running_count: i32,
}

impl ServiceState {
    pub fn deployment(&self, id: &str) -> Option<&DeploymentState> {
        self.deployments.iter().find(|d| d.id == id)
    }
}

pub struct Ecs {
    client: Client,
}

impl Ecs {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub fn from_sdk(config: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(config))
    }

    /// The service, or ServiceNotFound when it is missing or no longer ACTIVE.
    pub async fn describe_service(&self, cluster: &str, service: &str) -> Result<ServiceState> {
        let out = self
            .client
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(|e| match code_and_message(&e).0.as_str() {
                "ClusterNotFoundException" => Error::ServiceNotFound(format!(
                    "ECS cluster `{cluster}` does not exist; check `cluster` of the stage"
                )),
                _ => classify("DescribeServices", e),
            })?;
        let found = out.services().iter().find(|s| {
            s.service_name.as_deref() == Some(service) || s.service_arn.as_deref() == Some(service)
        });
        let Some(svc) = found else {
            return Err(Error::ServiceNotFound(format!(
                "ECS service `{service}` not found in cluster `{cluster}`; check `service` of the stage"
            )));
        };
        let state = service_state(svc);
        if state.status != "ACTIVE" {
            return Err(Error::ServiceNotFound(format!(
                "ECS service `{service}` in cluster `{cluster}` is {}; deploy to an ACTIVE service",
                state.status
            )));
        }
        Ok(state)
    }

    /// The task definition and its tags (carried over to the revisions Stevedore registers).
    pub async fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> Result<DescribedTaskDefinition> {
        let out = self
            .client
            .describe_task_definition()
            .task_definition(task_definition)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(|e| classify("DescribeTaskDefinition", e))?;
        let tags = out.tags.unwrap_or_default();
        let definition = out.task_definition.ok_or_else(|| {
            Error::AwsError(format!(
                "DescribeTaskDefinition returned nothing for {task_definition}"
            ))
        })?;
        Ok(DescribedTaskDefinition { definition, tags })
    }

    /// Points the service at `task_definition` and returns the id of the deployment ECS
    /// started for it. The deployment configuration is replaced when one is given (see
    /// [`deployment_configuration`]), otherwise it stays as it is.
    pub async fn update_service(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
        deployment_configuration: Option<DeploymentConfiguration>,
    ) -> Result<String> {
        let out = self
            .client
            .update_service()
            .cluster(cluster)
            .service(service)
            .task_definition(task_definition)
            .set_deployment_configuration(deployment_configuration)
            .send()
            .await
            .map_err(|e| match code_and_message(&e).0.as_str() {
                "ServiceNotFoundException" | "ServiceNotActiveException" => {
                    Error::ServiceNotFound(format!(
                        "ECS service `{service}` in cluster `{cluster}` is missing or not active"
                    ))
                }
                _ => classify("UpdateService", e),
            })?;
        let svc = out
            .service
            .ok_or_else(|| Error::AwsError("UpdateService returned no service".into()))?;
        service_state(&svc)
            .deployments
            .into_iter()
            .find(|d| d.status == "PRIMARY" && d.task_definition == task_definition)
            .map(|d| d.id)
            .ok_or_else(|| {
                Error::DeploymentFailed(format!(
                    "UpdateService on `{service}` started no deployment of {task_definition}"
                ))
            })
    }

    /// A task's state in the shape core decides on; None when ECS no longer knows it.
    pub async fn describe_task(
        &self,
        cluster: &str,
        task_arn: &str,
    ) -> Result<Option<StoppedTask>> {
        let out = self
            .client
            .describe_tasks()
            .cluster(cluster)
            .tasks(task_arn)
            .send()
            .await
            .map_err(|e| classify("DescribeTasks", e))?;
        Ok(out.tasks().first().map(|task| StoppedTask {
            last_status: task.last_status.clone().unwrap_or_default(),
            stop_code: task.stop_code.as_ref().map(|c| c.as_str().to_string()),
            stopped_reason: task.stopped_reason.clone(),
            containers: task
                .containers()
                .iter()
                .map(|c| StoppedContainer {
                    name: c.name.clone().unwrap_or_default(),
                    exit_code: c.exit_code,
                    reason: c.reason.clone(),
                })
                .collect(),
        }))
    }

    /// Tasks (running or stopped) of the task definition's family that carry `group`.
    pub async fn tasks_in_group(
        &self,
        cluster: &str,
        task_definition_arn: &str,
        group: &str,
    ) -> Result<Vec<String>> {
        let family = task_definition_family(task_definition_arn);
        let mut candidates = Vec::new();
        for status in [
            aws_sdk_ecs::types::DesiredStatus::Running,
            aws_sdk_ecs::types::DesiredStatus::Stopped,
        ] {
            candidates.extend(self.task_arns(cluster, Some(family), status).await?);
        }
        Ok(self
            .describe_tasks_in(cluster, &candidates)
            .await?
            .into_iter()
            .filter(|t| t.group.as_deref() == Some(group))
            .filter_map(|t| t.task_arn)
            .collect())
    }

    pub async fn stop_task(&self, cluster: &str, task_arn: &str, reason: &str) -> Result<()> {
        self.client
            .stop_task()
            .cluster(cluster)
            .task(task_arn)
            .reason(reason)
            .send()
            .await
            .map_err(|e| classify("StopTask", e))?;
        Ok(())
    }
}

/// `family` of `arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>` (or of `family:revision`).
pub fn task_definition_family(task_definition: &str) -> &str {
    let name = task_definition
        .rsplit('/')
        .next()
        .unwrap_or(task_definition);
    name.split(':').next().unwrap_or(name)
}

/// Container names and images, for core's render plan.
pub fn container_summaries(td: &TaskDefinition) -> Vec<ContainerSummary> {
    td.container_definitions()
        .iter()
        .map(|c| ContainerSummary {
            name: c.name.clone().unwrap_or_default(),
            image: c.image.clone().unwrap_or_default(),
        })
        .collect()
}

/// `[{"CapacityProvider", "Weight", "Base"}]` of a service on capacity providers, else None.
fn capacity_provider_strategy(svc: &Service) -> Option<Value> {
    let items = svc.capacity_provider_strategy();
    (!items.is_empty()).then(|| {
        Value::Array(
            items
                .iter()
                .map(|item| {
                    json!({"CapacityProvider": item.capacity_provider, "Weight": item.weight, "Base": item.base})
                })
                .collect(),
        )
    })
}

fn service_state(svc: &Service) -> ServiceState {
    let network_configuration = svc
        .network_configuration
        .as_ref()
        .and_then(|n| n.awsvpc_configuration.as_ref())
        .map(|vpc| {
            json!({"AwsvpcConfiguration": {
                "Subnets": vpc.subnets,
                "SecurityGroups": vpc.security_groups.clone().unwrap_or_default(),
                "AssignPublicIp": vpc.assign_public_ip.as_ref().map(|a| a.as_str()).unwrap_or("DISABLED"),
            }})
        });
    let config = svc.deployment_configuration.as_ref();
    ServiceState {
        arn: svc.service_arn.clone().unwrap_or_default(),
        status: svc.status.clone().unwrap_or_default(),
        task_definition: svc.task_definition.clone().unwrap_or_default(),
        deployments: svc
            .deployments()
            .iter()
            .map(|d| DeploymentState {
                id: d.id.clone().unwrap_or_default(),
                status: d.status.clone().unwrap_or_default(),
                rollout_state: d.rollout_state.as_ref().map(|r| r.as_str().to_string()),
                rollout_state_reason: d.rollout_state_reason.clone(),
                task_definition: d.task_definition.clone().unwrap_or_default(),
                desired_count: d.desired_count,
                running_count: d.running_count,
            })
            .collect(),
        launch_type: svc.launch_type.as_ref().map(|l| l.as_str().to_string()),
        capacity_provider_strategy: capacity_provider_strategy(svc),
        platform_version: svc.platform_version.clone(),
        network_configuration,
        rolls_back_failures: rolls_back_failures(config),
        deployment_configuration: config.cloned(),
        blue_green_load_balancer: has_blue_green_load_balancer(svc),
        test_listener_rule: has_test_listener_rule(svc),
        service_connect: has_service_connect(svc),
        desired_count: svc.desired_count,
        target_group_arns: target_group_arns(svc),
    }
}

/// Each load balancer's target group, then blue/green's alternate ones, once each.
fn target_group_arns(svc: &Service) -> Vec<String> {
    let mut arns: Vec<String> = Vec::new();
    let primary = svc
        .load_balancers()
        .iter()
        .filter_map(|lb| lb.target_group_arn.clone());
    let alternate = svc.load_balancers().iter().filter_map(|lb| {
        lb.advanced_configuration
            .as_ref()
            .and_then(|a| a.alternate_target_group_arn.clone())
    });
    for arn in primary.chain(alternate) {
        if !arns.contains(&arn) {
            arns.push(arn);
        }
    }
    arns
}

#[cfg(test)]
mod tests;
