//! `stevedore history`: a stage's releases as a table (or JSON).

use anyhow::{bail, Result};
use stevedore_aws::Store;
use stevedore_core::release::Release;

pub async fn print(
    store: &Store,
    app: &str,
    stage: Option<&str>,
    limit: i32,
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
