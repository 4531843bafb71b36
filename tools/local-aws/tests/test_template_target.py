"""template-target.yaml (the workload account's role and forwarding rules) as the local
template reader resolves it, checked against template.yaml: the rules forward exactly what the
tools stack's functions listen to, and the role trusts exactly the roles it is given."""

from __future__ import annotations

from pathlib import Path

from cfn_template import Resolver, load_template

REPO = Path(__file__).resolve().parents[3]
TOOLS_ACCOUNT = "123456789012"
TRUSTED = [
    f"arn:aws:iam::{TOOLS_ACCOUNT}:role/stevedore-RenderFunctionRole",
    f"arn:aws:iam::{TOOLS_ACCOUNT}:role/stevedore-DeployStateMachineRole",
]


def resolved(hook: str = "") -> dict:
    template = load_template(REPO / "template-target.yaml")
    resolver = Resolver(template, "stevedore-target", "eu-west-1", {
        "ToolsAccountId": TOOLS_ACCOUNT,
        "ToolsRegion": "us-east-1",
        "TrustedRoleArns": TRUSTED,
        "HookFunctionArn": hook,
    })
    return {
        name: resolver.resolve(resource)
        for name, resource in template["Resources"].items()
        if "Condition" not in resource or resolver.condition(resource["Condition"])
    }


def tools_patterns() -> list[dict]:
    template = load_template(REPO / "template.yaml")
    functions = template["Resources"]
    return [
        functions["OnPushFunction"]["Properties"]["Events"]["EcrPush"]["Properties"]["Pattern"],
        functions["OnEcsEventFunction"]["Properties"]["Events"]["EcsDeploymentStateChange"]["Properties"]["Pattern"],
    ]


def test_rules_forward_what_the_tools_functions_listen_to_onto_the_tools_bus():
    resources = resolved()
    rules = [r for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    assert [r["Properties"]["EventPattern"] for r in rules] == tools_patterns()
    for rule in rules:
        (target,) = rule["Properties"]["Targets"]
        assert target["Arn"] == f"arn:aws:events:us-east-1:{TOOLS_ACCOUNT}:event-bus/default"
        assert target["RoleArn"].endswith("ForwardEventsRole")
    statement = resources["ForwardEventsRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement == [{"Effect": "Allow", "Action": "events:PutEvents",
                          "Resource": f"arn:aws:events:us-east-1:{TOOLS_ACCOUNT}:event-bus/default"}]


def test_the_target_role_trusts_only_the_given_roles_and_stays_in_its_account():
    role = resolved()["TargetRole"]["Properties"]
    assert role["RoleName"] == "stevedore-target"
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": TRUSTED}
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    for statement in statements:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for arn in resources:
            # "*" only for the actions without a resource type; every ARN is this account's.
            assert arn == "*" or f":{TOOLS_ACCOUNT}:" in arn or ":iam::" in arn, arn
    actions = {a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert {"ecs:UpdateService", "ecs:RegisterTaskDefinition", "ecs:RunTask",
            "secretsmanager:DescribeSecret", "iam:PassRole"} <= actions
    assert not any(a.startswith("secretsmanager:GetSecretValue") for a in actions)


def test_the_hook_role_exists_only_with_a_hook_function():
    assert "HookInvokeRole" not in resolved()
    hook = "arn:aws:lambda:us-east-1:123456789012:function:deployment-hook"
    role = resolved(hook)["HookInvokeRole"]["Properties"]
    assert role["RoleName"] == "stevedore-target-ecs-hook"
    assert role["Policies"][0]["PolicyDocument"]["Statement"][0]["Resource"] == hook


def test_the_migration_states_in_the_target_account_match_the_home_ones():
    """deploy.asl.json's `…InTarget` copies differ from the home states only by Credentials
    (and Comment): a change to one must reach the other."""
    import json

    states = json.loads((REPO / "statemachines" / "deploy.asl.json").read_text())["States"]
    copies = [name for name in states if name.endswith("InTarget")]
    assert copies, "no migration states with Credentials"
    for copy_name in copies:
        home = dict(states[copy_name[: -len("InTarget")]])
        target = json.loads(json.dumps(states[copy_name]).replace("InTarget\"", "\""))
        for key in ("Comment", "Credentials"):
            home.pop(key, None)
            credentials = target.pop(key, None)
        if target.get("Type") == "Task":
            assert credentials == {"RoleArn.$": "$.render.target.role_arn"}, copy_name
        assert target == home, copy_name
