use super::tests_support::{error_for, example_with};
use super::*;
use crate::lock::ReleaseOrder;
use crate::tag_rule::{SemverRule, TagRule};

const TAGS: &str = r#"        tags: ["develop-*", "main-*"]
"#;

const SEMVER_TAGS: &str = r#"        tags:
          - "main-*"
          - {semver: ">=1.4, <2"}
          - semver: "^2.0.0-rc0"
            prerelease: true
        order: semver
"#;

#[test]
fn semver_rules_parse_beside_globs() {
    let file = parse_file("stevedore.yaml", &example_with(TAGS, SEMVER_TAGS)).expect("valid");
    let staging = file.apps["backend"].stage("staging").expect("stage");
    assert_eq!(
        staging.tags,
        [
            TagRule::Glob("main-*".into()),
            TagRule::Semver(SemverRule {
                semver: ">=1.4, <2".into(),
                prerelease: false
            }),
            TagRule::Semver(SemverRule {
                semver: "^2.0.0-rc0".into(),
                prerelease: true
            }),
        ]
    );
    assert_eq!(staging.order, ReleaseOrder::Semver);
    let production = file.apps["backend"].stage("production").expect("stage");
    assert_eq!(production.order, ReleaseOrder::Push);
    assert_eq!(production.keep_revisions, 10);
}

#[test]
fn keep_revisions_reads_and_round_trips() {
    let yaml = example_with(TAGS, &format!("{TAGS}        keep_revisions: 0\n"));
    let file = parse_file("stevedore.yaml", &yaml).expect("valid");
    let staging = &file.apps["backend"].stages["staging"];
    assert_eq!(staging.keep_revisions, 0);
    let json = serde_json::to_value(staging).expect("serializes");
    assert_eq!(json["keep_revisions"], 0);
    let production =
        serde_json::to_value(&file.apps["backend"].stages["production"]).expect("serializes");
    assert!(production.get("keep_revisions").is_none() && production.get("order").is_none());
    let error = error_for(&example_with(
        TAGS,
        &format!("{TAGS}        keep_revisions: -1\n"),
    ));
    assert!(
        error.starts_with("stevedore.yaml:13: apps.backend.stages.staging.keep_revisions"),
        "{error}"
    );
}

#[test]
fn an_invalid_semver_rule_is_named_with_its_line() {
    let yaml = example_with(TAGS, &SEMVER_TAGS.replace(">=1.4, <2", ">=1.4,, <2"));
    let error = error_for(&yaml);
    assert!(
        error.starts_with(
            r#"stevedore.yaml:14: apps.backend.stages.staging.tags[1].semver: invalid semver requirement ">=1.4,, <2": "#
        ),
        "{error}"
    );
    let yaml = example_with(TAGS, &SEMVER_TAGS.replace("^2.0.0-rc0", "v2"));
    let error = error_for(&yaml);
    assert!(
        error.starts_with("stevedore.yaml:15: apps.backend.stages.staging.tags[2].semver: invalid semver requirement \"v2\""),
        "{error}"
    );
}

#[test]
fn a_malformed_rule_is_located() {
    let yaml = example_with(TAGS, &SEMVER_TAGS.replace("prerelease: true", "pre: true"));
    let error = error_for(&yaml);
    assert!(
        error.starts_with("stevedore.yaml:16: apps.backend.stages.staging.tags[2]: "),
        "{error}"
    );
    assert!(error.contains("unknown field `pre`"), "{error}");
    let yaml = example_with(TAGS, "        tags: [[1]]\n");
    let error = error_for(&yaml);
    assert!(
        error.contains("a tag glob (a string) or a semver rule"),
        "{error}"
    );
}

#[test]
fn order_semver_needs_a_semver_rule_and_latest() {
    let error = error_for(&example_with(
        TAGS,
        &format!("{TAGS}        order: semver\n"),
    ));
    assert!(
        error.starts_with("stevedore.yaml:13: apps.backend.stages.staging.order: `order: semver` needs at least one semver rule"),
        "{error}"
    );
    let error = error_for(&example_with(
        TAGS,
        &format!("{SEMVER_TAGS}        concurrency: queue\n"),
    ));
    assert!(
        error.contains("apps.backend.stages.staging.order: `order: semver` decides"),
        "{error}"
    );
    let error = error_for(&example_with(
        TAGS,
        &format!("{TAGS}        order: version\n"),
    ));
    assert!(error.contains("order"), "{error}");
}
