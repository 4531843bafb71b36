//! The four DORA measures of software delivery, per (app, stage), computed from the release
//! table's history (`stevedore metrics`).
//!
//! DORA's definitions (Google Cloud blog, "Use Four Keys metrics like change failure rate to
//! measure your DevOps performance", 2020; the DORA research program's four keys):
//! deployment frequency is how often an organization successfully releases to production;
//! lead time for changes, the time a commit takes to get into production; change failure
//! rate, the percentage of deployments causing a failure in production; time to restore
//! service, how long it takes to recover from a failure in production. Stevedore sees
//! releases, not commits or incidents, so here:
//!
//! - a **deployment** is a SUCCEEDED release (of any trigger) that finished in the window;
//! - **lead time** runs from the image's push to the release's end. A push release's id is a
//!   ULID whose time is the push time; a promotion or a retry is followed back through
//!   `source_release_id` (across stages) to the push it redeploys. Rollbacks deliver no new
//!   change and have no lead time; neither has a release whose chain leaves the history read;
//! - a **change** is a release that changed a service (it reached `deploy_started_at`) and
//!   finished in the window; a **failed change** one of them that ended FAILED or
//!   ROLLED_BACK. A release that failed before its deployment started changed nothing and
//!   counts in neither. The change failure rate is failed changes over changes;
//! - **time to restore** runs from the end of a failed change to the end of the stage's next
//!   SUCCEEDED release (a fix, or a rollback). Consecutive failed changes before that success
//!   are one failure: its restore runs from the first of them, so a second failed fix does
//!   not shorten the measure. A failure nothing restored yet is counted as `unrestored`.
//!
//! Percentiles are nearest-rank (the smallest sample with at least p % of the samples at or
//! below it; no interpolation): the p50 of 2 samples is the smaller.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::release::{Release, ReleaseStatus, Trigger};

/// The time span measured: `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Window {
    /// The `since` (see [`parse_since`]) before `now`.
    pub fn since(since: Duration, now: DateTime<Utc>) -> Window {
        Window {
            from: now - since,
            to: now,
        }
    }

    fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at < self.to
    }

    fn days(&self) -> f64 {
        (self.to - self.from).num_milliseconds() as f64 / 86_400_000.0
    }
}

/// `30d`, `12h`, `90m`, `2w`, `45s`: a positive whole number and a unit.
pub fn parse_since(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let amount: i64 = number
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{text}`: expected a positive number and a unit, e.g. 30d"))?;
    let duration = match unit {
        "s" => Duration::try_seconds(amount),
        "m" => Duration::try_minutes(amount),
        "h" => Duration::try_hours(amount),
        "d" => Duration::try_days(amount),
        "w" => Duration::try_weeks(amount),
        _ => return Err(format!("`{text}`: the unit is one of s, m, h, d, w")),
    };
    duration.ok_or_else(|| format!("`{text}` is too long"))
}

/// The DORA measures of one stage of one app (see the module's definitions). Durations are
/// in seconds; `None` where there is nothing to measure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageMetrics {
    pub app: String,
    pub stage: String,
    pub window_days: f64,
    pub deployments: u64,
    pub deployments_per_day: f64,
    /// Deployments with a lead time (see the module's definitions).
    pub lead_time_samples: u64,
    pub lead_time_p50_seconds: Option<f64>,
    pub lead_time_p90_seconds: Option<f64>,
    pub changes: u64,
    pub failed_changes: u64,
    /// `failed_changes / changes`, from 0 to 1.
    pub change_failure_rate: Option<f64>,
    pub restores: u64,
    pub time_to_restore_p50_seconds: Option<f64>,
    pub unrestored: u64,
}

fn parse_time(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn finished(release: &Release) -> Option<DateTime<Utc>> {
    parse_time(release.finished_at.as_deref())
}

/// How many promotions and retries a chain may take back to its push: far more than any
/// pipeline has stages, and a bound should ids ever loop.
pub const MAX_CHAIN: usize = 64;

/// When the image `release` deploys was pushed: its `pushed_at` (or, for a push, its own
/// id's time), else that of the release its `source_release_id` chain leads back to (for
/// releases recorded before `pushed_at` existed). `None` for a rollback, or when
/// the chain leaves `by_id`.
fn push_time(release: &Release, by_id: &BTreeMap<(&str, &str), &Release>) -> Option<DateTime<Utc>> {
    if release.spec.trigger == Trigger::Rollback {
        return None;
    }
    let mut current = release;
    for _ in 0..MAX_CHAIN {
        if current.spec.trigger == Trigger::Push || current.spec.pushed_at.is_some() {
            return current.push_time();
        }
        let source = current.spec.source_release_id.as_deref()?;
        current = by_id.get(&(current.spec.app.as_str(), source))?;
    }
    None
}

/// The nearest-rank `percent` percentile of `samples` (sorted here).
fn percentile(samples: &mut [f64], percent: u32) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_by(f64::total_cmp);
    let rank = (u64::from(percent) * samples.len() as u64).div_ceil(100);
    let index = usize::try_from(rank.max(1)).ok()? - 1;
    samples.get(index).copied()
}

fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 1000.0
}

fn is_failure(status: ReleaseStatus) -> bool {
    matches!(status, ReleaseStatus::Failed | ReleaseStatus::RolledBack)
}

/// The measures of every (app, stage) that has releases in `releases`, sorted by app and
/// stage. `releases` may hold releases outside the window (the sources a promotion's lead
/// time is followed back to, a success that restores): only those that finished inside it
/// are measured.
pub fn dora_metrics(releases: &[Release], window: Window) -> Vec<StageMetrics> {
    let by_id: BTreeMap<(&str, &str), &Release> = releases
        .iter()
        .map(|r| ((r.spec.app.as_str(), r.spec.release_id.as_str()), r))
        .collect();
    let mut stages: BTreeMap<(&str, &str), Vec<&Release>> = BTreeMap::new();
    for release in releases {
        stages
            .entry((release.spec.app.as_str(), release.spec.stage.as_str()))
            .or_default()
            .push(release);
    }
    stages
        .into_iter()
        .map(|((app, stage), releases)| stage_metrics(app, stage, releases, &by_id, window))
        .collect()
}

/// The measures of a stage with no release at all.
pub fn no_releases(app: &str, stage: &str, window: Window) -> StageMetrics {
    stage_metrics(app, stage, Vec::new(), &BTreeMap::new(), window)
}

fn stage_metrics(
    app: &str,
    stage: &str,
    mut releases: Vec<&Release>,
    by_id: &BTreeMap<(&str, &str), &Release>,
    window: Window,
) -> StageMetrics {
    // In the order they ended (a release that has not ended is not measured).
    releases.retain(|r| r.status.is_terminal() && finished(r).is_some());
    releases.sort_by_key(|r| finished(r));
    let in_window = |r: &&Release| finished(r).is_some_and(|at| window.contains(at));
    let deployments: Vec<&Release> = releases
        .iter()
        .copied()
        .filter(in_window)
        .filter(|r| r.status == ReleaseStatus::Succeeded)
        .collect();
    let mut lead_times: Vec<f64> = deployments
        .iter()
        .filter_map(|r| Some(seconds(push_time(r, by_id)?, finished(r)?)))
        .collect();
    let changes: Vec<&Release> = releases
        .iter()
        .copied()
        .filter(in_window)
        .filter(|r| r.deploy_started_at.is_some())
        .collect();
    let failed_changes = changes.iter().filter(|r| is_failure(r.status)).count() as u64;
    let (mut restores, unrestored) = restore_times(&releases, window);
    let days = window.days();
    StageMetrics {
        app: app.to_string(),
        stage: stage.to_string(),
        window_days: days,
        deployments: deployments.len() as u64,
        deployments_per_day: if days > 0.0 {
            deployments.len() as f64 / days
        } else {
            0.0
        },
        lead_time_samples: lead_times.len() as u64,
        lead_time_p50_seconds: percentile(&mut lead_times, 50),
        lead_time_p90_seconds: percentile(&mut lead_times, 90),
        changes: changes.len() as u64,
        failed_changes,
        change_failure_rate: (!changes.is_empty())
            .then(|| failed_changes as f64 / changes.len() as f64),
        restores: restores.len() as u64,
        time_to_restore_p50_seconds: percentile(&mut restores, 50),
        unrestored,
    }
}

/// Each restore's time (see the module's definitions) and how many failures nothing restored
/// yet. `releases`: the stage's, in the order they ended.
fn restore_times(releases: &[&Release], window: Window) -> (Vec<f64>, u64) {
    let mut restores = Vec::new();
    let mut failing_since: Option<DateTime<Utc>> = None;
    for release in releases {
        let Some(at) = finished(release) else {
            continue;
        };
        let failed_change = release.deploy_started_at.is_some() && is_failure(release.status);
        if failed_change && failing_since.is_none() && window.contains(at) {
            failing_since = Some(at);
        } else if release.status == ReleaseStatus::Succeeded {
            if let Some(since) = failing_since.take() {
                restores.push(seconds(since, at));
            }
        }
    }
    (restores, u64::from(failing_since.is_some()))
}

#[cfg(test)]
#[path = "dora_tests.rs"]
mod tests;
