"""The local stack is derived from template.yaml: check what the bootstrap creates, and that
a template it cannot resolve fails loudly instead of producing a half-working stack.

Runs against plain moto in-process (the bootstrap needs none of the emulator's patches).
"""

from __future__ import annotations

import json
import shutil
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import bootstrap  # noqa: E402
from cfn_template import BootstrapError, Resolver, load_template  # noqa: E402

REPO = HERE.parents[2]
TEMPLATE = REPO / "template.yaml"


@pytest.fixture()
def moto_url(emulator):
    """The session's emulator: the bootstrap also passes template settings the emulator acts
    out itself (reserved concurrency) through its control API. Stack names keep tests apart."""
    return emulator.url


@pytest.fixture()
def session():
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                         region_name="us-east-1")


def copy_stack(tmp_path: Path) -> Path:
    """A private copy of template.yaml and statemachines/ that a test may break."""
    shutil.copy(TEMPLATE, tmp_path / "template.yaml")
    shutil.copytree(REPO / "statemachines", tmp_path / "statemachines")
    return tmp_path / "template.yaml"


def test_short_tags_become_long_form(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n"
        "  A:\n"
        "    Type: X\n"
        "    Properties:\n"
        "      R: !Ref B\n"
        "      G: !GetAtt B.Arn\n"
        "      S: !Sub 'arn:${AWS::Partition}:x'\n"
        "      J: !Join [',', [a, !Ref B]]\n"
    )
    props = load_template(path)["Resources"]["A"]["Properties"]
    assert props == {
        "R": {"Ref": "B"},
        "G": {"Fn::GetAtt": ["B", "Arn"]},
        "S": {"Fn::Sub": "arn:${AWS::Partition}:x"},
        "J": {"Fn::Join": [",", ["a", {"Ref": "B"}]]},
    }


def test_every_state_machine_substitution_resolves():
    definitions = bootstrap.check_substitutions(TEMPLATE)
    assert definitions, "template.yaml defines no state machine"
    for logical_id, text in definitions.items():
        assert "${" not in text, logical_id
        json.loads(text)


def test_every_state_machine_file_is_used():
    assert bootstrap.unused_definition_files(TEMPLATE) == []


def test_bootstrap_creates_the_template_resources(moto_url, session):
    from stevedore_local import lambda_bridge

    res = bootstrap.bootstrap(session, moto_url, TEMPLATE, stack="unit")
    template = load_template(TEMPLATE)
    kinds = {lid: r["Type"] for lid, r in template["Resources"].items()}
    # No function is limited to one invocation at a time: order comes from the table.
    assert "on-push" not in lambda_bridge._serial_queues
    # Asynchronous invocations are retried and kept as the template's EventInvokeConfig says.
    failures = f"arn:aws:sqs:{bootstrap.DEFAULT_REGION}:{bootstrap.ACCOUNT_ID}:unit-AsyncInvokeFailureQueue"
    for binary in ("on-push", "on-ecs-event", "record"):
        assert lambda_bridge._event_invoke_configs[binary] == {"retries": 2, "on_failure": failures}
    # The queues exist.
    sqs = session.client("sqs", endpoint_url=moto_url)
    for lid, name in res.queues.items():
        assert sqs.get_queue_url(QueueName=name)["QueueUrl"].endswith(f"/{name}")
    assert set(res.queues) == {k for k, t in kinds.items() if t == "AWS::SQS::Queue"}

    # Tables: key schema and GSIs exactly as the template says, on-demand.
    ddb = session.client("dynamodb", endpoint_url=moto_url)
    for lid, name in res.tables.items():
        want = template["Resources"][lid]["Properties"]
        table = ddb.describe_table(TableName=name)["Table"]
        assert name == f"unit-{lid}"
        assert table["KeySchema"] == want["KeySchema"]
        assert {d["AttributeName"] for d in table["AttributeDefinitions"]} == \
            {d["AttributeName"] for d in want["AttributeDefinitions"]}
        assert sorted(i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])) == \
            sorted(i["IndexName"] for i in want.get("GlobalSecondaryIndexes", []))
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert set(res.tables) == {k for k, t in kinds.items() if t == "AWS::DynamoDB::Table"}

    # Functions are named by their cargo binary.
    for lid, binary in res.functions.items():
        assert binary == template["Resources"][lid]["Metadata"]["BuildProperties"]["Binary"]

    # State machines: substituted definitions that point at the functions' ARNs.
    sfn = session.client("stepfunctions", endpoint_url=moto_url)
    for lid, arn in res.state_machines.items():
        definition = sfn.describe_state_machine(stateMachineArn=arn)["definition"]
        assert "${" not in definition
        subs = template["Resources"][lid]["Properties"].get("DefinitionSubstitutions", {})
        for value in subs.values():
            if "Fn::GetAtt" in value:
                target = value["Fn::GetAtt"][0]
                if kinds[target] == "AWS::Serverless::Function":
                    assert f"function:{res.functions[target]}" in definition

    # Rules: one per EventBridgeRule / Schedule event, same pattern or schedule (references
    # resolved), the function as target, with its retry policy and dead-letter queue.
    events = session.client("events", endpoint_url=moto_url)
    resolver = bootstrap.Resolver(template, "unit", bootstrap.DEFAULT_REGION)
    expected = {}
    for lid, r in template["Resources"].items():
        for name, ev in (r.get("Properties") or {}).get("Events", {}).items():
            if ev["Type"] in ("EventBridgeRule", "CloudWatchEvent", "Schedule"):
                expected[f"unit-{lid}-{name}"] = (resolver.resolve(ev["Properties"]), lid)
    assert expected, "expected at least the ECR push rule"
    for rule_name, (props, lid) in expected.items():
        rule = events.describe_rule(Name=rule_name)
        if "Schedule" in props:
            assert rule["ScheduleExpression"] == props["Schedule"]
        else:
            assert json.loads(rule["EventPattern"]) == props["Pattern"]
        assert rule["State"] == "ENABLED"
        targets = events.list_targets_by_rule(Rule=rule_name)["Targets"]
        assert [t["Arn"] for t in targets] == [
            f"arn:aws:lambda:us-east-1:123456789012:function:{res.functions[lid]}"]
        assert targets[0]["DeadLetterConfig"] == props["DeadLetterConfig"]
        assert targets[0]["RetryPolicy"] == props["RetryPolicy"]

    # IAM: every function and state machine has its role from the template, loaded into the
    # emulator; each state machine was created with its own role.
    assert set(res.roles["functions"]) == set(res.functions.values())
    assert set(res.roles["state_machines"]) == set(res.state_machines.values())
    loaded = json.loads(urllib.request.urlopen(f"{moto_url}/_stevedore/iam/roles").read())
    assert loaded["loaded"] and set(loaded["functions"]) == set(res.functions.values())
    for lid, arn in res.state_machines.items():
        assert sfn.describe_state_machine(stateMachineArn=arn)["roleArn"] == \
            f"arn:aws:iam::{bootstrap.ACCOUNT_ID}:role/unit-{lid}Role"

    # One environment for all functions, references resolved.
    assert res.function_env["STEVEDORE_TABLE"] == res.tables["ReleaseTable"]
    assert res.function_env["DEPLOY_STATE_MACHINE_ARN"] == res.state_machines["DeployStateMachine"]
    assert all("${" not in v and not v.startswith("{") for v in res.function_env.values())


def test_the_stack_answers_describe_stacks_with_the_templates_outputs(moto_url, session):
    """`stevedore --stack NAME` reads the stack's outputs: the local stack is registered with
    CloudFormation under its name, with template.yaml's Outputs resolved to what was created."""
    res = bootstrap.bootstrap(session, moto_url, TEMPLATE, stack="outputs")
    cfn = session.client("cloudformation", endpoint_url=moto_url)
    [described] = cfn.describe_stacks(StackName="outputs")["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    assert set(outputs) == set(load_template(TEMPLATE)["Outputs"])
    assert outputs == res.outputs
    assert outputs["ReleaseTableName"] == res.tables["ReleaseTable"]
    for machine in ("Deploy", "Promote", "Approve", "Retry", "Rollback"):
        assert outputs[f"{machine}StateMachineArn"] == res.state_machines[f"{machine}StateMachine"]


def test_an_output_naming_a_missing_resource_fails_loudly():
    template = load_template(TEMPLATE)
    template["Outputs"]["Broken"] = {"Value": {"Ref": "NoSuchResource"}}
    resolver = Resolver(template, "broken", bootstrap.DEFAULT_REGION)
    with pytest.raises(BootstrapError, match="output Broken"):
        bootstrap.stack_outputs(template, resolver)


def test_placeholder_without_substitution_fails_loudly(tmp_path, moto_url, session):
    template_path = copy_stack(tmp_path)
    asl = tmp_path / "statemachines" / "deploy.asl.json"
    definition = json.loads(asl.read_text())
    first = definition["StartAt"]
    definition["States"][first]["Comment"] = "calls ${NotifyFunctionArn}"
    asl.write_text(json.dumps(definition))
    with pytest.raises(BootstrapError, match=r"DeployStateMachine.*\$\{NotifyFunctionArn\}"):
        bootstrap.bootstrap(session, moto_url, template_path, stack="broken")
    # Nothing was created: the check runs before any resource exists.
    ddb = session.client("dynamodb", endpoint_url=moto_url)
    assert [t for t in ddb.list_tables()["TableNames"] if t.startswith("broken-")] == []


def test_substitution_naming_a_missing_resource_fails_loudly(tmp_path):
    template_path = copy_stack(tmp_path)
    text = template_path.read_text()
    assert "!GetAtt RenderFunction.Arn" in text
    template_path.write_text(text.replace("!GetAtt RenderFunction.Arn", "!GetAtt RendrFunction.Arn", 1))
    with pytest.raises(BootstrapError, match=r"DeployStateMachine.*RenderFunctionArn.*RendrFunction"):
        bootstrap.check_substitutions(template_path)


def test_conflicting_function_environment_fails():
    # One `cargo lambda watch` serves every function, so two values for one variable
    # cannot both be honoured locally.
    template = load_template(TEMPLATE)
    functions = [r for r in template["Resources"].values()
                 if r["Type"] == "AWS::Serverless::Function"]
    for value, function in zip(("debug", "trace"), functions[:2]):
        function.setdefault("Properties", {}).setdefault("Environment", {}) \
            .setdefault("Variables", {})["LOCAL_CONFLICT"] = value
    resolver = Resolver(template, "unit", "us-east-1")
    with pytest.raises(BootstrapError, match="LOCAL_CONFLICT"):
        bootstrap.function_environment(template, resolver)
