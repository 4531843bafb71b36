//! The `ECR Image Action` EventBridge event and whether a push should deploy.

use serde::{Deserialize, Serialize};

/// The `detail` of an `ECR Image Action` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct EcrImageAction {
    pub action_type: String,
    pub result: String,
    pub repository_name: String,
    pub image_digest: String,
    /// ECR omits the tag for untagged pushes (e.g. a manifest list's child images).
    #[serde(default)]
    pub image_tag: Option<String>,
}

/// What to do about one ECR event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushDecision {
    Deploy {
        repository: String,
        digest: String,
        tag: String,
    },
    /// Nothing to deploy; the reason is for the log.
    Ignore(String),
}

pub fn decide_push(detail: &EcrImageAction) -> PushDecision {
    if detail.action_type != "PUSH" {
        return PushDecision::Ignore(format!("action type is {:?}, not PUSH", detail.action_type));
    }
    if detail.result != "SUCCESS" {
        return PushDecision::Ignore(format!(
            "push to {} did not succeed (result {:?})",
            detail.repository_name, detail.result
        ));
    }
    let Some(tag) = detail.image_tag.as_deref().filter(|tag| !tag.is_empty()) else {
        return PushDecision::Ignore(format!(
            "untagged push of {} to {}; only tags are routed to stages",
            detail.image_digest, detail.repository_name
        ));
    };
    if !is_sha256_digest(&detail.image_digest) {
        return PushDecision::Ignore(format!(
            "image digest {:?} is not sha256:<64 lowercase hex>",
            detail.image_digest
        ));
    }
    PushDecision::Deploy {
        repository: detail.repository_name.clone(),
        digest: detail.image_digest.clone(),
        tag: tag.to_string(),
    }
}

/// `sha256:` followed by 64 lowercase hex digits.
pub fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn push(tag: Option<&str>) -> EcrImageAction {
        EcrImageAction {
            action_type: "PUSH".into(),
            result: "SUCCESS".into(),
            repository_name: "backend".into(),
            image_digest: DIGEST.into(),
            image_tag: tag.map(str::to_string),
        }
    }

    #[test]
    fn deserializes_a_real_detail_without_tag() {
        let detail: EcrImageAction = serde_json::from_str(&format!(
            r#"{{"result":"SUCCESS","repository-name":"backend","image-digest":"{DIGEST}","action-type":"PUSH"}}"#
        ))
        .expect("valid detail");
        assert_eq!(detail.image_tag, None);
        assert!(
            matches!(decide_push(&detail), PushDecision::Ignore(why) if why.contains("untagged"))
        );
    }

    #[test]
    fn a_tagged_successful_push_deploys() {
        assert_eq!(
            decide_push(&push(Some("develop-1a2b"))),
            PushDecision::Deploy {
                repository: "backend".into(),
                digest: DIGEST.into(),
                tag: "develop-1a2b".into()
            }
        );
    }

    #[test]
    fn other_actions_failures_and_empty_tags_are_ignored() {
        let mut delete = push(Some("x"));
        delete.action_type = "DELETE".into();
        assert!(
            matches!(decide_push(&delete), PushDecision::Ignore(why) if why.contains("DELETE"))
        );

        let mut failed = push(Some("x"));
        failed.result = "FAILURE".into();
        assert!(
            matches!(decide_push(&failed), PushDecision::Ignore(why) if why.contains("FAILURE"))
        );

        assert!(matches!(
            decide_push(&push(Some(""))),
            PushDecision::Ignore(_)
        ));
        assert!(matches!(decide_push(&push(None)), PushDecision::Ignore(_)));
    }

    #[test]
    fn malformed_digests_are_ignored() {
        for digest in [
            "",
            "sha256:abc",
            "sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            let mut detail = push(Some("x"));
            detail.image_digest = digest.into();
            assert!(
                matches!(decide_push(&detail), PushDecision::Ignore(why) if why.contains("not sha256")),
                "{digest}"
            );
        }
    }
}
