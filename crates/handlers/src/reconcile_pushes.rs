//! The scheduled reconcile: ECR delivers push events best effort, and a Lambda or EventBridge
//! hop can lose one (its dead-letter queue then alarms, but nothing deploys). Every run lists
//! the images pushed to each configured repository since the last run (DescribeImages) and
//! releases each one as its push event would have; the release id claims make a push whose
//! event did arrive start nothing new.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use stevedore_core::release::push_time_ms;

use crate::on_push::{release_push, OnPush, OnPushOutput, Push, StartedRelease};
use crate::runtime::now;
use crate::HandlerError;

/// How far before the last run's end a run looks again (clock skew, slow DescribeImages).
const OVERLAP_MS: i64 = 5 * 60 * 1000;
/// The first run looks this far back.
const FIRST_LOOKBACK_MS: i64 = 24 * 3600 * 1000;

/// The schedule's input (`{"action": "reconcile"}`).
#[derive(Debug, Deserialize)]
pub struct ReconcileRequest {
    /// Images pushed in the last this-many seconds are left to their own events, which are
    /// normally still on their way.
    #[serde(default = "default_settle_seconds")]
    pub settle_seconds: u64,
}

fn default_settle_seconds() -> u64 {
    120
}

#[derive(Debug, Serialize, PartialEq, Default)]
pub struct ReconcileSummary {
    pub looked_from_ms: i64,
    pub looked_until_ms: i64,
    pub repositories: usize,
    pub images: usize,
}

pub async fn handle(ctx: &OnPush, request: ReconcileRequest) -> Result<OnPushOutput, HandlerError> {
    let at = now();
    let until_ms = at.timestamp_millis() - (request.settle_seconds as i64) * 1000;
    let from_ms = match ctx.store.reconcile_cursor().await? {
        Some(cursor) => cursor - OVERLAP_MS,
        None => until_ms - FIRST_LOOKBACK_MS,
    };
    let mut repositories = BTreeSet::new();
    for app in ctx.store.list_apps().await? {
        match ctx.store.get_app_config(&app).await {
            Ok(Some(config)) => {
                repositories.insert(config.repository);
            }
            Ok(None) => {}
            Err(e) => tracing::error!(%app, error = %e, "skipping app with unreadable config"),
        }
    }
    let mut summary = ReconcileSummary {
        looked_from_ms: from_ms,
        looked_until_ms: until_ms,
        repositories: repositories.len(),
        images: 0,
    };
    let mut releases: Vec<StartedRelease> = Vec::new();
    let mut failures = Vec::new();
    for repository in &repositories {
        let images = ctx
            .ecr
            .images_pushed_between(repository, from_ms, until_ms)
            .await?;
        summary.images += images.len();
        for image in images {
            for tag in &image.tags {
                let push = Push {
                    repository: repository.clone(),
                    digest: image.digest.clone(),
                    tag: tag.clone(),
                    pushed_ms: push_time_ms(Some(image.pushed_at_ms), at.timestamp_millis()),
                    registry: None,
                };
                match release_push(ctx, &push, at).await {
                    Ok(out) => releases.extend(out.releases.into_iter().filter(|r| r.started)),
                    Err(e) => failures.push(e),
                }
            }
        }
    }
    if let Some(first) = failures.into_iter().next() {
        // The cursor stays: the next run looks at this window again.
        return Err(first);
    }
    ctx.store.advance_reconcile_cursor(until_ms).await?;
    tracing::info!(
        ?summary,
        started = releases.len(),
        "reconciled pushes with ECR"
    );
    Ok(OnPushOutput {
        releases,
        ignored: None,
        reconciled: Some(summary),
    })
}
