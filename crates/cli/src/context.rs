//! Where the Stevedore stack is: the release table and the operator state machines, named one
//! by one (flags or STEVEDORE_* variables) or read from the CloudFormation stack's outputs
//! (`--stack`). A value named on its own wins over the stack's output of the same thing.

use std::collections::BTreeMap;
use std::sync::Mutex;

use anyhow::{bail, Context as _, Result};
use stevedore_aws::operator::{stack_outputs, Executions};
use stevedore_aws::{load_sdk_config, Store};

/// The global options that say where Stevedore is.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Where Stevedore is")]
pub struct StackArgs {
    /// The Stevedore CloudFormation stack: the release table and the state machines are read
    /// from its outputs (DescribeStacks); a value set by its own option or variable wins.
    #[arg(long, env = "STEVEDORE_STACK", global = true, value_name = "NAME")]
    pub stack: Option<String>,
    /// The release table (the stack's ReleaseTableName output).
    #[arg(long, env = "STEVEDORE_TABLE", global = true, value_name = "NAME")]
    pub table: Option<String>,
    /// The promote state machine (the stack's PromoteStateMachineArn output).
    #[arg(
        long,
        env = "STEVEDORE_PROMOTE_STATE_MACHINE",
        global = true,
        value_name = "ARN"
    )]
    pub promote_state_machine: Option<String>,
    /// The rollback state machine (the stack's RollbackStateMachineArn output).
    #[arg(
        long,
        env = "STEVEDORE_ROLLBACK_STATE_MACHINE",
        global = true,
        value_name = "ARN"
    )]
    pub rollback_state_machine: Option<String>,
    /// The approve state machine, for approve and reject (the stack's ApproveStateMachineArn output).
    #[arg(
        long,
        env = "STEVEDORE_APPROVE_STATE_MACHINE",
        global = true,
        value_name = "ARN"
    )]
    pub approve_state_machine: Option<String>,
    /// The retry state machine (the stack's RetryStateMachineArn output).
    #[arg(
        long,
        env = "STEVEDORE_RETRY_STATE_MACHINE",
        global = true,
        value_name = "ARN"
    )]
    pub retry_state_machine: Option<String>,
}

/// An operator state machine the CLI starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    Promote,
    Rollback,
    Approve,
    Retry,
}

impl Machine {
    /// The stack output (template.yaml `Outputs`) that holds its ARN.
    pub fn output(self) -> &'static str {
        match self {
            Machine::Promote => "PromoteStateMachineArn",
            Machine::Rollback => "RollbackStateMachineArn",
            Machine::Approve => "ApproveStateMachineArn",
            Machine::Retry => "RetryStateMachineArn",
        }
    }

    /// The option and environment variable that name it.
    fn setting(self) -> (&'static str, &'static str) {
        match self {
            Machine::Promote => ("--promote-state-machine", "STEVEDORE_PROMOTE_STATE_MACHINE"),
            Machine::Rollback => (
                "--rollback-state-machine",
                "STEVEDORE_ROLLBACK_STATE_MACHINE",
            ),
            Machine::Approve => ("--approve-state-machine", "STEVEDORE_APPROVE_STATE_MACHINE"),
            Machine::Retry => ("--retry-state-machine", "STEVEDORE_RETRY_STATE_MACHINE"),
        }
    }

    fn given(self, args: &StackArgs) -> Option<&String> {
        match self {
            Machine::Promote => args.promote_state_machine.as_ref(),
            Machine::Rollback => args.rollback_state_machine.as_ref(),
            Machine::Approve => args.approve_state_machine.as_ref(),
            Machine::Retry => args.retry_state_machine.as_ref(),
        }
    }
}

const TABLE_OUTPUT: &str = "ReleaseTableName";

/// One setting: given on its own, else the stack's output, else an error naming every way to
/// set it. `outputs` is `None` without `--stack`.
pub fn pick(
    given: Option<&String>,
    outputs: Option<(&str, &BTreeMap<String, String>)>,
    output: &str,
    option: &str,
    variable: &str,
) -> Result<String> {
    if let Some(value) = given.filter(|v| !v.is_empty()) {
        return Ok(value.clone());
    }
    match outputs {
        Some((stack, outputs)) => match outputs.get(output).filter(|v| !v.is_empty()) {
            Some(value) => Ok(value.clone()),
            None => bail!(
                "stack `{stack}` has no output {output}: is it a Stevedore stack (template.yaml)? Deploy the current template, or pass {option} / set {variable}"
            ),
        },
        None => bail!(
            "which Stevedore? Pass --stack NAME (or set STEVEDORE_STACK) to read the stack's {output} output, or pass {option} / set {variable}"
        ),
    }
}

/// The AWS configuration and the settings, resolved when a command first needs them.
pub struct Context {
    args: StackArgs,
    sdk: Mutex<Option<stevedore_aws::SdkConfig>>,
    outputs: Mutex<Option<BTreeMap<String, String>>>,
    /// The table in use and where its name came from, for errors about it.
    table: Mutex<Option<(String, String)>>,
}

impl Context {
    pub fn new(args: StackArgs) -> Self {
        Self {
            args,
            sdk: Mutex::new(None),
            outputs: Mutex::new(None),
            table: Mutex::new(None),
        }
    }

    pub async fn sdk(&self) -> stevedore_aws::SdkConfig {
        if let Some(sdk) = self.sdk.lock().ok().and_then(|s| s.clone()) {
            return sdk;
        }
        let sdk = load_sdk_config().await;
        if let Ok(mut slot) = self.sdk.lock() {
            *slot = Some(sdk.clone());
        }
        sdk
    }

    /// The stack's outputs, read once; `None` without `--stack`.
    async fn outputs(&self) -> Result<Option<BTreeMap<String, String>>> {
        let Some(stack) = self.args.stack.as_deref().filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        if let Some(outputs) = self.outputs.lock().ok().and_then(|o| o.clone()) {
            return Ok(Some(outputs));
        }
        let outputs = stack_outputs(&self.sdk().await, stack)
            .await
            .with_context(|| format!("cannot read the outputs of stack `{stack}`"))?;
        if let Ok(mut slot) = self.outputs.lock() {
            *slot = Some(outputs.clone());
        }
        Ok(Some(outputs))
    }

    async fn setting(
        &self,
        given: Option<&String>,
        output: &str,
        option: &str,
        variable: &str,
    ) -> Result<String> {
        if given.is_some_and(|v| !v.is_empty()) {
            return pick(given, None, output, option, variable);
        }
        let outputs = self.outputs().await?;
        let stack = self.args.stack.as_deref().unwrap_or_default();
        pick(
            given,
            outputs.as_ref().map(|o| (stack, o)),
            output,
            option,
            variable,
        )
    }

    pub async fn store(&self) -> Result<Store> {
        let table = self
            .setting(
                self.args.table.as_ref(),
                TABLE_OUTPUT,
                "--table",
                "STEVEDORE_TABLE",
            )
            .await?;
        let source = match self.args.table.as_deref().filter(|t| !t.is_empty()) {
            Some(_) => "--table / STEVEDORE_TABLE".to_string(),
            None => format!(
                "the {TABLE_OUTPUT} output of stack `{}`",
                self.args.stack.as_deref().unwrap_or_default()
            ),
        };
        if let Ok(mut slot) = self.table.lock() {
            *slot = Some((table.clone(), source));
        }
        Ok(Store::from_sdk(&self.sdk().await, table))
    }

    /// `err`, and when DynamoDB answered that a resource does not exist, which table was
    /// asked for and where its name came from.
    pub fn explain(&self, err: anyhow::Error) -> anyhow::Error {
        let missing = format!("{err:#}").contains("ResourceNotFoundException");
        match self.table.lock().ok().and_then(|t| t.clone()) {
            Some((table, source)) if missing => err.context(format!(
                "the release table `{table}` (from {source}) was not found in this account and region"
            )),
            _ => err,
        }
    }

    pub async fn state_machine(&self, machine: Machine) -> Result<String> {
        let (option, variable) = machine.setting();
        self.setting(
            machine.given(&self.args),
            machine.output(),
            option,
            variable,
        )
        .await
    }

    pub async fn executions(&self) -> Executions {
        Executions::from_sdk(&self.sdk().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs() -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                "ReleaseTableName".to_string(),
                "stevedore-ReleaseTable".to_string(),
            ),
            (
                "PromoteStateMachineArn".to_string(),
                "arn:promote".to_string(),
            ),
        ])
    }

    #[test]
    fn a_value_given_on_its_own_wins_over_the_stack() {
        let own = "my-table".to_string();
        let outputs = outputs();
        let picked = pick(
            Some(&own),
            Some(("s", &outputs)),
            TABLE_OUTPUT,
            "--table",
            "STEVEDORE_TABLE",
        );
        assert_eq!(picked.unwrap(), "my-table");
        let empty = String::new();
        let picked = pick(
            Some(&empty),
            Some(("s", &outputs)),
            TABLE_OUTPUT,
            "--table",
            "STEVEDORE_TABLE",
        );
        assert_eq!(
            picked.unwrap(),
            "stevedore-ReleaseTable",
            "an empty variable is unset"
        );
    }

    #[test]
    fn missing_settings_say_how_to_set_them() {
        let outputs = outputs();
        let (option, variable) = Machine::Retry.setting();
        let err = pick(
            None,
            Some(("prod", &outputs)),
            Machine::Retry.output(),
            option,
            variable,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("stack `prod` has no output RetryStateMachineArn"),
            "{err}"
        );
        assert!(err.contains("STEVEDORE_RETRY_STATE_MACHINE"), "{err}");
        let err = pick(None, None, TABLE_OUTPUT, "--table", "STEVEDORE_TABLE")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--stack NAME") && err.contains("STEVEDORE_TABLE"),
            "{err}"
        );
    }
}
