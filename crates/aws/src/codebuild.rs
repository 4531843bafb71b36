//! CodeBuild: finding a release's migration build, and stopping it.

use aws_sdk_codebuild::types::{Build, SortOrderType, StatusType};
use aws_sdk_codebuild::Client;
use stevedore_core::build_migration::{FinishedBuild, RELEASE_ID_VARIABLE};
use stevedore_core::{Error, Result};

use crate::error::classify;

/// How many of the project's newest builds are searched for a release's build.
const RECENT_BUILDS: usize = 100;

pub struct CodeBuild {
    client: Client,
}

impl CodeBuild {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub fn from_sdk(config: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(config))
    }

    pub async fn build(&self, id: &str) -> Result<Option<FinishedBuild>> {
        let out = self
            .client
            .batch_get_builds()
            .ids(id)
            .send()
            .await
            .map_err(|e| classify("BatchGetBuilds", e))?;
        Ok(out.builds().first().map(finished_build))
    }

    /// The newest build of `project` started for `release_id` (matched on its
    /// STEVEDORE_RELEASE_ID environment variable).
    pub async fn release_build(
        &self,
        project: &str,
        release_id: &str,
    ) -> Result<Option<FinishedBuild>> {
        let out = self
            .client
            .list_builds_for_project()
            .project_name(project)
            .sort_order(SortOrderType::Descending)
            .send()
            .await
            .map_err(|e| classify("ListBuildsForProject", e))?;
        let ids: Vec<String> = out.ids().iter().take(RECENT_BUILDS).cloned().collect();
        if ids.is_empty() {
            return Ok(None);
        }
        let mut found = None;
        // BatchGetBuilds takes at most 100 ids.
        for chunk in ids.chunks(100) {
            let out = self
                .client
                .batch_get_builds()
                .set_ids(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| classify("BatchGetBuilds", e))?;
            found = out
                .builds()
                .iter()
                .find(|b| started_for(b, release_id))
                .map(finished_build);
            if found.is_some() {
                break;
            }
        }
        Ok(found)
    }

    pub async fn stop_build(&self, id: &str) -> Result<()> {
        self.client
            .stop_build()
            .id(id)
            .send()
            .await
            .map_err(|e| classify("StopBuild", e))?;
        Ok(())
    }
}

fn started_for(build: &Build, release_id: &str) -> bool {
    build.environment.as_ref().is_some_and(|env| {
        env.environment_variables()
            .iter()
            .any(|v| v.name == RELEASE_ID_VARIABLE && v.value == release_id)
    })
}

fn finished_build(build: &Build) -> FinishedBuild {
    let failed = build.phases().iter().find(|phase| {
        phase
            .phase_status
            .as_ref()
            .is_some_and(|s| !matches!(s, StatusType::Succeeded | StatusType::InProgress))
    });
    FinishedBuild {
        id: build.id.clone().unwrap_or_default(),
        status: build
            .build_status
            .as_ref()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "IN_PROGRESS".into()),
        deep_link: build.logs.as_ref().and_then(|l| l.deep_link.clone()),
        failed_phase: failed.and_then(|p| p.phase_type.as_ref().map(|t| t.as_str().to_string())),
        failure_message: failed.and_then(|p| {
            p.contexts()
                .iter()
                .filter_map(|c| c.message.clone())
                .find(|m| !m.is_empty())
        }),
    }
}

/// An unknown build is an error the person can act on.
pub fn no_build(project: &str, release_id: &str) -> Error {
    Error::MigrationDidNotStart(format!(
        "no build of CodeBuild project `{project}` was started for release {release_id}; check that the project exists and Stevedore's state machine role may start it"
    ))
}

#[cfg(test)]
mod tests;
