//! CodeBuild adapter tests: SDK answers in (mocked per call, in order), core shapes out.

use aws_sdk_codebuild::operation::batch_get_builds::BatchGetBuildsOutput;
use aws_sdk_codebuild::operation::list_builds_for_project::ListBuildsForProjectOutput;
use aws_sdk_codebuild::operation::stop_build::StopBuildOutput;
use aws_sdk_codebuild::types::{
    BuildPhase, BuildPhaseType, EnvironmentVariable, LogsLocation, PhaseContext, ProjectEnvironment,
};
use aws_smithy_mocks::{mock, Rule};

use super::*;
use crate::test_support::{error_body, mocked_client};

fn codebuild(rules: &[Rule]) -> CodeBuild {
    CodeBuild::new(mocked_client!(aws_sdk_codebuild, rules))
}

fn build(id: &str, release_id: &str, status: StatusType) -> Build {
    let env = ProjectEnvironment::builder()
        .r#type(aws_sdk_codebuild::types::EnvironmentType::LinuxContainer)
        .image("aws/codebuild/standard:7.0")
        .compute_type(aws_sdk_codebuild::types::ComputeType::BuildGeneral1Small)
        .environment_variables(
            EnvironmentVariable::builder()
                .name(RELEASE_ID_VARIABLE)
                .value(release_id)
                .build()
                .expect("variable"),
        )
        .build()
        .expect("environment");
    Build::builder()
        .id(id)
        .build_status(status.clone())
        .environment(env)
        .logs(
            LogsLocation::builder()
                .deep_link(format!("https://logs/{id}"))
                .build(),
        )
        .phases(
            BuildPhase::builder()
                .phase_type(BuildPhaseType::Install)
                .phase_status(StatusType::Succeeded)
                .build(),
        )
        .phases(
            BuildPhase::builder()
                .phase_type(BuildPhaseType::Build)
                .phase_status(status)
                .contexts(PhaseContext::builder().message("exit status 3").build())
                .build(),
        )
        .build()
}

#[tokio::test]
async fn finds_the_release_build_among_the_projects_recent_builds() {
    let list = mock!(aws_sdk_codebuild::Client::list_builds_for_project)
        .match_requests(|r| {
            r.project_name() == Some("migrate")
                && r.sort_order() == Some(&SortOrderType::Descending)
        })
        .then_output(|| {
            ListBuildsForProjectOutput::builder()
                .ids("migrate:b2")
                .ids("migrate:b1")
                .build()
        });
    let get = mock!(aws_sdk_codebuild::Client::batch_get_builds)
        .match_requests(|r| r.ids() == ["migrate:b2", "migrate:b1"])
        .then_output(|| {
            BatchGetBuildsOutput::builder()
                .builds(build("migrate:b2", "OTHER", StatusType::Succeeded))
                .builds(build("migrate:b1", "01JREL", StatusType::Failed))
                .build()
        });
    let found = codebuild(&[list, get])
        .release_build("migrate", "01JREL")
        .await
        .unwrap()
        .expect("found");
    assert_eq!(
        found,
        FinishedBuild {
            id: "migrate:b1".into(),
            status: "FAILED".into(),
            deep_link: Some("https://logs/migrate:b1".into()),
            failed_phase: Some("BUILD".into()),
            failure_message: Some("exit status 3".into()),
        }
    );
}

#[tokio::test]
async fn a_project_without_builds_has_no_release_build() {
    let list = mock!(aws_sdk_codebuild::Client::list_builds_for_project)
        .then_output(|| ListBuildsForProjectOutput::builder().build());
    let found = codebuild(&[list])
        .release_build("migrate", "01JREL")
        .await
        .unwrap();
    assert_eq!(found, None);
}

#[tokio::test]
async fn build_by_id_and_stop() {
    let get = mock!(aws_sdk_codebuild::Client::batch_get_builds)
        .match_requests(|r| r.ids() == ["migrate:b1"])
        .then_output(|| {
            BatchGetBuildsOutput::builder()
                .builds(build("migrate:b1", "01JREL", StatusType::InProgress))
                .build()
        });
    let stop = mock!(aws_sdk_codebuild::Client::stop_build)
        .match_requests(|r| r.id() == Some("migrate:b1"))
        .then_output(|| StopBuildOutput::builder().build());
    let client = codebuild(&[get, stop]);
    let found = client.build("migrate:b1").await.unwrap().expect("found");
    assert_eq!(found.status, "IN_PROGRESS");
    assert_eq!(found.failed_phase, None);
    client.stop_build("migrate:b1").await.unwrap();
}

#[tokio::test]
async fn throttling_is_retryable() {
    let list = mock!(aws_sdk_codebuild::Client::list_builds_for_project)
        .sequence()
        .http_status(
            400,
            Some(error_body("ThrottlingException", "Rate exceeded")),
        )
        .build();
    let error = codebuild(&[list])
        .release_build("migrate", "r")
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "Throttled", "{error}");
}
