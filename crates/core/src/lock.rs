//! Who may deploy a stage next. One release deploys a stage at a time; the others wait, and
//! the stage's policy says what a newer push does to the ones still waiting.

use std::collections::BTreeSet;

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
/// as `holder: None`.
pub fn decide_lock(policy: ConcurrencyPolicy, release: &str, lock: &StageLock<'_>) -> LockDecision {
    if lock.holder == Some(release) {
        return LockDecision::Acquire;
    }
    match policy {
        ConcurrencyPolicy::Latest => {
            // A newer push waiting, deploying, or already deployed makes this one moot: it
            // must never roll the stage back to an older image.
            let newest = lock
                .waiting
                .iter()
                .map(String::as_str)
                .chain(lock.holder)
                .chain(lock.current)
                .filter(|other| *other > release)
                .max();
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
            decide_lock(ConcurrencyPolicy::Latest, "B", &lock),
            LockDecision::Acquire
        );
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Queue, "B", &lock),
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
            decide_lock(ConcurrencyPolicy::Latest, "B", &lock),
            LockDecision::Wait { behind: "A".into() }
        );
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Latest, "A", &lock),
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
            decide_lock(ConcurrencyPolicy::Latest, "B", &lock),
            LockDecision::Supersede { by: "D".into() }
        );
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Latest, "D", &lock),
            LockDecision::Wait { behind: "A".into() }
        );
        let free = StageLock {
            holder: None,
            waiting: &w,
            current: None,
        };
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Latest, "D", &free),
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
            decide_lock(ConcurrencyPolicy::Latest, "A", &held),
            LockDecision::Supersede { by: "C".into() }
        );
        // ... or already deployed it.
        let done = StageLock {
            holder: None,
            waiting: &w,
            current: Some("C"),
        };
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Latest, "A", &done),
            LockDecision::Supersede { by: "C".into() }
        );
        // Under `queue` too: every push deploys in push order, but a late one never
        // deploys over a newer one.
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Queue, "A", &done),
            LockDecision::Supersede { by: "C".into() }
        );
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Queue, "A", &held),
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
            decide_lock(ConcurrencyPolicy::Queue, "C", &free),
            LockDecision::Wait { behind: "B".into() }
        );
        assert_eq!(
            decide_lock(ConcurrencyPolicy::Queue, "B", &free),
            LockDecision::Acquire
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
