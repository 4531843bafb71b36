use super::*;
use crate::config::{CanarySettings, LinearSettings, RolloutOrder, Strategy};

pub(super) fn target_group(
    delay: Option<u32>,
    interval: Option<u32>,
    threshold: Option<u32>,
) -> TargetGroupSettings {
    TargetGroupSettings {
        name: "web-tg".into(),
        deregistration_delay_seconds: delay,
        health_check_interval_seconds: interval,
        healthy_threshold_count: threshold,
        health_check_timeout_seconds: None,
    }
}

pub(super) fn container(
    stop: Option<u32>,
    check_interval: Option<Option<u32>>,
) -> ContainerSettings {
    ContainerSettings {
        name: "app".into(),
        essential: true,
        stop_timeout_seconds: stop,
        health_check: check_interval.map(|interval| ContainerHealthCheck {
            interval_seconds: interval,
            timeout_seconds: None,
            retries: None,
            start_period_seconds: None,
        }),
    }
}

/// A rolling service of `n` tasks behind one ALB target group with ELB's and ECS's defaults.
pub(super) fn service(n: u32) -> ServiceSettings {
    ServiceSettings {
        service: "web".into(),
        desired_count: n,
        minimum_healthy_percent: None,
        maximum_percent: None,
        strategy: Strategy::Rolling,
        linear: None,
        canary: None,
        bake_time_minutes: None,
        circuit_breaker: true,
        circuit_breaker_rollback: true,
        target_groups: vec![target_group(None, None, None)],
        containers: vec![container(None, None)],
        task_cpu: Some("256".into()),
        task_memory: Some("512".into()),
    }
}

fn seconds_of(estimate: &Estimate, kind: PartKind) -> u64 {
    estimate
        .parts
        .iter()
        .filter(|p| p.kind == kind)
        .map(|p| p.seconds)
        .sum()
}

fn parts_add_up(estimate: &Estimate) {
    assert_eq!(
        estimate.parts.iter().map(|p| p.seconds).sum::<u64>(),
        estimate.seconds,
        "{estimate:?}"
    );
}

#[test]
fn defaults_behind_a_load_balancer_are_one_wave_of_start_health_and_drain() {
    let e = estimate(&service(3));
    // 30 start + 5 × 30 health checks, then 300 deregistration + 30 stop.
    assert_eq!(e.seconds, 30 + 150 + 300 + 30);
    assert_eq!(e.waves, 1);
    assert_eq!(seconds_of(&e, PartKind::DeregistrationDelay), 300);
    assert_eq!(seconds_of(&e, PartKind::TargetGroupHealthChecks), 150);
    assert!(e
        .parts
        .iter()
        .find(|p| p.kind == PartKind::TaskStart)
        .is_some_and(|p| p.assumed));
    assert_eq!(
        e.parts[0].kind,
        PartKind::DeregistrationDelay,
        "longest first"
    );
    parts_add_up(&e);
    assert_eq!(
        summary(&e),
        "≈ 8 min 30 s: 5 min deregistration delay, 2 min 30 s target group health checks, 30 s task start (assumed), 30 s stop timeout (assumed)"
    );
}

#[test]
fn half_minimum_and_no_room_above_rolls_two_tasks_in_two_waves() {
    let mut s = service(2);
    s.minimum_healthy_percent = Some(50);
    s.maximum_percent = Some(100);
    let e = estimate(&s);
    // Each wave: stop one (300 + 30), then start one (30 + 150).
    assert_eq!(e.seconds, 2 * (330 + 180));
    assert_eq!(e.waves, 2);
    assert_eq!(seconds_of(&e, PartKind::DeregistrationDelay), 600);
    assert!(e.parts.iter().all(|p| p.times == 2), "{e:?}");
    parts_add_up(&e);
}

#[test]
fn minimum_zero_stops_everything_first_then_starts_everything() {
    let mut s = service(4);
    s.minimum_healthy_percent = Some(0);
    s.maximum_percent = Some(100);
    let e = estimate(&s);
    assert_eq!(e.seconds, 330 + 180);
    assert_eq!(e.waves, 1);
}

#[test]
fn one_task_with_maximum_100_must_stop_before_it_starts() {
    let mut s = service(1);
    s.minimum_healthy_percent = Some(0);
    s.maximum_percent = Some(100);
    assert_eq!(estimate(&s).seconds, 330 + 180);
    // Minimum 100 and maximum 100 leave ECS no move at all.
    s.minimum_healthy_percent = Some(100);
    let stuck = estimate(&s);
    assert!(
        stuck
            .stalled
            .as_deref()
            .is_some_and(|r| r.contains("never finishes")),
        "{stuck:?}"
    );
    assert_eq!(stuck.seconds, 0);
    let (_, warnings) = advise(&s, None);
    assert!(
        warnings.iter().any(|w| w.contains("never finishes")),
        "{warnings:?}"
    );
}

#[test]
fn ten_tasks_with_maximum_150_take_two_overlapping_waves() {
    let mut s = service(10);
    s.maximum_percent = Some(150);
    let e = estimate(&s);
    // high = 15: 5 start at 0; healthy at 180, 5 old stop (done 510) and, as each old task
    // is only STOPPING, nothing more starts until they are gone: 5 more start at 510.
    assert_eq!(e.seconds, 510 + 180 + 330);
    assert_eq!(e.waves, 2);
    parts_add_up(&e);
}

#[test]
fn ten_tasks_with_minimum_90_maximum_110_go_one_by_one_overlapping() {
    let mut s = service(10);
    s.minimum_healthy_percent = Some(90);
    s.maximum_percent = Some(110);
    s.target_groups = vec![target_group(Some(10), Some(5), Some(2))];
    s.containers = vec![container(Some(5), None)];
    let e = estimate(&s);
    // low 9, high 11: one task starts (30 + 10) while one old one stops (10 + 5), and
    // the next starts as soon as that stop frees room: a pair every 55 s, the last old
    // task stopped when the last new one is healthy. Not 10 × 55 s: the waves overlap.
    assert_eq!(e.waves, 10);
    assert_eq!(e.seconds, 5 * 55);
    parts_add_up(&e);
}

#[test]
fn no_task_no_rollout() {
    let e = estimate(&service(0));
    assert_eq!(e.seconds, 0);
    assert!(e.parts.is_empty() && e.stalled.is_none());
    assert_eq!(summary(&e), "≈ 0 s: no task to replace");
    let (advice, warnings) = advise(&service(0), None);
    assert!(advice.is_empty());
    assert!(
        warnings.iter().any(|w| w.contains("desired count is 0")),
        "{warnings:?}"
    );
}

#[test]
fn without_a_load_balancer_or_health_check_ecs_waits_40_seconds() {
    let mut s = service(2);
    s.target_groups.clear();
    let e = estimate(&s);
    assert_eq!(e.seconds, 30 + 40 + 30);
    assert_eq!(seconds_of(&e, PartKind::UncheckedTaskWait), 40);
    assert_eq!(seconds_of(&e, PartKind::DeregistrationDelay), 0);
}

#[test]
fn container_health_check_alone_counts_one_interval() {
    let mut s = service(2);
    s.target_groups.clear();
    s.containers = vec![container(Some(20), Some(None))];
    let e = estimate(&s);
    assert_eq!(e.seconds, 30 + 30 + 20);
    assert_eq!(seconds_of(&e, PartKind::ContainerHealthCheck), 30);
}

#[test]
fn both_health_checks_take_the_longer_one() {
    let mut s = service(2);
    s.target_groups = vec![target_group(Some(0), Some(5), Some(2))];
    s.containers = vec![container(Some(10), Some(Some(60)))];
    let e = estimate(&s);
    assert_eq!(seconds_of(&e, PartKind::ContainerHealthCheck), 60);
    assert_eq!(seconds_of(&e, PartKind::TargetGroupHealthChecks), 0);
    assert_eq!(e.seconds, 30 + 60 + 10);
    s.containers = vec![container(Some(10), Some(Some(5)))];
    let e = estimate(&s);
    assert_eq!(seconds_of(&e, PartKind::TargetGroupHealthChecks), 10);
    // A non-essential container's check does not hold the task back.
    s.containers = vec![
        container(Some(10), None),
        ContainerSettings {
            essential: false,
            ..container(None, Some(Some(120)))
        },
    ];
    assert_eq!(
        seconds_of(&estimate(&s), PartKind::TargetGroupHealthChecks),
        10
    );
    // Its stop timeout still does (the default 30 s).
    assert_eq!(seconds_of(&estimate(&s), PartKind::StopTimeout), 30);
}

#[test]
fn blue_green_brings_green_up_at_once_then_bakes_and_cleans_up() {
    let mut s = service(10);
    s.strategy = Strategy::BlueGreen;
    s.bake_time_minutes = Some(5);
    s.maximum_percent = Some(100); // not used by blue/green
    let e = estimate(&s);
    assert_eq!(e.seconds, 30 + 150 + 300 + 300 + 30);
    assert_eq!(e.waves, 1);
    assert_eq!(seconds_of(&e, PartKind::BakeTime), 300);
}

#[test]
fn linear_waits_after_every_step_but_the_last() {
    let mut s = service(2);
    s.strategy = Strategy::Linear;
    s.linear = Some(LinearSettings {
        step_percent: 25.0,
        step_minutes: 2,
    });
    s.target_groups = vec![target_group(Some(30), Some(10), Some(2))];
    let e = estimate(&s);
    // 4 steps, 3 waits of 2 min.
    assert_eq!(seconds_of(&e, PartKind::TrafficShift), 360);
    assert_eq!(e.seconds, 30 + 20 + 360 + 30 + 30);
    // ECS's default: 10 % steps, 6 min each: 9 waits.
    s.linear = None;
    assert_eq!(seconds_of(&estimate(&s), PartKind::TrafficShift), 9 * 360);
    // 3.3 % steps: 31 steps, 30 waits.
    s.linear = Some(LinearSettings {
        step_percent: 3.3,
        step_minutes: 1,
    });
    assert_eq!(seconds_of(&estimate(&s), PartKind::TrafficShift), 30 * 60);
}

#[test]
fn canary_waits_once() {
    let mut s = service(2);
    s.strategy = Strategy::Canary;
    s.canary = Some(CanarySettings {
        percent: 10.0,
        bake_minutes: 3,
    });
    s.bake_time_minutes = Some(1);
    let e = estimate(&s);
    assert_eq!(seconds_of(&e, PartKind::TrafficShift), 180);
    assert_eq!(e.seconds, 30 + 150 + 180 + 60 + 300 + 30);
    parts_add_up(&e);
}

#[test]
fn a_stage_rolls_services_in_parallel_or_in_sequence() {
    let slow = estimate(&service(2));
    let mut quick = service(1);
    quick.target_groups.clear();
    let quick = estimate(&quick);
    let both = [slow.clone(), quick.clone()];
    assert_eq!(stage_seconds(RolloutOrder::Parallel, &both), slow.seconds);
    assert_eq!(stage_parts(RolloutOrder::Parallel, &both), slow.parts);
    assert_eq!(
        stage_seconds(RolloutOrder::Sequential, &both),
        slow.seconds + quick.seconds
    );
    let parts = stage_parts(RolloutOrder::Sequential, &both);
    assert_eq!(
        parts.iter().map(|p| p.seconds).sum::<u64>(),
        slow.seconds + quick.seconds
    );
}

#[test]
fn durations_read_as_words() {
    assert_eq!(human_duration(0), "0 s");
    assert_eq!(human_duration(40), "40 s");
    assert_eq!(human_duration(300), "5 min");
    assert_eq!(human_duration(460), "7 min 40 s");
    assert_eq!(human_duration(3900), "1 h 5 min");
}
