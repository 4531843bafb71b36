//! The rules of a rollout's strategy settings (a stage's, or one of its services'): bake
//! time and smoke test only where ECS shifts traffic, step settings only with their
//! strategy, and a deploy timeout that covers every wait ECS may make.

use super::validate::CheckResult;
use super::{Strategy, MAX_BAKE_MINUTES};

/// One rollout's settings: a stage's, or one of its services' effective ones.
pub(super) struct Rollout<'a> {
    pub strategy: Strategy,
    pub bake_minutes: Option<u32>,
    pub smoke_test: Option<&'a super::SmokeTest>,
    pub linear: Option<&'a super::LinearSettings>,
    pub canary: Option<&'a super::CanarySettings>,
}

/// `path` locates the rollout's own fields; a `deploy_timeout_seconds` too short for them is
/// the stage's (`stage_path`).
pub(super) fn validate_strategy(
    stage: &Rollout<'_>,
    deploy_timeout_seconds: u64,
    path: &str,
    stage_path: &str,
) -> CheckResult {
    let traffic = super::traffic_shift::TrafficSettings {
        strategy: stage.strategy,
        linear: stage.linear,
        canary: stage.canary,
        smoke_test: stage.smoke_test,
    };
    traffic
        .check()
        .map_err(|(field, message)| (format!("{path}.{field}"), message))?;
    if stage.strategy == Strategy::Rolling {
        for (field, set) in [
            ("bake_minutes", stage.bake_minutes.is_some()),
            ("smoke_test", stage.smoke_test.is_some()),
        ] {
            if set {
                return Err((
                    format!("{path}.{field}"),
                    "is only used with `strategy: blue_green`, `linear` or `canary`; add one or remove this field".into(),
                ));
            }
        }
        return Ok(());
    }
    let bake_minutes = stage.bake_minutes.unwrap_or(0);
    if bake_minutes > MAX_BAKE_MINUTES {
        return Err((
            format!("{path}.bake_minutes"),
            format!("{bake_minutes} is out of range 0..={MAX_BAKE_MINUTES} (ECS's limit)"),
        ));
    }
    if let Some(smoke_test) = stage.smoke_test {
        smoke_test
            .check()
            .map_err(|(field, message)| (format!("{path}.smoke_test.{field}"), message))?;
    }
    // The bake after 100 %, the waits between steps, and every smoke test run.
    let longest = u64::from(bake_minutes) * 60 + traffic.longest_seconds();
    if deploy_timeout_seconds <= longest {
        let what = if stage.strategy.shifts_in_steps() {
            "bake_minutes, the waits between traffic steps and the smoke tests"
        } else {
            "bake_minutes and the smoke test"
        };
        return Err((
            format!("{stage_path}.deploy_timeout_seconds"),
            format!(
                "{deploy_timeout_seconds} s leaves no time to roll out: {what} alone can take {longest} s; raise it above that"
            ),
        ));
    }
    Ok(())
}
