//! Checks on a deploy execution's input before anything is recorded. Pushes, promotions and
//! rollbacks build valid input themselves, but the deploy state machine can also be started
//! by hand (console, CLI), and a hand-written input must not be able to take a stage, deploy
//! an image from another repository, or put back an arbitrary task definition.

use super::{ReleaseSpec, Trigger};
use crate::config::is_valid_name;
use crate::error::Error;
use crate::image::image_uri;

/// How far in the future a release id's timestamp may lie (clock skew between machines).
pub const MAX_CLOCK_SKEW_MS: u64 = 60_000;

/// Where the execution runs, read from its ARN
/// (`arn:<partition>:states:<region>:<account>:execution:<state machine>:<name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionArn<'a> {
    pub region: &'a str,
    pub account: &'a str,
    pub state_machine: &'a str,
    pub name: &'a str,
}

impl<'a> ExecutionArn<'a> {
    pub fn parse(arn: &'a str) -> Result<Self, Error> {
        let parts: Vec<&str> = arn.splitn(8, ':').collect();
        match parts.as_slice() {
            ["arn", _, "states", region, account, "execution", state_machine, name]
                if !name.is_empty() && !state_machine.is_empty() =>
            {
                Ok(ExecutionArn {
                    region,
                    account,
                    state_machine,
                    name,
                })
            }
            _ => Err(Error::InvalidInput(format!(
                "execution_arn: {arn:?} is not a Step Functions execution ARN"
            ))),
        }
    }

    /// The ARN Step Functions gives execution `name` of a standard state machine:
    /// `arn:<partition>:states:<region>:<account>:execution:<state machine>:<name>`
    /// (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-state-machine-executions.html>).
    /// Known before the start, so the release is written with it once.
    pub fn of(state_machine_arn: &str, name: &str) -> Option<String> {
        let parts: Vec<&str> = state_machine_arn.splitn(7, ':').collect();
        match parts.as_slice() {
            ["arn", partition, "states", region, account, "stateMachine", machine]
                if !machine.is_empty() && !machine.contains(':') && !name.is_empty() =>
            {
                Some(format!(
                    "arn:{partition}:states:{region}:{account}:execution:{machine}:{name}"
                ))
            }
            _ => None,
        }
    }

    /// The ARN of another execution of the same state machine.
    pub fn sibling(arn: &str, name: &str) -> Option<String> {
        let (machine, _) = arn.rsplit_once(':')?;
        Some(format!("{machine}:{name}"))
    }
}

/// A digest as ECR reports it: `sha256:` and 64 lowercase hex digits.
pub fn is_valid_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Checks every field of `spec` that can be checked without the table (see
/// `validate_release_fields` and `validate_release_image`). The error names the field.
pub fn validate_release_input(
    spec: &ReleaseSpec,
    execution: &ExecutionArn<'_>,
    repository: &str,
    now_ms: u64,
) -> Result<(), Error> {
    validate_release_fields(spec, execution, now_ms)?;
    validate_release_image(spec, execution, repository)
}

/// The fields that make a release's identity: the release id is the execution's name and an
/// uppercase ULID not in the future, app and stage names are valid, the digest is a digest.
pub fn validate_release_fields(
    spec: &ReleaseSpec,
    execution: &ExecutionArn<'_>,
    now_ms: u64,
) -> Result<(), Error> {
    let invalid = |field: &str, why: String| Err(Error::InvalidInput(format!("{field}: {why}")));
    let id = &spec.release_id;
    match ulid::Ulid::from_string(id) {
        Ok(ulid) if ulid.to_string() == *id => {
            if ulid.timestamp_ms() > now_ms + MAX_CLOCK_SKEW_MS {
                return invalid(
                    "release_id",
                    format!("{id} lies in the future (its time is more than 60 s ahead)"),
                );
            }
        }
        _ => return invalid("release_id", format!("{id:?} is not an uppercase ULID")),
    }
    if execution.name != id {
        return invalid(
            "release_id",
            format!(
                "{id} differs from the execution's name {:?}; start the execution with the release id as its name",
                execution.name
            ),
        );
    }
    if !is_valid_name(&spec.app) {
        return invalid("app", format!("{:?} is not a valid app name", spec.app));
    }
    if !is_valid_name(&spec.stage) {
        return invalid(
            "stage",
            format!("{:?} is not a valid stage name", spec.stage),
        );
    }
    if !is_valid_digest(&spec.digest) {
        return invalid(
            "digest",
            format!("{:?} is not `sha256:` and 64 hex digits", spec.digest),
        );
    }
    Ok(())
}

/// The image: exactly `repository` (the app's configured one) at the digest, in the
/// execution's own account and region; and only a rollback may name a task definition.
pub fn validate_release_image(
    spec: &ReleaseSpec,
    execution: &ExecutionArn<'_>,
    repository: &str,
) -> Result<(), Error> {
    let invalid = |field: &str, why: String| Err(Error::InvalidInput(format!("{field}: {why}")));
    if spec.repository != repository {
        return invalid(
            "repository",
            format!(
                "{:?} is not app `{}`'s repository `{repository}`",
                spec.repository, spec.app
            ),
        );
    }
    let expected = image_uri(
        execution.account,
        execution.region,
        repository,
        &spec.digest,
    );
    if spec.image_uri != expected {
        return invalid(
            "image_uri",
            format!("{:?} must be exactly {expected}", spec.image_uri),
        );
    }
    if spec.redeploy_task_definition_arn.is_some() && spec.trigger != Trigger::Rollback {
        return invalid(
            "redeploy_task_definition_arn",
            format!(
                "is accepted only with trigger `rollback`, not `{}`",
                spec.trigger
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const NOW_MS: u64 = 1_780_000_000_000;

    fn id_at(ms: u64) -> String {
        ulid::Ulid::from_parts(ms, 42).to_string()
    }

    fn spec(id: &str) -> ReleaseSpec {
        ReleaseSpec {
            release_id: id.into(),
            app: "backend".into(),
            stage: "staging".into(),
            repository: "backend".into(),
            digest: DIGEST.into(),
            tag: "v1".into(),
            image_uri: format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/backend@{DIGEST}"),
            trigger: Trigger::Push,
            source_release_id: None,
            pushed_at: None,
            redeploy_task_definition_arn: None,
            redeploy_services: Default::default(),
        }
    }

    fn check(spec: &ReleaseSpec, name: &str) -> Result<(), Error> {
        let arn = format!("arn:aws:states:us-east-1:123456789012:execution:deploy:{name}");
        validate_release_input(spec, &ExecutionArn::parse(&arn)?, "backend", NOW_MS)
    }

    fn field_of(result: Result<(), Error>) -> String {
        match result {
            Err(Error::InvalidInput(text)) => text.split(':').next().unwrap_or("").to_string(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn a_well_formed_input_passes() {
        let id = id_at(NOW_MS - 1000);
        assert_eq!(check(&spec(&id), &id), Ok(()));
        // A little clock skew is tolerated.
        let ahead = id_at(NOW_MS + 30_000);
        assert_eq!(check(&spec(&ahead), &ahead), Ok(()));
    }

    #[test]
    fn each_bad_field_is_named() {
        let id = id_at(NOW_MS);
        let lower = id.to_lowercase();
        assert_eq!(field_of(check(&spec(&lower), &lower)), "release_id");
        let future = id_at(NOW_MS + 120_000);
        assert_eq!(field_of(check(&spec(&future), &future)), "release_id");
        assert_eq!(field_of(check(&spec(&id), "other-name")), "release_id");
        assert_eq!(
            field_of(check(&spec("not-a-ulid"), "not-a-ulid")),
            "release_id"
        );
        let mut bad = spec(&id);
        bad.app = "Backend".into();
        assert_eq!(field_of(check(&bad, &id)), "app");
        let mut bad = spec(&id);
        bad.stage = "a#b".into();
        assert_eq!(field_of(check(&bad, &id)), "stage");
        let mut bad = spec(&id);
        bad.digest = "sha256:XYZ".into();
        assert_eq!(field_of(check(&bad, &id)), "digest");
        let mut bad = spec(&id);
        bad.repository = "other".into();
        assert_eq!(field_of(check(&bad, &id)), "repository");
        let mut bad = spec(&id);
        bad.image_uri = format!("evil.example.com/backend@{DIGEST}");
        assert_eq!(field_of(check(&bad, &id)), "image_uri");
        let mut bad = spec(&id);
        bad.image_uri = format!("999999999999.dkr.ecr.us-east-1.amazonaws.com/backend@{DIGEST}");
        assert_eq!(field_of(check(&bad, &id)), "image_uri");
        let mut bad = spec(&id);
        bad.redeploy_task_definition_arn =
            Some("arn:aws:ecs:us-east-1:1:task-definition/x:1".into());
        assert_eq!(field_of(check(&bad, &id)), "redeploy_task_definition_arn");
        bad.trigger = Trigger::Rollback;
        assert_eq!(check(&bad, &id), Ok(()));
    }

    #[test]
    fn digests() {
        assert!(is_valid_digest(DIGEST));
        assert!(!is_valid_digest(&DIGEST.to_uppercase()));
        assert!(!is_valid_digest("sha256:abc"));
        assert!(!is_valid_digest(&DIGEST.replace("sha256", "sha512")));
    }

    #[test]
    fn execution_arn_of_a_state_machine_and_a_name() {
        assert_eq!(
            ExecutionArn::of(
                "arn:aws:states:eu-west-1:123456789012:stateMachine:stevedore-deploy",
                "01J0ABC"
            )
            .as_deref(),
            Some("arn:aws:states:eu-west-1:123456789012:execution:stevedore-deploy:01J0ABC")
        );
        // A version or alias ARN, or no state machine ARN at all: unknown until started.
        assert_eq!(
            ExecutionArn::of(
                "arn:aws:states:eu-west-1:123456789012:stateMachine:deploy:live",
                "x"
            ),
            None
        );
        assert_eq!(ExecutionArn::of("deploy", "x"), None);
    }

    #[test]
    fn execution_arns() {
        let arn = "arn:aws:states:eu-west-1:123:execution:deploy-sm:01JABC";
        let parsed = ExecutionArn::parse(arn).expect("valid");
        assert_eq!(
            (
                parsed.region,
                parsed.account,
                parsed.state_machine,
                parsed.name
            ),
            ("eu-west-1", "123", "deploy-sm", "01JABC")
        );
        assert!(ExecutionArn::parse("arn:aws:states:eu-west-1:123:stateMachine:x").is_err());
        assert_eq!(
            ExecutionArn::sibling(arn, "01JXYZ").as_deref(),
            Some("arn:aws:states:eu-west-1:123:execution:deploy-sm:01JXYZ")
        );
    }
}
