//! The deployments of one multi-service batch share one parked task token. Each member's
//! end is written on its wait item once (a conditional write, so an event and the fallback
//! check cannot both act on it); the member that finds every sibling COMPLETED completes the
//! token, and the first FAILED one fails it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use stevedore_core::Result;

use super::{decode, key, s, DeploymentWait, Store};
use crate::error::{classify, is_conditional_check_failure};

impl Store {
    /// Marks the group member `deployment_id` as `done` (`COMPLETED` or `FAILED`) and returns
    /// its wait; `None` when it was marked before or was never parked.
    pub async fn finish_group_wait(
        &self,
        deployment_id: &str,
        done: &str,
    ) -> Result<Option<DeploymentWait>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                format!("DEPLOYMENT#{deployment_id}"),
                "WAIT".into(),
            )))
            .update_expression("SET #done = :done")
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(#done)")
            .expression_attribute_names("#done", "done")
            .expression_attribute_values(":done", s(done))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out
                .attributes
                .filter(|a: &HashMap<String, AttributeValue>| !a.is_empty())
                .map(|item| decode("deployment wait", item))
                .transpose(),
            Err(e) if is_conditional_check_failure(&e) => Ok(None),
            Err(e) => Err(classify("UpdateItem(deployment wait)", e)),
        }
    }
}
