//! EventBus adapter tests: the exact PutEvents request out, per-entry outcomes in.

use aws_sdk_eventbridge::operation::put_events::{PutEventsInput, PutEventsOutput};
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_smithy_mocks::mock;
use chrono::TimeZone;

use super::*;
use crate::test_support::{captured, error_body, mocked_client};

fn event(release: &str) -> BusEvent {
    BusEvent {
        source: "stevedore".into(),
        detail_type: "Stevedore Release State Change".into(),
        detail: format!(r#"{{"release_id":"{release}"}}"#),
        resources: vec![format!(
            "arn:aws:states:us-east-1:123456789012:execution:stevedore-deploy:{release}"
        )],
        time: Some(Utc.with_ymd_and_hms(2026, 3, 2, 9, 1, 40).unwrap()),
    }
}

#[tokio::test]
async fn events_go_to_the_default_bus_in_one_call_with_an_outcome_each() {
    let seen = captured::<PutEventsInput>();
    let log = seen.clone();
    let put = mock!(aws_sdk_eventbridge::Client::put_events).then_compute_output(move |input| {
        log.lock().unwrap().push(input.clone());
        PutEventsOutput::builder()
            .failed_entry_count(1)
            .entries(PutEventsResultEntry::builder().event_id("e-1").build())
            .entries(
                PutEventsResultEntry::builder()
                    .error_code("InternalFailure")
                    .error_message("try again")
                    .build(),
            )
            .entries(PutEventsResultEntry::builder().event_id("e-3").build())
            .build()
    });
    let bus = EventBus::new(mocked_client!(aws_sdk_eventbridge, [&put]));
    let outcomes = bus
        .put(&[event("R1"), event("R2"), event("R3")])
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        [
            PutOutcome::Accepted {
                event_id: "e-1".into()
            },
            PutOutcome::Failed {
                code: "InternalFailure".into(),
                message: "try again".into()
            },
            PutOutcome::Accepted {
                event_id: "e-3".into()
            },
        ]
    );
    let requests = seen.lock().unwrap();
    let entries = requests[0].entries();
    assert_eq!(entries.len(), 3);
    let first = &entries[0];
    assert_eq!(first.source(), Some("stevedore"));
    assert_eq!(first.detail_type(), Some("Stevedore Release State Change"));
    assert_eq!(first.detail(), Some(r#"{"release_id":"R1"}"#));
    assert_eq!(first.event_bus_name(), None, "the default bus");
    assert!(first.resources()[0].ends_with(":R1"));
    assert_eq!(
        first.time().map(|t| t.to_millis().unwrap()),
        Some(1_772_442_100_000)
    );
}

#[tokio::test]
async fn a_shorter_answer_leaves_the_missing_entries_failed() {
    let put = mock!(aws_sdk_eventbridge::Client::put_events).then_output(|| {
        PutEventsOutput::builder()
            .failed_entry_count(0)
            .entries(PutEventsResultEntry::builder().event_id("e-1").build())
            .build()
    });
    let bus = EventBus::new(mocked_client!(aws_sdk_eventbridge, [&put]));
    let outcomes = bus.put(&[event("R1"), event("R2")]).await.unwrap();
    assert!(matches!(outcomes[0], PutOutcome::Accepted { .. }));
    assert!(
        matches!(&outcomes[1], PutOutcome::Failed { code, .. } if code == "NoResult"),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn a_failed_call_is_an_error_of_its_kind() {
    let put = mock!(aws_sdk_eventbridge::Client::put_events)
        .sequence()
        .http_status(
            400,
            Some(error_body("ThrottlingException", "Rate exceeded")),
        )
        .build();
    let bus = EventBus::new(mocked_client!(aws_sdk_eventbridge, [&put]));
    let error = bus.put(&[event("R1")]).await.unwrap_err();
    assert_eq!(error.error_type(), "Throttled", "{error}");
}

#[tokio::test]
async fn more_than_ten_entries_are_refused_before_any_call() {
    // No rule: a call would panic.
    let bus = EventBus::new(mocked_client!(aws_sdk_eventbridge, []));
    let eleven: Vec<BusEvent> = (0..11).map(|i| event(&format!("R{i}"))).collect();
    let error = bus.put(&eleven).await.unwrap_err();
    assert_eq!(error.error_type(), "InvalidInput");
    assert!(bus.put(&[]).await.is_err());
}
