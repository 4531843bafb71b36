//! AWS adapters for Stevedore: SDK shapes in, core types out. No deploy decisions live here.

pub mod codebuild;
pub mod ecr;
pub mod ecs;
pub mod error;
pub mod secrets;
pub mod sfn;
pub mod ssm;
pub mod store;

#[cfg(test)]
mod test_support;

pub use codebuild::CodeBuild;
pub use ecr::Ecr;
pub use ecs::Ecs;
pub use secrets::SecretsManager;
pub use sfn::StepFunctions;
pub use ssm::ParameterStore;
pub use store::Store;

/// Loads the standard AWS configuration once per process (region, credentials and
/// `AWS_ENDPOINT_URL` from the environment, as on Lambda). Requests carry the Lambda
/// function's name as the user agent's app name, so the account's logs (and the local
/// emulator's request audit) can tell which function made each call.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    let app_name = std::env::var("AWS_LAMBDA_FUNCTION_NAME")
        .ok()
        .and_then(|name| aws_config::AppName::new(name).ok());
    if let Some(app_name) = app_name {
        loader = loader.app_name(app_name);
    }
    loader.load().await
}
