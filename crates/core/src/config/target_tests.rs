use super::super::parse_file;
use super::super::tests_support::{error_for, example_with};
use super::*;

const DEPLOY_TIMEOUT: &str = "        deploy_timeout_seconds: 1800\n";

fn with_target(keys: &str) -> String {
    example_with(DEPLOY_TIMEOUT, &format!("{DEPLOY_TIMEOUT}{keys}"))
}

#[test]
fn a_stage_in_another_account_assumes_the_default_role_there() {
    let yaml = with_target("        account: \"222222222222\"\n        region: eu-west-1\n");
    let file = parse_file("stevedore.yaml", &yaml).expect("valid");
    let stage = file.apps["backend"].stage("production").expect("stage");
    let target = stage.target("111111111111", "us-east-1");
    assert_eq!(target.account, "222222222222");
    assert_eq!(target.region, "eu-west-1");
    assert_eq!(
        target.role_arn.as_deref(),
        Some("arn:aws:iam::222222222222:role/stevedore-target")
    );
    assert!(!target.is_home("111111111111", "us-east-1"));
}

#[test]
fn role_name_and_partition_come_into_the_role_arn() {
    let yaml = with_target("        account: \"222222222222\"\n        region: cn-north-1\n        role_name: deployer@team.x\n");
    let file = parse_file("stevedore.yaml", &yaml).expect("valid");
    let stage = file.apps["backend"].stage("production").expect("stage");
    assert_eq!(
        stage
            .target("111111111111", "cn-north-1")
            .role_arn
            .as_deref(),
        Some("arn:aws-cn:iam::222222222222:role/deployer@team.x")
    );
}

#[test]
fn a_stage_without_account_stays_home_and_assumes_nothing() {
    let file = parse_file("stevedore.yaml", &with_target("")).expect("valid");
    let stage = file.apps["backend"].stage("production").expect("stage");
    let target = stage.target("111111111111", "us-east-1");
    assert!(target.is_home("111111111111", "us-east-1"));
    assert_eq!(target.role_arn, None);
    assert!(!stage.has_own_target());
    // Its own account named explicitly is still home: no role to assume.
    let yaml = with_target("        account: \"111111111111\"\n        region: eu-west-1\n");
    let file = parse_file("stevedore.yaml", &yaml).expect("valid");
    let stage = file.apps["backend"].stage("production").expect("stage");
    let target = stage.target("111111111111", "us-east-1");
    assert_eq!(
        (target.region.as_str(), target.role_arn),
        ("eu-west-1", None)
    );
}

#[test]
fn wrong_targets_are_named_with_their_field() {
    let cases = [
        (
            "        account: \"12345\"\n",
            "production.account: \"12345\" is not an AWS account id",
        ),
        (
            "        account: \"12345678901a\"\n",
            "production.account: \"12345678901a\" is not an AWS account id",
        ),
        (
            "        region: EU-West-1\n",
            "production.region: \"EU-West-1\" is not an AWS region code",
        ),
        (
            "        region: eu-west\n",
            "production.region: \"eu-west\" is not an AWS region code",
        ),
        (
            "        account: \"222222222222\"\n        role_name: \"has space\"\n",
            "production.role_name: \"has space\" is not an IAM role name",
        ),
        (
            &format!(
                "        account: \"222222222222\"\n        role_name: {}\n",
                "r".repeat(65)
            ),
            "is not an IAM role name",
        ),
        (
            "        role_name: stevedore-target\n",
            "production.role_name: is only used with `account`",
        ),
    ];
    for (keys, expected) in cases {
        let error = error_for(&with_target(keys));
        assert!(error.contains(expected), "{keys:?}: {error}");
    }
}

#[test]
fn name_rules_match_aws_documented_shapes() {
    assert!(is_valid_account_id("000000000000"));
    assert!(!is_valid_account_id("0000000000000"));
    for region in [
        "us-east-1",
        "ap-southeast-2",
        "us-gov-west-1",
        "eu-central-2",
    ] {
        assert!(is_valid_region(region), "{region}");
    }
    for region in ["", "us-east-", "us-1", "us-east-1a", "us_east-1"] {
        assert!(!is_valid_region(region), "{region}");
    }
    assert!(is_valid_role_name("a"));
    assert!(is_valid_role_name("Team_+=,.@-1"));
    assert!(is_valid_role_name(&"r".repeat(64)));
    assert!(!is_valid_role_name(""));
    assert!(!is_valid_role_name("a/b"));
    assert_eq!(partition_of("us-gov-east-1"), "aws-us-gov");
    assert_eq!(partition_of("eu-west-1"), "aws");
}
