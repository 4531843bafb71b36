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
