use super::super::tests_support::{error_for, example_with};
use super::super::{parse_file, CanarySettings, LinearSettings, Strategy};

const STAGE: &str = "        deploy_timeout_seconds: 1800\n";

fn stage(tail: &str) -> String {
    example_with(STAGE, &format!("{STAGE}{tail}"))
}

const LINEAR: &str = "        strategy: linear
        linear: {step_percent: 34, step_minutes: 2}
        bake_minutes: 5
        smoke_test:
          test_url: http://internal-web.example.com:8080/healthz
          each_step: true
";

#[test]
fn linear_and_canary_parse_with_ecs_defaults() {
    let file = parse_file("stevedore.yaml", &stage(LINEAR)).expect("valid");
    let production = file.apps["backend"].stage("production").expect("stage");
    assert_eq!(production.strategy, Strategy::Linear);
    assert_eq!(
        production.linear,
        Some(LinearSettings {
            step_percent: 34.0,
            step_minutes: 2
        })
    );
    assert!(production.smoke_test.as_ref().expect("smoke").each_step);

    let file = parse_file(
        "stevedore.yaml",
        &stage("        strategy: canary\n        canary: {}\n"),
    )
    .expect("valid");
    let production = file.apps["backend"].stage("production").expect("stage");
    assert_eq!(production.strategy, Strategy::Canary);
    assert_eq!(production.canary, Some(CanarySettings::default()));
    assert_eq!(
        CanarySettings::default(),
        CanarySettings {
            percent: 5.0,
            bake_minutes: 10
        }
    );
    assert_eq!(
        LinearSettings::default(),
        LinearSettings {
            step_percent: 10.0,
            step_minutes: 6
        }
    );
    // Without `linear:` a linear stage takes ECS's defaults: 9 waits of 6 min.
    let default_linear = stage("        strategy: linear\n");
    assert!(error_for(&default_linear).contains("can take 3240 s"));
    parse_file("stevedore.yaml", &default_linear.replace("1800", "3300")).expect("valid");
}

#[test]
fn out_of_range_settings_name_the_field_and_ecs_limit() {
    let at = "apps.backend.stages.production";
    let cases = [
        (
            "        strategy: linear\n        linear: {step_percent: 2.5}\n".to_string(),
            format!("{at}.linear.step_percent: 2.5 is below ECS's minimum 3.0"),
        ),
        (
            "        strategy: linear\n        linear: {step_percent: 100.5}\n".into(),
            format!("{at}.linear.step_percent: 100.5 is above ECS's maximum 100.0"),
        ),
        (
            "        strategy: linear\n        linear: {step_percent: 10.25}\n".into(),
            format!("{at}.linear.step_percent: 10.25 is not a multiple of 0.1"),
        ),
        (
            "        strategy: linear\n        linear: {step_minutes: 1441}\n".into(),
            format!("{at}.linear.step_minutes: 1441 is above ECS's maximum 1440"),
        ),
        (
            "        strategy: canary\n        canary: {percent: 0.05}\n".into(),
            format!("{at}.canary.percent: 0.05 is below ECS's minimum 0.1"),
        ),
        (
            "        strategy: canary\n        canary: {bake_minutes: 2000}\n".into(),
            format!("{at}.canary.bake_minutes: 2000 is above ECS's maximum 1440"),
        ),
        (
            "        strategy: canary\n        canary: {percent: 5, bake: 3}\n".into(),
            "unknown field `bake`".into(),
        ),
    ];
    for (tail, expected) in cases {
        let message = error_for(&stage(&tail));
        assert!(
            message.contains(&expected),
            "{expected:?} not in {message:?}"
        );
    }
}

#[test]
fn settings_only_go_with_their_strategy() {
    let at = "apps.backend.stages.production";
    let cases = [
        (
            "        strategy: canary\n        linear: {step_percent: 10}\n",
            format!("{at}.linear: is only used with `strategy: linear`"),
        ),
        (
            "        strategy: blue_green\n        canary: {percent: 10}\n",
            format!("{at}.canary: is only used with `strategy: canary`"),
        ),
        (
            "        linear: {step_percent: 10}\n",
            format!("{at}.linear: is only used with `strategy: linear`"),
        ),
        (
            "        strategy: blue_green\n        smoke_test: {test_url: \"http://alb:8080/\", each_step: true}\n",
            format!("{at}.smoke_test.each_step: is only used with `strategy: linear` or `strategy: canary`"),
        ),
    ];
    for (tail, expected) in cases {
        let message = error_for(&stage(tail));
        assert!(
            message.contains(&expected),
            "{expected:?} not in {message:?}"
        );
    }
}

#[test]
fn a_service_of_several_takes_its_own_step_settings() {
    let services = "        services:
          - service: web
          - service: worker
            strategy: canary
            canary: {percent: 50, bake_minutes: 1}
";
    let yaml = example_with("        service: backend-production\n", services);
    let yaml = yaml.replacen(
        STAGE,
        "        deploy_timeout_seconds: 3600\n        strategy: linear\n",
        1,
    );
    let file = parse_file("stevedore.yaml", &yaml).expect("valid");
    let production = file.apps["backend"].stage("production").expect("stage");
    let effective = production.services();
    assert_eq!(effective[0].strategy, Strategy::Linear);
    assert_eq!(effective[0].canary, None);
    assert_eq!(effective[1].strategy, Strategy::Canary);
    assert_eq!(effective[1].canary.map(|c| c.percent), Some(50.0));

    let wrong = yaml.replace("strategy: canary\n", "strategy: blue_green\n");
    let message = error_for(&wrong);
    assert!(
        message.contains("production.services[1].canary: is only used with `strategy: canary`"),
        "{message}"
    );
}

#[test]
fn the_deploy_timeout_covers_every_step_bake_and_smoke_run() {
    // 34 % steps: 3 shifts, 2 waits of 2 min; bake 5 min; smoke 5 x (10 + 5) = 75 s, run
    // at the test stage and after each of the 3 shifts: 240 + 300 + 4 x 75 = 840 s.
    let message = error_for(&stage(LINEAR).replace("1800", "840"));
    assert!(
        message.contains("production.deploy_timeout_seconds: 840 s leaves no time to roll out: bake_minutes, the waits between traffic steps and the smoke tests alone can take 840 s"),
        "{message}"
    );
    parse_file("stevedore.yaml", &stage(LINEAR).replace("1800", "841")).expect("just enough");
    // Without each_step the smoke test runs once: 240 + 300 + 75 = 615 s.
    let once = stage(LINEAR)
        .replace("1800", "616")
        .replace("          each_step: true\n", "");
    parse_file("stevedore.yaml", &once).expect("valid");
    // Canary: its bake (10 min by default) and the final bake.
    let canary =
        stage("        strategy: canary\n        bake_minutes: 10\n").replace("1800", "1200");
    assert!(error_for(&canary).contains("can take 1200 s"));
}

#[test]
fn shifts_follow_ecs_step_counts() {
    let linear = |step_percent| LinearSettings {
        step_percent,
        step_minutes: 1,
    };
    assert_eq!(linear(10.0).shifts(), 10);
    assert_eq!(linear(11.0).shifts(), 10);
    assert_eq!(linear(3.0).shifts(), 34);
    assert_eq!(linear(33.3).shifts(), 4);
    assert_eq!(linear(100.0).shifts(), 1);
    let canary = |percent| CanarySettings {
        percent,
        bake_minutes: 1,
    };
    assert_eq!(canary(5.0).shifts(), 2);
    assert_eq!(canary(100.0).shifts(), 1);
}
