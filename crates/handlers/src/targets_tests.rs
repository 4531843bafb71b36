use super::*;

const YAML: &str = r#"
apps:
  backend:
    repository: backend
    stages:
      staging: {cluster: c, service: s, tags: ["*"]}
      production: {cluster: c, service: p, tags: ["*"], account: "222222222222", region: eu-west-1}
      europe: {cluster: c, service: e, tags: ["*"], region: eu-west-1}
"#;

fn on_push() -> OnPush {
    let sdk = SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .build();
    OnPush {
        store: Store::from_sdk(&sdk, "t"),
        ecr: stevedore_aws::Ecr::from_sdk(&sdk),
        sfn: stevedore_aws::StepFunctions::from_sdk(&sdk),
        deploy_state_machine_arn: "sm".into(),
        account: "111111111111".into(),
        region: "us-east-1".into(),
    }
}

fn stages(account: &str, region: &str) -> Result<Vec<String>, String> {
    let file = stevedore_core::config::parse_file("stevedore.yaml", YAML).expect("valid");
    let matched = stevedore_core::routing::stages_for_push(&file.apps, "backend", "v1");
    let registry = Registry {
        account: account.into(),
        region: region.into(),
    };
    registry
        .stages_fed(&on_push(), &file.apps, matched)
        .map(|targets| targets.into_iter().map(|t| t.stage).collect())
}

#[test]
fn the_own_registry_feeds_every_stage() {
    assert_eq!(
        stages("111111111111", "us-east-1").expect("fed"),
        ["europe", "production", "staging"]
    );
}

#[test]
fn a_workload_registry_feeds_only_its_own_stages() {
    assert_eq!(
        stages("222222222222", "eu-west-1").expect("fed"),
        ["production"]
    );
    assert_eq!(
        stages("111111111111", "eu-west-1").expect("fed"),
        ["europe"]
    );
    let why = stages("333333333333", "eu-west-1").expect_err("nobody's");
    assert!(
        why.contains("push in account 333333333333 region eu-west-1"),
        "{why}"
    );
}

#[test]
fn the_hook_role_lives_beside_the_service() {
    let file = stevedore_core::config::parse_file("stevedore.yaml", YAML).expect("valid");
    let stage = file.apps["backend"].stage("production").expect("stage");
    let target = stage.target("111111111111", "us-east-1");
    let home = HookTarget {
        function_arn: "arn:aws:lambda:us-east-1:111111111111:function:hook".into(),
        role_arn: "arn:aws:iam::111111111111:role/hook".into(),
    };
    let hook = hook_in(&target, stage, &home);
    assert_eq!(hook.function_arn, home.function_arn);
    assert_eq!(
        hook.role_arn,
        "arn:aws:iam::222222222222:role/stevedore-target-ecs-hook"
    );
}

#[test]
fn a_release_image_may_come_from_the_stages_own_registry_only() {
    let arn = "arn:aws:states:us-east-1:111111111111:execution:stevedore-deploy:r1";
    let execution = ExecutionArn::parse(arn).expect("execution ARN");
    let target = StageTarget {
        account: "222222222222".into(),
        region: "eu-west-1".into(),
        role_arn: Some("arn:aws:iam::222222222222:role/stevedore-target".into()),
    };
    let there = image_registry(
        &execution,
        &target,
        "222222222222.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:00",
    );
    assert_eq!((there.account, there.region), ("222222222222", "eu-west-1"));
    // Any other registry is checked against Stevedore's own (and refused unless it is that).
    let other = image_registry(
        &execution,
        &target,
        "333333333333.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:00",
    );
    assert_eq!((other.account, other.region), ("111111111111", "us-east-1"));
}

#[test]
fn an_ecs_migration_in_another_region_is_refused_naming_both_regions() {
    let file = stevedore_core::config::parse_file(
        "stevedore.yaml",
        &YAML.replace(
            "    repository: backend\n",
            "    repository: backend\n    migration: {command: [migrate]}\n",
        ),
    )
    .expect("valid");
    let app = &file.apps["backend"];
    let europe = app
        .stage("europe")
        .expect("stage")
        .target("111111111111", "us-east-1");
    let error = check_migration_region(app, &europe, "us-east-1").expect_err("refused");
    assert_eq!(error.error_type(), "InvalidConfig");
    assert!(error.to_string().contains("region eu-west-1"), "{error}");
    let home = app
        .stage("staging")
        .expect("stage")
        .target("111111111111", "us-east-1");
    assert!(check_migration_region(app, &home, "us-east-1").is_ok());
}
