//! What every function shares at its edge: tracing, env config and the error shape that
//! Step Functions matches `ErrorEquals` on.

use chrono::{DateTime, SecondsFormat, Utc};
use lambda_runtime::Diagnostic;
use stevedore_core::Error;

/// A handler failure. Its `errorType` is the core error's variant name, which is exactly
/// what the state machine's `Retry` / `Catch` name.
#[derive(Debug)]
pub struct HandlerError(pub Error);

impl From<Error> for HandlerError {
    fn from(error: Error) -> Self {
        tracing::error!(error_type = error.error_type(), error = %error, "handler failed");
        HandlerError(error)
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Diagnostic {
        Diagnostic {
            error_type: error.0.error_type().to_string(),
            error_message: error.0.to_string(),
        }
    }
}

/// JSON logs on Lambda (its `AWS_LAMBDA_LOG_FORMAT`), plain text elsewhere; level from
/// `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`.
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// A required environment variable, with an error naming it.
pub fn required_env(name: &str) -> Result<String, String> {
    std::env::var(name)
        .map_err(|_| format!("environment variable {name} is not set (see template.yaml)"))
}

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostic_carries_the_variant_name_as_error_type() {
        let diagnostic: Diagnostic =
            HandlerError(Error::SecretNotFound("secret `x` is missing".into())).into();
        assert_eq!(diagnostic.error_type, "SecretNotFound");
        assert_eq!(diagnostic.error_message, "secret `x` is missing");
    }
}
