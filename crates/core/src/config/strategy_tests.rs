use super::tests_support::{error_for, example_with};
use super::*;

const BLUE_GREEN: &str = "        deploy_timeout_seconds: 1800
        strategy: blue_green
        bake_minutes: 10
        smoke_test:
          test_url: http://internal-web.example.com:8080/healthz
";

#[test]
fn blue_green_parses_with_smoke_test_defaults() {
    let yaml = example_with("        deploy_timeout_seconds: 1800\n", BLUE_GREEN);
    let file = parse_file("stevedore.yaml", &yaml).expect("valid");
    let production = file.apps["backend"].stage("production").expect("stage");
    assert_eq!(production.strategy, Strategy::BlueGreen);
    assert_eq!(production.bake_minutes, Some(10));
    let smoke = production.smoke_test.as_ref().expect("smoke test");
    assert_eq!(smoke.expect_status, 200);
    assert_eq!(smoke.attempts, 5);
    assert_eq!(smoke.interval_seconds, 10);
    let staging = file.apps["backend"].stage("staging").expect("stage");
    assert_eq!(staging.strategy, Strategy::Rolling);
}

#[test]
fn blue_green_fields_are_checked_and_located() {
    let cases = [
        (
            BLUE_GREEN.replace("strategy: blue_green", "strategy: red_black"),
            "unknown variant `red_black`",
        ),
        (
            BLUE_GREEN.replace("bake_minutes: 10", "bake_minutes: 2000"),
            "production.bake_minutes: 2000 is out of range 0..=1440",
        ),
        (
            BLUE_GREEN.replace("http://internal-web", "internal-web"),
            "production.smoke_test.test_url: \"internal-web.example.com:8080/healthz\" must be an http:// or https:// URL",
        ),
        (
            format!("{BLUE_GREEN}          expect_status: 42\n"),
            "production.smoke_test.expect_status: 42 is not an HTTP status",
        ),
        (
            format!("{BLUE_GREEN}          attempts: 0\n"),
            "production.smoke_test.attempts: 0 is out of range 1..=100",
        ),
        (
            BLUE_GREEN.replace("1800", "600"),
            "production.deploy_timeout_seconds: 600 s leaves no time to roll out: bake_minutes and the smoke test alone can take 675 s",
        ),
        (
            BLUE_GREEN.replace("        strategy: blue_green\n", ""),
            "production.bake_minutes: is only used with `strategy: blue_green`",
        ),
    ];
    for (stage_tail, expected) in cases {
        let message = error_for(&example_with(
            "        deploy_timeout_seconds: 1800\n",
            &stage_tail,
        ));
        assert!(
            message.contains(expected),
            "{expected:?} not in {message:?}"
        );
    }
}

#[test]
fn codebuild_migrations_need_a_project_and_no_command() {
    let codebuild = "    migrate:\n      runner: codebuild\n      project: backend-migrate\n";
    let ecs = "    migration:\n      command: [\"bin/migrate\", \"up\"]\n      container: web\n";
    let file = parse_file("stevedore.yaml", &example_with(ecs, codebuild)).expect("valid");
    let migration = file.apps["backend"].migration.as_ref().expect("migration");
    assert_eq!(migration.runner, MigrationRunner::Codebuild);
    assert_eq!(migration.project.as_deref(), Some("backend-migrate"));

    let cases = [
        (
            "    migration:\n      runner: codebuild\n",
            "apps.backend.migration.project: `runner: codebuild` needs `project`",
        ),
        (
            "    migration:\n      runner: codebuild\n      project: \"-bad name\"\n",
            "apps.backend.migration.project: \"-bad name\" is not a CodeBuild project name",
        ),
        (
            "    migration:\n      runner: codebuild\n      project: backend-migrate\n      command: [up]\n",
            "apps.backend.migration.command: is not used with `runner: codebuild`",
        ),
        (
            "    migration:\n      command: [up]\n      project: backend-migrate\n",
            "apps.backend.migration.project: is only used with `runner: codebuild`",
        ),
        (
            "    migration:\n      runner: lambda\n      project: backend-migrate\n",
            "unknown variant `lambda`",
        ),
    ];
    for (migration, expected) in cases {
        let message = error_for(&example_with(ecs, migration));
        assert!(
            message.contains(expected),
            "{expected:?} not in {message:?}"
        );
    }
}
