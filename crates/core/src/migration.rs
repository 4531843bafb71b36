//! Deciding how a finished migration task went.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The parts of a described ECS task that decide a migration's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoppedTask {
    pub last_status: String,
    pub stop_code: Option<String>,
    pub stopped_reason: Option<String>,
    pub containers: Vec<StoppedContainer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoppedContainer {
    pub name: String,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
}

/// The migration's exit code (always 0) when `container` ran the command to success.
///
/// A task that never started (image pull failure, missing secret, no capacity) is
/// `MigrationDidNotStart`, so the reason points at the infrastructure rather than the
/// migration itself.
pub fn migration_outcome(task: &StoppedTask, container: &str) -> Result<i32> {
    if task.last_status != "STOPPED" {
        return Err(Error::MigrationFailed(format!(
            "the migration task has not finished: it is still {}",
            task.last_status
        )));
    }
    let stopped_reason = task
        .stopped_reason
        .as_deref()
        .filter(|reason| !reason.is_empty())
        .unwrap_or("no reason given");
    let never_started =
        || Error::MigrationDidNotStart(format!("migration task never started: {stopped_reason}"));
    if task.stop_code.as_deref() == Some("TaskFailedToStart") {
        return Err(never_started());
    }
    let Some(migration) = task.containers.iter().find(|c| c.name == container) else {
        let present: Vec<&str> = task.containers.iter().map(|c| c.name.as_str()).collect();
        return Err(Error::MigrationFailed(format!(
            "the migration task has no container `{container}` (it has {})",
            if present.is_empty() {
                "none".to_string()
            } else {
                present.join(", ")
            }
        )));
    };
    match migration.exit_code {
        None => Err(never_started()),
        Some(0) => {
            // Step Functions' runTask.sync fails the state when any container exits non-zero,
            // sidecars included; judged the same here whichever path reports the task.
            match task
                .containers
                .iter()
                .find(|c| c.exit_code.is_some_and(|code| code != 0))
            {
                Some(other) => Err(Error::MigrationFailed(format!(
                    "the migration command exited 0, but container `{}` of the migration task exited with exit code {} ({})",
                    other.name,
                    other.exit_code.unwrap_or_default(),
                    other
                        .reason
                        .as_deref()
                        .filter(|reason| !reason.is_empty())
                        .unwrap_or(stopped_reason)
                ))),
                None => Ok(0),
            }
        }
        Some(code) => {
            let why = migration
                .reason
                .as_deref()
                .filter(|reason| !reason.is_empty())
                .unwrap_or(stopped_reason);
            Err(Error::MigrationFailed(format!(
                "migration command exited with exit code {code} ({why}) in container `{container}`"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(stop_code: &str, exit_code: Option<i32>, reason: Option<&str>) -> StoppedTask {
        StoppedTask {
            last_status: "STOPPED".into(),
            stop_code: Some(stop_code.into()),
            stopped_reason: Some("Essential container in task exited".into()),
            containers: vec![
                StoppedContainer {
                    name: "sidecar".into(),
                    exit_code: Some(0),
                    reason: None,
                },
                StoppedContainer {
                    name: "web".into(),
                    exit_code,
                    reason: reason.map(str::to_string),
                },
            ],
        }
    }

    #[test]
    fn a_sidecar_exiting_non_zero_fails_the_migration_naming_it() {
        let mut stopped = task("EssentialContainerExited", Some(0), None);
        stopped.containers[0].exit_code = Some(2);
        stopped.containers[0].reason = Some("log router crashed".into());
        assert_eq!(
            migration_outcome(&stopped, "web"),
            Err(Error::MigrationFailed(
                "the migration command exited 0, but container `sidecar` of the migration task exited with exit code 2 (log router crashed)".into()
            ))
        );
    }

    #[test]
    fn exit_code_zero_succeeds() {
        assert_eq!(
            migration_outcome(&task("EssentialContainerExited", Some(0), None), "web"),
            Ok(0)
        );
    }

    #[test]
    fn non_zero_exit_code_fails_with_the_reason() {
        assert_eq!(
            migration_outcome(&task("EssentialContainerExited", Some(3), None), "web"),
            Err(Error::MigrationFailed(
                "migration command exited with exit code 3 (Essential container in task exited) in container `web`"
                    .into()
            ))
        );
        assert_eq!(
            migration_outcome(
                &task(
                    "EssentialContainerExited",
                    Some(137),
                    Some("OutOfMemoryError")
                ),
                "web"
            ),
            Err(Error::MigrationFailed(
                "migration command exited with exit code 137 (OutOfMemoryError) in container `web`"
                    .into()
            ))
        );
    }

    #[test]
    fn a_task_that_failed_to_start_did_not_start() {
        let mut failed = task("TaskFailedToStart", None, None);
        failed.stopped_reason = Some("CannotPullContainerError: pull access denied".into());
        assert_eq!(
            migration_outcome(&failed, "web"),
            Err(Error::MigrationDidNotStart(
                "migration task never started: CannotPullContainerError: pull access denied".into()
            ))
        );
        // No exit code without a stop code says the same.
        let no_exit = task("EssentialContainerExited", None, None);
        assert_eq!(
            migration_outcome(&no_exit, "web").map_err(|e| e.error_type()),
            Err("MigrationDidNotStart")
        );
    }

    #[test]
    fn a_running_task_is_not_finished() {
        let mut running = task("", None, None);
        running.last_status = "RUNNING".into();
        assert_eq!(
            migration_outcome(&running, "web"),
            Err(Error::MigrationFailed(
                "the migration task has not finished: it is still RUNNING".into()
            ))
        );
    }

    #[test]
    fn a_missing_container_is_named() {
        assert_eq!(
            migration_outcome(&task("EssentialContainerExited", Some(0), None), "migrate"),
            Err(Error::MigrationFailed(
                "the migration task has no container `migrate` (it has sidecar, web)".into()
            ))
        );
    }
}
