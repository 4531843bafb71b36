//! Lambda `deploy`: see `stevedore_handlers::deploy` for what it does.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use stevedore_aws::{load_sdk_config, Ecs, LoadBalancers, Schedules, StepFunctions, Store};
use stevedore_handlers::deploy::{handle, Deploy, DeployRequest, HookTarget};
use stevedore_handlers::{accounts_from_env, init_tracing, required_env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required_env("STEVEDORE_TABLE")?;
    let hook = HookTarget {
        function_arn: required_env("HOOK_FUNCTION_ARN")?,
        role_arn: required_env("HOOK_ROLE_ARN")?,
    };

    let sdk = load_sdk_config().await;
    let ctx = Deploy {
        store: Store::from_sdk(&sdk, table),
        ecs: Ecs::from_sdk(&sdk),
        sfn: StepFunctions::from_sdk(&sdk),
        schedules: Schedules::from_sdk(&sdk),
        load_balancers: LoadBalancers::from_sdk(&sdk),
        hook,
        accounts: Some(accounts_from_env(&sdk)?),
    };
    let ctx = &ctx;
    run(service_fn(
        move |event: LambdaEvent<DeployRequest>| async move { handle(ctx, event.payload).await },
    ))
    .await
}
