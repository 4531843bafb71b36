//! Every task definition an EventBridge Scheduler schedule or an EventBridge rule of the
//! account and Region runs, whoever made it: revision retention keeps them all, since a
//! schedule or rule naming a deregistered revision fails when it fires (RunTask refuses an
//! INACTIVE revision:
//! https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeregisterTaskDefinition.html).
//!
//! - Schedules: ListSchedules without a group lists every group's schedules, each with its
//!   target's ARN only (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_ListSchedules.html,
//!   https://docs.aws.amazon.com/scheduler/latest/APIReference/API_TargetSummary.html); an ECS
//!   target's ARN is the cluster's, so only those schedules are read whole (GetSchedule).
//! - Rules: every event bus (ListEventBuses), every rule on it (ListRules), every target of it
//!   (ListTargetsByRule); "ListRules does not list the targets of a rule"
//!   (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ListRules.html).
//!
//! A schedule or rule deleted between the listing and the read runs nothing: it is skipped.

use std::collections::BTreeSet;

use stevedore_core::{Error, Result};

use super::{ScheduleTarget, Schedules};
use crate::error::classify;

impl Schedules {
    /// The task definition (as stored: ARN, `family:revision` or `family`) of every ECS
    /// target of every schedule and rule in the account and Region.
    pub async fn ecs_task_definitions_anywhere(&self) -> Result<BTreeSet<String>> {
        let mut found = BTreeSet::new();
        for (name, group) in self.ecs_schedules().await? {
            let at = ScheduleTarget::Schedule {
                name: &name,
                group: &group,
            };
            found.extend(vanished_is_none(self.ecs_task_definitions(at).await)?);
        }
        for bus in self.event_buses().await? {
            for rule in self.rules(&bus).await? {
                let at = ScheduleTarget::Rule {
                    name: &rule,
                    event_bus: &bus,
                };
                found.extend(vanished_is_none(self.ecs_task_definitions(at).await)?);
            }
        }
        Ok(found)
    }

    /// `(name, group)` of every schedule whose target is an ECS cluster, over every page.
    async fn ecs_schedules(&self) -> Result<Vec<(String, String)>> {
        let mut schedules = Vec::new();
        let mut next_token = None;
        loop {
            let out = self
                .scheduler
                .list_schedules()
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|e| classify("ListSchedules", e))?;
            schedules.extend(out.schedules.into_iter().filter_map(|s| {
                let targets_ecs = s.target.as_ref().is_some_and(|t| is_ecs_cluster(&t.arn));
                match (s.name, s.group_name) {
                    (Some(name), group) if targets_ecs => {
                        Some((name, group.unwrap_or_else(|| "default".into())))
                    }
                    _ => None,
                }
            }));
            next_token = out.next_token.filter(|t| !t.is_empty());
            if next_token.is_none() {
                return Ok(schedules);
            }
        }
    }

    /// The name of every event bus, over every page.
    async fn event_buses(&self) -> Result<Vec<String>> {
        let mut buses = Vec::new();
        let mut next_token = None;
        loop {
            let out = self
                .events
                .list_event_buses()
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|e| classify("ListEventBuses", e))?;
            buses.extend(
                out.event_buses
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|b| b.name),
            );
            next_token = out.next_token.filter(|t| !t.is_empty());
            if next_token.is_none() {
                return Ok(buses);
            }
        }
    }

    /// The name of every rule on the bus, over every page.
    async fn rules(&self, bus: &str) -> Result<Vec<String>> {
        let mut rules = Vec::new();
        let mut next_token = None;
        loop {
            let out = self
                .events
                .list_rules()
                .event_bus_name(bus)
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|e| classify("ListRules", e))?;
            rules.extend(
                out.rules
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|r| r.name),
            );
            next_token = out.next_token.filter(|t| !t.is_empty());
            if next_token.is_none() {
                return Ok(rules);
            }
        }
    }
}

/// `arn:<partition>:ecs:<region>:<account>:cluster/<name>`: the target ARN of a schedule
/// running an ECS task (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_Target.html).
fn is_ecs_cluster(arn: &str) -> bool {
    let mut parts = arn.splitn(6, ':');
    parts.next() == Some("arn")
        && parts.next().is_some()
        && parts.next() == Some("ecs")
        && parts
            .nth(2)
            .is_some_and(|resource| resource.starts_with("cluster/"))
}

fn vanished_is_none(found: Result<Vec<String>>) -> Result<Vec<String>> {
    match found {
        Err(Error::ScheduleNotFound(_)) => Ok(Vec::new()),
        other => other,
    }
}

#[cfg(test)]
#[path = "usage_tests.rs"]
mod tests;
