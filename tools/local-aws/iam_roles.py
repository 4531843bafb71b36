"""Each function's and state machine's IAM role as template.yaml deploys it, for the emulator's
IAM check (stevedore_local/iam_enforce.py).

The SAM template is translated with samtranslator (the same translation `sam deploy` runs:
policy templates such as DynamoDBCrudPolicy or LambdaInvokePolicy expanded, the generated
`<Function>Role` / `<StateMachine>Role` with its inline policies and managed policies), and
every intrinsic in the policies is resolved the way the bootstrap resolves them (cfn_template's
Resolver: Partition, Region, AccountId, parameters with their defaults or overrides,
Ref/GetAtt/Sub of the stack's resources). Nothing is kept by hand but the statements of the
AWS managed policies SAM attaches, listed below with their source.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from cfn_template import ACCOUNT_ID, BootstrapError, Resolver, load_template

# AWS managed policies SAM attaches to function roles, as AWS publishes them:
# https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaBasicExecutionRole.html
# https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaDynamoDBExecutionRole.html
# (SAM attaches the latter to a function with a DynamoDB event.)
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": [{
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": "*"}],
    "AWSLambdaDynamoDBExecutionRole": [{
        "Effect": "Allow",
        "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                   "dynamodb:ListStreams", "logs:CreateLogGroup", "logs:CreateLogStream",
                   "logs:PutLogEvents"],
        "Resource": "*"}],
}


def translate(template: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """template.yaml as plain CloudFormation (code locations are placeholders)."""
    from samtranslator.translator.transform import transform

    sam = copy.deepcopy(template)
    for resource in sam["Resources"].values():
        props = resource.setdefault("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function":
            props["CodeUri"] = "s3://placeholder/code.zip"
        if resource.get("Type") == "AWS::Serverless::StateMachine" and "DefinitionUri" in props:
            props["Definition"] = json.loads((base_dir / props.pop("DefinitionUri")).read_text())
    ((sam.get("Globals") or {}).get("Function") or {}).pop("CodeUri", None)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return transform(sam, {}, None)


def _role_logical_id(ref: Any, what: str) -> str:
    if isinstance(ref, dict) and "Fn::GetAtt" in ref:
        att = ref["Fn::GetAtt"]
        logical_id, attr = att if isinstance(att, list) else att.split(".", 1)
        if attr == "Arn":
            return logical_id
    raise BootstrapError(f"{what}: role {ref!r} is not a role of this template (GetAtt <Role>.Arn)")


def _statements(resolver: Resolver, role_id: str, role: dict[str, Any]) -> list[dict[str, Any]]:
    props = role.get("Properties") or {}
    out: list[dict[str, Any]] = []
    for policy in props.get("Policies") or []:
        document = resolver.resolve(policy.get("PolicyDocument") or {})
        statements = document.get("Statement") or []
        out += statements if isinstance(statements, list) else [statements]
    for arn in resolver.resolve(props.get("ManagedPolicyArns") or []):
        name = str(arn).rsplit("/", 1)[-1]
        if name not in MANAGED_POLICIES:
            raise BootstrapError(f"role {role_id}: managed policy {arn} is not known locally; "
                                 "add its statements to tools/local-aws/iam_roles.py")
        out += copy.deepcopy(MANAGED_POLICIES[name])
    return out


def role_arn(resolver: Resolver, translated: dict[str, Any], role_id: str) -> str:
    props = translated["Resources"][role_id].get("Properties") or {}
    name = resolver.resolve(props.get("RoleName")) or f"{resolver.stack}-{role_id}"
    return f"arn:{resolver.ref('AWS::Partition')}:iam::{ACCOUNT_ID}:role/{name}"


def roles(template_path: Path, stack: str, region: str,
          parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """{"functions": {binary: role}, "state_machines": {ARN: role}, "roles": {ARN: role}}, a
    role being {"role_arn", "statements", "trust"}: what ``POST /_stevedore/iam/roles`` takes."""
    template = load_template(template_path)
    resolver = Resolver(template, stack, region, parameters)
    translated = translate(template, template_path.parent)
    resources = translated["Resources"]

    def role(role_id: str, what: str) -> dict[str, Any]:
        if resources.get(role_id, {}).get("Type") != "AWS::IAM::Role":
            raise BootstrapError(f"{what}: {role_id} is not an AWS::IAM::Role of the template")
        return {"role_arn": role_arn(resolver, translated, role_id),
                "statements": _statements(resolver, role_id, resources[role_id]),
                "trust": resolver.resolve((resources[role_id].get("Properties") or {})
                                          .get("AssumeRolePolicyDocument") or {})}

    out: dict[str, Any] = {"partition": resolver.ref("AWS::Partition"), "functions": {},
                           "state_machines": {}, "roles": {}}
    for lid, res in resources.items():
        rtype, props = res.get("Type"), res.get("Properties") or {}
        if rtype == "AWS::Lambda::Function":
            binary = resolver.attributes(lid)["Ref"]
            out["functions"][binary] = role(_role_logical_id(props.get("Role"), lid), lid)
        elif rtype == "AWS::StepFunctions::StateMachine":
            arn = resolver.attributes(lid)["Arn"]
            out["state_machines"][arn] = role(_role_logical_id(props.get("RoleArn"), lid), lid)
        elif rtype == "AWS::IAM::Role":
            r = role(lid, lid)
            out["roles"][r["role_arn"]] = r
    return out
