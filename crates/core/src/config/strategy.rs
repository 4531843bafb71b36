//! How a stage's service is rolled forward: ECS's rolling update, or ECS's native
//! blue/green (all production traffic at once), linear or canary (in steps, see
//! `traffic_shift`), with a bake time and a smoke test on the test listener.

use serde::{Deserialize, Serialize};

/// ECS allows at most a day of bake time.
pub const MAX_BAKE_MINUTES: u32 = 1440;
pub const DEFAULT_SMOKE_ATTEMPTS: u32 = 5;
pub const DEFAULT_SMOKE_INTERVAL_SECONDS: u32 = 10;
pub const DEFAULT_SMOKE_REQUEST_TIMEOUT_SECONDS: u32 = 5;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    #[default]
    Rolling,
    BlueGreen,
    Linear,
    Canary,
}

impl Strategy {
    /// BLUE_GREEN, LINEAR and CANARY: a green revision beside blue, traffic moved by the
    /// load balancer (or Service Connect), lifecycle hooks, a bake time.
    pub fn shifts_traffic(self) -> bool {
        !matches!(self, Strategy::Rolling)
    }

    /// LINEAR and CANARY: production traffic moves in more than one step.
    pub fn shifts_in_steps(self) -> bool {
        matches!(self, Strategy::Linear | Strategy::Canary)
    }

    /// The name as stevedore.yaml spells it.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Rolling => "rolling",
            Strategy::BlueGreen => "blue_green",
            Strategy::Linear => "linear",
            Strategy::Canary => "canary",
        }
    }
}

/// The request Stevedore's lifecycle hook makes against the green revision once the test
/// listener routes to it (ECS stage POST_TEST_TRAFFIC_SHIFT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmokeTest {
    /// The URL of the load balancer's test listener, path included,
    /// e.g. `http://internal-web-123.eu-west-1.elb.amazonaws.com:8080/healthz`.
    pub test_url: String,
    #[serde(default = "default_expect_status")]
    pub expect_status: u16,
    /// How many times the check is tried before the hook answers FAILED.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Seconds between attempts (the hook's `callBackDelay`).
    #[serde(default = "default_interval")]
    pub interval_seconds: u32,
    /// Seconds one request may take.
    #[serde(default = "default_request_timeout")]
    pub timeout_seconds: u32,
    /// linear/canary: also run the test after every production traffic shift (ECS stage
    /// PRODUCTION_TRAFFIC_SHIFT); a failure there rolls back too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub each_step: bool,
}

fn default_expect_status() -> u16 {
    200
}
fn default_attempts() -> u32 {
    DEFAULT_SMOKE_ATTEMPTS
}
fn default_interval() -> u32 {
    DEFAULT_SMOKE_INTERVAL_SECONDS
}
fn default_request_timeout() -> u32 {
    DEFAULT_SMOKE_REQUEST_TIMEOUT_SECONDS
}

impl SmokeTest {
    /// The longest the smoke test can keep a deployment at the test stage.
    pub fn longest_seconds(&self) -> u64 {
        u64::from(self.attempts) * u64::from(self.interval_seconds + self.timeout_seconds)
    }

    /// Checks the fields; returns (field, message) for the first one at fault.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let url = self.test_url.as_str();
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"));
        match rest {
            Some(rest) if !rest.is_empty() && !rest.starts_with('/') => {}
            _ => {
                return Err((
                    "test_url",
                    format!("{url:?} must be an http:// or https:// URL of the test listener, e.g. http://my-alb.example.com:8080/healthz"),
                ))
            }
        }
        if !(100..=599).contains(&self.expect_status) {
            return Err((
                "expect_status",
                format!("{} is not an HTTP status (100..=599)", self.expect_status),
            ));
        }
        if !(1..=100).contains(&self.attempts) {
            return Err((
                "attempts",
                format!("{} is out of range 1..=100", self.attempts),
            ));
        }
        if !(1..=900).contains(&self.interval_seconds) {
            return Err((
                "interval_seconds",
                format!("{} is out of range 1..=900", self.interval_seconds),
            ));
        }
        if !(1..=60).contains(&self.timeout_seconds) {
            return Err((
                "timeout_seconds",
                format!("{} is out of range 1..=60", self.timeout_seconds),
            ));
        }
        Ok(())
    }
}
