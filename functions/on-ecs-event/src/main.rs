//! Lambda `on-ecs-event`: see `stevedore_handlers::on_ecs_event` for what it does.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use stevedore_aws::{load_sdk_config, Ecs, StepFunctions, Store};
use stevedore_core::ecs_event::Home;
use stevedore_handlers::on_ecs_event::{handle, OnEcsEvent};
use stevedore_handlers::{accounts_from_env, init_tracing, required_env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required_env("STEVEDORE_TABLE")?;
    // The stack's own account and region, to tell its ECS events from others'.
    let home = Home::new(
        required_env("STEVEDORE_ACCOUNT_ID")?,
        required_env("AWS_REGION")?,
    );

    let sdk = load_sdk_config().await;
    let ctx = OnEcsEvent {
        store: Store::from_sdk(&sdk, table),
        ecs: Ecs::from_sdk(&sdk),
        sfn: StepFunctions::from_sdk(&sdk),
        home,
        accounts: Some(accounts_from_env(&sdk)?),
    };
    let ctx = &ctx;
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move { handle(ctx, event.payload).await },
    ))
    .await
}
