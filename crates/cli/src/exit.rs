//! How `stevedore` ends: the exit codes it documents, and the failures that choose them.

use std::process::ExitCode;

use stevedore_core::release::ReleaseStatus;

/// The exit codes, as `stevedore --help` lists them.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  done; with --wait, and for `watch`: the release SUCCEEDED (for `reject`: it ended
     FAILED as rejected)
  1  an error: AWS refused or failed a call, no release table or state machine is set
     (--stack, --table, STEVEDORE_* variables), a file cannot be read or is invalid
  2  the command line is wrong (unknown command or option, missing argument); for `plan`:
     render would fail (every problem is listed)
  3  Stevedore refused, or found nothing: no such app, stage or release, nothing to roll
     back, approve or retry, a promotion the stage does not allow, an image no stage runs
  4  the release ended without succeeding (FAILED, ROLLED_BACK, SUPERSEDED, ABORTED)";

/// A failure with an exit code of its own (any other error exits 1).
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// An app, stage, release or image that does not exist (or runs nowhere).
    #[error("{0}")]
    NotFound(String),
    /// An operator state machine refused the request (its reason included).
    #[error("{0}")]
    Refused(String),
    /// The release ended, but not SUCCEEDED.
    #[error("release {release_id} ended {status}{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    ReleaseDidNotSucceed {
        release_id: String,
        status: ReleaseStatus,
        reason: Option<String>,
    },
}

impl Failure {
    pub fn code(&self) -> u8 {
        match self {
            Failure::NotFound(_) | Failure::Refused(_) => 3,
            Failure::ReleaseDidNotSucceed { .. } => 4,
        }
    }
}

/// The exit code of a command's result (1 for errors that are not a [`Failure`]).
pub fn exit_code(result: &anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => ExitCode::from(err.downcast_ref::<Failure>().map_or(1, Failure::code)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_has_its_documented_code() {
        let code = |f: Failure| exit_code(&Err(f.into()));
        assert_eq!(code(Failure::NotFound("x".into())), ExitCode::from(3));
        assert_eq!(code(Failure::Refused("x".into())), ExitCode::from(3));
        let failed = Failure::ReleaseDidNotSucceed {
            release_id: "01J".into(),
            status: ReleaseStatus::RolledBack,
            reason: Some("tasks failed health checks".into()),
        };
        assert_eq!(
            failed.to_string(),
            "release 01J ended ROLLED_BACK: tasks failed health checks"
        );
        assert_eq!(code(failed), ExitCode::from(4));
        assert_eq!(exit_code(&Err(anyhow::anyhow!("boom"))), ExitCode::from(1));
        assert_eq!(exit_code(&Ok(())), ExitCode::SUCCESS);
        for n in ["0 ", "1 ", "2 ", "3 ", "4 "] {
            assert!(EXIT_CODES_HELP.contains(n), "{n} documented");
        }
    }
}
