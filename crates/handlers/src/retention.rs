//! After a release SUCCEEDED: deregister the stage's old task definition revisions, keeping
//! the `keep_revisions` newest SUCCEEDED releases' and whatever the account uses (any
//! cluster's services and tasks, any schedule or rule; scanned only when something could go)
//! (the decision is `stevedore_core::retention`). A pruning error never changes the
//! release: it is logged and recorded on it (`revision_retention_error`), and the next
//! success tries again.

use std::collections::BTreeSet;

use stevedore_aws::store::{attr_n, attr_s};
use stevedore_core::config::StageConfig;
use stevedore_core::retention::{
    has_candidates, revision_of, revisions_of, revisions_to_deregister, RetentionInput,
    RELEASES_BEYOND_KEPT,
};
use stevedore_core::Error;

use crate::deploy::{Deploy, DeployResponse};
use crate::runtime::{now, timestamp};
use crate::ReleaseSpec;

/// Prunes the stage's revisions and records how many went (and why it stopped, if it did).
pub(crate) async fn prune(ctx: &Deploy, release: &ReleaseSpec) -> Result<DeployResponse, Error> {
    let config = ctx.store.get_app_config(&release.app).await?;
    let Some(stage) = config.as_ref().and_then(|c| c.stage(&release.stage)) else {
        return Ok(DeployResponse::Pruned {
            revisions_deregistered: 0,
        });
    };
    if stage.keep_revisions == 0 {
        return Ok(DeployResponse::Pruned {
            revisions_deregistered: 0,
        });
    }
    let mut deregistered = Vec::new();
    let outcome = deregister_old(ctx, release, stage, &mut deregistered).await;
    let mut fields = vec![
        ("revisions_deregistered", attr_n(deregistered.len() as i64)),
        ("revisions_pruned_at", attr_s(timestamp(now()))),
    ];
    match &outcome {
        Ok(()) => tracing::info!(
            release_id = %release.release_id,
            count = deregistered.len(),
            revisions = ?deregistered,
            keep_revisions = stage.keep_revisions,
            "task definition revisions deregistered"
        ),
        Err(error) => {
            tracing::warn!(
                release_id = %release.release_id,
                count = deregistered.len(),
                %error,
                "pruning task definition revisions stopped; the release stays SUCCEEDED"
            );
            fields.push(("revision_retention_error", attr_s(error.to_string())));
        }
    }
    ctx.store
        .set_release_fields(&release.app, &release.stage, &release.release_id, &fields)
        .await?;
    Ok(DeployResponse::Pruned {
        revisions_deregistered: deregistered.len(),
    })
}

/// Gathers what the decision needs and deregisters what it names, one at a time (stopping
/// at the first error); `deregistered` holds what went either way.
async fn deregister_old(
    ctx: &Deploy,
    release: &ReleaseSpec,
    stage: &StageConfig,
    deregistered: &mut Vec<String>,
) -> Result<(), Error> {
    let limit = usize::try_from(stage.keep_revisions)
        .unwrap_or(usize::MAX)
        .saturating_add(RELEASES_BEYOND_KEPT);
    let releases = ctx
        .store
        .list_releases(&release.app, &release.stage, limit)
        .await?;
    let families: BTreeSet<&str> = releases
        .iter()
        .flat_map(revisions_of)
        .map(|td| revision_of(td).0)
        .collect();
    let mut active = BTreeSet::new();
    for family in families {
        active.extend(ctx.ecs.active_revisions(family).await?);
    }
    let nothing_in_use = BTreeSet::new();
    let mut input = RetentionInput {
        keep_revisions: stage.keep_revisions,
        releases: &releases,
        truncated: releases.len() >= limit,
        active: &active,
        in_use: &nothing_in_use,
    };
    if !has_candidates(&input) {
        // Nothing could go whatever is in use: no account-wide scan.
        return Ok(());
    }
    let in_use = revisions_in_use_anywhere(ctx).await?;
    input.in_use = &in_use;
    let doomed = revisions_to_deregister(&input);
    for revision in doomed {
        ctx.ecs.deregister_task_definition(&revision).await?;
        deregistered.push(revision);
    }
    Ok(())
}

/// Every revision in use in the account and Region (of the stage's account: `ctx` holds its
/// clients): what every cluster's services deploy and tasks run, and what every schedule and
/// rule names, whoever made them. Any read failing stops the pruning (nothing is
/// deregistered on a partial view).
async fn revisions_in_use_anywhere(ctx: &Deploy) -> Result<BTreeSet<String>, Error> {
    let mut in_use = ctx.schedules.ecs_task_definitions_anywhere().await?;
    for cluster in ctx.ecs.clusters().await? {
        in_use.extend(ctx.ecs.revisions_in_use(&cluster).await?);
    }
    Ok(in_use)
}
