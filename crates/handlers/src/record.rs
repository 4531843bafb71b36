//! record: the release's lifecycle in the table. Takes the per-stage lock (IN_PROGRESS),
//! and at the end writes the terminal status with its reason, moves HEAD on success and
//! releases the lock, in one transaction.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stevedore_aws::store::{attr_s, FinishOutcome, LockOutcome, ReleaseKey};
use stevedore_aws::Store;
use stevedore_core::lock::{decide_lock, LockDecision, StageLock};
use stevedore_core::release::{reason_for_failure, Release, ReleaseStatus};
use stevedore_core::Error;

use crate::runtime::{now, timestamp};
use crate::{HandlerError, ReleaseSpec, StateError};

/// A lock is a lease: if a release's execution dies without unlocking, the stage frees itself
/// after the longest the release could legitimately take, plus this margin.
const LEASE_MARGIN_SECONDS: i64 = 900;
const DEFAULT_LEASE_SECONDS: i64 = 3600;
/// How often to re-read HEAD when it changes between reading and writing.
const HEAD_RACE_ATTEMPTS: usize = 5;

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
    /// Parks the approval gate's task token on the release until a person decides.
    AwaitApproval {
        release: ReleaseSpec,
        task_token: String,
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
            Ok(acquire(store, &release, &execution_arn, at).await?)
        }
        RecordRequest::AwaitApproval {
            release,
            task_token,
        } => {
            store
                .set_release_fields(
                    &release.app,
                    &release.stage,
                    &release.release_id,
                    &[
                        ("approval_task_token", attr_s(task_token)),
                        ("approval_requested_at", attr_s(timestamp(now()))),
                    ],
                )
                .await?;
            tracing::info!(release_id = %release.release_id, app = %release.app, stage = %release.stage, "waiting for approval");
            Ok(Recorded {
                status: ReleaseStatus::InProgress.to_string(),
                lock_released: false,
            })
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

/// Whether a release in the waiting set is really still waiting (PENDING).
async fn still_waiting(store: &Store, release: &ReleaseSpec, other: &str) -> Result<bool, Error> {
    let other = store
        .get_release(&release.app, &release.stage, other)
        .await?;
    Ok(other.is_some_and(|r| r.status == ReleaseStatus::Pending))
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

/// Reads HEAD, decides by the stage's policy, and writes the decision only if HEAD is
/// unchanged; a concurrent change (a newer push queued) means reading and deciding again.
async fn acquire(
    store: &Store,
    release: &ReleaseSpec,
    execution_arn: &str,
    at: DateTime<Utc>,
) -> Result<Recorded, Error> {
    let config = store.get_app_config(&release.app).await.ok().flatten();
    let stage = config.as_ref().and_then(|c| c.stages.get(&release.stage));
    let policy = stage.map(|s| s.concurrency).unwrap_or_default();
    let lease = match (&config, stage) {
        (Some(config), Some(stage)) => {
            config
                .migration
                .as_ref()
                .map_or(0, |m| m.timeout_seconds as i64)
                + stage.deploy_timeout_seconds as i64
                + LEASE_MARGIN_SECONDS
        }
        // The render step reports a missing config properly; the lease just needs a bound.
        _ => DEFAULT_LEASE_SECONDS,
    };
    for _ in 0..HEAD_RACE_ATTEMPTS {
        let mut head = store
            .head(&release.app, &release.stage)
            .await?
            .unwrap_or_default();
        if head.lock_holder.as_deref() != Some(release.release_id.as_str())
            && !head.waiting.contains(&release.release_id)
        {
            // Pushes are queued by on-push; a hand-started release joins the line here.
            store.enqueue(key(release), &timestamp(at)).await?;
            head = store
                .head(&release.app, &release.stage)
                .await?
                .unwrap_or_default();
        }
        let live_holder = head.lock_holder.as_deref().filter(|_| {
            head.lock_expires_at
                .is_some_and(|lease| lease >= at.timestamp())
        });
        let lock = StageLock {
            holder: live_holder,
            waiting: &head.waiting,
            current: head.current_release.as_deref(),
        };
        let decision = decide_lock(policy, &release.release_id, &lock);
        if let LockDecision::Wait { behind: other } | LockDecision::Supersede { by: other } =
            &decision
        {
            if head.waiting.contains(other) && !still_waiting(store, release, other).await? {
                // It ended without ever taking the stage: it no longer counts.
                let stale = ReleaseKey {
                    app: &release.app,
                    stage: &release.stage,
                    release_id: other,
                };
                store.leave_queue(stale, &timestamp(at)).await?;
                continue;
            }
        }
        match decision {
            LockDecision::Wait { behind } => {
                return Err(Error::LockHeld(format!(
                    "{}/{} is busy with release {behind}; release {} waits (policy {policy})",
                    release.app, release.stage, release.release_id
                )))
            }
            LockDecision::Supersede { by } => {
                let reason = format!(
                    "superseded by the newer push {by} while waiting for the stage (policy {policy}); nothing was changed"
                );
                store
                    .supersede(key(release), &reason, &timestamp(at))
                    .await?;
                tracing::info!(release_id = %release.release_id, %by, "release superseded");
                return Ok(Recorded {
                    status: ReleaseStatus::Superseded.to_string(),
                    lock_released: false,
                });
            }
            LockDecision::Acquire => {}
        }
        let outcome = store
            .acquire_lock(
                key(release),
                execution_arn,
                at.timestamp() + lease,
                at.timestamp(),
                &timestamp(at),
                head.version,
            )
            .await?;
        match outcome {
            LockOutcome::Acquired => {
                tracing::info!(release_id = %release.release_id, app = %release.app, stage = %release.stage, "lock acquired");
                return Ok(Recorded {
                    status: ReleaseStatus::InProgress.to_string(),
                    lock_released: false,
                });
            }
            LockOutcome::HeadChanged => continue,
            LockOutcome::ReleaseNotActive => {
                let current = store
                    .get_release(&release.app, &release.stage, &release.release_id)
                    .await?;
                return match current.map(|r| r.status) {
                    // A retry of a call that already superseded it.
                    Some(ReleaseStatus::Superseded) => Ok(Recorded {
                        status: ReleaseStatus::Superseded.to_string(),
                        lock_released: false,
                    }),
                    status => Err(Error::InvalidInput(format!(
                        "release {} of {}/{} is no longer pending ({}); it cannot take the stage",
                        release.release_id,
                        release.app,
                        release.stage,
                        status.map_or("missing".to_string(), |s| s.to_string())
                    ))),
                };
            }
        }
    }
    Err(Error::LockHeld(format!(
        "{}/{}: the stage's HEAD kept changing; release {} tries again",
        release.app, release.stage, release.release_id
    )))
}
