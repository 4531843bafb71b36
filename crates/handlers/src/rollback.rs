//! rollback: puts an earlier SUCCEEDED release of a stage back. It starts a new release
//! (trigger `rollback`) that redeploys that release's task definition as it is — no render,
//! no migration — through the same deploy state machine, lock and records as any release.

use serde::{Deserialize, Serialize};
use stevedore_core::release::{Release, ReleaseStatus, Trigger};
use stevedore_core::Error;

use crate::starter::{start_from, succeeded_release, ByExecution, ReleaseStarter};
use crate::HandlerError;

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
    let source = match request.release.as_deref() {
        Some(wanted) => {
            let found = ctx.store.get_release(app, stage, wanted).await?;
            chosen_source(found, app, stage, wanted, current.as_deref())?
        }
        None => {
            let current = current.ok_or_else(|| {
                Error::InvalidInput(format!(
                    "{app}/{stage} has no successful release yet: there is nothing to roll back"
                ))
            })?;
            // After a rollback the stage runs what that rollback returned to: rolling back
            // again goes further back from there, never forward to the release that was
            // rolled back from.
            let effective = ctx
                .store
                .get_release(app, stage, &current)
                .await?
                .filter(|r| r.spec.trigger == Trigger::Rollback)
                .and_then(|r| r.spec.source_release_id)
                .unwrap_or_else(|| current.clone());
            // Newest first, page after page, however many releases failed in between.
            ctx.store
                .find_release(app, stage, |r| is_earlier_success(r, &effective))
                .await?
                .ok_or_else(|| {
                    Error::InvalidInput(format!(
                        "no SUCCEEDED release of {app}/{stage} older than the current {current}"
                    ))
                })?
        }
    };
    let task_definition = source.task_definition_arn.clone().ok_or_else(|| {
        Error::InvalidInput(format!(
            "release {} has no recorded task definition",
            source.spec.release_id
        ))
    })?;
    let (spec, started) = start_from(
        ctx,
        &source,
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

/// The release asked for by id (`found`): it must have SUCCEEDED and not be what the stage
/// runs now.
fn chosen_source(
    found: Option<Release>,
    app: &str,
    stage: &str,
    wanted: &str,
    current: Option<&str>,
) -> Result<Release, Error> {
    let release = succeeded_release(found, app, stage, wanted)?;
    if Some(wanted) == current {
        return Err(Error::InvalidInput(format!(
            "release {wanted} is what {app}/{stage} runs already"
        )));
    }
    Ok(release)
}

/// The default target: a SUCCEEDED release older than the one the stage effectively runs
/// (ids are ULIDs, so older sorts lower), and not itself a rollback (which only put an older
/// one back); the newest such release is the one returned to.
fn is_earlier_success(release: &Release, effective: &str) -> bool {
    release.status == ReleaseStatus::Succeeded
        && release.spec.trigger != Trigger::Rollback
        && release.spec.release_id.as_str() < effective
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
            pushed_at: None,
            redeploy_task_definition_arn: None,
            redeploy_services: Default::default(),
        };
        let mut release = Release::new_pending(spec, chrono::DateTime::UNIX_EPOCH);
        release.status = status;
        release
    }

    #[test]
    fn the_default_target_is_a_success_older_than_the_current_one() {
        assert!(is_earlier_success(
            &release("02", ReleaseStatus::Succeeded),
            "04"
        ));
        assert!(!is_earlier_success(
            &release("03", ReleaseStatus::Failed),
            "04"
        ));
        assert!(
            !is_earlier_success(&release("04", ReleaseStatus::Succeeded), "04"),
            "not the current one"
        );
        assert!(
            !is_earlier_success(&release("05", ReleaseStatus::Succeeded), "04"),
            "not a newer one"
        );
    }

    #[test]
    fn a_chosen_release_must_exist_have_succeeded_and_not_be_current() {
        let chosen = |found, wanted| chosen_source(found, "web", "staging", wanted, Some("02"));
        assert!(chosen(Some(release("01", ReleaseStatus::RolledBack)), "01")
            .unwrap_err()
            .to_string()
            .contains("ROLLED_BACK"));
        assert!(chosen(Some(release("02", ReleaseStatus::Succeeded)), "02")
            .unwrap_err()
            .to_string()
            .contains("runs already"));
        assert!(chosen(None, "09")
            .unwrap_err()
            .to_string()
            .contains("is not a release of web/staging"));
        assert_eq!(
            chosen(Some(release("01", ReleaseStatus::Succeeded)), "01")
                .unwrap()
                .spec
                .release_id,
            "01"
        );
    }

    #[test]
    fn rollbacks_are_not_targets_of_another_rollback() {
        let mut returned = release("05", ReleaseStatus::Succeeded);
        returned.spec.trigger = Trigger::Rollback;
        assert!(!is_earlier_success(&returned, "06"));
        // The stage runs 02 again (via 05): 04 is not earlier than 02, 01 is.
        assert!(!is_earlier_success(
            &release("04", ReleaseStatus::Succeeded),
            "02"
        ));
        assert!(is_earlier_success(
            &release("01", ReleaseStatus::Succeeded),
            "02"
        ));
    }
}
