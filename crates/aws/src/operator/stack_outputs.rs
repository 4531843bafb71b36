//! The Stevedore stack's outputs (template.yaml `Outputs`: the release table, the state
//! machines), read with CloudFormation DescribeStacks.

use std::collections::BTreeMap;

use stevedore_core::{Error, Result};

use crate::error::{classify, code_and_message};

/// Output key -> value of the stack named `stack` (a name or a stack id).
pub async fn stack_outputs(
    config: &aws_config::SdkConfig,
    stack: &str,
) -> Result<BTreeMap<String, String>> {
    outputs_with(&aws_sdk_cloudformation::Client::new(config), stack).await
}

async fn outputs_with(
    client: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> Result<BTreeMap<String, String>> {
    let out = match client.describe_stacks().stack_name(stack).send().await {
        Ok(out) => out,
        // "If the stack doesn't exist, a ValidationError is returned."
        // (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html)
        Err(e) if code_and_message(&e).0 == "ValidationError" => {
            let (_, message) = code_and_message(&e);
            return Err(Error::InvalidInput(format!(
                "CloudFormation has no stack `{stack}` in this account and region ({message}); check --stack and AWS_REGION"
            )));
        }
        Err(e) => return Err(classify("DescribeStacks", e)),
    };
    let found = out
        .stacks
        .unwrap_or_default()
        .into_iter()
        .next()
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "CloudFormation has no stack `{stack}` in this account and region"
            ))
        })?;
    Ok(found
        .outputs
        .unwrap_or_default()
        .into_iter()
        .filter_map(|output| Some((output.output_key?, output.output_value?)))
        .collect())
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudformation::operation::describe_stacks::{
        DescribeStacksError, DescribeStacksOutput,
    };
    use aws_sdk_cloudformation::types::{Output, Stack, StackStatus};
    use aws_smithy_mocks::mock;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;
    use crate::test_support::mocked_client;

    fn output(key: &str, value: &str) -> Output {
        Output::builder()
            .output_key(key)
            .output_value(value)
            .build()
    }

    #[tokio::test]
    async fn outputs_are_read_by_key() {
        let rule = mock!(aws_sdk_cloudformation::Client::describe_stacks)
            .match_requests(|r| r.stack_name() == Some("stevedore"))
            .then_output(|| {
                let stack = Stack::builder()
                    .stack_name("stevedore")
                    .stack_status(StackStatus::CreateComplete)
                    .outputs(output("ReleaseTableName", "stevedore-ReleaseTable"))
                    .outputs(output(
                        "PromoteStateMachineArn",
                        "arn:aws:states:us-east-1:123456789012:stateMachine:stevedore-promote",
                    ))
                    .build();
                DescribeStacksOutput::builder().stacks(stack).build()
            });
        let client = mocked_client!(aws_sdk_cloudformation, [&rule]);
        let outputs = outputs_with(&client, "stevedore").await.unwrap();
        assert_eq!(outputs["ReleaseTableName"], "stevedore-ReleaseTable");
        assert!(outputs["PromoteStateMachineArn"].ends_with(":stevedore-promote"));
        assert_eq!(outputs.len(), 2);
    }

    #[tokio::test]
    async fn a_missing_stack_is_named_in_the_error() {
        let rule = mock!(aws_sdk_cloudformation::Client::describe_stacks).then_error(|| {
            DescribeStacksError::generic(
                ErrorMetadata::builder()
                    .code("ValidationError")
                    .message("Stack with id nope does not exist")
                    .build(),
            )
        });
        let client = mocked_client!(aws_sdk_cloudformation, [&rule]);
        let err = outputs_with(&client, "nope").await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        assert!(err.to_string().contains("no stack `nope`"), "{err}");
    }
}
