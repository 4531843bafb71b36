//! Stevedore's domain: the stevedore.yaml model, tag routing, the release model and its
//! states, task-definition rendering and typed errors.
//!
//! Everything here is pure and synchronous: no AWS SDK, no async runtime. The adapters in
//! `stevedore-aws` and the Lambda handlers translate between these types and AWS.

pub mod bounds;
pub mod build_migration;
pub mod config;
pub mod dora;
pub mod ecr_event;
pub mod ecs_event;
pub mod error;
pub mod image;
pub mod lock;
pub mod metrics;
pub mod migration;
pub mod notify;
pub mod release;
pub mod render;
pub mod retention;
pub mod rollout_estimate;
pub mod routing;
pub mod secret;
pub mod smoke;
pub mod tag_rule;
pub mod traffic;
mod yaml;

pub use config::{AppConfig, ConfigError, MigrationConfig, StageConfig, StevedoreFile};
pub use error::{Error, Result};
pub use release::{Phase, Release, ReleaseSpec, ReleaseStatus, Trigger};
pub use secret::{SecretId, SecretRef};
