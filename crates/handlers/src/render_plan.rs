//! What render would register, found without registering anything: every service read and
//! checked, the stage's schedules read, its secrets resolved (described, never read), one
//! render plan per task definition family, and the migration. Render registers the plan
//! (`render::handle`); `stevedore plan` shows it. Both take this one path: render stops at
//! the first problem (its error type is what the state machine matches), a dry run goes on
//! and reports every problem it can find.

use std::collections::BTreeMap;

use stevedore_aws::ecs::{container_summaries, DescribedTaskDefinition, ServiceState};
use stevedore_core::config::{AppConfig, MigrationRunner, StageConfig, StageService};
use stevedore_core::render::{migration_container, render_plan, ContainerChange};
use stevedore_core::Error;

use crate::problems::Problems;
use crate::render::{migration_launch_type, resolve_secrets, Render};
use crate::render_services::family_of;
use crate::rollout_check::check_rollout;
use crate::schedules::{read_schedules, schedule_only_task_definitions, Scheduled};
use crate::{BuildMigrationPlan, MigrationPlan, ReleaseSpec, RolloutSpec};

/// Everything render would register for a release, and what is wrong with it.
#[derive(Debug)]
pub struct StagePlan {
    /// The stage's services in the listed order.
    pub services: Vec<PlannedService>,
    /// One new revision per task definition family: the services' families in service
    /// order, then those only schedules run.
    pub revisions: Vec<PlannedRevision>,
    /// The stage's schedules and what they run now.
    pub schedules: Vec<Scheduled>,
    pub migration: Option<MigrationPlan>,
    pub build_migration: Option<BuildMigrationPlan>,
    /// The service whose new revision the migration runs in.
    pub migration_index: usize,
    /// Every problem found, in the order render meets them (empty when render would pass
    /// this stage of the release).
    pub problems: Vec<Error>,
}

/// One service of the stage.
#[derive(Debug)]
pub struct PlannedService {
    pub name: String,
    pub rollout: RolloutSpec,
    /// As ECS describes it; none when it could not be read (a problem says why).
    pub state: Option<ServiceState>,
    /// The index in `revisions` of the revision it would run.
    pub revision: Option<usize>,
}

/// A new revision: a described one with the render plan's changes.
#[derive(Debug)]
pub struct PlannedRevision {
    pub family: String,
    /// The revision it is rendered from: the one the family's first service runs, or the
    /// one a schedule runs.
    pub from_arn: String,
    pub from: DescribedTaskDefinition,
    pub changes: Vec<ContainerChange>,
}

/// The rollout a release of `service` asks ECS for (render's plan and `stevedore doctor`).
pub fn rollout_of(service: &StageService<'_>) -> RolloutSpec {
    RolloutSpec {
        strategy: service.strategy,
        bake_minutes: service.bake_minutes,
        smoke_test: service.smoke_test.cloned(),
        linear: service.linear.copied(),
        canary: service.canary.copied(),
        alarms: service.alarms.to_vec(),
    }
}

/// The app as seen by one service: its own `containers` replace the app's.
fn with_containers(app: &AppConfig, containers: Option<&[String]>) -> AppConfig {
    let mut app = app.clone();
    if let Some(containers) = containers {
        app.containers = Some(containers.to_vec());
    }
    app
}

/// A problem of one service of several is led by that service's name (once); a stage of
/// one service says it as it always did.
fn about(stage: &StageConfig, service: &str, error: Error) -> Error {
    let named = format!("service `{service}`");
    if stage.is_multi_service() && !error.to_string().starts_with(&named) {
        error.prefixed(&format!("{named}: "))
    } else {
        error
    }
}

/// Each service of the stage as ECS has it, with whether the stage's rollout can run on it.
pub(crate) async fn check_services(
    ctx: &Render,
    release: &ReleaseSpec,
    stage: &StageConfig,
    problems: &mut Problems,
) -> Result<Vec<PlannedService>, Error> {
    let mut planned = Vec::new();
    for service in stage.services() {
        let rollout = rollout_of(&service);
        let described = ctx
            .ecs
            .describe_service(&stage.cluster, service.service)
            .await;
        let state = problems.check(described)?;
        if let Some(state) = &state {
            let checked =
                check_rollout(&release.stage, service.service, state, &rollout, &ctx.hook);
            problems.check(checked)?;
        }
        planned.push(PlannedService {
            name: service.service.to_string(),
            rollout,
            state,
            revision: None,
        });
    }
    Ok(planned)
}

/// The plan of a new release (not a rollback) of `stage`: see [`StagePlan`]. With
/// `problems` stopping at the first one, the first problem is the error.
pub async fn plan_stage(
    ctx: &Render,
    release: &ReleaseSpec,
    app: &AppConfig,
    stage: &StageConfig,
    mut problems: Problems,
) -> Result<StagePlan, Error> {
    let mut services = check_services(ctx, release, stage, &mut problems).await?;
    let stage_services = stage.services();
    let migration_index = migration_index(stage);
    let schedules = read_schedules(ctx, stage, &mut problems).await?;
    let resolved = resolve_secrets(ctx, release, stage, &mut problems).await?;
    let mut described: BTreeMap<String, DescribedTaskDefinition> = BTreeMap::new();
    let mut revisions: Vec<PlannedRevision> = Vec::new();
    for (index, (service, planned)) in stage_services.iter().zip(&mut services).enumerate() {
        let Some(state) = &planned.state else {
            continue;
        };
        let family = family_of(&state.task_definition);
        if let Some(known) = revisions.iter().position(|r| r.family == family) {
            planned.revision = Some(known);
            continue;
        }
        // The migration runs in one service's revision only: the others need no container
        // for it.
        let mut app_view = with_containers(app, service.containers);
        if index != migration_index {
            app_view.migration = None;
        }
        let from = describe(ctx, &mut described, &state.task_definition).await?;
        let plan = render_plan(
            &app_view,
            stage,
            &container_summaries(&from.definition),
            &release.image_uri,
            &resolved,
        );
        for problem in plan.problems {
            problems.add(about(stage, service.service, problem))?;
        }
        planned.revision = Some(revisions.len());
        revisions.push(PlannedRevision {
            family: family.to_string(),
            from_arn: state.task_definition.clone(),
            from,
            changes: plan.changes,
        });
    }
    // A family only schedules run gets a revision too, rendered from what the schedule runs
    // with the app's containers.
    let service_families: Vec<String> = revisions.iter().map(|r| r.family.clone()).collect();
    let service_families: Vec<&str> = service_families.iter().map(String::as_str).collect();
    for task_definition in schedule_only_task_definitions(&schedules, &service_families) {
        let family = family_of(&task_definition).to_string();
        let from = describe(ctx, &mut described, &task_definition).await?;
        let mut app_view = app.clone();
        app_view.migration = None;
        let plan = render_plan(
            &app_view,
            stage,
            &container_summaries(&from.definition),
            &release.image_uri,
            &resolved,
        );
        for problem in plan.problems {
            problems.add(problem.prefixed(&format!("scheduled task definition `{family}`: ")))?;
        }
        revisions.push(PlannedRevision {
            family,
            from_arn: task_definition,
            from,
            changes: plan.changes,
        });
    }
    let migration_service = &stage_services[migration_index];
    let migration_state = services[migration_index].state.as_ref();
    let migration_summaries = match migration_state {
        Some(state) => Some(container_summaries(
            &describe(ctx, &mut described, &state.task_definition)
                .await?
                .definition,
        )),
        None => None,
    };
    let (migration, build_migration) = plan_migration(
        &with_containers(app, migration_service.containers),
        release,
        migration_service.service,
        migration_state.zip(migration_summaries.as_deref()),
        &mut |problem| problems.add(about(stage, migration_service.service, problem)),
    )?;
    Ok(StagePlan {
        services,
        revisions,
        schedules,
        migration,
        build_migration,
        migration_index,
        problems: problems.into_vec(),
    })
}

/// The index of the service whose new revision runs the migration (`migration_service`, or
/// the first).
pub(crate) fn migration_index(stage: &StageConfig) -> usize {
    stage
        .migration_service
        .as_deref()
        .and_then(|wanted| stage.services().iter().position(|s| s.service == wanted))
        .unwrap_or(0)
}

/// A task definition, described once per plan.
async fn describe(
    ctx: &Render,
    described: &mut BTreeMap<String, DescribedTaskDefinition>,
    task_definition: &str,
) -> Result<DescribedTaskDefinition, Error> {
    if let Some(known) = described.get(task_definition) {
        return Ok(known.clone());
    }
    let found = ctx.ecs.describe_task_definition(task_definition).await?;
    described.insert(task_definition.to_string(), found.clone());
    Ok(found)
}

/// The release's migration, as the state machine runs it: a one-off task from the new
/// revision of the migration service (placed and networked as that service is), or a
/// CodeBuild build. `service`: the migration service and its revision's containers, when
/// they could be read. Each problem goes to `problem` (which stops the plan by answering it
/// as an error).
fn plan_migration(
    app: &AppConfig,
    release: &ReleaseSpec,
    service_name: &str,
    service: Option<(&ServiceState, &[stevedore_core::render::ContainerSummary])>,
    problem: &mut dyn FnMut(Error) -> Result<(), Error>,
) -> Result<(Option<MigrationPlan>, Option<BuildMigrationPlan>), Error> {
    let Some(migration) = &app.migration else {
        return Ok((None, None));
    };
    if migration.runner == MigrationRunner::Codebuild {
        let build = BuildMigrationPlan {
            project: migration.project.clone().unwrap_or_default(),
            image_uri: release.image_uri.clone(),
            timeout_seconds: migration.timeout_seconds,
        };
        return Ok((None, Some(build)));
    }
    let Some((state, summaries)) = service else {
        return Ok((None, None)); // the service could not be read: a problem says so
    };
    let targets =
        match stevedore_core::render::target_containers(app, summaries, &release.image_uri) {
            Ok(targets) => Some(targets),
            Err(error) => {
                problem(error)?;
                None
            }
        };
    // Without targets the problem above says why there is no container.
    let container = targets.map(|targets| {
        migration_container(app, &targets).ok_or_else(|| {
            Error::ContainerNotFound(format!(
                "app `{}`: no container to run the migration in; set `migration.container`",
                release.app
            ))
        })
    });
    let container = match container {
        Some(Ok(container)) => Some(container),
        Some(Err(error)) => {
            problem(error)?;
            None
        }
        None => None,
    };
    let network_configuration = state.network_configuration.clone();
    if network_configuration.is_none() {
        problem(Error::InvalidConfig(format!(
            "service `{service_name}` has no awsvpc network configuration, which the migration task needs"
        )))?;
    }
    let (Some(container), Some(network_configuration)) = (container, network_configuration) else {
        return Ok((None, None));
    };
    Ok((
        Some(MigrationPlan {
            container,
            command: migration.command.clone(),
            timeout_seconds: migration.timeout_seconds,
            launch_type: migration_launch_type(state),
            capacity_provider_strategy: state.capacity_provider_strategy.clone(),
            platform_version: state.platform_version.clone(),
            network_configuration,
            group: format!("stevedore:{}", release.release_id),
        }),
        None,
    ))
}
