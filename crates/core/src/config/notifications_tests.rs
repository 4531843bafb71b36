use super::tests_support::{error_for, example_with};
use super::*;
use crate::release::event::EventStatus;

const APP_SLACK: &str = "    notifications:
      - slack: stevedore/notifications/backend-slack
    stages:
";

fn with_app_slack() -> String {
    example_with("    stages:\n", APP_SLACK)
}

/// The example with app-level Slack and `stage_tail` appended to the production stage.
fn with_production(stage_tail: &str) -> String {
    with_app_slack().replacen(
        "        deploy_timeout_seconds: 1800\n",
        &format!("        deploy_timeout_seconds: 1800\n{stage_tail}"),
        1,
    )
}

#[test]
fn a_stage_list_replaces_the_apps_and_keeps_its_filter() {
    let yaml = with_production(
        "        notifications:
          - webhook: arn:aws:secretsmanager:us-east-1:123456789012:secret:stevedore/notifications/audit-AbCdEf
            on: [SUCCEEDED, ROLLED_BACK]
          - slack: stevedore/notifications/prod-slack
",
    );
    let file = parse_file("stevedore.yaml", &yaml).expect("valid");
    let backend = &file.apps["backend"];

    let staging = backend.notification_targets("backend", "staging");
    assert_eq!(staging.len(), 1);
    assert_eq!(staging[0].0, "apps.backend.notifications[0]");
    let (kind, secret) = staging[0].1.destination().expect("one destination");
    assert_eq!(kind, TargetKind::Slack);
    assert_eq!(secret.secret_id(), "stevedore/notifications/backend-slack");
    assert_eq!(staging[0].1.on, None);

    let production = backend.notification_targets("backend", "production");
    let paths: Vec<&str> = production.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "apps.backend.stages.production.notifications[0]",
            "apps.backend.stages.production.notifications[1]"
        ]
    );
    let (kind, secret) = production[0].1.destination().expect("one destination");
    assert_eq!(kind, TargetKind::Webhook);
    assert!(secret
        .secret_id()
        .ends_with(":secret:stevedore/notifications/audit-AbCdEf"));
    assert_eq!(
        production[0].1.on,
        Some(vec![EventStatus::Succeeded, EventStatus::RolledBack])
    );
    // A stage this config does not know falls back to the app's list.
    assert_eq!(backend.notification_targets("backend", "qa").len(), 1);
}

#[test]
fn an_empty_stage_list_silences_the_stage() {
    let yaml = with_production("        notifications: []\n");
    let file = parse_file("stevedore.yaml", &yaml).expect("valid");
    assert!(file.apps["backend"]
        .notification_targets("backend", "production")
        .is_empty());
}

#[test]
fn production_is_explicit_or_follows_the_stage_name() {
    for (name, expected) in [
        ("production", true),
        ("prod", true),
        ("prod-eu", true),
        ("production-us", true),
        ("staging", false),
        ("products", false),
        ("preprod", false),
    ] {
        assert_eq!(is_production_name(name), expected, "{name}");
    }
    let yaml = with_production("        production: false\n").replacen(
        "        tags: [\"develop-*\", \"main-*\"]\n",
        "        tags: [\"develop-*\", \"main-*\"]\n        production: true\n",
        1,
    );
    let file = parse_file("stevedore.yaml", &yaml).expect("valid");
    let backend = &file.apps["backend"];
    assert!(!backend.stages["production"].is_production("production"));
    assert!(backend.stages["staging"].is_production("staging"));
    let default = parse_file("stevedore.yaml", &with_app_slack()).expect("valid");
    assert!(default.apps["backend"].stages["production"].is_production("production"));
    assert!(!default.apps["backend"].stages["staging"].is_production("staging"));
}

#[test]
fn notifications_round_trip_through_json() {
    let yaml = with_production("        production: true\n        notifications:\n          - webhook: stevedore/notifications/audit\n            on: [FAILED]\n");
    let file = parse_file("stevedore.yaml", &yaml).expect("valid");
    let backend = &file.apps["backend"];
    let json = serde_json::to_string(backend).expect("serializes");
    assert!(
        json.contains(r#""slack":"stevedore/notifications/backend-slack""#),
        "{json}"
    );
    assert!(json.contains(r#""on":["FAILED"]"#), "{json}");
    let loaded: AppConfig = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(&loaded, backend);
    loaded.validate("table", "backend").expect("still valid");
}

#[test]
fn a_url_in_place_of_a_secret_is_refused_without_repeating_it() {
    let url = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
    let error = error_for(&example_with(
        "    stages:\n",
        &format!("    notifications:\n      - slack: {url}\n    stages:\n"),
    ));
    assert!(
        error.starts_with(
            "stevedore.yaml:9: apps.backend.notifications[0].slack: looks like a URL: put the URL in a Secrets Manager secret"
        ),
        "{error}"
    );
    assert!(
        !error.contains("XXXXSECRET") && !error.contains("hooks.slack"),
        "{error}"
    );
    let error = error_for(&with_production(
        "        notifications:\n          - webhook: \"http://127.0.0.1:9/hook\"\n",
    ));
    assert!(
        error.contains("apps.backend.stages.production.notifications[0].webhook: looks like a URL"),
        "{error}"
    );
}

#[test]
fn each_destination_is_checked_and_located() {
    let cases = [
        (
            "          - on: [FAILED]\n",
            "stevedore.yaml:25: apps.backend.stages.production.notifications[0]: needs `slack` or `webhook`",
        ),
        (
            "          - slack: stevedore/notifications/a\n            webhook: stevedore/notifications/b\n",
            "stevedore.yaml:25: apps.backend.stages.production.notifications[0]: sets both `slack` and `webhook`",
        ),
        (
            "          - slack: stevedore/notifications/a\n            on: []\n",
            "stevedore.yaml:26: apps.backend.stages.production.notifications[0].on: lists no status",
        ),
        (
            "          - slack: stevedore/notifications/a\n            on: [FAILED, ABORTED, FAILED]\n",
            "apps.backend.stages.production.notifications[0].on[2]: FAILED is listed twice",
        ),
        (
            "          - slack: stevedore/notifications/a\n            on: [failed]\n",
            "stevedore.yaml:26: apps.backend.stages.production.notifications[0].on[0]: unknown variant `failed`",
        ),
        (
            "          - slack: stevedore/notifications/a\n          - webhook: stevedore/notifications/a\n",
            "stevedore.yaml:26: apps.backend.stages.production.notifications[1]: secret `stevedore/notifications/a` is listed twice",
        ),
        (
            "          - slack: ssm:/stevedore/slack\n",
            "notifications[0].slack: \"ssm:/stevedore/slack\": notification URLs are read from Secrets Manager only",
        ),
        (
            "          - slack: stevedore/notifications/a:url\n",
            "notifications[0].slack: \"stevedore/notifications/a:url\": name the secret without a JSON key",
        ),
        (
            "          - slack: stevedore/notifications/a\n            channel: \"#deploys\"\n",
            "notifications[0]: unknown field `channel`",
        ),
    ];
    for (entries, expected) in cases {
        let error = error_for(&with_production(&format!(
            "        notifications:\n{entries}"
        )));
        assert!(error.contains(expected), "expected {expected:?} in {error}");
    }
}

#[test]
fn at_most_ten_destinations() {
    let many: String = (0..=MAX_NOTIFICATION_TARGETS)
        .map(|i| format!("      - webhook: stevedore/notifications/hook-{i}\n"))
        .collect();
    let error = error_for(&example_with(
        "    stages:\n",
        &format!("    notifications:\n{many}    stages:\n"),
    ));
    assert!(
        error.starts_with(
            "stevedore.yaml:8: apps.backend.notifications: lists 11 destinations; at most 10"
        ),
        "{error}"
    );
}
