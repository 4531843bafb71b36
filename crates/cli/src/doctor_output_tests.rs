use stevedore_core::config::{RolloutOrder, Strategy};
use stevedore_core::rollout_estimate::{
    advise, estimate, stage_seconds, ContainerHealthCheck, ContainerSettings, ServiceSettings,
    TargetGroupSettings,
};

use super::*;
use crate::doctor::{DoctorReport, ServiceDoctor, StageDoctor};

fn settings(name: &str, slow: bool) -> ServiceSettings {
    ServiceSettings {
        service: name.into(),
        desired_count: if slow { 2 } else { 3 },
        minimum_healthy_percent: slow.then_some(50),
        maximum_percent: slow.then_some(100),
        strategy: Strategy::Rolling,
        linear: None,
        canary: None,
        bake_time_minutes: None,
        circuit_breaker: !slow,
        circuit_breaker_rollback: !slow,
        target_groups: vec![TargetGroupSettings {
            name: format!("{name}-tg"),
            deregistration_delay_seconds: if slow { Some(300) } else { Some(5) },
            health_check_interval_seconds: if slow { Some(30) } else { Some(5) },
            healthy_threshold_count: if slow { Some(5) } else { Some(2) },
            health_check_timeout_seconds: Some(5),
        }],
        containers: vec![ContainerSettings {
            name: "app".into(),
            essential: true,
            stop_timeout_seconds: (!slow).then_some(5),
            health_check: slow.then_some(ContainerHealthCheck {
                interval_seconds: Some(30),
                timeout_seconds: Some(5),
                retries: Some(3),
                start_period_seconds: None,
            }),
        }],
        task_cpu: Some("512".into()),
        task_memory: Some("1024".into()),
    }
}

fn doctored(settings: ServiceSettings, timeout: u64) -> ServiceDoctor {
    let (advice, warnings) = advise(&settings, Some(timeout));
    ServiceDoctor {
        service: settings.service.clone(),
        estimate: Some(estimate(&settings)),
        settings: Some(settings),
        advice,
        warnings,
        error: None,
    }
}

fn stage(name: &str, order: RolloutOrder, services: Vec<ServiceDoctor>) -> StageDoctor {
    let estimates: Option<Vec<_>> = services.iter().map(|s| s.estimate.clone()).collect();
    StageDoctor {
        stage: name.into(),
        rollout_order: order,
        predicted_seconds: estimates.map(|e| stage_seconds(order, &e)),
        deploy_timeout_seconds: 1800,
        services,
    }
}

#[test]
fn snapshot_of_a_slow_and_a_fast_stage() {
    let mut blue_green = settings("admin", false);
    blue_green.strategy = Strategy::BlueGreen;
    blue_green.bake_time_minutes = Some(10);
    let report = DoctorReport {
        app: "shop".into(),
        stages: vec![
            stage(
                "staging",
                RolloutOrder::Parallel,
                vec![doctored(settings("web", true), 1800)],
            ),
            stage(
                "production",
                RolloutOrder::Parallel,
                vec![
                    doctored(settings("web", false), 1800),
                    doctored(blue_green, 1800),
                ],
            ),
        ],
    };
    let text = human(&report, Paint::default());
    // The stage's total is its longest service (parallel), and each line adds up.
    assert!(text.contains("shop / staging: ≈ 17 min"), "{text}");
    assert!(
        text.contains("deregistration delay 300 s → 30 s: saves ~9 min (4 min 30 s per wave)"),
        "{text}"
    );
    assert!(
        text.contains("warning: deployment circuit breaker is off"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn a_service_that_cannot_be_read_says_why_and_leaves_the_stage_unpredicted() {
    let broken = ServiceDoctor {
        service: "worker".into(),
        settings: None,
        estimate: None,
        advice: Vec::new(),
        warnings: Vec::new(),
        error: Some("ECS service `worker` not found in cluster `main`".into()),
    };
    let report = DoctorReport {
        app: "shop".into(),
        stages: vec![stage(
            "staging",
            RolloutOrder::Sequential,
            vec![doctored(settings("web", false), 600), broken],
        )],
    };
    let text = human(&report, Paint::default());
    assert!(
        text.contains("shop / staging (2 services one after another: they add up): not predicted"),
        "{text}"
    );
    assert!(
        text.contains("  worker: could not read its settings: ECS service `worker` not found"),
        "{text}"
    );
}

#[test]
fn settings_words_name_defaults_as_defaults() {
    let mut s = settings("web", false);
    s.target_groups[0].deregistration_delay_seconds = None;
    s.containers[0].stop_timeout_seconds = None;
    s.circuit_breaker = false;
    let words = settings_words(&s, &estimate(&s));
    assert!(
        words.contains("deregistration delay 300 s (default)"),
        "{words}"
    );
    assert!(words.contains("stopTimeout 30 s (default)"), "{words}");
    assert!(words.contains("no circuit breaker"), "{words}");
    assert!(
        words.starts_with("rolling, 3 tasks, minimum healthy 100 %, maximum 200 % (1 wave)"),
        "{words}"
    );
}
