//! A key given twice in one mapping is refused, wherever it is, naming the file, the line of
//! the second one, the path of the key and the line of the first.

use super::tests_support::{error_for, example_with};

#[test]
fn duplicate_stage() {
    let error = error_for(&example_with("      production:", "      staging:"));
    assert_eq!(
        error,
        "stevedore.yaml:18: apps.backend.stages.staging: duplicate key `staging` (first at line 9)"
    );
}

#[test]
fn duplicate_app() {
    let second = "      production:\n        cluster: demo\n        service: backend-production\n        deploy_timeout_seconds: 1800\n  backend:\n    repository: other\n    stages: {}\n";
    let error = error_for(&example_with(
        "      production:\n        cluster: demo\n        service: backend-production\n        deploy_timeout_seconds: 1800\n",
        second,
    ));
    assert_eq!(
        error,
        "stevedore.yaml:22: apps.backend: duplicate key `backend` (first at line 2)"
    );
}

#[test]
fn duplicate_field_of_a_stage() {
    let error = error_for(&example_with(
        "        service: backend-staging\n",
        "        service: backend-staging\n        cluster: other\n",
    ));
    assert_eq!(
        error,
        "stevedore.yaml:12: apps.backend.stages.staging.cluster: duplicate key `cluster` (first at line 10)"
    );
}

#[test]
fn duplicate_nested_keys() {
    let error = error_for(&example_with(
        "{LOG_LEVEL: debug}",
        "{LOG_LEVEL: debug, LOG_LEVEL: info}",
    ));
    assert_eq!(
        error,
        "stevedore.yaml:13: apps.backend.stages.staging.environment.LOG_LEVEL: duplicate key `LOG_LEVEL` (first at line 13)"
    );
    let error = error_for(&example_with(
        "          API_KEY:",
        "          DB_PASSWORD: other/db:password\n          API_KEY:",
    ));
    assert_eq!(
        error,
        "stevedore.yaml:17: apps.backend.stages.staging.secrets.DB_PASSWORD: duplicate key `DB_PASSWORD` (first at line 16)"
    );
    let error = error_for(&example_with(
        "      container: web\n",
        "      container: web\n      command: [\"bin/other\"]\n",
    ));
    assert_eq!(
        error,
        "stevedore.yaml:8: apps.backend.migration.command: duplicate key `command` (first at line 6)"
    );
}

#[test]
fn a_field_under_both_of_its_names_is_refused() {
    // `migrate:` is another spelling of `migration:`; both would mean one of them silently.
    let error = error_for(&example_with(
        "    stages:\n",
        "    migrate:\n      command: [\"bin/other\"]\n    stages:\n",
    ));
    assert_eq!(
        error,
        "stevedore.yaml:2: apps.backend: duplicate field `migration`"
    );
}
