//! A stage's `order: semver`: the versions of the releases the lock decision weighs (the
//! holder, the waiting ones, the current one, and the asking release itself), read from
//! their tags; pushes only (`ranked_version`: promotions, rollbacks and retries rank by push
//! order).

use std::collections::BTreeMap;

use stevedore_aws::Store;
use stevedore_core::lock::{ranked_version, Precedence, ReleaseOrder, StageLock};
use stevedore_core::tag_rule::Version;
use stevedore_core::Error;

use crate::ReleaseSpec;

/// Release id → version, for every release of `lock` (and `release`) whose tag is a
/// version; empty under `order: push`, which needs none. A release whose record is gone
/// is left out (it ranks by push order).
pub(crate) async fn versions(
    store: &Store,
    release: &ReleaseSpec,
    lock: &StageLock<'_>,
    order: ReleaseOrder,
) -> Result<BTreeMap<String, Version>, Error> {
    let mut versions = BTreeMap::new();
    if order == ReleaseOrder::Push {
        return Ok(versions);
    }
    if let Some(version) = ranked_version(release.trigger, &release.tag) {
        versions.insert(release.release_id.clone(), version);
    }
    let others = lock
        .waiting
        .iter()
        .map(String::as_str)
        .chain(lock.holder)
        .chain(lock.current)
        .filter(|id| *id != release.release_id);
    for id in others {
        if versions.contains_key(id) {
            continue;
        }
        let other = store.get_release(&release.app, &release.stage, id).await?;
        if let Some(version) = other.and_then(|r| ranked_version(r.spec.trigger, &r.spec.tag)) {
            versions.insert(id.to_string(), version);
        }
    }
    Ok(versions)
}

/// How the lock decision ranks releases under `order`.
pub(crate) fn precedence(
    order: ReleaseOrder,
    versions: &BTreeMap<String, Version>,
) -> Precedence<'_> {
    match order {
        ReleaseOrder::Push => Precedence::Push,
        ReleaseOrder::Semver => Precedence::Version(versions),
    }
}

/// What a superseded release lost to, in its reason.
pub(crate) fn newer(order: ReleaseOrder) -> &'static str {
    match order {
        ReleaseOrder::Push => "newer push",
        ReleaseOrder::Semver => "release of a higher version (order semver)",
    }
}
