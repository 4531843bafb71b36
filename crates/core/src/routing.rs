//! Which (app, stage) pairs a pushed image deploys to.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::AppConfig;

/// One stage of one app.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Target {
    pub app: String,
    pub stage: String,
}

/// Every (app, stage) whose app builds from `repository` and whose tag rules match `tag`,
/// sorted by app then stage so that the same push always starts releases in the same order.
///
/// A rule that does not compile matches nothing; validation rejects such configs on apply.
pub fn stages_for_push(
    apps: &BTreeMap<String, AppConfig>,
    repository: &str,
    tag: &str,
) -> Vec<Target> {
    let mut targets: Vec<Target> = apps
        .iter()
        .filter(|(_, app)| app.repository == repository)
        .flat_map(|(app_name, app)| {
            app.stages
                .iter()
                .filter(|(_, stage)| stage.tags.iter().any(|rule| rule.matches(tag)))
                .map(move |(stage_name, _)| Target {
                    app: app_name.clone(),
                    stage: stage_name.clone(),
                })
        })
        .collect();
    targets.sort();
    targets
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_file;

    const YAML: &str = r#"
apps:
  backend:
    repository: backend
    stages:
      staging: {cluster: c, service: backend-staging, tags: ["develop-*", "main-*"]}
      preview: {cluster: c, service: backend-preview, tags: ["pr-[0-9]*", "main-*"]}
      production: {cluster: c, service: backend-production}
  worker:
    repository: backend
    stages:
      staging: {cluster: c, service: worker-staging, tags: ["main-*"]}
  frontend:
    repository: frontend
    stages:
      staging: {cluster: c, service: frontend-staging, tags: ["*"]}
  api:
    repository: api
    stages:
      stable:
        cluster: c
        service: api-stable
        tags: [{semver: ">=1.4, <2"}]
      beta:
        cluster: c
        service: api-beta
        tags: ["beta-*", {semver: "^1.5.0-rc0", prerelease: true}]
"#;

    fn targets(repository: &str, tag: &str) -> Vec<(String, String)> {
        let file = parse_file("stevedore.yaml", YAML).expect("valid");
        stages_for_push(&file.apps, repository, tag)
            .into_iter()
            .map(|target| (target.app, target.stage))
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(app, stage)| (app.to_string(), stage.to_string()))
            .collect()
    }

    #[test]
    fn one_tag_can_deploy_several_apps_and_stages_in_order() {
        assert_eq!(
            targets("backend", "main-1a2b3c"),
            pairs(&[
                ("backend", "preview"),
                ("backend", "staging"),
                ("worker", "staging")
            ])
        );
    }

    #[test]
    fn globs_select_stages() {
        assert_eq!(
            targets("backend", "develop-abc"),
            pairs(&[("backend", "staging")])
        );
        assert_eq!(
            targets("backend", "pr-42"),
            pairs(&[("backend", "preview")])
        );
        assert_eq!(
            targets("frontend", "anything"),
            pairs(&[("frontend", "staging")])
        );
    }

    #[test]
    fn no_match_gives_nothing() {
        assert!(targets("backend", "v1.2.3").is_empty());
        assert!(targets("backend", "pr-x").is_empty());
        assert!(targets("unknown", "main-1").is_empty());
        // Globs must match the whole tag.
        assert!(targets("backend", "hotfix-main-1").is_empty());
    }

    #[test]
    fn semver_rules_select_stages_beside_globs() {
        assert_eq!(
            targets("api", "v1.5.0"),
            pairs(&[("api", "beta"), ("api", "stable")])
        );
        assert_eq!(targets("api", "1.4.0"), pairs(&[("api", "stable")]));
        assert_eq!(targets("api", "v1.5.0-rc1"), pairs(&[("api", "beta")]));
        assert_eq!(targets("api", "beta-7"), pairs(&[("api", "beta")]));
        assert!(targets("api", "v2.0.0").is_empty());
        assert!(targets("api", "v1.3.9").is_empty());
    }

    #[test]
    fn stages_without_tags_are_promotion_only() {
        assert!(!targets("backend", "main-1").contains(&("backend".into(), "production".into())));
    }
}
