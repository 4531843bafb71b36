//! `stevedore where IMAGE|DIGEST|TAG`: every stage running an image, from the table's
//! `ByDigest` index. A tag is first resolved to the digests of the releases that carry it;
//! an image reference (`repo@sha256:...`, `repo:tag`) also limits the answer to that repository.

mod parse;

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;
use stevedore_aws::Store;
use stevedore_core::release::Release;

use crate::exit::Failure;
use crate::output::{
    public_release, running_cells, short_digest, status_style, table, Cell, Out, Paint, DIM,
};
pub use parse::{parse, ImageQuery, Target};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A digest (sha256:...), a tag (v1.4.0), or an image (repo@sha256:... or repo:tag).
    #[arg(value_name = "IMAGE|DIGEST|TAG", value_parser = parse)]
    pub image: ImageQuery,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A stage the image was released to: the release it runs now, or (not running) the newest
/// release of the image there.
#[derive(Debug, Serialize)]
pub struct Placement {
    pub app: String,
    pub stage: String,
    pub release: Release,
}

#[derive(Debug, Serialize)]
pub struct Found {
    pub digests: Vec<String>,
    pub running: Vec<Placement>,
    pub not_running: Vec<Placement>,
}

pub async fn run(store: &Store, args: &Args, out: Out) -> Result<()> {
    let query = &args.image;
    let digests = match &query.target {
        Target::Digest(digest) => vec![digest.clone()],
        Target::Tag(tag) => digests_of_tag(store, tag, query.repository.as_deref()).await?,
    };
    let found = placements(store, digests, query.repository.as_deref()).await?;
    if out.json {
        crate::output::print_json(&found)?;
    } else {
        println!("{}", render(&found, Utc::now(), out.paint));
    }
    if found.running.is_empty() {
        return Err(Failure::NotFound(format!("{} runs on no stage", describe(query))).into());
    }
    Ok(())
}

fn describe(query: &ImageQuery) -> String {
    let what = match &query.target {
        Target::Digest(d) => d.clone(),
        Target::Tag(t) => format!("tag `{t}`"),
    };
    match &query.repository {
        Some(repository) => format!("{what} of repository `{repository}`"),
        None => what,
    }
}

/// The digests of the releases carrying `tag`, on every stage of every app (of `repository`).
async fn digests_of_tag(store: &Store, tag: &str, repository: Option<&str>) -> Result<Vec<String>> {
    let mut digests = Vec::new();
    for app in store.list_apps().await? {
        let Some(config) = store.get_app_config(&app).await? else {
            continue;
        };
        if repository.is_some_and(|r| r != config.repository) {
            continue;
        }
        for stage in config.stages.keys() {
            for release in store.releases_tagged(&app, stage, tag).await? {
                if !digests.contains(&release.spec.digest) {
                    digests.push(release.spec.digest);
                }
            }
        }
    }
    if digests.is_empty() {
        let query = ImageQuery {
            repository: repository.map(str::to_string),
            target: Target::Tag(tag.to_string()),
        };
        return Err(Failure::NotFound(format!("no release carries {}", describe(&query))).into());
    }
    Ok(digests)
}

/// Where each digest was released (the index), and which of those stages run it now (their HEAD).
async fn placements(
    store: &Store,
    digests: Vec<String>,
    repository: Option<&str>,
) -> Result<Found> {
    let mut by_stage: BTreeMap<(String, String), Vec<Release>> = BTreeMap::new();
    for digest in &digests {
        for release in store.releases_of_digest(digest).await? {
            if repository.is_some_and(|r| r != release.spec.repository) {
                continue;
            }
            let key = (release.spec.app.clone(), release.spec.stage.clone());
            by_stage.entry(key).or_default().push(release);
        }
    }
    let mut found = Found {
        digests,
        running: Vec::new(),
        not_running: Vec::new(),
    };
    for ((app, stage), releases) in by_stage {
        let current = store
            .head(&app, &stage)
            .await?
            .and_then(|h| h.current_release);
        let running = releases
            .iter()
            .find(|r| Some(&r.spec.release_id) == current.as_ref());
        let (list, release) = match running {
            Some(release) => (&mut found.running, release),
            None => match releases
                .iter()
                .max_by(|a, b| a.spec.release_id.cmp(&b.spec.release_id))
            {
                Some(newest) => (&mut found.not_running, newest),
                None => continue,
            },
        };
        list.push(Placement {
            app,
            stage,
            release: public_release(release),
        });
    }
    Ok(found)
}

/// The stages running the image, then those it was released to that run something else.
pub fn render(found: &Found, now: DateTime<Utc>, paint: Paint) -> String {
    let mut out = Vec::new();
    if found.running.is_empty() {
        out.push(paint.style(DIM, "(running on no stage)"));
    } else {
        let rows: Vec<Vec<Cell>> = found
            .running
            .iter()
            .map(|p| {
                let mut row: Vec<Cell> = vec![p.app.clone().into(), p.stage.clone().into()];
                row.extend(running_cells(&p.release, now));
                row
            })
            .collect();
        let header = [
            "APP",
            "STAGE",
            "RELEASE",
            "TAG",
            "DIGEST",
            "TASK DEFINITION",
            "SINCE",
        ];
        out.extend(table(paint, 0, &header, &rows));
    }
    if !found.not_running.is_empty() {
        out.push(String::new());
        out.push("Released to, but not running there now:".into());
        let rows: Vec<Vec<Cell>> = found
            .not_running
            .iter()
            .map(|p| {
                let r = &p.release;
                vec![
                    p.app.clone().into(),
                    p.stage.clone().into(),
                    r.spec.release_id.clone().into(),
                    r.spec.tag.clone().into(),
                    short_digest(&r.spec.digest).into(),
                    Cell::styled(r.status.to_string(), status_style(r.status)),
                ]
            })
            .collect();
        let header = ["APP", "STAGE", "NEWEST RELEASE", "TAG", "DIGEST", "STATUS"];
        out.extend(table(paint, 2, &header, &rows));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use stevedore_core::release::ReleaseStatus;

    use super::*;
    use crate::fixtures::{finished, now, release};

    #[test]
    fn stages_running_the_image_then_those_that_moved_on() {
        let staging = finished(
            "01JD3Q8Z0000000000000000AB",
            ReleaseStatus::Succeeded,
            7,
            "2026-01-01T00:00:42.000Z",
        );
        let mut production = finished(
            "01JD3R2K0000000000000000CD",
            ReleaseStatus::Succeeded,
            5,
            "2026-01-01T01:10:00.000Z",
        );
        production.spec.stage = "production".into();
        production.spec.trigger = stevedore_core::release::Trigger::Promote;
        let mut gone = release("01JD2Z0A0000000000000000GH", ReleaseStatus::RolledBack);
        gone.spec.app = "backend-eu".into();
        let found = Found {
            digests: vec![staging.spec.digest.clone()],
            running: vec![
                Placement {
                    app: "backend".into(),
                    stage: "production".into(),
                    release: production,
                },
                Placement {
                    app: "backend".into(),
                    stage: "staging".into(),
                    release: staging,
                },
            ],
            not_running: vec![Placement {
                app: "backend-eu".into(),
                stage: "staging".into(),
                release: gone,
            }],
        };
        insta::assert_snapshot!(render(&found, now(), Paint::default()));
    }

    #[test]
    fn an_image_running_nowhere_says_so() {
        let found = Found {
            digests: vec![],
            running: vec![],
            not_running: vec![],
        };
        assert_eq!(
            render(&found, now(), Paint::default()),
            "(running on no stage)"
        );
        let query = parse("backend:v9").unwrap();
        assert_eq!(describe(&query), "tag `v9` of repository `backend`");
    }
}
