//! The operator state machines (promote, rollback, approve, retry) as the CLI drives them:
//! start an execution, read its state until it ends, and, when it was refused, the failure
//! that says why. Their `Fail` states carry a fixed error and cause ("...Refused"); the
//! reason a person can act on is the failed task's cause in the execution's history.

use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType};
use stevedore_core::{Error, Result};

use crate::error::classify;

pub struct Executions {
    client: aws_sdk_sfn::Client,
}

/// DescribeExecution's answer: `status` (`RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`,
/// `ABORTED`, ...), the output of a succeeded execution, the error and cause of a failed one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExecutionState {
    pub status: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

impl ExecutionState {
    pub fn is_running(&self) -> bool {
        self.status == "RUNNING" || self.status == "PENDING_REDRIVE"
    }
}

/// A task's failure as the execution history records it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFailure {
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// History pages read looking for the failure, newest first; an operator execution has a
/// dozen events, so the failure is on the first page.
const MAX_HISTORY_PAGES: usize = 10;

impl Executions {
    pub fn new(client: aws_sdk_sfn::Client) -> Self {
        Self { client }
    }

    pub fn from_sdk(config: &aws_config::SdkConfig) -> Self {
        Self::new(aws_sdk_sfn::Client::new(config))
    }

    /// Starts an execution (named by Step Functions) and returns its ARN.
    pub async fn start(&self, state_machine_arn: &str, input: &str) -> Result<String> {
        let out = self
            .client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .input(input)
            .send()
            .await
            .map_err(|e| classify("StartExecution", e))?;
        Ok(out.execution_arn)
    }

    pub async fn state(&self, execution_arn: &str) -> Result<ExecutionState> {
        let out = self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(|e| classify("DescribeExecution", e))?;
        Ok(ExecutionState {
            status: out.status.as_str().to_string(),
            output: out.output,
            error: out.error,
            cause: out.cause,
        })
    }

    /// The newest failed (or timed out) task of the execution, if any.
    pub async fn last_task_failure(&self, execution_arn: &str) -> Result<Option<TaskFailure>> {
        let mut token = None;
        for _ in 0..MAX_HISTORY_PAGES {
            let out = self
                .client
                .get_execution_history()
                .execution_arn(execution_arn)
                .reverse_order(true)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify("GetExecutionHistory", e))?;
            if let Some(failure) = out.events.iter().find_map(task_failure) {
                return Ok(Some(failure));
            }
            match out.next_token {
                Some(next) => token = Some(next),
                None => return Ok(None),
            }
        }
        Err(Error::AwsError(format!(
            "execution {execution_arn}: no failed task in its {MAX_HISTORY_PAGES} newest history pages"
        )))
    }
}

fn task_failure(event: &HistoryEvent) -> Option<TaskFailure> {
    let failure = |error: Option<&str>, cause: Option<&str>| TaskFailure {
        error: error.map(str::to_string),
        cause: cause.map(str::to_string),
    };
    match event.r#type() {
        HistoryEventType::LambdaFunctionFailed => event
            .lambda_function_failed_event_details()
            .map(|d| failure(d.error(), d.cause())),
        HistoryEventType::LambdaFunctionTimedOut => event
            .lambda_function_timed_out_event_details()
            .map(|d| failure(d.error(), d.cause())),
        HistoryEventType::TaskFailed => event
            .task_failed_event_details()
            .map(|d| failure(d.error(), d.cause())),
        HistoryEventType::TaskTimedOut => event
            .task_timed_out_event_details()
            .map(|d| failure(d.error(), d.cause())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
    use aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput;
    use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
    use aws_sdk_sfn::types::{
        ExecutionFailedEventDetails, ExecutionStatus, LambdaFunctionFailedEventDetails,
    };
    use aws_smithy_mocks::mock;
    use aws_smithy_types::DateTime;

    use super::*;
    use crate::test_support::mocked_client;

    const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:stevedore-rollback:x";

    fn event(id: i64, kind: HistoryEventType) -> aws_sdk_sfn::types::builders::HistoryEventBuilder {
        HistoryEvent::builder()
            .id(id)
            .r#type(kind)
            .timestamp(DateTime::from_secs(0))
    }

    #[tokio::test]
    async fn start_leaves_the_name_to_step_functions() {
        let rule = mock!(aws_sdk_sfn::Client::start_execution)
            .match_requests(|r| {
                r.name().is_none()
                    && r.state_machine_arn() == Some("arn:sm")
                    && r.input() == Some(r#"{"app":"backend"}"#)
            })
            .then_output(|| {
                StartExecutionOutput::builder()
                    .execution_arn(ARN)
                    .start_date(DateTime::from_secs(0))
                    .build()
                    .unwrap()
            });
        let executions = Executions::new(mocked_client!(aws_sdk_sfn, [&rule]));
        let arn = executions
            .start("arn:sm", r#"{"app":"backend"}"#)
            .await
            .unwrap();
        assert_eq!(arn, ARN);
    }

    #[tokio::test]
    async fn state_carries_status_output_and_failure() {
        let rule = mock!(aws_sdk_sfn::Client::describe_execution).then_output(|| {
            DescribeExecutionOutput::builder()
                .execution_arn(ARN)
                .state_machine_arn("arn:sm")
                .status(ExecutionStatus::Failed)
                .error("RollbackRefused")
                .cause("No rollback was started")
                .start_date(DateTime::from_secs(0))
                .build()
                .unwrap()
        });
        let executions = Executions::new(mocked_client!(aws_sdk_sfn, [&rule]));
        let state = executions.state(ARN).await.unwrap();
        assert_eq!(state.status, "FAILED");
        assert!(!state.is_running());
        assert_eq!(state.error.as_deref(), Some("RollbackRefused"));
    }

    #[tokio::test]
    async fn the_newest_task_failure_is_found_past_the_fail_state() {
        let rule = mock!(aws_sdk_sfn::Client::get_execution_history)
            .match_requests(|r| r.reverse_order() == Some(true) && r.execution_arn() == Some(ARN))
            .then_output(|| {
                GetExecutionHistoryOutput::builder()
                    .events(
                        event(6, HistoryEventType::ExecutionFailed)
                            .execution_failed_event_details(
                                ExecutionFailedEventDetails::builder()
                                    .error("RollbackRefused")
                                    .cause("No rollback was started")
                                    .build(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .events(
                        event(4, HistoryEventType::LambdaFunctionFailed)
                            .lambda_function_failed_event_details(
                                LambdaFunctionFailedEventDetails::builder()
                                    .error("InvalidInput")
                                    .cause(r#"{"errorType":"InvalidInput","errorMessage":"nothing to roll back"}"#)
                                    .build(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap()
            });
        let executions = Executions::new(mocked_client!(aws_sdk_sfn, [&rule]));
        let failure = executions.last_task_failure(ARN).await.unwrap().unwrap();
        assert_eq!(failure.error.as_deref(), Some("InvalidInput"));
        assert!(failure.cause.unwrap().contains("nothing to roll back"));
    }

    #[tokio::test]
    async fn an_execution_without_a_failed_task_has_none() {
        let rule = mock!(aws_sdk_sfn::Client::get_execution_history).then_output(|| {
            GetExecutionHistoryOutput::builder()
                .events(
                    event(1, HistoryEventType::ExecutionStarted)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        });
        let executions = Executions::new(mocked_client!(aws_sdk_sfn, [&rule]));
        assert_eq!(executions.last_task_failure(ARN).await.unwrap(), None);
    }
}
