//! The deploy state machine's `Retry` / `Catch` must name error types the functions really
//! return (or Step Functions' and the service integrations' own), or a branch silently never fires.

use serde_json::Value;
use stevedore_core::Error;

fn error_names(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(names)) = map.get("ErrorEquals") {
                found.extend(names.iter().filter_map(|n| n.as_str().map(str::to_string)));
            }
            map.values().for_each(|v| error_names(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| error_names(v, found)),
        _ => {}
    }
}

#[test]
fn every_matched_error_type_exists() {
    let path = format!(
        "{}/../../statemachines/deploy.asl.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let definition: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("deploy.asl.json is readable"))
            .expect("valid JSON");
    let mut names = Vec::new();
    error_names(&definition, &mut names);
    assert!(
        names.iter().any(|n| n == "LockHeld"),
        "the lock wait is retried on LockHeld"
    );
    let unknown: Vec<_> = names
        .iter()
        .filter(|n| {
            // `AmazonECS.Unknown`: runTask.sync's error for a RunTask answering failures[]
            // (https://docs.aws.amazon.com/step-functions/latest/dg/connect-ecs.html).
            !["States.", "Lambda.", "ECS.", "CodeBuild.", "AmazonECS."]
                .iter()
                .any(|prefix| n.starts_with(prefix))
        })
        .filter(|n| !Error::is_error_type(n))
        .collect();
    assert!(
        unknown.is_empty(),
        "ErrorEquals names no function returns: {unknown:?}"
    );
}
