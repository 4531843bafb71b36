//! `strategy: linear` and `strategy: canary`: ECS's native deployments that move production
//! traffic to the new revision in steps (a blue/green deployment with managed traffic
//! shifting), with their settings and the ranges ECS documents for them.
//!
//! - linear: `stepPercent` "multiples of 0.1 from 3.0 to 100.0", default 10.0;
//!   `stepBakeTimeInMinutes` 0 to 1440, default 6, "not applied after reaching 100 percent"
//!   (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LinearConfiguration.html>);
//! - canary: `canaryPercent` "multiples of 0.1 from 0.1 to 100.0", default 5.0;
//!   `canaryBakeTimeInMinutes` 0 to 1440, default 10
//!   (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CanaryConfiguration.html>).

use serde::{Deserialize, Serialize};

use super::{SmokeTest, Strategy, MAX_BAKE_MINUTES};

pub const DEFAULT_LINEAR_STEP_PERCENT: f64 = 10.0;
pub const DEFAULT_LINEAR_STEP_MINUTES: u32 = 6;
pub const DEFAULT_CANARY_PERCENT: f64 = 5.0;
pub const DEFAULT_CANARY_BAKE_MINUTES: u32 = 10;

/// `linear:` — how much production traffic each step moves, and the wait after each step
/// but the last.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearSettings {
    #[serde(default = "default_step_percent")]
    pub step_percent: f64,
    #[serde(default = "default_step_minutes")]
    pub step_minutes: u32,
}

/// `canary:` — the share of production traffic the new revision gets first, and how long
/// it keeps that share before the rest moves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanarySettings {
    #[serde(default = "default_canary_percent")]
    pub percent: f64,
    #[serde(default = "default_canary_bake_minutes")]
    pub bake_minutes: u32,
}

impl Default for LinearSettings {
    fn default() -> Self {
        LinearSettings {
            step_percent: DEFAULT_LINEAR_STEP_PERCENT,
            step_minutes: DEFAULT_LINEAR_STEP_MINUTES,
        }
    }
}

impl Default for CanarySettings {
    fn default() -> Self {
        CanarySettings {
            percent: DEFAULT_CANARY_PERCENT,
            bake_minutes: DEFAULT_CANARY_BAKE_MINUTES,
        }
    }
}

fn default_step_percent() -> f64 {
    DEFAULT_LINEAR_STEP_PERCENT
}
fn default_step_minutes() -> u32 {
    DEFAULT_LINEAR_STEP_MINUTES
}
fn default_canary_percent() -> f64 {
    DEFAULT_CANARY_PERCENT
}
fn default_canary_bake_minutes() -> u32 {
    DEFAULT_CANARY_BAKE_MINUTES
}

/// Whether `value` is a multiple of 0.1 (ECS's granularity for traffic percentages).
fn is_tenth(value: f64) -> bool {
    ((value * 10.0).round() - value * 10.0).abs() < 1e-9
}

/// (field, message) when `value` is not a multiple of 0.1 in `low..=high`.
fn check_percent(field: &'static str, value: f64, low: f64) -> Result<(), (&'static str, String)> {
    if !value.is_finite() || value < low {
        return Err((field, format!("{value} is below ECS's minimum {low:.1}")));
    }
    if value > 100.0 {
        return Err((field, format!("{value} is above ECS's maximum 100.0")));
    }
    if !is_tenth(value) {
        return Err((
            field,
            format!("{value} is not a multiple of 0.1, which ECS requires"),
        ));
    }
    Ok(())
}

fn check_minutes(field: &'static str, value: u32) -> Result<(), (&'static str, String)> {
    if value > MAX_BAKE_MINUTES {
        return Err((
            field,
            format!("{value} is above ECS's maximum {MAX_BAKE_MINUTES}"),
        ));
    }
    Ok(())
}

impl LinearSettings {
    /// Checks the fields against ECS's ranges; returns (field, message) for the first at fault.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        check_percent("step_percent", self.step_percent, 3.0)?;
        check_minutes("step_minutes", self.step_minutes)
    }

    /// How many production traffic shifts ECS makes: 100 / step, rounded up (an 11 % step
    /// makes 10 shifts, the last one to 100 %). The step bake follows every shift but the
    /// last: CloudFormation's documented count of bakes is `100/stepPercent - 1` when it
    /// divides evenly, else `floor(100/stepPercent)`
    /// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-service-linearconfiguration.html>).
    pub fn shifts(&self) -> u64 {
        let tenths = (self.step_percent * 10.0).round().max(1.0) as u64;
        1000_u64.div_ceil(tenths)
    }
}

impl CanarySettings {
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        check_percent("percent", self.percent, 0.1)?;
        check_minutes("bake_minutes", self.bake_minutes)
    }

    /// The canary shift and the rest (one shift when the canary already takes everything).
    pub fn shifts(&self) -> u64 {
        if self.percent >= 100.0 {
            1
        } else {
            2
        }
    }
}

/// One rollout's traffic settings, as `validate_strategy` checks them.
pub(super) struct TrafficSettings<'a> {
    pub strategy: Strategy,
    pub linear: Option<&'a LinearSettings>,
    pub canary: Option<&'a CanarySettings>,
    pub smoke_test: Option<&'a SmokeTest>,
}

impl TrafficSettings<'_> {
    /// Settings only their own strategy takes, in range; `each_step` only where there are
    /// steps. (field, message) for the first at fault, the field relative to the rollout.
    pub fn check(&self) -> Result<(), (String, String)> {
        let only = |field: &str, strategy: &str| {
            Err((
                field.to_string(),
                format!("is only used with `strategy: {strategy}`; set that strategy or remove this field"),
            ))
        };
        if self.linear.is_some() && self.strategy != Strategy::Linear {
            return only("linear", "linear");
        }
        if self.canary.is_some() && self.strategy != Strategy::Canary {
            return only("canary", "canary");
        }
        if self.smoke_test.is_some_and(|s| s.each_step) && !self.strategy.shifts_in_steps() {
            return Err((
                "smoke_test.each_step".into(),
                "is only used with `strategy: linear` or `strategy: canary` (the steps it checks after); remove it".into(),
            ));
        }
        if let Some(linear) = self.linear {
            linear
                .check()
                .map_err(|(field, message)| (format!("linear.{field}"), message))?;
        }
        if let Some(canary) = self.canary {
            canary
                .check()
                .map_err(|(field, message)| (format!("canary.{field}"), message))?;
        }
        Ok(())
    }

    /// The longest ECS may keep the deployment shifting traffic, in seconds: every wait
    /// between steps, and the smoke test at the test stage and, with `each_step`, after
    /// every production shift. (The final bake is counted by the caller, as for blue/green.)
    pub fn longest_seconds(&self) -> u64 {
        let (shifts, bake_minutes) = match self.strategy {
            Strategy::Linear => {
                let linear = self.linear.copied().unwrap_or_default();
                let shifts = linear.shifts();
                (
                    shifts,
                    shifts.saturating_sub(1) * u64::from(linear.step_minutes),
                )
            }
            Strategy::Canary => {
                let canary = self.canary.copied().unwrap_or_default();
                let shifts = canary.shifts();
                let bake = if shifts > 1 { canary.bake_minutes } else { 0 };
                (shifts, u64::from(bake))
            }
            _ => (0, 0),
        };
        let smoke = self.smoke_test.map_or(0, |smoke| {
            let runs = if smoke.each_step { 1 + shifts } else { 1 };
            runs * smoke.longest_seconds()
        });
        bake_minutes * 60 + smoke
    }
}

#[cfg(test)]
#[path = "traffic_shift_tests.rs"]
mod tests;
