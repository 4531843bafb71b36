//! Lambda `migrate`: see `stevedore_handlers::migrate` for what it does.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use stevedore_aws::{load_sdk_config, CodeBuild, Ecs, Store};
use stevedore_handlers::migrate::{handle, Migrate, MigrateRequest};
use stevedore_handlers::{accounts_from_env, init_tracing, required_env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required_env("STEVEDORE_TABLE")?;

    let sdk = load_sdk_config().await;
    let ctx = Migrate {
        store: Store::from_sdk(&sdk, table),
        ecs: Ecs::from_sdk(&sdk),
        codebuild: CodeBuild::from_sdk(&sdk),
        accounts: Some(accounts_from_env(&sdk)?),
    };
    let ctx = &ctx;
    run(service_fn(
        move |event: LambdaEvent<MigrateRequest>| async move { handle(ctx, event.payload).await },
    ))
    .await
}
