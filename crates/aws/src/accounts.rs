//! Clients for a stage that lives in another account or region: Stevedore, installed once in
//! a tools account, assumes the stage's role there (`sts:AssumeRole`,
//! https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html) and builds its
//! SDK clients from those credentials. One configuration per target is kept for the life of
//! the Lambda instance; the assume-role provider renews the credentials before they expire.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::sts::AssumeRoleProvider;
use aws_config::{Region, SdkConfig};
use aws_sdk_ecs::config::{ProvideCredentials, SharedCredentialsProvider};
use stevedore_core::config::{StageConfig, StageTarget};
use stevedore_core::Error;

/// The longest role session name STS accepts.
const MAX_SESSION_NAME: usize = 64;

/// Stevedore's own configuration and the targets' ones built from it.
pub struct Accounts {
    base: SdkConfig,
    /// Stevedore's own account and region: stages there need no configuration of their own.
    home_account: String,
    home_region: String,
    /// Who assumes the roles (the Lambda function's name), for the session names.
    caller: String,
    /// target (role ARN, region) → (session name, configuration).
    cache: Mutex<HashMap<(String, String), (String, SdkConfig)>>,
}

impl Accounts {
    /// `caller` names the sessions (the function's name; AWS CloudTrail shows it with the
    /// release id in the workload account).
    pub fn new(
        base: &SdkConfig,
        caller: impl Into<String>,
        home_account: impl Into<String>,
        home_region: impl Into<String>,
    ) -> Self {
        Accounts {
            base: base.clone(),
            home_account: home_account.into(),
            home_region: home_region.into(),
            caller: caller.into(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Where `stage` deploys, when that is not Stevedore's own account and region.
    pub fn target_of(&self, stage: &StageConfig) -> Option<StageTarget> {
        let target = stage.target(&self.home_account, &self.home_region);
        (!target.is_home(&self.home_account, &self.home_region)).then_some(target)
    }

    pub fn home_account(&self) -> &str {
        &self.home_account
    }

    pub fn home_region(&self) -> &str {
        &self.home_region
    }

    /// The configuration for `target`: None when the target needs no role (Stevedore's own
    /// account; another region alone is `Some` with Stevedore's own credentials there).
    /// A role that cannot be assumed (its trust policy does not name this caller, or this
    /// caller may not assume it) fails here, naming the role, before anything is changed.
    pub async fn sdk_for(
        &self,
        target: &StageTarget,
        release_id: &str,
    ) -> Result<Option<SdkConfig>, Error> {
        let Some(role_arn) = &target.role_arn else {
            let base_region = self.base.region().map(|r| r.as_ref().to_string());
            if base_region.as_deref() == Some(target.region.as_str()) {
                return Ok(None);
            }
            let config = self
                .base
                .to_builder()
                .region(Region::new(target.region.clone()))
                .build();
            return Ok(Some(config));
        };
        let session = session_name(&self.caller, release_id);
        let key = (role_arn.clone(), target.region.clone());
        if let Some((cached_session, config)) = self.cached(&key) {
            if cached_session == session {
                return Ok(Some(config));
            }
        }
        let provider = AssumeRoleProvider::builder(role_arn.clone())
            .session_name(session.clone())
            .configure(&self.base)
            .build()
            .await;
        // Assume now, so a refused role is named in the release's reason rather than hidden
        // behind the first ECS call's credentials error.
        provider
            .provide_credentials()
            .await
            .map_err(|e| assume_failed(role_arn, &target.account, &e))?;
        let config = self
            .base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .region(Region::new(target.region.clone()))
            .build();
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, (session, config.clone()));
        }
        Ok(Some(config))
    }

    fn cached(&self, key: &(String, String)) -> Option<(String, SdkConfig)> {
        self.cache.lock().ok()?.get(key).cloned()
    }
}

fn assume_failed(
    role_arn: &str,
    account: &str,
    error: &(dyn std::error::Error + 'static),
) -> Error {
    let mut detail = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        detail = format!("{detail}: {inner}");
        source = inner.source();
    }
    Error::AwsError(format!(
        "could not assume role {role_arn} in account {account}: {detail}; deploy template-target.yaml in that account with its trust naming this Stevedore's roles, or fix the stage's `role_name`"
    ))
}

/// `<caller>-<release id>`, cut to the 64 characters STS allows and kept to its character
/// set `[\w+=,.@-]` (RoleSessionName,
/// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
pub fn session_name(caller: &str, release_id: &str) -> String {
    let raw = if caller.is_empty() {
        format!("stevedore-{release_id}")
    } else {
        format!("{caller}-{release_id}")
    };
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    // The release id identifies the session: keep its end when the whole is too long.
    let start = cleaned.len().saturating_sub(MAX_SESSION_NAME);
    let name = cleaned[start..].to_string();
    if name.len() < 2 {
        format!("stevedore{name}")
    } else {
        name
    }
}

#[cfg(test)]
#[path = "accounts_tests.rs"]
mod tests;
