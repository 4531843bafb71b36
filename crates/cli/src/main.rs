//! `stevedore`: the operator CLI. Apply a stevedore.yaml; see what runs where (`status`,
//! `where`, `history`); act (`promote`, `rollback`, `approve`, `reject`, `retry`) through the
//! same state machines as the console; follow a release live (`watch`, `--wait`).
//! One module per command; `output` is what they all print with.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use stevedore_core::config::parse_file;

mod act;
mod apply;
mod context;
mod doctor;
mod exit;
#[cfg(test)]
mod fixtures;
mod follow;
mod history;
mod locate;
mod lookup;
mod metrics;
mod output;
mod plan;
mod progress;
mod status;
mod watch;

use context::{Context, StackArgs};
use output::Out;

#[derive(Parser)]
#[command(
    name = "stevedore",
    version,
    about = "Stevedore: ECR push to recorded ECS deployment",
    after_help = exit::EXIT_CODES_HELP
)]
struct Cli {
    #[command(flatten)]
    stack: StackArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate and store app configs.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Per stage: the release it runs, the release in flight and its phase, the lock and who waits.
    Status(status::Args),
    /// Every stage running an image, named by digest, tag, or repo@sha256:... / repo:tag.
    Where(locate::Args),
    /// Releases of an app, newest first, per stage.
    History(history::Args),
    /// Deploy the exact image a stage proved to another stage (the promote state machine).
    Promote(act::PromoteArgs),
    /// Put an earlier SUCCEEDED release of a stage back (the rollback state machine).
    Rollback(act::RollbackArgs),
    /// Let the release waiting at a stage's approval gate go on (the approve state machine).
    Approve(act::DecideArgs),
    /// Stop the release waiting at a stage's approval gate: it ends FAILED, nothing changed.
    Reject(act::DecideArgs),
    /// Release again the digest whose release of a stage failed (the retry state machine).
    Retry(act::RetryArgs),
    /// Follow a release live: a line per phase until it ends; exit 0 only if it SUCCEEDED.
    Watch(watch::Args),
    /// Dry-run render for an image: the task definition diffs and every problem render would
    /// fail on; registers nothing (exit status 2 when render would fail).
    Plan(plan::PlanArgs),
    /// The four DORA measures per stage, from the release history.
    Metrics(metrics::MetricsArgs),
    /// How long ECS itself will take to roll each service out, predicted from its live
    /// settings as a sum of parts, and the changes that would shorten it.
    Doctor(doctor::Args),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a stevedore.yaml and store each of its apps.
    Apply { file: PathBuf },
    /// Validate a stevedore.yaml without storing anything.
    Validate { file: PathBuf },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = run(cli).await;
    if let Err(err) = &result {
        eprintln!("error: {err:#}");
    }
    exit::exit_code(&result)
}

async fn run(cli: Cli) -> Result<()> {
    let ctx = Context::new(cli.stack);
    let result = dispatch(&ctx, cli.command).await;
    result.map_err(|err| ctx.explain(err))
}

async fn dispatch(ctx: &Context, command: Command) -> Result<()> {
    match command {
        Command::Config {
            command: ConfigCommand::Validate { file },
        } => {
            let parsed = read_config(&file)?;
            println!("{}: {} app(s) valid", file.display(), parsed.apps.len());
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Apply { file },
        } => {
            let parsed = read_config(&file)?;
            apply::apply(&ctx.store().await?, &parsed, &file).await
        }
        Command::Status(args) => {
            status::run(&ctx.store().await?, &args, Out::detect(args.json)).await
        }
        Command::Where(args) => {
            locate::run(&ctx.store().await?, &args, Out::detect(args.json)).await
        }
        Command::History(args) => {
            history::run(&ctx.store().await?, &args, Out::detect(args.json)).await
        }
        Command::Promote(args) => act::promote(ctx, &args).await,
        Command::Rollback(args) => act::rollback(ctx, &args).await,
        Command::Approve(args) => act::decide(ctx, &args, true).await,
        Command::Reject(args) => act::decide(ctx, &args, false).await,
        Command::Retry(args) => act::retry(ctx, &args).await,
        Command::Watch(args) => {
            watch::run(&ctx.store().await?, &args, Out::detect(args.json)).await
        }
        Command::Plan(args) => match plan::run(ctx.store().await?.table(), args).await? {
            0 => Ok(()),
            status => std::process::exit(status),
        },
        Command::Metrics(args) => metrics::run(&ctx.store().await?, args).await,
        Command::Doctor(args) => {
            let store = ctx.store().await?;
            doctor::run(&store, &ctx.sdk().await, &args, Out::detect(args.json)).await
        }
    }
}

fn read_config(file: &PathBuf) -> Result<stevedore_core::config::StevedoreFile> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    Ok(parse_file(&name, &text)?)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_documents_the_settings_and_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        for needle in [
            "--stack",
            "STEVEDORE_STACK",
            "STEVEDORE_TABLE",
            "STEVEDORE_PROMOTE_STATE_MACHINE",
            "STEVEDORE_ROLLBACK_STATE_MACHINE",
            "STEVEDORE_APPROVE_STATE_MACHINE",
            "STEVEDORE_RETRY_STATE_MACHINE",
            "Exit codes:",
        ] {
            assert!(
                help.contains(needle),
                "{needle} missing from --help:\n{help}"
            );
        }
    }

    #[test]
    fn watch_takes_a_release_or_an_app_and_a_stage() {
        let parse = |args: &[&str]| Cli::try_parse_from(["stevedore", "watch"].iter().chain(args));
        assert!(parse(&["01JD3Q8Z0000000000000000AB"]).is_ok());
        assert!(parse(&["backend", "staging"]).is_ok());
        assert!(parse(&[]).is_err());
        assert!(parse(&["a", "b", "c"]).is_err());
    }

    #[test]
    fn where_refuses_what_it_cannot_look_up_as_a_usage_error() {
        let err = Cli::try_parse_from(["stevedore", "where", "sha256:abc"])
            .err()
            .expect("refused");
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("not a whole digest"), "{err}");
    }

    #[test]
    fn doctor_takes_an_app_and_maybe_a_stage() {
        let parse = |args: &[&str]| Cli::try_parse_from(["stevedore", "doctor"].iter().chain(args));
        assert!(parse(&["shop"]).is_ok());
        assert!(parse(&["shop", "staging", "--json"]).is_ok());
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn wait_and_no_wait_override_each_other() {
        let parsed = Cli::try_parse_from([
            "stevedore",
            "promote",
            "backend",
            "--to",
            "production",
            "--wait",
            "--no-wait",
        ])
        .expect("parses");
        let Command::Promote(args) = parsed.command else {
            panic!("promote")
        };
        assert!(!args.follow.wait && args.follow.no_wait);
    }
}
