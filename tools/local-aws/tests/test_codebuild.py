"""CodeBuild builds and the Step Functions codebuild:startBuild(.sync) integration."""

from __future__ import annotations

import json
import time
import urllib.error
import uuid

import pytest
from botocore.exceptions import ClientError
from conftest import ACCOUNT, REGION, run_execution, wait_for

DEEP_LINK = ("https://console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/"
             "log-group/$252Faws$252Fcodebuild$252F{project}/log-events/{stream}")


def _project(aws, **extra) -> str:
    name = f"migrate-{uuid.uuid4().hex[:8]}"
    aws("codebuild").create_project(
        name=name, source={"type": "NO_SOURCE", "location": "none",
                           "buildspec": "version: 0.2\nphases:\n  build:\n    commands: [./migrate]\n"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                     "computeType": "BUILD_GENERAL1_SMALL",
                     "environmentVariables": [{"name": "DATABASE", "value": "app"},
                                              {"name": "STEVEDORE_STAGE", "value": "unset"}]},
        serviceRole=f"arn:aws:iam::{ACCOUNT}:role/migrate", **extra)
    return name


def _migration_state(extra: dict | None = None) -> dict:
    state = {
        "Type": "Task", "Resource": "arn:aws:states:::codebuild:startBuild.sync",
        "Parameters": {
            "ProjectName.$": "$.render.migration.project",
            "EnvironmentVariablesOverride": [
                {"Name": "STEVEDORE_IMAGE_URI", "Type": "PLAINTEXT",
                 "Value.$": "$.render.migration.image_uri"},
                {"Name": "STEVEDORE_RELEASE_ID", "Type": "PLAINTEXT", "Value.$": "$.release.release_id"},
                {"Name": "STEVEDORE_STAGE", "Type": "PLAINTEXT", "Value.$": "$.release.stage"},
            ],
        },
        "TimeoutSecondsPath": "$.render.migration.timeout_seconds",
        "ResultPath": "$.migration",
        "End": True,
    }
    state.update(extra or {})
    return state


def _input(project: str, timeout: int = 60) -> dict:
    return {"render": {"migration": {"project": project, "timeout_seconds": timeout,
                                     "image_uri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app@sha256:{'a' * 64}"}},
            "release": {"release_id": "rel-0001", "stage": "staging"}}


def _vars(env: dict) -> dict:
    return {v["Name"]: (v["Value"], v["Type"]) for v in env["EnvironmentVariables"]}


def test_start_build_sync_succeeds_with_the_build_description(aws, control):
    project = _project(aws)
    started = time.time()
    desc = run_execution(aws("stepfunctions"), {"StartAt": "Migrate",
                                                "States": {"Migrate": _migration_state()}},
                         _input(project))
    assert desc["status"] == "SUCCEEDED", desc
    build = json.loads(desc["output"])["migration"]["Build"]
    assert build["BuildStatus"] == "SUCCEEDED" and build["CurrentPhase"] == "COMPLETED"
    assert build["BuildComplete"] is True and build["BuildNumber"] == 1
    assert build["ProjectName"] == project
    build_uuid = build["Id"].split(":", 1)[1]
    assert build["Id"] == f"{project}:{build_uuid}" and len(build_uuid) == 36
    assert build["Arn"] == f"arn:aws:codebuild:{REGION}:{ACCOUNT}:build/{build['Id']}"
    variables = _vars(build["Environment"])
    assert variables["STEVEDORE_RELEASE_ID"] == ("rel-0001", "PLAINTEXT")
    assert variables["STEVEDORE_STAGE"] == ("staging", "PLAINTEXT")  # the override wins
    assert variables["STEVEDORE_IMAGE_URI"][0].endswith("@sha256:" + "a" * 64)
    assert variables["DATABASE"] == ("app", "PLAINTEXT")  # the project's own stay
    logs = build["Logs"]
    assert logs["GroupName"] == f"/aws/codebuild/{project}" and logs["StreamName"] == build_uuid
    assert logs["DeepLink"] == DEEP_LINK.format(region=REGION, project=project, stream=build_uuid)
    assert [p["PhaseType"] for p in build["Phases"]][-1] == "COMPLETED"
    assert all(p["PhaseStatus"] == "SUCCEEDED" for p in build["Phases"][:-1])
    # epoch milliseconds, written as a float (AWS writes 1.6E12): readers must accept that
    assert isinstance(build["StartTime"], float) and build["EndTime"] >= build["StartTime"]
    # epoch milliseconds of this run (not seconds, not another clock)
    assert started - 1 <= build["StartTime"] / 1000 <= time.time() + 1

    listed = control.get(f"codebuild/builds?project={project}")
    assert [b["id"] for b in listed] == [build["Id"]]
    assert listed[0]["initiator"] == "states" and listed[0]["status"] == "SUCCEEDED"
    assert {o["name"]: o["value"] for o in listed[0]["env_overrides"]}["STEVEDORE_STAGE"] == "staging"
    calls = control.get("requests?caller=states&service=codebuild")
    ops = {c["operation"] for c in calls}
    assert {"StartBuild", "BatchGetBuilds"} <= ops and all(c["validated"] for c in calls)
    assert not control.get("requests/violations?caller=states&service=codebuild")


@pytest.mark.parametrize("status,phase_status", [("FAILED", "FAILED"), ("FAULT", "FAULT"),
                                                 ("TIMED_OUT", "TIMED_OUT")])
def test_failed_builds_fail_the_task_with_the_build_as_cause(aws, control, status, phase_status):
    project = _project(aws)
    control.post("codebuild/build-outcome", {"project": project, "status": status})
    sfn = aws("stepfunctions")
    caught = run_execution(sfn, {"StartAt": "Migrate", "States": {
        "Migrate": _migration_state({"Catch": [{"ErrorEquals": ["States.TaskFailed"],
                                                "ResultPath": "$.error", "Next": "Failed"}]}),
        "Failed": {"Type": "Pass", "End": True}}}, _input(project))
    assert caught["status"] == "SUCCEEDED", caught
    error = json.loads(caught["output"])["error"]
    assert error["Error"] == "States.TaskFailed"
    build = json.loads(error["Cause"])["Build"]
    assert build["BuildStatus"] == status and build["BuildComplete"] is True
    assert build["Id"].startswith(f"{project}:")
    assert build["Logs"]["DeepLink"] == DEEP_LINK.format(
        region=REGION, project=project, stream=build["Id"].split(":", 1)[1])
    failed = [p for p in build["Phases"] if p.get("PhaseStatus") not in (None, "SUCCEEDED")]
    assert [(p["PhaseType"], p["PhaseStatus"]) for p in failed] == [("BUILD", phase_status)]
    assert failed[0]["Contexts"][0]["Message"]
    assert _vars(build["Environment"])["STEVEDORE_RELEASE_ID"] == ("rel-0001", "PLAINTEXT")

    uncaught = run_execution(sfn, {"StartAt": "Migrate", "States": {"Migrate": _migration_state()}},
                             _input(project))
    assert uncaught["status"] == "FAILED"
    assert uncaught["error"] == "States.TaskFailed"
    assert json.loads(uncaught["cause"])["Build"]["BuildStatus"] == status
    history = sfn.get_execution_history(executionArn=uncaught["executionArn"])["events"]
    failed_event = [e for e in history if e["type"] == "TaskFailed"][0]["taskFailedEventDetails"]
    assert failed_event["resourceType"] == "codebuild"
    assert failed_event["resource"] == "startBuild.sync"


def test_hanging_build_times_out_then_stop_build_stops_it(aws, control):
    project = _project(aws)
    control.post("codebuild/build-outcome", {"project": project, "status": "HANG"})
    started = time.time()
    desc = run_execution(aws("stepfunctions"), {"StartAt": "Migrate", "States": {
        "Migrate": _migration_state({"Catch": [{"ErrorEquals": ["States.Timeout"],
                                                "ResultPath": "$.error", "Next": "TimedOut"}]}),
        "TimedOut": {"Type": "Pass", "End": True}}}, _input(project, timeout=2))
    assert desc["status"] == "SUCCEEDED", desc
    assert json.loads(desc["output"])["error"]["Error"] == "States.Timeout"
    assert time.time() - started >= 2  # the state's timeout, not an early stop

    codebuild = aws("codebuild")
    build_id = control.get(f"codebuild/builds?project={project}")[0]["id"]
    build = codebuild.batch_get_builds(ids=[build_id])["builds"][0]
    assert build["buildStatus"] == "IN_PROGRESS" and build["currentPhase"] == "BUILD"
    stopped = codebuild.stop_build(id=build_id)["build"]
    assert stopped["buildStatus"] == "STOPPED" and stopped["currentPhase"] == "COMPLETED"
    assert ("BUILD", "STOPPED") in [(p["phaseType"], p.get("phaseStatus")) for p in stopped["phases"]]
    time.sleep(0.3)
    again = codebuild.batch_get_builds(ids=[build_id, f"{project}:missing"])
    assert again["builds"][0]["buildStatus"] == "STOPPED"
    assert again["buildsNotFound"] == [f"{project}:missing"]
    assert codebuild.stop_build(id=build_id)["build"]["endTime"] == again["builds"][0]["endTime"]
    assert control.get(f"codebuild/builds?project={project}")[0]["status"] == "STOPPED"


def test_stopping_the_execution_stops_the_polling(aws, control):
    project = _project(aws)
    control.post("codebuild/build-outcome", {"project": project, "status": "HANG"})
    sfn = aws("stepfunctions")
    sm = sfn.create_state_machine(
        name=f"hang-{uuid.uuid4().hex[:6]}", roleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
        definition=json.dumps({"StartAt": "Migrate", "States": {"Migrate": _migration_state()}}))
    arn = sfn.start_execution(stateMachineArn=sm["stateMachineArn"],
                              input=json.dumps(_input(project)))["executionArn"]
    wait_for(lambda: control.get(f"codebuild/builds?project={project}"), what="build start")
    time.sleep(1.2)
    sfn.stop_execution(executionArn=arn)

    def polls() -> int:
        return len([c for c in control.get("requests?caller=states&operation=BatchGetBuilds")])

    time.sleep(1.0)
    before = polls()
    time.sleep(1.5)
    assert polls() == before
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"


def test_request_audit_validates_the_integration_requests(aws, control):
    project = _project(aws)
    state = _migration_state()
    state["Parameters"]["EnvironmentVariablesOverride"].append({"Name": "NO_VALUE"})
    desc = run_execution(aws("stepfunctions"), {"StartAt": "Migrate", "States": {"Migrate": state}},
                         _input(project))
    assert desc["status"] == "SUCCEEDED", desc  # moto accepts it; AWS would not
    problems = control.get("requests/violations?caller=states&operation=StartBuild")
    assert any(p["member"] == "environmentVariablesOverride[3].value" and p["service"] == "codebuild"
               for p in problems), problems
    control.post("requests/clear")  # other tests expect a session without states violations


def test_unknown_project_fails_with_the_codebuild_error(aws):
    desc = run_execution(aws("stepfunctions"), {"StartAt": "Migrate",
                                                "States": {"Migrate": _migration_state()}},
                         _input("no-such-project"))
    assert desc["status"] == "FAILED"
    assert desc["error"] == "CodeBuild.ResourceNotFoundException"
    assert "no-such-project" in desc["cause"] and "Service: AWSCodeBuild" in desc["cause"]


@pytest.mark.parametrize("resource", ["arn:aws:states:::codebuild:startBuild.sync:2",
                                      "arn:aws:states:::codebuild:startBuild.waitForTaskToken",
                                      "arn:aws:states:::codebuild:stopBuild.sync"])
def test_patterns_codebuild_does_not_support_are_rejected(aws, resource):
    sfn = aws("stepfunctions")
    definition = {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": resource,
                                                   "Parameters": {"ProjectName": "p"},
                                                   "End": True}}}
    # AWS answers InvalidDefinition; moto's parser errors carry no error code (not ours to fix here)
    with pytest.raises(ClientError) as err:
        sfn.create_state_machine(name=f"bad-{uuid.uuid4().hex[:6]}", definition=json.dumps(definition),
                                 roleArn=f"arn:aws:iam::{ACCOUNT}:role/r")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert f"The resource provided {resource} not recognized" in str(err.value)


def test_request_response_start_build_returns_the_started_build(aws):
    project = _project(aws, logsConfig={"cloudWatchLogs": {"status": "ENABLED",
                                                          "groupName": "/teams/db",
                                                          "streamName": "migrations"}})
    desc = run_execution(aws("stepfunctions"), {"StartAt": "B", "States": {"B": {
        "Type": "Task", "Resource": "arn:aws:states:::codebuild:startBuild",
        "Parameters": {"ProjectName": project, "BuildspecOverride": "version: 0.2"},
        "End": True}}})
    assert desc["status"] == "SUCCEEDED", desc
    build = json.loads(desc["output"])["Build"]
    assert build["BuildStatus"] == "IN_PROGRESS" and build["CurrentPhase"] == "QUEUED"
    assert build["Source"]["Buildspec"] == "version: 0.2"
    stream = "migrations/" + build["Id"].split(":", 1)[1]
    assert build["Logs"]["GroupName"] == "/teams/db" and build["Logs"]["StreamName"] == stream
    assert build["Logs"]["DeepLink"].endswith(
        "log-group/$252Fteams$252Fdb/log-events/" + stream.replace("/", "$252F"))


def _bad(control, body) -> str:
    with pytest.raises(urllib.error.HTTPError) as err:
        control.post("codebuild/build-outcome", body)
    assert err.value.code == 400
    return json.loads(err.value.read())["error"]


def test_build_outcome_control_validates_and_clears(aws, control):
    assert "'project'" in _bad(control, {"status": "FAILED"})
    assert "'project'" in _bad(control, {"project": "", "status": "FAILED"})
    assert "'status'" in _bad(control, {"project": "p"})
    assert "'status'" in _bad(control, {"project": "p", "status": "failed"})
    assert "'stauts'" in _bad(control, {"project": "p", "stauts": "FAILED"})
    assert "'clear'" in _bad(control, {"project": "p", "clear": "yes"})
    assert "not both" in _bad(control, {"project": "p", "status": "FAILED", "clear": True})

    project = _project(aws)
    arn = f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/{project}"
    assert control.post("codebuild/build-outcome", {"project": arn, "status": "FAILED"}) == \
        {"ok": True, "project": project, "status": "FAILED"}
    assert control.post("codebuild/build-outcome", {"project": project, "clear": True}) == \
        {"ok": True, "project": project, "status": "SUCCEEDED"}
    codebuild = aws("codebuild")
    build_id = codebuild.start_build(projectName=project)["build"]["id"]
    build = wait_for(lambda: (lambda b: b if b["buildStatus"] != "IN_PROGRESS" else None)(
        codebuild.batch_get_builds(ids=[build_id])["builds"][0]), timeout=10, what="build end")
    assert build["buildStatus"] == "SUCCEEDED"
    assert control.get(f"codebuild/builds?project={project}")[0]["initiator"] == "test"


def test_reset_forgets_outcomes_and_the_build_list(aws, control):
    project = _project(aws)
    control.post("codebuild/build-outcome", {"project": project, "status": "FAILED"})
    aws("codebuild").start_build(projectName=project)
    assert control.get(f"codebuild/builds?project={project}")
    control.post("reset")
    assert control.get(f"codebuild/builds?project={project}") == []
    build_id = aws("codebuild").start_build(projectName=project)["build"]["id"]
    assert control.get(f"codebuild/builds?project={project}")[0]["outcome"] == "SUCCEEDED"
    assert build_id.startswith(project)
