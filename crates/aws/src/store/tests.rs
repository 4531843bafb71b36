//! Store adapter tests (app configs, releases, HEAD reads): DynamoDB answers mocked per
//! call, in order; errors come as the wire responses DynamoDB sends.

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::{PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemInput, UpdateItemOutput};
use aws_smithy_mocks::{mock, Rule};
use chrono::TimeZone;
use stevedore_core::release::{Release, ReleaseSpec, Trigger};

use super::*;
use crate::test_support::{captured, mocked_client};

pub(super) const TABLE: &str = "stevedore";
pub(super) const RELEASE_PK: &str = "APP#backend#STAGE#staging";

pub(super) fn store(rules: &[Rule]) -> Store {
    Store::new(mocked_client!(aws_sdk_dynamodb, rules), TABLE)
}

/// A DynamoDB error response body: `__type` carries the service's namespace prefix.
pub(super) fn dynamo_error(code: &str, message: &str) -> String {
    serde_json::json!({
        "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
        "message": message,
    })
    .to_string()
}

/// A TransactionCanceledException as DynamoDB sends it: one reason per item, in order.
pub(super) fn cancelled(codes: &[&str]) -> String {
    let reasons: Vec<serde_json::Value> = codes
        .iter()
        .map(|code| match *code {
            "None" => serde_json::json!({"Code": "None"}),
            code => serde_json::json!({"Code": code, "Message": "The conditional request failed"}),
        })
        .collect();
    serde_json::json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": format!(
            "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
            codes.join(", ")
        ),
        "CancellationReasons": reasons,
    })
    .to_string()
}

pub(super) fn key_of(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    key(pk.into(), sk.into())
}

pub(super) fn str_attr<'a>(
    item: &'a HashMap<String, AttributeValue>,
    name: &str,
) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

pub(super) fn pending_release(release_id: &str) -> Release {
    Release::new_pending(
        ReleaseSpec {
            release_id: release_id.into(),
            app: "backend".into(),
            stage: "staging".into(),
            repository: "backend".into(),
            digest: "sha256:abc".into(),
            tag: "develop-1a2b3c".into(),
            image_uri: "123456789012.dkr.ecr.us-east-1.amazonaws.com/backend@sha256:abc".into(),
            trigger: Trigger::Push,
            source_release_id: None,
            pushed_at: None,
            redeploy_task_definition_arn: None,
            redeploy_services: Default::default(),
        },
        chrono::Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap(),
    )
}

fn app_config() -> AppConfig {
    serde_json::from_value(serde_json::json!({
        "repository": "backend",
        "stages": {"staging": {"cluster": "demo", "service": "backend-staging", "tags": ["develop-*"]}},
    }))
    .unwrap()
}

fn config_item(config_text: Option<&str>) -> HashMap<String, AttributeValue> {
    let mut item = key_of("APP#backend", "CONFIG");
    item.insert("app".into(), s("backend"));
    item.insert("version".into(), n(3));
    if let Some(text) = config_text {
        item.insert("config".into(), s(text));
    }
    item
}

fn config_read(item: Option<HashMap<String, AttributeValue>>) -> Rule {
    mock!(Client::get_item)
        .match_requests(|r| {
            r.table_name() == Some(TABLE)
                && r.key() == Some(&key_of("APP#backend", "CONFIG"))
                && r.consistent_read() == Some(true)
        })
        .then_output(move || GetItemOutput::builder().set_item(item.clone()).build())
}

// ---- app configs ------------------------------------------------------------------------

#[tokio::test]
async fn put_app_config_writes_config_and_repository_index() {
    let updates = captured::<UpdateItemInput>();
    let puts = captured::<PutItemInput>();
    let (u, p, p2) = (updates.clone(), puts.clone(), puts.clone());
    let version = store(&[
        mock!(Client::update_item)
            .match_requests(move |r| {
                u.lock().unwrap().push(r.clone());
                true
            })
            .then_output(|| {
                UpdateItemOutput::builder()
                    .attributes("version", n(4))
                    .build()
            }),
        mock!(Client::put_item)
            .match_requests(move |r| {
                p.lock().unwrap().push(r.clone());
                true
            })
            .then_output(|| PutItemOutput::builder().build()),
        mock!(Client::put_item)
            .match_requests(move |r| {
                p2.lock().unwrap().push(r.clone());
                true
            })
            .then_output(|| PutItemOutput::builder().build()),
    ])
    .put_app_config(
        "backend",
        &app_config(),
        "stevedore.yaml",
        "2025-01-02T03:04:05.000Z",
    )
    .await
    .unwrap();
    assert_eq!(version, 4);

    let update = &updates.lock().unwrap()[0];
    assert_eq!(update.table_name(), Some(TABLE));
    assert_eq!(update.key(), Some(&key_of("APP#backend", "CONFIG")));
    assert!(update
        .update_expression()
        .unwrap()
        .ends_with("ADD version :one"));
    let values = update.expression_attribute_values().unwrap();
    let stored: AppConfig = serde_json::from_str(values[":config"].as_s().unwrap()).unwrap();
    assert_eq!(stored, app_config());
    assert_eq!(values[":repo"], s("backend"));
    assert_eq!(values[":file"], s("stevedore.yaml"));
    assert_eq!(values[":one"], n(1));
    assert_eq!(update.return_values(), Some(&ReturnValue::UpdatedNew));

    let index = puts.lock().unwrap()[0].item().unwrap().clone();
    assert_eq!(
        index,
        HashMap::from([
            ("PK".to_string(), s("REPO#backend")),
            ("SK".to_string(), s("APP#backend")),
            ("app".to_string(), s("backend")),
        ])
    );
    // Every configured app is listed under one key (the reconcile reads it).
    let listed = puts.lock().unwrap()[1].item().unwrap().clone();
    assert_eq!(listed["PK"], s("APPS"));
    assert_eq!(listed["SK"], s("APP#backend"));
}

#[tokio::test]
async fn get_app_config_reads_back_a_stored_config() {
    let text = serde_json::to_string(&app_config()).unwrap();
    let config = store(&[config_read(Some(config_item(Some(&text))))])
        .get_app_config("backend")
        .await
        .unwrap();
    assert_eq!(config, Some(app_config()));
}

#[tokio::test]
async fn get_app_config_of_an_unknown_app_is_none() {
    let config = store(&[config_read(None)])
        .get_app_config("backend")
        .await
        .unwrap();
    assert_eq!(config, None);
}

#[tokio::test]
async fn unreadable_stored_config_names_the_app() {
    let err = store(&[config_read(Some(config_item(Some("{\"repository\": 4"))))])
        .get_app_config("backend")
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "InvalidConfig");
    let text = err.to_string();
    assert!(text.contains("app `backend`"), "{text}");
    assert!(text.contains("unreadable"), "{text}");
    assert!(text.contains("apply it again"), "{text}");
}

#[tokio::test]
async fn stored_config_of_an_older_shape_names_the_app() {
    // Unknown fields are refused on the way out too.
    let text = r#"{"repository": "backend", "stages": {}, "region": "eu-west-1"}"#;
    let err = store(&[config_read(Some(config_item(Some(text))))])
        .get_app_config("backend")
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "InvalidConfig");
    assert!(err.to_string().contains("app `backend`"), "{err}");
}

#[tokio::test]
async fn stored_config_is_validated_again() {
    let text =
        r#"{"repository": "backend", "stages": {"staging": {"cluster": "", "service": "s"}}}"#;
    let err = store(&[config_read(Some(config_item(Some(text))))])
        .get_app_config("backend")
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "InvalidConfig");
    let text = err.to_string();
    assert!(text.contains("stored config"), "{text}");
    assert!(text.contains("backend"), "{text}");
}

#[tokio::test]
async fn config_item_without_config_text_names_the_app() {
    let err = store(&[config_read(Some(config_item(None)))])
        .get_app_config("backend")
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "InvalidConfig");
    assert!(err.to_string().contains("app `backend`"), "{err}");
}

#[tokio::test]
async fn apps_for_repository_reads_every_page_of_the_index() {
    let is_index_query = |r: &aws_sdk_dynamodb::operation::query::QueryInput| {
        r.key_condition_expression() == Some("PK = :pk")
            && r.expression_attribute_values()
                .is_some_and(|v| v.get(":pk") == Some(&s("REPO#backend")))
    };
    let first = mock!(Client::query)
        .match_requests(move |r| is_index_query(r) && r.exclusive_start_key().is_none())
        .then_output(|| {
            QueryOutput::builder()
                .items(HashMap::from([("app".to_string(), s("backend"))]))
                .items(HashMap::from([("PK".to_string(), s("REPO#backend"))]))
                .set_last_evaluated_key(Some(key_of("REPO#backend", "APP#backend")))
                .build()
        });
    let second = mock!(Client::query)
        .match_requests(move |r| {
            is_index_query(r)
                && r.exclusive_start_key() == Some(&key_of("REPO#backend", "APP#backend"))
        })
        .then_output(|| {
            QueryOutput::builder()
                .items(HashMap::from([("app".to_string(), s("backend-worker"))]))
                .build()
        });
    let apps = store(&[first, second])
        .apps_for_repository("backend")
        .await
        .unwrap();
    assert_eq!(
        apps,
        vec!["backend".to_string(), "backend-worker".to_string()]
    );
}

#[tokio::test]
async fn head_decodes_the_stage_head() {
    let rule = mock!(Client::get_item)
        .match_requests(|r| r.key() == Some(&key_of(RELEASE_PK, "HEAD")))
        .then_output(|| {
            let mut item = key_of(RELEASE_PK, "HEAD");
            item.insert("current_release".into(), s("01JOLD"));
            item.insert("lock_holder".into(), s("01JRELEASE"));
            item.insert("lock_expires_at".into(), n(1_700_000_900));
            GetItemOutput::builder().set_item(Some(item)).build()
        });
    let head = store(&[rule]).head("backend", "staging").await.unwrap();
    assert_eq!(
        head,
        Some(StageHead {
            current_release: Some("01JOLD".into()),
            current_task_definition_arn: None,
            lock_holder: Some("01JRELEASE".into()),
            lock_expires_at: Some(1_700_000_900),
            lock_execution_arn: None,
            awaiting_approval: None,
            updated_at: None,
            waiting: Default::default(),
            version: 0,
        })
    );
}
