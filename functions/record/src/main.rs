//! Lambda `record`: see `stevedore_handlers::record` for what it does.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use stevedore_aws::{load_sdk_config, Store};
use stevedore_handlers::record::{handle, RecordRequest};
use stevedore_handlers::{init_tracing, required_env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required_env("STEVEDORE_TABLE")?;

    let sdk = load_sdk_config().await;
    let ctx = Store::from_sdk(&sdk, table);
    let ctx = &ctx;
    run(service_fn(
        move |event: LambdaEvent<RecordRequest>| async move { handle(ctx, event.payload).await },
    ))
    .await
}
