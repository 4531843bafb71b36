//! What the scheduled reconcile reads and keeps: every configured app, and how far its last
//! run looked.

use aws_sdk_dynamodb::types::AttributeValue;
use stevedore_core::Result;

use super::{key, n, s, Store, APPS_PK};
use crate::error::classify;

const CURSOR_PK: &str = "RECONCILE";
const CURSOR_SK: &str = "CURSOR";

impl Store {
    /// Every app a `config apply` stored, read page by page.
    pub async fn list_apps(&self) -> Result<Vec<String>> {
        let mut apps = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", s(APPS_PK))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| classify("Query(apps)", e))?;
            apps.extend(
                page.items()
                    .iter()
                    .filter_map(|item| item.get("app").and_then(|v| v.as_s().ok()).cloned()),
            );
            match page.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(apps),
            }
        }
    }

    /// Where the last reconcile stopped looking (epoch ms), if it ever ran.
    pub async fn reconcile_cursor(&self) -> Result<Option<i64>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(CURSOR_PK.into(), CURSOR_SK.into())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem(reconcile cursor)", e))?;
        Ok(out
            .item
            .and_then(|item| item.get("until_ms").cloned())
            .and_then(|v: AttributeValue| v.as_n().ok().and_then(|n| n.parse().ok())))
    }

    /// Moves the cursor forward (never back: two overlapping runs keep the later end).
    pub async fn advance_reconcile_cursor(&self, until_ms: i64) -> Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(CURSOR_PK.into(), CURSOR_SK.into())))
            .update_expression("SET until_ms = :until")
            .condition_expression("attribute_not_exists(until_ms) OR until_ms < :until")
            .expression_attribute_values(":until", n(until_ms))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if crate::error::is_conditional_check_failure(&err) => Ok(()),
            Err(err) => Err(classify("UpdateItem(reconcile cursor)", err)),
        }
    }
}
