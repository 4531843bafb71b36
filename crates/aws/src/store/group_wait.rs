//! The deployments of one multi-service batch share one parked task token. Each member's
//! end is written on its wait item once (a conditional write, so an event and the fallback
//! check cannot both act on it); the member that finds every sibling COMPLETED completes the
//! token, and the first FAILED one fails it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use stevedore_core::Result;

use super::{decode, key, s, DeploymentWait, Store};
use crate::error::{classify, is_conditional_check_failure};

/// What [`Store::take_single_wait`] found.
#[derive(Debug)]
pub enum TakenWait {
    /// A release's own wait, now removed: the caller completes its token.
    Single(Box<DeploymentWait>),
    /// The deployment belongs to a multi-service batch: left in place for
    /// [`Store::finish_group_wait`].
    GroupMember,
    /// Nobody waits for it (not ours, or completed already).
    None,
}

impl Store {
    /// Removes and returns the wait for `deployment_id` unless it is a member of a batch, in
    /// one conditional write: a single-service deployment's end costs no extra read.
    pub async fn take_single_wait(&self, deployment_id: &str) -> Result<TakenWait> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(
                format!("DEPLOYMENT#{deployment_id}"),
                "WAIT".into(),
            )))
            .condition_expression("attribute_not_exists(#group)")
            .expression_attribute_names("#group", "group")
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => match out
                .attributes
                .filter(|a: &HashMap<String, AttributeValue>| !a.is_empty())
            {
                Some(item) => Ok(TakenWait::Single(Box::new(decode(
                    "deployment wait",
                    item,
                )?))),
                None => Ok(TakenWait::None),
            },
            Err(e) if is_conditional_check_failure(&e) => Ok(TakenWait::GroupMember),
            Err(e) => Err(classify("DeleteItem(deployment wait)", e)),
        }
    }

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

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
    use aws_sdk_dynamodb::Client;
    use aws_smithy_mocks::mock;

    use super::*;
    use crate::store::tests::{dynamo_error, store};

    fn wait(group: Vec<String>) -> DeploymentWait {
        DeploymentWait {
            task_token: "token-1".into(),
            app: "backend".into(),
            stage: "staging".into(),
            release_id: "01JRELEASE".into(),
            cluster: "demo".into(),
            service: "backend-staging".into(),
            expires_at: 1_700_003_600,
            group,
            service_index: None,
            done: None,
            restoring: false,
        }
    }

    #[tokio::test]
    async fn a_single_wait_is_taken_and_a_group_members_is_left_for_the_group() {
        let item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(wait(Vec::new())).expect("item");
        let delete = mock!(Client::delete_item)
            .match_requests(|r| {
                r.condition_expression() == Some("attribute_not_exists(#group)")
                    && r.return_values() == Some(&ReturnValue::AllOld)
            })
            .sequence()
            .output(move || {
                DeleteItemOutput::builder()
                    .set_attributes(Some(item.clone()))
                    .build()
            })
            .http_status(
                400,
                Some(dynamo_error(
                    "ConditionalCheckFailedException",
                    "The conditional request failed",
                )),
            )
            .output(|| DeleteItemOutput::builder().build())
            .build();
        let store = store(&[delete]);
        match store.take_single_wait("ecs-svc/1").await.unwrap() {
            TakenWait::Single(taken) => assert_eq!(*taken, wait(Vec::new())),
            other => panic!("expected the single wait, got {other:?}"),
        }
        assert!(matches!(
            store.take_single_wait("ecs-svc/2").await.unwrap(),
            TakenWait::GroupMember
        ));
        assert!(matches!(
            store.take_single_wait("ecs-svc/3").await.unwrap(),
            TakenWait::None
        ));
    }
}
