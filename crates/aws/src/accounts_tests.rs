use super::*;
use aws_sdk_ecs::config::Credentials;

/// Stevedore's own configuration, every request answered by the mock client's dummy 418.
async fn base() -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKID", "SECRET", None, None, "test"))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .load()
        .await
}

fn target(account: &str, region: &str, role_arn: Option<&str>) -> StageTarget {
    StageTarget {
        account: account.into(),
        region: region.into(),
        role_arn: role_arn.map(str::to_string),
    }
}

#[tokio::test]
async fn home_needs_no_configuration_of_its_own() {
    let accounts = Accounts::new(&base().await, "render", "111111111111", "us-east-1");
    let home = target("111111111111", "us-east-1", None);
    assert!(accounts.sdk_for(&home, "r1").await.expect("home").is_none());
}

#[tokio::test]
async fn another_region_of_the_own_account_keeps_the_own_credentials() {
    let accounts = Accounts::new(&base().await, "render", "111111111111", "us-east-1");
    let elsewhere = target("111111111111", "eu-west-1", None);
    let config = accounts
        .sdk_for(&elsewhere, "r1")
        .await
        .expect("no role to assume")
        .expect("a configuration for eu-west-1");
    assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
}

#[tokio::test]
async fn a_role_that_cannot_be_assumed_is_named_before_anything_changes() {
    let accounts = Accounts::new(&base().await, "render", "111111111111", "us-east-1");
    let role = "arn:aws:iam::222222222222:role/stevedore-target";
    let error = accounts
        .sdk_for(&target("222222222222", "eu-west-1", Some(role)), "r1")
        .await
        .expect_err("STS answered with an error");
    assert_eq!(error.error_type(), "AwsError");
    let message = error.to_string();
    assert!(message.contains("could not assume role arn:aws:iam::222222222222:role/stevedore-target in account 222222222222"), "{message}");
    assert!(message.contains("template-target.yaml"), "{message}");
}

#[test]
fn session_names_keep_to_sts_rules_and_the_release_id() {
    assert_eq!(
        session_name("stevedore-render", "01JABCDEF"),
        "stevedore-render-01JABCDEF"
    );
    let long = session_name(&"f".repeat(80), "01J0000000000000000000RELEASE");
    assert_eq!(long.len(), 64);
    assert!(long.ends_with("-01J0000000000000000000RELEASE"), "{long}");
    assert_eq!(session_name("my fn/x", "r#1"), "my-fn-x-r-1");
    assert_eq!(session_name("", "r1"), "stevedore-r1");
    for name in [long, session_name("a:b", "c")] {
        assert!(name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)));
    }
}
