use super::*;
use aws_sdk_secretsmanager::operation::describe_secret::{
    DescribeSecretError, DescribeSecretOutput,
};
use aws_sdk_secretsmanager::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use stevedore_core::release::Trigger;

const REGION: &str = "us-east-1";

fn release() -> ReleaseSpec {
    ReleaseSpec {
        release_id: "01JD3Q8Z0000000000000000AB".into(),
        app: "web".into(),
        stage: "staging".into(),
        repository: "web".into(),
        digest: "sha256:ab".into(),
        tag: "develop-1".into(),
        image_uri: "uri".into(),
        trigger: Trigger::Push,
        source_release_id: None,
        pushed_at: None,
        redeploy_task_definition_arn: None,
        redeploy_services: Default::default(),
    }
}

fn stage(secrets: &[(&str, &str)]) -> StageConfig {
    serde_json::from_value(serde_json::json!({
        "cluster": "demo", "service": "web-staging",
        "secrets": secrets.iter().cloned().collect::<BTreeMap<_, _>>(),
    }))
    .expect("stage config")
}

/// A render context whose only answering client is Secrets Manager (`rules`); any other
/// AWS call fails the test.
fn render_with(rules: &[&aws_smithy_mocks::Rule]) -> Render {
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .build();
    Render {
        store: Store::from_sdk(&sdk, "unused"),
        ecs: Ecs::from_sdk(&sdk),
        secrets: SecretsManager::new(mock_client!(
            aws_sdk_secretsmanager,
            RuleMode::MatchAny,
            rules
        )),
        parameters: ParameterStore::new(mock_client!(aws_sdk_ssm, RuleMode::MatchAny, [])),
        schedules: stevedore_aws::Schedules::from_sdk(&sdk),
        region: REGION.into(),
        account: "123456789012".into(),
        hook: HookTarget {
            function_arn: "arn:aws:lambda:us-east-1:1:function:hook".into(),
            role_arn: "arn:aws:iam::1:role/hook".into(),
        },
        accounts: None,
    }
}

/// Render stops at the first problem.
fn first() -> Problems {
    Problems::new(Checking::FirstProblem)
}

fn secrets_answering(name: &'static str, arn: &'static str) -> Render {
    let rule = mock!(Client::describe_secret)
        .then_output(move || DescribeSecretOutput::builder().name(name).arn(arn).build());
    render_with(&[&rule])
}

#[tokio::test]
async fn names_resolve_to_full_arns_and_json_keys() {
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:staging/web/db-AbCdEf";
    let secrets = secrets_answering("staging/web/db", arn);
    let resolved = resolve_secrets(
        &secrets,
        &release(),
        &stage(&[("DB_PASSWORD", "staging/web/db:password")]),
        &mut first(),
    )
    .await
    .expect("resolves");
    assert_eq!(resolved["DB_PASSWORD"], format!("{arn}:password::"));
}

#[tokio::test]
async fn a_name_read_as_another_secrets_partial_arn_is_ambiguous() {
    // Secrets Manager reads `staging/web/db-AbCdEf` as the partial ARN of `staging/web/db`.
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:staging/web/db-AbCdEf";
    let secrets = secrets_answering("staging/web/db", arn);
    let err = resolve_secrets(
        &secrets,
        &release(),
        &stage(&[("DB", "staging/web/db-AbCdEf")]),
        &mut first(),
    )
    .await
    .expect_err("ambiguous");
    assert_eq!(err.error_type(), "InvalidConfig");
    let text = err.to_string();
    assert!(
        text.contains("`staging/web/db-AbCdEf` (for DB) is ambiguous"),
        "{text}"
    );
    assert!(text.contains("full ARN"), "{text}");
}

#[tokio::test]
async fn an_arn_from_another_region_is_refused_before_any_call() {
    // No rule would answer: a DescribeSecret call here would fail the test.
    let secrets = render_with(&[]);
    let remote = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:staging/remote-AbCdEf";
    let err = resolve_secrets(
        &secrets,
        &release(),
        &stage(&[("TOKEN", remote)]),
        &mut first(),
    )
    .await
    .expect_err("other region");
    assert_eq!(err.error_type(), "InvalidConfig");
    assert!(
        err.to_string()
            .contains("is in region eu-west-1, not us-east-1"),
        "{err}"
    );
}

#[tokio::test]
async fn a_dry_run_gets_the_wrong_and_the_missing_secrets_render_stops_at_the_wrong_ones() {
    let not_found = mock!(Client::describe_secret).then_error(|| {
        DescribeSecretError::ResourceNotFoundException(
            aws_sdk_secretsmanager::types::error::ResourceNotFoundException::builder()
                .meta(
                    aws_sdk_secretsmanager::error::ErrorMetadata::builder()
                        .code("ResourceNotFoundException")
                        .build(),
                )
                .build(),
        )
    });
    let ctx = render_with(&[&not_found]);
    let remote = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:staging/remote-AbCdEf";
    let stage = stage(&[("TOKEN", remote), ("DB", "staging/web/db")]);
    let mut every = Problems::new(Checking::EveryProblem);
    let resolved = resolve_secrets(&ctx, &release(), &stage, &mut every)
        .await
        .expect("problems are collected, not returned");
    assert!(resolved.is_empty());
    let problems = every.into_vec();
    let kinds: Vec<&str> = problems.iter().map(Error::error_type).collect();
    assert_eq!(kinds, ["InvalidConfig", "SecretNotFound"]);
    assert!(problems[1]
        .to_string()
        .contains("secret `staging/web/db` (for DB)"));
    let err = resolve_secrets(&ctx, &release(), &stage, &mut first())
        .await
        .expect_err("render fails");
    assert_eq!(err, problems[0]);
}
