//! After a release SUCCEEDED: deregister the stage's old task definition revisions, keeping
//! what runs, what schedules name, and the `keep_revisions` newest SUCCEEDED releases'
//! (the decision is `stevedore_core::retention`). A pruning error never changes the
//! release: it is logged and recorded on it (`revision_retention_error`), and the next
//! success tries again.

use std::collections::BTreeSet;

use stevedore_aws::store::{attr_n, attr_s};
use stevedore_core::config::StageConfig;
use stevedore_core::retention::{
    revision_of, revisions_of, revisions_to_deregister, RetentionInput, RELEASES_BEYOND_KEPT,
};
use stevedore_core::Error;

use crate::deploy::{Deploy, DeployResponse};
use crate::runtime::{now, timestamp};
use crate::{ReleaseSpec, RenderOutput};

/// Prunes the stage's revisions and records how many went (and why it stopped, if it did).
pub(crate) async fn prune(
    ctx: &Deploy,
    release: &ReleaseSpec,
    render: &RenderOutput,
) -> Result<DeployResponse, Error> {
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
    let outcome = deregister_old(ctx, release, render, stage, &mut deregistered).await;
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
    render: &RenderOutput,
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
    let clusters: BTreeSet<&str> = std::iter::once(render.cluster.as_str())
        .chain(render.services.iter().map(|s| s.cluster.as_str()))
        .chain(std::iter::once(stage.cluster.as_str()))
        .filter(|c| !c.is_empty())
        .collect();
    let mut in_use = BTreeSet::new();
    for cluster in clusters {
        in_use.extend(ctx.ecs.revisions_in_use(cluster).await?);
    }
    for schedule in &stage.schedules {
        // Render refused a stage whose schedule entries name no schedule or rule.
        if let Ok(reference) = schedule.target() {
            let target = crate::schedules::target(&reference);
            in_use.extend(ctx.schedules.ecs_task_definitions(target).await?);
        }
    }
    let doomed = revisions_to_deregister(&RetentionInput {
        keep_revisions: stage.keep_revisions,
        releases: &releases,
        truncated: releases.len() >= limit,
        active: &active,
        in_use: &in_use,
    });
    for revision in doomed {
        ctx.ecs.deregister_task_definition(&revision).await?;
        deregistered.push(revision);
    }
    Ok(())
}
