//! `stevedore`: the operator CLI. For now: apply a stevedore.yaml, and show a stage's
//! release history.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use stevedore_aws::{load_sdk_config, Store};
use stevedore_core::config::parse_file;

mod apply;
mod history;
mod metrics;
mod plan;

#[derive(Parser)]
#[command(
    name = "stevedore",
    version,
    about = "Stevedore: ECR push to recorded ECS deployment"
)]
struct Cli {
    /// The Stevedore release table (the stack's ReleaseTableName output).
    #[arg(long, env = "STEVEDORE_TABLE", global = true, default_value = "")]
    table: String,
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
    /// Releases of an app, newest first, per stage.
    History {
        app: String,
        /// Only this stage (default: every stage of the app).
        #[arg(long)]
        stage: Option<String>,
        /// How many releases per stage (newest first; read page by page, so any number works).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Dry-run render for an image: the task definition diffs and every problem render would
    /// fail on; registers nothing (exit status 2 when render would fail).
    Plan(plan::PlanArgs),
    /// The four DORA measures per stage, from the release history.
    Metrics(metrics::MetricsArgs),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a stevedore.yaml and store each of its apps.
    Apply { file: PathBuf },
    /// Validate a stevedore.yaml without storing anything.
    Validate { file: PathBuf },
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
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
            let store = store(&cli.table).await?;
            apply::apply(&store, &parsed, &file).await
        }
        Command::History {
            app,
            stage,
            limit,
            json,
        } => {
            let store = store(&cli.table).await?;
            history::print(&store, &app, stage.as_deref(), limit, json).await
        }
        Command::Plan(args) => match plan::run(&cli.table, args).await? {
            0 => Ok(()),
            status => std::process::exit(status),
        },
        Command::Metrics(args) => metrics::run(&store(&cli.table).await?, args).await,
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

async fn store(table: &str) -> Result<Store> {
    if table.is_empty() {
        bail!("no release table: pass --table or set STEVEDORE_TABLE (the stack's ReleaseTableName output)");
    }
    Ok(Store::from_sdk(&load_sdk_config().await, table))
}
