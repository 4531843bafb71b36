//! Lambda `deployment-hook`: see `stevedore_handlers::lifecycle_hook` for what it does.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use stevedore_aws::{load_sdk_config, Store};
use stevedore_handlers::lifecycle_hook::{handle, DeploymentHook};
use stevedore_handlers::smoke_probe::SmokeProbe;
use stevedore_handlers::{init_tracing, required_env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required_env("STEVEDORE_TABLE")?;
    let sdk = load_sdk_config().await;
    let ctx = DeploymentHook {
        store: Store::from_sdk(&sdk, table),
        probe: SmokeProbe::new()?,
    };
    let ctx = &ctx;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle(ctx, event.payload).await
    }))
    .await
}
