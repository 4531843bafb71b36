use super::*;
use crate::secret::SecretId;

const EXAMPLE: &str = r#"apps:
  backend:
    repository: backend
    containers: [web]
    migration:
      command: ["bin/migrate", "up"]
      container: web
    stages:
      staging:
        cluster: demo
        service: backend-staging
        tags: ["develop-*", "main-*"]
        environment: {LOG_LEVEL: debug}
        secrets:
          DATABASE_URL: staging/backend/db
          DB_PASSWORD: staging/backend/db:password
          API_KEY: arn:aws:secretsmanager:us-east-1:123456789012:secret:staging/api-AbCdEf
      production:
        cluster: demo
        service: backend-production
        deploy_timeout_seconds: 1800
"#;

pub(super) fn error_for(yaml: &str) -> String {
    parse_file("stevedore.yaml", yaml)
        .expect_err("config should be rejected")
        .to_string()
}

/// EXAMPLE with `from` replaced by `to`, checking that the replacement happened.
pub(super) fn example_with(from: &str, to: &str) -> String {
    assert!(EXAMPLE.contains(from), "EXAMPLE has no {from:?}");
    EXAMPLE.replacen(from, to, 1)
}

#[test]
fn parses_the_example_with_defaults() {
    let file = parse_file("stevedore.yaml", EXAMPLE).expect("valid");
    let backend = file.app("backend").expect("backend");
    assert_eq!(backend.repository, "backend");
    assert_eq!(backend.containers, Some(vec!["web".to_string()]));
    let migration = backend.migration.as_ref().expect("migration");
    assert_eq!(migration.command, ["bin/migrate", "up"]);
    assert_eq!(migration.timeout_seconds, DEFAULT_MIGRATION_TIMEOUT_SECONDS);

    let staging = backend.stage("staging").expect("staging");
    assert_eq!(
        staging.deploy_timeout_seconds,
        DEFAULT_DEPLOY_TIMEOUT_SECONDS
    );
    assert_eq!(staging.tags, ["develop-*", "main-*"]);
    assert_eq!(staging.environment["LOG_LEVEL"], "debug");
    assert_eq!(
        staging.secrets["DB_PASSWORD"].json_key.as_deref(),
        Some("password")
    );
    assert!(matches!(
        staging.secrets["API_KEY"].secret,
        SecretId::Arn(_)
    ));

    let production = backend.stage("production").expect("production");
    assert!(production.tags.is_empty() && production.secrets.is_empty());
    assert_eq!(production.deploy_timeout_seconds, 1800);
}

#[test]
fn app_config_round_trips_through_json() {
    // The table stores each app's config as JSON text and validates it again on load.
    let file = parse_file("stevedore.yaml", EXAMPLE).expect("valid");
    let backend = &file.apps["backend"];
    let json = serde_json::to_string(backend).expect("serializes");
    let loaded: AppConfig = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(&loaded, backend);
    loaded.validate("table", "backend").expect("still valid");
}

#[test]
fn unknown_fields_are_errors_with_line_and_path() {
    let error = error_for(&example_with(
        "        cluster: demo\n        service: backend-staging",
        "        cluster: demo\n        tag: [x]\n        service: backend-staging",
    ));
    assert!(
        error.starts_with("stevedore.yaml:11: apps.backend.stages.staging: unknown field `tag`"),
        "{error}"
    );
}

#[test]
fn yaml_syntax_and_type_errors_carry_a_line() {
    let error = error_for("apps:\n  backend:\n    repository: [unclosed\n");
    assert!(error.starts_with("stevedore.yaml:"), "{error}");
    let error = error_for(&example_with(
        "deploy_timeout_seconds: 1800",
        "deploy_timeout_seconds: soon",
    ));
    assert!(error.starts_with("stevedore.yaml:21: apps.backend.stages.production.deploy_timeout_seconds: invalid type"), "{error}");
    let error = error_for("apps: {}\nextra: 1\n");
    assert!(error.contains("unknown field `extra`"), "{error}");
}

#[test]
fn bad_secret_references_are_located() {
    let error = error_for(&example_with(
        "staging/backend/db:password",
        "\"staging/backend/db:\"",
    ));
    // The entry itself, on its own line (serde_yaml could only name the `secrets` mapping).
    assert!(error.starts_with("stevedore.yaml:16: apps.backend.stages.staging.secrets.DB_PASSWORD: secret reference \"staging/backend/db:\" ends with `:` but names no JSON key"), "{error}");
}

#[test]
fn invalid_glob_names_the_tag() {
    let error = error_for(&example_with(
        r#"["develop-*", "main-*"]"#,
        r#"["develop-*", "["]"#,
    ));
    assert!(
        error.starts_with(
            r#"stevedore.yaml:12: apps.backend.stages.staging.tags[1]: invalid glob "[": "#
        ),
        "{error}"
    );
    let error = error_for(&example_with(
        r#"["develop-*", "main-*"]"#,
        r#"["develop-*", ""]"#,
    ));
    assert!(error.contains("tags[1]: empty tag pattern"), "{error}");
}

#[test]
fn app_and_stage_names_follow_the_name_rule() {
    let error = error_for(&example_with("  backend:", "  Backend:"));
    assert!(
        error.starts_with("stevedore.yaml:2: apps.Backend: app name \"Backend\""),
        "{error}"
    );
    let error = error_for(&example_with("      staging:", "      staging_eu:"));
    assert!(
        error.starts_with("stevedore.yaml:9: apps.backend.stages.staging_eu: stage name"),
        "{error}"
    );
    assert!(is_valid_name("a"));
    assert!(is_valid_name("backend-2"));
    assert!(is_valid_name(&"a".repeat(24)));
    assert!(!is_valid_name(&"a".repeat(25)));
    assert!(!is_valid_name("2backend"));
    assert!(!is_valid_name("-x"));
    assert!(!is_valid_name(""));
}

#[test]
fn repository_must_be_a_valid_ecr_name() {
    let error = error_for(&example_with("repository: backend", "repository: \"\""));
    assert!(
        error.starts_with("stevedore.yaml:3: apps.backend.repository: must not be empty"),
        "{error}"
    );
    let error = error_for(&example_with("repository: backend", "repository: Backend"));
    assert!(
        error.contains("apps.backend.repository: \"Backend\" is not a valid ECR repository name"),
        "{error}"
    );
    for valid in ["backend", "team/backend", "a.b_c-d/e", "ab"] {
        assert!(is_valid_repository_name(valid), "{valid}");
    }
    for invalid in [
        "a",
        "a--b",
        "a/",
        "/a",
        "a//b",
        "-ab",
        "ab.",
        "a b",
        &"a".repeat(257),
    ] {
        assert!(!is_valid_repository_name(invalid), "{invalid}");
    }
}

#[test]
fn apps_and_stages_must_exist() {
    assert_eq!(
        error_for("apps: {}\n"),
        "stevedore.yaml:1: apps: defines no apps"
    );
    let error = error_for("apps:\n  backend:\n    repository: backend\n    stages: {}\n");
    assert_eq!(
        error,
        "stevedore.yaml:4: apps.backend.stages: app `backend` defines no stages; add at least one"
    );
}

#[test]
fn cluster_and_service_must_not_be_empty() {
    let error = error_for(&example_with("cluster: demo", "cluster: \"\""));
    assert!(
        error.starts_with(
            "stevedore.yaml:10: apps.backend.stages.staging.cluster: must not be empty"
        ),
        "{error}"
    );
    let error = error_for(&example_with(
        "service: backend-production",
        "service: \"\"",
    ));
    assert!(
        error.starts_with(
            "stevedore.yaml:20: apps.backend.stages.production.service: must not be empty"
        ),
        "{error}"
    );
}

#[test]
fn environment_and_secret_names_are_checked() {
    let error = error_for(&example_with("{LOG_LEVEL: debug}", "{LOG-LEVEL: debug}"));
    assert!(error.starts_with("stevedore.yaml:13: apps.backend.stages.staging.environment.LOG-LEVEL: \"LOG-LEVEL\" is not a valid environment variable name"), "{error}");
    let error = error_for(&example_with("API_KEY:", "1API_KEY:"));
    assert!(
        error.contains("apps.backend.stages.staging.secrets.1API_KEY: \"1API_KEY\" is not a valid"),
        "{error}"
    );
    let error = error_for(&example_with("{LOG_LEVEL: debug}", "{API_KEY: x}"));
    assert!(error.contains("apps.backend.stages.staging.secrets.API_KEY: `API_KEY` is set in both `environment` and `secrets`"), "{error}");
    assert!(is_valid_env_name("_X1"));
    assert!(!is_valid_env_name(""));
}

#[test]
fn containers_must_be_non_empty_and_unique() {
    let error = error_for(&example_with("containers: [web]", "containers: []"));
    assert!(
        error.starts_with(
            "stevedore.yaml:4: apps.backend.containers: must list at least one container"
        ),
        "{error}"
    );
    let error = error_for(&example_with(
        "containers: [web]",
        "containers: [web, worker, web]",
    ));
    assert!(
        error.contains("apps.backend.containers[2]: container `web` is listed twice"),
        "{error}"
    );
    let error = error_for(&example_with("containers: [web]", "containers: [\"\"]"));
    assert!(
        error.contains("apps.backend.containers[0]: must not be empty"),
        "{error}"
    );
}

#[test]
fn migration_rules() {
    let error = error_for(&example_with(
        r#"command: ["bin/migrate", "up"]"#,
        "command: []",
    ));
    assert!(
        error
            .starts_with("stevedore.yaml:6: apps.backend.migration.command: must name the program"),
        "{error}"
    );
    let error = error_for(&example_with("container: web", "container: worker"));
    assert!(error.starts_with("stevedore.yaml:7: apps.backend.migration.container: container `worker` is not one of the app's containers (web)"), "{error}");
    // Without `containers`, the migration container is checked against the task definition at render time.
    parse_file(
        "stevedore.yaml",
        &example_with("    containers: [web]\n", ""),
    )
    .expect("valid");
}

#[test]
fn timeouts_are_range_checked() {
    let error = error_for(&example_with(
        "container: web",
        "container: web\n      timeout_seconds: 0",
    ));
    assert!(
        error.starts_with(
            "stevedore.yaml:8: apps.backend.migration.timeout_seconds: 0 is out of range 1..=86400"
        ),
        "{error}"
    );
    let error = error_for(&example_with(
        "deploy_timeout_seconds: 1800",
        "deploy_timeout_seconds: 29",
    ));
    assert!(error.starts_with("stevedore.yaml:21: apps.backend.stages.production.deploy_timeout_seconds: 29 is out of range 30..=86400"), "{error}");
    let error = error_for(&example_with(
        "deploy_timeout_seconds: 1800",
        "deploy_timeout_seconds: 86401",
    ));
    assert!(error.contains("86401 is out of range"), "{error}");
}

#[test]
fn app_validate_has_no_line() {
    let mut app = parse_file("stevedore.yaml", EXAMPLE).expect("valid").apps["backend"].clone();
    app.stages.clear();
    let error = app.validate("table", "backend").expect_err("no stages");
    assert_eq!(error.line, None);
    assert_eq!(error.path, "apps.backend.stages");
    assert_eq!(
        error.to_string(),
        "table: apps.backend.stages: app `backend` defines no stages; add at least one"
    );
}

#[test]
fn promote_from_must_name_another_stage() {
    let yaml = "apps:\n  web:\n    repository: web\n    stages:\n      staging:\n        cluster: c\n        service: s\n      production:\n        cluster: c\n        service: p\n        promote_from: [staging, qa]\n";
    let error = parse_file("stevedore.yaml", yaml).expect_err("qa is not a stage");
    assert!(
        error
            .to_string()
            .contains("apps.web.stages.production.promote_from[1]"),
        "{error}"
    );
    assert!(
        error.to_string().contains("`qa` is not another stage"),
        "{error}"
    );
    let ok = yaml.replace(", qa]", "]");
    let file = parse_file("stevedore.yaml", &ok).expect("valid");
    assert_eq!(
        file.apps["web"].stages["production"].promote_from,
        ["staging"]
    );
}
