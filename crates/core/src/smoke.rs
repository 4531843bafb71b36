//! The blue/green lifecycle hook's decisions: what Stevedore puts in the hook's
//! `hookDetails`, and how one smoke-test attempt turns into ECS's `hookStatus`.

use serde::{Deserialize, Serialize};

use crate::bounds::{MAX_HOOK_DETAILS_BYTES, MAX_HOOK_NAME_CHARS, MAX_HOOK_URL_CHARS};
use crate::config::SmokeTest;
use crate::error::Error;

/// The ECS lifecycle stage at which the smoke test runs: the test listener routes all test
/// traffic to green, production still goes to blue.
pub const SMOKE_TEST_STAGE: &str = "POST_TEST_TRAFFIC_SHIFT";

/// What Stevedore's hook needs to know, carried by ECS in `hookDetails` (set on the
/// service's lifecycle hook at deploy, handed back with each IN_PROGRESS answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookContext {
    pub app: String,
    pub stage: String,
    pub release_id: String,
    /// None: a linear or canary stage without a smoke test, whose hook only records the
    /// traffic steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoke_test: Option<SmokeTest>,
    /// The ECS service the hook is on, told apart in a release of several services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Attempts already made (0 on the first invocation).
    #[serde(default)]
    pub attempts_made: u32,
}

/// The hook's context from ECS's `hookDetails`, within bounds (see `crate::bounds`): the
/// size of the whole, the length of every name and of the URL, the smoke test's own ranges
/// (as `stevedore config apply` checks them) and attempts already made. `Err` says what is
/// wrong; the hook then answers FAILED rather than let green take traffic unchecked.
pub fn hook_context(details: Option<&serde_json::Value>) -> Result<HookContext, String> {
    let details = details.ok_or("no hookDetails")?;
    let size = serde_json::to_string(details).map_or(usize::MAX, |s| s.len());
    if size > MAX_HOOK_DETAILS_BYTES {
        return Err(format!(
            "hookDetails has {size} bytes, more than the {MAX_HOOK_DETAILS_BYTES} Stevedore writes at most"
        ));
    }
    let context: HookContext = serde_json::from_value(details.clone())
        .map_err(|e| format!("hookDetails is not a Stevedore release context: {e}"))?;
    for (field, value) in [
        ("app", &context.app),
        ("stage", &context.stage),
        ("release_id", &context.release_id),
        ("service", context.service.as_ref().unwrap_or(&context.app)),
    ] {
        let chars = value.chars().count();
        if chars == 0 || chars > MAX_HOOK_NAME_CHARS {
            return Err(format!(
                "hookDetails.{field} has {chars} characters, not 1..={MAX_HOOK_NAME_CHARS}"
            ));
        }
    }
    let Some(smoke) = &context.smoke_test else {
        if context.attempts_made > 0 {
            return Err("hookDetails.attempts_made is set, but there is no smoke test".into());
        }
        return Ok(context);
    };
    if smoke.test_url.chars().count() > MAX_HOOK_URL_CHARS {
        return Err(format!(
            "hookDetails.smoke_test.test_url is longer than {MAX_HOOK_URL_CHARS} characters"
        ));
    }
    smoke
        .check()
        .map_err(|(field, message)| format!("hookDetails.smoke_test.{field}: {message}"))?;
    if context.attempts_made >= smoke.attempts {
        return Err(format!(
            "hookDetails.attempts_made is {}, but the smoke test has only {} attempts",
            context.attempts_made, smoke.attempts
        ));
    }
    Ok(context)
}

/// What one request through the test listener returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    Status(u16),
    /// No HTTP answer: connection refused, timeout, TLS error…
    NoAnswer(String),
}

/// One smoke-test attempt as recorded on the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmokeCheck {
    pub attempt: u32,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub passed: bool,
    pub at: String,
}

/// The hook's answer to ECS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookAnswer {
    Succeeded {
        summary: String,
    },
    /// Try again after `callback_delay` seconds, with `next` as the hookDetails.
    InProgress {
        callback_delay: u32,
        next: HookContext,
    },
    Failed {
        reason: String,
    },
}

/// Judges attempt `context.attempts_made + 1` of `smoke` (the context's smoke test).
pub fn judge(
    context: &HookContext,
    smoke: &SmokeTest,
    observed: &Observed,
    at: &str,
) -> (SmokeCheck, HookAnswer) {
    let attempt = context.attempts_made + 1;
    let (status, error) = match observed {
        Observed::Status(status) => (Some(*status), None),
        Observed::NoAnswer(error) => (None, Some(error.clone())),
    };
    let passed = status == Some(smoke.expect_status);
    let check = SmokeCheck {
        attempt,
        url: smoke.test_url.clone(),
        status,
        error,
        passed,
        at: at.to_string(),
    };
    let answer = if passed {
        HookAnswer::Succeeded {
            summary: format!(
                "smoke test passed: GET {} answered {} on attempt {attempt} of {}",
                smoke.test_url, smoke.expect_status, smoke.attempts
            ),
        }
    } else if attempt < smoke.attempts {
        HookAnswer::InProgress {
            callback_delay: smoke.interval_seconds,
            next: HookContext {
                attempts_made: attempt,
                ..context.clone()
            },
        }
    } else {
        HookAnswer::Failed {
            reason: format!(
                "smoke test failed: GET {} {}, expected {}, on all {} attempts; ECS rolled the green revision back",
                smoke.test_url,
                describe(observed),
                smoke.expect_status,
                smoke.attempts
            ),
        }
    };
    (check, answer)
}

fn describe(observed: &Observed) -> String {
    match observed {
        Observed::Status(status) => format!("answered {status}"),
        Observed::NoAnswer(error) => format!("got no answer ({error})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(attempts_made: u32) -> HookContext {
        HookContext {
            app: "backend".into(),
            stage: "production".into(),
            release_id: "01J".into(),
            smoke_test: Some(smoke()),
            service: None,
            attempts_made,
        }
    }

    fn smoke() -> SmokeTest {
        SmokeTest {
            test_url: "http://alb:8080/healthz".into(),
            expect_status: 200,
            attempts: 3,
            interval_seconds: 7,
            timeout_seconds: 2,
            each_step: false,
        }
    }

    #[test]
    fn the_expected_status_succeeds_and_is_recorded_as_passed() {
        let (check, answer) = judge(&context(1), &smoke(), &Observed::Status(200), "t");
        assert!(check.passed);
        assert_eq!(check.attempt, 2);
        assert_eq!(check.status, Some(200));
        match answer {
            HookAnswer::Succeeded { summary } => {
                assert!(
                    summary.contains("answered 200 on attempt 2 of 3"),
                    "{summary}"
                )
            }
            other => panic!("expected success, got {other:?}"),
        }
    }

    #[test]
    fn a_wrong_status_retries_until_the_attempts_run_out() {
        let (check, answer) = judge(&context(0), &smoke(), &Observed::Status(500), "t");
        assert!(!check.passed);
        assert_eq!(
            answer,
            HookAnswer::InProgress {
                callback_delay: 7,
                next: context(1)
            }
        );
        let (_, answer) = judge(&context(2), &smoke(), &Observed::Status(500), "t");
        match answer {
            HookAnswer::Failed { reason } => assert!(
                reason.contains(
                    "GET http://alb:8080/healthz answered 500, expected 200, on all 3 attempts"
                ),
                "{reason}"
            ),
            other => panic!("expected failure, got {other:?}"),
        }
    }

    #[test]
    fn no_answer_counts_as_a_failed_attempt_with_its_error() {
        let refused = Observed::NoAnswer("connection refused".into());
        let (check, answer) = judge(&context(2), &smoke(), &refused, "t");
        assert_eq!(check.error.as_deref(), Some("connection refused"));
        assert_eq!(check.status, None);
        match answer {
            HookAnswer::Failed { reason } => {
                assert!(
                    reason.contains("got no answer (connection refused)"),
                    "{reason}"
                )
            }
            other => panic!("expected failure, got {other:?}"),
        }
    }

    #[test]
    fn context_round_trips_through_hook_details() {
        let json = serde_json::to_value(context(2)).expect("serialises");
        assert_eq!(json["smoke_test"]["test_url"], "http://alb:8080/healthz");
        let back: HookContext = serde_json::from_value(json).expect("parses");
        assert_eq!(back, context(2));
    }

    #[test]
    fn a_linear_hook_context_may_come_without_a_smoke_test() {
        let details = serde_json::json!({"app": "a", "stage": "s", "release_id": "r",
            "service": "web"});
        let context = hook_context(Some(&details)).expect("a context");
        assert_eq!(context.smoke_test, None);
        assert_eq!(context.service.as_deref(), Some("web"));
        let retried = serde_json::json!({"app": "a", "stage": "s", "release_id": "r",
            "attempts_made": 1});
        assert!(hook_context(Some(&retried))
            .expect_err("no smoke test to retry")
            .contains("attempts_made"));
        let long_service = serde_json::json!({"app": "a", "stage": "s", "release_id": "r",
            "service": "w".repeat(MAX_HOOK_NAME_CHARS + 1)});
        assert!(hook_context(Some(&long_service))
            .expect_err("too long")
            .contains("service"));
    }

    #[test]
    fn hook_details_are_read_within_bounds() {
        let good = serde_json::to_value(context(1)).expect("json");
        assert_eq!(hook_context(Some(&good)), Ok(context(1)));
        assert!(hook_context(None).is_err());
        let not_ours = serde_json::json!({"suite": "smoke"});
        assert!(hook_context(Some(&not_ours)).is_err());
        let mut huge = good.clone();
        huge["padding"] = serde_json::Value::String("x".repeat(MAX_HOOK_DETAILS_BYTES));
        assert!(hook_context(Some(&huge))
            .expect_err("too big")
            .contains("bytes"));
        let mut long_app = good.clone();
        long_app["app"] = serde_json::Value::String("a".repeat(MAX_HOOK_NAME_CHARS + 1));
        assert!(hook_context(Some(&long_app))
            .expect_err("too long")
            .contains("app"));
        let mut empty_release = good.clone();
        empty_release["release_id"] = serde_json::Value::String(String::new());
        assert!(hook_context(Some(&empty_release)).is_err());
        let mut many_attempts = good.clone();
        many_attempts["smoke_test"]["attempts"] = serde_json::json!(1_000_000);
        assert!(hook_context(Some(&many_attempts))
            .expect_err("out of range")
            .contains("attempts"));
        let mut exhausted = good.clone();
        exhausted["attempts_made"] = serde_json::json!(3);
        assert!(hook_context(Some(&exhausted))
            .expect_err("used up")
            .contains("attempts_made"));
        let mut bad_url = good;
        bad_url["smoke_test"]["test_url"] = serde_json::Value::String("ftp://x".into());
        assert!(hook_context(Some(&bad_url))
            .expect_err("bad url")
            .contains("test_url"));
    }
}

/// ECS's reason for a failed blue/green deployment says which hook failed, not why: when
/// Stevedore's smoke test failed, its reason leads.
pub fn explain_failure(
    error: Error,
    smoke_test_status: Option<&str>,
    smoke_test_reason: Option<&str>,
) -> Error {
    let (Some("FAILED"), Some(reason)) = (smoke_test_status, smoke_test_reason) else {
        return error;
    };
    let combine = |ecs: String| format!("{reason} (ECS: {ecs})");
    match error {
        Error::DeploymentRolledBack(ecs) => Error::DeploymentRolledBack(combine(ecs)),
        Error::DeploymentFailed(ecs) => Error::DeploymentFailed(combine(ecs)),
        other => other,
    }
}

#[cfg(test)]
mod explain_tests {
    use super::*;

    #[test]
    fn a_failed_smoke_test_leads_the_reason_of_a_rollback() {
        let ecs = Error::DeploymentRolledBack("hook x returned FAILED".into());
        let explained = explain_failure(
            ecs.clone(),
            Some("FAILED"),
            Some("smoke test failed: GET u answered 500"),
        );
        assert_eq!(
            explained,
            Error::DeploymentRolledBack(
                "smoke test failed: GET u answered 500 (ECS: hook x returned FAILED)".into()
            )
        );
        assert_eq!(
            explain_failure(ecs.clone(), Some("SUCCEEDED"), Some("passed")),
            ecs
        );
        assert_eq!(explain_failure(ecs.clone(), None, None), ecs);
        let replaced = Error::DeploymentReplaced("someone else".into());
        assert_eq!(
            explain_failure(replaced.clone(), Some("FAILED"), Some("r")),
            replaced
        );
    }
}
