//! The stream → events path with mocked DynamoDB (the app config) and EventBridge.

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_eventbridge::operation::put_events::{PutEventsInput, PutEventsOutput};
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use stevedore_core::release::event::EventStatus;
use stevedore_core::release::event::{DETAIL_TYPE, SOURCE};
use stevedore_core::release::{Phase, ReleaseStatus, Trigger};
use stevedore_core::{Release, ReleaseSpec};

use super::*;

const TOKEN: &str = "AQB-parked-approval-token";

fn pending(n: u32) -> Release {
    let spec = ReleaseSpec {
        release_id: format!("01JNQ5X1R2S3T4V5W6X7Y8Z{n:03}"),
        app: "backend".into(),
        stage: "staging".into(),
        repository: "backend".into(),
        digest: "sha256:ab".into(),
        tag: format!("v1.{n}"),
        image_uri: "r/backend@sha256:ab".into(),
        trigger: Trigger::Push,
        source_release_id: None,
        pushed_at: None,
        redeploy_task_definition_arn: None,
        redeploy_services: Default::default(),
    };
    Release::new_pending(spec, Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 2).unwrap())
}

fn locked(release: &Release) -> Release {
    let mut next = release.clone();
    next.status = ReleaseStatus::InProgress;
    next.lock_acquired_at = Some("2026-03-02T09:00:05.000Z".into());
    next.execution_arn = Some(format!(
        "arn:aws:states:us-east-1:123456789012:execution:stevedore-deploy:{}",
        release.spec.release_id
    ));
    next
}

fn image(release: &Release) -> Value {
    let item: serde_dynamo::Item = serde_dynamo::to_item(release).expect("an item");
    serde_json::to_value(item).expect("DynamoDB JSON")
}

/// A stream record as Lambda delivers it (MODIFY with both images, INSERT with the new one).
fn record(sequence: u32, old: Option<&Release>, new: &Release) -> Value {
    let mut change = json!({
        "ApproximateCreationDateTime": 1772442010,
        "Keys": {"PK": {"S": new.pk}, "SK": {"S": new.sk}},
        "NewImage": image(new),
        "SequenceNumber": format!("{sequence}"),
        "SizeBytes": 512,
        "StreamViewType": "NEW_AND_OLD_IMAGES"
    });
    if let Some(old) = old {
        change["OldImage"] = image(old);
    }
    json!({
        "eventID": format!("e{sequence}"),
        "eventName": if old.is_some() { "MODIFY" } else { "INSERT" },
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/stevedore-ReleaseTable/stream/2026-03-01T00:00:00.000",
        "dynamodb": change
    })
}

fn batch(records: Vec<Value>) -> StreamBatch {
    serde_json::from_value(json!({ "Records": records })).expect("a stream batch")
}

fn config_rule() -> Rule {
    let config = json!({"repository": "backend", "stages": {
        "staging": {"cluster": "demo", "service": "backend-staging", "tags": ["v*"]}}});
    mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| {
            r.key().and_then(|k| k.get("PK")) == Some(&AttributeValue::S("APP#backend".into()))
        })
        .then_output(move || {
            GetItemOutput::builder()
                .item("config", AttributeValue::S(config.to_string()))
                .build()
        })
}

type Seen = Arc<Mutex<Vec<PutEventsInput>>>;

/// PutEvents answering each call with `answer(index of the entry in the whole batch)`: an
/// error code, or `None` for accepted.
fn put_rule(seen: Seen, answer: fn(usize) -> Option<&'static str>) -> Rule {
    mock!(aws_sdk_eventbridge::Client::put_events).then_compute_output(move |input| {
        let mut calls = seen.lock().unwrap();
        let before: usize = calls.iter().map(|c| c.entries().len()).sum();
        let mut out = PutEventsOutput::builder();
        let mut failed = 0;
        for index in before..before + input.entries().len() {
            out = out.entries(match answer(index) {
                None => PutEventsResultEntry::builder()
                    .event_id(format!("id-{index}"))
                    .build(),
                Some(code) => {
                    failed += 1;
                    PutEventsResultEntry::builder()
                        .error_code(code)
                        .error_message("no")
                        .build()
                }
            });
        }
        calls.push(input.clone());
        out.failed_entry_count(failed).build()
    })
}

fn context(config: &Rule, put: &Rule) -> (EventBus, Store) {
    let bus = EventBus::new(mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [put]));
    let store = Store::new(
        mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [config]),
        "stevedore",
    );
    (bus, store)
}

fn details(seen: &Seen) -> Vec<ReleaseStateChange> {
    seen.lock()
        .unwrap()
        .iter()
        .flat_map(|call| call.entries().to_vec())
        .map(|e| serde_json::from_str(e.detail().expect("detail")).expect("a v1 detail"))
        .collect()
}

fn failures(response: &DynamoDbEventResponse) -> Vec<&str> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_deref().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn transitions_become_events_and_other_writes_nothing() {
    let first = pending(1);
    let running = locked(&first);
    let mut smoke = running.clone();
    smoke.smoke_test_status = Some("IN_PROGRESS".into());
    let mut parked = smoke.clone();
    parked.approval_task_token = Some(TOKEN.into());
    parked.approval_requested_at = Some("2026-03-02T09:00:11.000Z".into());
    let mut head = record(5, None, &first);
    head["dynamodb"]["Keys"]["SK"] = json!({"S": "HEAD"});
    let mut removed = record(7, Some(&parked), &parked);
    removed["eventName"] = json!("REMOVE");
    let stream = batch(vec![
        record(1, None, &first),
        record(2, Some(&first), &running),
        record(3, Some(&running), &smoke),
        head,
        record(6, Some(&smoke), &parked),
        removed,
    ]);
    let seen: Seen = Default::default();
    let (config, put) = (config_rule(), put_rule(seen.clone(), |_| None));
    let (bus, store) = context(&config, &put);
    let response = handle(&bus, &store, stream).await;
    assert_eq!(failures(&response), Vec::<&str>::new());
    assert_eq!(
        config.num_calls(),
        1,
        "the app config is read once per batch"
    );
    assert_eq!(put.num_calls(), 1);
    let got: Vec<(EventStatus, Phase)> =
        details(&seen).iter().map(|d| (d.status, d.phase)).collect();
    assert_eq!(
        got,
        [
            (EventStatus::Pending, Phase::Pending),
            (EventStatus::InProgress, Phase::LockAcquired),
            (EventStatus::WaitingForApproval, Phase::ApprovalRequested),
        ]
    );
    let calls = seen.lock().unwrap();
    let entries = calls[0].entries();
    assert!(entries
        .iter()
        .all(|e| e.source() == Some(SOURCE) && e.detail_type() == Some(DETAIL_TYPE)));
    assert_eq!(entries[0].resources(), Vec::<String>::new().as_slice());
    assert_eq!(
        entries[1].resources(),
        [running.execution_arn.clone().unwrap()]
    );
    assert!(entries
        .iter()
        .all(|e| !e.detail().unwrap_or_default().contains(TOKEN)));
    let waiting = &details_of(entries)[2];
    assert_eq!(waiting.service.as_deref(), Some("backend-staging"));
    assert!(waiting
        .links
        .service
        .as_deref()
        .is_some_and(|l| l.contains("/clusters/demo/services/backend-staging/")));
}

fn details_of(
    entries: &[aws_sdk_eventbridge::types::PutEventsRequestEntry],
) -> Vec<ReleaseStateChange> {
    entries
        .iter()
        .map(|e| serde_json::from_str(e.detail().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn a_failed_entry_reports_only_its_record_and_stops_the_batch_there() {
    // 12 releases created: two calls (10 + 2); the 4th entry of the first call fails.
    let records: Vec<Value> = (1..=12)
        .map(|n| record(n * 100, None, &pending(n)))
        .collect();
    let seen: Seen = Default::default();
    let (config, put) = (
        config_rule(),
        put_rule(seen.clone(), |index| {
            (index == 3).then_some("InternalFailure")
        }),
    );
    let (bus, store) = context(&config, &put);
    let response = handle(&bus, &store, batch(records)).await;
    // Lambda retries from the lowest failed sequence number: records 5..10 (accepted) come
    // again, 11 and 12 were never sent and are reported with it.
    assert_eq!(failures(&response), ["400", "1100", "1200"]);
    assert_eq!(put.num_calls(), 1, "nothing is sent after a failed call");
}

#[tokio::test]
async fn a_batch_larger_than_a_call_goes_in_calls_of_ten() {
    let records: Vec<Value> = (1..=12).map(|n| record(n, None, &pending(n))).collect();
    let seen: Seen = Default::default();
    let (config, put) = (config_rule(), put_rule(seen.clone(), |_| None));
    let (bus, store) = context(&config, &put);
    let response = handle(&bus, &store, batch(records)).await;
    assert!(response.batch_item_failures.is_empty());
    let sizes: Vec<usize> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.entries().len())
        .collect();
    assert_eq!(sizes, [10, 2]);
    let tags: Vec<String> = details(&seen).into_iter().map(|d| d.tag).collect();
    assert_eq!(
        tags,
        (1..=12).map(|n| format!("v1.{n}")).collect::<Vec<_>>(),
        "in stream order"
    );
}

#[tokio::test]
async fn a_failed_call_or_an_unreadable_record_reports_it_and_all_after_it() {
    let mut broken = record(2, None, &pending(2));
    broken["dynamodb"]["NewImage"]["status"] = json!({"S": "NOT_A_STATUS"});
    let records = vec![
        record(1, None, &pending(1)),
        broken,
        record(3, None, &pending(3)),
    ];
    let seen: Seen = Default::default();
    let (config, put) = (config_rule(), put_rule(seen.clone(), |_| None));
    let (bus, store) = context(&config, &put);
    let response = handle(&bus, &store, batch(records.clone())).await;
    assert_eq!(failures(&response), ["2", "3"]);
    assert_eq!(
        details(&seen).len(),
        1,
        "only the record before the broken one"
    );

    let throttled = mock!(aws_sdk_eventbridge::Client::put_events)
        .sequence()
        .http_status(
            400,
            Some(json!({"__type": "ThrottlingException", "message": "slow down"}).to_string()),
        )
        .build();
    let (bus, store) = context(&config, &throttled);
    let response = handle(
        &bus,
        &store,
        batch(vec![records[0].clone(), records[2].clone()]),
    )
    .await;
    assert_eq!(failures(&response), ["1", "3"]);
}

#[tokio::test]
async fn record_answers_a_stream_batch_with_the_partial_batch_response() {
    let seen: Seen = Default::default();
    let (config, put) = (
        config_rule(),
        put_rule(seen.clone(), |index| {
            (index == 1).then_some("InternalFailure")
        }),
    );
    let (events, store) = context(&config, &put);
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .build();
    let ctx = crate::record::Record {
        store,
        sfn: stevedore_aws::StepFunctions::from_sdk(&sdk),
        events,
    };
    let first = pending(1);
    let batch =
        json!({"Records": [record(7, None, &first), record(8, Some(&first), &locked(&first))]});
    let answer = crate::record::handle_event(&ctx, batch)
        .await
        .expect("a stream batch is answered, not failed");
    // The shape Lambda reads with ReportBatchItemFailures:
    // https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
    assert_eq!(
        serde_json::to_value(&answer).expect("json"),
        json!({"batchItemFailures": [{"itemIdentifier": "8"}]})
    );
}
