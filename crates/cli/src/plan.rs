//! `stevedore plan APP STAGE --tag T | --digest D`: render's dry run. The image is resolved
//! in ECR, then render's own planning runs (`stevedore_handlers::render_plan`, the path
//! render takes before it registers) collecting every problem instead of stopping at the
//! first. Nothing is registered: each revision is serialized as the RegisterTaskDefinition
//! request render would send, and shown as a unified diff against what the service runs.
//! Exit status: 0 when render would pass, 2 when it would fail, 1 when the plan itself
//! could not be made (AWS unreachable, no such image).

use anyhow::{anyhow, bail, Result};
use serde::Serialize;
use serde_json::Value;
use stevedore_aws::{load_sdk_config, Ecr, Ecs, ParameterStore, Schedules, SecretsManager, Store};
use stevedore_core::image::image_uri;
use stevedore_core::release::{release_id, Trigger};
use stevedore_core::{Error, ReleaseSpec};
use stevedore_handlers::problems::{Checking, Problems};
use stevedore_handlers::render::{load_stage, Render};
use stevedore_handlers::render_plan::{plan_stage, StagePlan};
use stevedore_handlers::HookTarget;

#[path = "plan_output.rs"]
mod output;

/// Exit status of a plan whose release render would fail.
pub const WOULD_FAIL: i32 = 2;

#[derive(clap::Args)]
pub struct PlanArgs {
    pub app: String,
    pub stage: String,
    /// The image to plan, by tag (in the app's repository).
    #[arg(long, required_unless_present = "digest", conflicts_with = "digest")]
    pub tag: Option<String>,
    /// The image to plan, by digest (`sha256:…`).
    #[arg(long)]
    pub digest: Option<String>,
    /// Stevedore's lifecycle hook function (the stack's HookFunctionArn output); without
    /// it and --hook-role-arn, hook roles on the services are not checked.
    #[arg(long, env = "HOOK_FUNCTION_ARN")]
    pub hook_function_arn: Option<String>,
    /// The role ECS invokes the hook with (the stack's HookRoleArn output).
    #[arg(long, env = "HOOK_ROLE_ARN")]
    pub hook_role_arn: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What `plan` found: printed as text or JSON.
#[derive(Debug, Serialize)]
pub struct PlanReport {
    pub app: String,
    pub stage: String,
    pub image: PlannedImage,
    /// Whether render would fail this release (then `problems` says why).
    pub would_fail: bool,
    /// One per service, then one per task definition family only schedules run.
    pub task_definitions: Vec<TaskDefinitionPlan>,
    pub schedules: Vec<SchedulePlan>,
    /// The migration command and where it would run.
    pub migration: Option<String>,
    pub problems: Vec<Problem>,
    /// What the plan could not check.
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct PlannedImage {
    pub repository: String,
    pub tag: Option<String>,
    pub digest: String,
    pub uri: String,
}

#[derive(Debug, Serialize)]
pub struct TaskDefinitionPlan {
    /// `service` or `scheduled task definition`.
    pub kind: String,
    /// The service's name, or the family.
    pub name: String,
    pub family: String,
    /// The revision it runs now.
    pub current_task_definition: String,
    pub changed: bool,
    /// The unified diff of the registration request, current → would-be (empty when equal).
    pub diff: String,
    /// The RegisterTaskDefinition request render would send (tags left out).
    pub task_definition: Value,
}

#[derive(Debug, Serialize)]
pub struct SchedulePlan {
    /// `schedule <group>/<name>` or `rule <bus>/<name>`.
    pub target: String,
    pub current_task_definition: String,
    /// The family of which it would run the new revision; none when it keeps what it runs.
    pub new_revision_of: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// Render's error type for it (what the deploy state machine would match).
    pub error_type: String,
    pub message: String,
}

impl From<&Error> for Problem {
    fn from(error: &Error) -> Self {
        Problem {
            error_type: error.error_type().to_string(),
            message: error.to_string(),
        }
    }
}

/// Plans, prints, and answers the exit status.
pub async fn run(table: &str, args: PlanArgs) -> Result<i32> {
    if table.is_empty() {
        bail!("no release table: pass --table or set STEVEDORE_TABLE (the stack's ReleaseTableName output)");
    }
    let report = plan(table, &args).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", output::human(&report, output::colour_wanted()));
    }
    Ok(if report.would_fail { WOULD_FAIL } else { 0 })
}

async fn plan(table: &str, args: &PlanArgs) -> Result<PlanReport> {
    let sdk = load_sdk_config().await;
    let region = sdk
        .region()
        .map(|r| r.to_string())
        .ok_or_else(|| anyhow!("no AWS region: set AWS_REGION"))?;
    let store = Store::from_sdk(&sdk, table);
    // An app or stage that is not configured leaves nothing to plan (exit status 1).
    let (app, stage) = load_stage(&store, &args.app, &args.stage).await?;
    let found = Ecr::from_sdk(&sdk)
        .find_image(&app.repository, args.tag.as_deref(), args.digest.as_deref())
        .await?
        .ok_or_else(|| {
            anyhow!(
                "ECR repository `{}` has no image {}",
                app.repository,
                match (&args.tag, &args.digest) {
                    (Some(tag), _) => format!("tagged `{tag}`"),
                    (_, digest) => format!("`{}`", digest.as_deref().unwrap_or_default()),
                }
            )
        })?;
    let tag = args.tag.clone().or_else(|| found.tags.first().cloned());
    let uri = image_uri(&found.registry_id, &region, &app.repository, &found.digest);
    let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or_default();
    // The release a push of this image now would start (nothing is written).
    let release = ReleaseSpec {
        release_id: release_id(&args.app, &args.stage, &found.digest, now_ms),
        app: args.app.clone(),
        stage: args.stage.clone(),
        repository: app.repository.clone(),
        digest: found.digest.clone(),
        tag: tag.clone().unwrap_or_default(),
        image_uri: uri.clone(),
        trigger: Trigger::Push,
        source_release_id: None,
        pushed_at: None,
        redeploy_task_definition_arn: None,
        redeploy_services: Default::default(),
    };
    let hook = match (&args.hook_function_arn, &args.hook_role_arn) {
        (Some(function_arn), Some(role_arn)) => Some(HookTarget {
            function_arn: function_arn.clone(),
            role_arn: role_arn.clone(),
        }),
        _ => None,
    };
    let ctx = Render {
        store,
        ecs: Ecs::from_sdk(&sdk),
        secrets: SecretsManager::from_sdk(&sdk),
        parameters: ParameterStore::from_sdk(&sdk),
        schedules: Schedules::from_sdk(&sdk),
        region,
        account: found.registry_id.clone(),
        hook: hook.clone().unwrap_or(HookTarget {
            function_arn: String::new(),
            role_arn: String::new(),
        }),
        // `plan` reads the stage where the operator's own credentials reach.
        accounts: None,
    };
    let every_problem = Problems::new(Checking::EveryProblem);
    let mut planned = plan_stage(&ctx, &release, &app, &stage, every_problem).await?;
    let mut notes = Vec::new();
    if hook.is_none() {
        // Without Stevedore's own hook, its hook on a service would look like another team's.
        planned
            .problems
            .retain(|p| !matches!(p, Error::HookRoleNotPassable(_)));
        notes.push("lifecycle hook roles not checked: pass --hook-function-arn and --hook-role-arn (HOOK_FUNCTION_ARN, HOOK_ROLE_ARN)".to_string());
    }
    Ok(PlanReport {
        app: args.app.clone(),
        stage: args.stage.clone(),
        image: PlannedImage {
            repository: app.repository.clone(),
            tag,
            digest: found.digest,
            uri,
        },
        would_fail: !planned.problems.is_empty(),
        task_definitions: task_definitions(&ctx.ecs, &planned).await?,
        schedules: schedules(&planned),
        migration: migration(&planned),
        problems: planned.problems.iter().map(Problem::from).collect(),
        notes,
    })
}

/// Each service's revision against the one it runs, then each family only schedules run.
async fn task_definitions(ecs: &Ecs, plan: &StagePlan) -> Result<Vec<TaskDefinitionPlan>> {
    let mut out = Vec::new();
    for service in &plan.services {
        let (Some(state), Some(index)) = (&service.state, service.revision) else {
            continue; // a problem says why it could not be planned
        };
        let Some(revision) = plan.revisions.get(index) else {
            continue;
        };
        let current = if state.task_definition == revision.from_arn {
            revision.from.definition.clone()
        } else {
            ecs.describe_task_definition(&state.task_definition)
                .await?
                .definition
        };
        let before = ecs.registration_json(&current, &[]).await?;
        let after = ecs
            .registration_json(&revision.from.definition, &revision.changes)
            .await?;
        out.push(output::compare(
            "service",
            &service.name,
            &revision.family,
            &state.task_definition,
            &before,
            after,
        ));
    }
    let used: Vec<usize> = plan.services.iter().filter_map(|s| s.revision).collect();
    for (index, revision) in plan.revisions.iter().enumerate() {
        if used.contains(&index) {
            continue;
        }
        let before = ecs
            .registration_json(&revision.from.definition, &[])
            .await?;
        let after = ecs
            .registration_json(&revision.from.definition, &revision.changes)
            .await?;
        out.push(output::compare(
            "scheduled task definition",
            &revision.family,
            &revision.family,
            &revision.from_arn,
            &before,
            after,
        ));
    }
    Ok(out)
}

fn schedules(plan: &StagePlan) -> Vec<SchedulePlan> {
    plan.schedules
        .iter()
        .map(|schedule| {
            let current = schedule.running.first().cloned().unwrap_or_default();
            let new_revision_of = schedule.running.iter().find_map(|arn| {
                let family = output::family(arn);
                plan.revisions
                    .iter()
                    .any(|r| r.family == family)
                    .then(|| family.to_string())
            });
            SchedulePlan {
                target: schedule.target.to_string(),
                current_task_definition: current,
                new_revision_of,
            }
        })
        .collect()
}

fn migration(plan: &StagePlan) -> Option<String> {
    let service = plan.services.get(plan.migration_index)?;
    if let Some(task) = &plan.migration {
        return Some(format!(
            "`{}` in container `{}` of service `{}`'s new revision",
            task.command.join(" "),
            task.container,
            service.name
        ));
    }
    plan.build_migration
        .as_ref()
        .map(|build| format!("CodeBuild project `{}` with the new image", build.project))
}
