//! AWS adapters for Stevedore: SDK shapes in, core types out. No deploy decisions live here.

pub mod ecs;
pub mod error;
pub mod secrets;
pub mod sfn;
pub mod store;

#[cfg(test)]
mod test_support;

pub use ecs::Ecs;
pub use secrets::SecretsManager;
pub use sfn::StepFunctions;
pub use store::Store;

/// Loads the standard AWS configuration once per process (region, credentials and
/// `AWS_ENDPOINT_URL` from the environment, as on Lambda).
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
