//! Task definition revision retention: which revisions Stevedore registered for a stage may
//! be deregistered after a release SUCCEEDED (`keep_revisions:`). Pure: the handler gathers
//! what is active, running and scheduled, and deregisters what this answers.
//!
//! Deregistering (never deleting) keeps a revision describable: "Existing tasks and services
//! that reference an INACTIVE task definition continue to run without disruption", while new
//! tasks, new services and service updates cannot use it
//! (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeregisterTaskDefinition.html);
//! Stevedore's rollback registers a deregistered revision again as a new one.

use std::collections::{BTreeMap, BTreeSet};

use crate::release::{Release, ReleaseStatus};

/// `keep_revisions` when the stage does not say.
pub const DEFAULT_KEEP_REVISIONS: u32 = 10;
/// At most this many deregistrations per success: ECS throttles per account and Region
/// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html); the
/// rest wait for the next success (pruning is idempotent).
pub const MAX_DEREGISTER_PER_RUN: usize = 25;
/// Releases read beyond the `keep_revisions` newest SUCCEEDED ones: older revisions were
/// candidates at earlier successes already.
pub const RELEASES_BEYOND_KEPT: usize = 100;

/// `(family, revision)` of `arn:…:task-definition/family:7` or `family:7`; `(family, None)`
/// for a bare family (what a schedule may name: the latest ACTIVE revision at run time).
pub fn revision_of(task_definition: &str) -> (&str, Option<u64>) {
    let name = task_definition
        .rsplit('/')
        .next()
        .unwrap_or(task_definition);
    match name.split_once(':') {
        Some((family, revision)) => (family, revision.parse().ok()),
        None => (name, None),
    }
}

/// The revisions a release record names as its own: the one it deployed (or redeployed) and
/// each service's. Every one was registered by Stevedore (render registers a new revision,
/// a rollback redeploys one of these or registers it again); `previous_task_definition_arn`
/// is not, as the service may have run a revision someone else registered.
pub fn revisions_of(release: &Release) -> impl Iterator<Item = &str> {
    release.task_definition_arn.as_deref().into_iter().chain(
        release
            .services
            .iter()
            .map(|s| s.task_definition_arn.as_str()),
    )
}

/// What the retention decision weighs.
#[derive(Debug, Clone, Copy)]
pub struct RetentionInput<'a> {
    pub keep_revisions: u32,
    /// The stage's newest releases, newest first.
    pub releases: &'a [Release],
    /// Whether `releases` stops short of the stage's oldest release.
    pub truncated: bool,
    /// Revisions (ARNs) ListTaskDefinitions reports ACTIVE in the families concerned.
    pub active: &'a BTreeSet<String>,
    /// Revisions in use anywhere in the account and region: every cluster's running tasks and
    /// services' deployments, every schedule's and rule's ECS target (ARN, `family:revision`,
    /// or a bare family).
    pub in_use: &'a BTreeSet<String>,
}

/// The ACTIVE revisions to deregister, oldest first, at most [`MAX_DEREGISTER_PER_RUN`]:
/// those the stage's releases registered that are neither in use nor the revision of one of
/// its `keep_revisions` newest SUCCEEDED releases nor of a release still under way.
pub fn revisions_to_deregister(input: &RetentionInput<'_>) -> Vec<String> {
    if input.keep_revisions == 0 {
        return Vec::new();
    }
    let keep = usize::try_from(input.keep_revisions).unwrap_or(usize::MAX);
    let succeeded = input
        .releases
        .iter()
        .filter(|r| r.status == ReleaseStatus::Succeeded);
    if input.truncated && succeeded.clone().count() < keep {
        // Some of the kept releases lie beyond what was read: their revisions are unknown.
        return Vec::new();
    }
    let mut kept: BTreeSet<(&str, Option<u64>)> = succeeded
        .take(keep)
        .chain(input.releases.iter().filter(|r| !r.status.is_terminal()))
        .flat_map(revisions_of)
        .map(revision_of)
        .collect();
    kept.extend(input.in_use.iter().map(|td| revision_of(td)));
    // A bare family runs its latest ACTIVE revision.
    let mut latest: BTreeMap<&str, u64> = BTreeMap::new();
    for (family, revision) in input.active.iter().map(|td| revision_of(td)) {
        if let Some(revision) = revision {
            let newest = latest.entry(family).or_insert(revision);
            *newest = (*newest).max(revision);
        }
    }
    let is_kept = |family: &str, revision: Option<u64>| {
        kept.contains(&(family, revision))
            || (kept.contains(&(family, None)) && latest.get(family).copied() == revision)
    };
    let mut doomed: Vec<(&str, u64, &str)> = input
        .releases
        .iter()
        .flat_map(revisions_of)
        .filter(|td| input.active.contains(*td))
        .filter_map(|td| match revision_of(td) {
            (family, Some(revision)) if !is_kept(family, Some(revision)) => {
                Some((family, revision, td))
            }
            _ => None,
        })
        .collect();
    doomed.sort();
    doomed.dedup();
    doomed
        .into_iter()
        .take(MAX_DEREGISTER_PER_RUN)
        .map(|(_, _, td)| td.to_string())
        .collect()
}

/// Whether the decision has anything to deregister before what is in use is known. `in_use`
/// only ever keeps more, so when this is false nothing is deregistered whatever is in use,
/// and the account-wide scan for it (every cluster, schedule and rule) can be skipped.
pub fn has_candidates(input: &RetentionInput<'_>) -> bool {
    let nothing_in_use = BTreeSet::new();
    !revisions_to_deregister(&RetentionInput {
        in_use: &nothing_in_use,
        ..*input
    })
    .is_empty()
}

#[cfg(test)]
#[path = "retention_tests.rs"]
mod tests;
