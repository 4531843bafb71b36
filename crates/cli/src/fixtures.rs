//! Releases and stage HEADs for the render tests: fixed ids, digests and times, so the
//! snapshots only change when the output does.

use chrono::{DateTime, Utc};
use stevedore_aws::store::StageHead;
use stevedore_core::release::{Release, ReleaseSpec, ReleaseStatus, Trigger};

use crate::output::parse_time;

/// "Now" in every render test.
pub fn now() -> DateTime<Utc> {
    parse_time("2026-01-01T02:00:00Z").expect("a timestamp")
}

pub fn digest(seed: &str) -> String {
    format!("sha256:{}", seed.repeat(64 / seed.len()))
}

/// A release of backend/staging created at 2026-01-01T00:00:00Z.
pub fn release(id: &str, status: ReleaseStatus) -> Release {
    let spec = ReleaseSpec {
        release_id: id.into(),
        app: "backend".into(),
        stage: "staging".into(),
        repository: "backend".into(),
        digest: digest("3f"),
        tag: "develop-1a2b3c4".into(),
        image_uri: format!(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/backend@{}",
            digest("3f")
        ),
        trigger: Trigger::Push,
        source_release_id: None,
        pushed_at: None,
        redeploy_task_definition_arn: None,
        redeploy_services: Default::default(),
    };
    let mut release = Release::new_pending(
        spec,
        parse_time("2026-01-01T00:00:00Z").expect("a timestamp"),
    );
    release.status = status;
    release
}

/// A release that went all the way: `finished` is when it ended.
pub fn finished(id: &str, status: ReleaseStatus, revision: u32, finished: &str) -> Release {
    let mut r = release(id, status);
    r.lock_acquired_at = Some("2026-01-01T00:00:00.400Z".into());
    r.rendered_at = Some("2026-01-01T00:00:01.200Z".into());
    r.migrated_at = Some("2026-01-01T00:00:09.800Z".into());
    r.migration_exit_code = Some(0);
    r.deploy_started_at = Some("2026-01-01T00:00:10.100Z".into());
    r.task_definition_arn = Some(format!(
        "arn:aws:ecs:us-east-1:123456789012:task-definition/backend:{revision}"
    ));
    r.strategy = Some(stevedore_core::config::Strategy::Rolling);
    r.deployment_id = Some("ecs-svc/4601862939393837390".into());
    r.finished_at = Some(finished.into());
    r
}

pub fn head(current: Option<&str>, holder: Option<&str>, waiting: &[&str]) -> StageHead {
    StageHead {
        current_release: current.map(str::to_string),
        current_task_definition_arn: None,
        lock_holder: holder.map(str::to_string),
        lock_expires_at: holder.map(|_| now().timestamp() + 840),
        lock_execution_arn: None,
        awaiting_approval: None,
        updated_at: None,
        waiting: waiting.iter().map(|w| w.to_string()).collect(),
        version: 3,
    }
}
