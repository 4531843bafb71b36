//! Secrets Manager: resolves a secret name or ARN to its full ARN with DescribeSecret.
//! The deploy path never calls GetSecretValue: ECS resolves values at task start.

use aws_sdk_secretsmanager::Client;
use stevedore_core::{Error, Result};

use crate::error::{classify, code_and_message};

/// A secret as DescribeSecret found it (never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSecret {
    pub arn: String,
    pub name: String,
}

pub struct SecretsManager {
    client: Client,
}

impl SecretsManager {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub fn from_sdk(config: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(config))
    }

    /// The full ARN (with its random suffix) of a secret given by name or ARN; None when it
    /// does not exist (or is scheduled for deletion).
    pub async fn full_arn(&self, secret_id: &str) -> Result<Option<String>> {
        Ok(self.describe(secret_id).await?.map(|found| found.arn))
    }

    /// The secret's full ARN and its name as Secrets Manager knows it (which can differ from
    /// what was asked: a name ending in `-` and six characters also matches as a partial ARN).
    pub async fn describe(&self, secret_id: &str) -> Result<Option<FoundSecret>> {
        match self
            .client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
        {
            Ok(out) if out.deleted_date.is_some() => Ok(None),
            Ok(out) => {
                let arn = out.arn.ok_or_else(|| {
                    Error::AwsError(format!("DescribeSecret returned no ARN for `{secret_id}`"))
                })?;
                Ok(Some(FoundSecret {
                    arn,
                    name: out.name.unwrap_or_default(),
                }))
            }
            Err(e) if code_and_message(&e).0 == "ResourceNotFoundException" => Ok(None),
            Err(e) => Err(classify("DescribeSecret", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{error_body, mocked_client};
    use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::DateTime;

    const FULL_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";

    fn secrets(rule: Rule) -> SecretsManager {
        SecretsManager::new(mocked_client!(aws_sdk_secretsmanager, [&rule]))
    }

    fn describe_of(
        secret_id: &'static str,
    ) -> aws_smithy_mocks::RuleBuilder<
        aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretInput,
        DescribeSecretOutput,
        aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretError,
    > {
        mock!(Client::describe_secret).match_requests(move |r| r.secret_id() == Some(secret_id))
    }

    fn failing_with(secret_id: &'static str, code: &str) -> Rule {
        describe_of(secret_id)
            .sequence()
            .http_status(400, Some(error_body(code, "from the service")))
            .build()
    }

    #[tokio::test]
    async fn full_arn_of_an_existing_secret() {
        let rule = describe_of("prod/db").then_output(|| {
            DescribeSecretOutput::builder()
                .arn(FULL_ARN)
                .name("prod/db")
                .build()
        });
        let arn = secrets(rule.clone()).full_arn("prod/db").await.unwrap();
        assert_eq!(arn.as_deref(), Some(FULL_ARN));
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn missing_secret_is_none() {
        let rule = failing_with("prod/nope", "ResourceNotFoundException");
        assert_eq!(secrets(rule).full_arn("prod/nope").await.unwrap(), None);
    }

    #[tokio::test]
    async fn secret_scheduled_for_deletion_is_none() {
        let rule = describe_of("prod/db").then_output(|| {
            DescribeSecretOutput::builder()
                .arn(FULL_ARN)
                .deleted_date(DateTime::from_secs(1_700_000_000))
                .build()
        });
        assert_eq!(secrets(rule).full_arn("prod/db").await.unwrap(), None);
    }

    #[tokio::test]
    async fn throttling_is_classified_not_swallowed() {
        let rule = failing_with("prod/db", "ThrottlingException");
        let err = secrets(rule).full_arn("prod/db").await.unwrap_err();
        assert_eq!(err.error_type(), "Throttled", "{err}");
        assert!(
            err.to_string()
                .contains("DescribeSecret failed: ThrottlingException"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn access_denied_is_an_error_not_a_missing_secret() {
        let rule = failing_with("prod/db", "AccessDeniedException");
        let err = secrets(rule).full_arn("prod/db").await.unwrap_err();
        assert_eq!(err.error_type(), "AwsError", "{err}");
    }

    #[tokio::test]
    async fn an_answer_without_arn_is_an_error() {
        let rule = describe_of("prod/db").then_output(|| DescribeSecretOutput::builder().build());
        let err = secrets(rule).full_arn("prod/db").await.unwrap_err();
        assert_eq!(err.error_type(), "AwsError");
        assert!(err.to_string().contains("`prod/db`"), "{err}");
    }
}
