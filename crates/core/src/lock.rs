//! Who may deploy a stage next. One release deploys a stage at a time; the others wait, and
//! the stage's policy says what a newer push does to the ones still waiting.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use semver::Version;
use serde::{Deserialize, Serialize};

/// A stage's policy for pushes that arrive while it is being deployed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ConcurrencyPolicy {
    /// Only the newest waiting push deploys; older waiting ones end SUPERSEDED.
    #[default]
    Latest,
    /// Every push deploys, one after another, in push order (a push whose event arrives
    /// after a newer push took the stage is SUPERSEDED: it would roll the stage back).
    Queue,
}

/// A stage's `order:`: which of two releases is the newer one under `concurrency: latest`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ReleaseOrder {
    /// The later push (release ids are ULIDs).
    #[default]
    Push,
    /// The higher version of the two tags (semver precedence, build metadata ignored); push
    /// order when the versions are equal or a tag is not a version.
    Semver,
}

/// How `decide_lock` ranks releases: by push order, or by the versions of their tags first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precedence<'a> {
    Push,
    /// Release id → the version its tag names (releases whose tag is none are left out).
    Version(&'a BTreeMap<String, Version>),
}

impl Precedence<'_> {
    /// How `a` ranks against `b`; `Greater` means `a` is the newer release.
    pub fn compare(&self, a: &str, b: &str) -> Ordering {
        let by_push = a.cmp(b);
        match self {
            Precedence::Push => by_push,
            // `cmp_precedence`, not `Ord`: `Ord` orders by build metadata too
            // (https://docs.rs/semver/1.0.28/semver/struct.Version.html#method.cmp_precedence).
            Precedence::Version(versions) => match (versions.get(a), versions.get(b)) {
                (Some(va), Some(vb)) => va.cmp_precedence(vb).then(by_push),
                _ => by_push,
            },
        }
    }
}

/// The version `order: semver` ranks a release by: its tag's, for a push only. A promotion,
/// a rollback or a retry is an operator's deliberate choice of an image (a rollback is
/// usually to a lower version): it ranks by push order, as the newest release, and is never
/// superseded for its version.
pub fn ranked_version(trigger: crate::release::Trigger, tag: &str) -> Option<Version> {
    match trigger {
        crate::release::Trigger::Push => crate::tag_rule::parse_version(tag),
        _ => None,
    }
}

/// The stage's lock as the HEAD item holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageLock<'a> {
    /// The release deploying the stage, if its lease has not expired.
    pub holder: Option<&'a str>,
    /// Releases waiting for the stage (release ids are ULIDs: their order is push order).
    pub waiting: &'a BTreeSet<String>,
    /// The release the stage last deployed successfully.
    pub current: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockDecision {
    /// Take the lock now.
    Acquire,
    /// Wait: the named release deploys the stage, or is ahead in the queue.
    Wait { behind: String },
    /// Give up: a newer push of the same stage is waiting (policy `latest`).
    Supersede { by: String },
}

/// What `release` does about the stage's lock. A holder whose lease expired must be passed
/// as `holder: None`. `precedence` says which release is newer under policy `latest`
/// (`queue` deploys in push order whatever the stage's `order`).
pub fn decide_lock(
    policy: ConcurrencyPolicy,
    precedence: &Precedence<'_>,
    release: &str,
    lock: &StageLock<'_>,
) -> LockDecision {
    if lock.holder == Some(release) {
        return LockDecision::Acquire;
    }
    match policy {
        ConcurrencyPolicy::Latest => {
            // A newer push (or, by `order: semver`, a higher version) waiting, deploying, or
            // already deployed makes this one moot: it must never roll the stage back.
            let newest = lock
                .waiting
                .iter()
                .map(String::as_str)
                .chain(lock.holder)
                .chain(lock.current)
                .filter(|other| precedence.compare(other, release) == Ordering::Greater)
                .max_by(|a, b| precedence.compare(a, b));
            if let Some(newer) = newest {
                return LockDecision::Supersede {
                    by: newer.to_string(),
                };
            }
        }
        ConcurrencyPolicy::Queue => {
            // Every push deploys in push order, but one whose event came late never rolls
            // the stage back over a newer push that already took or deployed it.
            if let Some(newer) = lock
                .holder
                .into_iter()
                .chain(lock.current)
                .filter(|other| *other > release)
                .max()
            {
                return LockDecision::Supersede {
                    by: newer.to_string(),
                };
            }
            if let Some(older) = lock.waiting.iter().find(|w| w.as_str() < release) {
                return LockDecision::Wait {
                    behind: older.clone(),
                };
            }
        }
    }
    match lock.holder {
        Some(holder) => LockDecision::Wait {
            behind: holder.to_string(),
        },
        None => LockDecision::Acquire,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_push_is_ranked_by_its_version() {
        use crate::release::Trigger;
        assert_eq!(
            ranked_version(Trigger::Push, "v1.6.0"),
            Some(Version::new(1, 6, 0))
        );
        assert_eq!(ranked_version(Trigger::Push, "main-abc"), None);
        for trigger in [Trigger::Promote, Trigger::Rollback, Trigger::Retry] {
            assert_eq!(ranked_version(trigger, "v1.5.0"), None, "{trigger:?}");
        }
        // A rollback to v1.5.0 (no version: push order, the newest id) is not superseded
        // by the v1.6.0 it replaces.
        let versions = BTreeMap::from([("A".to_string(), Version::new(1, 6, 0))]);
        let waiting = BTreeSet::new();
        let lock = StageLock {
            holder: None,
            waiting: &waiting,
            current: Some("A"),
        };
        assert_eq!(
            decide_lock(
                ConcurrencyPolicy::Latest,
                &Precedence::Version(&versions),
                "B",
                &lock
            ),
            LockDecision::Acquire
        );
    }

    fn waiting(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_free_stage_is_taken() {
        let w = waiting(&["B"]);
        let lock = StageLock {
            holder: None,
            waiting: &w,
            current: None,
        };
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Latest, &Precedence::Push, "B", &lock),
            LockDecision::Acquire
        );
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Queue, &Precedence::Push, "B", &lock),
            LockDecision::Acquire
        );
    }

    #[test]
    fn a_held_stage_makes_others_wait_and_lets_the_holder_retry() {
        let w = waiting(&["B"]);
        let lock = StageLock {
            holder: Some("A"),
            waiting: &w,
            current: None,
        };
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Latest, &Precedence::Push, "B", &lock),
            LockDecision::Wait { behind: "A".into() }
        );
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Latest, &Precedence::Push, "A", &lock),
            LockDecision::Acquire
        );
    }

    #[test]
    fn latest_supersedes_older_waiters_by_the_newest() {
        let w = waiting(&["B", "C", "D"]);
        let lock = StageLock {
            holder: Some("A"),
            waiting: &w,
            current: None,
        };
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Latest, &Precedence::Push, "B", &lock),
            LockDecision::Supersede { by: "D".into() }
        );
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Latest, &Precedence::Push, "D", &lock),
            LockDecision::Wait { behind: "A".into() }
        );
        let free = StageLock {
            holder: None,
            waiting: &w,
            current: None,
        };
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Latest, &Precedence::Push, "D", &free),
            LockDecision::Acquire
        );
    }

    #[test]
    fn latest_never_deploys_over_a_newer_push() {
        let w = waiting(&["A"]);
        // C (newer) took the stage before A's execution got to ask.
        let held = StageLock {
            holder: Some("C"),
            waiting: &w,
            current: None,
        };
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Latest, &Precedence::Push, "A", &held),
            LockDecision::Supersede { by: "C".into() }
        );
        // ... or already deployed it.
        let done = StageLock {
            holder: None,
            waiting: &w,
            current: Some("C"),
        };
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Latest, &Precedence::Push, "A", &done),
            LockDecision::Supersede { by: "C".into() }
        );
        // Under `queue` too: every push deploys in push order, but a late one never
        // deploys over a newer one.
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Queue, &Precedence::Push, "A", &done),
            LockDecision::Supersede { by: "C".into() }
        );
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Queue, &Precedence::Push, "A", &held),
            LockDecision::Supersede { by: "C".into() }
        );
    }

    #[test]
    fn queue_runs_waiters_in_push_order() {
        let w = waiting(&["B", "C"]);
        let free = StageLock {
            holder: None,
            waiting: &w,
            current: None,
        };
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Queue, &Precedence::Push, "C", &free),
            LockDecision::Wait { behind: "B".into() }
        );
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Queue, &Precedence::Push, "B", &free),
            LockDecision::Acquire
        );
    }

    fn versions(tags: &[(&str, &str)]) -> BTreeMap<String, Version> {
        tags.iter()
            .filter_map(|(id, tag)| Some((id.to_string(), crate::tag_rule::parse_version(tag)?)))
            .collect()
    }

    #[test]
    fn semver_order_never_lets_a_lower_version_pushed_later_win() {
        // 0 deploys; A = v1.6.0 pushed next, B = v1.5.1 pushed last.
        let v = versions(&[("A", "v1.6.0"), ("B", "v1.5.1"), ("0", "main-1")]);
        let by_version = Precedence::Version(&v);
        let w = waiting(&["A", "B"]);
        let held = StageLock {
            holder: Some("0"),
            waiting: &w,
            current: None,
        };
        let latest = ConcurrencyPolicy::Latest;
        assert_eq!(
            decide_lock(latest, &by_version, "B", &held),
            LockDecision::Supersede { by: "A".into() }
        );
        assert_eq!(
            decide_lock(latest, &by_version, "A", &held),
            LockDecision::Wait { behind: "0".into() }
        );
        // By push order the later push wins instead.
        assert_eq!(
            decide_lock(latest, &Precedence::Push, "A", &held),
            LockDecision::Supersede { by: "B".into() }
        );
        // A deploying or deployed keeps B out too.
        let none = waiting(&["B"]);
        for lock in [
            StageLock {
                holder: Some("A"),
                waiting: &none,
                current: None,
            },
            StageLock {
                holder: None,
                waiting: &none,
                current: Some("A"),
            },
        ] {
            assert_eq!(
                decide_lock(latest, &by_version, "B", &lock),
                LockDecision::Supersede { by: "A".into() }
            );
        }
    }

    #[test]
    fn semver_order_ranks_pre_releases_below_and_ties_by_push() {
        // A = v1.2.3 pushed first, B = v1.2.3-rc1 pushed later: the release wins.
        let v = versions(&[("A", "v1.2.3"), ("B", "v1.2.3-rc1")]);
        assert_eq!(
            Precedence::Version(&v).compare("A", "B"),
            std::cmp::Ordering::Greater
        );
        // Build metadata does not rank: equal precedence, so the later push is newer.
        let v = versions(&[("A", "1.2.3+build5"), ("B", "1.2.3")]);
        assert_eq!(
            Precedence::Version(&v).compare("B", "A"),
            std::cmp::Ordering::Greater
        );
        let w = waiting(&["A", "B"]);
        let free = StageLock {
            holder: None,
            waiting: &w,
            current: None,
        };
        assert_eq!(
            decide_lock(
                ConcurrencyPolicy::Latest,
                &Precedence::Version(&v),
                "A",
                &free
            ),
            LockDecision::Supersede { by: "B".into() }
        );
        // A tag that is no version ranks by push order.
        let v = versions(&[("A", "v9.0.0"), ("B", "main-2")]);
        assert_eq!(
            Precedence::Version(&v).compare("B", "A"),
            std::cmp::Ordering::Greater
        );
    }

    #[test]
    fn policy_reads_from_config_text() {
        let policy: ConcurrencyPolicy = serde_json::from_str("\"queue\"").expect("queue parses");
        assert_eq!(policy, ConcurrencyPolicy::Queue);
        assert_eq!(ConcurrencyPolicy::default(), ConcurrencyPolicy::Latest);
        assert!(serde_json::from_str::<ConcurrencyPolicy>("\"fifo\"").is_err());
    }
}
