use super::tests::{container, service, target_group};
use super::*;
use crate::config::Strategy;

#[test]
fn advice_for_slow_defaults_names_each_change_with_its_saving_and_trade() {
    let (advice, warnings) = advise(&service(3), Some(3600));
    let changes: Vec<&str> = advice.iter().map(|a| a.change.as_str()).collect();
    assert_eq!(
        changes,
        [
            "deregistration delay 300 s → 30 s",
            "target group health checks 5 × 30 s → 2 × 10 s",
            "stopTimeout 30 s → 10 s",
        ]
    );
    assert_eq!(advice[0].saves_seconds, 270);
    assert!(advice[0].trade.contains("requests end within 30 s"));
    assert_eq!(advice[1].saves_seconds, 130);
    assert_eq!(advice[2].saves_seconds, 20);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn advice_on_waves_offers_room_above_or_less_below() {
    let mut s = service(4);
    s.maximum_percent = Some(125);
    let (advice, _) = advise(&s, None);
    let max = advice
        .iter()
        .find(|a| a.change.starts_with("maximum percent 125 → 200"))
        .expect("max advice");
    let base = estimate(&s).seconds;
    s.maximum_percent = Some(200);
    assert_eq!(max.saves_seconds, base - estimate(&s).seconds);
    assert!(
        advice
            .iter()
            .any(|a| a.change == "minimum healthy percent 100 → 50"),
        "{advice:?}"
    );
    // Raising the maximum takes a wave away: its saving is not per wave.
    assert_eq!(max.saves_per_wave_seconds, None);
    assert_eq!(
        savings_words(max),
        format!("saves ~{}", human_duration(max.saves_seconds))
    );
}

#[test]
fn per_wave_savings_are_said_per_wave() {
    let mut s = service(2);
    s.minimum_healthy_percent = Some(50);
    s.maximum_percent = Some(100);
    let (advice, _) = advise(&s, None);
    let delay = advice
        .iter()
        .find(|a| a.change.starts_with("deregistration delay"))
        .expect("delay advice");
    assert_eq!(savings_words(delay), "saves ~9 min (4 min 30 s per wave)");
}

#[test]
fn bake_and_step_bakes_are_advised_for_traffic_shifting_only() {
    let mut s = service(2);
    s.strategy = Strategy::Canary;
    s.bake_time_minutes = Some(10);
    let (advice, _) = advise(&s, None);
    assert!(advice
        .iter()
        .any(|a| a.change == "bake time 10 min → 0" && a.saves_seconds == 600));
    assert!(advice
        .iter()
        .any(|a| a.change == "canary bake 10 min → 1 min" && a.saves_seconds == 540));
    assert!(!advice
        .iter()
        .any(|a| a.change.starts_with("maximum percent")));
}

#[test]
fn circuit_breaker_off_warns_that_a_failing_rollout_runs_until_the_timeout() {
    let mut s = service(2);
    s.circuit_breaker = false;
    s.circuit_breaker_rollback = false;
    let (_, warnings) = advise(&s, Some(1800));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("circuit breaker is off") && w.contains("30 min")),
        "{warnings:?}"
    );
}

#[test]
fn fast_settings_leave_little_to_advise() {
    let mut s = service(2);
    s.target_groups = vec![target_group(Some(5), Some(5), Some(2))];
    s.containers = vec![container(Some(5), None)];
    let (advice, _) = advise(&s, None);
    assert!(advice.is_empty(), "{advice:?}");
    assert_eq!(estimate(&s).seconds, 30 + 10 + 5 + 5);
}
