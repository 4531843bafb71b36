//! What only the operator CLI calls (feature `operator`): the Stevedore stack's outputs, the
//! caller's identity, and the operator state machines' executions, started and read to their
//! end. The functions never link these.

mod executions;
mod identity;
mod stack_outputs;

pub use executions::{ExecutionState, Executions, TaskFailure};
pub use identity::caller_arn;
pub use stack_outputs::stack_outputs;
