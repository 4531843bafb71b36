//! The words and numbers every notification shares: the outcome, a short digest, a duration.

use crate::release::event::{EventStatus, ReleaseStateChange};

/// How an outcome reads in a message, with its emoji (Unicode, which Slack, Teams and email
/// all show).
pub fn outcome(status: EventStatus) -> (&'static str, &'static str) {
    match status {
        EventStatus::Pending => ("⏳", "pending"),
        EventStatus::InProgress => ("🚀", "in progress"),
        EventStatus::WaitingForApproval => ("✋", "waiting for approval"),
        EventStatus::Succeeded => ("✅", "succeeded"),
        EventStatus::Failed => ("❌", "failed"),
        EventStatus::RolledBack => ("⏪", "rolled back"),
        EventStatus::Superseded => ("⏭️", "superseded"),
        EventStatus::Aborted => ("🛑", "aborted"),
    }
}

/// `backend/production rolled back: v1.4.2`
pub fn headline(event: &ReleaseStateChange) -> String {
    let (_, outcome) = outcome(event.status);
    format!("{}/{} {outcome}: {}", event.app, event.stage, event.tag)
}

/// `sha256:` and the first 12 hex digits, as `docker images` shows a digest.
pub fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((algorithm, hex)) => format!("{algorithm}:{}", hex.get(..12).unwrap_or(hex)),
        None => digest.get(..19).unwrap_or(digest).to_string(),
    }
}

/// `45s`, `3m 12s`, `2h 5m`; `-` when unknown.
pub fn duration(seconds: Option<f64>) -> String {
    let Some(seconds) = seconds.filter(|s| s.is_finite() && *s >= 0.0) else {
        return "-".into();
    };
    let total = seconds.round() as u64;
    let (hours, minutes, secs) = (total / 3600, total % 3600 / 60, total % 60);
    match (hours, minutes) {
        (0, 0) => format!("{secs}s"),
        (0, _) => format!("{minutes}m {secs}s"),
        _ => format!("{hours}h {minutes}m"),
    }
}

/// An SNS `Subject`: ASCII without control characters, at most 100 characters
/// (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html), for email subscribers.
pub fn subject(event: &ReleaseStateChange) -> String {
    let text = format!(
        "Stevedore: {}/{} {} {}",
        event.app, event.stage, event.status, event.tag
    );
    let ascii: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if ascii.len() <= 100 {
        return ascii;
    }
    format!("{}...", &ascii[..97])
}

/// At most `max` characters, with `…` in place of the rest.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The command or state machine input that decides a release waiting at its gate.
pub fn approval_hint(event: &ReleaseStateChange) -> String {
    format!(
        "Waiting for a decision: start the approve state machine with {{\"app\": \"{}\", \"stage\": \"{}\", \"decision\": \"approve\"}} (or \"reject\")",
        event.app, event.stage
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_shortened_like_docker_does() {
        assert_eq!(
            short_digest("sha256:5f0b5b1c0ffee4d3b2a1908f7e6d5c4b3a291807f6e5d4c3b2a1908f7e6d5c4b"),
            "sha256:5f0b5b1c0ffe"
        );
        assert_eq!(short_digest("sha256:abc"), "sha256:abc");
    }

    #[test]
    fn durations_read_like_a_person_writes_them() {
        assert_eq!(duration(Some(45.4)), "45s");
        assert_eq!(duration(Some(192.0)), "3m 12s");
        assert_eq!(duration(Some(7500.0)), "2h 5m");
        assert_eq!(duration(None), "-");
        assert_eq!(duration(Some(f64::NAN)), "-");
    }

    #[test]
    fn truncation_marks_what_it_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(truncate("ééééé", 3).chars().count(), 3);
    }
}
