//! Lambda `promote`: see `stevedore_handlers::promote` for what it does.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use stevedore_aws::{load_sdk_config, StepFunctions, Store};
use stevedore_handlers::promote::{handle_event, Promote};
use stevedore_handlers::{init_tracing, required_env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required_env("STEVEDORE_TABLE")?;
    let deploy_state_machine_arn = required_env("DEPLOY_STATE_MACHINE_ARN")?;
    let sdk = load_sdk_config().await;
    let ctx = Promote {
        store: Store::from_sdk(&sdk, table),
        sfn: StepFunctions::from_sdk(&sdk),
        deploy_state_machine_arn,
    };
    let ctx = &ctx;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_event(ctx, event.payload).await
    }))
    .await
}
