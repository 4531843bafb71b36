//! Lambda `on-ecs-event`: see `stevedore_handlers::on_ecs_event` for what it does.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use stevedore_aws::{load_sdk_config, Ecs, StepFunctions, Store};
use stevedore_core::ecs_event::Home;
use stevedore_handlers::on_ecs_event::{handle, OnEcsEvent};
use stevedore_handlers::{init_tracing, required_env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required_env("STEVEDORE_TABLE")?;

    let sdk = load_sdk_config().await;
    let ctx = OnEcsEvent {
        store: Store::from_sdk(&sdk, table),
        ecs: Ecs::from_sdk(&sdk),
        sfn: StepFunctions::from_sdk(&sdk),
    };
    let ctx = &ctx;
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            // The account and region this function runs in, to tell its own ECS events from others'.
            let home = Home::from_function_arn(&event.context.invoked_function_arn);
            handle(ctx, event.payload, home.as_ref()).await
        },
    ))
    .await
}
