//! `stevedore config apply`: store each app of a validated stevedore.yaml, after claiming
//! every ECS service it deploys for its stage (one stage per service: each stage has its own
//! deploy lock, so a service shared by two stages could get two rollouts at once).

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{bail, Result};
use stevedore_aws::Store;
use stevedore_core::config::{service_identity, StevedoreFile};

type ServiceId = (String, String);

fn services_of(config: &stevedore_core::AppConfig, app: &str) -> Vec<(ServiceId, String)> {
    config
        .stages
        .iter()
        .flat_map(|(stage, settings)| {
            settings
                .services()
                .into_iter()
                .filter_map(|service| service_identity(&settings.cluster, service.service).ok())
                .map(|id| (id, format!("{app}/{stage}")))
                .collect::<Vec<_>>()
        })
        .collect()
}

pub async fn apply(store: &Store, parsed: &StevedoreFile, file: &Path) -> Result<()> {
    let now = chrono::Utc::now().to_rfc3339();
    let source = file.display().to_string();
    for (app, config) in &parsed.apps {
        // What the app deployed before (its claims may have to go).
        let previous = store.get_app_config(app).await.ok().flatten();
        let wanted = services_of(config, app);
        let mut claimed: Vec<&(ServiceId, String)> = Vec::new();
        for entry in &wanted {
            let ((cluster, service), owner) = entry;
            if let Some(holder) = store.claim_service(cluster, service, owner).await? {
                for ((c, s), o) in claimed {
                    store.release_service(c, s, o).await?;
                }
                bail!(
                    "{}: stage `{owner}` deploys ECS service `{service}` of cluster `{cluster}`, which stage `{holder}` deploys already; one stage per service (each stage has its own deploy lock). Point one of them at another service, or remove it from `{holder}` first",
                    file.display()
                );
            }
            claimed.push(entry);
        }
        let version = store.put_app_config(app, config, &source, &now).await?;
        let kept: BTreeSet<&(ServiceId, String)> = wanted.iter().collect();
        for old in previous.iter().flat_map(|p| services_of(p, app)) {
            if !kept.contains(&old) {
                let ((cluster, service), owner) = &old;
                store.release_service(cluster, service, owner).await?;
            }
        }
        println!(
            "applied app `{app}` (version {version}, stages: {})",
            config.stages.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}
