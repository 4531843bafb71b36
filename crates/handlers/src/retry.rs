//! retry: a new release of a digest whose release of a stage failed. Re-pushing the same
//! digest starts nothing (a push is one release: idempotency), so trying again is an explicit
//! operator act: the retry state machine (`events/retry.json`) starts a release with trigger
//! `retry` of the same image, re-rendered and migrated like a push's.

use serde::{Deserialize, Serialize};
use stevedore_core::release::{Release, ReleaseStatus, Trigger};
use stevedore_core::Error;

use crate::starter::{start_from, ByExecution, ReleaseStarter};
use crate::HandlerError;

/// The retry state machine's input.
#[derive(Debug, Deserialize)]
pub struct RetryRequest {
    pub app: String,
    pub stage: String,
    /// The release to retry; default: the stage's newest release, which must have ended
    /// FAILED, ROLLED_BACK or ABORTED.
    #[serde(default)]
    pub release: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct RetryStarted {
    pub release_id: String,
    pub source_release_id: String,
    pub digest: String,
    pub started: bool,
}

pub async fn handle(
    ctx: &ReleaseStarter,
    input: ByExecution<RetryRequest>,
) -> Result<RetryStarted, HandlerError> {
    let ByExecution {
        request,
        execution_started_at,
    } = input;
    let (app, stage) = (&request.app, &request.stage);
    let found = match &request.release {
        Some(id) => ctx.store.get_release(app, stage, id).await?,
        // The newest release (ids sort by time): one item, one page.
        None => ctx
            .store
            .list_releases(app, stage, 1)
            .await?
            .into_iter()
            .next(),
    };
    let source = retryable(found, &request)?;
    let (spec, started) = start_from(
        ctx,
        &source,
        &request.stage,
        Trigger::Retry,
        None,
        execution_started_at,
    )
    .await?;
    Ok(RetryStarted {
        release_id: spec.release_id,
        source_release_id: source.spec.release_id.clone(),
        digest: spec.digest,
        started,
    })
}

/// The release to try again (`found`: the one asked for, or the newest): it must have
/// failed, and not be a rollback (the rollback state machine puts a revision back).
fn retryable(found: Option<Release>, request: &RetryRequest) -> Result<Release, Error> {
    let stage = format!("{}/{}", request.app, request.stage);
    let release = found.ok_or_else(|| match &request.release {
        Some(wanted) => {
            Error::InvalidInput(format!("release: {wanted} is not a release of {stage}"))
        }
        None => Error::InvalidInput(format!("{stage} has no release to retry")),
    })?;
    let id = &release.spec.release_id;
    if !matches!(
        release.status,
        ReleaseStatus::Failed | ReleaseStatus::RolledBack | ReleaseStatus::Aborted
    ) {
        return Err(Error::InvalidInput(format!(
            "release: {id} of {stage} is {}; only a FAILED, ROLLED_BACK or ABORTED release can be retried",
            release.status
        )));
    }
    if release.spec.trigger == Trigger::Rollback {
        return Err(Error::InvalidInput(format!(
            "release: {id} of {stage} was a rollback; start the rollback state machine again instead"
        )));
    }
    Ok(release)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReleaseSpec;

    fn release(id: &str, status: ReleaseStatus, trigger: Trigger) -> Release {
        let spec = ReleaseSpec {
            release_id: id.into(),
            app: "web".into(),
            stage: "staging".into(),
            repository: "web".into(),
            digest: format!("sha256:{id}"),
            tag: "t".into(),
            image_uri: "u".into(),
            trigger,
            source_release_id: None,
            pushed_at: None,
            redeploy_task_definition_arn: None,
            redeploy_services: Default::default(),
        };
        let mut release = Release::new_pending(spec, chrono::DateTime::UNIX_EPOCH);
        release.status = status;
        release
    }

    fn request(release: Option<&str>) -> RetryRequest {
        RetryRequest {
            app: "web".into(),
            stage: "staging".into(),
            release: release.map(str::to_string),
        }
    }

    #[test]
    fn only_failed_releases_are_retried() {
        let failed = release("03", ReleaseStatus::RolledBack, Trigger::Push);
        let picked = retryable(Some(failed), &request(None)).expect("retryable");
        assert_eq!(picked.spec.release_id, "03");
        let ok = release("02", ReleaseStatus::Succeeded, Trigger::Push);
        let error = retryable(Some(ok), &request(Some("02"))).unwrap_err();
        assert!(error.to_string().contains("SUCCEEDED"), "{error}");
        assert!(retryable(None, &request(Some("09"))).is_err());
        assert!(retryable(None, &request(None)).is_err());
    }

    #[test]
    fn in_flight_and_rollback_releases_are_not_retried() {
        let running = release("05", ReleaseStatus::InProgress, Trigger::Push);
        assert!(retryable(Some(running), &request(None)).is_err());
        let rollback = release("04", ReleaseStatus::Failed, Trigger::Rollback);
        assert!(retryable(Some(rollback), &request(Some("04")))
            .unwrap_err()
            .to_string()
            .contains("rollback"));
        let promotion = release("03", ReleaseStatus::Aborted, Trigger::Promote);
        assert_eq!(
            retryable(Some(promotion), &request(Some("03")))
                .expect("an aborted promotion can be retried")
                .spec
                .release_id,
            "03"
        );
    }
}
