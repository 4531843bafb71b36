//! A stage that moves several ECS services of one app (web, worker, admin) and repoints its
//! scheduled jobs: one release, one migration, all of them or none.
//!
//! `service:` names one service; `services:` lists several, each with its own containers and
//! optionally its own strategy. [`StageConfig::services`] gives both forms one shape.

use serde::{Deserialize, Serialize};

use super::{CanarySettings, LinearSettings, SmokeTest, StageConfig, Strategy};

/// One entry of a stage's `services:` list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// The ECS service, by name or ARN (of the stage's cluster).
    pub service: String,
    /// The containers of this service's task definition to update; `None` means the app's
    /// `containers`, or every container whose image comes from the app's repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<Vec<String>>,
    /// This service's rollout; `None` means the stage's `strategy` (and its bake time and
    /// smoke test).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoke_test: Option<SmokeTest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear: Option<LinearSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanarySettings>,
    /// This service's deployment alarms; `None` means the stage's `alarms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<Vec<String>>,
}

/// In which order a multi-service stage rolls its services out, once the migration succeeded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutOrder {
    /// Every service at once; the release waits for all of them.
    #[default]
    Parallel,
    /// One after another in the listed order, each only after the one before completed.
    Sequential,
}

/// A scheduled job of the app: an EventBridge Scheduler schedule, or an EventBridge rule,
/// whose ECS target runs one of the app's task definition families. After every service of
/// a release succeeded, its target is pointed at the new revision of that family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// An EventBridge Scheduler schedule's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// The schedule's group (`default` when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// An EventBridge rule's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The rule's event bus (`default` when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_bus: Option<String>,
}

/// Where a schedule entry points, once validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScheduleRef {
    Schedule { name: String, group: String },
    Rule { name: String, event_bus: String },
}

impl std::fmt::Display for ScheduleRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScheduleRef::Schedule { name, group } => write!(f, "schedule {group}/{name}"),
            ScheduleRef::Rule { name, event_bus } => write!(f, "rule {event_bus}/{name}"),
        }
    }
}

impl ScheduleConfig {
    /// The schedule or rule this entry names; `(field, message)` when it names neither or
    /// both, or mixes their fields.
    pub fn target(&self) -> Result<ScheduleRef, (&'static str, String)> {
        match (&self.schedule, &self.rule) {
            (Some(name), None) => {
                if self.event_bus.is_some() {
                    return Err(("event_bus", "belongs to a `rule:`; a schedule has a `group:`".into()));
                }
                Ok(ScheduleRef::Schedule {
                    name: name.clone(),
                    group: self.group.clone().unwrap_or_else(|| "default".into()),
                })
            }
            (None, Some(name)) => {
                if self.group.is_some() {
                    return Err(("group", "belongs to a `schedule:`; a rule has an `event_bus:`".into()));
                }
                Ok(ScheduleRef::Rule {
                    name: name.clone(),
                    event_bus: self.event_bus.clone().unwrap_or_else(|| "default".into()),
                })
            }
            (Some(_), Some(_)) => Err((
                "rule",
                "an entry names either a `schedule:` or a `rule:`, not both; split it in two".into(),
            )),
            (None, None) => Err((
                "schedule",
                "name an EventBridge Scheduler `schedule:` (with an optional `group:`) or an EventBridge `rule:` (with an optional `event_bus:`)".into(),
            )),
        }
    }
}

/// One service of a stage with its effective settings (the service's own, else the stage's).
#[derive(Debug, Clone, PartialEq)]
pub struct StageService<'a> {
    pub service: &'a str,
    /// `None`: the app's `containers` (or every container from the repository).
    pub containers: Option<&'a [String]>,
    pub strategy: Strategy,
    pub bake_minutes: Option<u32>,
    pub smoke_test: Option<&'a SmokeTest>,
    pub linear: Option<&'a LinearSettings>,
    pub canary: Option<&'a CanarySettings>,
    /// The CloudWatch alarms ECS watches during this service's rollout.
    pub alarms: &'a [String],
    /// Where the entry sits in stevedore.yaml, for errors (`service` or `services[1]`).
    pub field: String,
}

impl StageConfig {
    /// Every service the stage deploys, in the listed order: the one `service:`, or each of
    /// `services:`.
    pub fn services(&self) -> Vec<StageService<'_>> {
        if let Some(service) = &self.service {
            return vec![StageService {
                service,
                containers: None,
                strategy: self.strategy,
                bake_minutes: self.bake_minutes,
                smoke_test: self.smoke_test.as_ref(),
                linear: self.linear.as_ref(),
                canary: self.canary.as_ref(),
                alarms: &self.alarms,
                field: "service".into(),
            }];
        }
        self.services
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                // A service with its own strategy takes its own bake, smoke and step settings too.
                let own = entry.strategy.is_some();
                StageService {
                    service: &entry.service,
                    containers: entry.containers.as_deref(),
                    strategy: entry.strategy.unwrap_or(self.strategy),
                    bake_minutes: if own {
                        entry.bake_minutes
                    } else {
                        entry.bake_minutes.or(self.bake_minutes)
                    },
                    smoke_test: if own {
                        entry.smoke_test.as_ref()
                    } else {
                        entry.smoke_test.as_ref().or(self.smoke_test.as_ref())
                    },
                    linear: if own {
                        entry.linear.as_ref()
                    } else {
                        entry.linear.as_ref().or(self.linear.as_ref())
                    },
                    canary: if own {
                        entry.canary.as_ref()
                    } else {
                        entry.canary.as_ref().or(self.canary.as_ref())
                    },
                    alarms: entry.alarms.as_deref().unwrap_or(&self.alarms),
                    field: format!("services[{index}]"),
                }
            })
            .collect()
    }

    /// The stage's first service (every stage has at least one once validated).
    pub fn first_service(&self) -> &str {
        self.service
            .as_deref()
            .or_else(|| self.services.first().map(|entry| entry.service.as_str()))
            .unwrap_or_default()
    }

    /// Whether the release records each service (several services, or schedules to repoint);
    /// a stage with one service and no schedules records exactly as it always did.
    pub fn is_multi_service(&self) -> bool {
        self.service.is_none() || !self.schedules.is_empty()
    }
}

/// EventBridge Scheduler schedule and group names, and EventBridge rule and bus names:
/// 1-64 of letters, digits, `.`, `-` and `_` (rules and buses also `/` for a partner bus).
/// https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html
/// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
fn is_valid_schedule_name(name: &str, slash: bool) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_' || (slash && b == b'/')
        })
}

/// `service` xor `services`, each service valid and listed once, `migration_service` one of
/// them, every schedule entry naming one schedule or rule once.
pub(super) fn validate_services(stage: &StageConfig, path: &str) -> super::validate::CheckResult {
    let fail = |field: String, message: String| Err((format!("{path}.{field}"), message));
    match (&stage.service, stage.services.is_empty()) {
        (Some(_), false) => {
            return fail(
                "services".into(),
                "a stage names its one `service:` or lists several under `services:`, not both"
                    .into(),
            )
        }
        (None, true) => {
            return fail(
                "service".into(),
                "is missing: name the stage's ECS service, or list several under `services:`"
                    .into(),
            )
        }
        _ => {}
    }
    // Release records keep lists to MAX_LIST_ITEMS entries (crate::bounds), and each
    // service's entry is updated in place by its index: a longer list could not be recorded.
    for (field, count) in [
        ("services", stage.services.len()),
        ("schedules", stage.schedules.len()),
    ] {
        if count > crate::bounds::MAX_LIST_ITEMS {
            return fail(
                field.into(),
                format!(
                    "lists {count} entries; a stage releases at most {} (split the app into two)",
                    crate::bounds::MAX_LIST_ITEMS
                ),
            );
        }
    }
    let mut seen: Vec<((String, String), String)> = Vec::new();
    for service in stage.services() {
        if service.service.is_empty() {
            return fail(service.field.clone(), "must not be empty".into());
        }
        let field = if service.field == "service" {
            "service".to_string()
        } else {
            format!("{}.service", service.field)
        };
        let id = match super::service_identity(&stage.cluster, service.service) {
            Ok(id) => id,
            Err(("cluster", message)) => return fail("cluster".into(), message),
            Err((_, message)) => return fail(field, message),
        };
        if let Some((_, first)) = seen.iter().find(|(known, _)| *known == id) {
            return fail(
                field,
                format!("ECS service `{}` is listed twice (first as {first})", id.1),
            );
        }
        if let Some(containers) = service.containers {
            super::validate::validate_containers(
                containers,
                &format!("{path}.{}.containers", service.field),
            )?;
        }
        seen.push((id, service.field.clone()));
    }
    if let Some(wanted) = &stage.migration_service {
        let names: Vec<&str> = stage.services().iter().map(|s| s.service).collect();
        if !names.contains(&wanted.as_str()) {
            return fail(
                "migration_service".into(),
                format!(
                    "`{wanted}` is not one of the stage's services ({})",
                    names.join(", ")
                ),
            );
        }
    }
    let mut targets: Vec<ScheduleRef> = Vec::new();
    for (index, entry) in stage.schedules.iter().enumerate() {
        let entry_path = format!("schedules[{index}]");
        let target = match entry.target() {
            Ok(target) => target,
            Err((field, message)) => return fail(format!("{entry_path}.{field}"), message),
        };
        let names = match &target {
            ScheduleRef::Schedule { name, group } => {
                [("schedule", name, false), ("group", group, false)]
            }
            ScheduleRef::Rule { name, event_bus } => {
                [("rule", name, false), ("event_bus", event_bus, true)]
            }
        };
        for (field, value, slash) in names {
            if !is_valid_schedule_name(value, slash) {
                return fail(
                    format!("{entry_path}.{field}"),
                    format!(
                        "{value:?} is not a valid name (1-64 letters, digits, `.`, `-` and `_`)"
                    ),
                );
            }
        }
        if targets.contains(&target) {
            return fail(entry_path, format!("{target} is listed twice"));
        }
        targets.push(target);
    }
    Ok(())
}

#[cfg(test)]
#[path = "services_tests.rs"]
mod tests;
