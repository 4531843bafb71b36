//! Stevedore's Lambda handlers. Each function's `main.rs` builds its context once and calls
//! one `handle` here; the decisions themselves come from `stevedore_core`.

mod alarm_reason;
pub mod approve;
mod build_migration;
pub mod deploy;
mod deploy_services;
pub mod execution_ended;
mod lazy_https;
pub mod lifecycle_hook;
pub mod migrate;
pub mod notify;
#[cfg(test)]
mod notify_tests;
pub mod on_ecs_event;
pub mod on_push;
pub mod promote;
mod reconcile;
mod reconcile_pushes;
pub mod record;
mod recovery;
mod recovery_services;
pub mod release_events;
mod release_order;
pub mod render;
mod render_services;
mod retention;
pub mod retry;
pub mod rollback;
mod rollout_check;
pub mod rollout_prediction;

mod model;
pub mod problems;
pub mod render_plan;
mod runtime;
mod schedules;
pub mod smoke_probe;
mod stage_lock;
mod starter;
mod targets;
mod traffic_hook;
mod verdict;
pub mod webhook;

pub use model::{
    BuildMigrationPlan, MigrationPlan, RenderOutput, RolloutSpec, ScheduleRender, ServiceRender,
    StateError,
};
pub use rollout_check::HookTarget;
pub use runtime::{init_tracing, now, required_env, HandlerError};
pub use schedules::Scheduled;
pub use starter::ByExecution;
pub use stevedore_core::ReleaseSpec;
pub use targets::accounts_from_env;
