//! Finding what a command names: an app's config, one of its stages, a release by its id
//! alone. Each miss is a [`Failure::NotFound`] that says what exists instead.

use anyhow::Result;
use stevedore_aws::Store;
use stevedore_core::release::Release;
use stevedore_core::AppConfig;

use crate::exit::Failure;

/// The app's applied config, or NotFound naming the apps there are.
pub async fn app_config(store: &Store, app: &str) -> Result<AppConfig> {
    if let Some(config) = store.get_app_config(app).await? {
        return Ok(config);
    }
    let apps = store.list_apps().await?;
    Err(Failure::NotFound(unknown_app(app, &apps)).into())
}

fn unknown_app(app: &str, apps: &[String]) -> String {
    if apps.is_empty() {
        format!("app `{app}` is not configured, and no app is: apply a stevedore.yaml with `stevedore config apply`")
    } else {
        format!(
            "app `{app}` is not configured (apps: {}); apply a stevedore.yaml that defines it",
            apps.join(", ")
        )
    }
}

/// NotFound unless `stage` is a stage of the app.
pub fn check_stage(config: &AppConfig, app: &str, stage: &str) -> Result<()> {
    if config.stages.contains_key(stage) {
        return Ok(());
    }
    let stages: Vec<&str> = config.stages.keys().map(String::as_str).collect();
    Err(Failure::NotFound(format!(
        "app `{app}` has no stage `{stage}` (its stages: {})",
        stages.join(", ")
    ))
    .into())
}

/// The app's config, after checking it has `stage`.
pub async fn stage_config(store: &Store, app: &str, stage: &str) -> Result<AppConfig> {
    let config = app_config(store, app).await?;
    check_stage(&config, app, stage)?;
    Ok(config)
}

/// A release found by its id alone: every stage of every app is asked (releases are keyed
/// by app and stage; a stage has few siblings, so this is a handful of reads).
pub async fn release_by_id(store: &Store, release_id: &str) -> Result<Release> {
    for app in store.list_apps().await? {
        let Some(config) = store.get_app_config(&app).await? else {
            continue;
        };
        for stage in config.stages.keys() {
            if let Some(release) = store.get_release(&app, stage, release_id).await? {
                return Ok(release);
            }
        }
    }
    Err(Failure::NotFound(format!(
        "no release {release_id} in any stage of any app (`stevedore history APP` lists release ids)"
    ))
    .into())
}

/// Whether `text` looks like a release id (a ULID: 26 Crockford base32 characters).
pub fn is_release_id(text: &str) -> bool {
    text.len() == 26 && text.parse::<ulid::Ulid>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_apps_and_stages_name_what_exists() {
        assert!(unknown_app("web", &["backend".into(), "worker".into()])
            .contains("(apps: backend, worker)"));
        assert!(unknown_app("web", &[]).contains("no app is"));
        let config: AppConfig = serde_json::from_value(serde_json::json!({
            "repository": "backend",
            "stages": {
                "staging": {"cluster": "demo", "service": "backend-staging", "tags": ["develop-*"]},
                "production": {"cluster": "demo", "service": "backend-production", "tags": ["v*"]}
            },
        }))
        .unwrap();
        assert!(check_stage(&config, "backend", "staging").is_ok());
        let err = check_stage(&config, "backend", "prod").unwrap_err();
        let failure = err.downcast_ref::<Failure>().expect("a Failure");
        assert_eq!(failure.code(), 3);
        assert_eq!(
            failure.to_string(),
            "app `backend` has no stage `prod` (its stages: production, staging)"
        );
    }

    #[test]
    fn release_ids_are_ulids() {
        assert!(is_release_id("01JD3Q8Z0000000000000000AB"));
        assert!(!is_release_id("backend"));
        assert!(!is_release_id("01JD3Q8Z0000000000000000A"));
    }
}
