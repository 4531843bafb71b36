//! The stage's schedules and rules: checked at render (each must run one of the families
//! the release renders), pointed at the new revisions once every service completed, and put
//! back when the release fails after that.

use std::collections::BTreeMap;

use stevedore_aws::schedules::ScheduleTarget;
use stevedore_aws::store::attr_s;
use stevedore_core::config::{ScheduleRef, StageConfig};
use stevedore_core::release::service_status;
use stevedore_core::Error;

use crate::deploy::{Deploy, DeployResponse};
use crate::problems::Problems;
use crate::record::key;
use crate::render::Render;
use crate::render_services::family_of;
use crate::runtime::{now, timestamp};
use crate::stage_lock::{fence, Lease};
use crate::{ReleaseSpec, RenderOutput, ScheduleRender};

pub(crate) fn target(schedule: &ScheduleRef) -> ScheduleTarget<'_> {
    match schedule {
        ScheduleRef::Schedule { name, group } => ScheduleTarget::Schedule { name, group },
        ScheduleRef::Rule { name, event_bus } => ScheduleTarget::Rule { name, event_bus },
    }
}

/// A schedule of the stage and the task definitions its ECS targets run now.
#[derive(Debug)]
pub struct Scheduled {
    pub target: ScheduleRef,
    pub running: Vec<String>,
}

/// What each of the stage's schedules runs now; a missing schedule or rule is a problem
/// (render fails on it before anything changed).
pub(crate) async fn read_schedules(
    ctx: &Render,
    stage: &StageConfig,
    problems: &mut Problems,
) -> Result<Vec<Scheduled>, Error> {
    let mut read = Vec::with_capacity(stage.schedules.len());
    for entry in &stage.schedules {
        let schedule = match entry.target() {
            Ok(schedule) => schedule,
            Err((field, message)) => {
                problems.add(Error::InvalidConfig(format!(
                    "schedules: {field}: {message}"
                )))?;
                continue;
            }
        };
        let running = ctx.schedules.ecs_task_definitions(target(&schedule)).await;
        let Some(running) = problems.check(running)? else {
            continue;
        };
        if running.is_empty() {
            problems.add(Error::ScheduleNotFound(format!(
                "{schedule} has no ECS target; point it at a task definition of the app or remove it from `schedules`"
            )))?;
            continue;
        }
        read.push(Scheduled {
            target: schedule,
            running,
        });
    }
    Ok(read)
}

/// The task definitions schedules run whose family no service of the stage runs (a job
/// with a task definition of its own): one per family, each rendered like a service's.
pub(crate) fn schedule_only_task_definitions(
    scheduled: &[Scheduled],
    service_families: &[&str],
) -> Vec<String> {
    let mut only: Vec<String> = Vec::new();
    for schedule in scheduled {
        let runs_a_service_family = schedule
            .running
            .iter()
            .any(|arn| service_families.contains(&family_of(arn)));
        if runs_a_service_family {
            continue;
        }
        if let Some(first) = schedule.running.first() {
            if !only
                .iter()
                .any(|known| family_of(known) == family_of(first))
            {
                only.push(first.clone());
            }
        }
    }
    only
}

/// A rollback: the revisions of schedule-only families that the release it returns to
/// pointed its schedules at (deregistered ones are registered again).
pub(crate) async fn source_schedule_revisions(
    ctx: &Render,
    release: &ReleaseSpec,
    schedule_only: &[String],
) -> Result<BTreeMap<String, String>, Error> {
    let mut revisions = BTreeMap::new();
    if schedule_only.is_empty() {
        return Ok(revisions);
    }
    let source = match &release.source_release_id {
        Some(source) => {
            ctx.store
                .get_release(&release.app, &release.stage, source)
                .await?
        }
        None => None,
    };
    let recorded = source.map(|r| r.schedules).unwrap_or_default();
    for current in schedule_only {
        let family = family_of(current);
        let Some(record) = recorded
            .iter()
            .find(|r| family_of(&r.task_definition_arn) == family)
        else {
            continue; // the release rolled back to never moved it: left as it is
        };
        let arn = crate::render::active_task_definition(ctx, release, &record.task_definition_arn)
            .await?;
        revisions.insert(family.to_string(), arn);
    }
    Ok(revisions)
}

/// Each schedule with the new revision of the family its ECS target runs. A schedule whose
/// family gets no new revision (a rollback to a release that never moved it) is left out.
pub(crate) fn plan_schedules(
    scheduled: &[Scheduled],
    revisions_by_family: &BTreeMap<String, String>,
) -> Vec<ScheduleRender> {
    let mut planned = Vec::with_capacity(scheduled.len());
    for schedule in scheduled {
        let found = schedule.running.iter().find_map(|arn| {
            revisions_by_family
                .get(family_of(arn))
                .map(|new| (arn, new))
        });
        let Some((previous, new)) = found else {
            tracing::info!(schedule = %schedule.target, "no new revision of the family this schedule runs; left as it is");
            continue;
        };
        planned.push(ScheduleRender {
            target: schedule.target.clone(),
            task_definition_arn: new.clone(),
            previous_task_definition_arn: previous.clone(),
        });
    }
    planned
}

/// Every service completed: each schedule's ECS target moves to its new revision (only
/// while the release holds its stage).
pub(crate) async fn point_schedules(
    ctx: &Deploy,
    release: &ReleaseSpec,
    render: &RenderOutput,
    execution_arn: &str,
) -> Result<DeployResponse, Error> {
    let lease = Lease::for_deployment(render.deploy_timeout_seconds);
    fence(&ctx.store, release, execution_arn, lease, false).await?;
    for (index, schedule) in render.schedules.iter().enumerate() {
        ctx.schedules
            .point(target(&schedule.target), &schedule.task_definition_arn)
            .await?;
        ctx.store
            .set_entry_fields(
                key(release),
                "schedules",
                index,
                &[
                    ("status", attr_s(service_status::POINTED)),
                    ("pointed_at", attr_s(timestamp(now()))),
                ],
            )
            .await?;
        tracing::info!(release_id = %release.release_id, schedule = %schedule.target, task_definition_arn = %schedule.task_definition_arn, "schedule pointed at the new revision");
    }
    Ok(DeployResponse::Pointed {
        schedules_pointed: render.schedules.len(),
    })
}

/// Puts back every schedule that runs the release's revision; returns how many.
pub(crate) async fn restore_schedules(
    ctx: &Deploy,
    release: &ReleaseSpec,
    render: &RenderOutput,
) -> Result<usize, Error> {
    let mut restored = 0;
    for (index, schedule) in render.schedules.iter().enumerate() {
        let running = ctx
            .schedules
            .ecs_task_definitions(target(&schedule.target))
            .await?;
        if !running.contains(&schedule.task_definition_arn) {
            continue;
        }
        ctx.schedules
            .point(
                target(&schedule.target),
                &schedule.previous_task_definition_arn,
            )
            .await?;
        ctx.store
            .set_entry_fields(
                key(release),
                "schedules",
                index,
                &[("status", attr_s(service_status::RESTORED))],
            )
            .await?;
        tracing::warn!(release_id = %release.release_id, schedule = %schedule.target, "schedule put back on its previous revision");
        restored += 1;
    }
    Ok(restored)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/";

    fn scheduled(name: &str, running: &[&str]) -> Scheduled {
        Scheduled {
            target: ScheduleRef::Schedule {
                name: name.into(),
                group: "default".into(),
            },
            running: running.iter().map(|r| format!("{TD}{r}")).collect(),
        }
    }

    #[test]
    fn a_family_only_schedules_run_is_rendered_once() {
        let read = [
            scheduled("nightly", &["backend-worker:3"]),
            scheduled("report", &["backend-report:5"]),
            scheduled("report-2", &["backend-report:4"]),
        ];
        let only = schedule_only_task_definitions(&read, &["backend", "backend-worker"]);
        assert_eq!(only, vec![format!("{TD}backend-report:5")]);
    }

    #[test]
    fn each_schedule_moves_to_the_new_revision_of_its_family() {
        let read = [
            scheduled("nightly", &["backend-worker:3"]),
            scheduled("report", &["backend-report:5"]),
        ];
        let revisions = BTreeMap::from([
            (
                "backend-worker".to_string(),
                format!("{TD}backend-worker:4"),
            ),
            ("backend".to_string(), format!("{TD}backend:9")),
        ]);
        let planned = plan_schedules(&read, &revisions);
        // `report` runs a family with no new revision (a rollback to a release that never
        // moved it): it is left as it is.
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].target, read[0].target);
        assert_eq!(
            planned[0].task_definition_arn,
            format!("{TD}backend-worker:4")
        );
        assert_eq!(
            planned[0].previous_task_definition_arn,
            format!("{TD}backend-worker:3")
        );
    }
}
