//! migrate: judges the release's migration task after Step Functions' `ecs:runTask.sync`
//! returns (the exit code is checked here explicitly), explains a run that failed, and stops
//! a run that timed out. Any failure stops the release before the service changes.

use serde::{Deserialize, Serialize};
use stevedore_aws::store::{attr_n, attr_s};
use stevedore_aws::{CodeBuild, Ecs, Store};
use stevedore_core::migration::migration_outcome;
use stevedore_core::Error;

use crate::build_migration;
use crate::runtime::{now, timestamp};
use crate::{HandlerError, MigrationPlan, ReleaseSpec, RenderOutput, StateError};

pub struct Migrate {
    pub store: Store,
    pub ecs: Ecs,
    pub codebuild: CodeBuild,
    /// Stages in other accounts and regions (None: every stage is Stevedore's own).
    pub accounts: Option<stevedore_aws::Accounts>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum MigrateRequest {
    /// The task stopped: check its exit code.
    Check {
        release: ReleaseSpec,
        render: RenderOutput,
        task_arn: String,
    },
    /// `runTask.sync` itself failed: find out what happened to the task.
    Explain {
        release: ReleaseSpec,
        render: RenderOutput,
        error: StateError,
    },
    /// The state's timeout fired: stop the task and fail the release.
    Stop {
        release: ReleaseSpec,
        render: RenderOutput,
    },
    /// `codebuild:startBuild.sync` returned: record the build that succeeded.
    CheckBuild {
        release: ReleaseSpec,
        render: RenderOutput,
        build_id: String,
    },
    /// `codebuild:startBuild.sync` failed: name the build, its phase and its log link.
    ExplainBuild {
        release: ReleaseSpec,
        render: RenderOutput,
        error: StateError,
    },
    /// The state's timeout fired while the build ran: stop it and fail the release.
    StopBuild {
        release: ReleaseSpec,
        render: RenderOutput,
    },
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum MigrationResult {
    Task {
        task_arn: String,
        exit_code: i32,
    },
    Build {
        build_id: String,
        log_link: Option<String>,
    },
}

fn plan(render: &RenderOutput) -> Result<&MigrationPlan, Error> {
    render
        .migration
        .as_ref()
        .ok_or_else(|| Error::InvalidInput("this release has no migration to check".into()))
}

pub async fn handle(
    ctx: &Migrate,
    request: MigrateRequest,
) -> Result<MigrationResult, HandlerError> {
    let (release, render) = request.release_and_render();
    let targeted =
        crate::targets::migrate_in(ctx, render.target.as_ref(), &release.release_id).await?;
    let ctx = targeted.as_ref().unwrap_or(ctx);
    match request {
        MigrateRequest::Check {
            release,
            render,
            task_arn,
        } => Ok(judge(ctx, &release, &render, &task_arn).await?),
        MigrateRequest::Explain {
            release,
            render,
            error,
        } => {
            let plan = plan(&render)?;
            let task_arn = task_arn_in_cause(&error.cause);
            let task_arn = match task_arn {
                Some(arn) => Some(arn),
                None => ctx
                    .ecs
                    .tasks_in_group(&render.cluster, &render.task_definition_arn, &plan.group)
                    .await?
                    .into_iter()
                    .next(),
            };
            match task_arn {
                Some(arn) => {
                    stop_unfinished(ctx, &release, &render, &arn, &error).await?;
                    Ok(judge(ctx, &release, &render, &arn).await?)
                }
                None => Err(Error::MigrationDidNotStart(format!(
                    "the migration task could not be started: {}: {}",
                    error.error, error.cause
                ))
                .into()),
            }
        }
        MigrateRequest::CheckBuild {
            release,
            render,
            build_id,
        } => {
            let build = build_migration::judge(
                &ctx.codebuild,
                &ctx.store,
                &release,
                &render,
                Some(&build_id),
            )
            .await?;
            Ok(MigrationResult::Build {
                build_id: build.id,
                log_link: build.deep_link,
            })
        }
        MigrateRequest::ExplainBuild {
            release,
            render,
            error,
        } => Err(
            build_migration::explain(&ctx.codebuild, &ctx.store, &release, &render, &error)
                .await
                .into(),
        ),
        MigrateRequest::StopBuild { release, render } => {
            Err(
                build_migration::stop(&ctx.codebuild, &ctx.store, &release, &render)
                    .await?
                    .into(),
            )
        }
        MigrateRequest::Stop { release, render } => {
            let plan = plan(&render)?;
            let reason = format!(
                "Stevedore: migration timed out after {} s",
                plan.timeout_seconds
            );
            let tasks = ctx
                .ecs
                .tasks_in_group(&render.cluster, &render.task_definition_arn, &plan.group)
                .await?;
            for task in &tasks {
                ctx.ecs.stop_task(&render.cluster, task, &reason).await?;
            }
            if let Some(task) = tasks.first() {
                ctx.store
                    .set_release_fields(
                        &release.app,
                        &release.stage,
                        &release.release_id,
                        &[("migration_task_arn", attr_s(task))],
                    )
                    .await?;
            }
            Err(Error::MigrationTimedOut(format!(
                "migration `{}` did not finish within {} s (migration.timeout_seconds); stopped task(s): {}",
                plan.command.join(" "),
                plan.timeout_seconds,
                if tasks.is_empty() { "none found".to_string() } else { tasks.join(", ") }
            ))
            .into())
        }
    }
}

/// The `.sync` wait failed while the task had not stopped (an error of the wait itself, not
/// of the task): the release is about to end, so the task is stopped rather than left to
/// migrate the database behind a failed release, and the reason says what failed.
async fn stop_unfinished(
    ctx: &Migrate,
    release: &ReleaseSpec,
    render: &RenderOutput,
    task_arn: &str,
    error: &StateError,
) -> Result<(), Error> {
    let Some(task) = ctx.ecs.describe_task(&render.cluster, task_arn).await? else {
        return Ok(());
    };
    if task.last_status == "STOPPED" {
        return Ok(());
    }
    ctx.ecs
        .stop_task(
            &render.cluster,
            task_arn,
            "Stevedore: the release stopped waiting for its migration",
        )
        .await?;
    ctx.store
        .set_release_fields(
            &release.app,
            &release.stage,
            &release.release_id,
            &[("migration_task_arn", attr_s(task_arn))],
        )
        .await?;
    Err(Error::MigrationFailed(format!(
        "waiting for migration task {task_arn} failed while it was still {} ({}: {}); the task was stopped so that it does not run on after the release",
        task.last_status, error.error, error.cause
    )))
}

async fn judge(
    ctx: &Migrate,
    release: &ReleaseSpec,
    render: &RenderOutput,
    task_arn: &str,
) -> Result<MigrationResult, Error> {
    let plan = plan(render)?;
    let task = ctx
        .ecs
        .describe_task(&render.cluster, task_arn)
        .await?
        .ok_or_else(|| {
            Error::MigrationFailed(format!(
                "migration task {task_arn} is unknown to ECS; it cannot be judged"
            ))
        })?;
    let exit_code = task
        .containers
        .iter()
        .find(|c| c.name == plan.container)
        .and_then(|c| c.exit_code);
    let mut fields = vec![("migration_task_arn", attr_s(task_arn))];
    if let Some(code) = exit_code {
        fields.push(("migration_exit_code", attr_n(i64::from(code))));
    }
    let outcome = migration_outcome(&task, &plan.container);
    if outcome.is_ok() {
        fields.push(("migrated_at", attr_s(timestamp(now()))));
    }
    ctx.store
        .set_release_fields(&release.app, &release.stage, &release.release_id, &fields)
        .await?;
    let exit_code = outcome?;
    tracing::info!(release_id = %release.release_id, %task_arn, exit_code, "migration succeeded");
    Ok(MigrationResult::Task {
        task_arn: task_arn.to_string(),
        exit_code,
    })
}

/// Step Functions puts the described task into the error's cause when `.sync` fails.
fn task_arn_in_cause(cause: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(cause).ok()?;
    value
        .get("TaskArn")
        .or_else(|| value.get("taskArn"))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_task_arn_in_a_sync_failure_cause() {
        let cause = r#"{"TaskArn":"arn:aws:ecs:us-east-1:1:task/demo/abc","LastStatus":"STOPPED"}"#;
        assert_eq!(
            task_arn_in_cause(cause).as_deref(),
            Some("arn:aws:ecs:us-east-1:1:task/demo/abc")
        );
        assert_eq!(task_arn_in_cause("not json"), None);
        assert_eq!(task_arn_in_cause("{}"), None);
    }

    #[test]
    fn requests_are_told_apart_by_action() {
        let request: MigrateRequest = serde_json::from_value(serde_json::json!({
            "action": "stop",
            "release": {"release_id": "r", "app": "a", "stage": "s", "repository": "a", "digest": "d",
                        "tag": "t", "image_uri": "u", "trigger": "push"},
            "render": {"task_definition_arn": "td", "previous_task_definition_arn": "old", "cluster": "c",
                       "service": "svc", "deploy_timeout_seconds": 60, "migration": null}
        }))
        .expect("stop request parses");
        assert!(matches!(request, MigrateRequest::Stop { .. }));
    }
}
