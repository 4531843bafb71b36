//! Starting a release: its PENDING record, its place in the stage's line, and its deploy
//! execution (named after the release, so a repeated start is a no-op). Shared by on-push
//! and by the releases started by hand (rollback).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use stevedore_aws::sfn::StartOutcome;
use stevedore_aws::store::{attr_s, ReleaseKey};
use stevedore_aws::{StepFunctions, Store};
use stevedore_core::release::input::ExecutionArn;
use stevedore_core::release::{release_id, Release, ReleaseStatus, Trigger};
use stevedore_core::Error;

use crate::ReleaseSpec;

/// `true` when this call started the execution, `false` when it already existed.
pub(crate) async fn start_release(
    store: &Store,
    sfn: &StepFunctions,
    deploy_state_machine_arn: &str,
    input: &ReleaseSpec,
    at: DateTime<Utc>,
) -> Result<bool, Error> {
    let mut release = Release::new_pending(input.clone(), at);
    // The execution's ARN follows from its name: written with the release, it saves a write
    // after the start on the push's path (and the PENDING event already links the execution).
    release.execution_arn = ExecutionArn::of(deploy_state_machine_arn, &input.release_id);
    let created = store.create_release(&release).await?;
    if created {
        // In line for the stage before the execution starts, so a newer push sees it.
        let key = ReleaseKey {
            app: &input.app,
            stage: &input.stage,
            release_id: &input.release_id,
        };
        store.enqueue(key, &release.created_at).await?;
    }
    let payload = serde_json::to_string(input).map_err(|e| Error::InvalidInput(e.to_string()))?;
    // Start even when the release existed: an earlier attempt may have died between the two
    // writes. The execution name makes a real duplicate a no-op.
    match sfn
        .start_execution(deploy_state_machine_arn, &input.release_id, &payload)
        .await?
    {
        StartOutcome::Started { execution_arn } => {
            // Written again only when the release was not created here (an earlier attempt
            // wrote it) or the ARN differs from the one it was written with.
            if !created || release.execution_arn.as_deref() != Some(execution_arn.as_str()) {
                store
                    .set_release_fields(
                        &input.app,
                        &input.stage,
                        &input.release_id,
                        &[("execution_arn", attr_s(&execution_arn))],
                    )
                    .await?;
            }
            tracing::info!(app = %input.app, stage = %input.stage, release_id = %input.release_id,
                digest = %input.digest, trigger = %input.trigger, created, %execution_arn, "release started");
            Ok(true)
        }
        StartOutcome::AlreadyExists => {
            tracing::info!(app = %input.app, stage = %input.stage, release_id = %input.release_id,
                "release already started (a repeated start is a no-op)");
            Ok(false)
        }
    }
}

/// Release `wanted` of `app`/`stage` as read by its id (`found`), which must have SUCCEEDED:
/// only a release that proved itself is promoted or returned to.
pub(crate) fn succeeded_release(
    found: Option<Release>,
    app: &str,
    stage: &str,
    wanted: &str,
) -> Result<Release, Error> {
    let release = found.ok_or_else(|| {
        Error::InvalidInput(format!(
            "release {wanted} is not a release of {app}/{stage}"
        ))
    })?;
    if release.status != ReleaseStatus::Succeeded {
        return Err(Error::InvalidInput(format!(
            "release {wanted} is {}: only a release that SUCCEEDED can be used",
            release.status
        )));
    }
    Ok(release)
}

/// A request to a function that starts releases, made by a state machine execution: the
/// execution's start time fixes the new release's id, so a retried step (or a retried
/// invocation of the same execution) starts no second release.
#[derive(Debug, Deserialize)]
pub struct ByExecution<T> {
    pub request: T,
    /// `$$.Execution.StartTime`.
    pub execution_started_at: DateTime<Utc>,
}

/// Starts a new release of `stage` that redeploys `source` (its digest; for a rollback also its
/// task definition), with its id taken at `at`. Returns the new release's spec and whether
/// this call started it.
pub(crate) async fn start_from(
    starter: &ReleaseStarter,
    source: &Release,
    stage: &str,
    trigger: Trigger,
    redeploy_task_definition_arn: Option<String>,
    at: DateTime<Utc>,
) -> Result<(ReleaseSpec, bool), Error> {
    let spec = ReleaseSpec {
        release_id: release_id(
            &source.spec.app,
            stage,
            &source.spec.digest,
            at.timestamp_millis().max(0) as u64,
        ),
        stage: stage.to_string(),
        trigger,
        source_release_id: Some(source.spec.release_id.clone()),
        pushed_at: source.pushed_at_for(trigger),
        // A rollback of a multi-service stage puts back each service's own revision.
        redeploy_services: if redeploy_task_definition_arn.is_some() {
            source
                .services
                .iter()
                .map(|s| (s.service.clone(), s.task_definition_arn.clone()))
                .collect()
        } else {
            Default::default()
        },
        redeploy_task_definition_arn,
        ..source.spec.clone()
    };
    let started = start_release(
        &starter.store,
        &starter.sfn,
        &starter.deploy_state_machine_arn,
        &spec,
        at,
    )
    .await?;
    Ok((spec, started))
}

/// What a function that starts releases by hand (promote, rollback) needs.
pub struct ReleaseStarter {
    pub store: Store,
    pub sfn: StepFunctions,
    pub deploy_state_machine_arn: String,
}
