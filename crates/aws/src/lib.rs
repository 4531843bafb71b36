//! AWS adapters for Stevedore: SDK shapes in, core types out. No deploy decisions live here.

pub mod accounts;
pub mod codebuild;
pub mod ecr;
pub mod ecs;
pub mod error;
pub mod events;
pub mod load_balancers;
pub mod notification_secrets;
#[cfg(feature = "operator")]
pub mod operator;
pub mod schedules;
pub mod secrets;
pub mod sfn;
pub mod sns;
pub mod ssm;
pub mod store;

#[cfg(test)]
mod test_support;

pub use accounts::Accounts;
pub use aws_config::SdkConfig;
pub use codebuild::CodeBuild;
pub use ecr::Ecr;
pub use ecs::Ecs;
pub use events::{BusEvent, EventBus, PutOutcome};
pub use load_balancers::LoadBalancers;
pub use notification_secrets::{NotificationSecrets, SecretText};
pub use schedules::{PointedTarget, ScheduleTarget, Schedules};
pub use secrets::SecretsManager;
pub use sfn::StepFunctions;
pub use sns::{Topic, TopicMessage};
pub use ssm::ParameterStore;
pub use store::Store;

/// Loads the standard AWS configuration once per process (region, credentials and
/// `AWS_ENDPOINT_URL` from the environment, as on Lambda). Requests carry the Lambda
/// function's name as the user agent's app name, so the account's logs (and the local
/// emulator's request audit) can tell which function made each call. Calls are retried as
/// [`retry_config`] says.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).retry_config(retry_config());
    let app_name = std::env::var("AWS_LAMBDA_FUNCTION_NAME")
        .ok()
        .and_then(|name| aws_config::AppName::new(name).ok());
    if let Some(app_name) = app_name {
        loader = loader.app_name(app_name);
    }
    loader.load().await
}

/// Each SDK call's own retries: the standard mode (exponential backoff with full jitter, a
/// retry quota per client) with more attempts and a longer ceiling than the default 3 attempts,
/// so a throttled ECS / DynamoDB call in a burst of releases is absorbed inside the function
/// (worst case about 7.5 s of backoff per call, well within a function's 60 s). Throttling that
/// outlasts this surfaces as `Throttled`, which the state machines retry for minutes with
/// full jitter (their `Throttled` retrier), so a 50-service burst spreads out.
/// https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
pub fn retry_config() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(SDK_MAX_ATTEMPTS)
        .with_initial_backoff(std::time::Duration::from_millis(500))
        .with_max_backoff(std::time::Duration::from_secs(4))
}

/// Attempts per SDK call, the first included.
pub const SDK_MAX_ATTEMPTS: u32 = 5;

#[cfg(test)]
mod retry_tests {
    use super::*;
    use aws_config::retry::RetryMode;
    use std::time::Duration;

    #[test]
    fn sdk_calls_retry_with_jittered_backoff_within_a_function_run() {
        let config = retry_config();
        assert_eq!(config.mode(), RetryMode::Standard);
        assert_eq!(config.max_attempts(), 5);
        assert_eq!(config.initial_backoff(), Duration::from_millis(500));
        assert_eq!(config.max_backoff(), Duration::from_secs(4));
        // The worst case of all retries of one call (each backoff capped) stays far below the
        // functions' 60 s timeout: longer waits are the state machines' job.
        let worst: Duration = (0..config.max_attempts() - 1)
            .map(|n| (config.initial_backoff() * 2u32.pow(n)).min(config.max_backoff()))
            .sum();
        assert!(worst <= Duration::from_secs(15), "{worst:?}");
    }
}
