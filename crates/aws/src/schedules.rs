// LOCAL STUB (not committed): replaced by the helper's adapter.
use stevedore_core::{Error, Result};
pub enum ScheduleTarget<'a> {
    Schedule { name: &'a str, group: &'a str },
    Rule { name: &'a str, event_bus: &'a str },
}
pub struct PointedTarget {
    pub target_id: Option<String>,
    pub previous_task_definition_arn: String,
}
pub struct Schedules;
impl Schedules {
    pub fn from_sdk(_config: &aws_config::SdkConfig) -> Self {
        Schedules
    }
    pub async fn ecs_task_definitions(&self, _at: ScheduleTarget<'_>) -> Result<Vec<String>> {
        Err(Error::AwsError("stub".into()))
    }
    pub async fn point(&self, _at: ScheduleTarget<'_>, _arn: &str) -> Result<Vec<PointedTarget>> {
        Err(Error::AwsError("stub".into()))
    }
}
