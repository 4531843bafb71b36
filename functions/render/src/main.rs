//! Lambda `render`: see `stevedore_handlers::render` for what it does.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use stevedore_aws::{load_sdk_config, Ecs, ParameterStore, Schedules, SecretsManager, Store};
use stevedore_handlers::render::{handle, Render, RenderRequest};
use stevedore_handlers::{accounts_from_env, init_tracing, required_env, HookTarget};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required_env("STEVEDORE_TABLE")?;

    let region = required_env("AWS_REGION")?;
    let account = required_env("STEVEDORE_ACCOUNT_ID")?;
    let sdk = load_sdk_config().await;
    let ctx = Render {
        store: Store::from_sdk(&sdk, table),
        ecs: Ecs::from_sdk(&sdk),
        secrets: SecretsManager::from_sdk(&sdk),
        parameters: ParameterStore::from_sdk(&sdk),
        schedules: Schedules::from_sdk(&sdk),
        region,
        account,
        hook: HookTarget {
            function_arn: required_env("HOOK_FUNCTION_ARN")?,
            role_arn: required_env("HOOK_ROLE_ARN")?,
        },
        accounts: Some(accounts_from_env(&sdk)?),
    };
    let ctx = &ctx;
    run(service_fn(
        move |event: LambdaEvent<RenderRequest>| async move { handle(ctx, event.payload).await },
    ))
    .await
}
