//! Task definition revisions for retention: which are ACTIVE in a family, which clusters
//! there are and what each runs or deploys, and deregistering one.

use std::collections::BTreeSet;

use aws_sdk_ecs::types::{DesiredStatus, Task, TaskDefinitionStatus};
use stevedore_core::Result;

use super::Ecs;
use crate::error::classify;

/// DescribeServices takes at most 10 services per call, DescribeTasks 100 tasks.
const DESCRIBE_SERVICES_BATCH: usize = 10;
const DESCRIBE_TASKS_BATCH: usize = 100;

impl Ecs {
    /// The family's ACTIVE revisions (ARNs), over every page. `familyPrefix` is the full
    /// family name, and the status stays the same from page to page, as ListTaskDefinitions
    /// asks (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTaskDefinitions.html).
    pub async fn active_revisions(&self, family: &str) -> Result<Vec<String>> {
        let mut arns = Vec::new();
        let mut next_token = None;
        loop {
            let out = self
                .client
                .list_task_definitions()
                .family_prefix(family)
                .status(TaskDefinitionStatus::Active)
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|e| classify("ListTaskDefinitions", e))?;
            arns.extend(
                out.task_definition_arns
                    .unwrap_or_default()
                    .into_iter()
                    // familyPrefix also matches longer families (`web` lists `web-worker`).
                    .filter(|arn| super::task_definition_family(arn) == family),
            );
            next_token = out.next_token;
            if next_token.is_none() {
                return Ok(arns);
            }
        }
    }

    /// Every cluster of the account in this Region (ARNs), over every page: retention keeps
    /// what any of them runs
    /// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListClusters.html).
    pub async fn clusters(&self) -> Result<Vec<String>> {
        let mut clusters = Vec::new();
        let mut next_token = None;
        loop {
            let out = self
                .client
                .list_clusters()
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|e| classify("ListClusters", e))?;
            clusters.extend(out.cluster_arns.unwrap_or_default());
            next_token = out.next_token.filter(|t| !t.is_empty());
            if next_token.is_none() {
                return Ok(clusters);
            }
        }
    }

    /// Every revision the cluster's services deploy (each deployment's, primary or
    /// draining) and its running tasks run.
    pub async fn revisions_in_use(&self, cluster: &str) -> Result<BTreeSet<String>> {
        let mut in_use = BTreeSet::new();
        let mut services = Vec::new();
        let mut next_token = None;
        loop {
            let out = self
                .client
                .list_services()
                .cluster(cluster)
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|e| classify("ListServices", e))?;
            services.extend(out.service_arns.unwrap_or_default());
            next_token = out.next_token;
            if next_token.is_none() {
                break;
            }
        }
        for chunk in services.chunks(DESCRIBE_SERVICES_BATCH) {
            let out = self
                .client
                .describe_services()
                .cluster(cluster)
                .set_services(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| classify("DescribeServices", e))?;
            for service in out.services() {
                in_use.extend(service.task_definition.clone());
                in_use.extend(
                    service
                        .deployments()
                        .iter()
                        .filter_map(|d| d.task_definition.clone()),
                );
            }
        }
        let tasks = self
            .task_arns(cluster, None, DesiredStatus::Running)
            .await?;
        in_use.extend(
            self.describe_tasks_in(cluster, &tasks)
                .await?
                .into_iter()
                .filter_map(|t| t.task_definition_arn),
        );
        Ok(in_use)
    }

    /// The cluster's tasks with `status` (of `family` only, if given), over every page.
    pub(crate) async fn task_arns(
        &self,
        cluster: &str,
        family: Option<&str>,
        status: DesiredStatus,
    ) -> Result<Vec<String>> {
        let mut arns = Vec::new();
        let mut next_token = None;
        loop {
            let out = self
                .client
                .list_tasks()
                .cluster(cluster)
                .set_family(family.map(str::to_string))
                .desired_status(status.clone())
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|e| classify("ListTasks", e))?;
            arns.extend(out.task_arns.unwrap_or_default());
            next_token = out.next_token;
            if next_token.is_none() {
                return Ok(arns);
            }
        }
    }

    /// The tasks `arns` names, described a batch at a time.
    pub(crate) async fn describe_tasks_in(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> Result<Vec<Task>> {
        let mut tasks = Vec::new();
        for chunk in arns.chunks(DESCRIBE_TASKS_BATCH) {
            let out = self
                .client
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| classify("DescribeTasks", e))?;
            tasks.extend(out.tasks.unwrap_or_default());
        }
        Ok(tasks)
    }

    /// Marks the revision INACTIVE (never deletes it: a rollback registers it again).
    pub async fn deregister_task_definition(&self, task_definition: &str) -> Result<()> {
        self.client
            .deregister_task_definition()
            .task_definition(task_definition)
            .send()
            .await
            .map_err(|e| classify("DeregisterTaskDefinition", e))?;
        Ok(())
    }
}
