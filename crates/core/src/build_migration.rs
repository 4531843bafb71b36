//! Deciding how a CodeBuild migration went, from the build CodeBuild reports.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The environment variable that ties a build to its release (Stevedore sets it at start).
pub const RELEASE_ID_VARIABLE: &str = "STEVEDORE_RELEASE_ID";

/// The parts of a CodeBuild build that decide a migration's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishedBuild {
    pub id: String,
    /// SUCCEEDED, FAILED, FAULT, TIMED_OUT, STOPPED or IN_PROGRESS.
    pub status: String,
    /// The CloudWatch Logs console link of the build's log.
    pub deep_link: Option<String>,
    /// The first phase that did not succeed, and what CodeBuild said about it.
    pub failed_phase: Option<String>,
    pub failure_message: Option<String>,
}

/// Ok when the build succeeded; otherwise the error that names the build, how and where it
/// failed, and its log link.
pub fn build_outcome(build: &FinishedBuild, project: &str) -> Result<()> {
    let details = || {
        let mut text = format!(
            "CodeBuild build {} of project `{project}` ended {}",
            build.id, build.status
        );
        if let Some(phase) = &build.failed_phase {
            text.push_str(&format!(" in phase {phase}"));
        }
        if let Some(message) = build.failure_message.as_deref().filter(|m| !m.is_empty()) {
            text.push_str(&format!(": {message}"));
        }
        text.push_str(&match &build.deep_link {
            Some(link) => format!("; logs: {link}"),
            None => "; the build has no log link (check the project's logs configuration)".into(),
        });
        text
    };
    match build.status.as_str() {
        "SUCCEEDED" => Ok(()),
        "TIMED_OUT" => Err(Error::MigrationTimedOut(format!(
            "{} (the project's build timeout)",
            details()
        ))),
        "IN_PROGRESS" => Err(Error::MigrationFailed(format!(
            "CodeBuild build {} of project `{project}` has not finished",
            build.id
        ))),
        _ => Err(Error::MigrationFailed(details())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(status: &str) -> FinishedBuild {
        FinishedBuild {
            id: "migrate:1234".into(),
            status: status.into(),
            deep_link: Some("https://console/logs".into()),
            failed_phase: Some("BUILD".into()),
            failure_message: Some(
                "Error while executing command: bin/migrate. Reason: exit status 3".into(),
            ),
        }
    }

    #[test]
    fn succeeded_is_ok() {
        assert_eq!(build_outcome(&build("SUCCEEDED"), "migrate"), Ok(()));
    }

    #[test]
    fn failures_name_the_build_the_phase_and_the_log_link() {
        for status in ["FAILED", "FAULT", "STOPPED"] {
            let error = build_outcome(&build(status), "migrate").unwrap_err();
            assert_eq!(error.error_type(), "MigrationFailed");
            let text = error.to_string();
            for part in [
                "build migrate:1234 of project `migrate`",
                &format!("ended {status} in phase BUILD"),
                "exit status 3",
                "logs: https://console/logs",
            ] {
                assert!(text.contains(part), "{part:?} not in {text:?}");
            }
        }
    }

    #[test]
    fn timed_out_is_a_migration_timeout_and_a_missing_link_is_said() {
        let mut timed_out = build("TIMED_OUT");
        timed_out.deep_link = None;
        timed_out.failed_phase = None;
        timed_out.failure_message = None;
        let error = build_outcome(&timed_out, "migrate").unwrap_err();
        assert_eq!(error.error_type(), "MigrationTimedOut");
        assert!(
            error
                .to_string()
                .contains("ended TIMED_OUT; the build has no log link"),
            "{error}"
        );
    }
}
