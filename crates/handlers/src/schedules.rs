//! The stage's schedules and rules: checked at render (each must run one of the families
//! the release renders), pointed at the new revisions once every service completed, and put
//! back when the release fails after that.

use std::collections::BTreeMap;

use stevedore_aws::schedules::ScheduleTarget;
use stevedore_aws::store::{attr_s, ReleaseKey};
use stevedore_core::config::{ScheduleRef, StageConfig};
use stevedore_core::release::service_status;
use stevedore_core::Error;

use crate::deploy::{Deploy, DeployResponse};
use crate::render::Render;
use crate::render_services::family_of;
use crate::runtime::{now, timestamp};
use crate::stage_lock::{fence, Lease};
use crate::{ReleaseSpec, RenderOutput, ScheduleRender};

fn target(schedule: &ScheduleRef) -> ScheduleTarget<'_> {
    match schedule {
        ScheduleRef::Schedule { name, group } => ScheduleTarget::Schedule { name, group },
        ScheduleRef::Rule { name, event_bus } => ScheduleTarget::Rule { name, event_bus },
    }
}

fn key(release: &ReleaseSpec) -> ReleaseKey<'_> {
    ReleaseKey {
        app: &release.app,
        stage: &release.stage,
        release_id: &release.release_id,
    }
}

/// Each schedule of the stage with the new revision of the family its ECS target runs; a
/// schedule that is missing or runs none of those families fails render, before anything
/// changed.
pub(crate) async fn plan_schedules(
    ctx: &Render,
    stage: &StageConfig,
    new_revisions: &[String],
) -> Result<Vec<ScheduleRender>, Error> {
    let by_family: BTreeMap<&str, &String> = new_revisions
        .iter()
        .map(|arn| (family_of(arn), arn))
        .collect();
    let mut planned = Vec::with_capacity(stage.schedules.len());
    for entry in &stage.schedules {
        let schedule = entry.target().map_err(|(field, message)| {
            Error::InvalidConfig(format!("schedules: {field}: {message}"))
        })?;
        let running = ctx
            .schedules
            .ecs_task_definitions(target(&schedule))
            .await?;
        let Some((previous, new)) = running
            .iter()
            .find_map(|arn| by_family.get(family_of(arn)).map(|new| (arn, *new)))
        else {
            return Err(Error::ScheduleNotFound(format!(
                "{schedule} runs {}, none of which is a task definition family of the stage's services ({}); point its ECS target at one of them or remove it from `schedules`",
                if running.is_empty() { "no ECS task".to_string() } else { running.join(", ") },
                by_family.keys().copied().collect::<Vec<_>>().join(", ")
            )));
        };
        planned.push(ScheduleRender {
            target: schedule,
            task_definition_arn: new.clone(),
            previous_task_definition_arn: previous.clone(),
        });
    }
    Ok(planned)
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
