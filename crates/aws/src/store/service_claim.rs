//! Which (app, stage) deploys an ECS service. Each stage has its own deploy lock, so two
//! stages naming one service could roll it out at once: `config apply` claims every service
//! for its stage with a conditional write and refuses a service another stage holds.

use stevedore_core::Result;

use super::{key, s, Store};
use crate::error::{classify, is_conditional_check_failure, unless_condition_failed};

const CLAIM_SK: &str = "OWNER";

fn claim_pk(cluster: &str, service: &str) -> String {
    format!("SERVICE#{cluster}#{service}")
}

impl Store {
    /// Claims `(cluster, service)` (names, not ARNs) for `owner` (`<app>/<stage>`); `Some`
    /// names the stage that holds it already.
    pub async fn claim_service(
        &self,
        cluster: &str,
        service: &str,
        owner: &str,
    ) -> Result<Option<String>> {
        let mut item = key(claim_pk(cluster, service), CLAIM_SK.into());
        item.insert("owner".into(), s(owner));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK) OR #owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(err) if is_conditional_check_failure(&err) => {
                let holder = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .set_key(Some(key(claim_pk(cluster, service), CLAIM_SK.into())))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| classify("GetItem(service claim)", e))?
                    .item
                    .and_then(|item| item.get("owner").and_then(|v| v.as_s().ok()).cloned());
                Ok(Some(holder.unwrap_or_else(|| "another stage".into())))
            }
            Err(err) => Err(classify("PutItem(service claim)", err)),
        }
    }

    /// Gives up `owner`'s claim on a service (no-op when someone else holds it).
    pub async fn release_service(&self, cluster: &str, service: &str, owner: &str) -> Result<()> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(claim_pk(cluster, service), CLAIM_SK.into())))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        unless_condition_failed("DeleteItem(service claim)", result)
    }
}
