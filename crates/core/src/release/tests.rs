use std::str::FromStr;

use chrono::TimeZone;

use super::*;

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const EVENT_MS: u64 = 1_700_000_000_123;

#[test]
fn release_id_is_deterministic_and_a_valid_ulid() {
    let id = release_id("backend", "staging", DIGEST, EVENT_MS);
    assert_eq!(id, release_id("backend", "staging", DIGEST, EVENT_MS));
    assert_eq!(id.len(), 26);
    let ulid = ulid::Ulid::from_string(&id).expect("valid ULID");
    assert_eq!(ulid.timestamp_ms(), EVENT_MS);
    // The randomness is the first 80 bits of sha256("backend/staging/<digest>").
    let hash = Sha256::digest(format!("backend/staging/{DIGEST}").as_bytes());
    let expected = hash[..10]
        .iter()
        .fold(0u128, |bits, byte| (bits << 8) | u128::from(*byte));
    assert_eq!(ulid.random(), expected);
}

#[test]
fn release_id_differs_by_app_stage_and_digest() {
    let id = release_id("backend", "staging", DIGEST, EVENT_MS);
    assert_ne!(id, release_id("backend", "production", DIGEST, EVENT_MS));
    assert_ne!(id, release_id("worker", "staging", DIGEST, EVENT_MS));
    assert_ne!(id, release_id("backend", "staging", "sha256:00", EVENT_MS));
}

#[test]
fn release_ids_sort_by_event_time() {
    let earlier = release_id("zzz", "staging", DIGEST, EVENT_MS);
    let later = release_id("aaa", "staging", DIGEST, EVENT_MS + 1);
    let much_later = release_id("backend", "staging", DIGEST, EVENT_MS + 86_400_000);
    assert!(earlier < later && later < much_later);
}

#[test]
fn keys() {
    assert_eq!(
        release_pk("backend", "staging"),
        "APP#backend#STAGE#staging"
    );
    assert_eq!(release_sk("01J"), "REL#01J");
    assert_eq!(digest_gsi_pk(DIGEST), format!("DIGEST#{DIGEST}"));
    assert_eq!(
        digest_gsi_sk("backend", "staging", "01J"),
        "APP#backend#STAGE#staging#REL#01J"
    );
}

#[test]
fn transitions_table() {
    use ReleaseStatus::*;
    let all = [
        Pending, InProgress, Succeeded, Failed, RolledBack, Superseded, Aborted,
    ];
    let allowed = [
        (Pending, InProgress),
        (Pending, Failed),
        (Pending, Superseded),
        (Pending, Aborted),
        (InProgress, Succeeded),
        (InProgress, Failed),
        (InProgress, RolledBack),
        (InProgress, Superseded),
        (InProgress, Aborted),
    ];
    for from in all {
        for to in all {
            assert_eq!(
                from.can_become(to),
                allowed.contains(&(from, to)),
                "{from} -> {to}"
            );
        }
    }
    assert_eq!(
        all.map(ReleaseStatus::is_terminal),
        [false, false, true, true, true, true, true]
    );
}

#[test]
fn names_on_the_wire() {
    assert_eq!(ReleaseStatus::RolledBack.to_string(), "ROLLED_BACK");
    assert_eq!(
        ReleaseStatus::from_str("IN_PROGRESS"),
        Ok(ReleaseStatus::InProgress)
    );
    assert_eq!(
        serde_json::to_string(&ReleaseStatus::InProgress).expect("json"),
        "\"IN_PROGRESS\""
    );
    assert_eq!(
        serde_json::to_string(&Trigger::Promote).expect("json"),
        "\"promote\""
    );
    assert_eq!(Trigger::from_str("rollback"), Ok(Trigger::Rollback));
    assert_eq!(
        serde_json::to_string(&Phase::DeployStarted).expect("json"),
        "\"deploy_started\""
    );
    assert_eq!(Phase::LockAcquired.attribute(), "lock_acquired_at");
    assert_eq!(Phase::Finished.attribute(), "finished_at");
}

fn spec(release_id: &str, app: &str, stage: &str) -> ReleaseSpec {
    ReleaseSpec {
        release_id: release_id.into(),
        app: app.into(),
        stage: stage.into(),
        repository: app.into(),
        digest: DIGEST.into(),
        tag: "develop-1".into(),
        image_uri: "uri".into(),
        trigger: Trigger::Push,
        source_release_id: None,
        pushed_at: None,
        redeploy_task_definition_arn: None,
        redeploy_services: Default::default(),
    }
}

#[test]
fn new_pending_release_item() {
    let now = Utc
        .with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
        .single()
        .expect("valid time");
    let id = release_id("backend", "staging", DIGEST, EVENT_MS);
    let release = Release::new_pending(spec(&id, "backend", "staging"), now);
    assert_eq!(release.status, ReleaseStatus::Pending);
    assert_eq!(release.created_at, "2024-05-01T12:00:00.000Z");
    assert_eq!(
        release.phase_timestamp(Phase::Pending),
        Some("2024-05-01T12:00:00.000Z")
    );

    let item = serde_json::to_value(&release).expect("json");
    assert_eq!(item["PK"], "APP#backend#STAGE#staging");
    assert_eq!(item["SK"], format!("REL#{id}"));
    assert_eq!(item["GSI1PK"], format!("DIGEST#{DIGEST}"));
    assert_eq!(
        item["GSI1SK"],
        format!("APP#backend#STAGE#staging#REL#{id}")
    );
    assert_eq!(item["status"], "PENDING");
    assert_eq!(item["trigger"], "push");
    assert_eq!(
        item["release_id"], id,
        "the spec is flattened into the item"
    );
    assert_eq!(item["digest"], DIGEST);
    assert!(item.get("reason").is_none() && item.get("finished_at").is_none());
    let back: Release = serde_json::from_value(item).expect("reads back");
    assert_eq!(back, release);
}

#[test]
fn record_phase_sets_the_matching_attribute() {
    let now = Utc
        .with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
        .single()
        .expect("valid time");
    let mut release = Release::new_pending(spec("id", "a", "s"), now);
    release.record_phase(Phase::DeployStarted, now + chrono::Duration::seconds(5));
    let item = serde_json::to_value(&release).expect("json");
    assert_eq!(
        item[Phase::DeployStarted.attribute()],
        "2024-05-01T12:00:05.000Z"
    );
}

#[test]
fn reason_from_lambda_json_cause() {
    let cause = r#"{"errorType":"MigrationFailed","errorMessage":"migration command exited with exit code 3 (Essential container in task exited)"}"#;
    assert_eq!(
        reason_for_failure("MigrationFailed", cause),
        (
            ReleaseStatus::Failed,
            "migration command exited with exit code 3 (Essential container in task exited)".into()
        )
    );
    let rolled_back = r#"{"errorType":"DeploymentRolledBack","errorMessage":"ECS rolled the service back: tasks failed health checks"}"#;
    assert_eq!(
        reason_for_failure("DeploymentRolledBack", rolled_back),
        (
            ReleaseStatus::RolledBack,
            "ECS rolled the service back: tasks failed health checks".into()
        )
    );
    // A rollback wrapped by a generic Lambda error is still a rollback.
    assert_eq!(
        reason_for_failure("States.TaskFailed", rolled_back).0,
        ReleaseStatus::RolledBack
    );
}

#[test]
fn reason_for_states_errors_and_plain_text() {
    let (status, reason) = reason_for_failure("States.Timeout", "");
    assert_eq!(status, ReleaseStatus::Failed);
    assert_eq!(reason, "timed out waiting for the step to finish");
    let (_, reason) = reason_for_failure("States.TaskFailed", "ECS said no");
    assert_eq!(reason, "a step failed: ECS said no");
    let (_, reason) = reason_for_failure(
        "States.TaskFailed",
        r#"{"StoppedReason":"Essential container exited","TaskArn":"arn"}"#,
    );
    assert_eq!(reason, "a step failed: Essential container exited");
    let (_, reason) = reason_for_failure("Lambda.Unknown", "The function timed out");
    assert_eq!(
        reason,
        "the function failed (Lambda.Unknown): The function timed out"
    );
    let (_, reason) = reason_for_failure("SomethingElse", "  boom \n");
    assert_eq!(reason, "SomethingElse: boom");
}

#[test]
fn reason_is_never_empty_and_bounded() {
    assert_eq!(reason_for_failure("AwsError", "").1, "AwsError: no details");
    assert_eq!(
        reason_for_failure("AwsError", "{}").1,
        "AwsError: no details"
    );
    assert_eq!(reason_for_failure("", "").1, "unknown error: no details");
    let (_, reason) = reason_for_failure("AwsError", &"é".repeat(5000));
    assert_eq!(reason.chars().count(), crate::bounds::MAX_TEXT_CHARS);
    // Stevedore's own error types show the message as it is: 5,000 characters, 3,023 cut.
    assert!(reason.ends_with("é… [cut 3023 characters]"), "{reason}");
}

#[test]
fn a_32_kb_lambda_cause_is_cut_with_the_marker() {
    let cause =
        serde_json::json!({"errorType": "MigrationFailed", "errorMessage": "x".repeat(32_000)});
    let (status, reason) = reason_for_failure("MigrationFailed", &cause.to_string());
    assert_eq!(status, ReleaseStatus::Failed);
    assert_eq!(reason.chars().count(), crate::bounds::MAX_TEXT_CHARS);
    assert!(reason.ends_with("x… [cut 30024 characters]"), "{reason}");
}

#[test]
fn push_time_is_the_event_second_plus_the_arrival_offset_within_it() {
    let second = 1_780_000_000_000;
    // Seen 250 ms into the event's second.
    assert_eq!(
        push_time_ms(Some(second), second + 250),
        (second + 250) as u64
    );
    // Seen late (a redelivery an hour on): still in its own second, after same-second pushes.
    assert_eq!(
        push_time_ms(Some(second), second + 3_600_000),
        (second + 999) as u64
    );
    // A clock behind the event's: the start of its second.
    assert_eq!(push_time_ms(Some(second + 400), second - 5), second as u64);
    // An older push whose event arrives after a newer one's still sorts first.
    let older = push_time_ms(Some(second), second + 5_000);
    let newer = push_time_ms(Some(second + 1000), second + 1_100);
    assert!(older < newer);
    assert_eq!(push_time_ms(None, second + 7), (second + 7) as u64);
}
