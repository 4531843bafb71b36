//! What every command prints with: colour (only on a terminal, never under NO_COLOR),
//! aligned tables, short digests and revisions, times and durations, JSON, and the one
//! rule for releases shown to anyone: the parked approval task token never leaves the table.

use std::io::IsTerminal;

use anstyle::{AnsiColor, Style};
use chrono::{DateTime, Utc};
use serde::Serialize;
use stevedore_core::release::{Release, ReleaseStatus};

/// How a command prints: JSON or a human table, with or without colour.
#[derive(Debug, Clone, Copy, Default)]
pub struct Out {
    pub json: bool,
    pub paint: Paint,
    /// stdout is a terminal (spinners and live redraws only then).
    pub tty: bool,
}

impl Out {
    /// For this process: colour and spinners only when stdout is a terminal.
    pub fn detect(json: bool) -> Self {
        let tty = std::io::stdout().is_terminal();
        let colour = colour_wanted(tty, std::env::var_os("NO_COLOR").as_deref());
        Self {
            json,
            paint: Paint { colour },
            tty,
        }
    }
}

/// Colour when writing to a terminal, unless NO_COLOR is set to anything but the empty
/// string (<https://no-color.org>).
pub fn colour_wanted(tty: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    tty && no_color.is_none_or(|value| value.is_empty())
}

/// Styles text when colour is on; otherwise returns it as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Paint {
    pub colour: bool,
}

pub const BOLD: Style = Style::new().bold();
pub const DIM: Style = Style::new().dimmed();
pub const GOOD: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
pub const BAD: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
pub const BUSY: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));

impl Paint {
    pub fn style(&self, style: Style, text: &str) -> String {
        if self.colour && style != Style::new() {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }
}

/// The colour a release status is shown in.
pub fn status_style(status: ReleaseStatus) -> Style {
    match status {
        ReleaseStatus::Succeeded => GOOD,
        ReleaseStatus::Failed | ReleaseStatus::RolledBack | ReleaseStatus::Aborted => BAD,
        ReleaseStatus::Pending | ReleaseStatus::InProgress => BUSY,
        ReleaseStatus::Superseded => DIM,
    }
}

/// One table cell: its text and how it is styled.
#[derive(Debug, Clone)]
pub struct Cell {
    text: String,
    style: Style,
}

impl Cell {
    pub fn styled(text: impl Into<String>, style: Style) -> Self {
        Self {
            text: text.into(),
            style,
        }
    }
}

impl<T: Into<String>> From<T> for Cell {
    fn from(text: T) -> Self {
        Self::styled(text, Style::new())
    }
}

/// Columns padded to their widest cell (measured without colour), two spaces apart, each
/// line indented by `indent` spaces; trailing blanks trimmed.
pub fn table(paint: Paint, indent: usize, header: &[&str], rows: &[Vec<Cell>]) -> Vec<String> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            let width = cell.text.chars().count();
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(width),
                None => widths.push(width),
            }
        }
    }
    let line = |cells: Vec<Cell>| {
        let last = cells.len().saturating_sub(1);
        let text: Vec<String> = cells
            .into_iter()
            .enumerate()
            .map(|(i, cell)| {
                let pad = if i == last {
                    0
                } else {
                    widths[i].saturating_sub(cell.text.chars().count())
                };
                format!("{}{}", paint.style(cell.style, &cell.text), " ".repeat(pad))
            })
            .collect();
        format!("{}{}", " ".repeat(indent), text.join("  ").trim_end())
    };
    let mut out = vec![line(
        header.iter().map(|h| Cell::styled(*h, BOLD)).collect(),
    )];
    out.extend(rows.iter().map(|row| line(row.clone())));
    out
}

/// `sha256:` and the first 12 hex digits (what `docker images` shows).
pub fn short_digest(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("sha256:{}", hex.chars().take(12).collect::<String>())
}

/// `family:revision` of a task definition ARN; `-` for none.
pub fn revision(arn: Option<&str>) -> String {
    arn.filter(|a| !a.is_empty())
        .and_then(|a| a.rsplit('/').next())
        .unwrap_or("-")
        .to_string()
}

/// A stored timestamp (RFC 3339); `None` when unreadable.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Seconds from `from` to `to` (stored timestamps); `None` when either is unreadable.
pub fn seconds_between(from: &str, to: &str) -> Option<f64> {
    let (from, to) = (parse_time(from)?, parse_time(to)?);
    Some((to - from).num_milliseconds() as f64 / 1000.0)
}

/// `0.4s`, `12.3s`, `1m05s`, `2h03m`, `3d04h`.
pub fn duration(seconds: f64) -> String {
    let seconds = seconds.max(0.0);
    if seconds < 60.0 {
        return format!("{seconds:.1}s");
    }
    let whole = seconds as u64;
    match whole {
        0..=3599 => format!("{}m{:02}s", whole / 60, whole % 60),
        3600..=86_399 => format!("{}h{:02}m", whole / 3600, whole % 3600 / 60),
        _ => format!("{}d{:02}h", whole / 86_400, whole % 86_400 / 3600),
    }
}

/// What runs, as `status` and `where` show it: release, tag, short digest, task definition
/// and since when (its end).
pub fn running_cells(release: &Release, now: DateTime<Utc>) -> Vec<Cell> {
    vec![
        release.spec.release_id.clone().into(),
        release.spec.tag.clone().into(),
        short_digest(&release.spec.digest).into(),
        revision(release.task_definition_arn.as_deref()).into(),
        release
            .finished_at
            .as_deref()
            .map(|at| when(at, now))
            .unwrap_or_else(|| "-".into())
            .into(),
    ]
}

/// `2026-05-01 10:02:11Z (3m ago)`; the text as stored when it is not a timestamp.
pub fn when(text: &str, now: DateTime<Utc>) -> String {
    match parse_time(text) {
        Some(at) => {
            let ago = (now - at).num_seconds().max(0) as f64;
            format!(
                "{} ({} ago)",
                at.format("%Y-%m-%d %H:%M:%SZ"),
                duration_short(ago)
            )
        }
        None => text.to_string(),
    }
}

/// A coarse duration for "ago": `5s`, `3m`, `2h`, `4d`.
fn duration_short(seconds: f64) -> String {
    let whole = seconds as u64;
    match whole {
        0..=59 => format!("{whole}s"),
        60..=3599 => format!("{}m", whole / 60),
        3600..=86_399 => format!("{}h", whole / 3600),
        _ => format!("{}d", whole / 86_400),
    }
}

/// A release as it may be shown: without the approval gate's task token, which completes the
/// parked execution (approves the release) for whoever holds it.
pub fn public_release(release: &Release) -> Release {
    Release {
        approval_task_token: None,
        ..release.clone()
    }
}

/// Pretty JSON on stdout.
pub fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// One JSON value on one line (a live view's events).
pub fn print_json_line(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_and_never_under_no_color() {
        use std::ffi::OsStr;
        assert!(colour_wanted(true, None));
        assert!(!colour_wanted(false, None));
        assert!(!colour_wanted(true, Some(OsStr::new("1"))));
        // no-color.org: an empty NO_COLOR does not turn colour off.
        assert!(colour_wanted(true, Some(OsStr::new(""))));
    }

    #[test]
    fn painting_without_colour_leaves_text_alone() {
        assert_eq!(Paint { colour: false }.style(BAD, "FAILED"), "FAILED");
        let red = Paint { colour: true }.style(BAD, "FAILED");
        assert!(red.starts_with("\u{1b}[") && red.contains("FAILED") && red.ends_with("\u{1b}[0m"));
    }

    #[test]
    fn tables_align_on_the_text_not_on_colour_codes() {
        let rows = vec![
            vec![Cell::styled("SUCCEEDED", GOOD), "a".into()],
            vec!["FAILED".into(), "b".into()],
        ];
        let plain = table(Paint { colour: false }, 2, &["STATUS", "X"], &rows);
        assert_eq!(
            plain,
            ["  STATUS     X", "  SUCCEEDED  a", "  FAILED     b"]
        );
        let coloured = table(Paint { colour: true }, 2, &["STATUS", "X"], &rows);
        let strip = |s: &str| {
            let mut out = String::new();
            let mut in_escape = false;
            for c in s.chars() {
                match (in_escape, c) {
                    (false, '\u{1b}') => in_escape = true,
                    (true, 'm') => in_escape = false,
                    (false, c) => out.push(c),
                    _ => {}
                }
            }
            out
        };
        assert_eq!(coloured.iter().map(|l| strip(l)).collect::<Vec<_>>(), plain);
    }

    #[test]
    fn durations_and_short_forms() {
        assert_eq!(duration(0.42), "0.4s");
        assert_eq!(duration(65.0), "1m05s");
        assert_eq!(duration(7380.0), "2h03m");
        assert_eq!(duration(273_600.0), "3d04h");
        assert_eq!(
            short_digest(&format!("sha256:{}", "ab".repeat(32))),
            "sha256:abababababab"
        );
        assert_eq!(
            revision(Some("arn:aws:ecs:us-east-1:1:task-definition/backend:7")),
            "backend:7"
        );
        assert_eq!(revision(None), "-");
        assert_eq!(
            seconds_between("2026-01-01T00:00:00.000Z", "2026-01-01T00:01:02.500Z"),
            Some(62.5)
        );
        let now = parse_time("2026-01-01T03:00:00Z").unwrap();
        assert_eq!(
            when("2026-01-01T00:59:00.000Z", now),
            "2026-01-01 00:59:00Z (2h ago)"
        );
    }

    #[test]
    fn a_public_release_has_no_task_token() {
        let spec = stevedore_core::release::ReleaseSpec {
            release_id: "01J".into(),
            app: "a".into(),
            stage: "s".into(),
            repository: "r".into(),
            digest: "sha256:x".into(),
            tag: "t".into(),
            image_uri: "u".into(),
            trigger: stevedore_core::release::Trigger::Push,
            source_release_id: None,
            pushed_at: None,
            redeploy_task_definition_arn: None,
            redeploy_services: Default::default(),
        };
        let mut release = Release::new_pending(spec, DateTime::UNIX_EPOCH);
        release.approval_task_token = Some("AQB8-token".into());
        let shown = serde_json::to_string(&public_release(&release)).unwrap();
        assert!(!shown.contains("AQB8-token") && !shown.contains("approval_task_token"));
    }
}
