//! Helpers for the adapters' unit tests: SDK clients answered by `aws_smithy_mocks` rules.

/// A client of `$krate` (e.g. `aws_sdk_ecs`) that answers with `$rules` (any iterable of
/// `&Rule`), in order: each call must match the next rule (its `match_requests` predicate is
/// the request's assertion: a mismatch panics), and a call beyond the last rule panics. SDK
/// retries are off, so a rule answers exactly one attempt.
macro_rules! mocked_client {
    ($krate:ident, $rules:expr) => {{
        let rules: Vec<&aws_smithy_mocks::Rule> = $rules.into_iter().collect();
        aws_smithy_mocks::mock_client!(
            $krate,
            aws_smithy_mocks::RuleMode::Sequential,
            &rules,
            |config| config.retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        )
    }};
}
pub(crate) use mocked_client;

/// The body of an AWS JSON-protocol error response, as the service sends it; the SDK's own
/// deserializer turns it into the error the adapter sees (code from `__type`).
pub(crate) fn error_body(code: &str, message: &str) -> String {
    serde_json::json!({"__type": code, "message": message}).to_string()
}

/// Takes the input a rule saw, so a test can assert on the exact request.
pub(crate) type Captured<T> = std::sync::Arc<std::sync::Mutex<Vec<T>>>;

pub(crate) fn captured<T>() -> Captured<T> {
    Default::default()
}
