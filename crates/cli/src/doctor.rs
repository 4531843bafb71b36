//! `stevedore doctor APP [STAGE]`: how long ECS itself will take to roll each service of a
//! stage out, predicted from the service's live settings (deployment configuration as the
//! next release sends it, target groups, task definition), as a sum of named parts, and the
//! changes that would shorten it with what each trades. The same prediction is stored on
//! each release (`stevedore history` shows it beside the measured rollout).

use anyhow::Result;
use serde::Serialize;
use stevedore_aws::ecs::ServiceState;
use stevedore_aws::{Ecs, LoadBalancers, Store};
use stevedore_core::config::{RolloutOrder, StageConfig, StageService};
use stevedore_core::rollout_estimate::{
    advise, estimate, stage_seconds, Advice, Estimate, ServiceSettings,
};
use stevedore_handlers::render_plan::rollout_of;
use stevedore_handlers::rollout_prediction::{read_settings, release_configuration};
use stevedore_handlers::HookTarget;

use crate::lookup::{app_config, check_stage};
use crate::output::Out;

#[path = "doctor_output.rs"]
pub mod output;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub app: String,
    /// Only this stage (default: every stage of the app).
    pub stage: Option<String>,
    /// Stevedore's lifecycle hook function (the stack's HookFunctionArn output): tells its
    /// own hook on a service from another team's when working out what a release sends.
    #[arg(long, env = "HOOK_FUNCTION_ARN")]
    pub hook_function_arn: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What `doctor` found, per stage.
#[derive(Debug, Serialize)]
pub struct DoctorReport {
    pub app: String,
    pub stages: Vec<StageDoctor>,
}

#[derive(Debug, Serialize)]
pub struct StageDoctor {
    pub stage: String,
    pub rollout_order: RolloutOrder,
    /// The stage's predicted rollout: its services' longest (parallel) or their sum
    /// (sequential); none when a service could not be read.
    pub predicted_seconds: Option<u64>,
    pub deploy_timeout_seconds: u64,
    pub services: Vec<ServiceDoctor>,
}

#[derive(Debug, Serialize)]
pub struct ServiceDoctor {
    pub service: String,
    /// What was read; none when reading failed (`error` says why).
    pub settings: Option<ServiceSettings>,
    pub estimate: Option<Estimate>,
    pub advice: Vec<Advice>,
    pub warnings: Vec<String>,
    pub error: Option<String>,
}

pub async fn run(
    store: &Store,
    sdk: &stevedore_aws::SdkConfig,
    args: &Args,
    out: Out,
) -> Result<()> {
    let config = app_config(store, &args.app).await?;
    let stages: Vec<String> = match &args.stage {
        Some(stage) => {
            check_stage(&config, &args.app, stage)?;
            vec![stage.clone()]
        }
        None => config.stages.keys().cloned().collect(),
    };
    let (ecs, load_balancers) = (Ecs::from_sdk(sdk), LoadBalancers::from_sdk(sdk));
    let hook = HookTarget {
        function_arn: args.hook_function_arn.clone().unwrap_or_default(),
        role_arn: String::new(),
    };
    let mut report = DoctorReport {
        app: args.app.clone(),
        stages: Vec::new(),
    };
    for name in stages {
        let Some(stage) = config.stages.get(&name) else {
            continue;
        };
        report
            .stages
            .push(examine_stage(&ecs, &load_balancers, &hook, &name, stage).await);
    }
    if out.json {
        return crate::output::print_json(&report);
    }
    print!("{}", output::human(&report, out.paint));
    Ok(())
}

async fn examine_stage(
    ecs: &Ecs,
    load_balancers: &LoadBalancers,
    hook: &HookTarget,
    name: &str,
    stage: &StageConfig,
) -> StageDoctor {
    let mut services = Vec::new();
    for service in stage.services() {
        let read = read_service(ecs, load_balancers, hook, &stage.cluster, &service).await;
        services.push(match read {
            Ok(settings) => {
                let (advice, warnings) = advise(&settings, Some(stage.deploy_timeout_seconds));
                ServiceDoctor {
                    service: service.service.to_string(),
                    estimate: Some(estimate(&settings)),
                    settings: Some(settings),
                    advice,
                    warnings,
                    error: None,
                }
            }
            Err(error) => ServiceDoctor {
                service: service.service.to_string(),
                settings: None,
                estimate: None,
                advice: Vec::new(),
                warnings: Vec::new(),
                error: Some(error.to_string()),
            },
        });
    }
    let estimates: Option<Vec<Estimate>> = services.iter().map(|s| s.estimate.clone()).collect();
    StageDoctor {
        stage: name.to_string(),
        rollout_order: stage.rollout,
        predicted_seconds: estimates.map(|e| stage_seconds(stage.rollout, &e)),
        deploy_timeout_seconds: stage.deploy_timeout_seconds,
        services,
    }
}

/// The service as the next release would roll it out: the stage's strategy applied to its
/// deployment configuration, its current task definition and its target groups.
async fn read_service(
    ecs: &Ecs,
    load_balancers: &LoadBalancers,
    hook: &HookTarget,
    cluster: &str,
    service: &StageService<'_>,
) -> Result<ServiceSettings, stevedore_core::Error> {
    let state: ServiceState = ecs.describe_service(cluster, service.service).await?;
    let rollout = rollout_of(service);
    let config = release_configuration(&state, &rollout, hook);
    read_settings(
        ecs,
        load_balancers,
        service.service,
        &state,
        config.as_ref(),
        &state.task_definition,
    )
    .await
}
