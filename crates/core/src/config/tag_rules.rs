//! Checks of a stage's `tags:` rules (globs and semver requirements) and its `order:`.

use super::validate::CheckResult;
use super::StageConfig;
use crate::lock::{ConcurrencyPolicy, ReleaseOrder};
use crate::tag_rule::TagRule;

pub(super) fn validate_tag_rules(stage: &StageConfig, path: &str) -> CheckResult {
    for (index, rule) in stage.tags.iter().enumerate() {
        let tag_path = format!("{path}.tags[{index}]");
        match rule {
            TagRule::Glob(pattern) => {
                if pattern.is_empty() {
                    return Err((tag_path, "empty tag pattern matches no tag".into()));
                }
                if let Err(error) = globset::Glob::new(pattern) {
                    return Err((
                        tag_path,
                        format!("invalid glob {pattern:?}: {}", error.kind()),
                    ));
                }
            }
            TagRule::Semver(rule) => {
                if let Err(error) = rule.requirement() {
                    return Err((
                        format!("{tag_path}.semver"),
                        format!(
                            "invalid semver requirement {:?}: {error} (e.g. \">=1.4, <2\", \"^1.4\", \"~1.4.2\", \"*\")",
                            rule.semver
                        ),
                    ));
                }
            }
        }
    }
    if stage.order == ReleaseOrder::Semver {
        if !stage.tags.iter().any(TagRule::is_semver) {
            return Err((
                format!("{path}.order"),
                "`order: semver` needs at least one semver rule in `tags` (e.g. {semver: \">=1.0\"})".into(),
            ));
        }
        if stage.concurrency != ConcurrencyPolicy::Latest {
            return Err((
                format!("{path}.order"),
                "`order: semver` decides which waiting release wins under `concurrency: latest`; `queue` deploys every push in push order".into(),
            ));
        }
    }
    Ok(())
}
