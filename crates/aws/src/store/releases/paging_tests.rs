//! Reading a stage's releases page by page: each Query continues from the previous answer's
//! LastEvaluatedKey, and stops when there is none (or when it has what it looks for).

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use aws_smithy_mocks::{mock, Rule};
use stevedore_core::release::{Release, ReleaseStatus};

use crate::store::s;
use crate::store::tests::{key_of, pending_release, store, RELEASE_PK};

fn release(id: &str, status: ReleaseStatus) -> Release {
    let mut release = pending_release(id);
    release.status = status;
    release
}

fn page_key(id: &str) -> HashMap<String, AttributeValue> {
    key_of(RELEASE_PK, &format!("REL#{id}"))
}

fn is_release_query(r: &QueryInput) -> bool {
    let values = r.expression_attribute_values().unwrap();
    r.key_condition_expression() == Some("PK = :pk AND begins_with(SK, :rel)")
        && values.get(":pk") == Some(&s(RELEASE_PK))
        && values.get(":rel") == Some(&s("REL#"))
        && r.scan_index_forward() == Some(false)
        && r.consistent_read() == Some(true)
}

/// A Query of the stage's releases that starts after `start` (none: the first page), asks for
/// at most `limit` items, and answers `releases` and `next` as its LastEvaluatedKey.
fn page(
    start: Option<&str>,
    limit: Option<i32>,
    releases: &[&Release],
    next: Option<&str>,
) -> Rule {
    let start = start.map(page_key);
    let items: Vec<HashMap<String, AttributeValue>> = releases
        .iter()
        .map(|r| serde_dynamo::to_item(r).unwrap())
        .collect();
    let next = next.map(page_key);
    mock!(Client::query)
        .match_requests(move |r| {
            is_release_query(r) && r.exclusive_start_key() == start.as_ref() && r.limit() == limit
        })
        .then_output(move || {
            QueryOutput::builder()
                .set_items(Some(items.clone()))
                .set_last_evaluated_key(next.clone())
                .build()
        })
}

#[tokio::test]
async fn list_releases_follows_last_evaluated_key_until_the_limit() {
    let (a, b, c) = (
        release("01JC", ReleaseStatus::Succeeded),
        release("01JB", ReleaseStatus::Failed),
        release("01JA", ReleaseStatus::Succeeded),
    );
    // A 1 MB page can hold fewer items than asked for: the next page asks for the rest.
    let rules = [
        page(None, Some(3), &[&a], Some("01JC")),
        page(Some("01JC"), Some(2), &[&b, &c], Some("01JA")),
    ];
    let releases = store(&rules)
        .list_releases("backend", "staging", 3)
        .await
        .unwrap();
    assert_eq!(releases, vec![a, b, c]);
    assert!(rules.iter().all(|r| r.num_calls() == 1));
}

#[tokio::test]
async fn list_releases_stops_when_no_page_follows() {
    let a = release("01JA", ReleaseStatus::Succeeded);
    let rules = [page(None, Some(20), &[&a], None)];
    let releases = store(&rules)
        .list_releases("backend", "staging", 20)
        .await
        .unwrap();
    assert_eq!(releases, vec![a]);
}

#[tokio::test]
async fn find_release_reads_pages_until_one_matches() {
    let (newest, failed, wanted, older) = (
        release("01JD", ReleaseStatus::Failed),
        release("01JC", ReleaseStatus::Failed),
        release("01JB", ReleaseStatus::Succeeded),
        release("01JA", ReleaseStatus::Succeeded),
    );
    // No third page is asked for: the rules run out, and a further call would panic.
    let rules = [
        page(None, None, &[&newest, &failed], Some("01JC")),
        page(Some("01JC"), None, &[&wanted, &older], Some("01JA")),
    ];
    let found = store(&rules)
        .find_release("backend", "staging", |r| {
            r.status == ReleaseStatus::Succeeded
        })
        .await
        .unwrap();
    assert_eq!(found, Some(wanted));
}

#[tokio::test]
async fn find_release_is_none_after_the_last_page() {
    let (b, a) = (
        release("01JB", ReleaseStatus::Failed),
        release("01JA", ReleaseStatus::RolledBack),
    );
    let rules = [
        page(None, None, &[&b], Some("01JB")),
        page(Some("01JB"), None, &[&a], None),
    ];
    let found = store(&rules)
        .find_release("backend", "staging", |r| {
            r.status == ReleaseStatus::Succeeded
        })
        .await
        .unwrap();
    assert_eq!(found, None);
}
