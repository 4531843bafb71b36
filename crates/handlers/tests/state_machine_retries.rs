//! Retry budgets of the state machines: throttling (of ECS or of any AWS call a function makes)
//! and RunTask's capacity failures are retried for minutes with full jitter, so a burst of
//! releases (say 50 services at once) spreads out instead of failing. Step Functions' Retry
//! fields: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html

use serde_json::Value;

/// Every Task state of a definition (Map / Parallel branches included), with its name.
fn task_states<'a>(states: &'a Value, out: &mut Vec<(&'a str, &'a Value)>) {
    for (name, state) in states.as_object().expect("States is an object") {
        if state["Type"] == "Task" {
            out.push((name, state));
        }
        for key in ["Iterator", "ItemProcessor"] {
            if let Some(inner) = state.get(key) {
                task_states(&inner["States"], out);
            }
        }
        for branch in state["Branches"].as_array().into_iter().flatten() {
            task_states(&branch["States"], out);
        }
    }
}

/// The first retrier matching `error` (Step Functions uses the first that matches).
fn retrier<'a>(state: &'a Value, error: &str) -> Option<&'a Value> {
    state["Retry"].as_array()?.iter().find(|r| {
        r["ErrorEquals"]
            .as_array()
            .is_some_and(|names| names.iter().any(|n| n == error || n == "States.ALL"))
    })
}

/// Seconds of waiting a retrier allows at most before its last attempt.
fn worst_case_wait(retrier: &Value) -> f64 {
    let interval = retrier["IntervalSeconds"].as_f64().unwrap_or(1.0);
    let rate = retrier["BackoffRate"].as_f64().unwrap_or(2.0);
    let cap = retrier["MaxDelaySeconds"].as_f64().unwrap_or(f64::INFINITY);
    let attempts = retrier["MaxAttempts"].as_i64().unwrap_or(3) as i32;
    (0..attempts)
        .map(|n| (interval * rate.powi(n)).min(cap))
        .sum()
}

fn definition(name: &str) -> Value {
    let path = format!("{}/../../statemachines/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("definition is readable"))
        .expect("valid JSON")
}

const MINUTES: f64 = 60.0;

fn assert_retried_for_minutes(file: &str, state: &str, error: &str, minutes: f64) {
    let definition = definition(file);
    let mut tasks = Vec::new();
    task_states(&definition["States"], &mut tasks);
    let (_, task) = tasks
        .iter()
        .find(|(name, _)| *name == state)
        .unwrap_or_else(|| panic!("{file} has no Task state {state}"));
    let retry =
        retrier(task, error).unwrap_or_else(|| panic!("{file} {state} does not retry {error}"));
    assert_eq!(
        retry["JitterStrategy"], "FULL",
        "{file} {state}: {error} retries are jittered"
    );
    let wait = worst_case_wait(retry);
    assert!(
        wait >= minutes * MINUTES,
        "{file} {state}: {error} is retried for at most {wait} s, not {minutes} min"
    );
}

#[test]
fn every_function_state_retries_throttling_for_minutes_with_jitter() {
    for file in [
        "deploy.asl.json",
        "rollback.asl.json",
        "promote.asl.json",
        "retry.asl.json",
        "approve.asl.json",
    ] {
        let definition = definition(file);
        let mut tasks = Vec::new();
        task_states(&definition["States"], &mut tasks);
        let functions: Vec<_> = tasks
            .iter()
            .filter(|(_, s)| retrier(s, "TransientAws").is_some())
            .collect();
        assert!(!functions.is_empty(), "{file} has function states");
        for (name, _) in functions {
            assert_retried_for_minutes(file, name, "Throttled", 5.0);
            assert_retried_for_minutes(file, name, "Lambda.TooManyRequestsException", 5.0);
        }
    }
}

#[test]
fn the_migration_task_retries_capacity_failures_and_ecs_throttling_for_minutes() {
    for state in [
        "RunMigration",
        "RunMigrationWithoutPlatformVersion",
        "RunMigrationOnCapacityProviders",
        "RunMigrationOnCapacityProvidersWithoutPlatformVersion",
    ] {
        for error in [
            "AmazonECS.Unknown",
            "ECS.ThrottlingException",
            "ECS.AmazonECSException",
        ] {
            assert_retried_for_minutes("deploy.asl.json", state, error, 5.0);
        }
        // Once the budget is spent, the failure is explained (MigrationDidNotStart), not lost.
        let definition = definition("deploy.asl.json");
        let catch = definition["States"][state]["Catch"]
            .as_array()
            .expect("Catch")
            .iter()
            .find(|c| {
                c["ErrorEquals"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e == "States.ALL")
            })
            .expect("a catch-all");
        assert_eq!(catch["Next"], "ExplainMigrationFailure", "{state}");
    }
}
