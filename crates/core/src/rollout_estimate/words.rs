//! The prediction in words: "≈ 7 min 40 s: 5 min deregistration delay, ...".

use super::{Estimate, Part};

/// `7 min 40 s`, `5 min`, `40 s`, `1 h 5 min`, `0 s`.
pub fn human_duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    let mut words = Vec::new();
    if h > 0 {
        words.push(format!("{h} h"));
    }
    if m > 0 {
        words.push(format!("{m} min"));
    }
    if s > 0 || words.is_empty() {
        words.push(format!("{s} s"));
    }
    words.join(" ")
}

/// One part: `5 min deregistration delay`, `1 min task start (2 × 30 s, assumed)`.
pub fn part_words(part: &Part) -> String {
    let mut notes = Vec::new();
    if part.times > 1 {
        let each = human_duration(part.seconds / u64::from(part.times));
        notes.push(format!("{} × {each}", part.times));
    }
    if part.assumed {
        notes.push("assumed".to_string());
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join(", "))
    };
    format!("{} {}{notes}", human_duration(part.seconds), part.name)
}

/// `≈ 7 min 40 s: 5 min deregistration delay, 2 min 30 s target group health checks, ...`
pub fn summary(estimate: &Estimate) -> String {
    if let Some(stalled) = &estimate.stalled {
        return format!("never finishes: {stalled}");
    }
    if estimate.parts.is_empty() {
        return "≈ 0 s: no task to replace".to_string();
    }
    let parts: Vec<String> = estimate.parts.iter().map(part_words).collect();
    format!(
        "≈ {}: {}",
        human_duration(estimate.seconds),
        parts.join(", ")
    )
}
