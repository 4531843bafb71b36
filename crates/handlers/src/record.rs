//! record: the release's lifecycle in the table. Takes the per-stage lock (IN_PROGRESS),
//! proves it still holds it before anything changes (fencing), parks the approval gate, and
//! at the end writes the terminal status with its reason, moves HEAD on success and
//! releases the lock, in one transaction. It also hears Step Functions' "Execution Status
//! Change" events, so an execution that was stopped or died still leaves a record, and the
//! release table's stream, whose release transitions it puts on the default bus as release
//! events with their metrics (`release_events`).

use serde::{Deserialize, Serialize};
use stevedore_aws::store::{attr_s, FinishOutcome, ReleaseKey};
use stevedore_aws::{EventBus, StepFunctions, Store};
use stevedore_core::release::{reason_for_failure, ReleaseStatus};
use stevedore_core::Error;

use crate::runtime::{now, timestamp};
use crate::stage_lock::{acquire, fence, Lease};
use crate::{HandlerError, ReleaseSpec, RenderOutput, StateError};

pub struct Record {
    pub store: Store,
    pub sfn: StepFunctions,
    /// The default bus, for release events.
    pub events: EventBus,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum RecordRequest {
    /// Validates a (possibly hand-written) input, then takes the stage or waits for it.
    AcquireLock {
        release: ReleaseSpec,
        execution_arn: String,
    },
    /// Before the migration: proves the release still holds the stage and extends the lease
    /// over the migration and the rollout.
    Fence {
        release: ReleaseSpec,
        execution_arn: String,
        render: RenderOutput,
    },
    /// Parks the approval gate's task token on the release until a person decides (after
    /// proving it holds the stage, with the lease extended over the approval timeout).
    AwaitApproval {
        release: ReleaseSpec,
        task_token: String,
        execution_arn: String,
        render: RenderOutput,
    },
    Succeed {
        release: ReleaseSpec,
        execution_arn: String,
    },
    Fail {
        release: ReleaseSpec,
        error: StateError,
        execution_arn: String,
    },
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Recorded {
    pub status: String,
    pub lock_released: bool,
}

/// What record answers: a step's outcome, or which stream records to retry.
#[derive(Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum RecordOutput {
    Recorded(Recorded),
    Stream(aws_lambda_events::streams::DynamoDbEventResponse),
}

impl From<Recorded> for RecordOutput {
    fn from(recorded: Recorded) -> Self {
        RecordOutput::Recorded(recorded)
    }
}

/// The function's input: a state machine step's request, a Step Functions execution status
/// change event from EventBridge, or a batch of the release table's stream records.
pub async fn handle_event(
    ctx: &Record,
    event: serde_json::Value,
) -> Result<RecordOutput, HandlerError> {
    if event.get("Records").is_some_and(|r| r.is_array()) {
        let batch = serde_json::from_value(event)
            .map_err(|e| Error::InvalidInput(format!("malformed DynamoDB stream batch: {e}")))?;
        let answer = crate::release_events::handle(&ctx.events, &ctx.store, batch).await;
        return Ok(RecordOutput::Stream(answer));
    }
    handle_step(ctx, event).await.map(RecordOutput::from)
}

async fn handle_step(ctx: &Record, event: serde_json::Value) -> Result<Recorded, HandlerError> {
    if event.get("detail-type").and_then(|t| t.as_str())
        == Some("Step Functions Execution Status Change")
    {
        let detail = serde_json::from_value(event["detail"].clone()).map_err(|e| {
            Error::InvalidInput(format!("malformed execution status change event: {e}"))
        })?;
        return Ok(crate::execution_ended::handle(ctx, detail).await?);
    }
    let request = serde_json::from_value(event)
        .map_err(|e| Error::InvalidInput(format!("malformed record request: {e}")))?;
    handle(ctx, request).await
}

pub async fn handle(ctx: &Record, request: RecordRequest) -> Result<Recorded, HandlerError> {
    let store = &ctx.store;
    match request {
        RecordRequest::AcquireLock {
            release,
            execution_arn,
        } => Ok(acquire(ctx, &release, &execution_arn, now()).await?),
        RecordRequest::Fence {
            release,
            execution_arn,
            render,
        } => {
            let lease = Lease::for_rollout(&render);
            fence(store, &release, &execution_arn, lease, false).await?;
            Ok(in_progress())
        }
        RecordRequest::AwaitApproval {
            release,
            task_token,
            execution_arn,
            render,
        } => {
            let lease = Lease::for_approval(&render);
            fence(store, &release, &execution_arn, lease, true).await?;
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
            Ok(in_progress())
        }
        RecordRequest::Succeed {
            release,
            execution_arn,
        } => {
            let task_definition = store
                .get_release(&release.app, &release.stage, &release.release_id)
                .await?
                .and_then(|r| r.task_definition_arn);
            let outcome = store
                .finish_release(
                    key(&release),
                    &execution_arn,
                    ReleaseStatus::Succeeded,
                    None,
                    task_definition.as_deref(),
                    &timestamp(now()),
                )
                .await?;
            tracing::info!(release_id = %release.release_id, app = %release.app, stage = %release.stage, ?outcome, "release SUCCEEDED");
            Ok(recorded(ReleaseStatus::Succeeded, &outcome))
        }
        RecordRequest::Fail {
            release,
            error,
            execution_arn,
        } => {
            let (status, reason) = reason_for_failure(&error.error, &error.cause);
            let outcome = store
                .finish_release(
                    key(&release),
                    &execution_arn,
                    status,
                    Some(&reason),
                    None,
                    &timestamp(now()),
                )
                .await?;
            tracing::warn!(release_id = %release.release_id, app = %release.app, stage = %release.stage,
                status = %status, reason = %reason, ?outcome, "release ended without success");
            Ok(recorded(status, &outcome))
        }
    }
}

pub(crate) fn key(release: &ReleaseSpec) -> ReleaseKey<'_> {
    ReleaseKey {
        app: &release.app,
        stage: &release.stage,
        release_id: &release.release_id,
    }
}

fn in_progress() -> Recorded {
    Recorded {
        status: ReleaseStatus::InProgress.to_string(),
        lock_released: false,
    }
}

fn recorded(status: ReleaseStatus, outcome: &FinishOutcome) -> Recorded {
    Recorded {
        status: match outcome {
            // Nothing of ours was written: say so rather than claim a status.
            FinishOutcome::NotOurs | FinishOutcome::Missing => "NOT_RECORDED".to_string(),
            _ => status.to_string(),
        },
        lock_released: *outcome == FinishOutcome::Recorded,
    }
}
