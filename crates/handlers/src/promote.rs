//! promote: deploys the exact image a release of one stage proved to another stage. The new
//! release (trigger `promote`) carries the same digest and goes through the whole deploy
//! state machine for the target stage: rendered with that stage's own secrets and settings,
//! migrated, rolled out, recorded.

use serde::{Deserialize, Serialize};
use stevedore_core::release::{ReleaseStatus, Trigger};
use stevedore_core::Error;

use crate::starter::{start_from, succeeded_release, ByExecution, ReleaseStarter};
use crate::HandlerError;

/// Promote starts releases by hand.
pub type Promote = ReleaseStarter;

/// The promote state machine's input (`events/promote.json`).
#[derive(Debug, Deserialize)]
pub struct PromoteRequest {
    pub app: String,
    pub from: String,
    pub to: String,
    /// The release of `from` to promote; default: its newest SUCCEEDED release.
    #[serde(default)]
    pub release: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct PromoteStarted {
    pub release_id: String,
    pub source_release_id: String,
    pub digest: String,
    pub started: bool,
}

/// The promote function's input: a promotion (the promote state machine), or a retry (the
/// retry state machine passes `"action": "retry"`).
pub async fn handle_event(
    ctx: &Promote,
    event: serde_json::Value,
) -> Result<serde_json::Value, HandlerError> {
    let invalid = |e: serde_json::Error| Error::InvalidInput(format!("malformed request: {e}"));
    let answer = if event.get("action").and_then(|a| a.as_str()) == Some("retry") {
        let input = serde_json::from_value(event).map_err(invalid)?;
        serde_json::to_value(crate::retry::handle(ctx, input).await?)
    } else {
        let input = serde_json::from_value(event).map_err(invalid)?;
        serde_json::to_value(handle(ctx, input).await?)
    };
    Ok(answer.map_err(|e| Error::InvalidInput(format!("cannot encode the answer: {e}")))?)
}

pub async fn handle(
    ctx: &Promote,
    input: ByExecution<PromoteRequest>,
) -> Result<PromoteStarted, HandlerError> {
    let ByExecution {
        request,
        execution_started_at,
    } = input;
    let PromoteRequest {
        app,
        from,
        to,
        release,
    } = &request;
    let config = ctx
        .store
        .get_app_config(app)
        .await?
        .ok_or_else(|| Error::AppNotFound(app.clone()))?;
    for stage in [from, to] {
        if !config.stages.contains_key(stage) {
            return Err(Error::StageNotFound {
                app: app.clone(),
                stage: stage.clone(),
            }
            .into());
        }
    }
    if !config.stages[to].promote_from.contains(from) {
        return Err(Error::InvalidInput(format!(
            "stage `{to}` of app `{app}` does not list `{from}` in `promote_from`; add it to stevedore.yaml to allow this promotion"
        ))
        .into());
    }
    // By id when named; else newest first, page after page, however many releases failed since.
    let source = match release {
        Some(wanted) => {
            let found = ctx.store.get_release(app, from, wanted).await?;
            succeeded_release(found, app, from, wanted)?
        }
        None => ctx
            .store
            .find_release(app, from, |r| r.status == ReleaseStatus::Succeeded)
            .await?
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "stage `{from}` of app `{app}` has no SUCCEEDED release to promote"
                ))
            })?,
    };
    let (spec, started) = start_from(
        ctx,
        &source,
        to,
        Trigger::Promote,
        None,
        execution_started_at,
    )
    .await?;
    Ok(PromoteStarted {
        release_id: spec.release_id,
        source_release_id: source.spec.release_id.clone(),
        digest: spec.digest,
        started,
    })
}
