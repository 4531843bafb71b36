"""IAM enforced by the emulator: a function's or a state machine's request outside its role is
answered AccessDeniedException and lands in the audit's violations (which the e2e audit,
tests/e2e/test_zz_audit.py, fails on); a request inside it passes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, run_execution

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bootstrap  # noqa: E402

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
STACK = "iamunit"


@pytest.fixture(scope="module")
def stack(emulator):
    """template.yaml bootstrapped once, told about one cluster only."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            region_name=REGION)
    return bootstrap.bootstrap(session, emulator.url, TEMPLATE, stack=STACK, parameters={
        "ClusterArns": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/iam-allowed"})


@pytest.fixture()
def roles(stack, control):
    """The template's roles loaded (as the bootstrap loads them); conftest unloads them after
    the test, so the other tests' hand-made state machines are not checked."""
    control.post("iam/roles", stack.roles)
    control.post("requests/clear")
    yield stack
    control.post("requests/clear")


def as_function(emulator, service: str, function: str):
    """A client whose requests carry the function's app id, as the Rust SDK's do in Lambda."""
    return boto3.client(service, endpoint_url=emulator.url, region_name=REGION,
                        aws_access_key_id="local", aws_secret_access_key="local",
                        config=Config(user_agent_appid=function, retries={"max_attempts": 1}))


def iam_violations(control, caller):
    return [v for v in control.get("requests/violations")
            if v.get("check") == "iam" and v["caller"] == caller]


def test_function_request_outside_its_role_is_denied_and_audited(emulator, control, roles):
    # render may describe services, never update them.
    ecs = as_function(emulator, "ecs", "render")
    with pytest.raises(ClientError) as err:
        ecs.update_service(cluster="iam-allowed", service="web", taskDefinition="web:1")
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "ecs:UpdateService" in err.value.response["Error"]["Message"]
    assert "assumed-role/iamunit-RenderFunctionRole/render" in err.value.response["Error"]["Message"]
    found = iam_violations(control, "render")
    assert [(v["kind"], v["operation"]) for v in found] == [("function", "UpdateService")]
    assert found[0]["problem"].startswith("AccessDenied: ecs:UpdateService on "
                                          f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/iam-allowed/web")


def test_cluster_outside_cluster_arns_is_denied(emulator, control, roles, aws):
    aws("ecs").create_cluster(clusterName="iam-allowed")
    aws("ecs").create_cluster(clusterName="iam-other")
    ecs = as_function(emulator, "ecs", "deploy")
    # Inside ClusterArns: allowed (moto answers; the service does not exist there).
    allowed = ecs.describe_services(cluster="iam-allowed", services=["web"])
    assert allowed["failures"][0]["reason"] == "MISSING"
    # Outside ClusterArns: changing anything is denied...
    with pytest.raises(ClientError) as err:
        ecs.update_service(cluster="iam-other", service="web", desiredCount=1)
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert [v["operation"] for v in iam_violations(control, "deploy")] == ["UpdateService"]
    # ...while revision retention may read every cluster of the account (what any of them
    # runs is kept), and nothing of another account.
    other = ecs.describe_services(cluster="iam-other", services=["web"])
    assert other["failures"][0]["reason"] == "MISSING"
    assert "iam-other" in " ".join(ecs.list_clusters()["clusterArns"])
    with pytest.raises(ClientError) as err:
        ecs.list_services(cluster="arn:aws:ecs:us-east-1:210987654321:cluster/theirs")
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"


def test_dynamodb_table_outside_the_role_is_denied(emulator, control, roles, aws):
    aws("dynamodb").create_table(TableName="someone-elses", BillingMode="PAY_PER_REQUEST",
                                 KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
                                 AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}])
    ddb = as_function(emulator, "dynamodb", "record")
    table = roles.tables["ReleaseTable"]
    assert "Item" not in ddb.get_item(TableName=table, Key={"PK": {"S": "x"}, "SK": {"S": "y"}})
    with pytest.raises(ClientError) as err:
        ddb.get_item(TableName="someone-elses", Key={"PK": {"S": "x"}})
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert len(iam_violations(control, "record")) == 1


def test_pass_role_needs_the_ecs_tasks_service_and_the_name_pattern(emulator, control, roles):
    ecs = as_function(emulator, "ecs", "render")
    container = [{"name": "app", "image": "nginx", "memory": 128}]
    ecs.register_task_definition(family="iam-web", containerDefinitions=container,
                                 taskRoleArn=f"arn:aws:iam::{ACCOUNT}:role/app-task")
    assert iam_violations(control, "render") == []
    # deploy may pass only the lifecycle hook's role, and only to ECS itself.
    deploy = as_function(emulator, "ecs", "deploy")
    with pytest.raises(ClientError) as err:
        deploy.update_service(cluster="iam-allowed", service="web", deploymentConfiguration={
            "lifecycleHooks": [{"hookTargetArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:x",
                                "roleArn": f"arn:aws:iam::{ACCOUNT}:role/not-the-hook-role",
                                "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}]})
    assert "iam:PassRole" in err.value.response["Error"]["Message"]


def test_state_machine_integration_outside_its_role_fails_the_state(emulator, control, aws, roles):
    # A state machine checked against a role that may invoke only "echo".
    arn_prefix = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:"
    view = control.get("iam/roles")
    narrowed = {"role_arn": f"arn:aws:iam::{ACCOUNT}:role/narrow", "statements": [
        {"Effect": "Allow", "Action": "lambda:InvokeFunction",
         "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:echo"}]}
    control.post("iam/roles", {"functions": view["functions"], "state_machines": {
        **view["state_machines"], f"{arn_prefix}iam-narrow": narrowed}})
    definition = {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:boom", "Payload": {}},
        "End": True}}}
    out = run_execution(aws("stepfunctions"), definition, name="iam-narrow")
    assert out["status"] == "FAILED"
    history = aws("stepfunctions").get_execution_history(executionArn=out["executionArn"])["events"]
    failed = [e for e in history if e["type"] == "TaskFailed"]
    assert failed and failed[0]["taskFailedEventDetails"]["error"] == "Lambda.AccessDeniedException"
    found = iam_violations(control, "states")
    assert [(v["operation"], v["problem"].split(" on ")[0]) for v in found] == [
        ("Invoke", "AccessDenied: lambda:InvokeFunction")]


def test_bootstrapped_state_machines_run_with_their_own_roles(control, roles):
    view = control.get("iam/roles")
    deploy = view["state_machines"][roles.state_machines["DeployStateMachine"]]
    assert deploy["role_arn"] == f"arn:aws:iam::{ACCOUNT}:role/{STACK}-DeployStateMachineRole"
    assert any("lambda:InvokeFunction" in json.dumps(s) for s in deploy["statements"])
    assert set(view["functions"]) == set(roles.functions.values())


def test_ecs_may_use_the_hook_role_only_for_the_hook_and_this_account(roles, control):
    from stevedore_local import iam_enforce, iam_resources

    hook_role = f"arn:aws:iam::{ACCOUNT}:role/{STACK}-DeploymentHookInvokeRole"
    hook = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:deployment-hook"
    service = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/iam-allowed/web"
    assert iam_enforce.service_role_refusal("ecs", hook_role, "ecs.amazonaws.com",
                                            "lambda:InvokeFunction", hook, service) is None
    refusal = iam_enforce.service_role_refusal("ecs", hook_role, "ecs.amazonaws.com",
                                               "lambda:InvokeFunction", hook.replace("deployment-hook", "render"),
                                               service)
    assert refusal and "does not allow lambda:InvokeFunction" in refusal
    assert [v["kind"] for v in control.get("requests/violations")] == ["service"]
    # The trust policy: ECS, and only on behalf of this account.
    trust = control.get("iam/roles")["roles"][hook_role]["trust"]
    where = iam_resources.Where("aws", REGION, ACCOUNT)
    ours = iam_resources.request_context(where, {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": service})
    theirs = iam_resources.request_context(where, {"aws:SourceAccount": "999999999999", "aws:SourceArn": service})
    assert iam_enforce._trusts(trust, "ecs.amazonaws.com", ours, hook_role).allowed
    assert not iam_enforce._trusts(trust, "ecs.amazonaws.com", theirs, hook_role).allowed
    assert not iam_enforce._trusts(trust, "lambda.amazonaws.com", ours, hook_role).allowed
    # Another team's role is not the template's: not checked here.
    assert iam_enforce.service_role_refusal("ecs", f"arn:aws:iam::{ACCOUNT}:role/theirs", "ecs.amazonaws.com",
                                            "lambda:InvokeFunction", hook, service) is None


# Actions whose Service Authorization Reference entry lists no resource type: the only ones a
# role of the template may grant on Resource "*" (ListTasks: its container-instance resource is
# absent from a request naming none; narrowed by ecs:cluster). Pages: list_amazonelasticcontainerservice,
# list_awssystemsmanager, list_awsstepfunctions, list_amazoncloudwatchlogs.
STAR_ONLY_ACTIONS = {
    "ecs:describetaskdefinition", "ecs:listtasks", "ssm:describeparameters",
    # Revision retention: listing a cluster's services (narrowed by ecs:cluster) and a family's revisions.
    "ecs:listservices", "ecs:listtaskdefinitions",
    # Not settled in the reference we could read: "*" is right whether or not it has a
    # resource type (a task-definition ARN would deny it if it has none).
    "ecs:deregistertaskdefinition",
    # Revision retention scans every cluster, schedule and rule of the account: whether these
    # listings take a resource type is not settled in what we could read either; "*" is right
    # both ways.
    "ecs:listclusters", "scheduler:listschedules", "events:listeventbuses", "events:listrules",
    "states:sendtasksuccess", "states:sendtaskfailure", "states:sendtaskheartbeat",
    "logs:createlogdelivery", "logs:getlogdelivery", "logs:updatelogdelivery",
    "logs:deletelogdelivery", "logs:listlogdeliveries", "logs:putresourcepolicy",
    "logs:describeresourcepolicies", "logs:describeloggroups",
    # AWSLambdaBasicExecutionRole, the AWS managed policy SAM attaches.
    "logs:createloggroup", "logs:createlogstream", "logs:putlogevents",
    # The rollout prediction's target group reads: Elastic Load Balancing V2's Describe
    # actions list no resource type (list_awselasticloadbalancingv2).
    "elasticloadbalancing:describetargetgroups", "elasticloadbalancing:describetargetgroupattributes",
}


def test_template_grants_star_only_where_aws_has_no_resource_level_permission():
    import iam_roles

    roles = iam_roles.roles(TEMPLATE, "lint", REGION)
    offenders = []
    for who, role in [*roles["functions"].items(), *roles["state_machines"].items()]:
        for stmt in role["statements"]:
            resources = stmt["Resource"] if isinstance(stmt["Resource"], list) else [stmt["Resource"]]
            actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
            if "*" in resources:
                offenders += [f"{who}: {a}" for a in actions if a.lower() not in STAR_ONLY_ACTIONS]
            if any(a.lower() in ("ecs:listtasks", "ecs:listservices") for a in actions):
                assert "ecs:cluster" in json.dumps(stmt.get("Condition")), f"{who}: {actions} unscoped"
    assert not offenders, f"Resource \"*\" for actions AWS can scope: {offenders}"


def test_target_group_reads_are_mapped_and_only_deploy_may_make_them(emulator, control, roles, aws):
    # The rollout prediction's reads: allowed to deploy ("*": no resource type), denied to
    # a function whose role does not grant them, never left unmapped.
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    group = aws("elbv2").create_target_group(Name="iam-tg", Protocol="HTTP", Port=80, VpcId=vpc,
                                             TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    deploy = as_function(emulator, "elbv2", "deploy")
    assert deploy.describe_target_groups(TargetGroupArns=[group])["TargetGroups"][0]["TargetGroupArn"] == group
    keys = {a["Key"] for a in deploy.describe_target_group_attributes(TargetGroupArn=group)["Attributes"]}
    assert "deregistration_delay.timeout_seconds" in keys
    assert iam_violations(control, "deploy") == []
    with pytest.raises(ClientError) as err:
        as_function(emulator, "elbv2", "render").describe_target_groups(TargetGroupArns=[group])
    assert "elasticloadbalancing:DescribeTargetGroups" in err.value.response["Error"]["Message"]
    assert [v["operation"] for v in iam_violations(control, "render")] == ["DescribeTargetGroups"]
    assert not [r for r in control.get("requests/violations") if r.get("check") == "unmapped"]
