//! Which statuses a destination hears of.

use std::str::FromStr;

use crate::release::event::EventStatus;

/// A destination's filter: the default rule, or the statuses it lists (`on:`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StatusFilter {
    /// Failures (FAILED, ABORTED), rollbacks (ROLLED_BACK), approvals needed
    /// (WAITING_FOR_APPROVAL), and SUCCEEDED on a production stage.
    #[default]
    Default,
    /// Exactly these statuses, on any stage.
    Only(Vec<EventStatus>),
}

impl StatusFilter {
    /// `on:` of a destination: absent is the default rule.
    pub fn from_on(on: Option<&[EventStatus]>) -> Self {
        match on {
            Some(statuses) => StatusFilter::Only(statuses.to_vec()),
            None => StatusFilter::Default,
        }
    }

    pub fn matches(&self, status: EventStatus, production: bool) -> bool {
        match self {
            StatusFilter::Default => match status {
                EventStatus::Failed
                | EventStatus::Aborted
                | EventStatus::RolledBack
                | EventStatus::WaitingForApproval => true,
                EventStatus::Succeeded => production,
                EventStatus::Pending | EventStatus::InProgress | EventStatus::Superseded => false,
            },
            StatusFilter::Only(statuses) => statuses.contains(&status),
        }
    }
}

impl FromStr for StatusFilter {
    type Err = String;

    /// `default`, or statuses separated by commas (`FAILED,ROLLED_BACK,SUCCEEDED`): how the
    /// stack's topic filter is written (template parameter `NotificationTopicStatuses`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("default") {
            return Ok(StatusFilter::Default);
        }
        let mut statuses = Vec::new();
        for part in text.split(',').map(str::trim) {
            let status = part.parse::<EventStatus>().map_err(|_| {
                format!("`{part}` is not a release event status (PENDING, IN_PROGRESS, WAITING_FOR_APPROVAL, SUCCEEDED, FAILED, ROLLED_BACK, SUPERSEDED, ABORTED)")
            })?;
            if !statuses.contains(&status) {
                statuses.push(status);
            }
        }
        Ok(StatusFilter::Only(statuses))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EventStatus::*;

    fn heard(filter: &StatusFilter, production: bool) -> Vec<EventStatus> {
        EventStatus::ALL
            .into_iter()
            .filter(|s| filter.matches(*s, production))
            .collect()
    }

    #[test]
    fn the_default_hears_failures_rollbacks_approvals_and_production_successes() {
        let default = StatusFilter::default();
        assert_eq!(
            heard(&default, false),
            [WaitingForApproval, Failed, RolledBack, Aborted]
        );
        assert_eq!(
            heard(&default, true),
            [WaitingForApproval, Succeeded, Failed, RolledBack, Aborted]
        );
    }

    #[test]
    fn a_listed_filter_hears_exactly_its_statuses_on_any_stage() {
        let filter = StatusFilter::from_on(Some(&[Succeeded, InProgress]));
        assert_eq!(heard(&filter, false), [InProgress, Succeeded]);
        assert_eq!(heard(&filter, true), [InProgress, Succeeded]);
        assert_eq!(StatusFilter::from_on(None), StatusFilter::Default);
    }

    #[test]
    fn the_topic_filter_parses_from_its_parameter() {
        assert_eq!("default".parse(), Ok(StatusFilter::Default));
        assert_eq!("".parse(), Ok(StatusFilter::Default));
        assert_eq!(
            " FAILED, SUCCEEDED ".parse(),
            Ok(StatusFilter::Only(vec![Failed, Succeeded]))
        );
        let error = "FAILED,DONE".parse::<StatusFilter>().unwrap_err();
        assert!(
            error.starts_with("`DONE` is not a release event status"),
            "{error}"
        );
    }
}
