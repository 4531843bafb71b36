//! `stevedore history`: a stage's releases as a table (or JSON).

use anyhow::{bail, Result};
use stevedore_aws::Store;
use stevedore_core::release::Release;

pub async fn print(
    store: &Store,
    app: &str,
    stage: Option<&str>,
    limit: usize,
    json: bool,
) -> Result<()> {
    let stages = match stage {
        Some(stage) => vec![stage.to_string()],
        None => match store.get_app_config(app).await? {
            Some(config) => config.stages.keys().cloned().collect(),
            None => bail!("app `{app}` is not configured; apply a stevedore.yaml that defines it"),
        },
    };
    let mut releases = Vec::new();
    for stage in &stages {
        releases.extend(store.list_releases(app, stage, limit).await?);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&releases)?);
        return Ok(());
    }
    println!("{}", table(&releases));
    Ok(())
}

fn short_digest(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("sha256:{}", hex.chars().take(12).collect::<String>())
}

fn revision(arn: Option<&str>) -> String {
    arn.and_then(|a| a.rsplit('/').next())
        .unwrap_or("-")
        .to_string()
}

/// The history table; a release without a reason shows `-`.
pub fn table(releases: &[Release]) -> String {
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
    let rows: Vec<[String; 8]> = releases
        .iter()
        .map(|r| {
            [
                r.spec.stage.clone(),
                r.spec.release_id.clone(),
                r.status.to_string(),
                r.spec.tag.clone(),
                short_digest(&r.spec.digest),
                revision(r.task_definition_arn.as_deref()),
                r.created_at.clone(),
                r.reason.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row.iter()) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(widths.iter())
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(header.to_vec())];
    for row in &rows {
        out.push(line(row.iter().map(String::as_str).collect()));
    }
    if rows.is_empty() {
        out.push("(no releases yet)".into());
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn table_lines_up_columns_and_shows_reasons() {
        let text = table(&[
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

    #[test]
    fn empty_history_says_so() {
        assert!(table(&[]).ends_with("(no releases yet)"));
    }
}
