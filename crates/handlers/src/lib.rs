//! Stevedore's Lambda handlers. Each function's `main.rs` builds its context once and calls
//! one `handle` here; the decisions themselves come from `stevedore_core`.

pub mod approve;
mod build_migration;
pub mod deploy;
pub mod execution_ended;
pub mod lifecycle_hook;
pub mod migrate;
pub mod on_ecs_event;
pub mod on_push;
pub mod promote;
mod reconcile;
mod reconcile_pushes;
pub mod record;
mod recovery;
pub mod render;
pub mod retry;
pub mod rollback;
mod rollout_check;

mod model;
mod runtime;
pub mod smoke_probe;
mod stage_lock;
mod starter;
mod verdict;

pub use model::{BuildMigrationPlan, MigrationPlan, RenderOutput, RolloutSpec, StateError};
pub use rollout_check::HookTarget;
pub use runtime::{init_tracing, now, required_env, HandlerError};
pub use starter::ByExecution;
pub use stevedore_core::ReleaseSpec;
