//! approve: a person's decision at a release's approval gate. `approve` lets the waiting
//! deploy execution go on to its migration and rollout; `reject` ends the release FAILED
//! with the reason given, before anything changed.

use serde::{Deserialize, Serialize};
use stevedore_aws::store::attr_s;
use stevedore_aws::{StepFunctions, Store};
use stevedore_core::release::ReleaseStatus;
use stevedore_core::Error;

use crate::runtime::{now, timestamp};
use crate::HandlerError;

pub struct Approve {
    pub store: Store,
    pub sfn: StepFunctions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

/// The approve state machine's input (`events/approve.json`).
#[derive(Debug, Deserialize)]
pub struct ApproveRequest {
    pub app: String,
    pub stage: String,
    pub decision: Decision,
    /// The release to decide on; default: the one holding the stage (the one waiting).
    #[serde(default)]
    pub release: Option<String>,
    #[serde(default)]
    pub by: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Decided {
    pub release_id: String,
    pub decision: Decision,
}

pub async fn handle(ctx: &Approve, request: ApproveRequest) -> Result<Decided, HandlerError> {
    let (app, stage) = (&request.app, &request.stage);
    let head = ctx.store.head(app, stage).await?.unwrap_or_default();
    // Without a release id: the one parked at the gate (which holds the stage), never
    // merely the lock holder, which may be deploying.
    let release_id = match &request.release {
        Some(id) => id.clone(),
        None => head.awaiting_approval.clone().ok_or_else(|| {
            Error::InvalidInput(format!(
                "no release of {app}/{stage} is waiting for approval"
            ))
        })?,
    };
    let release = ctx
        .store
        .get_release(app, stage, &release_id)
        .await?
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "release {release_id} of {app}/{stage} does not exist"
            ))
        })?;
    let parked = release.status == ReleaseStatus::InProgress
        && head.lock_holder.as_deref() == Some(release_id.as_str());
    let token =
        release
            .approval_task_token
            .filter(|_| parked)
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                "release {release_id} of {app}/{stage} is not waiting for approval (it is {}{})",
                release.status,
                if parked { "" } else { " and does not hold the stage" }
            ))
            })?;
    let by = request.by.as_deref().unwrap_or("someone");
    let reason = request.reason.as_deref().unwrap_or("no reason given");
    let decision = match request.decision {
        Decision::Approve => {
            let output = serde_json::json!({"decision": "approved", "by": by});
            ctx.sfn.send_task_success(&token, &output).await?;
            format!("approved by {by}")
        }
        Decision::Reject => {
            let cause =
                format!("rejected at the approval gate by {by}: {reason}; nothing was changed");
            ctx.sfn
                .send_task_failure(&token, "ApprovalRejected", &cause)
                .await?;
            format!("rejected by {by}: {reason}")
        }
    };
    ctx.store
        .remove_release_fields(app, stage, &release_id, &["approval_task_token"])
        .await?;
    ctx.store
        .clear_awaiting_approval(app, stage, &release_id)
        .await?;
    ctx.store
        .set_release_fields(
            app,
            stage,
            &release_id,
            &[
                ("approval_decision", attr_s(&decision)),
                ("approval_decided_at", attr_s(timestamp(now()))),
            ],
        )
        .await?;
    tracing::info!(%release_id, %decision, "approval decided");
    Ok(Decided {
        release_id,
        decision: request.decision,
    })
}
