//! The CodeBuild side of migrate: after Step Functions' `codebuild:startBuild.sync`, record
//! the build that succeeded, explain one that failed (build id, phase, log link), or stop
//! one that outran `migration.timeout_seconds`.

use stevedore_aws::codebuild::no_build;
use stevedore_aws::store::attr_s;
use stevedore_aws::{CodeBuild, Store};
use stevedore_core::build_migration::{build_outcome, FinishedBuild};
use stevedore_core::Error;

use crate::runtime::{now, timestamp};
use crate::{BuildMigrationPlan, ReleaseSpec, RenderOutput, StateError};

fn plan(render: &RenderOutput) -> Result<&BuildMigrationPlan, Error> {
    render
        .build_migration
        .as_ref()
        .ok_or_else(|| Error::InvalidInput("this release has no CodeBuild migration".into()))
}

/// The finished build, recorded on the release; Ok only when it succeeded.
pub(crate) async fn judge(
    codebuild: &CodeBuild,
    store: &Store,
    release: &ReleaseSpec,
    render: &RenderOutput,
    build_id: Option<&str>,
) -> Result<FinishedBuild, Error> {
    let plan = plan(render)?;
    let build = match build_id {
        Some(id) => codebuild.build(id).await?,
        None => {
            codebuild
                .release_build(&plan.project, &release.release_id)
                .await?
        }
    }
    .ok_or_else(|| no_build(&plan.project, &release.release_id))?;
    record(store, release, &build).await?;
    build_outcome(&build, &plan.project)?;
    store
        .set_release_fields(
            &release.app,
            &release.stage,
            &release.release_id,
            &[("migrated_at", attr_s(timestamp(now())))],
        )
        .await?;
    tracing::info!(release_id = %release.release_id, build_id = %build.id, "CodeBuild migration succeeded");
    Ok(build)
}

/// `startBuild.sync` failed: the build is in the cause (`{"Build": {...}}`), or found by
/// the release id it was started with; a build that never started is said so.
pub(crate) async fn explain(
    codebuild: &CodeBuild,
    store: &Store,
    release: &ReleaseSpec,
    render: &RenderOutput,
    error: &StateError,
) -> Error {
    let build_id = build_id_in_cause(&error.cause);
    match judge(codebuild, store, release, render, build_id.as_deref()).await {
        Ok(build) => Error::MigrationFailed(format!(
            "Step Functions reported the CodeBuild migration failed ({}), but build {} succeeded",
            error.error, build.id
        )),
        // No build in the cause and none found (or the project itself is missing): the
        // build never started, and Step Functions' error says why.
        Err(e)
            if build_id.is_none()
                && !e.is_retryable()
                && !matches!(e, Error::MigrationFailed(_) | Error::MigrationTimedOut(_)) =>
        {
            Error::MigrationDidNotStart(format!(
                "the CodeBuild migration could not be started: {}: {}",
                error.error, error.cause
            ))
        }
        Err(e) => e,
    }
}

/// The state's timeout fired while the build ran: stop it and fail the release.
pub(crate) async fn stop(
    codebuild: &CodeBuild,
    store: &Store,
    release: &ReleaseSpec,
    render: &RenderOutput,
) -> Result<Error, Error> {
    let plan = plan(render)?;
    let Some(build) = codebuild
        .release_build(&plan.project, &release.release_id)
        .await?
    else {
        return Ok(Error::MigrationTimedOut(format!(
            "the CodeBuild migration (project `{}`) did not finish within {} s (migration.timeout_seconds), and no build of it was found to stop",
            plan.project, plan.timeout_seconds
        )));
    };
    if build.status == "IN_PROGRESS" {
        codebuild.stop_build(&build.id).await?;
    }
    record(store, release, &build).await?;
    Ok(Error::MigrationTimedOut(format!(
        "CodeBuild build {} of project `{}` did not finish within {} s (migration.timeout_seconds); Stevedore stopped it; logs: {}",
        build.id,
        plan.project,
        plan.timeout_seconds,
        build.deep_link.as_deref().unwrap_or("none")
    )))
}

async fn record(store: &Store, release: &ReleaseSpec, build: &FinishedBuild) -> Result<(), Error> {
    let mut fields = vec![("migration_build_id", attr_s(&build.id))];
    if let Some(link) = &build.deep_link {
        fields.push(("migration_log_link", attr_s(link)));
    }
    store
        .set_release_fields(&release.app, &release.stage, &release.release_id, &fields)
        .await
}

/// The build id in a `.sync` failure's cause: `{"Build": {"Id": ..}}` or the bare build.
fn build_id_in_cause(cause: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(cause).ok()?;
    let build = value.get("Build").unwrap_or(&value);
    build
        .get("Id")
        .or_else(|| build.get("id"))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_build_id_in_a_sync_failure_cause() {
        let wrapped = r#"{"Build":{"Id":"migrate:abc","BuildStatus":"FAILED"}}"#;
        assert_eq!(build_id_in_cause(wrapped).as_deref(), Some("migrate:abc"));
        let bare = r#"{"id":"migrate:def","buildStatus":"FAULT"}"#;
        assert_eq!(build_id_in_cause(bare).as_deref(), Some("migrate:def"));
        assert_eq!(build_id_in_cause("Access denied"), None);
        assert_eq!(build_id_in_cause("{}"), None);
    }
}
