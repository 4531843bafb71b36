use super::tests_support::{error_for, example_with};
use super::*;

const STAGE: &str = "        service: backend-production\n";

#[test]
fn stage_alarms_apply_to_its_services_unless_a_service_lists_its_own() {
    let yaml = example_with(
        STAGE,
        &format!("{STAGE}        alarms: [web-5xx, web-latency]\n"),
    );
    let file = parse_file("stevedore.yaml", &yaml).expect("valid");
    let production = file.apps["backend"].stage("production").expect("stage");
    assert_eq!(production.alarms, ["web-5xx", "web-latency"]);
    assert_eq!(production.services()[0].alarms, ["web-5xx", "web-latency"]);
    assert!(file.apps["backend"]
        .stage("staging")
        .expect("stage")
        .alarms
        .is_empty());

    let multi = "        services:\n          - service: web\n          - service: worker\n            alarms: [worker-errors]\n          - service: admin\n            alarms: []\n        alarms: [web-5xx]\n";
    let file = parse_file("stevedore.yaml", &example_with(STAGE, multi)).expect("valid");
    let services = file.apps["backend"]
        .stage("production")
        .expect("stage")
        .services();
    let alarms: Vec<&[String]> = services.iter().map(|service| service.alarms).collect();
    assert_eq!(
        alarms,
        [
            &["web-5xx".to_string()][..],
            &["worker-errors".to_string()][..],
            &[][..]
        ]
    );
}

#[test]
fn alarm_names_are_checked_and_located() {
    let long = "a".repeat(256);
    let cases = [
        (
            format!("{STAGE}        alarms: [web-5xx, \"\"]\n"),
            "production.alarms[1]: an alarm name must not be empty".to_string(),
        ),
        (
            format!("{STAGE}        alarms: [{long}]\n"),
            "production.alarms[0]: 256 characters; a CloudWatch alarm name has at most 255"
                .to_string(),
        ),
        (
            format!("{STAGE}        alarms: [web-5xx, web-latency, web-5xx]\n"),
            "production.alarms[2]: alarm \"web-5xx\" is listed twice".to_string(),
        ),
        (
            "        services:\n          - service: web\n            alarms: [x, x]\n".to_string(),
            "production.services[0].alarms[1]: alarm \"x\" is listed twice".to_string(),
        ),
        (
            format!("{STAGE}        alarms: web-5xx\n"),
            "invalid type".to_string(),
        ),
    ];
    for (stage_tail, expected) in cases {
        let message = error_for(&example_with(STAGE, &stage_tail));
        assert!(
            message.contains(&expected),
            "{expected:?} not in {message:?}"
        );
    }
    let longest = "a".repeat(255);
    let yaml = example_with(STAGE, &format!("{STAGE}        alarms: [{longest}]\n"));
    assert!(parse_file("stevedore.yaml", &yaml).is_ok());
}
