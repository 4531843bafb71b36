//! The per-(app, stage) deploy lock on the HEAD item, the terminal write that always frees
//! it, and the parked task tokens of running deployments.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use stevedore_core::release::{release_pk, release_sk, ReleaseStatus};
use stevedore_core::{Error, Result};

use super::{
    decode, key, n, releases::text, s, status_value, transact, transaction_reasons, update,
    DeploymentWait, LockOutcome, ReleaseKey, Store, HEAD_SK,
};
use crate::error::classify;

/// What the terminal write did to the HEAD item.
#[derive(Debug, Clone, PartialEq)]
pub enum FinishOutcome {
    /// Release recorded and the lock released.
    Recorded,
    /// Release recorded; the lock was held by someone else (our lease had expired), so it was left alone.
    RecordedLockNotHeld,
    /// The release already had this terminal status (a retried call).
    AlreadyRecorded,
    /// The release belongs to another execution (one started by hand with its id): untouched.
    NotOurs,
    /// No such release: the execution ended before anything was recorded (invalid input).
    Missing,
}

impl Store {
    /// Takes the stage lock for `release` and moves it to IN_PROGRESS, in one transaction.
    /// The caller decided from a HEAD it read at `seen_version`; if HEAD changed since (a
    /// newer push queued, another release took the lock), nothing is written and
    /// `HeadChanged` says to read and decide again.
    pub async fn acquire_lock(
        &self,
        release: ReleaseKey<'_>,
        execution_arn: &str,
        lease_until: i64,
        now_epoch: i64,
        now: &str,
        seen_version: i64,
    ) -> Result<LockOutcome> {
        let ReleaseKey {
            app,
            stage,
            release_id,
        } = release;
        let version_unchanged = if seen_version == 0 {
            "attribute_not_exists(version)"
        } else {
            "version = :seen"
        };
        let mut head = update(&self.table, release_pk(app, stage), HEAD_SK.into())
            .update_expression(
                "SET lock_holder = :id, lock_execution_arn = :exec, lock_expires_at = :lease, updated_at = :now REMOVE awaiting_approval DELETE waiting :me ADD version :one",
            )
            .condition_expression(format!(
                "(attribute_not_exists(lock_holder) OR (lock_holder = :id AND lock_execution_arn = :exec) OR lock_expires_at < :epoch) AND {version_unchanged}"
            ))
            .expression_attribute_values(":id", s(release_id))
            .expression_attribute_values(":exec", s(execution_arn))
            .expression_attribute_values(":me", AttributeValue::Ss(vec![release_id.to_string()]))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":lease", n(lease_until))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":epoch", n(now_epoch));
        if seen_version != 0 {
            head = head.expression_attribute_values(":seen", n(seen_version));
        }
        let head = head
            .build()
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        let release = update(&self.table, release_pk(app, stage), release_sk(release_id))
            .update_expression("SET #status = :in_progress, lock_acquired_at = if_not_exists(lock_acquired_at, :now), execution_arn = :exec")
            // A second execution carrying the same release id is not this release.
            .condition_expression("#status IN (:pending, :in_progress) AND (attribute_not_exists(execution_arn) OR execution_arn = :exec)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":in_progress", status_value(ReleaseStatus::InProgress))
            .expression_attribute_values(":pending", status_value(ReleaseStatus::Pending))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":exec", s(execution_arn))
            .build()
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(transact(head))
            .transact_items(transact(release))
            .send()
            .await;
        match result {
            Ok(_) => Ok(LockOutcome::Acquired),
            Err(err) => {
                let reasons = cancellation_codes(&err);
                if reasons.get(1).copied().flatten() == Some("ConditionalCheckFailed") {
                    Ok(LockOutcome::ReleaseNotActive)
                } else if reasons.first().copied().flatten() == Some("ConditionalCheckFailed") {
                    Ok(LockOutcome::HeadChanged)
                } else {
                    Err(classify_cancelled("TransactWriteItems(acquire lock)", err))
                }
            }
        }
    }

    /// Puts a release in the stage's waiting set (its place in line is its id: ULIDs sort
    /// by push time).
    pub async fn enqueue(&self, release: ReleaseKey<'_>, now: &str) -> Result<()> {
        self.update_waiting(release, "ADD", now, "UpdateItem(enqueue release)")
            .await
    }

    /// Takes a release out of the stage's waiting set (no-op when it is not there).
    pub async fn leave_queue(&self, release: ReleaseKey<'_>, now: &str) -> Result<()> {
        self.update_waiting(release, "DELETE", now, "UpdateItem(leave queue)")
            .await
    }

    /// `ADD` or `DELETE` the release in HEAD's waiting set; either bumps HEAD's version.
    async fn update_waiting(
        &self,
        release: ReleaseKey<'_>,
        set_action: &str,
        now: &str,
        operation: &str,
    ) -> Result<()> {
        let version = if set_action == "ADD" {
            ", version :one"
        } else {
            " ADD version :one"
        };
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                release_pk(release.app, release.stage),
                HEAD_SK.into(),
            )))
            .update_expression(format!(
                "SET updated_at = :now {set_action} waiting :me{version}"
            ))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(
                ":me",
                AttributeValue::Ss(vec![release.release_id.to_string()]),
            )
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map_err(|e| classify(operation, e))?;
        Ok(())
    }

    /// Ends a waiting (PENDING) release as SUPERSEDED and takes it out of the waiting set.
    /// `false` when the release was no longer PENDING.
    pub async fn supersede(
        &self,
        release: ReleaseKey<'_>,
        reason: &str,
        now: &str,
    ) -> Result<bool> {
        let ReleaseKey {
            app,
            stage,
            release_id,
        } = release;
        let record = update(&self.table, release_pk(app, stage), release_sk(release_id))
            .update_expression("SET #status = :superseded, reason = :reason, finished_at = :now")
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":superseded", status_value(ReleaseStatus::Superseded))
            .expression_attribute_values(":pending", status_value(ReleaseStatus::Pending))
            .expression_attribute_values(":reason", text(reason))
            .expression_attribute_values(":now", s(now))
            .build()
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        let head = update(&self.table, release_pk(app, stage), HEAD_SK.into())
            .update_expression("SET updated_at = :now DELETE waiting :me ADD version :one")
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":me", AttributeValue::Ss(vec![release_id.to_string()]))
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(transact(record))
            .transact_items(transact(head))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if cancellation_codes(&err).first().copied().flatten()
                    == Some("ConditionalCheckFailed") =>
            {
                Ok(false)
            }
            Err(err) => Err(classify_cancelled(
                "TransactWriteItems(supersede release)",
                err,
            )),
        }
    }

    /// Records the terminal status with its reason, points HEAD at the release when it
    /// succeeded, and releases the lock if this release holds it — all in one transaction.
    /// Only `execution_arn`, the release's own execution, may end it (another execution
    /// started by hand with the same release id gets `NotOurs` and changes nothing).
    pub async fn finish_release(
        &self,
        release_key: ReleaseKey<'_>,
        execution_arn: &str,
        status: ReleaseStatus,
        reason: Option<&str>,
        task_definition_arn: Option<&str>,
        now: &str,
    ) -> Result<FinishOutcome> {
        let ReleaseKey {
            app,
            stage,
            release_id,
        } = release_key;
        let release = self.finish_release_update(
            (app, stage, release_id),
            execution_arn,
            status,
            reason,
            now,
        )?;
        let mut head_set = vec!["updated_at = :now"];
        let mut head = update(&self.table, release_pk(app, stage), HEAD_SK.into())
            .condition_expression("lock_holder = :id AND lock_execution_arn = :exec")
            .expression_attribute_values(":id", s(release_id))
            .expression_attribute_values(":exec", s(execution_arn))
            .expression_attribute_values(":now", s(now));
        if status == ReleaseStatus::Succeeded {
            head_set.push("current_release = :id");
            if let Some(arn) = task_definition_arn {
                head_set.push("current_task_definition_arn = :td");
                head = head.expression_attribute_values(":td", s(arn));
            }
        }
        let head = head
            .update_expression(format!(
                "SET {} REMOVE lock_holder, lock_expires_at, lock_execution_arn, awaiting_approval",
                head_set.join(", ")
            ))
            .build()
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(transact(release.clone()))
            .transact_items(transact(head))
            .send()
            .await;
        let Err(err) = result else {
            return Ok(FinishOutcome::Recorded);
        };
        let reasons = cancellation_codes(&err);
        if reasons.first().copied().flatten() == Some("ConditionalCheckFailed") {
            let current = self.get_release(app, stage, release_id).await?;
            return match current {
                Some(r)
                    if r.execution_arn
                        .as_deref()
                        .is_some_and(|arn| arn != execution_arn) =>
                {
                    Ok(FinishOutcome::NotOurs)
                }
                Some(r) if r.status == status => Ok(FinishOutcome::AlreadyRecorded),
                Some(r) => Err(Error::InvalidInput(format!(
                    "release {release_id} of {app}/{stage} is already {}; cannot record {status}",
                    r.status
                ))),
                None => Ok(FinishOutcome::Missing),
            };
        }
        if reasons.get(1).copied().flatten() == Some("ConditionalCheckFailed") {
            // Our lease ran out and another release took the stage: record ours, leave its lock.
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(release.key))
                .update_expression(release.update_expression)
                .set_condition_expression(release.condition_expression)
                .set_expression_attribute_names(release.expression_attribute_names)
                .set_expression_attribute_values(release.expression_attribute_values)
                .send()
                .await
                .map_err(|e| classify("UpdateItem(finish release)", e))?;
            // A release that ended before it got the stage must not stay in line.
            self.leave_queue(release_key, now).await?;
            return Ok(FinishOutcome::RecordedLockNotHeld);
        }
        Err(classify_cancelled(
            "TransactWriteItems(finish release)",
            err,
        ))
    }

    fn finish_release_update(
        &self,
        (app, stage, release_id): (&str, &str, &str),
        execution_arn: &str,
        status: ReleaseStatus,
        reason: Option<&str>,
        now: &str,
    ) -> Result<aws_sdk_dynamodb::types::Update> {
        let mut expression = "SET #status = :status, finished_at = :now".to_string();
        let mut builder = update(&self.table, release_pk(app, stage), release_sk(release_id))
            .condition_expression("#status IN (:pending, :in_progress) AND (attribute_not_exists(execution_arn) OR execution_arn = :exec)")
            .expression_attribute_values(":exec", s(execution_arn))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", status_value(status))
            .expression_attribute_values(":pending", status_value(ReleaseStatus::Pending))
            .expression_attribute_values(":in_progress", status_value(ReleaseStatus::InProgress))
            .expression_attribute_values(":now", s(now));
        if let Some(reason) = reason {
            expression.push_str(", reason = :reason");
            builder = builder.expression_attribute_values(":reason", text(reason));
        }
        builder
            .update_expression(expression)
            .build()
            .map_err(|e| Error::InvalidInput(e.to_string()))
    }

    /// Parks a state machine task token until ECS reports on `deployment_id`, and points the
    /// service at that deployment so a deployment someone else starts meanwhile is noticed.
    pub async fn put_wait(&self, deployment_id: &str, wait: &DeploymentWait) -> Result<()> {
        let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(wait)
            .map_err(|e| Error::InvalidInput(format!("cannot encode deployment wait: {e}")))?;
        item.extend(key(format!("DEPLOYMENT#{deployment_id}"), "WAIT".into()));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| classify("PutItem(deployment wait)", e))?;
        let mut pointer = key(service_wait_pk(&wait.cluster, &wait.service), "WAIT".into());
        pointer.insert("deployment_id".into(), s(deployment_id));
        pointer.insert("expires_at".into(), n(wait.expires_at));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(pointer))
            .send()
            .await
            .map_err(|e| classify("PutItem(service wait)", e))?;
        Ok(())
    }

    /// The deployment a release last waited for on this service (it may be finished by now).
    pub async fn service_wait(&self, cluster: &str, service: &str) -> Result<Option<String>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(service_wait_pk(cluster, service), "WAIT".into())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem(service wait)", e))?;
        Ok(out.item.and_then(|item| {
            item.get("deployment_id")
                .and_then(|v| v.as_s().ok())
                .cloned()
        }))
    }

    /// The parked wait of a deployment, left in place (who waits, on which cluster).
    pub async fn peek_wait(&self, deployment_id: &str) -> Result<Option<DeploymentWait>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(
                format!("DEPLOYMENT#{deployment_id}"),
                "WAIT".into(),
            )))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem(deployment wait)", e))?;
        out.item
            .map(|item| decode("deployment wait", item))
            .transpose()
    }

    /// Removes and returns the parked token: exactly one caller gets it, so a token is
    /// completed once even when an event and the fallback check race.
    pub async fn take_wait(&self, deployment_id: &str) -> Result<Option<DeploymentWait>> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(
                format!("DEPLOYMENT#{deployment_id}"),
                "WAIT".into(),
            )))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| classify("DeleteItem(deployment wait)", e))?;
        out.attributes
            .filter(|a: &HashMap<String, AttributeValue>| !a.is_empty())
            .map(|item| decode("deployment wait", item))
            .transpose()
    }
}

#[cfg(test)]
mod tests;

type TransactError = aws_sdk_dynamodb::error::SdkError<
    TransactWriteItemsError,
    aws_sdk_dynamodb::config::http::HttpResponse,
>;

/// A transaction cancelled by a concurrent write to one of its items (two releases racing
/// for the stage) or by throttling is worth retrying; `classify` alone would see only the
/// terminal-looking `TransactionCanceledException` code.
fn classify_cancelled(operation: &str, err: TransactError) -> Error {
    let codes = cancellation_codes(&err);
    let has = |wanted: &[&str]| codes.iter().flatten().any(|code| wanted.contains(code));
    let text = || {
        let reasons: Vec<&str> = codes.iter().map(|code| code.unwrap_or("None")).collect();
        format!(
            "{operation} failed: transaction cancelled [{}]",
            reasons.join(", ")
        )
    };
    if has(&[
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
    ]) {
        Error::Throttled(text())
    } else if has(&["TransactionConflict"]) {
        Error::TransientAws(text())
    } else {
        classify(operation, err)
    }
}

fn service_wait_pk(cluster: &str, service: &str) -> String {
    format!("SERVICE#{cluster}#{service}")
}

fn cancellation_codes(err: &TransactError) -> Vec<Option<&str>> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
            transaction_reasons(e.cancellation_reasons())
        }
        _ => Vec::new(),
    }
}
