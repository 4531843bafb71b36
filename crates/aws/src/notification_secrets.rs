//! The one secret value Stevedore reads: a notification destination's URL, by the notify
//! function only (template.yaml allows GetSecretValue to notify alone, on the notification
//! secrets' name pattern). The deploy path never reads a secret value.

use std::fmt;

use aws_sdk_secretsmanager::Client;
use stevedore_core::{Error, Result};

use crate::error::{classify, code_and_message};

/// A secret's value. It prints as `<redacted>` (Debug and Display), so it cannot reach a log
/// by accident; [`SecretText::expose`] is the one way to the text.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretText(String);

impl SecretText {
    pub fn new(text: impl Into<String>) -> Self {
        SecretText(text.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

pub struct NotificationSecrets {
    client: Client,
}

impl NotificationSecrets {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub fn from_sdk(config: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(config))
    }

    /// The current value (`AWSCURRENT`) of `secret_id` (name or ARN) as text. A missing
    /// secret is `SecretNotFound`; a binary one `InvalidConfig`; other failures as classified.
    pub async fn read(&self, secret_id: &str) -> Result<SecretText> {
        let out = match self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if code_and_message(&e).0 == "ResourceNotFoundException" => {
                return Err(Error::SecretNotFound(format!(
                    "notification secret `{secret_id}` does not exist"
                )))
            }
            Err(e) => return Err(classify("GetSecretValue", e)),
        };
        match out.secret_string {
            Some(text) => Ok(SecretText(text)),
            None => Err(Error::InvalidConfig(format!(
                "notification secret `{secret_id}` holds no text (a binary secret?); store the URL as its string value"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{error_body, mocked_client};
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
    use aws_smithy_mocks::mock;

    const ID: &str = "stevedore/notifications/backend-slack";
    const URL: &str = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";

    #[tokio::test]
    async fn reads_the_current_text_and_never_prints_it() {
        let rule = mock!(Client::get_secret_value)
            .match_requests(|r| r.secret_id() == Some(ID) && r.version_stage().is_none())
            .then_output(|| GetSecretValueOutput::builder().secret_string(URL).build());
        let secrets = NotificationSecrets::new(mocked_client!(aws_sdk_secretsmanager, [&rule]));
        let value = secrets.read(ID).await.unwrap();
        assert_eq!(value.expose(), URL);
        assert_eq!(format!("{value:?} {value}"), "<redacted> <redacted>");
    }

    #[tokio::test]
    async fn a_missing_or_binary_secret_is_named_not_read() {
        let missing = mock!(Client::get_secret_value)
            .sequence()
            .http_status(
                400,
                Some(error_body(
                    "ResourceNotFoundException",
                    "Secrets Manager can't find the specified secret.",
                )),
            )
            .build();
        let binary = mock!(Client::get_secret_value).then_output(|| {
            GetSecretValueOutput::builder()
                .secret_binary(aws_smithy_types::Blob::new(vec![1, 2]))
                .build()
        });
        let secrets =
            NotificationSecrets::new(mocked_client!(aws_sdk_secretsmanager, [&missing, &binary]));
        let error = secrets.read(ID).await.unwrap_err();
        assert_eq!(error.error_type(), "SecretNotFound");
        assert!(error.to_string().contains(ID), "{error}");
        let error = secrets.read(ID).await.unwrap_err();
        assert_eq!(error.error_type(), "InvalidConfig");
    }
}
