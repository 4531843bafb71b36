//! Lock, terminal-write and deployment-wait tests: the transactions' items are checked as
//! sent, and cancellations come as DynamoDB's wire response with one reason per item.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::delete_item::{DeleteItemInput, DeleteItemOutput};
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemInput, UpdateItemOutput};
use aws_sdk_dynamodb::types::Update;
use aws_sdk_dynamodb::Client;
use aws_smithy_mocks::{mock, Rule};

use super::*;
use crate::store::tests::{
    cancelled, dynamo_error, key_of, pending_release, store, RELEASE_PK, TABLE,
};
use crate::test_support::{captured, Captured};

const RELEASE: ReleaseKey<'static> = ReleaseKey {
    app: "backend",
    stage: "staging",
    release_id: "01JRELEASE",
};
const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:deploy:01JRELEASE";
const NOW: &str = "2025-01-02T03:04:05.000Z";
const TD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7";

/// A TransactWriteItems rule that records the request and answers with `response`.
fn transaction(seen: &Captured<TransactWriteItemsInput>, cancel: Option<&[&str]>) -> Rule {
    let log = seen.clone();
    let builder = mock!(Client::transact_write_items).match_requests(move |r| {
        log.lock().unwrap().push(r.clone());
        true
    });
    match cancel {
        None => builder.then_output(|| TransactWriteItemsOutput::builder().build()),
        Some(codes) => builder
            .sequence()
            .http_status(400, Some(cancelled(codes)))
            .build(),
    }
}

fn updates(seen: &Captured<TransactWriteItemsInput>) -> Vec<Update> {
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "one transaction");
    seen[0]
        .transact_items()
        .iter()
        .map(|item| item.update().expect("every item is an Update").clone())
        .collect()
}

async fn acquire(rules: &[Rule]) -> Result<LockOutcome> {
    store(rules)
        .acquire_lock(RELEASE, EXECUTION, 1_700_000_600, 1_700_000_000, NOW, 7)
        .await
}

// ---- acquire_lock -----------------------------------------------------------------------

#[tokio::test]
async fn acquire_lock_takes_head_and_moves_the_release_in_one_transaction() {
    let seen = captured();
    let outcome = acquire(&[transaction(&seen, None)]).await.unwrap();
    assert_eq!(outcome, LockOutcome::Acquired);

    let items = updates(&seen);
    assert_eq!(items.len(), 2);
    let (head, release) = (&items[0], &items[1]);

    assert_eq!(head.table_name, TABLE);
    assert_eq!(head.key, key_of(RELEASE_PK, "HEAD"));
    assert_eq!(
        head.condition_expression.as_deref(),
        Some("(attribute_not_exists(lock_holder) OR (lock_holder = :id AND lock_execution_arn = :exec) OR lock_expires_at < :epoch) AND version = :seen")
    );
    let values = head.expression_attribute_values.as_ref().unwrap();
    assert_eq!(values[":seen"], n(7), "written only if HEAD is as read");
    assert_eq!(values[":me"], AttributeValue::Ss(vec!["01JRELEASE".into()]));
    assert!(
        head.update_expression.contains("DELETE waiting :me"),
        "leaves the line"
    );
    assert!(head.update_expression.contains("ADD version :one"));
    assert_eq!(values[":id"], s("01JRELEASE"));
    assert_eq!(values[":lease"], n(1_700_000_600));
    assert_eq!(values[":epoch"], n(1_700_000_000));
    assert!(head.update_expression.contains("lock_holder = :id"));
    assert!(head.update_expression.contains("lock_expires_at = :lease"));
    assert!(head
        .update_expression
        .contains("lock_execution_arn = :exec"));
    assert_eq!(values[":exec"], s(EXECUTION));

    assert_eq!(release.key, key_of(RELEASE_PK, "REL#01JRELEASE"));
    assert_eq!(
        release.condition_expression.as_deref(),
        Some("#status IN (:pending, :in_progress) AND (attribute_not_exists(execution_arn) OR execution_arn = :exec)")
    );
    assert_eq!(
        release.expression_attribute_names.as_ref().unwrap()["#status"],
        "status"
    );
    let values = release.expression_attribute_values.as_ref().unwrap();
    assert_eq!(values[":pending"], s("PENDING"));
    assert_eq!(values[":in_progress"], s("IN_PROGRESS"));
    assert_eq!(values[":exec"], s(EXECUTION));
    assert!(release.update_expression.contains("#status = :in_progress"));
    // A retried acquire keeps the first acquisition time.
    assert!(release
        .update_expression
        .contains("lock_acquired_at = if_not_exists(lock_acquired_at, :now)"));
}

#[tokio::test]
async fn a_changed_head_asks_to_decide_again() {
    // No GetItem rule: the caller, not the adapter, re-reads HEAD.
    let seen = captured();
    let outcome = acquire(&[transaction(
        &seen,
        Some(&["ConditionalCheckFailed", "None"]),
    )])
    .await
    .unwrap();
    assert_eq!(outcome, LockOutcome::HeadChanged);
}

#[tokio::test]
async fn a_first_acquire_expects_no_version_yet() {
    let seen = captured();
    let outcome = store(&[transaction(&seen, None)])
        .acquire_lock(RELEASE, EXECUTION, 1_700_000_600, 1_700_000_000, NOW, 0)
        .await
        .unwrap();
    assert_eq!(outcome, LockOutcome::Acquired);
    let head = &updates(&seen)[0];
    assert!(head
        .condition_expression
        .as_deref()
        .unwrap_or_default()
        .ends_with("AND attribute_not_exists(version)"));
    assert!(!head
        .expression_attribute_values
        .as_ref()
        .unwrap()
        .contains_key(":seen"));
}

#[tokio::test]
async fn inactive_release_is_reported_without_reading_head() {
    // No GetItem rule: reading HEAD here would panic.
    let seen = captured();
    let outcome = acquire(&[transaction(
        &seen,
        Some(&["None", "ConditionalCheckFailed"]),
    )])
    .await
    .unwrap();
    assert_eq!(outcome, LockOutcome::ReleaseNotActive);
}

#[tokio::test]
async fn inactive_release_wins_over_a_held_lock() {
    let seen = captured();
    let outcome = acquire(&[transaction(
        &seen,
        Some(&["ConditionalCheckFailed", "ConditionalCheckFailed"]),
    )])
    .await
    .unwrap();
    assert_eq!(outcome, LockOutcome::ReleaseNotActive);
}

#[tokio::test]
async fn a_conflicting_transaction_is_retryable() {
    // Two releases racing for the same HEAD: DynamoDB cancels one with TransactionConflict.
    let seen = captured();
    let err = acquire(&[transaction(&seen, Some(&["TransactionConflict", "None"]))])
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "TransientAws", "{err}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("TransactionConflict"), "{err}");

    let seen = captured();
    let err = acquire(&[transaction(&seen, Some(&["None", "ThrottlingError"]))])
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Throttled", "{err}");
}

#[tokio::test]
async fn other_acquire_failures_are_classified() {
    let rule = mock!(Client::transact_write_items)
        .sequence()
        .http_status(
            400,
            Some(dynamo_error(
                "ResourceNotFoundException",
                "Requested resource not found",
            )),
        )
        .build();
    let err = acquire(&[rule]).await.unwrap_err();
    assert_eq!(err.error_type(), "AwsError", "{err}");
    assert!(err.to_string().contains("acquire lock"), "{err}");
}

// ---- finish_release ---------------------------------------------------------------------

async fn finish(
    rules: &[Rule],
    status: ReleaseStatus,
    reason: Option<&str>,
) -> Result<FinishOutcome> {
    store(rules)
        .finish_release(RELEASE, EXECUTION, status, reason, Some(TD), NOW)
        .await
}

fn release_read(status: Option<ReleaseStatus>) -> Rule {
    mock!(Client::get_item)
        .match_requests(|r| {
            r.key() == Some(&key_of(RELEASE_PK, "REL#01JRELEASE"))
                && r.consistent_read() == Some(true)
        })
        .then_output(move || {
            let item = status.map(|status| {
                let mut release = pending_release("01JRELEASE");
                release.status = status;
                serde_dynamo::to_item(release).unwrap()
            });
            GetItemOutput::builder().set_item(item).build()
        })
}

#[tokio::test]
async fn finishing_a_success_moves_head_and_frees_the_lock() {
    let seen = captured();
    let outcome = finish(&[transaction(&seen, None)], ReleaseStatus::Succeeded, None)
        .await
        .unwrap();
    assert_eq!(outcome, FinishOutcome::Recorded);

    let items = updates(&seen);
    let (release, head) = (&items[0], &items[1]);
    assert_eq!(release.key, key_of(RELEASE_PK, "REL#01JRELEASE"));
    assert_eq!(
        release.condition_expression.as_deref(),
        Some("#status IN (:pending, :in_progress) AND (attribute_not_exists(execution_arn) OR execution_arn = :exec)")
    );
    assert_eq!(
        release.expression_attribute_values.as_ref().unwrap()[":exec"],
        s(EXECUTION)
    );
    assert_eq!(
        release.expression_attribute_values.as_ref().unwrap()[":status"],
        s("SUCCEEDED")
    );
    assert_eq!(
        release.update_expression,
        "SET #status = :status, finished_at = :now"
    );

    assert_eq!(head.key, key_of(RELEASE_PK, "HEAD"));
    assert_eq!(
        head.condition_expression.as_deref(),
        Some("lock_holder = :id AND lock_execution_arn = :exec")
    );
    assert_eq!(
        head.update_expression,
        "SET updated_at = :now, current_release = :id, current_task_definition_arn = :td REMOVE lock_holder, lock_expires_at, lock_execution_arn, awaiting_approval"
    );
    let values = head.expression_attribute_values.as_ref().unwrap();
    assert_eq!(values[":id"], s("01JRELEASE"));
    assert_eq!(values[":td"], s(TD));
}

#[tokio::test]
async fn finishing_a_failure_records_the_reason_and_leaves_head_pointing_where_it_was() {
    let seen = captured();
    let outcome = finish(
        &[transaction(&seen, None)],
        ReleaseStatus::Failed,
        Some("migration exited with 3"),
    )
    .await
    .unwrap();
    assert_eq!(outcome, FinishOutcome::Recorded);

    let items = updates(&seen);
    let (release, head) = (&items[0], &items[1]);
    assert_eq!(
        release.update_expression,
        "SET #status = :status, finished_at = :now, reason = :reason"
    );
    let values = release.expression_attribute_values.as_ref().unwrap();
    assert_eq!(values[":status"], s("FAILED"));
    assert_eq!(values[":reason"], s("migration exited with 3"));

    assert_eq!(
        head.update_expression,
        "SET updated_at = :now REMOVE lock_holder, lock_expires_at, lock_execution_arn, awaiting_approval"
    );
    assert!(!head
        .expression_attribute_values
        .as_ref()
        .unwrap()
        .contains_key(":td"));
}

#[tokio::test]
async fn a_retried_finish_is_already_recorded() {
    let seen = captured();
    let outcome = finish(
        &[
            transaction(&seen, Some(&["ConditionalCheckFailed", "None"])),
            release_read(Some(ReleaseStatus::Failed)),
        ],
        ReleaseStatus::Failed,
        Some("boom"),
    )
    .await
    .unwrap();
    assert_eq!(outcome, FinishOutcome::AlreadyRecorded);
}

#[tokio::test]
async fn finishing_a_release_that_ended_otherwise_is_refused() {
    let seen = captured();
    let err = finish(
        &[
            transaction(
                &seen,
                Some(&["ConditionalCheckFailed", "ConditionalCheckFailed"]),
            ),
            release_read(Some(ReleaseStatus::Superseded)),
        ],
        ReleaseStatus::Succeeded,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(err.error_type(), "InvalidInput");
    let text = err.to_string();
    assert!(text.contains("already SUPERSEDED"), "{text}");
    assert!(text.contains("cannot record SUCCEEDED"), "{text}");

    // Input rejected before anything was recorded: there is nothing to finish.
    let seen = captured();
    let outcome = finish(
        &[
            transaction(&seen, Some(&["ConditionalCheckFailed", "None"])),
            release_read(None),
        ],
        ReleaseStatus::Failed,
        None,
    )
    .await
    .unwrap();
    assert_eq!(outcome, FinishOutcome::Missing);
}

#[tokio::test]
async fn finish_after_losing_the_lock_records_the_release_alone() {
    let seen = captured();
    let fallback = captured::<UpdateItemInput>();
    let log = fallback.clone();
    let head_log = fallback.clone();
    let outcome = finish(
        &[
            transaction(&seen, Some(&["None", "ConditionalCheckFailed"])),
            mock!(Client::update_item)
                .match_requests(move |r| {
                    log.lock().unwrap().push(r.clone());
                    true
                })
                .then_output(|| UpdateItemOutput::builder().build()),
            mock!(Client::update_item)
                .match_requests(move |r| {
                    head_log.lock().unwrap().push(r.clone());
                    true
                })
                .then_output(|| UpdateItemOutput::builder().build()),
        ],
        ReleaseStatus::Failed,
        Some("deployment timed out"),
    )
    .await
    .unwrap();
    assert_eq!(outcome, FinishOutcome::RecordedLockNotHeld);

    // The fallback is exactly the transaction's release write; the lock is left alone and
    // the release only leaves the waiting line.
    let release = updates(&seen).remove(0);
    let fallback = fallback.lock().unwrap();
    assert_eq!(fallback.len(), 2);
    let leave = &fallback[1];
    assert_eq!(leave.key(), Some(&key_of(RELEASE_PK, "HEAD")));
    assert_eq!(
        leave.update_expression(),
        Some("SET updated_at = :now DELETE waiting :me ADD version :one")
    );
    assert_eq!(leave.condition_expression(), None);
    let update = &fallback[0];
    assert_eq!(update.table_name(), Some(TABLE));
    assert_eq!(update.key(), Some(&release.key));
    assert_eq!(update.key(), Some(&key_of(RELEASE_PK, "REL#01JRELEASE")));
    assert_eq!(
        update.update_expression(),
        Some(release.update_expression.as_str())
    );
    assert_eq!(
        update.condition_expression(),
        Some("#status IN (:pending, :in_progress) AND (attribute_not_exists(execution_arn) OR execution_arn = :exec)")
    );
    assert_eq!(
        update.expression_attribute_names(),
        release.expression_attribute_names.as_ref()
    );
    assert_eq!(
        update.expression_attribute_values(),
        release.expression_attribute_values.as_ref()
    );
    assert_eq!(
        update.expression_attribute_values().unwrap()[":reason"],
        s("deployment timed out")
    );
}

#[tokio::test]
async fn other_finish_failures_are_classified() {
    let rule = mock!(Client::transact_write_items)
        .sequence()
        .http_status(500, Some(dynamo_error("InternalServerError", "oops")))
        .build();
    let err = finish(&[rule], ReleaseStatus::Succeeded, None)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "TransientAws", "{err}");
}

// ---- deployment waits -------------------------------------------------------------------

fn wait() -> DeploymentWait {
    DeploymentWait {
        task_token: "token-1".into(),
        app: "backend".into(),
        stage: "staging".into(),
        release_id: "01JRELEASE".into(),
        cluster: "demo".into(),
        service: "backend-staging".into(),
        expires_at: 1_700_003_600,
        group: Vec::new(),
        service_index: None,
        done: None,
        restoring: false,
    }
}

fn wait_item() -> HashMap<String, AttributeValue> {
    let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(wait()).unwrap();
    item.extend(key_of("DEPLOYMENT#ecs-svc/123", "WAIT"));
    item
}

#[tokio::test]
async fn put_wait_keys_the_token_by_deployment_and_points_the_service_at_it() {
    let expected = wait_item();
    let rule = mock!(Client::put_item)
        .match_requests(move |r| r.table_name() == Some(TABLE) && r.item() == Some(&expected))
        .then_output(|| PutItemOutput::builder().build());
    let mut pointer = key_of("SERVICE#demo#backend-staging", "WAIT");
    pointer.insert("deployment_id".into(), s("ecs-svc/123"));
    pointer.insert("expires_at".into(), n(1_700_003_600));
    let pointer_rule = mock!(Client::put_item)
        .match_requests(move |r| r.item() == Some(&pointer))
        .then_output(|| PutItemOutput::builder().build());
    store(&[rule.clone(), pointer_rule.clone()])
        .put_wait("ecs-svc/123", &wait())
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(pointer_rule.num_calls(), 1);
}

#[tokio::test]
async fn service_wait_reads_the_pointer() {
    let rule = mock!(Client::get_item)
        .match_requests(|r| {
            r.key() == Some(&key_of("SERVICE#demo#web", "WAIT"))
                && r.consistent_read() == Some(true)
        })
        .then_output(|| {
            let mut item = key_of("SERVICE#demo#web", "WAIT");
            item.insert("deployment_id".into(), s("ecs-svc/9"));
            GetItemOutput::builder().set_item(Some(item)).build()
        });
    let found = store(std::slice::from_ref(&rule))
        .service_wait("demo", "web")
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some("ecs-svc/9"));
}

#[tokio::test]
async fn take_wait_hands_the_token_out_once() {
    let seen = captured::<DeleteItemInput>();
    let log = seen.clone();
    let delete = mock!(Client::delete_item)
        .match_requests(move |r| {
            log.lock().unwrap().push(r.clone());
            true
        })
        .sequence()
        .output(|| {
            DeleteItemOutput::builder()
                .set_attributes(Some(wait_item()))
                .build()
        })
        .output(|| DeleteItemOutput::builder().build())
        .output(|| {
            DeleteItemOutput::builder()
                .set_attributes(Some(HashMap::new()))
                .build()
        })
        .build();
    let store = store(&[delete]);
    assert_eq!(store.take_wait("ecs-svc/123").await.unwrap(), Some(wait()));
    assert_eq!(store.take_wait("ecs-svc/123").await.unwrap(), None);
    assert_eq!(store.take_wait("ecs-svc/123").await.unwrap(), None);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    for input in seen.iter() {
        assert_eq!(input.key(), Some(&key_of("DEPLOYMENT#ecs-svc/123", "WAIT")));
        // Without ALL_OLD the delete could not tell who removed the token.
        assert_eq!(input.return_values(), Some(&ReturnValue::AllOld));
    }
}
