//! Fencing: before a release changes anything (migration, UpdateService, restore), it proves
//! with a conditional write that it still holds its stage's lock — the same release id AND
//! the same execution — and extends the lease over the wait that follows. A release whose
//! lease lapsed while another took the stage fails the write and changes nothing.

use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use stevedore_core::release::release_pk;
use stevedore_core::Result;

use super::{key, n, s, ReleaseKey, Store, HEAD_SK};
use crate::error::{classify, is_conditional_check_failure, unless_condition_failed};

/// What a fence write found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FenceOutcome {
    /// The release holds the lock; its lease now runs to the given time.
    Held,
    /// Someone else holds the stage (`None`: nobody, the lock was freed).
    Lost { holder: Option<String> },
}

impl Store {
    /// Proves `release` (run by `execution_arn`) holds the stage and moves its lease to
    /// `lease_until`; with `awaiting_approval`, also marks it as the release parked at the
    /// approval gate.
    pub async fn fence(
        &self,
        release: ReleaseKey<'_>,
        execution_arn: &str,
        lease_until: i64,
        awaiting_approval: bool,
    ) -> Result<FenceOutcome> {
        let set = if awaiting_approval {
            "SET lock_expires_at = :lease, awaiting_approval = :id"
        } else {
            "SET lock_expires_at = :lease"
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                release_pk(release.app, release.stage),
                HEAD_SK.into(),
            )))
            .update_expression(set)
            .condition_expression("lock_holder = :id AND lock_execution_arn = :exec")
            .expression_attribute_values(":id", s(release.release_id))
            .expression_attribute_values(":exec", s(execution_arn))
            .expression_attribute_values(":lease", n(lease_until))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(FenceOutcome::Held),
            Err(err) if is_conditional_check_failure(&err) => {
                let holder = err
                    .as_service_error()
                    .and_then(|e| match e {
                        aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => c.item(),
                        _ => None,
                    })
                    .and_then(|item| item.get("lock_holder"))
                    .and_then(|v| v.as_s().ok())
                    .cloned();
                Ok(FenceOutcome::Lost { holder })
            }
            Err(err) => Err(classify("UpdateItem(fence)", err)),
        }
    }

    /// Frees the stage held by `release_id` run by `execution_arn` (whose execution ended
    /// without doing so); a no-op when someone else holds it by now.
    pub async fn free_lock(
        &self,
        app: &str,
        stage: &str,
        release_id: &str,
        execution_arn: &str,
    ) -> Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(release_pk(app, stage), HEAD_SK.into())))
            .update_expression(
                "REMOVE lock_holder, lock_expires_at, lock_execution_arn, awaiting_approval ADD version :one",
            )
            .condition_expression("lock_holder = :id AND lock_execution_arn = :exec")
            .expression_attribute_values(":id", s(release_id))
            .expression_attribute_values(":exec", s(execution_arn))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        unless_condition_failed("UpdateItem(free lock)", result)
    }

    /// The approval gate is no longer waiting on `release_id` (a decision was taken).
    pub async fn clear_awaiting_approval(
        &self,
        app: &str,
        stage: &str,
        release_id: &str,
    ) -> Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(release_pk(app, stage), HEAD_SK.into())))
            .update_expression("REMOVE awaiting_approval")
            .condition_expression("awaiting_approval = :id")
            .expression_attribute_values(":id", s(release_id))
            .send()
            .await;
        unless_condition_failed("UpdateItem(clear awaiting approval)", result)
    }
}
