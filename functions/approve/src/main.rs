//! Lambda `approve`: see `stevedore_handlers::approve` for what it does.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use stevedore_aws::{load_sdk_config, StepFunctions, Store};
use stevedore_handlers::approve::{handle, Approve, ApproveRequest};
use stevedore_handlers::{init_tracing, required_env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required_env("STEVEDORE_TABLE")?;
    let sdk = load_sdk_config().await;
    let ctx = Approve {
        store: Store::from_sdk(&sdk, table),
        sfn: StepFunctions::from_sdk(&sdk),
    };
    let ctx = &ctx;
    run(service_fn(
        move |event: LambdaEvent<ApproveRequest>| async move { handle(ctx, event.payload).await },
    ))
    .await
}
