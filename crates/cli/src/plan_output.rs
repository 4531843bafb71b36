//! `stevedore plan`'s text: per task definition a unified diff of the registration request
//! (current → would-be), the schedules and migration, then the problems.

use std::fmt::Write;
use std::io::IsTerminal;

use serde_json::Value;
use similar::TextDiff;

use super::{PlanReport, TaskDefinitionPlan};

/// Colour only on a terminal, and never when `NO_COLOR` is set (https://no-color.org).
pub fn colour_wanted() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// `family` of a task definition ARN or `family:revision`.
pub fn family(task_definition: &str) -> &str {
    let name = task_definition
        .rsplit_once(":task-definition/")
        .map_or(task_definition, |(_, rest)| rest);
    name.split_once(':').map_or(name, |(family, _)| family)
}

/// `family:revision` of a task definition ARN.
fn revision(task_definition: &str) -> &str {
    task_definition
        .rsplit_once(":task-definition/")
        .map_or(task_definition, |(_, rest)| rest)
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// One task definition's plan: `after` against `before`, as a unified diff.
pub fn compare(
    kind: &str,
    name: &str,
    family: &str,
    current: &str,
    before: &Value,
    after: Value,
) -> TaskDefinitionPlan {
    let (old, new) = (pretty(before), pretty(&after));
    let diff = if old == new {
        String::new()
    } else {
        TextDiff::from_lines(&old, &new)
            .unified_diff()
            .context_radius(3)
            .header(revision(current), &format!("{family}:new"))
            .to_string()
    };
    TaskDefinitionPlan {
        kind: kind.to_string(),
        name: name.to_string(),
        family: family.to_string(),
        current_task_definition: current.to_string(),
        changed: !diff.is_empty(),
        diff,
        task_definition: after,
    }
}

fn paint(text: &str, code: &str, colour: bool) -> String {
    if colour {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn diff_lines(diff: &str, colour: bool) -> String {
    diff.lines()
        .map(|line| {
            let code = match line.as_bytes().first() {
                _ if line.starts_with("+++") || line.starts_with("---") => "1",
                Some(b'+') => "32",
                Some(b'-') => "31",
                Some(b'@') => "36",
                _ => return format!("{line}\n"),
            };
            format!("{}\n", paint(line, code, colour))
        })
        .collect()
}

/// The plan as text.
pub fn human(report: &PlanReport, colour: bool) -> String {
    let mut out = String::new();
    let short = report
        .image
        .digest
        .strip_prefix("sha256:")
        .map(|hex| format!("sha256:{}", &hex[..hex.len().min(12)]))
        .unwrap_or_else(|| report.image.digest.clone());
    let tag = report
        .image
        .tag
        .as_deref()
        .map(|t| format!(" (tag {t})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "plan {}/{}: {}@{short}{tag}",
        report.app, report.stage, report.image.repository
    );
    for plan in &report.task_definitions {
        let _ = writeln!(
            out,
            "\n{} {}: {} -> new revision of {}",
            plan.kind,
            paint(&plan.name, "1", colour),
            revision(&plan.current_task_definition),
            plan.family
        );
        if plan.changed {
            out.push_str(&diff_lines(&plan.diff, colour));
        } else {
            out.push_str("  (no change to the task definition)\n");
        }
    }
    if !report.schedules.is_empty() {
        out.push_str("\nschedules:\n");
        for schedule in &report.schedules {
            let to = match &schedule.new_revision_of {
                Some(family) => format!("new revision of {family}"),
                None => "left as it is".to_string(),
            };
            let _ = writeln!(
                out,
                "  {}: {} -> {to}",
                schedule.target,
                revision(&schedule.current_task_definition)
            );
        }
    }
    if let Some(migration) = &report.migration {
        let _ = writeln!(out, "\nmigration: {migration}");
    }
    for note in &report.notes {
        let _ = writeln!(out, "\nnote: {note}");
    }
    let revisions = report.task_definitions.len();
    if report.problems.is_empty() {
        let _ = writeln!(
            out,
            "\n{} render would register {revisions} revision(s); nothing was registered",
            paint("ok:", "32;1", colour)
        );
    } else {
        let _ = writeln!(
            out,
            "\n{} render would fail on {} problem(s); nothing was registered",
            paint("fail:", "31;1", colour),
            report.problems.len()
        );
        for problem in &report.problems {
            let _ = writeln!(out, "  {}: {}", problem.error_type, problem.message);
        }
    }
    out
}

#[cfg(test)]
#[path = "plan_output_tests.rs"]
mod tests;
