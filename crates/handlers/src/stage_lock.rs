//! Taking a stage, keeping it, and proving it is still ours. The lock on a stage's HEAD is a
//! lease held by (release id, execution); each wait the release enters extends it, and each
//! step that changes something first proves it with a conditional write (a fence).

use chrono::{DateTime, Utc};
use stevedore_aws::store::{FenceOutcome, LockOutcome, ReleaseKey};
use stevedore_aws::Store;
use stevedore_core::lock::{decide_lock, ConcurrencyPolicy, LockDecision, ReleaseOrder, StageLock};
use stevedore_core::release::input::{validate_release_fields, ExecutionArn};
use stevedore_core::release::{Release, ReleaseStatus};
use stevedore_core::Error;

use crate::record::{key, Record, Recorded};
use crate::runtime::{now, timestamp};
use crate::{ReleaseSpec, RenderOutput};

/// Every lease runs this much past the longest its wait may legitimately take.
const LEASE_MARGIN_SECONDS: i64 = 900;
/// The lease taken with the lock: it covers rendering, after which a fence extends it.
const ACQUIRE_LEASE_SECONDS: i64 = 900;
/// How often to re-read HEAD when it changes between reading and writing.
const HEAD_RACE_ATTEMPTS: usize = 5;
/// A waiter whose execution does not exist yet may be a push whose StartExecution is still
/// on its way; after this long it never started.
const START_GRACE_SECONDS: i64 = 300;

/// How long a lease lasts from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lease(i64);

impl Lease {
    /// The migration (if any) and the rollout, each bounded by its timeout.
    pub(crate) fn for_rollout(render: &RenderOutput) -> Lease {
        let migration = render
            .migration
            .as_ref()
            .map(|m| m.timeout_seconds)
            .or(render.build_migration.as_ref().map(|m| m.timeout_seconds))
            .unwrap_or(0);
        Lease((migration + render.deploy_timeout_seconds) as i64 + LEASE_MARGIN_SECONDS)
    }

    /// The approval gate, bounded by the stage's approval timeout.
    pub(crate) fn for_approval(render: &RenderOutput) -> Lease {
        Lease(render.approval_timeout_seconds as i64 + LEASE_MARGIN_SECONDS)
    }

    /// An ECS deployment (ours, or the restore of the previous task definition).
    pub(crate) fn for_deployment(deploy_timeout_seconds: u64) -> Lease {
        Lease(deploy_timeout_seconds as i64 + LEASE_MARGIN_SECONDS)
    }

    fn until(self, at: DateTime<Utc>) -> i64 {
        at.timestamp() + self.0
    }
}

/// Proves `release` (run by `execution_arn`) still holds its stage and extends the lease;
/// otherwise the error says who took it, and the caller must change nothing.
pub(crate) async fn fence(
    store: &Store,
    release: &ReleaseSpec,
    execution_arn: &str,
    lease: Lease,
    awaiting_approval: bool,
) -> Result<(), Error> {
    let outcome = store
        .fence(
            key(release),
            execution_arn,
            lease.until(now()),
            awaiting_approval,
        )
        .await?;
    let (app, stage, id) = (&release.app, &release.stage, &release.release_id);
    match outcome {
        FenceOutcome::Held => Ok(()),
        FenceOutcome::Lost {
            holder: Some(holder),
        } if holder.as_str() > id.as_str() => Err(Error::Superseded(format!(
            "release {id} lost {app}/{stage} to the newer release {holder} (its lease had lapsed); nothing was changed"
        ))),
        FenceOutcome::Lost { holder } => Err(Error::LockLost(format!(
            "release {id} no longer holds {app}/{stage} (held by {}); its lease lapsed or another execution claims it, so nothing was changed",
            holder.as_deref().unwrap_or("nobody")
        ))),
    }
}

/// Checks a deploy execution's input. A malformed identity (release id, names, digest) is
/// refused before anything is recorded; a well-formed release of an app or stage that is not
/// configured is recorded FAILED (`AppNotFound` / `StageNotFound`), like any release that
/// started; an image or task definition the release may not deploy is refused unrecorded.
/// Answers the stage's concurrency policy and order (the config is read once).
async fn validate(
    store: &Store,
    release: &ReleaseSpec,
    execution: &ExecutionArn<'_>,
    at: DateTime<Utc>,
) -> Result<(ConcurrencyPolicy, ReleaseOrder), Error> {
    validate_release_fields(release, execution, at.timestamp_millis().max(0) as u64)?;
    // A transient error reading the config is retried, never taken as "no config".
    let config = store.get_app_config(&release.app).await?;
    let (repository, policy) = match &config {
        Some(config) => match config.stages.get(&release.stage) {
            Some(stage) => (config.repository.clone(), (stage.concurrency, stage.order)),
            None => {
                create_record(store, release, at).await?;
                return Err(Error::StageNotFound {
                    app: release.app.clone(),
                    stage: release.stage.clone(),
                });
            }
        },
        None => {
            create_record(store, release, at).await?;
            return Err(Error::AppNotFound(release.app.clone()));
        }
    };
    crate::targets::validate_image(release, execution, &repository, config.as_ref())?;
    if release.redeploy_task_definition_arn.is_none() && !release.redeploy_services.is_empty() {
        return Err(Error::InvalidInput(
            "redeploy_services is only accepted with redeploy_task_definition_arn (a rollback)"
                .into(),
        ));
    }
    if let Some(redeploy) = &release.redeploy_task_definition_arn {
        let invalid = || {
            Error::InvalidInput(format!(
                "redeploy_task_definition_arn: {redeploy} is not the task definition of a SUCCEEDED release of {}/{} named by source_release_id",
                release.app, release.stage
            ))
        };
        let source = release.source_release_id.as_deref().ok_or_else(invalid)?;
        let proven = store
            .get_release(&release.app, &release.stage, source)
            .await?
            .is_some_and(|r| {
                r.status == ReleaseStatus::Succeeded
                    && r.task_definition_arn.as_deref() == Some(redeploy.as_str())
                    && release.redeploy_services.iter().all(|(service, arn)| {
                        r.services
                            .iter()
                            .any(|s| s.service == *service && s.task_definition_arn == *arn)
                    })
            });
        if !proven {
            return Err(invalid());
        }
    }
    Ok(policy)
}

/// A release started by hand (an execution of the deploy state machine, not a push) has no
/// record yet: create it, so it too ends in a terminal record.
async fn create_record(
    store: &Store,
    release: &ReleaseSpec,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    if store
        .create_release(&Release::new_pending(release.clone(), at))
        .await?
    {
        tracing::info!(release_id = %release.release_id, "release record created for a hand-started execution");
    }
    Ok(())
}

/// Reads HEAD, decides by the stage's policy, and writes the decision only if HEAD is
/// unchanged; a concurrent change (a newer push queued) means reading and deciding again.
pub(crate) async fn acquire(
    ctx: &Record,
    release: &ReleaseSpec,
    execution_arn: &str,
    at: DateTime<Utc>,
) -> Result<Recorded, Error> {
    let store = &ctx.store;
    let execution = ExecutionArn::parse(execution_arn)?;
    let (policy, order) = validate(store, release, &execution, at).await?;
    create_record(store, release, at).await?;
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
        // The holder's execution ended without freeing the stage (its status change event
        // was lost): free it now rather than wait out the lease.
        if let (Some(holder), Some(holder_execution)) = (live_holder, &head.lock_execution_arn) {
            if holder != release.release_id && !execution_alive(ctx, holder_execution).await? {
                reap(ctx, release, holder, holder_execution, at).await?;
                continue;
            }
        }
        let lock = StageLock {
            holder: live_holder,
            waiting: &head.waiting,
            current: head.current_release.as_deref(),
        };
        let versions = crate::release_order::versions(store, release, &lock, order).await?;
        let precedence = crate::release_order::precedence(order, &versions);
        let decision = decide_lock(policy, &precedence, &release.release_id, &lock);
        if let LockDecision::Wait { behind: other } | LockDecision::Supersede { by: other } =
            &decision
        {
            if head.waiting.contains(other)
                && !still_waiting(ctx, release, other, execution_arn, at).await?
            {
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
                    "superseded by the {} {by} while waiting for the stage (policy {policy}); nothing was changed",
                    crate::release_order::newer(order)
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
                at.timestamp() + ACQUIRE_LEASE_SECONDS,
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
                return match current {
                    // A retry of a call that already superseded it.
                    Some(r) if r.status == ReleaseStatus::Superseded => Ok(Recorded {
                        status: ReleaseStatus::Superseded.to_string(),
                        lock_released: false,
                    }),
                    Some(r) if r.execution_arn.as_deref().is_some_and(|a| a != execution_arn) => {
                        Err(Error::InvalidInput(format!(
                            "release_id: release {} of {}/{} belongs to execution {}; another execution cannot take the stage with it",
                            release.release_id, release.app, release.stage,
                            r.execution_arn.unwrap_or_default()
                        )))
                    }
                    other => Err(Error::InvalidInput(format!(
                        "release {} of {}/{} is no longer pending ({}); it cannot take the stage",
                        release.release_id,
                        release.app,
                        release.stage,
                        other.map_or("missing".to_string(), |r| r.status.to_string())
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

/// Whether `execution_arn` is still running (an unknown one counts as ended).
async fn execution_alive(ctx: &Record, execution_arn: &str) -> Result<bool, Error> {
    Ok(ctx.sfn.execution_status(execution_arn).await?.as_deref() == Some("RUNNING"))
}

/// Whether a release in the waiting set is really still waiting: PENDING, with an execution
/// that runs (or is young enough to be still starting). One that is not is taken out of
/// line (and ended ABORTED if it was still PENDING); `false` means decide again.
async fn still_waiting(
    ctx: &Record,
    release: &ReleaseSpec,
    other: &str,
    my_execution: &str,
    at: DateTime<Utc>,
) -> Result<bool, Error> {
    let store = &ctx.store;
    let stale = ReleaseKey {
        app: &release.app,
        stage: &release.stage,
        release_id: other,
    };
    let Some(waiter) = store
        .get_release(&release.app, &release.stage, other)
        .await?
    else {
        store.leave_queue(stale, &timestamp(at)).await?;
        return Ok(false);
    };
    if waiter.status != ReleaseStatus::Pending {
        // It ended without ever taking the stage: it no longer counts.
        store.leave_queue(stale, &timestamp(at)).await?;
        return Ok(false);
    }
    let execution = waiter
        .execution_arn
        .clone()
        .or_else(|| ExecutionArn::sibling(my_execution, other))
        .unwrap_or_default();
    let status = ctx.sfn.execution_status(&execution).await?;
    let young = DateTime::parse_from_rfc3339(&waiter.created_at)
        .map(|created| (at.timestamp() - created.timestamp()) < START_GRACE_SECONDS)
        .unwrap_or(false);
    let why = match status.as_deref() {
        Some("RUNNING") => return Ok(true),
        None if young => return Ok(true),
        None => format!("its execution never started within {START_GRACE_SECONDS} s"),
        Some(ended) => format!("its execution ended {ended} before it took the stage"),
    };
    let reason = format!("{why}; nothing was changed");
    store
        .finish_release(
            stale,
            &execution,
            ReleaseStatus::Aborted,
            Some(&reason),
            None,
            &timestamp(at),
        )
        .await?;
    store.leave_queue(stale, &timestamp(at)).await?;
    tracing::warn!(release_id = %other, %reason, "ghost waiter reaped");
    Ok(false)
}

/// Ends the holder whose execution is gone ABORTED and frees the stage.
async fn reap(
    ctx: &Record,
    release: &ReleaseSpec,
    holder: &str,
    holder_execution: &str,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    let reason = "its execution ended without recording an outcome (stopped, timed out or failed); Stevedore freed the stage";
    let outcome = ctx
        .store
        .finish_release(
            ReleaseKey {
                app: &release.app,
                stage: &release.stage,
                release_id: holder,
            },
            holder_execution,
            ReleaseStatus::Aborted,
            Some(reason),
            None,
            &timestamp(at),
        )
        .await;
    match outcome {
        Ok(outcome) => {
            tracing::warn!(release_id = %holder, ?outcome, "lock of a dead execution freed")
        }
        // Its record is terminal but the lock stayed (the unlock was lost): free it alone.
        Err(Error::InvalidInput(why)) => {
            ctx.store
                .free_lock(&release.app, &release.stage, holder, holder_execution)
                .await?;
            tracing::warn!(release_id = %holder, %why, "lock of an ended release freed");
        }
        Err(e) => return Err(e),
    }
    Ok(())
}
