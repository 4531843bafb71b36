//! Lambda `record`: see `stevedore_handlers::record` for what it does.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use stevedore_aws::{load_sdk_config, EventBus, StepFunctions, Store};
use stevedore_handlers::record::Record;
use stevedore_handlers::{init_tracing, required_env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required_env("STEVEDORE_TABLE")?;

    let sdk = load_sdk_config().await;
    let ctx = Record {
        store: Store::from_sdk(&sdk, table),
        sfn: StepFunctions::from_sdk(&sdk),
        events: EventBus::from_sdk(&sdk),
    };
    let ctx = &ctx;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        stevedore_handlers::record::handle_event(ctx, event.payload).await
    }))
    .await
}
