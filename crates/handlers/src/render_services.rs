//! render for a stage of several services (and schedules): one new revision per distinct task
//! definition family, the migration planned from one service's new revision, and every
//! service and schedule recorded on the release. Everything is checked before anything is
//! registered, so a bad service or schedule changes nothing.

use std::collections::BTreeMap;

use stevedore_aws::store::{attr_of, attr_s};
use stevedore_core::config::{AppConfig, Approval, StageConfig, StageService};
use stevedore_core::release::{service_status, ScheduleRecord, ServiceRecord};
use stevedore_core::Error;

use crate::problems::{Checking, Problems};
use crate::render::{active_task_definition, current_task_definition, Render};
use crate::render_plan::{check_services, migration_index, plan_stage, PlannedService};
use crate::runtime::{now, timestamp};
use crate::{ReleaseSpec, RenderOutput, ScheduleRender, ServiceRender};

/// A task definition family from an ARN (`…:task-definition/<family>:<revision>`), a
/// `family:revision` or a bare family.
pub(crate) fn family_of(task_definition: &str) -> &str {
    let name = task_definition
        .rsplit_once(":task-definition/")
        .map_or(task_definition, |(_, rest)| rest);
    name.split_once(':').map_or(name, |(family, _)| family)
}

pub(crate) async fn render_services(
    ctx: &Render,
    release: &ReleaseSpec,
    app: &AppConfig,
    stage: &StageConfig,
) -> Result<RenderOutput, Error> {
    let rollback = release.redeploy_task_definition_arn.is_some();
    // Everything is planned (and can fail) before anything is registered.
    let (planned, new_revisions, mut revisions_by_family) = if rollback {
        redeploy_plan(ctx, release, stage).await?
    } else {
        register_plan(ctx, release, app, stage).await?
    };
    for revision in &new_revisions {
        revisions_by_family
            .entry(family_of(revision).to_string())
            .or_insert_with(|| revision.clone());
    }
    let rendered: Vec<ServiceRender> = planned
        .services
        .iter()
        .zip(&new_revisions)
        .map(|(service, revision)| ServiceRender {
            cluster: stage.cluster.clone(),
            service: service.name.clone(),
            task_definition_arn: revision.clone(),
            previous_task_definition_arn: current_task_definition(service),
            rollout: service.rollout.clone(),
        })
        .collect();
    let schedules = crate::schedules::plan_schedules(&planned.schedules, &revisions_by_family);
    let migration_index = migration_index(stage);
    record_rendered(ctx, release, &rendered, &schedules, migration_index).await?;
    let first = rendered.get(migration_index).ok_or_else(|| {
        Error::InvalidConfig(format!(
            "{}/{}: the stage has no service to render",
            release.app, release.stage
        ))
    })?;
    Ok(RenderOutput {
        task_definition_arn: first.task_definition_arn.clone(),
        previous_task_definition_arn: first.previous_task_definition_arn.clone(),
        cluster: stage.cluster.clone(),
        service: first.service.clone(),
        deploy_timeout_seconds: stage.deploy_timeout_seconds,
        migration: planned.migration,
        build_migration: planned.build_migration,
        // A rollback is the way back from a bad release: it does not wait for a person.
        approval_required: !rollback && stage.approval == Approval::Required,
        approval_timeout_seconds: stage.approval_timeout_seconds,
        rollout: first.rollout.clone(),
        services: rendered,
        rollout_order: stage.rollout,
        target: None,
        schedules,
    })
}

/// What render found and will record: the services as read, the schedules, the migration.
struct Planned {
    services: Vec<PlannedService>,
    schedules: Vec<crate::schedules::Scheduled>,
    migration: Option<crate::MigrationPlan>,
    build_migration: Option<crate::BuildMigrationPlan>,
}

/// Each service's new revision, and every new revision by family.
type Registered = (Planned, Vec<String>, BTreeMap<String, String>);

/// A new release: the stage planned (stopping at the first problem), then one new revision
/// registered per family; services that share a family run the same one.
async fn register_plan(
    ctx: &Render,
    release: &ReleaseSpec,
    app: &AppConfig,
    stage: &StageConfig,
) -> Result<Registered, Error> {
    let plan = plan_stage(
        ctx,
        release,
        app,
        stage,
        Problems::new(Checking::FirstProblem),
    )
    .await?;
    let mut registered = Vec::with_capacity(plan.revisions.len());
    for revision in &plan.revisions {
        let arn = ctx
            .ecs
            .register_rendered(
                &revision.from.definition,
                &revision.from.tags,
                &revision.changes,
                &release.release_id,
            )
            .await?;
        tracing::info!(release_id = %release.release_id, task_definition_arn = %arn, "task definition registered");
        registered.push(arn);
    }
    let per_service = plan
        .services
        .iter()
        .map(|service| {
            service
                .revision
                .and_then(|index| registered.get(index).cloned())
                .ok_or_else(|| {
                    Error::InvalidInput(format!(
                        "service `{}` has no new revision planned",
                        service.name
                    ))
                })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let by_family = plan
        .revisions
        .iter()
        .zip(&registered)
        .map(|(revision, arn)| (revision.family.clone(), arn.clone()))
        .collect();
    let planned = Planned {
        services: plan.services,
        schedules: plan.schedules,
        migration: plan.migration,
        build_migration: plan.build_migration,
    };
    Ok((planned, per_service, by_family))
}

/// A rollback: every service checked, the schedules read, then each service's revision of
/// the release it returns to (and its schedule-only families' revisions).
async fn redeploy_plan(
    ctx: &Render,
    release: &ReleaseSpec,
    stage: &StageConfig,
) -> Result<Registered, Error> {
    let first_problem = &mut Problems::new(Checking::FirstProblem);
    let services = check_services(ctx, release, stage, first_problem).await?;
    let schedules = crate::schedules::read_schedules(ctx, stage, first_problem).await?;
    let service_families: Vec<String> = services
        .iter()
        .map(|s| family_of(&current_task_definition(s)).to_string())
        .collect();
    let service_families: Vec<&str> = service_families.iter().map(String::as_str).collect();
    let schedule_only =
        crate::schedules::schedule_only_task_definitions(&schedules, &service_families);
    let revisions = redeploy_revisions(ctx, release, &stage.services()).await?;
    let by_family =
        crate::schedules::source_schedule_revisions(ctx, release, &schedule_only).await?;
    let planned = Planned {
        services,
        schedules,
        migration: None, // a rollback runs no migration
        build_migration: None,
    };
    Ok((planned, revisions, by_family))
}

/// A rollback: each service gets the revision the source release ran on it.
async fn redeploy_revisions(
    ctx: &Render,
    release: &ReleaseSpec,
    services: &[StageService<'_>],
) -> Result<Vec<String>, Error> {
    let mut revisions = Vec::with_capacity(services.len());
    for service in services {
        let Some(recorded) = release.redeploy_services.get(service.service) else {
            return Err(Error::InvalidInput(format!(
                "the rollback names no task definition for service `{}` (the release it returns to did not run it)",
                service.service
            )));
        };
        revisions.push(active_task_definition(ctx, release, recorded).await?);
    }
    Ok(revisions)
}

async fn record_rendered(
    ctx: &Render,
    release: &ReleaseSpec,
    services: &[ServiceRender],
    schedules: &[ScheduleRender],
    migration_index: usize,
) -> Result<(), Error> {
    let service_records: Vec<ServiceRecord> = services
        .iter()
        .map(|service| ServiceRecord {
            cluster: service.cluster.clone(),
            service: service.service.clone(),
            task_definition_arn: service.task_definition_arn.clone(),
            previous_task_definition_arn: service.previous_task_definition_arn.clone(),
            status: service_status::PENDING.into(),
            deployment_id: None,
            restore_deployment_id: None,
            reason: None,
            started_at: None,
            finished_at: None,
        })
        .collect();
    let schedule_records: Vec<ScheduleRecord> = schedules
        .iter()
        .map(|schedule| ScheduleRecord {
            target: schedule.target.clone(),
            task_definition_arn: schedule.task_definition_arn.clone(),
            previous_task_definition_arn: schedule.previous_task_definition_arn.clone(),
            status: service_status::PENDING.into(),
            pointed_at: None,
        })
        .collect();
    let main = &services[migration_index];
    let mut fields = vec![
        ("task_definition_arn", attr_s(&main.task_definition_arn)),
        (
            "previous_task_definition_arn",
            attr_s(&main.previous_task_definition_arn),
        ),
        ("rendered_at", attr_s(timestamp(now()))),
        ("services", attr_of(&service_records)?),
    ];
    if !schedule_records.is_empty() {
        fields.push(("schedules", attr_of(&schedule_records)?));
    }
    ctx.store
        .set_release_fields(&release.app, &release.stage, &release.release_id, &fields)
        .await
}

#[cfg(test)]
mod tests {
    use super::family_of;

    #[test]
    fn families_from_every_spelling() {
        assert_eq!(
            family_of("arn:aws:ecs:us-east-1:1:task-definition/backend-web:7"),
            "backend-web"
        );
        assert_eq!(family_of("backend-web:7"), "backend-web");
        assert_eq!(family_of("backend-web"), "backend-web");
    }
}
