//! What the operator CLI looks up beyond a stage's own history: the releases of one image
//! (the `ByDigest` index), and a stage's releases that carry a tag. Both read page after
//! page: a Query answers at most 1 MB per call, and only a `LastEvaluatedKey` says more follow
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Pagination.html>).

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use stevedore_core::release::{digest_gsi_pk, release_pk, Release};
use stevedore_core::Result;

use super::{decode, s, Store};
use crate::error::classify;

/// The table's index of releases by image digest (template.yaml, `GlobalSecondaryIndexes`).
pub const DIGEST_INDEX: &str = "ByDigest";

type PageKey = HashMap<String, AttributeValue>;

impl Store {
    /// Every release of the image `digest`, on any app and stage, in index order (app, stage,
    /// release id). A global secondary index is read eventually consistent: a release written
    /// a moment ago may be missing.
    pub async fn releases_of_digest(&self, digest: &str) -> Result<Vec<Release>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(DIGEST_INDEX)
            .key_condition_expression("GSI1PK = :pk")
            .expression_attribute_values(":pk", s(digest_gsi_pk(digest)));
        every_release(query, "Query(releases by digest)").await
    }

    /// The stage's releases whose tag is `tag`, newest first.
    pub async fn releases_tagged(&self, app: &str, stage: &str, tag: &str) -> Result<Vec<Release>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :rel)")
            .filter_expression("#tag = :tag")
            .expression_attribute_names("#tag", "tag")
            .expression_attribute_values(":pk", s(release_pk(app, stage)))
            .expression_attribute_values(":rel", s("REL#"))
            .expression_attribute_values(":tag", s(tag))
            .scan_index_forward(false);
        every_release(query, "Query(releases by tag)").await
    }
}

/// Every release `query` answers, page after page.
async fn every_release(query: QueryFluentBuilder, operation: &str) -> Result<Vec<Release>> {
    let mut releases = Vec::new();
    let mut start: Option<PageKey> = None;
    loop {
        let out = query
            .clone()
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| classify(operation, e))?;
        for item in out.items.unwrap_or_default() {
            releases.push(decode("release", item)?);
        }
        match out.last_evaluated_key.filter(|key| !key.is_empty()) {
            Some(next) => start = Some(next),
            None => return Ok(releases),
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
    use aws_sdk_dynamodb::Client;
    use aws_smithy_mocks::{mock, Rule};

    use super::*;
    use crate::store::tests::{key_of, pending_release, store, RELEASE_PK};

    fn items(releases: &[&Release]) -> Vec<HashMap<String, AttributeValue>> {
        releases
            .iter()
            .map(|r| serde_dynamo::to_item(r).unwrap())
            .collect()
    }

    fn answer(
        matches: impl Fn(&QueryInput) -> bool + Send + Sync + 'static,
        releases: &[&Release],
        next: Option<HashMap<String, AttributeValue>>,
    ) -> Rule {
        let items = items(releases);
        mock!(Client::query)
            .match_requests(matches)
            .then_output(move || {
                QueryOutput::builder()
                    .set_items(Some(items.clone()))
                    .set_last_evaluated_key(next.clone())
                    .build()
            })
    }

    #[tokio::test]
    async fn releases_of_a_digest_are_read_from_the_index_over_every_page() {
        let (a, b) = (pending_release("01JA"), pending_release("01JB"));
        let digest = a.spec.digest.clone();
        let gsi_page_key = HashMap::from([
            ("GSI1PK".to_string(), s(digest_gsi_pk(&digest))),
            (
                "GSI1SK".to_string(),
                s("APP#backend#STAGE#staging#REL#01JA"),
            ),
        ]);
        let is_index_query = {
            let digest = digest.clone();
            move |r: &QueryInput| {
                r.index_name() == Some(DIGEST_INDEX)
                    && r.key_condition_expression() == Some("GSI1PK = :pk")
                    && r.expression_attribute_values().unwrap().get(":pk")
                        == Some(&s(format!("DIGEST#{digest}")))
            }
        };
        let first_start = gsi_page_key.clone();
        let rules = [
            answer(
                {
                    let is_index_query = is_index_query.clone();
                    move |r| is_index_query(r) && r.exclusive_start_key().is_none()
                },
                &[&a],
                Some(gsi_page_key),
            ),
            answer(
                move |r| is_index_query(r) && r.exclusive_start_key() == Some(&first_start),
                &[&b],
                None,
            ),
        ];
        let found = store(&rules).releases_of_digest(&digest).await.unwrap();
        assert_eq!(found, vec![a, b]);
        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }

    #[tokio::test]
    async fn tagged_releases_filter_a_stage_on_its_tag_page_after_page() {
        let mut tagged = pending_release("01JC");
        tagged.spec.tag = "v1.2.3".into();
        let is_tag_query = |r: &QueryInput| {
            let values = r.expression_attribute_values().unwrap();
            r.index_name().is_none()
                && r.filter_expression() == Some("#tag = :tag")
                && r.expression_attribute_names().unwrap().get("#tag") == Some(&"tag".to_string())
                && values.get(":tag") == Some(&s("v1.2.3"))
                && values.get(":pk") == Some(&s(RELEASE_PK))
                && r.scan_index_forward() == Some(false)
        };
        // A filtered page may come back empty and still have more after it.
        let rules = [
            answer(
                move |r| is_tag_query(r) && r.exclusive_start_key().is_none(),
                &[],
                Some(key_of(RELEASE_PK, "REL#01JD")),
            ),
            answer(
                move |r| {
                    is_tag_query(r)
                        && r.exclusive_start_key() == Some(&key_of(RELEASE_PK, "REL#01JD"))
                },
                &[&tagged],
                None,
            ),
        ];
        let found = store(&rules)
            .releases_tagged("backend", "staging", "v1.2.3")
            .await
            .unwrap();
        assert_eq!(found, vec![tagged]);
        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }
}
