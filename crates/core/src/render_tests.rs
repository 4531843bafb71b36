use super::*;
use crate::config::parse_file;

const ECR: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const NEW_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/backend@sha256:ab";
const DB_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:staging/backend/db-AbCdEf";

fn app(extra: &str) -> AppConfig {
    let yaml = format!(
        "apps:\n  backend:\n    repository: backend\n{extra}    stages:\n      staging:\n        cluster: c\n        service: s\n        environment: {{LOG_LEVEL: debug}}\n        secrets: {{DB_PASSWORD: \"staging/backend/db:password\"}}\n"
    );
    parse_file("stevedore.yaml", &yaml).expect("valid").apps["backend"].clone()
}

fn task_definition() -> Vec<ContainerSummary> {
    [
        ("web", format!("{ECR}/backend:develop-1")),
        ("sidecar", "public.ecr.aws/datadog/agent:7".to_string()),
        ("worker", format!("{ECR}/backend@sha256:00")),
    ]
    .into_iter()
    .map(|(name, image)| ContainerSummary {
        name: name.into(),
        image,
    })
    .collect()
}

fn resolved() -> BTreeMap<String, String> {
    BTreeMap::from([("DB_PASSWORD".to_string(), format!("{DB_ARN}:password::"))])
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

#[test]
fn defaults_to_the_containers_from_the_repository() {
    assert_eq!(
        target_containers(&app(""), &task_definition(), NEW_IMAGE).expect("found"),
        ["web", "worker"]
    );
}

#[test]
fn explicit_containers_are_used_in_config_order() {
    let app = app("    containers: [worker, sidecar]\n");
    assert_eq!(
        target_containers(&app, &task_definition(), NEW_IMAGE).expect("found"),
        ["worker", "sidecar"]
    );
}

#[test]
fn missing_explicit_container_names_it_and_lists_the_present_ones() {
    let app = app("    containers: [web, api, cron]\n");
    let error = target_containers(&app, &task_definition(), NEW_IMAGE).expect_err("missing");
    assert_eq!(error.error_type(), "ContainerNotFound");
    let message = error.to_string();
    assert!(
        message.starts_with("the task definition has no container `api`, `cron`; it has `web` ("),
        "{message}"
    );
    assert!(
        message.contains("`sidecar` (public.ecr.aws/datadog/agent:7)"),
        "{message}"
    );
}

#[test]
fn no_container_from_the_repository_suggests_containers() {
    let mut app = app("");
    app.repository = "frontend".into();
    let message = target_containers(&app, &task_definition(), NEW_IMAGE)
        .expect_err("none")
        .to_string();
    assert!(message.contains("repository `frontend`"), "{message}");
    assert!(message.contains("`containers:`"), "{message}");
}

/// The task definition plus sidecars whose images share the repository name `backend` but
/// live in other registries.
fn task_definition_with_foreign_sidecars() -> Vec<ContainerSummary> {
    let mut containers = task_definition();
    for (name, image) in [
        (
            "other-account",
            "999999999999.dkr.ecr.us-east-1.amazonaws.com/backend:sidecar",
        ),
        (
            "other-region",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/backend:sidecar",
        ),
        ("docker-hub", "backend:latest"),
    ] {
        containers.push(ContainerSummary {
            name: name.into(),
            image: image.into(),
        });
    }
    containers
}

#[test]
fn same_repository_name_in_another_registry_is_not_a_target() {
    let app = app("");
    assert_eq!(
        target_containers(&app, &task_definition_with_foreign_sidecars(), NEW_IMAGE)
            .expect("found"),
        ["web", "worker"]
    );
    let changes = plan_render(
        &app,
        &app.stages["staging"],
        &task_definition_with_foreign_sidecars(),
        NEW_IMAGE,
        &resolved(),
    )
    .expect("plan");
    let changed: Vec<&str> = changes.iter().map(|change| change.name.as_str()).collect();
    assert_eq!(changed, ["web", "worker"]);
}

#[test]
fn only_foreign_images_of_the_repository_name_is_container_not_found() {
    let foreign: Vec<ContainerSummary> = task_definition_with_foreign_sidecars()
        .into_iter()
        .filter(|container| !["web", "worker"].contains(&container.name.as_str()))
        .collect();
    let error = target_containers(&app(""), &foreign, NEW_IMAGE).expect_err("none ours");
    assert_eq!(error.error_type(), "ContainerNotFound");
    let message = error.to_string();
    assert!(
        message.contains("repository `backend` of account 123456789012 in us-east-1"),
        "{message}"
    );
    // A release image outside ECR cannot name the app's registry.
    let error =
        target_containers(&app(""), &task_definition(), "backend@sha256:ab").expect_err("not ECR");
    assert!(
        error
            .to_string()
            .contains("is not in an ECR private registry"),
        "{error}"
    );
}

#[test]
fn explicit_containers_may_name_any_container() {
    // Listing a container is the person's decision, whatever registry its image is from.
    let app = app("    containers: [web, other-account]\n");
    assert_eq!(
        target_containers(&app, &task_definition_with_foreign_sidecars(), NEW_IMAGE)
            .expect("found"),
        ["web", "other-account"]
    );
}

#[test]
fn plan_sets_image_environment_and_secrets_on_every_target() {
    let app = app("");
    let changes = plan_render(
        &app,
        &app.stages["staging"],
        &task_definition(),
        NEW_IMAGE,
        &resolved(),
    )
    .expect("plan");
    assert_eq!(changes.len(), 2);
    for change in &changes {
        assert_eq!(change.image, NEW_IMAGE);
        assert_eq!(change.environment["LOG_LEVEL"], "debug");
        assert_eq!(
            change.secrets["DB_PASSWORD"],
            format!("{DB_ARN}:password::")
        );
    }
}

#[test]
fn json_key_value_from_matches_the_ecs_form() {
    let app = app("");
    let secret_ref = &app.stages["staging"].secrets["DB_PASSWORD"];
    assert_eq!(secret_ref.lookup_id(), "staging/backend/db");
    assert_eq!(secret_ref.value_from(DB_ARN), resolved()["DB_PASSWORD"]);
}

#[test]
fn unresolved_secret_is_secret_not_found() {
    let app = app("");
    let error = plan_render(
        &app,
        &app.stages["staging"],
        &task_definition(),
        NEW_IMAGE,
        &BTreeMap::new(),
    )
    .expect_err("unresolved");
    assert_eq!(
        error,
        Error::SecretNotFound(
            "secrets not resolved: `DB_PASSWORD` (staging/backend/db:password)".into()
        )
    );
}

#[test]
fn migration_container_must_exist() {
    let app = app("    migration:\n      command: [migrate]\n      container: jobs\n");
    let error = plan_render(
        &app,
        &app.stages["staging"],
        &task_definition(),
        NEW_IMAGE,
        &resolved(),
    )
    .expect_err("missing");
    assert!(error
        .to_string()
        .starts_with("the migration container `jobs` is not in the task definition"));
}

#[test]
fn migration_container_defaults_to_the_first_target() {
    let targets = ["web".to_string(), "worker".to_string()];
    assert_eq!(migration_container(&app(""), &targets), None);
    let default = app("    migration:\n      command: [migrate]\n");
    assert_eq!(
        migration_container(&default, &targets).as_deref(),
        Some("web")
    );
    let explicit = app("    migration:\n      command: [migrate]\n      container: worker\n");
    assert_eq!(
        migration_container(&explicit, &targets).as_deref(),
        Some("worker")
    );
}

#[test]
fn environment_merge_overrides_and_drops_names_that_became_secrets() {
    let change = ContainerChange {
        name: "web".into(),
        image: NEW_IMAGE.into(),
        environment: BTreeMap::from([
            ("LOG_LEVEL".into(), "debug".into()),
            ("NEW".into(), "1".into()),
        ]),
        secrets: BTreeMap::from([("DB_PASSWORD".into(), "arn:x".into())]),
    };
    let existing = pairs(&[
        ("PORT", "8080"),
        ("LOG_LEVEL", "info"),
        ("DB_PASSWORD", "plaintext"),
    ]);
    assert_eq!(
        merge_environment(&existing, &change),
        pairs(&[("LOG_LEVEL", "debug"), ("NEW", "1"), ("PORT", "8080")])
    );
}

#[test]
fn secrets_merge_replaces_same_named_and_drops_names_now_plain() {
    let change = ContainerChange {
        name: "web".into(),
        image: NEW_IMAGE.into(),
        environment: BTreeMap::from([("FEATURE".into(), "on".into())]),
        secrets: BTreeMap::from([("DB_PASSWORD".into(), "arn:new".into())]),
    };
    let existing = pairs(&[
        ("DB_PASSWORD", "arn:old"),
        ("SENTRY_DSN", "arn:s"),
        ("FEATURE", "arn:f"),
    ]);
    assert_eq!(
        merge_secrets(&existing, &change),
        pairs(&[("DB_PASSWORD", "arn:new"), ("SENTRY_DSN", "arn:s")])
    );
}

#[test]
fn a_render_plan_collects_every_problem_and_keeps_the_containers_it_found() {
    let app = app(
        "    containers: [web, api]\n    migration:\n      command: [migrate]\n      container: api\n",
    );
    let plan = render_plan(
        &app,
        &app.stages["staging"],
        &task_definition(),
        NEW_IMAGE,
        &resolved(),
    );
    assert_eq!(plan.targets, ["web"]);
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(plan.changes[0].image, NEW_IMAGE);
    let kinds: Vec<&str> = plan.problems.iter().map(Error::error_type).collect();
    assert_eq!(kinds, ["ContainerNotFound", "ContainerNotFound"]);
    assert!(plan.problems[0].to_string().contains("no container `api`"));
    assert!(plan.problems[1]
        .to_string()
        .starts_with("the migration container `api` is not in the task definition"));
    // plan_render fails on the first of them, as render does.
    let first = plan_render(
        &app,
        &app.stages["staging"],
        &task_definition(),
        NEW_IMAGE,
        &resolved(),
    )
    .expect_err("unknown container");
    assert_eq!(first, plan.problems[0]);
}
