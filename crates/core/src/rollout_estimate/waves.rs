//! A rolling update as ECS's scheduler runs it, simulated event by event (not a closed
//! formula, so unusual `minimumHealthyPercent` / `maximumPercent` pairs come out right).
//!
//! With `desired` N, `low = ceil(N × minimumHealthyPercent / 100)` tasks must stay healthy
//! and `high = floor(N × maximumPercent / 100)` may be up at once
//! (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html>:
//! the minimum is "rounded up", the maximum "rounded down"). Whenever something changes the
//! scheduler stops old RUNNING tasks while (old running + new healthy) > low, and starts new
//! tasks while new < N and the tasks not yet STOPPED (STOPPING ones included) < high. The
//! rollout is done when N new tasks are healthy and every old task has STOPPED.

use super::{PartKind, Path, TaskTimes};

/// The rollout's end: the path of events that decided it, and how many waves started tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    pub(crate) path: Path,
    pub waves: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Happening {
    /// A new task counts as healthy.
    Healthy,
    /// An old task has STOPPED.
    Stopped,
}

#[derive(Debug, Clone, Copy)]
struct Event {
    at: u64,
    what: Happening,
    /// How the time up to `at` was spent along the chain of events that led here.
    path: Path,
}

/// Runs the rollout of `desired` tasks; Err says why ECS can never finish it.
pub(crate) fn simulate(
    desired: u32,
    minimum_healthy_percent: u32,
    maximum_percent: u32,
    times: &TaskTimes,
) -> Result<Done, String> {
    let n = u64::from(desired);
    let low = (n * u64::from(minimum_healthy_percent)).div_ceil(100);
    let high = n * u64::from(maximum_percent) / 100;
    let (mut old_running, mut old_stopping) = (n, 0u64);
    let (mut new_started, mut new_healthy) = (0u64, 0u64);
    let mut pending: Vec<Event> = Vec::new();
    let (mut now, mut path) = (0u64, Path::default());
    let mut waves = 0u32;
    loop {
        // The scheduler's turn, after everything that happened at `now`.
        while old_running + new_healthy > low && old_running > 0 {
            old_running -= 1;
            old_stopping += 1;
            let mut stop = path;
            if times.deregistration > 0 {
                stop = stop.add(PartKind::DeregistrationDelay, times.deregistration);
            }
            let stop = stop.add(PartKind::StopTimeout, times.stop);
            pending.push(Event {
                at: now + (stop.total() - path.total()),
                what: Happening::Stopped,
                path: stop,
            });
        }
        let mut started_now = false;
        while new_started < n && old_running + old_stopping + new_started < high {
            new_started += 1;
            started_now = true;
            let up = path
                .add(PartKind::TaskStart, times.start)
                .add(times.healthy.0, times.healthy.1);
            pending.push(Event {
                at: now + (up.total() - path.total()),
                what: Happening::Healthy,
                path: up,
            });
        }
        if started_now {
            waves += 1;
        }
        if new_healthy == n && old_running == 0 && old_stopping == 0 {
            return Ok(Done { path, waves });
        }
        let Some(next) = pending.iter().map(|e| e.at).min() else {
            return Err(stall_reason(
                desired,
                minimum_healthy_percent,
                maximum_percent,
                low,
                high,
            ));
        };
        now = next;
        let (happened, rest): (Vec<Event>, Vec<Event>) =
            pending.into_iter().partition(|e| e.at == now);
        pending = rest;
        // Every event at `now` took the same time; the first one's path stands for them.
        path = happened[0].path;
        for event in &happened {
            match event.what {
                Happening::Healthy => new_healthy += 1,
                Happening::Stopped => old_stopping -= 1,
            }
        }
    }
}

fn stall_reason(desired: u32, minimum: u32, maximum: u32, low: u64, high: u64) -> String {
    format!(
        "with {desired} desired task(s), minimumHealthyPercent {minimum} and maximumPercent {maximum} ECS must keep {low} healthy and may run at most {high}: it can neither stop an old task nor start a new one, so the rollout never finishes; lower minimumHealthyPercent or raise maximumPercent"
    )
}
