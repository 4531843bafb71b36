//! An execution of the deploy state machine that was stopped (ABORTED), timed out, or failed
//! without recording an outcome leaves its release non-terminal and may hold its stage. Step
//! Functions reports every end on EventBridge ("Step Functions Execution Status Change",
//! https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html); a rule sends the
//! deploy state machine's ABORTED / FAILED / TIMED_OUT ones here, and this records the
//! release's end and frees its lock and its place in line.

use serde::Deserialize;
use stevedore_aws::store::FinishOutcome;
use stevedore_core::release::ReleaseStatus;
use stevedore_core::{Error, ReleaseSpec};

use crate::record::{key, Record, Recorded};
use crate::runtime::{now, timestamp};

/// The `detail` of a "Step Functions Execution Status Change" event (the fields used).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionStatusChange {
    pub execution_arn: String,
    pub status: String,
    /// The execution's input, as a JSON string.
    #[serde(default)]
    pub input: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
}

pub async fn handle(ctx: &Record, change: ExecutionStatusChange) -> Result<Recorded, Error> {
    let ignored = |why: &str| {
        tracing::info!(execution_arn = %change.execution_arn, status = %change.status, why, "execution end ignored");
        Ok(Recorded {
            status: "IGNORED".into(),
            lock_released: false,
        })
    };
    let status = match change.status.as_str() {
        "ABORTED" => ReleaseStatus::Aborted,
        "FAILED" | "TIMED_OUT" => ReleaseStatus::Failed,
        _ => return ignored("not an abnormal end"),
    };
    let Some(release) = change
        .input
        .as_deref()
        .and_then(|input| serde_json::from_str::<ReleaseSpec>(input).ok())
    else {
        return ignored("its input is not a release (rejected before anything was recorded)");
    };
    let details = [change.error.as_deref(), change.cause.as_deref()]
        .into_iter()
        .flatten()
        .filter(|text| !text.is_empty())
        .collect::<Vec<_>>()
        .join(": ");
    let what = match change.status.as_str() {
        "ABORTED" => "its execution was stopped (ABORTED)",
        "TIMED_OUT" => "its execution timed out",
        _ => "its execution failed without recording an outcome",
    };
    let reason = if details.is_empty() {
        format!("{what}; Stevedore freed the stage")
    } else {
        format!("{what}: {details}; Stevedore freed the stage")
    };
    let outcome = ctx
        .store
        .finish_release(
            key(&release),
            &change.execution_arn,
            status,
            Some(&reason),
            None,
            &timestamp(now()),
        )
        .await;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        // It recorded its own end; only the unlock may have been lost.
        Err(Error::InvalidInput(_)) => {
            ctx.store
                .free_lock(
                    &release.app,
                    &release.stage,
                    &release.release_id,
                    &change.execution_arn,
                )
                .await?;
            return ignored("the release already has a terminal record");
        }
        Err(e) => return Err(e),
    };
    tracing::warn!(release_id = %release.release_id, app = %release.app, stage = %release.stage,
        %status, %reason, ?outcome, "release ended by its execution's end");
    Ok(Recorded {
        status: match outcome {
            FinishOutcome::NotOurs | FinishOutcome::Missing => "NOT_RECORDED".into(),
            _ => status.to_string(),
        },
        lock_released: outcome == FinishOutcome::Recorded,
    })
}
