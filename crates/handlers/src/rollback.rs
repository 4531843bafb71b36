//! rollback: puts an earlier SUCCEEDED release of a stage back. It starts a new release
//! (trigger `rollback`) that redeploys that release's task definition as it is — no render,
//! no migration — through the same deploy state machine, lock and records as any release.

use serde::{Deserialize, Serialize};
use stevedore_core::release::{Release, ReleaseStatus, Trigger};
use stevedore_core::Error;

use crate::starter::{start_from, succeeded_release, ByExecution, ReleaseStarter};
use crate::HandlerError;

/// How far back to look for the release to return to.
const HISTORY_DEPTH: i32 = 100;

/// Rollback starts releases by hand.
pub type Rollback = ReleaseStarter;

/// The rollback state machine's input (`events/rollback.json`).
#[derive(Debug, Deserialize)]
pub struct RollbackRequest {
    pub app: String,
    pub stage: String,
    /// The release to return to; default: the newest SUCCEEDED release before the current one.
    #[serde(default)]
    pub release: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct RollbackStarted {
    pub release_id: String,
    pub source_release_id: String,
    pub task_definition_arn: String,
    pub started: bool,
}

pub async fn handle(
    ctx: &Rollback,
    input: ByExecution<RollbackRequest>,
) -> Result<RollbackStarted, HandlerError> {
    let ByExecution {
        request,
        execution_started_at,
    } = input;
    let (app, stage) = (&request.app, &request.stage);
    let current = ctx
        .store
        .head(app, stage)
        .await?
        .and_then(|h| h.current_release);
    let history = ctx.store.list_releases(app, stage, HISTORY_DEPTH).await?;
    let source = pick_source(&history, current.as_deref(), request.release.as_deref())?;
    let task_definition = source.task_definition_arn.clone().ok_or_else(|| {
        Error::InvalidInput(format!(
            "release {} has no recorded task definition",
            source.spec.release_id
        ))
    })?;
    let (spec, started) = start_from(
        ctx,
        source,
        stage,
        Trigger::Rollback,
        Some(task_definition.clone()),
        execution_started_at,
    )
    .await?;
    Ok(RollbackStarted {
        release_id: spec.release_id,
        source_release_id: source.spec.release_id.clone(),
        task_definition_arn: task_definition,
        started,
    })
}

/// The release to return to: the one asked for (it must have SUCCEEDED), or the newest
/// SUCCEEDED release older than what the stage runs now. `history` is newest first.
fn pick_source<'a>(
    history: &'a [Release],
    current: Option<&str>,
    wanted: Option<&str>,
) -> Result<&'a Release, Error> {
    let stage_name = history
        .first()
        .map(|r| format!("{}/{}", r.spec.app, r.spec.stage))
        .unwrap_or_default();
    if let Some(wanted) = wanted {
        let release = succeeded_release(history, wanted)?;
        if Some(wanted) == current {
            return Err(Error::InvalidInput(format!(
                "release {wanted} is what {stage_name} runs already"
            )));
        }
        return Ok(release);
    }
    let current = current.ok_or_else(|| {
        Error::InvalidInput(
            "the stage has no successful release yet: there is nothing to roll back".into(),
        )
    })?;
    // After a rollback the stage runs what that rollback returned to: rolling back again goes
    // further back from there, never forward to the release that was rolled back from.
    let effective = history
        .iter()
        .find(|r| r.spec.release_id == current && r.spec.trigger == Trigger::Rollback)
        .and_then(|r| r.spec.source_release_id.as_deref())
        .unwrap_or(current);
    history
        .iter()
        .find(|r| {
            r.status == ReleaseStatus::Succeeded
                && r.spec.trigger != Trigger::Rollback
                && r.spec.release_id.as_str() < effective
        })
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "no SUCCEEDED release of {stage_name} older than the current {current}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReleaseSpec;

    fn release(id: &str, status: ReleaseStatus) -> Release {
        let spec = ReleaseSpec {
            release_id: id.into(),
            app: "web".into(),
            stage: "staging".into(),
            repository: "web".into(),
            digest: format!("sha256:{id}"),
            tag: "t".into(),
            image_uri: "u".into(),
            trigger: Trigger::Push,
            source_release_id: None,
            redeploy_task_definition_arn: None,
        };
        let mut release = Release::new_pending(spec, chrono::DateTime::UNIX_EPOCH);
        release.status = status;
        release
    }

    #[test]
    fn defaults_to_the_newest_success_before_the_current_one() {
        let history = [
            release("04", ReleaseStatus::Succeeded),
            release("03", ReleaseStatus::Failed),
            release("02", ReleaseStatus::Succeeded),
            release("01", ReleaseStatus::Succeeded),
        ];
        assert_eq!(
            pick_source(&history, Some("04"), None)
                .unwrap()
                .spec
                .release_id,
            "02"
        );
        assert!(
            pick_source(&history, None, None).is_err(),
            "nothing deployed yet"
        );
        assert!(
            pick_source(&history[..1], Some("04"), None).is_err(),
            "no earlier success"
        );
    }

    #[test]
    fn rolling_back_twice_goes_further_back_never_forward() {
        let mut returned = release("05", ReleaseStatus::Succeeded);
        returned.spec.trigger = Trigger::Rollback;
        returned.spec.source_release_id = Some("02".into());
        let history = [
            returned,
            release("04", ReleaseStatus::Succeeded),
            release("03", ReleaseStatus::Failed),
            release("02", ReleaseStatus::Succeeded),
            release("01", ReleaseStatus::Succeeded),
        ];
        // The stage runs 02 again (via 05): the next rollback is to 01, not forward to 04.
        assert_eq!(
            pick_source(&history, Some("05"), None)
                .unwrap()
                .spec
                .release_id,
            "01"
        );
        assert!(pick_source(&history[..4], Some("05"), None).is_err());
    }

    #[test]
    fn a_chosen_release_must_have_succeeded_and_not_be_current() {
        let history = [
            release("02", ReleaseStatus::Succeeded),
            release("01", ReleaseStatus::RolledBack),
        ];
        assert!(pick_source(&history, Some("02"), Some("01"))
            .unwrap_err()
            .to_string()
            .contains("ROLLED_BACK"));
        assert!(pick_source(&history, Some("02"), Some("02"))
            .unwrap_err()
            .to_string()
            .contains("runs already"));
        assert!(pick_source(&history, Some("02"), Some("09")).is_err());
    }
}
