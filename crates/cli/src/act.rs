//! `promote`, `rollback`, `approve`, `reject`, `retry`: start the same state machines the
//! console starts, with the documented inputs (act/inputs.rs), wait for the execution's end
//! (a second or so: each runs one function), then, with `--wait`, follow the release it
//! started or decided on until that release ends.

mod inputs;

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde_json::{Map, Value};
use stevedore_aws::operator::{caller_arn, ExecutionState, TaskFailure};

use crate::context::{Context, Machine};
use crate::exit::Failure;
use crate::follow::{follow, Expect};
use crate::lookup::{app_config, check_stage};
use crate::output::Out;

/// `--wait` / `--no-wait` and `--json`, shared by the acting commands.
#[derive(clap::Args, Debug, Clone)]
pub struct Follow {
    /// Follow the release until it ends, and exit 0 only if it SUCCEEDED (default when
    /// stdout is a terminal).
    #[arg(long, overrides_with = "no_wait")]
    pub wait: bool,
    /// Return once the state machine accepted the request.
    #[arg(long, overrides_with = "wait")]
    pub no_wait: bool,
    /// Print JSON: the execution's answer, then (with --wait) one object per line and phase.
    #[arg(long)]
    pub json: bool,
}

impl Follow {
    fn wanted(&self, tty: bool) -> bool {
        match (self.wait, self.no_wait) {
            (true, _) => true,
            (_, true) => false,
            _ => tty,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct PromoteArgs {
    pub app: String,
    /// The stage to deploy to.
    #[arg(long, value_name = "STAGE")]
    pub to: String,
    /// The stage whose proven image is promoted (default: the one stage `--to` lists in
    /// `promote_from`).
    #[arg(long, value_name = "STAGE")]
    pub from: Option<String>,
    /// A release of `--from` to promote (default: its newest SUCCEEDED release).
    #[arg(long, value_name = "RELEASE")]
    pub release: Option<String>,
    #[command(flatten)]
    pub follow: Follow,
}

#[derive(clap::Args, Debug)]
pub struct RollbackArgs {
    pub app: String,
    pub stage: String,
    /// The SUCCEEDED release to return to (default: the one before what the stage runs).
    #[arg(long, value_name = "RELEASE")]
    pub to: Option<String>,
    #[command(flatten)]
    pub follow: Follow,
}

#[derive(clap::Args, Debug)]
pub struct DecideArgs {
    pub app: String,
    pub stage: String,
    /// Why (recorded on the release with who decided).
    #[arg(long)]
    pub reason: Option<String>,
    #[command(flatten)]
    pub follow: Follow,
}

#[derive(clap::Args, Debug)]
pub struct RetryArgs {
    pub app: String,
    pub stage: String,
    #[command(flatten)]
    pub follow: Follow,
}

/// One request to an operator state machine.
struct Request {
    machine: Machine,
    app: String,
    /// The stage whose release is followed.
    stage: String,
    input: Value,
    /// What the request is, for messages ("promotion of backend staging -> production").
    what: String,
    expect: Expect,
}

pub async fn promote(ctx: &Context, args: &PromoteArgs) -> Result<()> {
    let store = ctx.store().await?;
    let config = app_config(&store, &args.app).await?;
    check_stage(&config, &args.app, &args.to)?;
    let allowed = &config.stages[&args.to].promote_from;
    let from = match (&args.from, allowed.as_slice()) {
        (Some(from), _) => {
            check_stage(&config, &args.app, from)?;
            from.clone()
        }
        (None, [only]) => only.clone(),
        (None, []) => {
            return Err(Failure::Refused(format!(
                "stage `{}` of app `{}` lists no stage in `promote_from`: nothing may be promoted to it",
                args.to, args.app
            ))
            .into())
        }
        (None, many) => bail!(
            "stage `{}` may be promoted from {}: pass --from",
            args.to,
            many.join(", ")
        ),
    };
    let request = Request {
        machine: Machine::Promote,
        input: inputs::promote(&args.app, &from, &args.to, args.release.as_deref()),
        what: format!("promotion of {} {from} -> {}", args.app, args.to),
        app: args.app.clone(),
        stage: args.to.clone(),
        expect: Expect::Success,
    };
    start(ctx, request, &args.follow).await
}

pub async fn rollback(ctx: &Context, args: &RollbackArgs) -> Result<()> {
    check(ctx, &args.app, &args.stage).await?;
    let request = Request {
        machine: Machine::Rollback,
        input: inputs::rollback(&args.app, &args.stage, args.to.as_deref()),
        what: format!("rollback of {}/{}", args.app, args.stage),
        app: args.app.clone(),
        stage: args.stage.clone(),
        expect: Expect::Success,
    };
    start(ctx, request, &args.follow).await
}

pub async fn retry(ctx: &Context, args: &RetryArgs) -> Result<()> {
    check(ctx, &args.app, &args.stage).await?;
    let request = Request {
        machine: Machine::Retry,
        input: inputs::retry(&args.app, &args.stage),
        what: format!("retry of {}/{}", args.app, args.stage),
        app: args.app.clone(),
        stage: args.stage.clone(),
        expect: Expect::Success,
    };
    start(ctx, request, &args.follow).await
}

/// `approve` (`approve: true`) or `reject`. The decision is signed with the caller's identity
/// (STS GetCallerIdentity): the approve input's `by`, recorded on the release.
pub async fn decide(ctx: &Context, args: &DecideArgs, approve: bool) -> Result<()> {
    check(ctx, &args.app, &args.stage).await?;
    let by = caller_arn(&ctx.sdk().await).await?;
    let verb = if approve { "approval" } else { "rejection" };
    let request = Request {
        machine: Machine::Approve,
        input: inputs::decision(&args.app, &args.stage, approve, &by, args.reason.as_deref()),
        what: format!("{verb} at {}/{}", args.app, args.stage),
        app: args.app.clone(),
        stage: args.stage.clone(),
        expect: if approve {
            Expect::Success
        } else {
            Expect::Rejection
        },
    };
    start(ctx, request, &args.follow).await
}

async fn check(ctx: &Context, app: &str, stage: &str) -> Result<()> {
    let store = ctx.store().await?;
    crate::lookup::stage_config(&store, app, stage).await?;
    Ok(())
}

/// How long an operator execution may take (its one function, retried on throttling for up
/// to a few minutes by the state machine) before the CLI stops waiting for it.
const EXECUTION_PATIENCE: Duration = Duration::from_secs(15 * 60);
const EXECUTION_POLL: Duration = Duration::from_millis(500);

async fn start(ctx: &Context, request: Request, follow_args: &Follow) -> Result<()> {
    let out = Out::detect(follow_args.json);
    let store = ctx.store().await?;
    let arn = ctx.state_machine(request.machine).await?;
    let executions = ctx.executions().await;
    let execution_arn = executions.start(&arn, &request.input.to_string()).await?;
    let began = Instant::now();
    let state = loop {
        let state = executions.state(&execution_arn).await?;
        if !state.is_running() {
            break state;
        }
        if began.elapsed() > EXECUTION_PATIENCE {
            bail!(
                "the {} is still running after {} min: execution {execution_arn}",
                request.what,
                EXECUTION_PATIENCE.as_secs() / 60
            );
        }
        tokio::time::sleep(EXECUTION_POLL).await;
    };
    if state.status != "SUCCEEDED" {
        let failure = executions.last_task_failure(&execution_arn).await?;
        return Err(Failure::Refused(format!(
            "{} refused: {}",
            request.what,
            refusal_reason(failure.as_ref(), &state)
        ))
        .into());
    }
    let answer = inputs::answer(request.machine, state.output.as_deref())
        .map_err(|e| anyhow::anyhow!("{}: {e}", request.what))?;
    let release_id = answer["release_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let wait = follow_args.wanted(out.tty);
    report(&request, &execution_arn, answer, out, wait)?;
    if !wait {
        return Ok(());
    }
    follow(
        &store,
        &request.app,
        &request.stage,
        &release_id,
        out,
        request.expect,
    )
    .await
}

/// What the state machine said, as JSON (one line when release lines follow) or a sentence.
fn report(
    request: &Request,
    execution_arn: &str,
    mut answer: Map<String, Value>,
    out: Out,
    wait: bool,
) -> Result<()> {
    if out.json {
        answer.insert("app".into(), request.app.clone().into());
        answer.insert("stage".into(), request.stage.clone().into());
        answer.insert("execution_arn".into(), execution_arn.into());
        return if wait {
            crate::output::print_json_line(&answer)
        } else {
            crate::output::print_json(&answer)
        };
    }
    let field = |name: &str| answer.get(name).and_then(Value::as_str).unwrap_or("-");
    let repeated = answer.get("started") == Some(&Value::Bool(false));
    let text = match request.machine {
        Machine::Promote => format!(
            "Promoting {}: release {} of {} (from release {})",
            request.what.trim_start_matches("promotion of "),
            field("release_id"),
            crate::output::short_digest(field("digest")),
            field("source_release_id")
        ),
        Machine::Rollback => format!(
            "Rolling back {}/{} to release {} ({}): release {}",
            request.app,
            request.stage,
            field("source_release_id"),
            crate::output::revision(answer.get("task_definition_arn").and_then(Value::as_str)),
            field("release_id")
        ),
        Machine::Retry => format!(
            "Retrying {}/{}: release {}",
            request.app,
            request.stage,
            field("release_id")
        ),
        Machine::Approve => format!(
            "Recorded the {}: release {}",
            request.what,
            field("release_id")
        ),
    };
    println!("{text}");
    if repeated {
        println!("(it had been started already: a repeated request starts nothing new)");
    }
    if !wait {
        println!("Follow it with: stevedore watch {}", field("release_id"));
    }
    Ok(())
}

/// Why an operator execution was refused: the failed task's message (a Lambda error's cause
/// is `{"errorType", "errorMessage"}`), else whatever the execution says.
pub fn refusal_reason(failure: Option<&TaskFailure>, state: &ExecutionState) -> String {
    let from_task = failure.and_then(|f| {
        let cause = f.cause.as_deref()?;
        let message = serde_json::from_str::<Value>(cause)
            .ok()
            .and_then(|v| {
                v.get("errorMessage")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| cause.to_string());
        Some(message)
    });
    from_task
        .or_else(|| state.cause.clone())
        .or_else(|| state.error.clone())
        .unwrap_or_else(|| format!("the execution ended {}", state.status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_follows_the_terminal_unless_told() {
        let follow = |wait, no_wait| Follow {
            wait,
            no_wait,
            json: false,
        };
        assert!(follow(false, false).wanted(true));
        assert!(!follow(false, false).wanted(false));
        assert!(follow(true, false).wanted(false));
        assert!(!follow(false, true).wanted(true));
    }

    #[test]
    fn a_refusal_gives_the_handlers_message() {
        let state = ExecutionState {
            status: "FAILED".into(),
            error: Some("RollbackRefused".into()),
            cause: Some("No rollback was started; the execution's error says why".into()),
            output: None,
        };
        let lambda = TaskFailure {
            error: Some("InvalidInput".into()),
            cause: Some(r#"{"errorType":"InvalidInput","errorMessage":"backend/staging has no successful release yet: there is nothing to roll back"}"#.into()),
        };
        assert_eq!(
            refusal_reason(Some(&lambda), &state),
            "backend/staging has no successful release yet: there is nothing to roll back"
        );
        let plain = TaskFailure {
            error: Some("States.TaskFailed".into()),
            cause: Some("not JSON".into()),
        };
        assert_eq!(refusal_reason(Some(&plain), &state), "not JSON");
        assert!(refusal_reason(None, &state).starts_with("No rollback was started"));
    }
}
