//! `stevedore watch RELEASE | APP STAGE`: the live view of any release. With APP STAGE: the
//! release holding the stage, else the stage's latest. A release that already ended is shown
//! whole, and the exit code says how it ended.

use anyhow::Result;
use stevedore_aws::Store;

use crate::exit::Failure;
use crate::follow::{follow, Expect};
use crate::lookup::{is_release_id, release_by_id, stage_config};
use crate::output::Out;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A release id, or an app and one of its stages.
    #[arg(value_name = "RELEASE | APP STAGE", num_args = 1..=2, required = true)]
    pub target: Vec<String>,
    /// One JSON object per line and phase instead of the human view.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(store: &Store, args: &Args, out: Out) -> Result<()> {
    let (app, stage, release_id) = match args.target.as_slice() {
        [release_id] => {
            if !is_release_id(release_id) {
                return Err(Failure::NotFound(format!(
                    "`{release_id}` is not a release id (26 characters, as `stevedore history` shows them); to follow a stage, name APP STAGE"
                ))
                .into());
            }
            let release = release_by_id(store, release_id).await?;
            (
                release.spec.app,
                release.spec.stage,
                release.spec.release_id,
            )
        }
        [app, stage] => {
            stage_config(store, app, stage).await?;
            let id = stage_release(store, app, stage).await?;
            (app.clone(), stage.clone(), id)
        }
        _ => unreachable!("clap takes one or two values"),
    };
    follow(store, &app, &stage, &release_id, out, Expect::Success).await
}

/// The release holding the stage, else the stage's newest one.
async fn stage_release(store: &Store, app: &str, stage: &str) -> Result<String> {
    if let Some(holder) = store.head(app, stage).await?.and_then(|h| h.lock_holder) {
        return Ok(holder);
    }
    match store.list_releases(app, stage, 1).await?.into_iter().next() {
        Some(latest) => Ok(latest.spec.release_id),
        None => Err(Failure::NotFound(format!("{app}/{stage} has no release yet")).into()),
    }
}
