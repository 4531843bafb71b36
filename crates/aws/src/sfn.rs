//! Step Functions: starting deploy executions and completing parked task tokens.

use aws_sdk_sfn::Client;
use stevedore_core::Result;

use crate::error::{classify, code_and_message};

/// How a StartExecution ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StartOutcome {
    Started {
        execution_arn: String,
    },
    /// An execution with this name exists: the event was a duplicate.
    AlreadyExists,
}

/// What DescribeExecution tells of an execution that ended: its input and, for a failure,
/// the error and cause (each `None` when Step Functions has none).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExecutionEnd {
    pub input: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

#[derive(Clone)]
pub struct StepFunctions {
    client: Client,
}

/// Step Functions caps a task failure's cause at 32,768 characters.
const MAX_CAUSE: usize = 32_768;

impl StepFunctions {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub fn from_sdk(config: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(config))
    }

    pub async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> Result<StartOutcome> {
        match self
            .client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input)
            .send()
            .await
        {
            Ok(out) => Ok(StartOutcome::Started {
                execution_arn: out.execution_arn,
            }),
            Err(e) if code_and_message(&e).0 == "ExecutionAlreadyExists" => {
                Ok(StartOutcome::AlreadyExists)
            }
            Err(e) => Err(classify("StartExecution", e)),
        }
    }

    /// An execution's status (`RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`,
    /// ...); `None` when no execution has that ARN.
    pub async fn execution_status(&self, execution_arn: &str) -> Result<Option<String>> {
        Ok(self
            .describe_execution(execution_arn)
            .await?
            .map(|out| out.status.as_str().to_string()))
    }

    /// DescribeExecution; `None` when no execution has that ARN.
    async fn describe_execution(
        &self,
        execution_arn: &str,
    ) -> Result<Option<aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput>> {
        match self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out)),
            Err(e) if code_and_message(&e).0 == "ExecutionDoesNotExist" => Ok(None),
            Err(e) => Err(classify("DescribeExecution", e)),
        }
    }

    /// The input, error and cause of an execution; `None` when no execution has that ARN.
    pub async fn execution_end(&self, execution_arn: &str) -> Result<Option<ExecutionEnd>> {
        Ok(self
            .describe_execution(execution_arn)
            .await?
            .map(|out| ExecutionEnd {
                input: out.input,
                error: out.error,
                cause: out.cause,
            }))
    }

    pub async fn send_task_success(
        &self,
        task_token: &str,
        output: &serde_json::Value,
    ) -> Result<()> {
        self.client
            .send_task_success()
            .task_token(task_token)
            .output(output.to_string())
            .send()
            .await
            .map_err(|e| classify("SendTaskSuccess", e))?;
        Ok(())
    }

    /// Like [`Self::send_task_success`], but a token whose task already ended (another
    /// deployment of the same group completed or failed it first, or it timed out) is
    /// `Ok(false)`: "TaskTimedOut: the task token has either expired or the task associated
    /// with the token has already been closed" and InvalidToken
    /// (https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html).
    pub async fn send_task_success_if_open(
        &self,
        task_token: &str,
        output: &serde_json::Value,
    ) -> Result<bool> {
        match self
            .client
            .send_task_success()
            .task_token(task_token)
            .output(output.to_string())
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_closed_token(&code_and_message(&e).0) => Ok(false),
            Err(e) => Err(classify("SendTaskSuccess", e)),
        }
    }

    /// [`Self::send_task_failure`] that treats an already closed token as `Ok(false)`.
    pub async fn send_task_failure_if_open(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<bool> {
        let cause: String = cause.chars().take(MAX_CAUSE).collect();
        match self
            .client
            .send_task_failure()
            .task_token(task_token)
            .error(error)
            .cause(cause)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_closed_token(&code_and_message(&e).0) => Ok(false),
            Err(e) => Err(classify("SendTaskFailure", e)),
        }
    }

    pub async fn send_task_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<()> {
        let cause: String = cause.chars().take(MAX_CAUSE).collect();
        self.client
            .send_task_failure()
            .task_token(task_token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map_err(|e| classify("SendTaskFailure", e))?;
        Ok(())
    }
}

/// Error codes of a task token that can no longer be completed.
fn is_closed_token(code: &str) -> bool {
    matches!(code, "TaskTimedOut" | "InvalidToken" | "TaskDoesNotExist")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{error_body, mocked_client};
    use aws_sdk_sfn::operation::send_task_failure::SendTaskFailureOutput;
    use aws_sdk_sfn::operation::send_task_success::SendTaskSuccessOutput;
    use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::DateTime;

    const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:deploy";
    const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:deploy:01JRELEASE";
    const INPUT: &str = r#"{"release_id":"01JRELEASE","app":"backend"}"#;

    fn sfn(rule: &Rule) -> StepFunctions {
        StepFunctions::new(mocked_client!(aws_sdk_sfn, [rule]))
    }

    fn start() -> aws_smithy_mocks::RuleBuilder<
        aws_sdk_sfn::operation::start_execution::StartExecutionInput,
        StartExecutionOutput,
        aws_sdk_sfn::operation::start_execution::StartExecutionError,
    > {
        mock!(Client::start_execution).match_requests(|r| {
            r.state_machine_arn() == Some(MACHINE)
                && r.name() == Some("01JRELEASE")
                && r.input() == Some(INPUT)
        })
    }

    #[tokio::test]
    async fn start_execution_returns_the_execution_arn() {
        let rule = start().then_output(|| {
            StartExecutionOutput::builder()
                .execution_arn(EXECUTION)
                .start_date(DateTime::from_secs(1_700_000_000))
                .build()
                .unwrap()
        });
        let outcome = sfn(&rule)
            .start_execution(MACHINE, "01JRELEASE", INPUT)
            .await
            .unwrap();
        assert_eq!(
            outcome,
            StartOutcome::Started {
                execution_arn: EXECUTION.into()
            }
        );
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn execution_end_reads_input_error_and_cause() {
        use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
        use aws_sdk_sfn::types::ExecutionStatus;
        let rule = mock!(Client::describe_execution)
            .match_requests(|r| r.execution_arn() == Some(EXECUTION))
            .then_output(|| {
                DescribeExecutionOutput::builder()
                    .execution_arn(EXECUTION)
                    .state_machine_arn(MACHINE)
                    .status(ExecutionStatus::Aborted)
                    .start_date(DateTime::from_secs(1_700_000_000))
                    .input(INPUT)
                    .error("Operator")
                    .cause("wrong branch")
                    .build()
                    .unwrap()
            });
        let end = sfn(&rule).execution_end(EXECUTION).await.unwrap();
        assert_eq!(
            end,
            Some(ExecutionEnd {
                input: Some(INPUT.into()),
                error: Some("Operator".into()),
                cause: Some("wrong branch".into()),
            })
        );
    }

    #[tokio::test]
    async fn execution_end_of_an_unknown_execution_is_none() {
        let rule = mock!(Client::describe_execution)
            .sequence()
            .http_status(
                400,
                Some(error_body("ExecutionDoesNotExist", "no such execution")),
            )
            .build();
        assert_eq!(sfn(&rule).execution_end(EXECUTION).await.unwrap(), None);
    }

    #[tokio::test]
    async fn duplicate_execution_name_is_already_exists() {
        let rule = start()
            .sequence()
            .http_status(
                400,
                Some(error_body(
                    "ExecutionAlreadyExists",
                    "Execution Already Exists: 'arn:...:01JRELEASE'",
                )),
            )
            .build();
        let outcome = sfn(&rule)
            .start_execution(MACHINE, "01JRELEASE", INPUT)
            .await
            .unwrap();
        assert_eq!(outcome, StartOutcome::AlreadyExists);
    }

    #[tokio::test]
    async fn other_start_failures_are_classified() {
        for (code, expected) in [
            ("StateMachineDoesNotExist", "AwsError"),
            ("ThrottlingException", "Throttled"),
            ("ExecutionLimitExceeded", "AwsError"),
        ] {
            let rule = start()
                .sequence()
                .http_status(400, Some(error_body(code, "no")))
                .build();
            let err = sfn(&rule)
                .start_execution(MACHINE, "01JRELEASE", INPUT)
                .await
                .unwrap_err();
            assert_eq!(err.error_type(), expected, "{code}: {err}");
            assert!(err.to_string().contains(code), "{err}");
        }
    }

    #[tokio::test]
    async fn task_failure_cause_is_cut_to_the_service_limit() {
        // Multi-byte characters: the limit counts characters, and a cut must stay valid UTF-8.
        let long = "é".repeat(MAX_CAUSE + 500);
        let rule = mock!(Client::send_task_failure)
            .match_requests(|r| {
                r.task_token() == Some("token-1")
                    && r.error() == Some("MigrationFailed")
                    && r.cause().map(|c| c.chars().count()) == Some(MAX_CAUSE)
                    && r.cause().is_some_and(|c| c.chars().all(|ch| ch == 'é'))
            })
            .then_output(|| SendTaskFailureOutput::builder().build());
        sfn(&rule)
            .send_task_failure("token-1", "MigrationFailed", &long)
            .await
            .unwrap();
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn short_task_failure_cause_is_sent_whole() {
        let rule = mock!(Client::send_task_failure)
            .match_requests(|r| r.cause() == Some("exit code 3"))
            .then_output(|| SendTaskFailureOutput::builder().build());
        sfn(&rule)
            .send_task_failure("token-1", "MigrationFailed", "exit code 3")
            .await
            .unwrap();
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn task_failure_on_an_expired_token_is_an_error() {
        let rule = mock!(Client::send_task_failure)
            .sequence()
            .http_status(400, Some(error_body("TaskTimedOut", "Task Timed Out")))
            .build();
        let err = sfn(&rule)
            .send_task_failure("token-1", "MigrationFailed", "x")
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "AwsError");
        assert!(
            err.to_string()
                .contains("SendTaskFailure failed: TaskTimedOut"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn task_success_sends_the_output_as_json() {
        let rule = mock!(Client::send_task_success)
            .match_requests(|r| {
                r.task_token() == Some("token-2")
                    && r.output()
                        .and_then(|o| serde_json::from_str::<serde_json::Value>(o).ok())
                        == Some(serde_json::json!({"deployment_id": "ecs-svc/1", "ok": true}))
            })
            .then_output(|| SendTaskSuccessOutput::builder().build());
        sfn(&rule)
            .send_task_success(
                "token-2",
                &serde_json::json!({"deployment_id": "ecs-svc/1", "ok": true}),
            )
            .await
            .unwrap();
        assert_eq!(rule.num_calls(), 1);
    }
}
