//! `alarms:` — the CloudWatch alarms ECS watches during a stage's rollouts
//! (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentAlarms.html).

use std::collections::BTreeSet;

use super::validate::CheckResult;

/// The longest CloudWatch alarm name: 1–255 characters
/// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
pub const MAX_ALARM_NAME_LENGTH: usize = 255;

/// Each name non-empty, at most 255 characters, listed once; `path` is the list's field.
pub(super) fn validate_alarms(names: &[String], path: &str) -> CheckResult {
    let mut seen = BTreeSet::new();
    for (index, name) in names.iter().enumerate() {
        let field = format!("{path}[{index}]");
        if name.trim().is_empty() {
            return Err((field, "an alarm name must not be empty".into()));
        }
        let length = name.chars().count();
        if length > MAX_ALARM_NAME_LENGTH {
            return Err((
                field,
                format!("{length} characters; a CloudWatch alarm name has at most {MAX_ALARM_NAME_LENGTH}"),
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err((field, format!("alarm {name:?} is listed twice")));
        }
    }
    Ok(())
}
