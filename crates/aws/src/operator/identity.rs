//! Who runs the CLI: the caller's ARN, as STS GetCallerIdentity answers it (no permission is
//! needed for that call: <https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html>).

use stevedore_core::{Error, Result};

use crate::error::classify;

/// The ARN of the credentials in use (an IAM user, or `assumed-role/<role>/<session>`).
pub async fn caller_arn(config: &aws_config::SdkConfig) -> Result<String> {
    caller_arn_with(&aws_sdk_sts::Client::new(config)).await
}

async fn caller_arn_with(client: &aws_sdk_sts::Client) -> Result<String> {
    let out = client
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| classify("GetCallerIdentity", e))?;
    out.arn
        .filter(|arn| !arn.is_empty())
        .ok_or_else(|| Error::AwsError("GetCallerIdentity answered no ARN".into()))
}

#[cfg(test)]
mod tests {
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
    use aws_smithy_mocks::mock;

    use super::*;
    use crate::test_support::mocked_client;

    #[tokio::test]
    async fn the_caller_is_named_by_its_arn() {
        let arn = "arn:aws:sts::123456789012:assumed-role/release-managers/alice";
        let rule = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(move || {
            GetCallerIdentityOutput::builder()
                .arn(arn)
                .account("123456789012")
                .build()
        });
        let client = mocked_client!(aws_sdk_sts, [&rule]);
        assert_eq!(caller_arn_with(&client).await.unwrap(), arn);
    }

    #[tokio::test]
    async fn an_answer_without_an_arn_is_an_error() {
        let rule = mock!(aws_sdk_sts::Client::get_caller_identity)
            .then_output(|| GetCallerIdentityOutput::builder().build());
        let client = mocked_client!(aws_sdk_sts, [&rule]);
        assert!(caller_arn_with(&client).await.is_err());
    }
}
