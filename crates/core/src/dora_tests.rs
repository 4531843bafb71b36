use super::*;
use crate::release::{release_id, timestamp, ReleaseSpec};

/// 2026-01-01T00:00:00Z: the window is its first ten days.
fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).expect("time")
}

const MINUTE: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(seconds)
}

fn window() -> Window {
    Window {
        from: t0(),
        to: at(10 * DAY),
    }
}

/// A release of `shop` to `stage` whose id carries `id_at` (the push, or when a promotion,
/// retry or rollback started), ended `status` at `ended`; `deployed`: it reached
/// `deploy_started_at`.
struct Seed<'a> {
    stage: &'a str,
    name: &'a str,
    trigger: Trigger,
    source: Option<&'a str>,
    id_at: i64,
    status: ReleaseStatus,
    ended: Option<i64>,
    deployed: bool,
}

fn seed(seeds: &[Seed<'_>]) -> Vec<Release> {
    let ids: BTreeMap<&str, String> = seeds
        .iter()
        .map(|s| {
            let ms = at(s.id_at).timestamp_millis() as u64;
            (
                s.name,
                release_id("shop", s.stage, &format!("sha256:{}", s.name), ms),
            )
        })
        .collect();
    seeds
        .iter()
        .map(|s| {
            let spec = ReleaseSpec {
                release_id: ids[s.name].clone(),
                app: "shop".into(),
                stage: s.stage.into(),
                repository: "shop".into(),
                digest: format!("sha256:{}", s.name),
                tag: s.name.into(),
                image_uri: "uri".into(),
                trigger: s.trigger,
                // A source not seeded keeps a made-up id (its chain leaves the history).
                source_release_id: s
                    .source
                    .map(|name| ids.get(name).cloned().unwrap_or_else(|| name.to_string())),
                pushed_at: None,
                redeploy_task_definition_arn: None,
                redeploy_services: Default::default(),
            };
            let mut release = Release::new_pending(spec, at(s.id_at));
            release.status = s.status;
            release.finished_at = s.ended.map(|e| timestamp(at(e)));
            release.deploy_started_at = s.deployed.then(|| timestamp(at(s.id_at + MINUTE)));
            release
        })
        .collect()
}

fn push(
    stage: &'static str,
    name: &'static str,
    pushed: i64,
    status: ReleaseStatus,
) -> Seed<'static> {
    Seed {
        stage,
        name,
        trigger: Trigger::Push,
        source: None,
        id_at: pushed,
        status,
        ended: None,
        deployed: true,
    }
}

fn ended(mut seed: Seed<'static>, at: i64) -> Seed<'static> {
    seed.ended = Some(at);
    seed
}

fn from(mut seed: Seed<'static>, trigger: Trigger, source: &'static str) -> Seed<'static> {
    seed.trigger = trigger;
    seed.source = Some(source);
    seed
}

/// The history of `shop`, with the answers worked out by hand in the test below.
fn history() -> Vec<Release> {
    use ReleaseStatus::*;
    let staging = |name, at, status| push("staging", name, at, status);
    let production = |name, at, status| push("production", name, at, status);
    let mut r3 = ended(staging("r3", 2 * DAY, Failed), 2 * DAY + 5 * MINUTE);
    r3.deployed = false; // failed before its deployment: changed nothing
    seed(&[
        // Before the window: not measured.
        ended(staging("r0", -DAY, Succeeded), -DAY + 10 * MINUTE),
        ended(staging("r1", HOUR, Succeeded), HOUR + 10 * MINUTE),
        ended(staging("r2", DAY, Succeeded), DAY + 30 * MINUTE),
        r3,
        ended(staging("r4", 3 * DAY, RolledBack), 3 * DAY + 20 * MINUTE),
        ended(
            from(staging("r5", 3 * DAY + HOUR, Failed), Trigger::Retry, "r4"),
            3 * DAY + HOUR + 10 * MINUTE,
        ),
        ended(staging("r6", 4 * DAY, Succeeded), 4 * DAY + HOUR),
        // Still in progress: not measured.
        staging("r7", 9 * DAY, InProgress),
        ended(
            from(production("p1", 2 * DAY, Succeeded), Trigger::Promote, "r2"),
            2 * DAY + 15 * MINUTE,
        ),
        ended(
            from(
                production("p2", 5 * DAY, RolledBack),
                Trigger::Promote,
                "r6",
            ),
            5 * DAY + 10 * MINUTE,
        ),
        ended(
            from(
                production("p3", 5 * DAY + 30 * MINUTE, Succeeded),
                Trigger::Rollback,
                "p1",
            ),
            5 * DAY + 40 * MINUTE,
        ),
        ended(
            from(production("p4", 6 * DAY, Succeeded), Trigger::Retry, "p2"),
            6 * DAY + HOUR,
        ),
        ended(
            from(
                production("p5", 7 * DAY, Succeeded),
                Trigger::Promote,
                "gone",
            ),
            7 * DAY + HOUR,
        ),
        ended(production("p6", 8 * DAY, Failed), 8 * DAY + HOUR),
    ])
}

#[test]
fn dora_measures_of_a_seeded_history() {
    let metrics = dora_metrics(&history(), window());
    let stages: Vec<&str> = metrics.iter().map(|m| m.stage.as_str()).collect();
    assert_eq!(stages, ["production", "staging"]);
    let (production, staging) = (&metrics[0], &metrics[1]);

    // staging: r1, r2, r6 succeeded in the window (r0 ended before it).
    assert_eq!(staging.window_days, 10.0);
    assert_eq!(staging.deployments, 3);
    assert_eq!(staging.deployments_per_day, 0.3);
    // Lead times 10 min, 30 min, 1 h: p50 is the 2nd of 3, p90 the 3rd.
    assert_eq!(staging.lead_time_samples, 3);
    assert_eq!(staging.lead_time_p50_seconds, Some(1800.0));
    assert_eq!(staging.lead_time_p90_seconds, Some(3600.0));
    // Changes r1 r2 r4 r5 r6 (r3 failed before deploying), failed r4 r5.
    assert_eq!((staging.changes, staging.failed_changes), (5, 2));
    assert_eq!(staging.change_failure_rate, Some(0.4));
    // r4 rolled back at 3d 20m, the retry r5 failed too, r6 succeeded at 4d 1h: one restore
    // of 1 d 40 min.
    assert_eq!(staging.restores, 1);
    assert_eq!(
        staging.time_to_restore_p50_seconds,
        Some((DAY + 40 * MINUTE) as f64)
    );
    assert_eq!(staging.unrestored, 0);

    // production: p1, p3 (a rollback), p4, p5 succeeded.
    assert_eq!(production.deployments, 4);
    assert_eq!(production.deployments_per_day, 0.4);
    // p1 promoted r2 (pushed at 1d): 1d 15m. p4 retried p2, a promotion of r6 (pushed at 4d):
    // 2d 1h. p3 is a rollback and p5's source is not in the history: no lead time.
    assert_eq!(production.lead_time_samples, 2);
    assert_eq!(
        production.lead_time_p50_seconds,
        Some((DAY + 15 * MINUTE) as f64)
    );
    assert_eq!(
        production.lead_time_p90_seconds,
        Some((2 * DAY + HOUR) as f64)
    );
    // Changes p1..p6, failed p2 and p6.
    assert_eq!((production.changes, production.failed_changes), (6, 2));
    assert_eq!(production.change_failure_rate, Some(2.0 / 6.0));
    // p2 rolled back at 5d 10m, the rollback p3 succeeded at 5d 40m: 30 min. p6 failed last:
    // nothing restored it yet.
    assert_eq!(production.restores, 1);
    assert_eq!(production.time_to_restore_p50_seconds, Some(1800.0));
    assert_eq!(production.unrestored, 1);
}

#[test]
fn a_stage_with_nothing_in_the_window_has_no_measures() {
    let old: Vec<Release> = history()
        .into_iter()
        .filter(|r| r.spec.tag == "r0")
        .collect();
    let [metrics] = dora_metrics(&old, window()).try_into().expect("one stage");
    assert_eq!(metrics.deployments, 0);
    assert_eq!(metrics.deployments_per_day, 0.0);
    assert_eq!(metrics.lead_time_p50_seconds, None);
    assert_eq!(metrics.change_failure_rate, None);
    assert_eq!(metrics.time_to_restore_p50_seconds, None);
}

#[test]
fn nearest_rank_percentiles() {
    let mut samples = vec![40.0, 10.0, 30.0, 20.0];
    assert_eq!(percentile(&mut samples, 50), Some(20.0));
    assert_eq!(percentile(&mut samples, 90), Some(40.0));
    assert_eq!(percentile(&mut [7.0], 90), Some(7.0));
    assert_eq!(percentile(&mut [], 50), None);
}

#[test]
fn since_takes_a_number_and_a_unit() {
    assert_eq!(parse_since("30d"), Ok(Duration::days(30)));
    assert_eq!(parse_since("12h"), Ok(Duration::hours(12)));
    assert_eq!(parse_since("2w"), Ok(Duration::weeks(2)));
    assert_eq!(parse_since("90m"), Ok(Duration::minutes(90)));
    assert!(parse_since("30").is_err());
    assert!(parse_since("0d").is_err());
    assert!(parse_since("d").is_err());
    assert!(parse_since("3y").is_err());
}

#[test]
fn pushed_at_gives_a_lead_time_whose_source_left_the_history() {
    // p5 promoted a release no longer in the history: without pushed_at it has no lead
    // time (the test above); with the push time it carried along, it has one.
    let mut releases = history();
    let p5 = releases
        .iter_mut()
        .find(|r| r.spec.tag == "p5")
        .expect("p5 is seeded");
    p5.spec.pushed_at = Some(timestamp(at(6 * DAY)));
    let metrics = dora_metrics(&releases, window());
    let production = &metrics[0];
    // Lead times now 1d 15m (p1), 1d 1h (p5: pushed 6d, ended 7d 1h), 2d 1h (p4).
    assert_eq!(production.lead_time_samples, 3);
    assert_eq!(production.lead_time_p50_seconds, Some((DAY + HOUR) as f64));
    assert_eq!(
        production.lead_time_p90_seconds,
        Some((2 * DAY + HOUR) as f64)
    );
}
