//! EventBridge Scheduler schedules and EventBridge rules whose ECS target runs one of an app's
//! task definition families: what they run, and pointing them at another revision.
//!
//! Both APIs replace what they are sent whole, so every field Stevedore does not mean to change
//! is read first and sent back as it was:
//! - UpdateSchedule: "EventBridge Scheduler uses all values, including empty values, specified
//!   in the request and overrides the existing schedule ... if you do not set an optional field
//!   in your request, that field will be set to its system-default value after the update"
//!   (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_UpdateSchedule.html), so
//!   the schedule from GetSchedule goes back with only its ECS task definition changed;
//! - PutTargets "adds the specified targets to the specified rule, or updates the targets if
//!   they are already associated with the rule": a target with the same Id is replaced whole,
//!   and a failed entry is reported in FailedEntries, not as an error of the call
//!   (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html).

use aws_sdk_eventbridge::types::Target as RuleTarget;
use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
use stevedore_core::{Error, Result};

use crate::ecs::task_definition_family;
use crate::error::{classify, classify_code, code_and_message};

/// PutTargets takes at most 10 targets per request (a rule has at most 5).
const PUT_TARGETS_BATCH: usize = 10;

/// Where a stage's scheduled ECS task is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleTarget<'a> {
    /// An EventBridge Scheduler schedule (its one target).
    Schedule { name: &'a str, group: &'a str },
    /// An EventBridge rule (every ECS target of it).
    Rule { name: &'a str, event_bus: &'a str },
}

impl ScheduleTarget<'_> {
    /// Names the schedule or rule the way a person finds it in the console.
    pub fn describe(&self) -> String {
        match self {
            ScheduleTarget::Schedule { name, group } => {
                format!("EventBridge Scheduler schedule `{name}` in group `{group}`")
            }
            ScheduleTarget::Rule { name, event_bus } => {
                format!("EventBridge rule `{name}` on event bus `{event_bus}`")
            }
        }
    }
}

/// One ECS target that `point` changed, and the task definition it ran before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointedTarget {
    /// The rule target's Id (a schedule has one target, without an Id).
    pub target_id: Option<String>,
    pub previous_task_definition_arn: String,
}

/// Whether two task definition references (ARN, `family:revision` or `family`) are of one family.
pub fn same_family(a: &str, b: &str) -> bool {
    task_definition_family(a) == task_definition_family(b)
}

pub struct Schedules {
    scheduler: aws_sdk_scheduler::Client,
    events: aws_sdk_eventbridge::Client,
}

impl Schedules {
    pub fn new(scheduler: aws_sdk_scheduler::Client, events: aws_sdk_eventbridge::Client) -> Self {
        Self { scheduler, events }
    }

    pub fn from_sdk(config: &aws_config::SdkConfig) -> Self {
        Self::new(
            aws_sdk_scheduler::Client::new(config),
            aws_sdk_eventbridge::Client::new(config),
        )
    }

    /// The task definition (as stored: ARN, `family:revision` or `family`) of every ECS target
    /// of the schedule or rule.
    pub async fn ecs_task_definitions(&self, at: ScheduleTarget<'_>) -> Result<Vec<String>> {
        match at {
            ScheduleTarget::Schedule { name, group } => {
                let schedule = self.get_schedule(at, name, group).await?;
                Ok(schedule
                    .target
                    .and_then(|t| t.ecs_parameters)
                    .map(|ecs| ecs.task_definition_arn)
                    .into_iter()
                    .collect())
            }
            ScheduleTarget::Rule { name, event_bus } => Ok(self
                .rule_targets(at, name, event_bus)
                .await?
                .into_iter()
                .filter_map(|t| t.ecs_parameters.map(|ecs| ecs.task_definition_arn))
                .collect()),
        }
    }

    /// Points every ECS target whose task definition is of `task_definition_arn`'s family at
    /// it, keeping every other field of the target (and of the schedule). Returns what each
    /// target ran before; a target already running it is left alone (and listed). No ECS
    /// target of that family is `ScheduleNotFound`.
    pub async fn point(
        &self,
        at: ScheduleTarget<'_>,
        task_definition_arn: &str,
    ) -> Result<Vec<PointedTarget>> {
        match at {
            ScheduleTarget::Schedule { name, group } => {
                self.point_schedule(at, name, group, task_definition_arn)
                    .await
            }
            ScheduleTarget::Rule { name, event_bus } => {
                self.point_rule(at, name, event_bus, task_definition_arn)
                    .await
            }
        }
    }

    async fn get_schedule(
        &self,
        at: ScheduleTarget<'_>,
        name: &str,
        group: &str,
    ) -> Result<GetScheduleOutput> {
        self.scheduler
            .get_schedule()
            .name(name)
            .group_name(group)
            .send()
            .await
            .map_err(|e| not_found_or(at, "GetSchedule", e))
    }

    async fn point_schedule(
        &self,
        at: ScheduleTarget<'_>,
        name: &str,
        group: &str,
        task_definition_arn: &str,
    ) -> Result<Vec<PointedTarget>> {
        let schedule = self.get_schedule(at, name, group).await?;
        let mut target = schedule
            .target
            .clone()
            .filter(|t| {
                t.ecs_parameters
                    .as_ref()
                    .is_some_and(|ecs| same_family(&ecs.task_definition_arn, task_definition_arn))
            })
            .ok_or_else(|| no_target_of_family(at, task_definition_arn))?;
        let Some(ecs) = target.ecs_parameters.as_mut() else {
            return Err(no_target_of_family(at, task_definition_arn));
        };
        let previous = std::mem::replace(
            &mut ecs.task_definition_arn,
            task_definition_arn.to_string(),
        );
        let pointed = vec![PointedTarget {
            target_id: None,
            previous_task_definition_arn: previous.clone(),
        }];
        if previous == task_definition_arn {
            return Ok(pointed);
        }
        // Every field GetSchedule returned goes back (UpdateSchedule resets what is left out);
        // only the ECS target's task definition differs.
        self.scheduler
            .update_schedule()
            .name(name)
            .group_name(schedule.group_name.as_deref().unwrap_or(group))
            .set_schedule_expression(schedule.schedule_expression)
            .set_schedule_expression_timezone(schedule.schedule_expression_timezone)
            // A start date already past means what no start date means (the schedule runs
            // from now on); AWS refuses a past StartDate on CreateSchedule and documents
            // nothing for UpdateSchedule, so a past one is not sent back.
            .set_start_date(schedule.start_date.filter(|start| !is_past(start)))
            .set_end_date(schedule.end_date)
            .set_description(schedule.description)
            .set_state(schedule.state)
            .set_kms_key_arn(schedule.kms_key_arn)
            .set_flexible_time_window(schedule.flexible_time_window)
            .set_action_after_completion(schedule.action_after_completion)
            .target(target)
            .send()
            .await
            .map_err(|e| not_found_or(at, "UpdateSchedule", e))?;
        Ok(pointed)
    }

    /// Every target of the rule (ListTargetsByRule, all pages).
    async fn rule_targets(
        &self,
        at: ScheduleTarget<'_>,
        name: &str,
        event_bus: &str,
    ) -> Result<Vec<RuleTarget>> {
        let mut targets = Vec::new();
        let mut next_token = None;
        loop {
            let out = self
                .events
                .list_targets_by_rule()
                .rule(name)
                .event_bus_name(event_bus)
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|e| not_found_or(at, "ListTargetsByRule", e))?;
            targets.extend(out.targets.unwrap_or_default());
            next_token = out.next_token.filter(|t| !t.is_empty());
            if next_token.is_none() {
                return Ok(targets);
            }
        }
    }

    async fn point_rule(
        &self,
        at: ScheduleTarget<'_>,
        name: &str,
        event_bus: &str,
        task_definition_arn: &str,
    ) -> Result<Vec<PointedTarget>> {
        let mut pointed = Vec::new();
        let mut changed = Vec::new();
        for mut target in self.rule_targets(at, name, event_bus).await? {
            let Some(ecs) = target.ecs_parameters.as_mut() else {
                continue;
            };
            if !same_family(&ecs.task_definition_arn, task_definition_arn) {
                continue;
            }
            let previous = std::mem::replace(
                &mut ecs.task_definition_arn,
                task_definition_arn.to_string(),
            );
            pointed.push(PointedTarget {
                target_id: Some(target.id.clone()),
                previous_task_definition_arn: previous.clone(),
            });
            if previous != task_definition_arn {
                changed.push(target);
            }
        }
        if pointed.is_empty() {
            return Err(no_target_of_family(at, task_definition_arn));
        }
        for batch in changed.chunks(PUT_TARGETS_BATCH) {
            let out = self
                .events
                .put_targets()
                .rule(name)
                .event_bus_name(event_bus)
                .set_targets(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| not_found_or(at, "PutTargets", e))?;
            if out.failed_entry_count > 0 || !out.failed_entries().is_empty() {
                return Err(failed_entries(at, out.failed_entries()));
            }
        }
        Ok(pointed)
    }
}

/// ResourceNotFoundException (the schedule, its group, the rule or its bus is missing) is
/// `ScheduleNotFound`; anything else is classified as usual.
fn not_found_or<E, R>(
    at: ScheduleTarget<'_>,
    operation: &str,
    err: aws_sdk_scheduler::error::SdkError<E, R>,
) -> Error
where
    E: aws_sdk_scheduler::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let (code, message) = code_and_message(&err);
    if code == "ResourceNotFoundException" {
        return Error::ScheduleNotFound(format!(
            "{} does not exist ({operation}: {message}); check `schedules` of the stage",
            at.describe()
        ));
    }
    classify(operation, err)
}

fn no_target_of_family(at: ScheduleTarget<'_>, task_definition_arn: &str) -> Error {
    Error::ScheduleNotFound(format!(
        "{} has no ECS target running task definition family `{}`; check `schedules` of the stage",
        at.describe(),
        task_definition_family(task_definition_arn)
    ))
}

/// PutTargets answers 200 with the targets it could not put: the first one's error becomes the
/// release's error (a throttled or internal failure stays retryable).
fn failed_entries(
    at: ScheduleTarget<'_>,
    entries: &[aws_sdk_eventbridge::types::PutTargetsResultEntry],
) -> Error {
    let first = entries.first();
    let code = first.and_then(|e| e.error_code()).unwrap_or("Unknown");
    let message = entries
        .iter()
        .map(|e| {
            format!(
                "target `{}`: {}: {}",
                e.target_id().unwrap_or("?"),
                e.error_code().unwrap_or("Unknown"),
                e.error_message().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    classify_code(
        "PutTargets",
        code,
        &format!("{} was not changed: {message}", at.describe()),
    )
}

mod usage;

#[cfg(test)]
mod tests;

/// Whether `date` lies before now.
fn is_past(date: &aws_smithy_types::DateTime) -> bool {
    std::time::SystemTime::try_from(*date).is_ok_and(|at| at < std::time::SystemTime::now())
}
