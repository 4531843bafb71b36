use std::collections::BTreeSet;

use chrono::Utc;

use super::*;
use crate::release::{ReleaseSpec, Trigger};

const ARN: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web";

fn td(revision: u64) -> String {
    format!("{ARN}:{revision}")
}

/// Release `n` (ids sort by n) that deployed revision `revision` and ended `status`.
fn release(n: u32, revision: u64, status: ReleaseStatus) -> Release {
    let spec = ReleaseSpec {
        release_id: format!("01J{n:023}"),
        app: "web".into(),
        stage: "staging".into(),
        repository: "web".into(),
        digest: format!("sha256:{n:064}"),
        tag: format!("main-{n}"),
        image_uri: "uri".into(),
        trigger: Trigger::Push,
        source_release_id: None,
        pushed_at: None,
        redeploy_task_definition_arn: None,
        redeploy_services: Default::default(),
    };
    let mut release = Release::new_pending(spec, Utc::now());
    release.status = status;
    release.task_definition_arn = Some(td(revision));
    release
}

/// Releases 1..=n, each SUCCEEDED with revision n + 1 (revision 1 was registered by hand),
/// newest first.
fn succeeded(n: u32) -> Vec<Release> {
    (1..=n)
        .rev()
        .map(|i| release(i, u64::from(i) + 1, ReleaseStatus::Succeeded))
        .collect()
}

fn all_active(upto: u64) -> BTreeSet<String> {
    (1..=upto).map(td).collect()
}

fn decide(
    keep: u32,
    releases: &[Release],
    active: &BTreeSet<String>,
    in_use: &[&str],
) -> Vec<String> {
    let in_use: BTreeSet<String> = in_use.iter().map(|s| s.to_string()).collect();
    revisions_to_deregister(&RetentionInput {
        keep_revisions: keep,
        releases,
        truncated: false,
        active,
        in_use: &in_use,
    })
}

#[test]
fn keeps_the_newest_succeeded_and_what_runs() {
    let releases = succeeded(15); // revisions 2..=16
    let active = all_active(16);
    let running = td(16);
    let doomed = decide(3, &releases, &active, &[&running]);
    // 14, 15, 16 kept (the newest three SUCCEEDED); 1 was never Stevedore's.
    assert_eq!(doomed, (2..=13).map(td).collect::<Vec<_>>());
}

#[test]
fn keep_zero_turns_it_off_and_inactive_ones_are_left() {
    let releases = succeeded(5);
    assert!(decide(0, &releases, &all_active(6), &[]).is_empty());
    let mut active = all_active(6);
    active.remove(&td(2));
    assert_eq!(decide(2, &releases, &active, &[]), [td(3), td(4)]);
}

#[test]
fn in_use_revisions_survive_in_any_spelling() {
    let releases = succeeded(6); // revisions 2..=7
    let active = all_active(7);
    // A service still running 3, a schedule naming `web:4`, a rule naming the bare family
    // (its latest ACTIVE revision, 7, is kept anyway).
    let doomed = decide(1, &releases, &active, &[&td(3), "web:4", "web"]);
    assert_eq!(doomed, [td(2), td(5), td(6)]);
}

#[test]
fn failed_releases_do_not_count_and_unfinished_ones_are_kept() {
    let mut releases = vec![
        release(6, 7, ReleaseStatus::InProgress),
        release(5, 6, ReleaseStatus::RolledBack),
    ];
    releases.extend(succeeded(4)); // revisions 2..=5
    let active = all_active(7);
    let doomed = decide(2, &releases, &active, &[]);
    // Kept: 7 (under way), 5 and 4 (the newest two SUCCEEDED). 6 rolled back: pruned.
    assert_eq!(doomed, [td(2), td(3), td(6)]);
}

#[test]
fn a_rollback_keeps_the_revision_it_redeployed() {
    let mut releases = vec![release(5, 2, ReleaseStatus::Succeeded)]; // rolled back to release 1's
    releases.extend(succeeded(4));
    let doomed = decide(2, &releases, &all_active(5), &[]);
    assert_eq!(doomed, [td(3), td(4)]);
}

#[test]
fn a_short_read_without_enough_successes_prunes_nothing() {
    let releases = succeeded(3);
    let active = all_active(4);
    let in_use = BTreeSet::new();
    let input = RetentionInput {
        keep_revisions: 5,
        releases: &releases,
        truncated: true,
        active: &active,
        in_use: &in_use,
    };
    assert!(revisions_to_deregister(&input).is_empty());
    let input = RetentionInput {
        keep_revisions: 2,
        ..input
    };
    assert_eq!(revisions_to_deregister(&input), [td(2)]);
}

#[test]
fn at_most_a_batch_per_run_oldest_first() {
    let releases = succeeded(40);
    let doomed = decide(1, &releases, &all_active(41), &[]);
    assert_eq!(doomed.len(), MAX_DEREGISTER_PER_RUN);
    assert_eq!(doomed[0], td(2));
    assert_eq!(doomed[MAX_DEREGISTER_PER_RUN - 1], td(26));
}

#[test]
fn revisions_read_from_arns_and_short_forms() {
    assert_eq!(revision_of(&td(12)), ("web", Some(12)));
    assert_eq!(revision_of("web:3"), ("web", Some(3)));
    assert_eq!(revision_of("web"), ("web", None));
}

fn input<'a>(
    keep: u32,
    releases: &'a [Release],
    active: &'a BTreeSet<String>,
    in_use: &'a BTreeSet<String>,
) -> RetentionInput<'a> {
    RetentionInput {
        keep_revisions: keep,
        releases,
        truncated: false,
        active,
        in_use,
    }
}

#[test]
fn no_candidates_means_no_scan() {
    let releases = succeeded(3); // revisions 2..=4, all kept
    let active = all_active(4);
    let nothing = BTreeSet::new();
    assert!(!has_candidates(&input(3, &releases, &active, &nothing)));
    assert!(!has_candidates(&input(
        0,
        &succeeded(12),
        &all_active(13),
        &nothing
    )));
    // Revisions already INACTIVE are no candidates either.
    let only_kept: BTreeSet<String> = (3..=4).map(td).collect();
    assert!(!has_candidates(&input(2, &releases, &only_kept, &nothing)));
}

#[test]
fn candidates_need_the_scan_even_when_it_keeps_them_all() {
    let releases = succeeded(4); // revisions 2..=5
    let active = all_active(5);
    let nothing = BTreeSet::new();
    assert!(has_candidates(&input(2, &releases, &active, &nothing)));
    // Another cluster's service runs 2, a schedule names `web:3`: the
    // scan keeps both, and the decision then deregisters nothing.
    let in_use: BTreeSet<String> = [td(2), "web:3".to_string()].into();
    let scanned = input(2, &releases, &active, &in_use);
    assert!(
        has_candidates(&scanned),
        "what is in use does not change the candidates"
    );
    assert!(revisions_to_deregister(&scanned).is_empty());
}

#[test]
fn another_familys_bare_name_keeps_nothing_of_this_one() {
    let releases = succeeded(4); // revisions 2..=5
    let active = all_active(5);
    let in_use: BTreeSet<String> = [
        "arn:aws:ecs:us-east-1:123456789012:task-definition/web-worker".to_string(),
        "arn:aws:ecs:us-east-1:123456789012:task-definition/web-worker:2".to_string(),
    ]
    .into();
    assert_eq!(
        revisions_to_deregister(&input(1, &releases, &active, &in_use)),
        [td(2), td(3), td(4)]
    );
}
