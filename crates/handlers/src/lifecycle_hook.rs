//! deployment-hook: ECS's blue/green lifecycle hook. At POST_TEST_TRAFFIC_SHIFT (the test
//! listener sends everything to green, production still goes to blue) it runs the stage's
//! smoke test against the test URL, one attempt per invocation, and answers ECS:
//! SUCCEEDED, IN_PROGRESS (try again after `interval_seconds`) or FAILED (ECS rolls back).
//! Every attempt and the answer go into the release record (the first attempt and the latest
//! ones in `smoke_checks`, all of them counted in `smoke_check_count`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stevedore_aws::store::{attr_of, attr_s, ReleaseKey};
use stevedore_aws::Store;
use stevedore_core::smoke::{judge, HookAnswer, HookContext, SMOKE_TEST_STAGE};

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
    pub lifecycle_stage: String,
    #[serde(default)]
    pub execution_id: Option<String>,
    #[serde(default)]
    pub hook_details: Option<Value>,
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
    fn status(hook_status: &'static str) -> Self {
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
    if invocation.lifecycle_stage != SMOKE_TEST_STAGE {
        tracing::info!(stage = %invocation.lifecycle_stage, "nothing to check at this stage");
        return Ok(HookResponse::status("SUCCEEDED"));
    }
    let context: HookContext = match invocation.hook_details.clone().map(serde_json::from_value) {
        Some(Ok(context)) => context,
        other => {
            // Without the context there is no smoke test to run and no release to record it
            // on; letting green take production traffic unchecked would be worse.
            tracing::error!(details = ?invocation.hook_details, error = ?other.and_then(Result::err).map(|e| e.to_string()),
                "hookDetails carry no Stevedore release context; answering FAILED");
            return Ok(HookResponse::status("FAILED"));
        }
    };
    let smoke = &context.smoke_test;
    let observed = ctx
        .probe
        .probe(&smoke.test_url, smoke.timeout_seconds)
        .await;
    let (check, answer) = judge(&context, &observed, &timestamp(now()));
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
    tracing::info!(release_id = %context.release_id, execution_id = ?invocation.execution_id,
        attempt = check.attempt, status = ?check.status, error = ?check.error, hook_status = status, %reason, "smoke test attempt");
    // The answer to ECS matters more than the record: a failed write is logged, not fatal.
    // The store keeps the first attempt and the latest ones, and counts all of them.
    let release = ReleaseKey {
        app: &context.app,
        stage: &context.stage,
        release_id: &context.release_id,
    };
    let recorded = async {
        ctx.store
            .append_to_release_list(
                release,
                "smoke_checks",
                "smoke_check_count",
                attr_of(&check)?,
                &[
                    ("smoke_test_status", attr_s(status)),
                    ("smoke_test_reason", attr_s(&reason)),
                ],
            )
            .await
    }
    .await;
    if let Err(e) = recorded {
        tracing::error!(release_id = %context.release_id, error = %e, "could not record the smoke test attempt");
    }
    Ok(response)
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
        assert_eq!(invocation.lifecycle_stage, SMOKE_TEST_STAGE);
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
}
