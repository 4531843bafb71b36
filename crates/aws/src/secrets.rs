//! Secrets Manager: resolves a secret name or ARN to its full ARN with DescribeSecret.
//! The deploy path never calls GetSecretValue: ECS resolves values at task start.

use aws_sdk_secretsmanager::Client;
use stevedore_core::{Error, Result};

use crate::error::{classify, code_and_message};

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
        match self
            .client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
        {
            Ok(out) if out.deleted_date.is_some() => Ok(None),
            Ok(out) => out.arn.map(Some).ok_or_else(|| {
                Error::AwsError(format!("DescribeSecret returned no ARN for `{secret_id}`"))
            }),
            Err(e) if code_and_message(&e).0 == "ResourceNotFoundException" => Ok(None),
            Err(e) => Err(classify("DescribeSecret", e)),
        }
    }
}
