//! `stevedore status [APP]`: per stage, the release it runs (tag, digest, task definition,
//! since when), the release in flight and its phase, who holds the stage's deploy lock and
//! who waits for it (the stage HEAD item). Without APP: every app in the table.

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;
use stevedore_aws::store::StageHead;
use stevedore_aws::Store;
use stevedore_core::release::{Release, ReleaseStatus};

use crate::lookup::app_config;
use crate::output::{
    public_release, running_cells, short_digest, status_style, table, when, Cell, Out, Paint, BOLD,
    DIM,
};
use crate::progress::{milestones, phase};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only this app (default: every app in the release table).
    pub app: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// One stage as `status` shows it.
#[derive(Debug, Serialize)]
pub struct StageStatus {
    pub app: String,
    pub stage: String,
    /// The release the stage runs (its last SUCCEEDED one).
    pub running: Option<Release>,
    /// The release holding the stage's lock, and what it does now.
    pub in_flight: Option<InFlight>,
    pub lock: Option<Lock>,
    /// Releases waiting for the stage, oldest push first.
    pub waiting: Vec<Waiter>,
}

#[derive(Debug, Serialize)]
pub struct InFlight {
    pub phase: String,
    pub release: Release,
}

#[derive(Debug, Serialize)]
pub struct Lock {
    pub holder: String,
    /// When the holder's lease ends (RFC 3339); past it, the stage is free to take.
    pub lease_expires_at: Option<String>,
    pub expired: bool,
}

#[derive(Debug, Serialize)]
pub struct Waiter {
    pub release_id: String,
    pub tag: Option<String>,
    pub status: Option<ReleaseStatus>,
}

pub async fn run(store: &Store, args: &Args, out: Out) -> Result<()> {
    let apps = match &args.app {
        Some(app) => vec![app.clone()],
        None => {
            let mut apps = store.list_apps().await?;
            apps.sort();
            apps
        }
    };
    let now = Utc::now();
    let mut stages = Vec::new();
    for app in &apps {
        let config = app_config(store, app).await?;
        for stage in config.stages.keys() {
            stages.push(stage_status(store, app, stage, now).await?);
        }
    }
    if out.json {
        #[derive(Serialize)]
        struct Answer<'a> {
            stages: &'a [StageStatus],
        }
        return crate::output::print_json(&Answer { stages: &stages });
    }
    println!("{}", render(&stages, now, out.paint));
    Ok(())
}

async fn stage_status(
    store: &Store,
    app: &str,
    stage: &str,
    now: DateTime<Utc>,
) -> Result<StageStatus> {
    let head = store.head(app, stage).await?.unwrap_or_default();
    let read = |id: Option<String>| async move {
        match id {
            Some(id) => store.get_release(app, stage, &id).await,
            None => Ok(None),
        }
    };
    let running = read(head.current_release.clone()).await?;
    let holder = read(head.lock_holder.clone()).await?;
    let mut waiting = Vec::new();
    for id in &head.waiting {
        let release = store.get_release(app, stage, id).await?;
        waiting.push(Waiter {
            release_id: id.clone(),
            tag: release.as_ref().map(|r| r.spec.tag.clone()),
            status: release.map(|r| r.status),
        });
    }
    Ok(StageStatus {
        app: app.to_string(),
        stage: stage.to_string(),
        running: running.as_ref().map(public_release),
        in_flight: holder.as_ref().map(|r| InFlight {
            phase: phase(r),
            release: public_release(r),
        }),
        lock: lock_of(&head, now),
        waiting,
    })
}

fn lock_of(head: &StageHead, now: DateTime<Utc>) -> Option<Lock> {
    let holder = head.lock_holder.clone()?;
    let expires = head
        .lock_expires_at
        .and_then(|epoch| DateTime::<Utc>::from_timestamp(epoch, 0));
    Some(Lock {
        holder,
        lease_expires_at: expires.map(|at| at.to_rfc3339()),
        expired: expires.is_some_and(|at| at < now),
    })
}

/// The human form: one table per app, a row per stage, and under a busy stage what is in
/// flight, who holds the lock and who waits.
pub fn render(stages: &[StageStatus], now: DateTime<Utc>, paint: Paint) -> String {
    if stages.is_empty() {
        return "(no apps configured: apply a stevedore.yaml with `stevedore config apply`)".into();
    }
    let mut out: Vec<String> = Vec::new();
    let mut apps: Vec<&str> = stages.iter().map(|s| s.app.as_str()).collect();
    apps.dedup();
    for app in apps {
        if !out.is_empty() {
            out.push(String::new());
        }
        out.push(paint.style(BOLD, app));
        let of_app: Vec<&StageStatus> = stages.iter().filter(|s| s.app == app).collect();
        let rows: Vec<Vec<Cell>> = of_app.iter().map(|s| running_row(s, now)).collect();
        let header = [
            "STAGE",
            "RUNNING",
            "TAG",
            "DIGEST",
            "TASK DEFINITION",
            "SINCE",
        ];
        let lines = table(paint, 2, &header, &rows);
        out.push(lines[0].clone());
        for (stage, line) in of_app.iter().zip(lines.iter().skip(1)) {
            out.push(line.clone());
            out.extend(busy_lines(stage, now, paint));
        }
    }
    out.join("\n")
}

fn running_row(stage: &StageStatus, now: DateTime<Utc>) -> Vec<Cell> {
    match &stage.running {
        Some(r) => {
            let mut row: Vec<Cell> = vec![stage.stage.clone().into()];
            row.extend(running_cells(r, now));
            row
        }
        None => vec![
            stage.stage.clone().into(),
            Cell::styled("(nothing deployed by Stevedore yet)", DIM),
        ],
    }
}

/// The lines under a stage: the release in flight, the lock, the queue (none when idle).
fn busy_lines(stage: &StageStatus, now: DateTime<Utc>, paint: Paint) -> Vec<String> {
    let mut lines = Vec::new();
    let label = |text: &str| paint.style(DIM, &format!("{text:<11}"));
    if let Some(flight) = &stage.in_flight {
        let r = &flight.release;
        let since = milestones(r)
            .last()
            .map(|m| format!(" since {}", when(&m.at, now)))
            .unwrap_or_default();
        lines.push(format!(
            "    {}{}  {} {}  {}  {}{}",
            label("in flight"),
            r.spec.release_id,
            r.spec.trigger,
            r.spec.tag,
            short_digest(&r.spec.digest),
            paint.style(status_style(r.status), &flight.phase),
            since
        ));
    }
    if let Some(lock) = &stage.lock {
        let until = lock
            .lease_expires_at
            .as_deref()
            .map(|at| when_future(at, now))
            .unwrap_or_else(|| "no lease recorded".into());
        let text = if lock.expired {
            format!(
                "lease of {} ran out at {until}: the stage is free",
                lock.holder
            )
        } else {
            format!("held by {}, lease until {until}", lock.holder)
        };
        lines.push(format!("    {}{text}", label("lock")));
    }
    if !stage.waiting.is_empty() {
        let queue: Vec<String> = stage
            .waiting
            .iter()
            .map(|w| match &w.tag {
                Some(tag) => format!("{} ({tag})", w.release_id),
                None => w.release_id.clone(),
            })
            .collect();
        lines.push(format!("    {}{}", label("waiting"), queue.join(", ")));
    }
    lines
}

/// A time that may be ahead: `2026-01-01 02:14:00Z (in 14m)`.
fn when_future(text: &str, now: DateTime<Utc>) -> String {
    match crate::output::parse_time(text) {
        Some(at) if at > now => format!(
            "{} (in {})",
            at.format("%Y-%m-%d %H:%M:%SZ"),
            crate::output::duration((at - now).num_seconds() as f64)
        ),
        _ => when(text, now),
    }
}

#[cfg(test)]
mod tests;
