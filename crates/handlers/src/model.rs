//! The JSON shapes passed between the state machine and the functions.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What render hands to the rest of the state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderOutput {
    pub task_definition_arn: String,
    pub previous_task_definition_arn: String,
    pub cluster: String,
    pub service: String,
    pub deploy_timeout_seconds: u64,
    pub migration: Option<MigrationPlan>,
    /// The stage wants a person's approval before the migration and rollout.
    #[serde(default)]
    pub approval_required: bool,
}

/// The RunTask parameters of the release's migration, in the shape the state machine passes on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationPlan {
    pub container: String,
    pub command: Vec<String>,
    pub timeout_seconds: u64,
    pub launch_type: String,
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
