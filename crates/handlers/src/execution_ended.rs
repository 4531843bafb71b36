//! An execution of the deploy state machine that was stopped (ABORTED), timed out, or failed
//! without recording an outcome leaves its release non-terminal and may hold its stage. Step
//! Functions reports every end on EventBridge ("Step Functions Execution Status Change",
//! https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html); a rule sends the
//! deploy state machine's ABORTED / FAILED / TIMED_OUT ones here, and this records the
//! release's end and frees its lock and its place in line.
//!
//! The event's documented examples carry the execution's `input` (left out, with
//! `inputDetails.included: false`, when input and output together pass 248 KB) but no
//! `error` or `cause`; the page says the detail holds what DescribeExecution answers. So the
//! error and cause are used when the event has them and read with DescribeExecution when it
//! does not, as is an input the event left out (the sample is `events/sfn-execution-*.json`).

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
    /// Whether `input` was left out (too large for the event).
    #[serde(default)]
    pub input_details: Option<PayloadDetails>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
}

/// `inputDetails` / `outputDetails`: whether the payload is in the event.
#[derive(Debug, Deserialize)]
pub struct PayloadDetails {
    #[serde(default)]
    pub included: bool,
}

impl ExecutionStatusChange {
    /// The error and cause are not in the documented event, and the input may be left out:
    /// either way DescribeExecution has them.
    fn needs_describe(&self) -> bool {
        self.input.is_none() || (self.error.is_none() && self.cause.is_none())
    }
}

pub async fn handle(ctx: &Record, mut change: ExecutionStatusChange) -> Result<Recorded, Error> {
    let (execution_arn, ended_as) = (change.execution_arn.clone(), change.status.clone());
    let ignored = |why: &str| {
        tracing::info!(%execution_arn, status = %ended_as, why, "execution end ignored");
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
    if change.needs_describe() {
        if let Some(end) = ctx.sfn.execution_end(&change.execution_arn).await? {
            change.input = change.input.or(end.input);
            change.error = change.error.or(end.error);
            change.cause = change.cause.or(end.cause);
        }
    }
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
