//! record: the release's lifecycle in the table. Takes the per-stage lock (IN_PROGRESS),
//! and at the end writes the terminal status with its reason, moves HEAD on success and
//! releases the lock, in one transaction.

use serde::{Deserialize, Serialize};
use stevedore_aws::store::{FinishOutcome, LockOutcome, ReleaseKey};
use stevedore_aws::Store;
use stevedore_core::release::{reason_for_failure, Release, ReleaseStatus};
use stevedore_core::Error;

use crate::runtime::{now, timestamp};
use crate::{HandlerError, ReleaseSpec, StateError};

/// A lock is a lease: if a release's execution dies without unlocking, the stage frees itself
/// after the longest the release could legitimately take, plus this margin.
const LEASE_MARGIN_SECONDS: i64 = 900;
const DEFAULT_LEASE_SECONDS: i64 = 3600;

#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum RecordRequest {
    AcquireLock {
        release: ReleaseSpec,
        execution_arn: String,
    },
    Succeed {
        release: ReleaseSpec,
    },
    Fail {
        release: ReleaseSpec,
        error: StateError,
    },
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Recorded {
    pub status: String,
    pub lock_released: bool,
}

pub async fn handle(store: &Store, request: RecordRequest) -> Result<Recorded, HandlerError> {
    match request {
        RecordRequest::AcquireLock {
            release,
            execution_arn,
        } => {
            let at = now();
            // A release started by hand (an execution of the deploy state machine, not a
            // push) has no record yet: create it, so it too ends in a terminal record.
            if store
                .create_release(&Release::new_pending(release.clone(), at))
                .await?
            {
                tracing::info!(release_id = %release.release_id, "release record created for a hand-started execution");
            }
            let lease = lease_seconds(store, &release).await;
            let outcome = store
                .acquire_lock(
                    key(&release),
                    &execution_arn,
                    at.timestamp() + lease,
                    at.timestamp(),
                    &timestamp(at),
                )
                .await?;
            match outcome {
                LockOutcome::Acquired => {
                    tracing::info!(release_id = %release.release_id, app = %release.app, stage = %release.stage, "lock acquired");
                    Ok(Recorded {
                        status: ReleaseStatus::InProgress.to_string(),
                        lock_released: false,
                    })
                }
                LockOutcome::HeldBy(holder) => Err(Error::LockHeld(format!(
                    "{}/{} is being deployed by release {holder}; release {} waits for it",
                    release.app, release.stage, release.release_id
                ))
                .into()),
                LockOutcome::ReleaseNotActive => Err(Error::InvalidInput(format!(
                    "release {} of {}/{} is no longer pending (superseded or already ended)",
                    release.release_id, release.app, release.stage
                ))
                .into()),
            }
        }
        RecordRequest::Succeed { release } => {
            let task_definition = store
                .get_release(&release.app, &release.stage, &release.release_id)
                .await?
                .and_then(|r| r.task_definition_arn);
            let outcome = store
                .finish_release(
                    key(&release),
                    ReleaseStatus::Succeeded,
                    None,
                    task_definition.as_deref(),
                    &timestamp(now()),
                )
                .await?;
            tracing::info!(release_id = %release.release_id, app = %release.app, stage = %release.stage, "release SUCCEEDED");
            Ok(recorded(ReleaseStatus::Succeeded, &outcome))
        }
        RecordRequest::Fail { release, error } => {
            let (status, reason) = reason_for_failure(&error.error, &error.cause);
            let outcome = store
                .finish_release(
                    key(&release),
                    status,
                    Some(&reason),
                    None,
                    &timestamp(now()),
                )
                .await?;
            tracing::warn!(release_id = %release.release_id, app = %release.app, stage = %release.stage,
                status = %status, reason = %reason, "release ended without success");
            Ok(recorded(status, &outcome))
        }
    }
}

fn key(release: &ReleaseSpec) -> ReleaseKey<'_> {
    ReleaseKey {
        app: &release.app,
        stage: &release.stage,
        release_id: &release.release_id,
    }
}

fn recorded(status: ReleaseStatus, outcome: &FinishOutcome) -> Recorded {
    Recorded {
        status: status.to_string(),
        lock_released: *outcome == FinishOutcome::Recorded,
    }
}

async fn lease_seconds(store: &Store, release: &ReleaseSpec) -> i64 {
    match store.get_app_config(&release.app).await {
        Ok(Some(config)) => {
            let migration = config
                .migration
                .as_ref()
                .map_or(0, |m| m.timeout_seconds as i64);
            let deploy = config
                .stages
                .get(&release.stage)
                .map_or(DEFAULT_LEASE_SECONDS, |s| s.deploy_timeout_seconds as i64);
            migration + deploy + LEASE_MARGIN_SECONDS
        }
        // The render step reports a missing config properly; the lease just needs a bound.
        _ => DEFAULT_LEASE_SECONDS,
    }
}
