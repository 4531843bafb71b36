//! What the scheduled reconcile reads and keeps: every configured app, and how far its last
//! run looked.

use aws_sdk_dynamodb::types::AttributeValue;
use stevedore_core::Result;

use super::{key, n, Store, APPS_PK};
use crate::error::{classify, unless_condition_failed};

const CURSOR_PK: &str = "RECONCILE";
const CURSOR_SK: &str = "CURSOR";

impl Store {
    /// Every app a `config apply` stored, read page by page.
    pub async fn list_apps(&self) -> Result<Vec<String>> {
        self.apps_under(APPS_PK.to_string(), "Query(apps)").await
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
        unless_condition_failed("UpdateItem(reconcile cursor)", result)
    }
}
