//! The release event samples (`events/release-state-change-*.json`) and the release table's
//! stream sample (`events/record-stream.json`), parsed with the types the functions use:
//! `EventBridgeEvent<ReleaseStateChange>` (what the notify function and users' rules get) and
//! the DynamoDB stream batch record reads. The stream sample, turned into events the way
//! record does, gives exactly the event samples of its release.

use aws_lambda_events::dynamodb::Event as StreamBatch;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::de::DeserializeOwned;
use serde_json::Value;
use stevedore_core::release::event::{
    EventStatus, ReleaseStateChange, DETAIL_TYPE, DETAIL_VERSION, SOURCE,
};
use stevedore_core::release::Phase;
use stevedore_core::StageConfig;
use stevedore_handlers::release_events::{bus_event, event_detail, release_transition};

fn text(name: &str) -> String {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn sample<T: DeserializeOwned>(name: &str) -> T {
    serde_json::from_str(&text(name)).unwrap_or_else(|e| panic!("{name} does not parse: {e}"))
}

/// A release event sample, checked as an event of ours; its detail also serialises back to
/// exactly the sample's JSON, so no field in the sample is misspelt or unknown to v1.
fn release_event(name: &str) -> EventBridgeEvent<ReleaseStateChange> {
    let event: EventBridgeEvent<ReleaseStateChange> = sample(name);
    assert_eq!(event.source, SOURCE, "{name}");
    assert_eq!(event.detail_type, DETAIL_TYPE, "{name}");
    assert_eq!(event.detail.version, DETAIL_VERSION, "{name}");
    let raw: Value = sample(name);
    assert_eq!(
        serde_json::to_value(&event.detail).expect("json"),
        raw["detail"],
        "{name}: the detail does not round-trip"
    );
    if let Some(execution) = &event.detail.execution_arn {
        assert!(
            event
                .resources
                .as_deref()
                .unwrap_or_default()
                .contains(execution),
            "{name}"
        );
    }
    assert!(!text(name).contains("task_token"), "{name}");
    event
}

#[test]
fn release_event_samples_cover_each_kind_of_transition() {
    let cases = [
        (
            "release-state-change-pending.json",
            EventStatus::Pending,
            Phase::Pending,
        ),
        (
            "release-state-change-in-progress-rendered.json",
            EventStatus::InProgress,
            Phase::Rendered,
        ),
        (
            "release-state-change-waiting-for-approval.json",
            EventStatus::WaitingForApproval,
            Phase::ApprovalRequested,
        ),
        (
            "release-state-change-succeeded.json",
            EventStatus::Succeeded,
            Phase::Finished,
        ),
        (
            "release-state-change-rolled-back.json",
            EventStatus::RolledBack,
            Phase::Finished,
        ),
    ];
    for (name, status, phase) in cases {
        let detail = release_event(name).detail;
        assert_eq!((detail.status, detail.phase), (status, phase), "{name}");
        // A reason on terminal failures and the approval wait, never on a success.
        assert_eq!(
            detail.reason.is_some(),
            matches!(
                status,
                EventStatus::RolledBack | EventStatus::WaitingForApproval
            ),
            "{name}"
        );
    }
    let succeeded = release_event("release-state-change-succeeded.json").detail;
    assert!(succeeded.durations.lead_time_seconds.is_some());
    assert!(succeeded.links.execution.is_some() && succeeded.links.service.is_some());
    let rolled_back = release_event("release-state-change-rolled-back.json").detail;
    assert_eq!(rolled_back.durations.lead_time_seconds, None);
    assert!(rolled_back.source_release_id.is_some());
}

#[test]
fn the_stream_sample_gives_the_release_event_samples_of_its_release() {
    let batch: StreamBatch = sample("record-stream.json");
    let stage: StageConfig = serde_json::from_value(
        serde_json::json!({"cluster": "demo", "service": "backend-staging"}),
    )
    .expect("stage");
    let mut produced = Vec::new();
    for record in &batch.records {
        assert_eq!(record.event_source.as_deref(), Some("aws:dynamodb"));
        assert!(record.change.sequence_number.is_some());
        if let Some((release, transition)) = release_transition(record).expect("a release record") {
            let detail = event_detail(record, &release, &transition, Some(&stage));
            let entry = bus_event(&release, &detail).expect("an entry");
            produced.push((detail, entry));
        }
    }
    let phases: Vec<(EventStatus, Phase)> =
        produced.iter().map(|(d, _)| (d.status, d.phase)).collect();
    // The smoke check's write (the 4th record) is no transition.
    assert_eq!(batch.records.len(), 5);
    assert_eq!(
        phases,
        [
            (EventStatus::Pending, Phase::Pending),
            (EventStatus::InProgress, Phase::LockAcquired),
            (EventStatus::InProgress, Phase::Rendered),
            (EventStatus::Succeeded, Phase::Finished),
        ]
    );
    for (index, name) in [
        (0, "release-state-change-pending.json"),
        (2, "release-state-change-in-progress-rendered.json"),
        (3, "release-state-change-succeeded.json"),
    ] {
        let event = release_event(name);
        let (detail, entry) = &produced[index];
        assert_eq!(detail, &event.detail, "{name}");
        assert_eq!(Some(&entry.resources), event.resources.as_ref(), "{name}");
    }
}

/// `dynamodb-stream-release.json` is the shape the emulator's stream delivery is checked
/// against (tools/local-aws/tests/test_event_shapes.py); `record-stream.json` has the same
/// record shape, and record reads both.
#[test]
fn both_stream_samples_have_one_record_shape_that_record_reads() {
    let emulated: Value = sample("dynamodb-stream-release.json");
    let ours: Value = sample("record-stream.json");
    let keys = |record: &Value, at: &str| -> Vec<String> {
        let object = if at.is_empty() { record } else { &record[at] };
        let mut keys: Vec<String> = object
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    let shape = |record: &Value| (keys(record, ""), keys(record, "dynamodb"));
    let emulated_modify = &emulated["Records"][0];
    for record in ours["Records"].as_array().expect("records") {
        if record["eventName"] == "MODIFY" {
            assert_eq!(shape(record), shape(emulated_modify));
        }
    }
    let batch: StreamBatch = sample("dynamodb-stream-release.json");
    let (_, transition) = release_transition(&batch.records[0])
        .expect("a release record")
        .expect("a transition");
    assert_eq!(
        (transition.status, transition.phase),
        (EventStatus::InProgress, Phase::LockAcquired)
    );
}
