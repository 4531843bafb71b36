//! The JSON shapes passed between the state machine and the functions.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stevedore_core::config::{
    CanarySettings, LinearSettings, RolloutOrder, ScheduleRef, SmokeTest, Strategy,
};

/// What render hands to the rest of the state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderOutput {
    pub task_definition_arn: String,
    pub previous_task_definition_arn: String,
    pub cluster: String,
    pub service: String,
    pub deploy_timeout_seconds: u64,
    pub migration: Option<MigrationPlan>,
    /// The release's migration as a CodeBuild build (runner `codebuild`), instead of `migration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_migration: Option<BuildMigrationPlan>,
    /// The stage wants a person's approval before the migration and rollout.
    #[serde(default)]
    pub approval_required: bool,
    /// How long the approval gate waits for a decision (the stage's `approval_timeout_seconds`).
    #[serde(default = "default_approval_timeout")]
    pub approval_timeout_seconds: u64,
    /// How the service rolls the release out.
    #[serde(default)]
    pub rollout: RolloutSpec,
    /// A multi-service stage's services, in the listed order (the fields above are the one
    /// whose revision runs the migration); empty for a stage of one service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceRender>,
    #[serde(default, skip_serializing_if = "is_parallel")]
    pub rollout_order: RolloutOrder,
    /// Schedules pointed at the new revisions once every service completed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<ScheduleRender>,
}

fn is_parallel(order: &RolloutOrder) -> bool {
    *order == RolloutOrder::Parallel
}

/// One service of a multi-service release: its new and previous revisions and its rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceRender {
    pub cluster: String,
    pub service: String,
    pub task_definition_arn: String,
    pub previous_task_definition_arn: String,
    #[serde(default)]
    pub rollout: RolloutSpec,
}

/// A schedule or rule whose ECS target moves to `task_definition_arn` after the services.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRender {
    pub target: ScheduleRef,
    pub task_definition_arn: String,
    pub previous_task_definition_arn: String,
}

fn default_approval_timeout() -> u64 {
    stevedore_core::config::DEFAULT_APPROVAL_TIMEOUT_SECONDS
}

/// The stage's rollout settings, as deploy applies them to the service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RolloutSpec {
    pub strategy: Strategy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoke_test: Option<SmokeTest>,
    /// `strategy: linear`: the stage's steps (ECS's defaults when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear: Option<LinearSettings>,
    /// `strategy: canary`: the stage's canary (ECS's defaults when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanarySettings>,
    /// CloudWatch alarms ECS watches during the rollout (the stage's or the service's `alarms`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<String>,
}

/// The StartBuild parameters of a CodeBuild migration, as the state machine passes them on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildMigrationPlan {
    pub project: String,
    /// The release's image, by digest (the build's STEVEDORE_IMAGE_URI).
    pub image_uri: String,
    pub timeout_seconds: u64,
}

/// The RunTask parameters of the release's migration, in the shape the state machine passes on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationPlan {
    pub container: String,
    pub command: Vec<String>,
    pub timeout_seconds: u64,
    /// Where the task runs, as the service does: `launch_type` or `capacity_provider_strategy`
    /// (RunTask takes one or the other), each absent when not used; the state machine picks
    /// the RunTask state that passes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    /// `[{"CapacityProvider", "Weight", "Base"}]`, PascalCase as Step Functions wants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_provider_strategy: Option<Value>,
    /// The service's Fargate platform version (none on EC2, where RunTask takes none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    /// `{"AwsvpcConfiguration": {...}}`, PascalCase as Step Functions' ECS integration wants.
    pub network_configuration: Value,
    /// The task's group, so a timed-out or failed run can be found again (Step Functions
    /// sets `startedBy` itself).
    pub group: String,
}

/// A caught state machine error (`ResultPath: $.error`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct StateError {
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}
