//! How the stored predictions compare with the rollouts ECS measured, per stage, for
//! `stevedore metrics`: medians of the measured and predicted seconds and of their ratio.

use serde::Serialize;

use crate::release::Release;

/// Over the releases that have both a prediction and a measured rollout.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RolloutAccuracy {
    pub rollouts_measured: u64,
    pub ecs_rollout_p50_seconds: Option<f64>,
    pub predicted_rollout_p50_seconds: Option<f64>,
    /// Median of measured / predicted: 1 is exact, above 1 ECS took longer than predicted.
    pub measured_to_predicted_p50: Option<f64>,
}

pub fn rollout_accuracy<'a>(releases: impl IntoIterator<Item = &'a Release>) -> RolloutAccuracy {
    let pairs: Vec<(f64, f64)> = releases
        .into_iter()
        .filter_map(|r| {
            Some((
                r.measured_rollout_seconds?,
                r.predicted_rollout_seconds? as f64,
            ))
        })
        .filter(|(_, predicted)| *predicted > 0.0)
        .collect();
    RolloutAccuracy {
        rollouts_measured: pairs.len() as u64,
        ecs_rollout_p50_seconds: median(pairs.iter().map(|p| p.0).collect()),
        predicted_rollout_p50_seconds: median(pairs.iter().map(|p| p.1).collect()),
        measured_to_predicted_p50: median(pairs.iter().map(|(m, p)| m / p).collect()),
    }
}

fn median(mut samples: Vec<f64>) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_by(f64::total_cmp);
    let mid = samples.len() / 2;
    Some(if samples.len().is_multiple_of(2) {
        (samples[mid - 1] + samples[mid]) / 2.0
    } else {
        samples[mid]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::{ReleaseSpec, Trigger};

    fn release(measured: Option<f64>, predicted: Option<u64>) -> Release {
        let spec = ReleaseSpec {
            release_id: "01JD3Q8Z0000000000000000AB".into(),
            app: "shop".into(),
            stage: "staging".into(),
            repository: "shop".into(),
            digest: "sha256:ab".into(),
            tag: "v1".into(),
            image_uri: "uri".into(),
            trigger: Trigger::Push,
            source_release_id: None,
            pushed_at: None,
            redeploy_task_definition_arn: None,
            redeploy_services: Default::default(),
        };
        let mut r = Release::new_pending(spec, chrono::DateTime::UNIX_EPOCH);
        r.measured_rollout_seconds = measured;
        r.predicted_rollout_seconds = predicted;
        r
    }

    #[test]
    fn medians_over_releases_with_both_figures() {
        let releases = [
            release(Some(90.0), Some(100)),
            release(Some(330.0), Some(300)),
            release(Some(50.0), None),
            release(None, Some(70)),
            release(Some(120.0), Some(100)),
        ];
        let accuracy = rollout_accuracy(&releases);
        assert_eq!(accuracy.rollouts_measured, 3);
        assert_eq!(accuracy.ecs_rollout_p50_seconds, Some(120.0));
        assert_eq!(accuracy.predicted_rollout_p50_seconds, Some(100.0));
        assert_eq!(accuracy.measured_to_predicted_p50, Some(1.1));
        assert_eq!(rollout_accuracy(&[]), RolloutAccuracy::default());
    }
}
