//! Maps SDK failures to Stevedore's typed errors, so the state machine can tell a throttle
//! (retry with backoff) from a transient fault (retry) from a real refusal (record and stop).

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use stevedore_core::Error;

const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "ProvisionedThroughputExceededException",
];

const TRANSIENT_CODES: &[&str] = &[
    "InternalFailure",
    "InternalServerError",
    "InternalServerException",
    "ServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    // DynamoDB: a write raced a transaction on the same item.
    "TransactionConflictException",
];

/// The error code and message of an SDK failure, whatever its kind.
pub fn code_and_message<E, R>(err: &SdkError<E, R>) -> (String, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().unwrap_or("Unknown").to_string();
    let message = err
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| aws_smithy_types::error::display::DisplayErrorContext(err).to_string());
    (code, message)
}

/// Classifies any SDK failure of `operation` into the error type the state machine matches on.
pub fn classify<E, R>(operation: &str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let (code, message) = code_and_message(&err);
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Error::TransientAws(format!("{operation} failed: {code}: {message}"))
        }
        _ => classify_code(operation, &code, &message),
    }
}

/// Classifies an error code a service reported (in an error response, or per entry of a batch
/// answer such as PutTargets' FailedEntries) like [`classify`] does.
pub fn classify_code(operation: &str, code: &str, message: &str) -> Error {
    let text = format!("{operation} failed: {code}: {message}");
    if THROTTLING_CODES.contains(&code) {
        Error::Throttled(text)
    } else if TRANSIENT_CODES.contains(&code) {
        Error::TransientAws(text)
    } else {
        Error::AwsError(text)
    }
}

/// True when the failure is DynamoDB's "the condition did not hold".
/// The result of a conditional write whose condition not holding means "nothing to do"
/// (someone else holds it, it moved on already): only other failures are errors.
pub fn unless_condition_failed<T, E, R>(
    operation: &str,
    result: std::result::Result<T, SdkError<E, R>>,
) -> stevedore_core::Result<()>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(()),
        Err(err) if is_conditional_check_failure(&err) => Ok(()),
        Err(err) => Err(classify(operation, err)),
    }
}

pub fn is_conditional_check_failure<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    err.code() == Some("ConditionalCheckFailedException")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_smithy_types::error::ErrorMetadata;

    fn service_error(code: &str) -> SdkError<GetItemError, ()> {
        let meta = ErrorMetadata::builder().code(code).message("boom").build();
        SdkError::service_error(GetItemError::generic(meta), ())
    }

    #[test]
    fn throttling_codes_become_throttled() {
        let err = classify("GetItem", service_error("ThrottlingException"));
        assert_eq!(err.error_type(), "Throttled");
        assert!(err
            .to_string()
            .contains("GetItem failed: ThrottlingException: boom"));
    }

    #[test]
    fn server_faults_are_transient() {
        assert_eq!(
            classify("GetItem", service_error("InternalServerError")).error_type(),
            "TransientAws"
        );
    }

    #[test]
    fn other_codes_are_plain_aws_errors() {
        let err = classify("GetItem", service_error("ResourceNotFoundException"));
        assert_eq!(err.error_type(), "AwsError");
        assert!(is_conditional_check_failure(&service_error(
            "ConditionalCheckFailedException"
        )));
        assert!(!is_conditional_check_failure(&service_error(
            "ValidationException"
        )));
    }
}
