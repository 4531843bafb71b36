//! The live view of a release (`watch`, and `--wait` of the acting commands): a line per phase
//! as the release item records it, with the time since the release was created; on a
//! terminal a spinner while it waits (on ECS, for approval, for the stage). Under `--json`,
//! one JSON object per line and phase. Ends when the release does: Ok only when it SUCCEEDED
//! (or, following a rejection, when it ended as rejected).

use std::collections::BTreeSet;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;
use stevedore_aws::Store;
use stevedore_core::release::{Release, ReleaseStatus};

use crate::exit::Failure;
use crate::output::{
    duration, parse_time, short_digest, status_style, Out, Paint, BOLD, BUSY, DIM, GOOD,
};
use crate::progress::{milestones, waiting, Milestone, Waiting};

/// How often the release item is read.
const POLL: Duration = Duration::from_secs(1);
/// How often the spinner turns.
const FRAME: Duration = Duration::from_millis(100);
const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// What ending counts as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Success,
    /// The release was rejected at its gate: ending FAILED as rejected is the outcome asked for.
    Rejection,
}

/// A phase line under `--json`.
#[derive(Serialize)]
struct Event<'a> {
    release_id: &'a str,
    app: &'a str,
    stage: &'a str,
    #[serde(flatten)]
    milestone: &'a Milestone,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<ReleaseStatus>,
}

/// Follows the release until it ends.
pub async fn follow(
    store: &Store,
    app: &str,
    stage: &str,
    release_id: &str,
    out: Out,
    expect: Expect,
) -> Result<()> {
    let mut shown: BTreeSet<&'static str> = BTreeSet::new();
    let mut spinner = Spinner::new(out.tty && !out.json);
    let mut first = true;
    loop {
        let release = store
            .get_release(app, stage, release_id)
            .await?
            .ok_or_else(|| {
                Failure::NotFound(format!("no release {release_id} of {app}/{stage}"))
            })?;
        if first && !out.json {
            println!("{}", header(&release, out.paint));
            first = false;
        }
        for milestone in milestones(&release) {
            if !shown.insert(milestone.phase) {
                continue;
            }
            spinner.clear();
            if out.json {
                let status = (milestone.phase == "finished").then_some(release.status);
                crate::output::print_json_line(&Event {
                    release_id,
                    app,
                    stage,
                    milestone: &milestone,
                    status,
                })?;
            } else {
                println!("{}", line(&milestone, &release, out.paint));
            }
        }
        if release.status.is_terminal() {
            spinner.clear();
            return outcome(&release, expect);
        }
        let since = milestones(&release).last().and_then(|m| parse_time(&m.at));
        let deadline = Instant::now() + POLL;
        while Instant::now() < deadline {
            if let Some(w) = waiting(&release) {
                let elapsed = since
                    .map(|at| (chrono::Utc::now() - at).num_milliseconds() as f64 / 1000.0)
                    .unwrap_or(0.0);
                spinner.draw(w, elapsed, out.paint);
            }
            tokio::time::sleep(if spinner.enabled { FRAME } else { POLL }).await;
        }
    }
}

fn outcome(release: &Release, expect: Expect) -> Result<()> {
    let rejected = release
        .approval_decision
        .as_deref()
        .is_some_and(|d| d.starts_with("rejected"));
    match release.status {
        ReleaseStatus::Succeeded => Ok(()),
        ReleaseStatus::Failed if expect == Expect::Rejection && rejected => Ok(()),
        status => Err(Failure::ReleaseDidNotSucceed {
            release_id: release.spec.release_id.clone(),
            status,
            reason: release.reason.clone(),
        }
        .into()),
    }
}

/// `backend/staging  release 01J...  push develop-1a2b3c4  sha256:3f3f3f3f3f3f`
pub fn header(release: &Release, paint: Paint) -> String {
    let spec = &release.spec;
    format!(
        "{}  release {}  {} {}  {}",
        paint.style(BOLD, &format!("{}/{}", spec.app, spec.stage)),
        spec.release_id,
        spec.trigger,
        spec.tag,
        short_digest(&spec.digest)
    )
}

/// One phase: a mark, the time since the release was created, the phase, its detail.
pub fn line(milestone: &Milestone, release: &Release, paint: Paint) -> String {
    let (mark, style) = match milestone.phase {
        "finished" => match release.status {
            ReleaseStatus::Succeeded => ("✓", GOOD),
            status => ("✗", status_style(status)),
        },
        "approval_requested" => ("?", BUSY),
        _ => ("✓", DIM),
    };
    let elapsed = milestone
        .elapsed_seconds
        .map(|s| format!("+{}", duration(s)))
        .unwrap_or_default();
    let pad = " ".repeat(20usize.saturating_sub(milestone.label.chars().count()));
    let label = if milestone.phase == "finished" {
        format!("{}{pad}", paint.style(style, &milestone.label))
    } else {
        format!("{}{pad}", milestone.label)
    };
    let detail = match (milestone.phase, &milestone.detail) {
        ("approval_requested", _) if waiting(release) == Some(Waiting::Approval) => format!(
            "`stevedore approve {app} {stage}` or `stevedore reject {app} {stage}`",
            app = release.spec.app,
            stage = release.spec.stage
        ),
        (_, Some(detail)) => detail.clone(),
        (_, None) => String::new(),
    };
    format!(
        "  {} {elapsed:<8} {label} {detail}",
        paint.style(style, mark)
    )
    .trim_end()
    .to_string()
}

/// The spinner line, redrawn in place on a terminal; nothing otherwise.
struct Spinner {
    enabled: bool,
    frame: usize,
    drawn: bool,
}

impl Spinner {
    fn new(enabled: bool) -> Self {
        Self {
            enabled,
            frame: 0,
            drawn: false,
        }
    }

    fn draw(&mut self, waiting: Waiting, seconds: f64, paint: Paint) {
        if !self.enabled {
            return;
        }
        let frame = SPINNER[self.frame % SPINNER.len()];
        self.frame += 1;
        let text = format!(
            "  {} {} {}",
            paint.style(BUSY, &frame.to_string()),
            waiting.label(),
            duration(seconds)
        );
        let mut stdout = std::io::stdout();
        // \r and "erase line" (ECMA-48 EL, CSI 2 K) redraw the line in place.
        let _ = write!(stdout, "\r\x1b[2K{text}");
        let _ = stdout.flush();
        self.drawn = true;
    }

    fn clear(&mut self) {
        if self.drawn {
            let mut stdout = std::io::stdout();
            let _ = write!(stdout, "\r\x1b[2K");
            let _ = stdout.flush();
            self.drawn = false;
        }
    }
}

#[cfg(test)]
mod tests;
