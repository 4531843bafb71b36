//! SSM Parameter Store: resolves a parameter name to its ARN with DescribeParameters
//! (metadata only). Like secrets, parameter values are never read: ECS reads them at task start.

use aws_sdk_ssm::types::ParameterStringFilter;
use aws_sdk_ssm::Client;
use stevedore_core::{Error, Result};

use crate::error::classify;

pub struct ParameterStore {
    client: Client,
}

impl ParameterStore {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub fn from_sdk(config: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(config))
    }

    /// The ARN of parameter `name` in this account and region; None when it does not exist.
    pub async fn parameter_arn(
        &self,
        name: &str,
        region: &str,
        account: &str,
    ) -> Result<Option<String>> {
        let filter = ParameterStringFilter::builder()
            .key("Name")
            .option("Equals")
            .values(name)
            .build()
            .map_err(|e| Error::InvalidInput(format!("parameter filter for `{name}`: {e}")))?;
        let out = self
            .client
            .describe_parameters()
            .parameter_filters(filter)
            .send()
            .await
            .map_err(|e| classify("DescribeParameters", e))?;
        Ok(out
            .parameters()
            .iter()
            .find(|p| p.name() == Some(name))
            .map(|p| {
                p.arn()
                    .map(str::to_string)
                    .unwrap_or_else(|| parameter_arn(region, account, name))
            }))
    }
}

/// `arn:aws:ssm:<region>:<account>:parameter/<name without its leading slash>`.
pub fn parameter_arn(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:aws:ssm:{region}:{account}:parameter/{}",
        name.trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ssm::operation::describe_parameters::DescribeParametersOutput;
    use aws_sdk_ssm::types::ParameterMetadata;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    #[test]
    fn arns_drop_the_leading_slash() {
        assert_eq!(
            parameter_arn("us-east-1", "123456789012", "/app/prod/db-url"),
            "arn:aws:ssm:us-east-1:123456789012:parameter/app/prod/db-url"
        );
        assert_eq!(
            parameter_arn("us-east-1", "123456789012", "plain"),
            "arn:aws:ssm:us-east-1:123456789012:parameter/plain"
        );
    }

    #[tokio::test]
    async fn finds_a_parameter_by_exact_name_without_reading_it() {
        let found = mock!(Client::describe_parameters)
            .match_requests(|r| {
                let filter = &r.parameter_filters()[0];
                filter.key() == "Name"
                    && filter.option() == Some("Equals")
                    && filter.values() == ["/app/db"]
            })
            .then_output(|| {
                DescribeParametersOutput::builder()
                    .parameters(ParameterMetadata::builder().name("/app/db").build())
                    .build()
            });
        let missing = mock!(Client::describe_parameters)
            .then_output(|| DescribeParametersOutput::builder().build());
        let store = ParameterStore::new(mock_client!(
            aws_sdk_ssm,
            RuleMode::Sequential,
            [&found, &missing]
        ));
        assert_eq!(
            store
                .parameter_arn("/app/db", "us-east-1", "123456789012")
                .await
                .unwrap()
                .as_deref(),
            Some("arn:aws:ssm:us-east-1:123456789012:parameter/app/db")
        );
        assert_eq!(
            store
                .parameter_arn("/app/nope", "us-east-1", "123456789012")
                .await
                .unwrap(),
            None
        );
    }
}
