//! Where a stage lives: its own `account`, `region` and `role_name` (Stevedore, installed in
//! a tools account, assumes that role to render, migrate and deploy there), or Stevedore's
//! home account and region when the stage names neither.

use serde::{Deserialize, Serialize};

use super::validate::CheckResult;
use super::StageConfig;

/// The role Stevedore assumes in a workload account unless a stage names another one
/// (template-target.yaml creates it; template.yaml's `TargetRoleName` defaults to it).
pub const DEFAULT_TARGET_ROLE_NAME: &str = "stevedore-target";

/// The account and region one stage deploys into, and the role to assume there (none: the
/// stage is in Stevedore's own account, reached with Stevedore's own credentials).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StageTarget {
    pub account: String,
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
}

impl StageTarget {
    /// Whether this is Stevedore's own account and region (`home`).
    pub fn is_home(&self, home_account: &str, home_region: &str) -> bool {
        self.account == home_account && self.region == home_region
    }
}

impl StageConfig {
    /// Where the stage deploys, given Stevedore's own account and region. A stage naming
    /// another `account` is reached through `role_name` (default [`DEFAULT_TARGET_ROLE_NAME`])
    /// in that account; a stage naming only another `region` uses Stevedore's own role there.
    pub fn target(&self, home_account: &str, home_region: &str) -> StageTarget {
        let account = self.account.as_deref().unwrap_or(home_account);
        let region = self.region.as_deref().unwrap_or(home_region);
        let role_arn = (account != home_account).then(|| {
            let role = self
                .role_name
                .as_deref()
                .unwrap_or(DEFAULT_TARGET_ROLE_NAME);
            format!("arn:{}:iam::{account}:role/{role}", partition_of(region))
        });
        StageTarget {
            account: account.to_string(),
            region: region.to_string(),
            role_arn,
        }
    }

    /// Whether the stage names an account or region of its own.
    pub fn has_own_target(&self) -> bool {
        self.account.is_some() || self.region.is_some()
    }
}

/// The ARN partition of a region: `aws-cn` for China, `aws-us-gov` for GovCloud, else `aws`
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html).
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// An AWS account id: exactly 12 digits
/// (https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-identifiers.html).
pub fn is_valid_account_id(account: &str) -> bool {
    account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
}

/// A region code such as `eu-west-1` or `us-gov-west-1`: lowercase words joined by `-`,
/// ending in a number (https://docs.aws.amazon.com/general/latest/gr/rande.html).
pub fn is_valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    words.len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.len() <= 2
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// An IAM role name: 1-64 characters of `[\w+=,.@-]`
/// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html).
pub fn is_valid_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

/// The stage's `account`, `region` and `role_name`, each named when wrong.
pub(super) fn validate_target(stage: &StageConfig, path: &str) -> CheckResult {
    if let Some(account) = &stage.account {
        if !is_valid_account_id(account) {
            return Err((
                format!("{path}.account"),
                format!("{account:?} is not an AWS account id (12 digits, quoted as a string)"),
            ));
        }
    }
    if let Some(region) = &stage.region {
        if !is_valid_region(region) {
            return Err((
                format!("{path}.region"),
                format!("{region:?} is not an AWS region code such as `eu-west-1`"),
            ));
        }
    }
    if let Some(role_name) = &stage.role_name {
        if stage.account.is_none() {
            return Err((
                format!("{path}.role_name"),
                "is only used with `account` (the role Stevedore assumes there); add `account` or remove `role_name`".into(),
            ));
        }
        if !is_valid_role_name(role_name) {
            return Err((
                format!("{path}.role_name"),
                format!(
                    "{role_name:?} is not an IAM role name (1-64 letters, digits and `_+=,.@-`)"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
