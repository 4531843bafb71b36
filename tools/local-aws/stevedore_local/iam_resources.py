"""What IAM authorizes for one request: (action, resource ARN, condition keys), per operation.

Each operation the functions and the state machines call is mapped to the IAM action(s) the
Service Authorization Reference names for it, the resource type it takes and the condition
keys it carries. Operations not in ``MAPPERS`` are reported (``unmapped``), never allowed on a
guess. Sources (Service Authorization Reference, "Actions" and "Resource types" tables):
- ECS: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
  DescribeServices / UpdateService: ``service`` (ecs:cluster); RunTask: ``task-definition``
  (ecs:cluster, dependent iam:PassRole); StopTask / DescribeTasks: ``task`` (ecs:cluster);
  ListTasks: ``container-instance`` (ecs:cluster); RegisterTaskDefinition: ``task-definition``;
  DescribeTaskDefinition: no resource type ("*"); TagResource: ecs:CreateAction.
  Tagging at creation needs ecs:TagResource with ecs:CreateAction = the creating action:
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/supported-iam-actions-tagging.html
- DynamoDB: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
  (``table``, ``index`` for Query/Scan with IndexName). TransactWriteItems is no IAM action:
  each item needs PutItem / UpdateItem / DeleteItem / ConditionCheckItem on its table, and
  TransactGetItems GetItem:
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html
- Step Functions: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
  StartExecution: ``stateMachine``; DescribeExecution / StopExecution: ``execution``;
  SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat: no resource type, so only
  ``Resource: "*"`` can allow them.
- ECR: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html
- Secrets Manager: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html
  (GetSecretValue, the notify function's only: ``Secret``, like DescribeSecret).
- SNS: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsns.html
  (Publish: ``topic``; a Publish to a phone number names no topic: ``*``).
- SSM: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
  (DescribeParameters: no resource type).
- CodeBuild: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodebuild.html
  (StartBuild / StopBuild / BatchGetBuilds / ListBuildsForProject: ``project``).
- Lambda: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html
  (the Invoke operation is the lambda:InvokeFunction action on ``function``).
- EventBridge: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html
  (rule targets: iam_schedules.py)
- EventBridge Scheduler (schedules): iam_schedules.py
- Elastic Load Balancing V2 (target group reads): iam_elbv2.py
- iam:PassRole (``role``, iam:PassedToService), implied by any request that hands a role to a
  service: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html
"""

from __future__ import annotations

import re
from typing import Any

from .iam_ecs import (_ecs_deregister_task_definition, _ecs_describe_service_deployments,
                      _ecs_describe_services, _ecs_list_service_deployments, _ecs_list_services,
                      _ecs_list_tasks, _ecs_register_task_definition, _ecs_run_task, _ecs_tasks,
                      _ecs_update_service)
from .iam_policy import UNKNOWN
from .iam_request import (GLOBAL_KNOWN, Authorization, Lookup, Mapper, Where, _star, pass_role,
                          request_context)
from .iam_elbv2 import MAPPERS as ELBV2_MAPPERS
from .iam_schedules import MAPPERS as SCHEDULE_MAPPERS

__all__ = ["GLOBAL_KNOWN", "Authorization", "Lookup", "Where", "authorizations", "pass_role",
           "request_context", "expression_attributes"]
_ctx = request_context  # the name the mappers below use


# ------------------------------------------------------------------ DynamoDB
def _table(where: Where, name: str) -> str:
    return name if name.startswith("arn:") else where.arn("dynamodb", f"table/{name}")


_PATH = re.compile(r"(?<![:\w.#])(#?[A-Za-z_][A-Za-z0-9_]*)((?:\.#?[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*)(\s*\()?")
_EXPRESSION_WORDS = {"set", "remove", "add", "delete", "and", "or", "not", "between", "in"}


def expression_attributes(expression: str | None, names: dict[str, str]) -> set[str]:
    """Top-level attribute names an expression refers to (``#n`` resolved; functions, keywords
    and ``:values`` left out)."""
    out: set[str] = set()
    for match in _PATH.finditer(expression or ""):
        token, _path, call = match.groups()
        if call or token.lower() in _EXPRESSION_WORDS:
            continue
        out.add(names.get(token, token) if token.startswith("#") else token)
    return out


def _ddb_attributes(action: str, p: dict[str, Any]) -> Any:
    """dynamodb:Attributes of an item request: the key, the item's or projected attributes and
    every attribute its expressions name. Which of these AWS counts for UpdateItem is not
    documented beyond the key and the written ones, so the widest plausible set is used: a
    policy allowing it is right whatever the answer
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
    A read without ProjectionExpression asks for every attribute: unevaluable."""
    names = p.get("ExpressionAttributeNames") or {}
    attributes = set(p.get("Key") or {}) | set(p.get("Item") or {})
    for member in ("UpdateExpression", "ConditionExpression", "ProjectionExpression"):
        attributes |= expression_attributes(p.get(member), names)
    if action == "GetItem" and not p.get("ProjectionExpression"):
        return UNKNOWN
    return sorted(attributes)


def _ddb_item(action: str) -> Mapper:
    def mapper(where: Where, p: dict[str, Any], _l: Lookup) -> list[Authorization]:
        values = {"dynamodb:Attributes": _ddb_attributes(action, p)}
        if p.get("ReturnValues"):
            values["dynamodb:ReturnValues"] = p["ReturnValues"]
        return [Authorization(f"dynamodb:{action}", _table(where, p.get("TableName", "")),
                              _ctx(where, values, {"dynamodb:ReturnValues"}))]

    return mapper


def _ddb_query(action: str) -> Mapper:
    def mapper(where: Where, p: dict[str, Any], _l: Lookup) -> list[Authorization]:
        table = _table(where, p.get("TableName", ""))
        resource = f"{table}/index/{p['IndexName']}" if p.get("IndexName") else table
        return [Authorization(f"dynamodb:{action}", resource, _ctx(where))]

    return mapper


TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def _ddb_transact(where: Where, p: dict[str, Any], _l: Lookup) -> list[Authorization]:
    out = []
    for item in p.get("TransactItems") or []:
        for kind, body in item.items():
            action = TRANSACT_ACTIONS.get(kind)
            if action:
                out.append(Authorization(f"dynamodb:{action}", _table(where, body.get("TableName", "")),
                                         _ctx(where, {"dynamodb:EnclosingOperation": "TransactWriteItems"
                                                      if kind != "Get" else "TransactGetItems"})))
    return out


def _ddb_batch(action: str) -> Mapper:
    def mapper(where: Where, p: dict[str, Any], _l: Lookup) -> list[Authorization]:
        return [Authorization(f"dynamodb:{action}", _table(where, t), _ctx(where))
                for t in (p.get("RequestItems") or {})]

    return mapper


# ------------------------------------------------------------------ Step Functions
def _sfn(action: str, member: str, kind: str) -> Mapper:
    def mapper(where: Where, p: dict[str, Any], _l: Lookup) -> list[Authorization]:
        value = p.get(member, "")
        resource = value if value.startswith("arn:") else where.arn("states", f"{kind}:{value}")
        return [Authorization(f"states:{action}", resource, _ctx(where))]

    return mapper


# ------------------------------------------------------------------ others
def _ecr_repository(action: str) -> Mapper:
    def mapper(where: Where, p: dict[str, Any], _l: Lookup) -> list[Authorization]:
        account = p.get("registryId") or where.account
        arn = f"arn:{where.partition}:ecr:{where.region}:{account}:repository/{p.get('repositoryName', '')}"
        return [Authorization(f"ecr:{action}", arn, _ctx(where))]

    return mapper


def _secret(action: str) -> Mapper:
    def mapper(where: Where, p: dict[str, Any], lookup: Lookup) -> list[Authorization]:
        secret_id = p.get("SecretId", "")
        arn = lookup.secret_arn(secret_id) or (
            secret_id if secret_id.startswith("arn:") else where.arn("secretsmanager", f"secret:{secret_id}"))
        return [Authorization(f"secretsmanager:{action}", arn,
                              _ctx(where, {"secretsmanager:SecretId": arn},
                                   {"aws:resourcetag/*", "secretsmanager:resourcetag/*"}))]

    return mapper


def _sns_publish(where: Where, p: dict[str, Any], _l: Lookup) -> list[Authorization]:
    return [Authorization("sns:Publish", p.get("TopicArn") or p.get("TargetArn") or "*",
                          _ctx(where))]


def _ssm_parameters(where: Where, p: dict[str, Any], _l: Lookup) -> list[Authorization]:
    return [Authorization("ssm:GetParameters", n if n.startswith("arn:")
                          else where.arn("ssm", f"parameter/{n.lstrip('/')}"), _ctx(where))
            for n in p.get("Names") or []]


def _codebuild_project_of_build(build_id: str) -> str:
    # Build ids are "<project>:<uuid>"; a build ARN ends in "build/<project>:<uuid>".
    return build_id.rsplit("build/", 1)[-1].split(":", 1)[0]


def _codebuild(action: str) -> Mapper:
    def mapper(where: Where, p: dict[str, Any], _l: Lookup) -> list[Authorization]:
        if "projectName" in p:
            projects = [p["projectName"]]
        elif "ids" in p:
            projects = sorted({_codebuild_project_of_build(i) for i in p["ids"]})
        else:
            projects = [_codebuild_project_of_build(p.get("id", ""))]
        out = [Authorization(f"codebuild:{action}", where.arn("codebuild", f"project/{name}"), _ctx(where))
               for name in projects]
        if p.get("serviceRoleOverride"):
            role = p["serviceRoleOverride"]
            if not role.startswith("arn:"):
                role = f"arn:{where.partition}:iam::{where.account}:role/{role}"
            out.append(pass_role(where, role, "codebuild.amazonaws.com"))
        return out

    return mapper


def _lambda_invoke(where: Where, p: dict[str, Any], _l: Lookup) -> list[Authorization]:
    name = p.get("FunctionName", "")
    arn = name if name.startswith("arn:") else where.arn("lambda", f"function:{name}")
    if p.get("Qualifier") and arn.count(":") == 6:
        arn = f"{arn}:{p['Qualifier']}"
    return [Authorization("lambda:InvokeFunction", arn, _ctx(where))]


def _events_put(where: Where, p: dict[str, Any], _l: Lookup) -> list[Authorization]:
    out = []
    for entry in p.get("Entries") or []:
        bus = entry.get("EventBusName") or "default"
        arn = bus if bus.startswith("arn:") else where.arn("events", f"event-bus/{bus}")
        out.append(Authorization("events:PutEvents", arn, _ctx(where, {
            "events:source": entry.get("Source", UNKNOWN),
            "events:detail-type": entry.get("DetailType", UNKNOWN)})))
    return out


MAPPERS: dict[tuple[str, str], Mapper] = {
    ("ecs", "DescribeServices"): _ecs_describe_services,
    ("ecs", "UpdateService"): _ecs_update_service,
    ("ecs", "RunTask"): _ecs_run_task,
    ("ecs", "StopTask"): _ecs_tasks("ecs:StopTask"),
    ("ecs", "DescribeTasks"): _ecs_tasks("ecs:DescribeTasks"),
    ("ecs", "ListTasks"): _ecs_list_tasks,
    ("ecs", "RegisterTaskDefinition"): _ecs_register_task_definition,
    ("ecs", "DescribeTaskDefinition"): _star("ecs:DescribeTaskDefinition"),
    ("ecs", "ListServiceDeployments"): _ecs_list_service_deployments,
    ("ecs", "DescribeServiceDeployments"): _ecs_describe_service_deployments,
    ("ecs", "ListServices"): _ecs_list_services,
    ("ecs", "ListTaskDefinitions"): _star("ecs:ListTaskDefinitions"),
    ("ecs", "ListClusters"): _star("ecs:ListClusters"),
    ("ecs", "DeregisterTaskDefinition"): _ecs_deregister_task_definition,
    ("dynamodb", "GetItem"): _ddb_item("GetItem"),
    ("dynamodb", "PutItem"): _ddb_item("PutItem"),
    ("dynamodb", "UpdateItem"): _ddb_item("UpdateItem"),
    ("dynamodb", "DeleteItem"): _ddb_item("DeleteItem"),
    ("dynamodb", "DescribeTable"): _ddb_query("DescribeTable"),
    ("dynamodb", "Query"): _ddb_query("Query"),
    ("dynamodb", "Scan"): _ddb_query("Scan"),
    ("dynamodb", "TransactWriteItems"): _ddb_transact,
    ("dynamodb", "TransactGetItems"): _ddb_transact,
    ("dynamodb", "BatchGetItem"): _ddb_batch("BatchGetItem"),
    ("dynamodb", "BatchWriteItem"): _ddb_batch("BatchWriteItem"),
    ("stepfunctions", "StartExecution"): _sfn("StartExecution", "stateMachineArn", "stateMachine"),
    ("stepfunctions", "DescribeExecution"): _sfn("DescribeExecution", "executionArn", "execution"),
    ("stepfunctions", "StopExecution"): _sfn("StopExecution", "executionArn", "execution"),
    ("stepfunctions", "SendTaskSuccess"): _star("states:SendTaskSuccess"),
    ("stepfunctions", "SendTaskFailure"): _star("states:SendTaskFailure"),
    ("stepfunctions", "SendTaskHeartbeat"): _star("states:SendTaskHeartbeat"),
    ("ecr", "DescribeImages"): _ecr_repository("DescribeImages"),
    ("ecr", "BatchGetImage"): _ecr_repository("BatchGetImage"),
    ("secretsmanager", "DescribeSecret"): _secret("DescribeSecret"),
    ("secretsmanager", "GetSecretValue"): _secret("GetSecretValue"),
    ("sns", "Publish"): _sns_publish,
    ("ssm", "DescribeParameters"): _star("ssm:DescribeParameters"),
    ("ssm", "GetParameters"): _ssm_parameters,
    ("codebuild", "StartBuild"): _codebuild("StartBuild"),
    ("codebuild", "StopBuild"): _codebuild("StopBuild"),
    ("codebuild", "BatchGetBuilds"): _codebuild("BatchGetBuilds"),
    ("codebuild", "ListBuildsForProject"): _codebuild("ListBuildsForProject"),
    ("lambda", "Invoke"): _lambda_invoke,
    ("events", "PutEvents"): _events_put,
    **SCHEDULE_MAPPERS,
    **ELBV2_MAPPERS,
}


def authorizations(service: str, operation: str, params: dict[str, Any],
                   where: Where, lookup: Lookup | None = None) -> list[Authorization] | None:
    """Every authorization the request needs, or None when the operation is not mapped."""
    mapper = MAPPERS.get((service, operation))
    if mapper is None:
        return None
    return mapper(where, params or {}, lookup or Lookup(where))
