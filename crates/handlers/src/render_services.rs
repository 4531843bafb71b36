//! render for a stage of several services (and schedules): one new revision per distinct task
//! definition family, the migration planned from one service's new revision, and every
//! service and schedule recorded on the release. Everything is checked before anything is
//! registered, so a bad service or schedule changes nothing.

use std::collections::BTreeMap;

use stevedore_aws::ecs::{container_summaries, ServiceState};
use stevedore_aws::store::{attr_of, attr_s};
use stevedore_core::config::{AppConfig, Approval, StageConfig, StageService};
use stevedore_core::release::{service_status, ScheduleRecord, ServiceRecord};
use stevedore_core::render::plan_render;
use stevedore_core::Error;

use crate::render::{active_task_definition, plan_migration, resolve_secrets, Render};
use crate::rollout_check::check_rollout;
use crate::runtime::{now, timestamp};
use crate::{ReleaseSpec, RenderOutput, RolloutSpec, ScheduleRender, ServiceRender};

/// A task definition family from an ARN (`…:task-definition/<family>:<revision>`), a
/// `family:revision` or a bare family.
pub(crate) fn family_of(task_definition: &str) -> &str {
    let name = task_definition
        .rsplit_once(":task-definition/")
        .map_or(task_definition, |(_, rest)| rest);
    name.split_once(':').map_or(name, |(family, _)| family)
}

fn rollout_of(service: &StageService<'_>) -> RolloutSpec {
    RolloutSpec {
        strategy: service.strategy,
        bake_minutes: service.bake_minutes,
        smoke_test: service.smoke_test.cloned(),
    }
}

pub(crate) async fn render_services(
    ctx: &Render,
    release: &ReleaseSpec,
    app: &AppConfig,
    stage: &StageConfig,
) -> Result<RenderOutput, Error> {
    let services = stage.services();
    // Every service is read and checked before anything is registered.
    let mut states: Vec<ServiceState> = Vec::with_capacity(services.len());
    for service in &services {
        let state = ctx
            .ecs
            .describe_service(&stage.cluster, service.service)
            .await?;
        check_rollout(
            &release.stage,
            service.service,
            &state,
            &rollout_of(service),
            &ctx.hook,
        )?;
        states.push(state);
    }
    let migration_index = stage
        .migration_service
        .as_deref()
        .and_then(|wanted| services.iter().position(|s| s.service == wanted))
        .unwrap_or(0);
    let rollback = release.redeploy_task_definition_arn.is_some();
    // The migration is planned (and can fail) before anything is registered.
    let (migration, build_migration) = if !rollback {
        let state = &states[migration_index];
        let current = ctx
            .ecs
            .describe_task_definition(&state.task_definition)
            .await?;
        let app = with_containers(app, services[migration_index].containers);
        plan_migration(
            &app,
            release,
            services[migration_index].service,
            state,
            &container_summaries(&current.definition),
        )?
    } else {
        (None, None) // a rollback runs no migration
    };
    // What each schedule runs, read before anything is registered.
    let scheduled = crate::schedules::read_schedules(ctx, stage).await?;
    let service_families: Vec<&str> = states
        .iter()
        .map(|s| family_of(&s.task_definition))
        .collect();
    let schedule_only =
        crate::schedules::schedule_only_task_definitions(&scheduled, &service_families);
    let (new_revisions, mut revisions_by_family) = if rollback {
        let revisions = redeploy_revisions(ctx, release, &services).await?;
        let scheduled_revisions =
            crate::schedules::source_schedule_revisions(ctx, release, &schedule_only).await?;
        (revisions, scheduled_revisions)
    } else {
        render_revisions(
            ctx,
            release,
            app,
            stage,
            &Targets {
                services: &services,
                states: &states,
                migration_index,
                schedule_only: &schedule_only,
            },
        )
        .await?
    };
    for revision in &new_revisions {
        revisions_by_family
            .entry(family_of(revision).to_string())
            .or_insert_with(|| revision.clone());
    }
    let rendered: Vec<ServiceRender> = services
        .iter()
        .zip(&states)
        .zip(&new_revisions)
        .map(|((service, state), revision)| ServiceRender {
            cluster: stage.cluster.clone(),
            service: service.service.to_string(),
            task_definition_arn: revision.clone(),
            previous_task_definition_arn: state.task_definition.clone(),
            rollout: rollout_of(service),
        })
        .collect();
    let schedules = crate::schedules::plan_schedules(&scheduled, &revisions_by_family);
    record_rendered(ctx, release, &rendered, &schedules, migration_index).await?;
    let first = &rendered[migration_index];
    Ok(RenderOutput {
        task_definition_arn: first.task_definition_arn.clone(),
        previous_task_definition_arn: first.previous_task_definition_arn.clone(),
        cluster: stage.cluster.clone(),
        service: first.service.clone(),
        deploy_timeout_seconds: stage.deploy_timeout_seconds,
        migration,
        build_migration,
        // A rollback is the way back from a bad release: it does not wait for a person.
        approval_required: !rollback && stage.approval == Approval::Required,
        approval_timeout_seconds: stage.approval_timeout_seconds,
        rollout: first.rollout.clone(),
        services: rendered,
        rollout_order: stage.rollout,
        schedules,
    })
}

/// The app as seen by one service: its own `containers` replace the app's.
fn with_containers(app: &AppConfig, containers: Option<&[String]>) -> AppConfig {
    let mut app = app.clone();
    if let Some(containers) = containers {
        app.containers = Some(containers.to_vec());
    }
    app
}

/// What render registers new revisions for: the services' task definitions and those only
/// schedules run.
struct Targets<'a> {
    services: &'a [StageService<'a>],
    states: &'a [ServiceState],
    migration_index: usize,
    /// Task definitions that schedules run and no service does (one per family).
    schedule_only: &'a [String],
}

/// One new revision per distinct family: services that share a family run the same new
/// revision (rendered from the first of them); a family only schedules run gets one too,
/// rendered from what the schedule runs. Every family is planned before any is registered.
/// Returns each service's new revision, and every new revision by family.
async fn render_revisions(
    ctx: &Render,
    release: &ReleaseSpec,
    app: &AppConfig,
    stage: &StageConfig,
    targets: &Targets<'_>,
) -> Result<(Vec<String>, BTreeMap<String, String>), Error> {
    let resolved = resolve_secrets(ctx, release, stage).await?;
    let mut plans = Vec::new();
    let mut family_index: BTreeMap<String, usize> = BTreeMap::new();
    let mut service_family = Vec::with_capacity(targets.services.len());
    let sources = targets
        .services
        .iter()
        .zip(targets.states)
        .enumerate()
        .map(|(index, (service, state))| (Some((index, service)), &state.task_definition))
        .chain(targets.schedule_only.iter().map(|arn| (None, arn)));
    for (service, task_definition) in sources {
        let family = family_of(task_definition).to_string();
        if let Some(index) = family_index.get(&family) {
            if service.is_some() {
                service_family.push(*index);
            }
            continue;
        }
        let current = ctx.ecs.describe_task_definition(task_definition).await?;
        let summaries = container_summaries(&current.definition);
        // The migration runs in one service's revision only: the others need no container
        // for it; a scheduled task takes the app's containers.
        let mut app_view = with_containers(app, service.and_then(|(_, s)| s.containers));
        if service.is_none_or(|(index, _)| index != targets.migration_index) {
            app_view.migration = None;
        }
        let changes = plan_render(&app_view, stage, &summaries, &release.image_uri, &resolved)
            .map_err(|e| match service {
                Some((_, service)) => named(service.service, e),
                None => e.prefixed(&format!("scheduled task definition `{family}`: ")),
            })?;
        family_index.insert(family, plans.len());
        if service.is_some() {
            service_family.push(plans.len());
        }
        plans.push((current, changes));
    }
    let mut registered = Vec::with_capacity(plans.len());
    for (current, changes) in &plans {
        let arn = ctx
            .ecs
            .register_rendered(
                &current.definition,
                &current.tags,
                changes,
                &release.release_id,
            )
            .await?;
        tracing::info!(release_id = %release.release_id, task_definition_arn = %arn, "task definition registered");
        registered.push(arn);
    }
    let by_family = family_index
        .into_iter()
        .map(|(family, index)| (family, registered[index].clone()))
        .collect();
    let per_service = service_family
        .into_iter()
        .map(|index| registered[index].clone())
        .collect();
    Ok((per_service, by_family))
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

/// A render error of one service of several, led by that service's name.
fn named(service: &str, error: Error) -> Error {
    error.prefixed(&format!("service `{service}`: "))
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
