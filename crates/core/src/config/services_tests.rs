use crate::config::{parse_file, RolloutOrder, ScheduleRef, Strategy};

const MULTI: &str = r#"apps:
  backend:
    repository: backend
    migration:
      command: ["bin/migrate"]
    stages:
      staging:
        cluster: demo
        services:
          - service: backend-staging
            containers: [web]
          - service: backend-worker-staging
            containers: [worker]
            strategy: rolling
        rollout: sequential
        migration_service: backend-worker-staging
        schedules:
          - schedule: backend-nightly
          - rule: backend-hourly
            event_bus: jobs
"#;

fn error_for(yaml: &str) -> String {
    parse_file("stevedore.yaml", yaml)
        .expect_err("config should be rejected")
        .to_string()
}

#[test]
fn a_stage_lists_several_services_and_schedules() {
    let file = parse_file("stevedore.yaml", MULTI).expect("valid");
    let stage = &file.apps["backend"].stages["staging"];
    let services = stage.services();
    assert_eq!(services.len(), 2);
    assert_eq!(services[0].service, "backend-staging");
    assert_eq!(services[0].containers, Some(&["web".to_string()][..]));
    assert_eq!(services[1].field, "services[1]");
    assert_eq!(stage.rollout, RolloutOrder::Sequential);
    assert!(stage.is_multi_service());
    assert_eq!(stage.first_service(), "backend-staging");
    let targets: Vec<ScheduleRef> = stage
        .schedules
        .iter()
        .map(|s| s.target().expect("valid entry"))
        .collect();
    assert_eq!(
        targets,
        vec![
            ScheduleRef::Schedule {
                name: "backend-nightly".into(),
                group: "default".into()
            },
            ScheduleRef::Rule {
                name: "backend-hourly".into(),
                event_bus: "jobs".into()
            },
        ]
    );
    assert_eq!(targets[1].to_string(), "rule jobs/backend-hourly");
}

#[test]
fn one_service_is_not_multi_service() {
    let yaml = "apps:\n  a:\n    repository: ab\n    stages:\n      s:\n        cluster: c\n        service: web\n";
    let file = parse_file("stevedore.yaml", yaml).expect("valid");
    let stage = &file.apps["a"].stages["s"];
    assert!(!stage.is_multi_service());
    assert_eq!(stage.services().len(), 1);
    assert_eq!(stage.services()[0].field, "service");
}

#[test]
fn a_service_inherits_the_stages_strategy_unless_it_has_its_own() {
    let yaml = MULTI.replace(
        "        rollout: sequential\n",
        "        rollout: sequential\n        strategy: blue_green\n        bake_minutes: 3\n",
    );
    let file = parse_file("stevedore.yaml", &yaml).expect("valid");
    let services = file.apps["backend"].stages["staging"].services();
    assert_eq!(services[0].strategy, Strategy::BlueGreen);
    assert_eq!(services[0].bake_minutes, Some(3));
    // The worker says `strategy: rolling`: the stage's bake time is not its own.
    assert_eq!(services[1].strategy, Strategy::Rolling);
    assert_eq!(services[1].bake_minutes, None);
}

#[test]
fn service_and_services_together_are_refused() {
    let yaml = MULTI.replace(
        "        services:\n",
        "        service: web\n        services:\n",
    );
    let error = error_for(&yaml);
    assert!(
        error.contains("apps.backend.stages.staging.services"),
        "{error}"
    );
    assert!(error.contains("not both"), "{error}");
}

#[test]
fn a_stage_without_any_service_names_the_field() {
    let yaml = "apps:\n  a:\n    repository: ab\n    stages:\n      s:\n        cluster: c\n";
    let error = error_for(yaml);
    assert!(error.contains("apps.a.stages.s.service"), "{error}");
    assert!(error.contains("is missing"), "{error}");
}

#[test]
fn a_service_listed_twice_is_refused_with_its_place() {
    let yaml = MULTI.replace(
        "backend-worker-staging\n            containers",
        "backend-staging\n            containers",
    );
    let error = error_for(&yaml);
    assert!(error.contains("services[1].service"), "{error}");
    assert!(
        error.contains("listed twice (first as services[0])"),
        "{error}"
    );
    assert!(error.contains(":12:"), "located on its line: {error}");
}

#[test]
fn bad_entries_name_their_field() {
    for (from, to, field) in [
        (
            "containers: [worker]",
            "containers: []",
            "services[1].containers",
        ),
        (
            "migration_service: backend-worker-staging",
            "migration_service: admin",
            "migration_service",
        ),
        (
            "- schedule: backend-nightly",
            "- schedule: backend-nightly\n            rule: x",
            "schedules[0].rule",
        ),
        (
            "- schedule: backend-nightly",
            "- group: g",
            "schedules[0].schedule",
        ),
        (
            "- schedule: backend-nightly",
            "- schedule: bad name",
            "schedules[0].schedule",
        ),
        ("event_bus: jobs", "group: jobs", "schedules[1].group"),
        (
            "strategy: rolling",
            "strategy: rolling\n            bake_minutes: 2",
            "services[1].bake_minutes",
        ),
        (
            "- service: backend-worker-staging",
            "- service: \"web#1\"",
            "services[1].service",
        ),
    ] {
        assert!(MULTI.contains(from), "{from}");
        let error = error_for(&MULTI.replacen(from, to, 1));
        assert!(
            error.contains(&format!("apps.backend.stages.staging.{field}")),
            "{field}: {error}"
        );
    }
}

#[test]
fn a_schedule_listed_twice_is_refused() {
    let yaml = MULTI.replace(
        "          - rule: backend-hourly\n            event_bus: jobs\n",
        "          - schedule: backend-nightly\n            group: default\n",
    );
    let error = error_for(&yaml);
    assert!(error.contains("schedules[1]"), "{error}");
    assert!(
        error.contains("schedule default/backend-nightly is listed twice"),
        "{error}"
    );
}

#[test]
fn two_stages_sharing_a_service_of_their_lists_are_refused() {
    let yaml = format!(
        "{MULTI}      production:\n        cluster: demo\n        services:\n          - service: backend-prod\n          - service: backend-worker-staging\n"
    );
    let error = error_for(&yaml);
    // Stages are checked in name order: staging's claim is the second.
    assert!(
        error.contains("apps.backend.stages.staging.services[1]"),
        "{error}"
    );
    assert!(error.contains("`backend-worker-staging`"), "{error}");
    assert!(
        error.contains("apps.backend.stages.production deploys already"),
        "{error}"
    );
}

#[test]
fn more_services_than_a_release_records_are_refused() {
    let many: String = (0..21)
        .map(|i| format!("          - service: svc-{i}\n"))
        .collect();
    let yaml = format!(
        "apps:\n  ab:\n    repository: ab\n    stages:\n      s:\n        cluster: c\n        services:\n{many}"
    );
    let error = error_for(&yaml);
    assert!(error.contains("apps.ab.stages.s.services"), "{error}");
    assert!(error.contains("lists 21 entries"), "{error}");
}
