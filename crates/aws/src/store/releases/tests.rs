//! Release item tests: create, read and update as sent to DynamoDB (answers mocked per call,
//! in order; errors as DynamoDB's wire responses).

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemInput, UpdateItemOutput};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use aws_smithy_mocks::{mock, Rule};

use crate::store::tests::{
    dynamo_error, key_of, pending_release, store, str_attr, RELEASE_PK, TABLE,
};
use crate::store::{n, s};
use crate::test_support::{captured, Captured};

#[tokio::test]
async fn create_release_writes_a_new_item_only() {
    let release = pending_release("01JRELEASE");
    let expected = serde_dynamo::to_item::<_, HashMap<String, AttributeValue>>(&release).unwrap();
    let rule = mock!(Client::put_item)
        .match_requests(move |r| {
            r.table_name() == Some(TABLE)
                && r.condition_expression() == Some("attribute_not_exists(PK)")
                && r.item() == Some(&expected)
        })
        .then_output(|| PutItemOutput::builder().build());
    assert!(store(std::slice::from_ref(&rule))
        .create_release(&release)
        .await
        .unwrap());
    assert_eq!(rule.num_calls(), 1);
}

#[test]
fn release_item_has_the_documented_keys() {
    let item: HashMap<String, AttributeValue> =
        serde_dynamo::to_item(pending_release("01JRELEASE")).unwrap();
    assert_eq!(str_attr(&item, "PK"), Some(RELEASE_PK));
    assert_eq!(str_attr(&item, "SK"), Some("REL#01JRELEASE"));
    assert_eq!(str_attr(&item, "GSI1PK"), Some("DIGEST#sha256:abc"));
    assert_eq!(
        str_attr(&item, "GSI1SK"),
        Some("APP#backend#STAGE#staging#REL#01JRELEASE")
    );
    assert_eq!(str_attr(&item, "status"), Some("PENDING"));
    assert!(!item.contains_key("reason"), "None fields are left out");
}

#[tokio::test]
async fn duplicate_release_is_false() {
    let rule = mock!(Client::put_item)
        .sequence()
        .http_status(
            400,
            Some(dynamo_error(
                "ConditionalCheckFailedException",
                "The conditional request failed",
            )),
        )
        .build();
    let created = store(&[rule])
        .create_release(&pending_release("01JRELEASE"))
        .await
        .unwrap();
    assert!(!created);
}

#[tokio::test]
async fn create_release_throttle_is_an_error() {
    let rule = mock!(Client::put_item)
        .sequence()
        .http_status(
            400,
            Some(dynamo_error(
                "ProvisionedThroughputExceededException",
                "slow down",
            )),
        )
        .build();
    let err = store(&[rule])
        .create_release(&pending_release("01JRELEASE"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Throttled", "{err}");
}

#[tokio::test]
async fn get_release_decodes_the_item() {
    let release = pending_release("01JRELEASE");
    let item: HashMap<String, AttributeValue> = serde_dynamo::to_item(&release).unwrap();
    let rule = mock!(Client::get_item)
        .match_requests(|r| {
            r.key() == Some(&key_of(RELEASE_PK, "REL#01JRELEASE"))
                && r.consistent_read() == Some(true)
        })
        .then_output(move || {
            GetItemOutput::builder()
                .set_item(Some(item.clone()))
                .build()
        });
    let got = store(&[rule])
        .get_release("backend", "staging", "01JRELEASE")
        .await
        .unwrap();
    assert_eq!(got, Some(release));
}

#[tokio::test]
async fn malformed_release_item_is_an_error() {
    let rule = mock!(Client::get_item).then_output(|| {
        let mut item = key_of(RELEASE_PK, "REL#01JRELEASE");
        item.insert("status".into(), s("HALF_DONE"));
        GetItemOutput::builder().set_item(Some(item)).build()
    });
    let err = store(&[rule])
        .get_release("backend", "staging", "01JRELEASE")
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "AwsError");
    assert!(err.to_string().contains("malformed release item"), "{err}");
}

/// An UpdateItem rule that succeeds and keeps every request it saw.
pub(super) fn recorded_update() -> (Rule, Captured<UpdateItemInput>) {
    let seen = captured::<UpdateItemInput>();
    let log = seen.clone();
    let rule = mock!(Client::update_item)
        .match_requests(move |r| {
            log.lock().unwrap().push(r.clone());
            true
        })
        .then_output(|| UpdateItemOutput::builder().build());
    (rule, seen)
}

#[tokio::test]
async fn set_release_fields_names_every_field() {
    let (rule, seen) = recorded_update();
    store(&[rule])
        .set_release_fields(
            "backend",
            "staging",
            "01JRELEASE",
            &[("status", s("IN_PROGRESS")), ("migration_exit_code", n(0))],
        )
        .await
        .unwrap();
    let input = &seen.lock().unwrap()[0];
    assert_eq!(input.key(), Some(&key_of(RELEASE_PK, "REL#01JRELEASE")));
    assert_eq!(input.condition_expression(), Some("attribute_exists(PK)"));
    assert_eq!(input.update_expression(), Some("SET #f0 = :v0, #f1 = :v1"));
    // Names go through placeholders, so reserved words such as `status` are safe.
    let names = input.expression_attribute_names().unwrap();
    assert_eq!(names["#f0"], "status");
    assert_eq!(names["#f1"], "migration_exit_code");
    let values = input.expression_attribute_values().unwrap();
    assert_eq!(values[":v0"], s("IN_PROGRESS"));
    assert_eq!(values[":v1"], n(0));
}

#[tokio::test]
async fn set_release_fields_with_nothing_to_set_sends_nothing() {
    // No rule: any call would panic.
    store(&[])
        .set_release_fields("backend", "staging", "01JRELEASE", &[])
        .await
        .unwrap();
}

#[tokio::test]
async fn set_fields_of_a_missing_release_is_invalid_input() {
    let rule = mock!(Client::update_item)
        .sequence()
        .http_status(
            400,
            Some(dynamo_error(
                "ConditionalCheckFailedException",
                "The conditional request failed",
            )),
        )
        .build();
    let err = store(&[rule])
        .set_release_fields("backend", "staging", "01JGONE", &[("reason", s("x"))])
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "InvalidInput");
    assert!(err.to_string().contains("01JGONE"), "{err}");
}
