//! The release table: app configs, releases, stage HEADs (with the per-stage lock) and
//! the deployment waits that connect ECS events to a waiting state machine.

use std::collections::HashMap;

/// `AttributeValue`: what `attr_of` / `attr_s` make, for callers that pass them on.
pub use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::{CancellationReason, ReturnValue, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use serde::{Deserialize, Serialize};
use stevedore_core::config::AppConfig;
use stevedore_core::release::{release_pk, ReleaseStatus};
use stevedore_core::{Error, Result};

use crate::error::{classify, is_conditional_check_failure};

const HEAD_SK: &str = "HEAD";
/// Every configured app has an item under this key (`SK = APP#<app>`).
const APPS_PK: &str = "APPS";

/// The stage HEAD item: what runs now and who holds the deploy lock.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageHead {
    #[serde(default)]
    pub current_release: Option<String>,
    #[serde(default)]
    pub current_task_definition_arn: Option<String>,
    #[serde(default)]
    pub lock_holder: Option<String>,
    #[serde(default)]
    pub lock_expires_at: Option<i64>,
    /// The execution of the lock holder: a second execution with the same release id is
    /// not the holder.
    #[serde(default)]
    pub lock_execution_arn: Option<String>,
    /// The release parked at the approval gate (it holds the lock while it waits).
    #[serde(default)]
    pub awaiting_approval: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Releases waiting for the stage (a string set: ULIDs, so sorted by push time).
    #[serde(default)]
    pub waiting: std::collections::BTreeSet<String>,
    /// Bumped by every change to the waiting set or the lock holder, so a decision taken on
    /// a HEAD read is written only if HEAD is still as read.
    #[serde(default)]
    pub version: i64,
}

/// A parked task token, keyed by the ECS deployment it waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentWait {
    pub task_token: String,
    pub app: String,
    pub stage: String,
    pub release_id: String,
    pub cluster: String,
    pub service: String,
    pub expires_at: i64,
    /// A multi-service release's deployments waited for together with this one (this one
    /// included): the token succeeds when the last of them completed, and fails with the
    /// first that failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group: Vec<String>,
    /// Which of the release's `services` entries this deployment moves (multi-service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_index: Option<usize>,
    /// A group member's end, once known: `COMPLETED` or `FAILED` (the item stays, so the
    /// last member to complete can tell a failed sibling from a completed one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<String>,
    /// The deployment puts the service's previous task definition back (a failed release's
    /// restore): its end is recorded as RESTORED, not COMPLETED.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restoring: bool,
}

/// Which release: (app, stage, release id).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReleaseKey<'a> {
    pub app: &'a str,
    pub stage: &'a str,
    pub release_id: &'a str,
}

/// How a lock request ended.
#[derive(Debug, Clone, PartialEq)]
pub enum LockOutcome {
    Acquired,
    /// HEAD changed since it was read (or the lock is held): read it and decide again.
    HeadChanged,
    /// The release is no longer PENDING / IN_PROGRESS (it was superseded or already ended).
    ReleaseNotActive,
}

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
}

/// A string attribute value.
pub fn attr_s(value: impl Into<String>) -> AttributeValue {
    s(value)
}

/// A number attribute value.
pub fn attr_n(value: i64) -> AttributeValue {
    n(value)
}

/// Any serialisable value as an attribute value (a map for structs).
pub fn attr_of<T: serde::Serialize>(value: &T) -> Result<AttributeValue> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| Error::AwsError(format!("cannot store value as a DynamoDB attribute: {e}")))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn key(pk: String, sk: String) -> HashMap<String, AttributeValue> {
    HashMap::from([("PK".to_string(), s(pk)), ("SK".to_string(), s(sk))])
}

fn decode<T: for<'de> Deserialize<'de>>(
    what: &str,
    item: HashMap<String, AttributeValue>,
) -> Result<T> {
    serde_dynamo::from_item(item)
        .map_err(|e| Error::AwsError(format!("the table holds a malformed {what} item: {e}")))
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn from_sdk(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(config), table)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Stores one app's validated config (versioned) and indexes it by repository.
    pub async fn put_app_config(
        &self,
        app: &str,
        config: &AppConfig,
        source_file: &str,
        now: &str,
    ) -> Result<i64> {
        let json = serde_json::to_string(config).map_err(|e| {
            Error::InvalidConfig(format!("app `{app}`: cannot serialise config: {e}"))
        })?;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("APP#{app}"), "CONFIG".into())))
            .update_expression(
                "SET app = :app, repository = :repo, config = :config, source_file = :file, applied_at = :now ADD version :one",
            )
            .expression_attribute_values(":app", s(app))
            .expression_attribute_values(":repo", s(&config.repository))
            .expression_attribute_values(":config", s(json))
            .expression_attribute_values(":file", s(source_file))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| classify("UpdateItem(app config)", e))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(HashMap::from([
                ("PK".to_string(), s(format!("REPO#{}", config.repository))),
                ("SK".to_string(), s(format!("APP#{app}"))),
                ("app".to_string(), s(app)),
            ])))
            .send()
            .await
            .map_err(|e| classify("PutItem(repository index)", e))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(HashMap::from([
                ("PK".to_string(), s(APPS_PK)),
                ("SK".to_string(), s(format!("APP#{app}"))),
                ("app".to_string(), s(app)),
            ])))
            .send()
            .await
            .map_err(|e| classify("PutItem(apps index)", e))?;
        let version = out
            .attributes()
            .and_then(|a| a.get("version"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        Ok(version)
    }

    /// One app's config, validated again on the way out (the table may hold an older shape).
    pub async fn get_app_config(&self, app: &str) -> Result<Option<AppConfig>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("APP#{app}"), "CONFIG".into())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem(app config)", e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let json = item
            .get("config")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| {
                Error::InvalidConfig(format!(
                    "app `{app}`: stored config has no `config` text; apply it again"
                ))
            })?;
        let config: AppConfig = serde_json::from_str(json).map_err(|e| {
            Error::InvalidConfig(format!(
                "app `{app}`: stored config is unreadable ({e}); apply it again"
            ))
        })?;
        config.validate("stored config", app)?;
        Ok(Some(config))
    }

    /// The apps whose config names this ECR repository, over every page of the index (a
    /// Query answers at most 1 MB per call:
    /// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Pagination.html>).
    pub async fn apps_for_repository(&self, repository: &str) -> Result<Vec<String>> {
        self.apps_under(format!("REPO#{repository}"), "Query(repository index)")
            .await
    }

    /// The `app` attribute of every item under partition key `pk`, page after page.
    async fn apps_under(&self, pk: String, operation: &str) -> Result<Vec<String>> {
        let mut apps = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", s(pk.clone()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| classify(operation, e))?;
            apps.extend(
                out.items()
                    .iter()
                    .filter_map(|item| item.get("app").and_then(|v| v.as_s().ok()).cloned()),
            );
            match out.last_evaluated_key.filter(|key| !key.is_empty()) {
                Some(next) => start = Some(next),
                None => return Ok(apps),
            }
        }
    }

    /// The release id of (app, stage, digest): `candidate` if this is the first time the
    /// digest is released to the stage, else the id claimed first (a duplicate push event).
    pub async fn claim_release_id(
        &self,
        app: &str,
        stage: &str,
        digest: &str,
        candidate: &str,
    ) -> Result<String> {
        let claim = key(release_pk(app, stage), format!("DIGEST#{digest}"));
        let mut item = claim.clone();
        item.insert("release_id".to_string(), s(candidate));
        if self
            .put_if_absent(item, "PutItem(release id claim)")
            .await?
        {
            return Ok(candidate.to_string());
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(claim))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem(release id claim)", e))?;
        out.item
            .as_ref()
            .and_then(|item| item.get("release_id"))
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or_else(|| {
                Error::AwsError(format!(
                    "the release id claim of {app}/{stage} {digest} is unreadable"
                ))
            })
    }

    /// Writes `item` unless an item with its key exists; `false` when one did.
    async fn put_if_absent(
        &self,
        item: HashMap<String, AttributeValue>,
        operation: &str,
    ) -> Result<bool> {
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_check_failure(&e) => Ok(false),
            Err(e) => Err(classify(operation, e)),
        }
    }

    pub async fn head(&self, app: &str, stage: &str) -> Result<Option<StageHead>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(release_pk(app, stage), HEAD_SK.into())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem(stage head)", e))?;
        out.item.map(|item| decode("stage head", item)).transpose()
    }
}

mod apps;
mod fence;
mod group_wait;
pub use group_wait::TakenWait;
mod lock;
mod lookups;
pub use lookups::DIGEST_INDEX;
mod releases;
mod service_claim;
pub use fence::FenceOutcome;
pub use lock::FinishOutcome;

#[cfg(test)]
mod tests;

fn transaction_reasons(reasons: &[CancellationReason]) -> Vec<Option<&str>> {
    reasons.iter().map(|r| r.code()).collect()
}

fn update(table: &str, pk: String, sk: String) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    Update::builder()
        .table_name(table)
        .set_key(Some(key(pk, sk)))
}

fn transact(update: Update) -> TransactWriteItem {
    TransactWriteItem::builder().update(update).build()
}

fn status_value(status: ReleaseStatus) -> AttributeValue {
    s(status.to_string())
}
