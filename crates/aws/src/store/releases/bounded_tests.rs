//! Bounded release items as sent to DynamoDB: appends keep the first and the latest entries
//! with a count and never lose one to a concurrent append; long texts go out cut with the
//! marker, keys and task tokens whole.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::{PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use aws_smithy_mocks::{mock, Rule};
use stevedore_core::bounds::{MAX_LIST_ITEMS, MAX_TEXT_CHARS};
use stevedore_core::release::ReleaseStatus;

use super::tests::recorded_update;
use crate::store::tests::{dynamo_error, key_of, pending_release, store, str_attr, RELEASE_PK};
use crate::store::{n, s, ReleaseKey};
use crate::test_support::captured;

const RELEASE: ReleaseKey<'static> = ReleaseKey {
    app: "backend",
    stage: "staging",
    release_id: "01JRELEASE",
};

fn check(attempt: i64) -> AttributeValue {
    AttributeValue::M(HashMap::from([("attempt".to_string(), n(attempt))]))
}

fn checks(attempts: impl IntoIterator<Item = i64>) -> Vec<AttributeValue> {
    attempts.into_iter().map(check).collect()
}

/// The GetItem of the list and its count, answering with what is stored.
fn list_read(stored: Option<Vec<AttributeValue>>, count: Option<i64>) -> Rule {
    mock!(Client::get_item)
        .match_requests(|r| {
            let names = r.expression_attribute_names().unwrap();
            r.key() == Some(&key_of(RELEASE_PK, "REL#01JRELEASE"))
                && r.projection_expression() == Some("PK, #list, #count")
                && names["#list"] == "smoke_checks"
                && names["#count"] == "smoke_check_count"
                && r.consistent_read() == Some(true)
        })
        .then_output(move || {
            let mut item = key_of(RELEASE_PK, "REL#01JRELEASE");
            if let Some(stored) = &stored {
                item.insert("smoke_checks".into(), AttributeValue::L(stored.clone()));
            }
            if let Some(count) = count {
                item.insert("smoke_check_count".into(), n(count));
            }
            GetItemOutput::builder().set_item(Some(item)).build()
        })
}

fn conflict() -> Rule {
    mock!(Client::update_item)
        .sequence()
        .http_status(
            400,
            Some(dynamo_error(
                "ConditionalCheckFailedException",
                "The conditional request failed",
            )),
        )
        .build()
}

/// The attributes an UpdateItem sets: `#fN` names to `:vN` values.
fn written(input: &UpdateItemInput) -> HashMap<String, AttributeValue> {
    let names = input.expression_attribute_names().unwrap();
    let values = input.expression_attribute_values().unwrap();
    (0..)
        .map_while(|i| Some((names.get(&format!("#f{i}"))?, &values[&format!(":v{i}")])))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

async fn append(rules: &[Rule], attempt: i64) -> stevedore_core::Result<u64> {
    store(rules)
        .append_to_release_list(
            RELEASE,
            "smoke_checks",
            "smoke_check_count",
            check(attempt),
            &[("smoke_test_status", s("IN_PROGRESS"))],
        )
        .await
}

#[tokio::test]
async fn the_first_append_creates_the_list_and_its_count() {
    let (update, seen) = recorded_update();
    assert_eq!(
        append(&[list_read(None, None), update], 1).await.unwrap(),
        1
    );
    let input = &seen.lock().unwrap()[0];
    assert_eq!(
        input.condition_expression(),
        Some("attribute_exists(PK) AND attribute_not_exists(#seen_count)")
    );
    assert_eq!(
        input.expression_attribute_names().unwrap()["#seen_count"],
        "smoke_check_count"
    );
    let fields = written(input);
    assert_eq!(fields["smoke_checks"], AttributeValue::L(checks([1])));
    assert_eq!(fields["smoke_check_count"], n(1));
    assert_eq!(fields["smoke_test_status"], s("IN_PROGRESS"));
}

#[tokio::test]
async fn a_full_list_keeps_the_first_and_the_latest_and_counts_every_attempt() {
    let cap = MAX_LIST_ITEMS as i64;
    // Attempt 1 and the latest 19 of 57 are stored.
    let stored = checks(std::iter::once(1).chain(57 - cap + 2..=57));
    let (update, seen) = recorded_update();
    assert_eq!(
        append(&[list_read(Some(stored), Some(57)), update], 58)
            .await
            .unwrap(),
        58
    );
    let input = &seen.lock().unwrap()[0];
    assert_eq!(
        input.condition_expression(),
        Some("attribute_exists(PK) AND #seen_count = :seen")
    );
    assert_eq!(input.expression_attribute_values().unwrap()[":seen"], n(57));
    let fields = written(input);
    let expected = checks(std::iter::once(1).chain(58 - cap + 2..=58));
    assert_eq!(expected.len(), MAX_LIST_ITEMS);
    assert_eq!(fields["smoke_checks"], AttributeValue::L(expected));
    assert_eq!(fields["smoke_check_count"], n(58));
}

#[tokio::test]
async fn a_concurrent_append_is_read_again_not_overwritten() {
    // Another invocation appended attempt 2 between our read and our write.
    let (update, seen) = recorded_update();
    let rules = [
        list_read(Some(checks([1])), Some(1)),
        conflict(),
        list_read(Some(checks([1, 2])), Some(2)),
        update,
    ];
    assert_eq!(append(&rules, 3).await.unwrap(), 3);
    let fields = written(&seen.lock().unwrap()[0]);
    assert_eq!(fields["smoke_checks"], AttributeValue::L(checks([1, 2, 3])));
    assert_eq!(fields["smoke_check_count"], n(3));
}

#[tokio::test]
async fn an_append_that_keeps_losing_the_race_is_transient() {
    let rules: Vec<Rule> = (0..8)
        .flat_map(|_| [list_read(Some(checks([1])), Some(1)), conflict()])
        .collect();
    let err = append(&rules, 2).await.unwrap_err();
    assert_eq!(err.error_type(), "TransientAws", "{err}");
}

#[tokio::test]
async fn appending_to_a_missing_release_is_invalid_input() {
    let read = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
    let err = append(&[read], 1).await.unwrap_err();
    assert_eq!(err.error_type(), "InvalidInput");
    assert!(err.to_string().contains("01JRELEASE"), "{err}");
}

#[tokio::test]
async fn long_texts_are_cut_at_any_depth_and_tokens_kept_whole() {
    let (update, seen) = recorded_update();
    let token = "t".repeat(2_048);
    let nested = AttributeValue::M(HashMap::from([(
        "error".to_string(),
        s("é".repeat(3 * MAX_TEXT_CHARS)),
    )]));
    let long_list = AttributeValue::L((0..30).map(n).collect());
    store(&[update])
        .set_release_fields(
            "backend",
            "staging",
            "01JRELEASE",
            &[
                ("approval_decision", s("x".repeat(10_000))),
                ("approval_task_token", s(token.clone())),
                ("last_check", nested),
                ("attempts", long_list),
            ],
        )
        .await
        .unwrap();
    let fields = written(&seen.lock().unwrap()[0]);
    let decision = fields["approval_decision"].as_s().unwrap();
    assert_eq!(decision.chars().count(), MAX_TEXT_CHARS);
    assert!(decision.ends_with("x… [cut 8023 characters]"), "{decision}");
    assert_eq!(
        fields["approval_task_token"],
        s(token),
        "a token must round-trip"
    );
    let error = fields["last_check"].as_m().unwrap()["error"]
        .as_s()
        .unwrap();
    assert_eq!(error.chars().count(), MAX_TEXT_CHARS);
    assert!(error.ends_with("é… [cut 4023 characters]"), "{error}");
    let attempts = fields["attempts"].as_l().unwrap();
    assert_eq!(attempts.len(), MAX_LIST_ITEMS);
    assert_eq!((attempts[0].clone(), attempts[1].clone()), (n(0), n(11)));
}

#[tokio::test]
async fn a_new_release_goes_out_with_its_reason_cut_and_its_keys_whole() {
    let mut release = pending_release("01JRELEASE");
    release.reason = Some("r".repeat(MAX_TEXT_CHARS + 1));
    let puts = captured::<PutItemInput>();
    let log = puts.clone();
    let rule = mock!(Client::put_item)
        .match_requests(move |r| {
            log.lock().unwrap().push(r.clone());
            true
        })
        .then_output(|| PutItemOutput::builder().build());
    assert!(store(&[rule]).create_release(&release).await.unwrap());
    let item = puts.lock().unwrap()[0].item().unwrap().clone();
    assert!(str_attr(&item, "reason")
        .unwrap()
        .ends_with("r… [cut 22 characters]"));
    assert_eq!(str_attr(&item, "SK"), Some("REL#01JRELEASE"));
    assert_eq!(str_attr(&item, "digest"), Some("sha256:abc"));
}

#[tokio::test]
async fn the_terminal_reason_is_cut_in_the_transaction() {
    let transactions = captured::<TransactWriteItemsInput>();
    let log = transactions.clone();
    let rule = mock!(Client::transact_write_items)
        .match_requests(move |r| {
            log.lock().unwrap().push(r.clone());
            true
        })
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let cause = "c".repeat(32_768);
    store(&[rule])
        .finish_release(
            RELEASE,
            "arn:aws:states:us-east-1:123456789012:execution:stevedore-deploy:01JRELEASE",
            ReleaseStatus::Failed,
            Some(&cause),
            None,
            "2025-01-02T03:04:05.000Z",
        )
        .await
        .unwrap();
    let input = &transactions.lock().unwrap()[0];
    let release = input.transact_items()[0].update().unwrap();
    let reason = release.expression_attribute_values().unwrap()[":reason"]
        .as_s()
        .unwrap();
    assert_eq!(reason.chars().count(), MAX_TEXT_CHARS);
    assert!(reason.ends_with("… [cut 30792 characters]"), "{reason}");
}
