//! Turning a state machine error into the terminal status and a reason a person can act on.

use super::ReleaseStatus;
use crate::bounds::{cut_text, MAX_TEXT_CHARS};
use crate::error::Error;

/// Maps a state-machine error (`Error` and `Cause` as Step Functions passes them to a Catch)
/// to the release's terminal status and a reason.
///
/// The Cause is often Lambda's JSON (`{"errorType": .., "errorMessage": ..}`), whose message
/// is used; otherwise the Cause text itself. A rollback by ECS is ROLLED_BACK, never FAILED
/// or SUCCEEDED; every other error is FAILED. The reason is never empty.
pub fn reason_for_failure(error_type: &str, cause: &str) -> (ReleaseStatus, String) {
    let (inner_type, message) = parse_cause(cause);
    let rolled_back = error_type == "DeploymentRolledBack"
        || inner_type.as_deref() == Some("DeploymentRolledBack");
    let is = |name: &str| error_type == name || inner_type.as_deref() == Some(name);
    let status = if rolled_back {
        ReleaseStatus::RolledBack
    } else if is("Superseded") {
        ReleaseStatus::Superseded
    } else {
        ReleaseStatus::Failed
    };
    // A Cause is up to 32 KB (an ECS task description, a CodeBuild build): the reason keeps
    // the release item bounded, and says how much it left out.
    let reason = describe(error_type, &message);
    (status, cut_text(&reason, MAX_TEXT_CHARS).into_owned())
}

/// The message in a Cause, and the Lambda `errorType` when the Cause is Lambda's JSON.
fn parse_cause(cause: &str) -> (Option<String>, String) {
    let cause = cause.trim();
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_str::<serde_json::Value>(cause)
    else {
        return (None, cause.to_string());
    };
    let text = |key: &str| {
        fields
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_string)
    };
    let inner_type = text("errorType");
    // Lambda: errorMessage; ECS task descriptions (RunTask .sync): StoppedReason;
    // other service integrations: Message / message.
    let message = [
        "errorMessage",
        "StoppedReason",
        "stoppedReason",
        "Message",
        "message",
    ]
    .into_iter()
    .find_map(text)
    .unwrap_or_else(|| {
        if fields.is_empty() {
            String::new()
        } else {
            cause.to_string()
        }
    });
    (inner_type, message)
}

fn describe(error_type: &str, message: &str) -> String {
    let with_details = |summary: &str| {
        if message.is_empty() {
            summary.to_string()
        } else {
            format!("{summary}: {message}")
        }
    };
    match error_type {
        "States.Timeout" => with_details("timed out waiting for the step to finish"),
        "States.HeartbeatTimeout" => with_details("timed out: the step stopped sending heartbeats"),
        "States.TaskFailed" => with_details("a step failed"),
        "States.Permissions" => with_details("Stevedore lacks a permission"),
        "States.Runtime" | "States.DataLimitExceeded" => {
            with_details("the state machine failed internally")
        }
        "States.ExecutionLimitExceeded" => with_details("too many executions are running"),
        lambda if lambda.starts_with("Lambda.") || lambda.starts_with("Sandbox.") => {
            with_details(&format!("the function failed ({lambda})"))
        }
        _ if !message.is_empty() => {
            if Error::is_error_type(error_type) || error_type.is_empty() {
                // Stevedore's own messages are written to be read as they are.
                message.to_string()
            } else {
                format!("{error_type}: {message}")
            }
        }
        "" => "unknown error: no details".to_string(),
        _ => format!("{error_type}: no details"),
    }
}
