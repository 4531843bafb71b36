//! deployment-hook: ECS's blue/green lifecycle hook. At POST_TEST_TRAFFIC_SHIFT (the test
//! listener sends everything to green, production still goes to blue) it runs the stage's
//! smoke test against the test URL, one attempt per invocation, and answers ECS:
//! SUCCEEDED, IN_PROGRESS (try again after `interval_seconds`) or FAILED (ECS rolls back).
//! Every attempt and the answer go into the release record (the first attempt and the latest
//! ones in `smoke_checks`, all of them counted in `smoke_check_count`).
//!
//! The hook stays on the service between releases, so ECS also calls it for deployments
//! Stevedore did not start (someone's force-new-deployment), with the last release's
//! `hookDetails`. When that release has ended (or is unknown) the hook answers SUCCEEDED
//! without probing and without writing: that deployment is not Stevedore's to gate, failing
//! it on a finished release's settings would roll back someone else's work, and a finished
//! release's record must not change. A payload without `lifecycleStage`, or whose
//! `hookDetails` are not a Stevedore context within bounds (`smoke::hook_context`), is
//! answered FAILED: green must not take production traffic unchecked.
//!
//! On a linear or canary deployment the hook also runs at PRE_SCALE_UP and at every
//! PRODUCTION_TRAFFIC_SHIFT step, where it records the traffic steps (and, with
//! `smoke_test.each_step`, runs the smoke test again): see `traffic_hook`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stevedore_aws::store::{attr_of, attr_s, AttributeValue, ReleaseKey};
use stevedore_aws::Store;
use stevedore_core::config::SmokeTest;
use stevedore_core::smoke::{hook_context, judge, HookAnswer, HookContext, SMOKE_TEST_STAGE};
use stevedore_core::traffic::{START_STAGE, STEP_STAGE};

use crate::runtime::{now, timestamp};
use crate::smoke_probe::SmokeProbe;
use crate::HandlerError;

pub struct DeploymentHook {
    pub store: Store,
    pub probe: SmokeProbe,
}

/// ECS's invocation payload (fields Stevedore does not use are ignored).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookInvocation {
    #[serde(default)]
    pub lifecycle_stage: Option<String>,
    #[serde(default)]
    pub execution_id: Option<String>,
    #[serde(default)]
    pub hook_details: Option<Value>,
    /// `serviceArn`, `targetServiceRevisionArn`, `testTrafficWeights`, `productionTrafficWeights`.
    #[serde(default)]
    pub execution_details: Option<Value>,
}

/// The answer ECS reads: `hookStatus`, and for IN_PROGRESS when to call again and with what.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HookResponse {
    pub hook_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_back_delay: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook_details: Option<Value>,
}

impl HookResponse {
    pub(crate) fn status(hook_status: &'static str) -> Self {
        HookResponse {
            hook_status,
            call_back_delay: None,
            hook_details: None,
        }
    }
}

pub async fn handle(ctx: &DeploymentHook, event: Value) -> Result<HookResponse, HandlerError> {
    let invocation: HookInvocation = match serde_json::from_value(event) {
        Ok(invocation) => invocation,
        Err(e) => {
            tracing::error!(error = %e, "not an ECS lifecycle hook invocation; answering FAILED");
            return Ok(HookResponse::status("FAILED"));
        }
    };
    match invocation.lifecycle_stage.as_deref() {
        None | Some("") => {
            tracing::error!("invocation without lifecycleStage; answering FAILED");
            return Ok(HookResponse::status("FAILED"));
        }
        Some(SMOKE_TEST_STAGE | START_STAGE | STEP_STAGE) => {}
        Some(stage) => {
            tracing::info!(%stage, "nothing to check at this stage");
            return Ok(HookResponse::status("SUCCEEDED"));
        }
    }
    let stage = invocation.lifecycle_stage.as_deref().unwrap_or_default();
    let context = match hook_context(invocation.hook_details.as_ref()) {
        Ok(context) => context,
        // The start only records which revision is new; nothing is gated there.
        Err(why) if stage == START_STAGE => {
            tracing::warn!(%why, "hookDetails carry no usable Stevedore release context; nothing to record");
            return Ok(HookResponse::status("SUCCEEDED"));
        }
        Err(why) => {
            // Without the context there is no smoke test to run and no release to record it
            // on; letting green take production traffic unchecked would be worse. Only the
            // reason is logged: the details may be large.
            tracing::error!(%why, "hookDetails carry no usable Stevedore release context; answering FAILED");
            return Ok(HookResponse::status("FAILED"));
        }
    };
    let release = match ctx
        .store
        .get_release(&context.app, &context.stage, &context.release_id)
        .await
    {
        Ok(Some(release)) if !release.status.is_terminal() => Some(release),
        Ok(found) => {
            tracing::warn!(release_id = %context.release_id, status = ?found.map(|r| r.status),
                "the hook's release is not deploying (a deployment Stevedore did not start); answering SUCCEEDED without checking");
            return Ok(HookResponse::status("SUCCEEDED"));
        }
        // The answer matters more than the record: check anyway.
        Err(e) => {
            tracing::warn!(release_id = %context.release_id, error = %e, "could not read the release; checking anyway");
            None
        }
    };
    if stage != SMOKE_TEST_STAGE {
        return Ok(crate::traffic_hook::on_traffic_stage(
            ctx,
            stage,
            &invocation,
            &context,
            release.as_ref(),
        )
        .await);
    }
    let Some(smoke) = &context.smoke_test else {
        tracing::info!(release_id = %context.release_id, "no smoke test to run");
        return Ok(HookResponse::status("SUCCEEDED"));
    };
    Ok(smoke_attempt(
        ctx,
        &context,
        smoke,
        invocation.execution_id.as_deref(),
        None,
    )
    .await)
}

/// Runs one attempt of `smoke`, records it on the release, and gives ECS the answer;
/// `at_percent` is the production traffic step it checks after (None: the test stage).
pub(crate) async fn smoke_attempt(
    ctx: &DeploymentHook,
    context: &HookContext,
    smoke: &SmokeTest,
    execution_id: Option<&str>,
    at_percent: Option<f64>,
) -> HookResponse {
    let observed = ctx
        .probe
        .probe(&smoke.test_url, smoke.timeout_seconds)
        .await;
    let (check, answer) = judge(context, smoke, &observed, &timestamp(now()));
    let (status, reason, response) = match answer {
        HookAnswer::Succeeded { summary } => {
            ("SUCCEEDED", summary, HookResponse::status("SUCCEEDED"))
        }
        HookAnswer::Failed { reason } => ("FAILED", reason, HookResponse::status("FAILED")),
        HookAnswer::InProgress {
            callback_delay,
            next,
        } => (
            "IN_PROGRESS",
            format!(
                "attempt {} of {} did not pass; trying again in {callback_delay} s",
                check.attempt, smoke.attempts
            ),
            HookResponse {
                hook_status: "IN_PROGRESS",
                call_back_delay: Some(callback_delay),
                hook_details: serde_json::to_value(next).ok(),
            },
        ),
    };
    let reason = match at_percent {
        Some(percent) => format!("at {percent} % of production traffic: {reason}"),
        None => reason,
    };
    tracing::info!(release_id = %context.release_id, ?execution_id, ?at_percent,
        attempt = check.attempt, status = ?check.status, error = ?check.error, hook_status = status, %reason, "smoke test attempt");
    let item = attr_of(&check);
    let fields = [
        ("smoke_test_status", attr_s(status)),
        ("smoke_test_reason", attr_s(&reason)),
    ];
    record_on_release(
        ctx,
        context,
        "smoke_checks",
        "smoke_check_count",
        item,
        &fields,
    )
    .await;
    response
}

/// Appends `item` to the release's bounded `list` (the first entry and the latest ones are
/// kept, all counted in `count`), setting `fields` with it. The answer to ECS matters more
/// than the record: a failed write is logged, not fatal. Whether it was written.
pub(crate) async fn record_on_release(
    ctx: &DeploymentHook,
    context: &HookContext,
    list: &str,
    count: &str,
    item: stevedore_core::Result<AttributeValue>,
    fields: &[(&str, AttributeValue)],
) -> bool {
    let release = ReleaseKey {
        app: &context.app,
        stage: &context.stage,
        release_id: &context.release_id,
    };
    let recorded = match item {
        Ok(item) => {
            ctx.store
                .append_to_release_list(release, list, count, item, fields)
                .await
        }
        Err(e) => Err(e),
    };
    match recorded {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(release_id = %context.release_id, error = %e, %list, "could not record on the release");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ecs_invocations_and_writes_ecs_answers() {
        let invocation: HookInvocation = serde_json::from_value(serde_json::json!({
            "executionDetails": {"serviceArn": "arn:aws:ecs:us-east-1:1:service/c/s",
                                 "targetServiceRevisionArn": "arn:aws:ecs:us-east-1:1:service-revision/c/s/1",
                                 "testTrafficWeights": {}, "productionTrafficWeights": {}},
            "executionId": "e-1",
            "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
            "resourceArn": "arn:aws:ecs:us-east-1:1:service-deployment/c/s/d",
            "hookDetails": {"release_id": "r"}
        }))
        .expect("parses");
        assert_eq!(
            invocation.lifecycle_stage.as_deref(),
            Some(SMOKE_TEST_STAGE)
        );
        assert_eq!(
            invocation.hook_details,
            Some(serde_json::json!({"release_id": "r"}))
        );

        let answer = HookResponse {
            hook_status: "IN_PROGRESS",
            call_back_delay: Some(10),
            hook_details: Some(serde_json::json!({"attempts_made": 1})),
        };
        assert_eq!(
            serde_json::to_value(answer).expect("serialises"),
            serde_json::json!({"hookStatus": "IN_PROGRESS", "callBackDelay": 10, "hookDetails": {"attempts_made": 1}})
        );
        assert_eq!(
            serde_json::to_value(HookResponse::status("SUCCEEDED")).expect("serialises"),
            serde_json::json!({"hookStatus": "SUCCEEDED"})
        );
    }

    /// A hook whose store and probe fail the test if used (no endpoint answers).
    fn offline_hook() -> DeploymentHook {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        DeploymentHook {
            store: Store::from_sdk(&sdk, "unused"),
            probe: SmokeProbe::new().expect("probe"),
        }
    }

    #[tokio::test]
    async fn answers_without_touching_anything_when_the_payload_decides() {
        let hook = offline_hook();
        let answer = |payload: Value| {
            let hook = &hook;
            async move { handle(hook, payload).await.expect("answers").hook_status }
        };
        let details = serde_json::json!({"app": "a", "stage": "s", "release_id": "r"});
        assert_eq!(
            answer(serde_json::json!({"hookDetails": details})).await,
            "FAILED"
        );
        assert_eq!(
            answer(serde_json::json!({"lifecycleStage": "", "hookDetails": details})).await,
            "FAILED"
        );
        assert_eq!(answer(serde_json::json!("not an object")).await, "FAILED");
        assert_eq!(
            answer(serde_json::json!({"lifecycleStage": "PRE_SCALE_UP"})).await,
            "SUCCEEDED"
        );
        let huge = serde_json::json!({"lifecycleStage": SMOKE_TEST_STAGE,
            "hookDetails": {"app": "a".repeat(20_000)}});
        assert_eq!(answer(huge).await, "FAILED");
        let foreign = serde_json::json!({"lifecycleStage": SMOKE_TEST_STAGE,
            "hookDetails": {"suite": "smoke"}});
        assert_eq!(answer(foreign).await, "FAILED");
    }
}
