//! Lambda `on-push`: see `stevedore_handlers::on_push` for what it does.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use stevedore_aws::{load_sdk_config, Ecr, StepFunctions, Store};
use stevedore_handlers::on_push::{handle, OnPush};
use stevedore_handlers::{init_tracing, required_env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required_env("STEVEDORE_TABLE")?;
    let deploy_state_machine_arn = required_env("DEPLOY_STATE_MACHINE_ARN")?;
    let account = required_env("STEVEDORE_ACCOUNT_ID")?;
    let region = required_env("AWS_REGION")?;
    let sdk = load_sdk_config().await;
    let ctx = OnPush {
        store: Store::from_sdk(&sdk, table),
        ecr: Ecr::from_sdk(&sdk),
        sfn: StepFunctions::from_sdk(&sdk),
        deploy_state_machine_arn,
        account,
        region,
    };
    let ctx = &ctx;
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move { handle(ctx, event.payload).await })).await
}
