//! `stevedore history`: a stage's releases as a table (or JSON). A release that moved several
//! services lists each of them, and each schedule it pointed, under its row. Neither form
//! ever carries the parked approval task token.

use anyhow::Result;
use stevedore_aws::Store;
use stevedore_core::release::{Release, ScheduleRecord, ServiceRecord};

use crate::lookup::{app_config, check_stage};
use crate::output::{self, public_release, revision, short_digest, status_style, Cell, Out, Paint};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub app: String,
    /// Only this stage (default: every stage of the app).
    #[arg(long)]
    pub stage: Option<String>,
    /// How many releases per stage (newest first; read page by page, so any number works).
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(store: &Store, args: &Args, out: Out) -> Result<()> {
    let config = app_config(store, &args.app).await?;
    let stages = match &args.stage {
        Some(stage) => {
            check_stage(&config, &args.app, stage)?;
            vec![stage.clone()]
        }
        None => config.stages.keys().cloned().collect(),
    };
    let mut releases = Vec::new();
    for stage in &stages {
        releases.extend(store.list_releases(&args.app, stage, args.limit).await?);
    }
    let releases = without_task_tokens(releases);
    if out.json {
        return crate::output::print_json(&releases);
    }
    println!("{}", table(&releases, out.paint));
    Ok(())
}

/// The approval gate's task token completes the parked execution (approves the release) for
/// whoever holds it: history shows that a release waits (`approval_requested_at`), never the
/// token itself.
fn without_task_tokens(releases: Vec<Release>) -> Vec<Release> {
    releases.iter().map(public_release).collect()
}

/// `backend:7 -> backend:8`: what ran before the release, and the revision it moves to.
fn moved(previous: &str, new: &str) -> String {
    format!("{} -> {}", revision(Some(previous)), revision(Some(new)))
}

/// One indented line per service and per schedule of a multi-service release (kind, name,
/// previous -> new revision, status, and a service's reason), aligned within the release;
/// none for a release of one service.
fn parts(services: &[ServiceRecord], schedules: &[ScheduleRecord]) -> Vec<String> {
    let mut cells: Vec<[String; 5]> = services
        .iter()
        .map(|s| {
            [
                "service".to_string(),
                s.service.clone(),
                moved(&s.previous_task_definition_arn, &s.task_definition_arn),
                s.status.clone(),
                s.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    cells.extend(schedules.iter().map(|s| {
        let target = s.target.to_string();
        let (kind, name) = target.split_once(' ').unwrap_or(("schedule", &target));
        [
            kind.to_string(),
            name.to_string(),
            moved(&s.previous_task_definition_arn, &s.task_definition_arn),
            s.status.clone(),
            String::new(),
        ]
    }));
    let mut widths = [0usize; 5];
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row.iter()) {
            *width = (*width).max(cell.chars().count());
        }
    }
    cells
        .iter()
        .map(|row| {
            let text = row
                .iter()
                .zip(widths.iter())
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("  ");
            format!("  {}", text.trim_end())
        })
        .collect()
}

/// ECS's own rollout as measured, beside what the settings predicted: `rollout 4m02s
/// (predicted 4m40s)`; none when neither was recorded.
fn rollout_line(release: &Release) -> Option<String> {
    let predicted = release
        .predicted_rollout_seconds
        .map(|p| output::duration(p as f64));
    match (release.measured_rollout_seconds, predicted) {
        (Some(measured), Some(p)) => Some(format!(
            "  rollout {} (predicted {p})",
            output::duration(measured)
        )),
        (Some(measured), None) => Some(format!("  rollout {}", output::duration(measured))),
        (None, Some(p)) => Some(format!("  rollout predicted {p}")),
        (None, None) => None,
    }
}

/// The history table; a release without a reason shows `-`. A multi-service release's row is
/// followed by its services and schedules (see `parts`), a linear or canary one's by its
/// traffic steps.
pub fn table(releases: &[Release], paint: Paint) -> String {
    let header = [
        "STAGE",
        "RELEASE",
        "STATUS",
        "TAG",
        "DIGEST",
        "TASK DEFINITION",
        "CREATED",
        "REASON",
    ];
    let rows: Vec<Vec<Cell>> = releases
        .iter()
        .map(|r| {
            vec![
                r.spec.stage.clone().into(),
                r.spec.release_id.clone().into(),
                Cell::styled(r.status.to_string(), status_style(r.status)),
                r.spec.tag.clone().into(),
                short_digest(&r.spec.digest).into(),
                revision(r.task_definition_arn.as_deref()).into(),
                r.created_at.clone().into(),
                r.reason.clone().unwrap_or_else(|| "-".into()).into(),
            ]
        })
        .collect();
    let lines = output::table(paint, 0, &header, &rows);
    let mut out = vec![lines[0].clone()];
    for (line, release) in lines.iter().skip(1).zip(releases) {
        out.push(line.clone());
        out.extend(parts(&release.services, &release.schedules));
        // A linear or canary rollout's production traffic steps, as the hook recorded them.
        if let Some(steps) = stevedore_core::traffic::describe_steps(&release.traffic_steps) {
            out.push(format!("  traffic {steps}"));
        }
        out.extend(rollout_line(release));
    }
    if rows.is_empty() {
        out.push("(no releases yet)".into());
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use stevedore_core::config::ScheduleRef;
    use stevedore_core::release::{ReleaseSpec, ReleaseStatus, Trigger};

    fn release(status: ReleaseStatus, reason: Option<&str>) -> Release {
        let spec = ReleaseSpec {
            release_id: "01JD3Q8Z0000000000000000AB".into(),
            app: "backend".into(),
            stage: "staging".into(),
            repository: "backend".into(),
            digest: format!("sha256:{}", "ab".repeat(32)),
            tag: "develop-1a2b3c4".into(),
            image_uri: "uri".into(),
            trigger: Trigger::Push,
            source_release_id: None,
            pushed_at: None,
            redeploy_task_definition_arn: None,
            redeploy_services: Default::default(),
        };
        let mut release = Release::new_pending(spec, chrono::DateTime::UNIX_EPOCH);
        release.status = status;
        release.reason = reason.map(str::to_string);
        release.task_definition_arn =
            Some("arn:aws:ecs:us-east-1:1:task-definition/backend:7".into());
        release
    }

    fn table_of(releases: &[Release]) -> String {
        table(releases, Paint::default())
    }

    #[test]
    fn table_lines_up_columns_and_shows_reasons() {
        let text = table_of(&[
            release(ReleaseStatus::Succeeded, None),
            release(
                ReleaseStatus::Failed,
                Some("migration command exited with exit code 3"),
            ),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("STAGE"), "{text}");
        let status_column = lines[0].find("STATUS").expect("STATUS header");
        assert_eq!(&lines[1][status_column..status_column + 9], "SUCCEEDED");
        assert_eq!(&lines[2][status_column..status_column + 6], "FAILED");
        assert!(lines[1].contains("sha256:abababababab") && lines[1].contains("backend:7"));
        assert!(lines[1].ends_with('-'), "no reason shows as -: {text}");
        assert!(lines[2].ends_with("exit code 3"));
    }

    fn service(name: &str, family: &str, status: &str, reason: Option<&str>) -> ServiceRecord {
        ServiceRecord {
            cluster: "demo".into(),
            service: name.into(),
            task_definition_arn: format!("arn:aws:ecs:us-east-1:1:task-definition/{family}:8"),
            previous_task_definition_arn: format!(
                "arn:aws:ecs:us-east-1:1:task-definition/{family}:7"
            ),
            status: status.into(),
            deployment_id: Some("ecs-svc/1".into()),
            restore_deployment_id: None,
            reason: reason.map(str::to_string),
            started_at: None,
            finished_at: None,
        }
    }

    #[test]
    fn a_multi_service_release_lists_its_services_and_schedules() {
        let mut multi = release(
            ReleaseStatus::RolledBack,
            Some("service backend-worker-staging: deployment rolled back by ECS"),
        );
        multi.services = vec![
            service("backend-staging", "backend", "RESTORED", None),
            service(
                "backend-worker-staging",
                "backend-worker",
                "ROLLED_BACK",
                Some("tasks failed health checks"),
            ),
        ];
        multi.schedules = vec![ScheduleRecord {
            target: ScheduleRef::Schedule {
                name: "backend-nightly-staging".into(),
                group: "default".into(),
            },
            task_definition_arn: "arn:aws:ecs:us-east-1:1:task-definition/backend-worker:8".into(),
            previous_task_definition_arn:
                "arn:aws:ecs:us-east-1:1:task-definition/backend-worker:7".into(),
            status: "PENDING".into(),
            pointed_at: None,
        }];
        let text = table_of(&[multi, release(ReleaseStatus::Succeeded, None)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            6,
            "header, release, 2 services, 1 schedule, release:\n{text}"
        );
        assert!(lines[1].starts_with("staging") && lines[1].contains("ROLLED_BACK"));
        assert!(lines[5].starts_with("staging") && lines[5].contains("SUCCEEDED"));
        let service_lines = &lines[2..5];
        for line in service_lines {
            assert!(line.starts_with("  "), "indented under its release: {text}");
        }
        assert!(
            service_lines[0].contains("service   backend-staging"),
            "{text}"
        );
        assert!(
            service_lines[0].contains("backend:7 -> backend:8"),
            "{text}"
        );
        assert!(service_lines[0].trim_end().ends_with("RESTORED"), "{text}");
        assert!(service_lines[1].contains("backend-worker:7 -> backend-worker:8"));
        assert!(
            service_lines[1].ends_with("ROLLED_BACK  tasks failed health checks"),
            "{text}"
        );
        assert!(
            service_lines[2].contains("schedule  default/backend-nightly-staging"),
            "{text}"
        );
        assert!(service_lines[2].ends_with("PENDING"), "{text}");
        // Aligned within the release: every status starts in the same column.
        let column = |line: &str, word: &str| line.find(word).expect(word);
        assert_eq!(
            column(service_lines[0], "RESTORED"),
            column(service_lines[1], "ROLLED_BACK")
        );
        assert_eq!(
            column(service_lines[1], "ROLLED_BACK"),
            column(service_lines[2], "PENDING")
        );
    }

    #[test]
    fn a_linear_release_is_followed_by_its_traffic_steps() {
        use stevedore_core::traffic::{TrafficStep, STEP_STAGE};
        let mut linear = release(ReleaseStatus::RolledBack, Some("smoke test failed"));
        linear.traffic_steps = [10.0, 20.0]
            .into_iter()
            .map(|percent| TrafficStep {
                percent,
                lifecycle_stage: STEP_STAGE.into(),
                at: "2026-01-01T00:00:03Z".into(),
                revision: Some("arn:rev/2".into()),
                service: Some("web".into()),
            })
            .collect();
        let lines: Vec<String> = table_of(&[linear]).lines().map(str::to_string).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[2], "  traffic 10 % → 20 %");
    }

    #[test]
    fn a_release_shows_its_measured_rollout_beside_the_prediction() {
        let mut done = release(ReleaseStatus::Succeeded, None);
        done.predicted_rollout_seconds = Some(280);
        done.measured_rollout_seconds = Some(242.4);
        let mut running = release(ReleaseStatus::InProgress, None);
        running.predicted_rollout_seconds = Some(45);
        let lines: Vec<String> = table_of(&[done, running, release(ReleaseStatus::Failed, None)])
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(lines.len(), 6, "{lines:?}");
        assert_eq!(lines[2], "  rollout 4m02s (predicted 4m40s)");
        assert_eq!(lines[4], "  rollout predicted 45.0s");
        assert!(
            lines[5].starts_with("staging"),
            "nothing recorded, no line: {lines:?}"
        );
    }

    #[test]
    fn history_never_carries_the_approval_task_token() {
        let mut parked = release(ReleaseStatus::InProgress, None);
        parked.approval_task_token = Some("AQB8-secret-token".into());
        parked.approval_requested_at = Some("2026-01-01T00:00:00.000Z".into());
        let shown = without_task_tokens(vec![parked]);
        let json = serde_json::to_string_pretty(&shown).unwrap();
        assert!(!json.contains("AQB8-secret-token") && !json.contains("approval_task_token"));
        assert!(json.contains("approval_requested_at"), "{json}");
        assert!(!table_of(&shown).contains("AQB8-secret-token"));
    }

    #[test]
    fn snapshot_of_a_stage_history() {
        let mut rejected = release(ReleaseStatus::Failed, Some("rejected at the approval gate by arn:aws:sts::123456789012:assumed-role/release/bob: change freeze; nothing was changed"));
        rejected.spec.release_id = "01JD3R2K0000000000000000CD".into();
        rejected.task_definition_arn = None;
        insta::assert_snapshot!(table_of(&[
            rejected,
            release(ReleaseStatus::Succeeded, None)
        ]));
    }

    #[test]
    fn empty_history_says_so() {
        assert!(table_of(&[]).ends_with("(no releases yet)"));
    }
}
