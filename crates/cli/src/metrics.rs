//! `stevedore metrics [APP] [--stage S] [--since 30d]`: the four DORA measures per stage,
//! computed from the release table (see `stevedore_core::dora` for the definitions).

use std::collections::BTreeSet;

use anyhow::{bail, Result};
use chrono::{DateTime, Duration, Utc};
use comfy_table::{presets, CellAlignment, Table};
use serde::Serialize;
use stevedore_aws::Store;
use stevedore_core::config::AppConfig;
use stevedore_core::dora::{
    dora_metrics, no_releases, parse_since, StageMetrics, Window, MAX_CHAIN,
};
use stevedore_core::release::{id_time, Trigger};
use stevedore_core::rollout_estimate::{rollout_accuracy, RolloutAccuracy};
use stevedore_core::Release;

#[derive(clap::Args)]
pub struct MetricsArgs {
    /// Only this app (default: every app applied to the table).
    pub app: Option<String>,
    /// Only this stage.
    #[arg(long)]
    pub stage: Option<String>,
    /// How far back to measure: a number and a unit (s, m, h, d, w).
    #[arg(long, default_value = "30d", value_parser = parse_since)]
    pub since: Duration,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A release that ends in the window may have started before it: by at most the longest
/// approval wait (30 days) plus its rollout. Releases whose id is older than the window by
/// more than this are not read.
const LOOKBACK_DAYS: i64 = 31;

pub async fn run(store: &Store, args: MetricsArgs) -> Result<()> {
    let now = Utc::now();
    let window = Window::since(args.since, now);
    let apps = match &args.app {
        Some(app) => vec![app.clone()],
        None => store.list_apps().await?,
    };
    let mut releases = Vec::new();
    let mut stages = Vec::new();
    for app in &apps {
        let Some(config) = store.get_app_config(app).await? else {
            bail!("app `{app}` is not configured; apply a stevedore.yaml that defines it");
        };
        let wanted: Vec<&String> = config
            .stages
            .keys()
            .filter(|stage| args.stage.as_ref().is_none_or(|s| s == *stage))
            .collect();
        if wanted.is_empty() && args.app.is_some() {
            if let Some(stage) = &args.stage {
                bail!("app `{app}` has no stage `{stage}` in its stevedore.yaml");
            }
        }
        let cutoff = window.from - Duration::days(LOOKBACK_DAYS);
        let mut read = Vec::new();
        for stage in wanted {
            read.extend(releases_since(store, app, stage, cutoff).await?);
            stages.push((app.clone(), stage.clone()));
        }
        follow_sources(store, app, &config, &mut read).await?;
        releases.extend(read);
    }
    let measured = dora_metrics(&releases, window);
    let rows: Vec<Row> =
        stages
            .iter()
            .map(|(app, stage)| Row {
                dora: measured
                    .iter()
                    .find(|m| &m.app == app && &m.stage == stage)
                    .cloned()
                    .unwrap_or_else(|| no_releases(app, stage, window)),
                rollout: rollout_accuracy(releases.iter().filter(|r| {
                    &r.spec.app == app && &r.spec.stage == stage && ended_in(r, window)
                })),
            })
            .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "DORA measures from {} to {}",
            window.from.format("%Y-%m-%d %H:%M UTC"),
            window.to.format("%Y-%m-%d %H:%M UTC")
        );
        println!("{}", table(&rows));
    }
    Ok(())
}

/// A stage's row: its DORA measures, and its ECS rollouts measured against the predictions.
#[derive(Debug, Serialize)]
pub struct Row {
    #[serde(flatten)]
    pub dora: StageMetrics,
    #[serde(flatten)]
    pub rollout: RolloutAccuracy,
}

fn ended_in(release: &Release, window: Window) -> bool {
    release
        .finished_at
        .as_deref()
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
        .is_some_and(|at| at >= window.from && at <= window.to)
}

/// The stage's releases whose id is not older than `cutoff`, newest first, page by page.
async fn releases_since(
    store: &Store,
    app: &str,
    stage: &str,
    cutoff: DateTime<Utc>,
) -> Result<Vec<Release>> {
    let mut kept = Vec::new();
    store
        .find_release(app, stage, |release| {
            let older = id_time(&release.spec.release_id).is_some_and(|at| at < cutoff);
            if !older {
                kept.push(release.clone());
            }
            older
        })
        .await?;
    Ok(kept)
}

/// Reads the releases that successful promotions and retries were made from and that are not
/// in `releases` yet (older ones, or of a stage not measured), so each lead time can be
/// followed back to its push. A promotion's source is in one of the stages it may be
/// promoted from, a retry's in its own stage.
async fn follow_sources(
    store: &Store,
    app: &str,
    config: &AppConfig,
    releases: &mut Vec<Release>,
) -> Result<()> {
    let mut tried: BTreeSet<String> = BTreeSet::new();
    for _ in 0..MAX_CHAIN {
        let known: BTreeSet<&str> = releases
            .iter()
            .map(|r| r.spec.release_id.as_str())
            .collect();
        let wanted: Vec<(String, Vec<String>)> = releases
            .iter()
            .filter(|r| matches!(r.spec.trigger, Trigger::Promote | Trigger::Retry))
            .filter_map(|r| {
                let source = r.spec.source_release_id.as_deref()?;
                if known.contains(source) || tried.contains(source) {
                    return None;
                }
                let mut stages = match r.spec.trigger {
                    Trigger::Promote => config
                        .stages
                        .get(&r.spec.stage)
                        .map(|s| s.promote_from.clone())
                        .unwrap_or_default(),
                    _ => Vec::new(),
                };
                stages.push(r.spec.stage.clone());
                Some((source.to_string(), stages))
            })
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        for (source, stages) in wanted {
            tried.insert(source.clone());
            for stage in stages {
                if let Some(found) = store.get_release(app, &stage, &source).await? {
                    releases.push(found);
                    break;
                }
            }
        }
    }
    Ok(())
}

/// `1d 40m`, `2h 5m`, `45s`: days, hours and minutes (seconds under a minute).
pub fn duration(seconds: f64) -> String {
    let total = seconds.max(0.0).round() as u64;
    if total < 60 {
        return format!("{total}s");
    }
    let (days, hours, minutes) = (total / 86_400, total % 86_400 / 3600, total % 3600 / 60);
    let parts: Vec<String> = [(days, "d"), (hours, "h"), (minutes, "m")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    parts.join(" ")
}

fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "-".to_string())
}

/// `4m02s vs 4m40s (0.86×)`: median ECS rollout, median prediction, median ratio.
fn rollout_cell(r: &RolloutAccuracy) -> String {
    match (
        r.ecs_rollout_p50_seconds,
        r.predicted_rollout_p50_seconds,
        r.measured_to_predicted_p50,
    ) {
        (Some(m), Some(p), Some(ratio)) => format!(
            "{} vs {} ({ratio:.2}×)",
            crate::output::duration(m),
            crate::output::duration(p)
        ),
        _ => "-".to_string(),
    }
}

/// The measures as a table, one row per stage.
pub fn table(rows: &[Row]) -> String {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED).set_header([
        "APP",
        "STAGE",
        "DEPLOYS",
        "PER DAY",
        "LEAD TIME P50",
        "LEAD TIME P90",
        "CHANGE FAILURE",
        "TIME TO RESTORE",
        "ECS ROLLOUT P50 VS PREDICTED",
    ]);
    for row in rows {
        let m = &row.dora;
        let failure = m
            .change_failure_rate
            .map(|rate| format!("{:.1}% ({}/{})", rate * 100.0, m.failed_changes, m.changes));
        let mut restore = or_dash(m.time_to_restore_p50_seconds.map(duration));
        if m.unrestored > 0 {
            restore.push_str(&format!(" ({} open)", m.unrestored));
        }
        table.add_row([
            m.app.clone(),
            m.stage.clone(),
            m.deployments.to_string(),
            format!("{:.2}", m.deployments_per_day),
            or_dash(m.lead_time_p50_seconds.map(duration)),
            or_dash(m.lead_time_p90_seconds.map(duration)),
            or_dash(failure),
            restore,
            rollout_cell(&row.rollout),
        ]);
    }
    for column in 2..9 {
        if let Some(column) = table.column_mut(column) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    if rows.is_empty() {
        return format!("{table}\n(no stages)");
    }
    table.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Row {
        Row {
            dora: dora_row(),
            rollout: RolloutAccuracy {
                rollouts_measured: 3,
                ecs_rollout_p50_seconds: Some(242.0),
                predicted_rollout_p50_seconds: Some(280.0),
                measured_to_predicted_p50: Some(0.864),
            },
        }
    }

    fn dora_row() -> StageMetrics {
        StageMetrics {
            app: "shop".into(),
            stage: "staging".into(),
            window_days: 10.0,
            deployments: 3,
            deployments_per_day: 0.3,
            lead_time_samples: 3,
            lead_time_p50_seconds: Some(1800.0),
            lead_time_p90_seconds: Some(3600.0),
            changes: 5,
            failed_changes: 2,
            change_failure_rate: Some(0.4),
            restores: 1,
            time_to_restore_p50_seconds: Some(88_800.0),
            unrestored: 1,
        }
    }

    #[test]
    fn durations_read_as_days_hours_minutes() {
        assert_eq!(duration(45.0), "45s");
        assert_eq!(duration(1800.0), "30m");
        assert_eq!(duration(3600.0), "1h");
        assert_eq!(duration(88_800.0), "1d 40m");
        assert_eq!(duration(176_460.0), "2d 1h 1m");
    }

    #[test]
    fn a_row_per_stage() {
        let mut empty = dora_row();
        empty.stage = "production".into();
        empty.deployments = 0;
        empty.deployments_per_day = 0.0;
        empty.lead_time_p50_seconds = None;
        empty.lead_time_p90_seconds = None;
        empty.change_failure_rate = None;
        empty.time_to_restore_p50_seconds = None;
        empty.unrestored = 0;
        let empty = Row {
            dora: empty,
            rollout: RolloutAccuracy::default(),
        };
        let text = table(&[row(), empty]);
        let expected = "\
┌──────┬────────────┬─────────┬─────────┬───────────────┬───────────────┬────────────────┬─────────────────┬──────────────────────────────┐
│ APP  ┆ STAGE      ┆ DEPLOYS ┆ PER DAY ┆ LEAD TIME P50 ┆ LEAD TIME P90 ┆ CHANGE FAILURE ┆ TIME TO RESTORE ┆ ECS ROLLOUT P50 VS PREDICTED │
╞══════╪════════════╪═════════╪═════════╪═══════════════╪═══════════════╪════════════════╪═════════════════╪══════════════════════════════╡
│ shop ┆ staging    ┆       3 ┆    0.30 ┆           30m ┆            1h ┆    40.0% (2/5) ┆ 1d 40m (1 open) ┆       4m02s vs 4m40s (0.86×) │
│ shop ┆ production ┆       0 ┆    0.00 ┆             - ┆             - ┆              - ┆               - ┆                            - │
└──────┴────────────┴─────────┴─────────┴───────────────┴───────────────┴────────────────┴─────────────────┴──────────────────────────────┘";
        assert_eq!(text, expected, "\n{text}");
    }
}
