//! The typed errors every Stevedore function returns.
//!
//! The variant name is the `errorType` a Lambda reports, which the state machines match
//! with `ErrorEquals`; renaming a variant is a breaking change to the ASL definitions.

use crate::config::ConfigError;

#[derive(Debug, thiserror::Error, strum::IntoStaticStr, strum::VariantNames, Clone, PartialEq)]
pub enum Error {
    /// Malformed event or state machine input.
    #[error("{0}")]
    InvalidInput(String),
    /// A stevedore.yaml problem (the `ConfigError`'s Display).
    #[error("{0}")]
    InvalidConfig(String),
    #[error("app `{0}` is not configured; apply a stevedore.yaml that defines it")]
    AppNotFound(String),
    #[error("app `{app}` has no stage `{stage}` in its stevedore.yaml")]
    StageNotFound { app: String, stage: String },
    #[error("{0}")]
    ServiceNotFound(String),
    #[error("{0}")]
    ContainerNotFound(String),
    #[error("{0}")]
    SecretNotFound(String),
    #[error("{0}")]
    TaskDefinitionRejected(String),
    #[error("{0}")]
    MigrationFailed(String),
    #[error("{0}")]
    MigrationDidNotStart(String),
    #[error("{0}")]
    MigrationTimedOut(String),
    #[error("{0}")]
    DeploymentFailed(String),
    #[error("{0}")]
    DeploymentRolledBack(String),
    #[error("{0}")]
    DeploymentTimedOut(String),
    #[error("{0}")]
    DeploymentReplaced(String),
    /// Putting the previous task definition back did not finish either: the service may run
    /// neither revision healthily.
    #[error("{0}")]
    RestoreFailed(String),
    /// `strategy: blue_green` on a service ECS cannot run blue/green for (no load balancer
    /// with an alternate target group and listener rules).
    #[error("{0}")]
    BlueGreenNotConfigured(String),
    /// The release would have to send ECS another team's lifecycle hook again, with a role
    /// Stevedore may not pass (`iam:PassRole`): it fails before anything changes.
    #[error("{0}")]
    HookRoleNotPassable(String),
    /// A schedule or rule a stage names (`schedules:`) does not exist, or has no ECS target.
    #[error("{0}")]
    ScheduleNotFound(String),
    /// A person rejected the release at its approval gate.
    #[error("{0}")]
    ApprovalRejected(String),
    /// Nobody decided at the approval gate within the stage's `approval_timeout`.
    #[error("{0}")]
    ApprovalTimedOut(String),
    /// The release no longer holds its stage's lock (its lease lapsed and another release
    /// took the stage, or another execution claims it): it must change nothing.
    #[error("{0}")]
    LockLost(String),
    /// Like `LockLost`, but a newer release of the stage holds it now.
    #[error("{0}")]
    Superseded(String),
    #[error("{0}")]
    LockHeld(String),
    /// A notification could not be delivered to one or more destinations (the notify
    /// function; Lambda retries it, then it lands in the notification dead-letter queue).
    #[error("{0}")]
    NotificationFailed(String),
    #[error("{0}")]
    Throttled(String),
    #[error("{0}")]
    TransientAws(String),
    #[error("{0}")]
    AwsError(String),
}

impl Error {
    /// The variant name, used as the Lambda `errorType`.
    pub fn error_type(&self) -> &'static str {
        self.into()
    }

    /// Whether `error_type` names one of these variants.
    pub fn is_error_type(error_type: &str) -> bool {
        <Error as strum::VariantNames>::VARIANTS.contains(&error_type)
    }

    /// The same error with `prefix` before its message (e.g. which service of several it is
    /// about); the variant, so the state machine's handling, is unchanged.
    pub fn prefixed(self, prefix: &str) -> Error {
        use Error::*;
        let p = |message: String| format!("{prefix}{message}");
        match self {
            InvalidInput(m) => InvalidInput(p(m)),
            InvalidConfig(m) => InvalidConfig(p(m)),
            ServiceNotFound(m) => ServiceNotFound(p(m)),
            ContainerNotFound(m) => ContainerNotFound(p(m)),
            SecretNotFound(m) => SecretNotFound(p(m)),
            TaskDefinitionRejected(m) => TaskDefinitionRejected(p(m)),
            MigrationFailed(m) => MigrationFailed(p(m)),
            MigrationDidNotStart(m) => MigrationDidNotStart(p(m)),
            MigrationTimedOut(m) => MigrationTimedOut(p(m)),
            DeploymentFailed(m) => DeploymentFailed(p(m)),
            DeploymentRolledBack(m) => DeploymentRolledBack(p(m)),
            DeploymentTimedOut(m) => DeploymentTimedOut(p(m)),
            DeploymentReplaced(m) => DeploymentReplaced(p(m)),
            RestoreFailed(m) => RestoreFailed(p(m)),
            BlueGreenNotConfigured(m) => BlueGreenNotConfigured(p(m)),
            HookRoleNotPassable(m) => HookRoleNotPassable(p(m)),
            ScheduleNotFound(m) => ScheduleNotFound(p(m)),
            ApprovalRejected(m) => ApprovalRejected(p(m)),
            ApprovalTimedOut(m) => ApprovalTimedOut(p(m)),
            LockLost(m) => LockLost(p(m)),
            Superseded(m) => Superseded(p(m)),
            LockHeld(m) => LockHeld(p(m)),
            NotificationFailed(m) => NotificationFailed(p(m)),
            Throttled(m) => Throttled(p(m)),
            TransientAws(m) => TransientAws(p(m)),
            AwsError(m) => AwsError(p(m)),
            other @ (AppNotFound(_) | StageNotFound { .. }) => other,
        }
    }

    /// Whether the state machine retries this error with backoff (see docs/architecture.md).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Throttled(_) | Error::TransientAws(_) | Error::LockHeld(_)
        )
    }
}

impl From<ConfigError> for Error {
    fn from(error: ConfigError) -> Self {
        Error::InvalidConfig(error.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_type_is_the_variant_name() {
        assert_eq!(Error::InvalidInput("x".into()).error_type(), "InvalidInput");
        assert_eq!(
            Error::StageNotFound {
                app: "a".into(),
                stage: "b".into()
            }
            .error_type(),
            "StageNotFound"
        );
        assert_eq!(
            Error::DeploymentRolledBack("x".into()).error_type(),
            "DeploymentRolledBack"
        );
    }

    #[test]
    fn messages_name_the_app_and_stage() {
        assert_eq!(
            Error::AppNotFound("backend".into()).to_string(),
            "app `backend` is not configured; apply a stevedore.yaml that defines it"
        );
        let stage_missing = Error::StageNotFound {
            app: "backend".into(),
            stage: "prod".into(),
        };
        assert_eq!(
            stage_missing.to_string(),
            "app `backend` has no stage `prod` in its stevedore.yaml"
        );
    }

    #[test]
    fn a_prefix_keeps_the_error_type() {
        let error =
            Error::DeploymentRolledBack("circuit breaker".into()).prefixed("service `worker`: ");
        assert_eq!(error.error_type(), "DeploymentRolledBack");
        assert_eq!(error.to_string(), "service `worker`: circuit breaker");
    }

    #[test]
    fn knows_its_error_types() {
        assert!(Error::is_error_type("MigrationDidNotStart"));
        assert!(Error::is_error_type("AwsError"));
        assert!(!Error::is_error_type("States.Timeout"));
    }

    #[test]
    fn only_throttling_transient_and_lock_are_retryable() {
        assert!(Error::Throttled("x".into()).is_retryable());
        assert!(Error::LockHeld("x".into()).is_retryable());
        assert!(!Error::AwsError("x".into()).is_retryable());
    }

    #[test]
    fn config_error_becomes_invalid_config() {
        let config_error = ConfigError {
            file: "stevedore.yaml".into(),
            line: Some(3),
            path: "apps.backend".into(),
            message: "boom".into(),
        };
        assert_eq!(
            Error::from(config_error),
            Error::InvalidConfig("stevedore.yaml:3: apps.backend: boom".into())
        );
    }
}
