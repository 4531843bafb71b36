use serde_json::{json, Value};

use super::*;

fn change(status: &str, phase: &str, durations: Value) -> ReleaseStateChange {
    serde_json::from_value(json!({
        "version": "1", "app": "backend", "stage": "production",
        "release_id": "01JNQ5X1R2S3T4V5W6X7Y8Z9AB", "trigger": "promote",
        "status": status, "phase": phase, "repository": "backend",
        "digest": "sha256:ab", "tag": "v1", "image": "r/backend@sha256:ab",
        "created_at": "2026-03-02T09:00:02.000Z", "time": "2026-03-02T09:01:40.250Z",
        "durations": durations, "links": {}
    }))
    .expect("a detail")
}

/// The line parsed back, checked against the spec's rules: one JSON object, `_aws` with a
/// Timestamp and directives, every dimension and metric a root member of the right type.
fn parse_line(line: &str) -> Value {
    assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
    let doc: Value = serde_json::from_str(line.trim_end()).expect("one JSON object");
    let aws = &doc["_aws"];
    assert_eq!(aws["Timestamp"], json!(1_772_442_100_250_i64));
    for directive in aws["CloudWatchMetrics"].as_array().expect("directives") {
        assert_eq!(directive["Namespace"], NAMESPACE);
        for set in directive["Dimensions"].as_array().expect("dimension sets") {
            for key in set.as_array().expect("a dimension set") {
                let key = key.as_str().expect("a member name");
                assert!(doc[key].is_string(), "dimension {key} missing at the root");
            }
        }
        for metric in directive["Metrics"].as_array().expect("metrics") {
            let name = metric["Name"].as_str().expect("a name");
            assert!(doc[name].is_number(), "metric {name} missing at the root");
        }
    }
    doc
}

fn metric_names(doc: &Value, directive: usize) -> Vec<&str> {
    doc["_aws"]["CloudWatchMetrics"][directive]["Metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .map(|m| m["Name"].as_str().expect("a name"))
        .collect()
}

#[test]
fn a_success_counts_the_release_by_status_and_times_it() {
    let success = change(
        "SUCCEEDED",
        "finished",
        json!({"total_seconds": 98.0, "rollout_seconds": 55.0, "lead_time_seconds": 7300.5,
               "lock_wait_seconds": 3.0}),
    );
    let doc = parse_line(&emf_line(&success).expect("a line"));
    assert_eq!(metric_names(&doc, 0), ["Releases"]);
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["App", "Stage", "Status"]])
    );
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
        "Count"
    );
    assert_eq!(
        metric_names(&doc, 1),
        ["ReleaseDuration", "LeadTime", "RolloutDuration"]
    );
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][1]["Dimensions"],
        json!([["App", "Stage"]])
    );
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][1]["Metrics"][0]["Unit"],
        "Seconds"
    );
    assert_eq!(
        (&doc["App"], &doc["Stage"], &doc["Status"]),
        (&json!("backend"), &json!("production"), &json!("SUCCEEDED"))
    );
    assert_eq!(doc["Releases"], 1.0);
    assert_eq!(doc["LeadTime"], 7300.5);
    assert_eq!(doc["ReleaseId"], "01JNQ5X1R2S3T4V5W6X7Y8Z9AB");
    // The lock wait was measured when the lock was taken, not again at the end.
    assert!(doc.get("LockWait").is_none());
}

#[test]
fn a_rollback_is_counted_without_a_lead_time() {
    let rolled_back = change(
        "ROLLED_BACK",
        "finished",
        json!({"total_seconds": 120.0, "rollout_seconds": 80.0}),
    );
    let doc = parse_line(&emf_line(&rolled_back).expect("a line"));
    assert_eq!(doc["Status"], "ROLLED_BACK");
    assert_eq!(metric_names(&doc, 0), ["Releases"]);
    assert_eq!(
        metric_names(&doc, 1),
        ["ReleaseDuration", "RolloutDuration"]
    );
}

#[test]
fn each_phase_end_gives_its_duration() {
    for (phase, durations, metric) in [
        (
            "lock_acquired",
            json!({"lock_wait_seconds": 3.0}),
            "LockWait",
        ),
        ("rendered", json!({"render_seconds": 5.0}), "RenderDuration"),
        (
            "migrated",
            json!({"migration_seconds": 30.0}),
            "MigrationDuration",
        ),
    ] {
        let doc = parse_line(&emf_line(&change("IN_PROGRESS", phase, durations)).expect("a line"));
        assert_eq!(metric_names(&doc, 0), [metric], "{phase}");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"].as_array().map(Vec::len),
            Some(1)
        );
        assert_eq!(doc["Phase"], phase);
    }
}

#[test]
fn transitions_that_end_no_span_print_nothing() {
    for (status, phase) in [
        ("PENDING", "pending"),
        ("WAITING_FOR_APPROVAL", "approval_requested"),
        ("IN_PROGRESS", "approval_decided"),
        ("IN_PROGRESS", "deploy_started"),
    ] {
        assert_eq!(
            emf_line(&change(status, phase, json!({"total_seconds": 1.0}))),
            None
        );
    }
    // A phase whose duration could not be measured prints nothing either.
    assert_eq!(
        emf_line(&change("IN_PROGRESS", "rendered", json!({}))),
        None
    );
}

#[test]
fn the_rollout_line_carries_measured_and_predicted_seconds() {
    let doc = parse_line(&rollout_emf_line(
        "web",
        "prod",
        "01J",
        242.5,
        Some(280),
        1_772_442_100_250,
    ));
    assert_eq!(
        metric_names(&doc, 0),
        ["EcsRolloutDuration", "PredictedRolloutDuration"]
    );
    assert_eq!(doc["EcsRolloutDuration"], 242.5);
    assert_eq!(doc["PredictedRolloutDuration"], 280.0);
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["App", "Stage"]])
    );
    // Without a prediction, only what was measured.
    let doc = parse_line(&rollout_emf_line(
        "web",
        "prod",
        "01J",
        10.0,
        None,
        1_772_442_100_250,
    ));
    assert_eq!(metric_names(&doc, 0), ["EcsRolloutDuration"]);
}
