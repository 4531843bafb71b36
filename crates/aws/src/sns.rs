//! SNS: publishes the notify function's message to the stack's notification topic.

use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;
use stevedore_core::{Error, Result};

use crate::error::classify;

/// One message for the topic: its body, the subject email subscribers see, and string
/// attributes a subscription's filter policy can match on
/// (https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html).
#[derive(Debug, Clone, PartialEq)]
pub struct TopicMessage {
    pub subject: String,
    pub body: String,
    pub attributes: Vec<(String, String)>,
}

pub struct Topic {
    client: Client,
    arn: String,
}

impl Topic {
    pub fn new(client: Client, arn: impl Into<String>) -> Self {
        Self {
            client,
            arn: arn.into(),
        }
    }

    pub fn from_sdk(config: &aws_config::SdkConfig, arn: impl Into<String>) -> Self {
        Self::new(Client::new(config), arn)
    }

    /// Publishes; the message id SNS gave it.
    pub async fn publish(&self, message: &TopicMessage) -> Result<String> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.arn)
            .subject(&message.subject)
            .message(&message.body);
        for (name, value) in &message.attributes {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| Error::InvalidInput(format!("message attribute `{name}`: {e}")))?;
            request = request.message_attributes(name, attribute);
        }
        let out = request.send().await.map_err(|e| classify("Publish", e))?;
        Ok(out.message_id.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::mocked_client;
    use aws_sdk_sns::operation::publish::PublishOutput;
    use aws_smithy_mocks::mock;

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:stevedore-NotificationTopic";

    fn message() -> TopicMessage {
        TopicMessage {
            subject: "Stevedore: backend/production FAILED v1".into(),
            body: r#"{"version":"1.0","source":"custom"}"#.into(),
            attributes: vec![
                ("app".into(), "backend".into()),
                ("status".into(), "FAILED".into()),
            ],
        }
    }

    #[tokio::test]
    async fn publishes_body_subject_and_attributes_to_the_topic() {
        let rule = mock!(Client::publish)
            .match_requests(|r| {
                let attributes = r.message_attributes().expect("attributes");
                r.topic_arn() == Some(TOPIC)
                    && r.message() == Some(r#"{"version":"1.0","source":"custom"}"#)
                    && r.subject() == Some("Stevedore: backend/production FAILED v1")
                    && attributes["app"].string_value() == Some("backend")
                    && attributes["status"].data_type() == "String"
            })
            .then_output(|| PublishOutput::builder().message_id("m-1").build());
        let topic = Topic::new(mocked_client!(aws_sdk_sns, [&rule]), TOPIC);
        assert_eq!(topic.publish(&message()).await.unwrap(), "m-1");
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_refusal_is_an_error_naming_the_operation() {
        // The query protocol's error document, as SNS answers a denied Publish (HTTP 403,
        // code AuthorizationError: https://docs.aws.amazon.com/sns/latest/api/API_Publish.html).
        let body = r#"<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>AuthorizationError</Code><Message>not authorized to perform: SNS:Publish</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"#;
        let rule = mock!(Client::publish)
            .sequence()
            .http_status(403, Some(body.to_string()))
            .build();
        let topic = Topic::new(mocked_client!(aws_sdk_sns, [&rule]), TOPIC);
        let error = topic.publish(&message()).await.unwrap_err();
        assert_eq!(error.error_type(), "AwsError");
        assert!(
            error
                .to_string()
                .starts_with("Publish failed: AuthorizationError"),
            "{error}"
        );
    }
}
