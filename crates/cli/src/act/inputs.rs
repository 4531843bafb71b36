//! The operator state machines' inputs, exactly as the console takes them (events/promote.json,
//! rollback.json, approve.json, retry.json; crates/handlers' request types), and where each
//! execution's output names the release it started or decided on.

use serde_json::{json, Map, Value};

use crate::context::Machine;

/// `{"app", "from", "to"}` and, to promote a release other than `from`'s newest SUCCEEDED
/// one, `"release"`.
pub fn promote(app: &str, from: &str, to: &str, release: Option<&str>) -> Value {
    with_release(json!({"app": app, "from": from, "to": to}), release)
}

/// `{"app", "stage"}` and, to return to a release other than the one before the current
/// one, `"release"`.
pub fn rollback(app: &str, stage: &str, release: Option<&str>) -> Value {
    with_release(json!({"app": app, "stage": stage}), release)
}

/// `{"app", "stage"}`: a new release of the digest whose release of the stage failed.
pub fn retry(app: &str, stage: &str) -> Value {
    json!({"app": app, "stage": stage})
}

/// A decision at the approval gate: `{"app", "stage", "decision", "by"}` and `"reason"`.
pub fn decision(app: &str, stage: &str, approve: bool, by: &str, reason: Option<&str>) -> Value {
    let mut input = json!({
        "app": app,
        "stage": stage,
        "decision": if approve { "approve" } else { "reject" },
        "by": by,
    });
    if let (Some(reason), Some(map)) = (reason, input.as_object_mut()) {
        map.insert("reason".into(), reason.into());
    }
    input
}

fn with_release(mut input: Value, release: Option<&str>) -> Value {
    if let (Some(release), Some(map)) = (release, input.as_object_mut()) {
        map.insert("release".into(), release.into());
    }
    input
}

/// Where a succeeded execution's output holds the handler's answer (the state machines'
/// `ResultPath`): promote `$.promotion`, rollback `$.rollback`, retry `$.retry`, approve
/// `$.decided`; each answer has the `release_id`.
pub fn answer_path(machine: Machine) -> &'static str {
    match machine {
        Machine::Promote => "promotion",
        Machine::Rollback => "rollback",
        Machine::Retry => "retry",
        Machine::Approve => "decided",
    }
}

/// The handler's answer in an execution's output (it carries `release_id`).
pub fn answer(machine: Machine, output: Option<&str>) -> Result<Map<String, Value>, String> {
    let path = answer_path(machine);
    let parsed: Value = serde_json::from_str(output.unwrap_or("null"))
        .map_err(|e| format!("the execution's output is not JSON: {e}"))?;
    match parsed.get(path) {
        Some(Value::Object(map)) if map.get("release_id").is_some_and(Value::is_string) => {
            Ok(map.clone())
        }
        _ => Err(format!(
            "the execution's output has no `{path}.release_id`: is the stack's state machine older than this CLI?"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Value {
        let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).expect("sample event")).expect("JSON")
    }

    #[test]
    fn inputs_are_the_documented_samples() {
        assert_eq!(
            promote("backend", "staging", "production", None),
            sample("promote.json")
        );
        assert_eq!(
            rollback("backend", "production", None),
            sample("rollback.json")
        );
        assert_eq!(retry("backend", "staging"), sample("retry.json"));
        assert_eq!(
            decision("backend", "production", true, "release-manager", None),
            sample("approve.json")
        );
    }

    #[test]
    fn optional_fields_only_when_given() {
        let chosen = promote(
            "backend",
            "staging",
            "production",
            Some("01JD3Q8Z0000000000000000AB"),
        );
        assert_eq!(chosen["release"], "01JD3Q8Z0000000000000000AB");
        assert_eq!(
            rollback("backend", "production", Some("01J"))["release"],
            "01J"
        );
        let rejected = decision(
            "backend",
            "production",
            false,
            "arn:aws:iam::1:user/bob",
            Some("freeze"),
        );
        assert_eq!(rejected["decision"], "reject");
        assert_eq!(rejected["reason"], "freeze");
        assert_eq!(rejected["by"], "arn:aws:iam::1:user/bob");
    }

    #[test]
    fn the_answer_is_read_where_each_state_machine_puts_it() {
        let output = r#"{"app":"backend","from":"staging","to":"production","promotion":{"release_id":"01JX","source_release_id":"01JA","digest":"sha256:x","started":true}}"#;
        let found = answer(Machine::Promote, Some(output)).unwrap();
        assert_eq!(found["release_id"], "01JX");
        assert_eq!(found["source_release_id"], "01JA");
        let decided = r#"{"app":"backend","stage":"production","decided":{"release_id":"01JY","decision":"approve"}}"#;
        assert_eq!(
            answer(Machine::Approve, Some(decided)).unwrap()["release_id"],
            "01JY"
        );
        assert!(answer(Machine::Rollback, Some(output))
            .unwrap_err()
            .contains("rollback.release_id"));
        assert!(answer(Machine::Retry, None).is_err());
    }
}
