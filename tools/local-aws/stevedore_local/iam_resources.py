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
- SSM: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
  (DescribeParameters: no resource type).
- CodeBuild: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodebuild.html
  (StartBuild / StopBuild / BatchGetBuilds / ListBuildsForProject: ``project``).
- Lambda: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html
  (the Invoke operation is the lambda:InvokeFunction action on ``function``).
- EventBridge: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html
- iam:PassRole (``role``, iam:PassedToService), implied by any request that hands a role to a
  service: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .iam_policy import UNKNOWN, RequestContext

# Global keys the emulator can tell for a function's or a state machine's own request. The
# request comes from the role itself, not from a service on someone's behalf, so
# aws:SourceAccount / aws:SourceArn are absent (they are set for service principals):
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
GLOBAL_KNOWN = {"aws:sourceaccount", "aws:sourcearn", "aws:calledvia", "aws:requestedregion",
                "aws:principalaccount", "aws:securetransport", "aws:principaltype"}


@dataclass
class Authorization:
    action: str
    resource: str
    context: RequestContext = field(default_factory=RequestContext)


@dataclass
class Where:
    partition: str
    region: str
    account: str

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account}:{resource}"


def _ctx(where: Where, values: dict[str, Any] | None = None, known: set[str] | None = None) -> RequestContext:
    vals = {"aws:requestedregion": where.region, "aws:principalaccount": where.account,
            "aws:principaltype": "AssumedRole", "aws:securetransport": "true"}
    vals.update({k.lower(): v for k, v in (values or {}).items()})
    return RequestContext(values=vals, known=GLOBAL_KNOWN | {k.lower() for k in (known or set())}
                          | set(vals))


def pass_role(where: Where, role_arn: str, service_principal: str) -> Authorization:
    return Authorization("iam:PassRole", role_arn,
                         _ctx(where, {"iam:PassedToService": service_principal},
                              {"iam:AssociatedResourceArn"}))


# ------------------------------------------------------------------ ECS
ECS_TASKS = "ecs-tasks.amazonaws.com"
ECS = "ecs.amazonaws.com"


def _ecs_cluster(where: Where, value: str | None) -> str:
    value = value or "default"  # the default cluster when none is named (API reference)
    return value if value.startswith("arn:") else where.arn("ecs", f"cluster/{value}")


def _ecs_cluster_name(cluster_arn: str) -> str:
    return cluster_arn.rsplit("/", 1)[-1]


def _ecs_child(where: Where, kind: str, cluster_arn: str, value: str) -> str:
    if value.startswith("arn:"):
        return value
    return where.arn("ecs", f"{kind}/{_ecs_cluster_name(cluster_arn)}/{value}")


def _ecs_ctx(where: Where, cluster_arn: str, extra: dict[str, Any] | None = None) -> RequestContext:
    values = {"ecs:cluster": cluster_arn, **(extra or {})}
    # Keys the template does not use and the emulator does not derive stay unevaluable.
    return _ctx(where, values, {"aws:requesttag/*", "aws:tagkeys"})


def _task_definition_arn(where: Where, value: str, lookup: "Lookup") -> str:
    if value.startswith("arn:"):
        return value
    if ":" in value:
        return where.arn("ecs", f"task-definition/{value}")
    # A family alone: ECS resolves the latest ACTIVE revision before authorizing (RunTask API
    # reference, note of March 21, 2024).
    revision = lookup.latest_task_definition_revision(value)
    return where.arn("ecs", f"task-definition/{value}:{revision or '*'}")


def _ecs_describe_services(where: Where, p: dict[str, Any], _l: "Lookup") -> list[Authorization]:
    cluster = _ecs_cluster(where, p.get("cluster"))
    return [Authorization("ecs:DescribeServices", _ecs_child(where, "service", cluster, s),
                          _ecs_ctx(where, cluster)) for s in p.get("services") or []]


def _ecs_update_service(where: Where, p: dict[str, Any], lookup: "Lookup") -> list[Authorization]:
    cluster = _ecs_cluster(where, p.get("cluster"))
    extra: dict[str, Any] = {}
    if p.get("taskDefinition"):
        extra["ecs:task-definition"] = _task_definition_arn(where, p["taskDefinition"], lookup)
    out = [Authorization("ecs:UpdateService", _ecs_child(where, "service", cluster, p.get("service", "")),
                         _ecs_ctx(where, cluster, extra))]
    config = p.get("deploymentConfiguration") or {}
    for hook in config.get("lifecycleHooks") or []:
        if hook.get("roleArn"):
            out.append(pass_role(where, hook["roleArn"], ECS))
    for lb in p.get("loadBalancers") or []:
        role = (lb.get("advancedConfiguration") or {}).get("roleArn")
        if role:
            out.append(pass_role(where, role, ECS))
    return out


def _ecs_run_task(where: Where, p: dict[str, Any], lookup: "Lookup") -> list[Authorization]:
    cluster = _ecs_cluster(where, p.get("cluster"))
    out = [Authorization("ecs:RunTask", _task_definition_arn(where, p.get("taskDefinition", ""), lookup),
                         _ecs_ctx(where, cluster))]
    overrides = p.get("overrides") or {}
    for key in ("taskRoleArn", "executionRoleArn"):
        if overrides.get(key):
            out.append(pass_role(where, overrides[key], ECS_TASKS))
    if p.get("tags"):
        out.append(_tag_on_create(where, "RunTask", where.arn("ecs", f"task/{_ecs_cluster_name(cluster)}/*"),
                                  p["tags"]))
    return out


def _ecs_tasks(action: str) -> Callable[[Where, dict[str, Any], "Lookup"], list[Authorization]]:
    def mapper(where: Where, p: dict[str, Any], _l: "Lookup") -> list[Authorization]:
        cluster = _ecs_cluster(where, p.get("cluster"))
        tasks = p.get("tasks") if "tasks" in p else [p.get("task", "")]
        return [Authorization(action, _ecs_child(where, "task", cluster, t), _ecs_ctx(where, cluster))
                for t in tasks or []]

    return mapper


def _ecs_list_tasks(where: Where, p: dict[str, Any], _l: "Lookup") -> list[Authorization]:
    cluster = _ecs_cluster(where, p.get("cluster"))
    instance = p.get("containerInstance")
    # Resource type container-instance; a request naming none is authorized on "*" as far as
    # the reference tells, so only Resource "*" (with an ecs:cluster condition) allows it.
    resource = _ecs_child(where, "container-instance", cluster, instance) if instance else "*"
    return [Authorization("ecs:ListTasks", resource, _ecs_ctx(where, cluster))]


def _tag_on_create(where: Where, create_action: str, resource: str, tags: list[dict[str, Any]]) -> Authorization:
    values = {"ecs:CreateAction": create_action,
              "aws:TagKeys": [t.get("key", "") for t in tags]}
    for t in tags:
        values[f"aws:RequestTag/{t.get('key', '')}"] = t.get("value", "")
    return Authorization("ecs:TagResource", resource,
                         _ctx(where, values, {"aws:requesttag/*", "aws:resourcetag/*"}))


def _ecs_register_task_definition(where: Where, p: dict[str, Any], lookup: "Lookup") -> list[Authorization]:
    family = p.get("family", "")
    revision = (lookup.latest_task_definition_revision(family) or 0) + 1
    arn = where.arn("ecs", f"task-definition/{family}:{revision}")
    tags = p.get("tags") or []
    values = {"aws:TagKeys": [t.get("key", "") for t in tags]}
    values.update({f"aws:RequestTag/{t.get('key', '')}": t.get("value", "") for t in tags})
    out = [Authorization("ecs:RegisterTaskDefinition", arn,
                         _ctx(where, values, {"aws:requesttag/*"}))]
    for key in ("taskRoleArn", "executionRoleArn"):
        if p.get(key):
            out.append(pass_role(where, p[key], ECS_TASKS))
    if tags:
        out.append(_tag_on_create(where, "RegisterTaskDefinition", arn, tags))
    return out


def _star(action: str) -> Callable[[Where, dict[str, Any], "Lookup"], list[Authorization]]:
    def mapper(where: Where, _p: dict[str, Any], _l: "Lookup") -> list[Authorization]:
        return [Authorization(action, "*", _ctx(where))]

    return mapper


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


def _ddb_item(action: str) -> Callable[[Where, dict[str, Any], "Lookup"], list[Authorization]]:
    def mapper(where: Where, p: dict[str, Any], _l: "Lookup") -> list[Authorization]:
        values = {"dynamodb:Attributes": _ddb_attributes(action, p)}
        if p.get("ReturnValues"):
            values["dynamodb:ReturnValues"] = p["ReturnValues"]
        return [Authorization(f"dynamodb:{action}", _table(where, p.get("TableName", "")),
                              _ctx(where, values, {"dynamodb:ReturnValues"}))]

    return mapper


def _ddb_query(action: str) -> Callable[[Where, dict[str, Any], "Lookup"], list[Authorization]]:
    def mapper(where: Where, p: dict[str, Any], _l: "Lookup") -> list[Authorization]:
        table = _table(where, p.get("TableName", ""))
        resource = f"{table}/index/{p['IndexName']}" if p.get("IndexName") else table
        return [Authorization(f"dynamodb:{action}", resource, _ctx(where))]

    return mapper


TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def _ddb_transact(where: Where, p: dict[str, Any], _l: "Lookup") -> list[Authorization]:
    out = []
    for item in p.get("TransactItems") or []:
        for kind, body in item.items():
            action = TRANSACT_ACTIONS.get(kind)
            if action:
                out.append(Authorization(f"dynamodb:{action}", _table(where, body.get("TableName", "")),
                                         _ctx(where, {"dynamodb:EnclosingOperation": "TransactWriteItems"
                                                      if kind != "Get" else "TransactGetItems"})))
    return out


def _ddb_batch(action: str) -> Callable[[Where, dict[str, Any], "Lookup"], list[Authorization]]:
    def mapper(where: Where, p: dict[str, Any], _l: "Lookup") -> list[Authorization]:
        return [Authorization(f"dynamodb:{action}", _table(where, t), _ctx(where))
                for t in (p.get("RequestItems") or {})]

    return mapper


# ------------------------------------------------------------------ Step Functions
def _sfn(action: str, member: str, kind: str) -> Callable[[Where, dict[str, Any], "Lookup"], list[Authorization]]:
    def mapper(where: Where, p: dict[str, Any], _l: "Lookup") -> list[Authorization]:
        value = p.get(member, "")
        resource = value if value.startswith("arn:") else where.arn("states", f"{kind}:{value}")
        return [Authorization(f"states:{action}", resource, _ctx(where))]

    return mapper


# ------------------------------------------------------------------ others
def _ecr_repository(action: str) -> Callable[[Where, dict[str, Any], "Lookup"], list[Authorization]]:
    def mapper(where: Where, p: dict[str, Any], _l: "Lookup") -> list[Authorization]:
        account = p.get("registryId") or where.account
        arn = f"arn:{where.partition}:ecr:{where.region}:{account}:repository/{p.get('repositoryName', '')}"
        return [Authorization(f"ecr:{action}", arn, _ctx(where))]

    return mapper


def _secret(action: str) -> Callable[[Where, dict[str, Any], "Lookup"], list[Authorization]]:
    def mapper(where: Where, p: dict[str, Any], lookup: "Lookup") -> list[Authorization]:
        secret_id = p.get("SecretId", "")
        arn = lookup.secret_arn(secret_id) or (
            secret_id if secret_id.startswith("arn:") else where.arn("secretsmanager", f"secret:{secret_id}"))
        return [Authorization(f"secretsmanager:{action}", arn,
                              _ctx(where, {"secretsmanager:SecretId": arn},
                                   {"aws:resourcetag/*", "secretsmanager:resourcetag/*"}))]

    return mapper


def _ssm_parameters(where: Where, p: dict[str, Any], _l: "Lookup") -> list[Authorization]:
    return [Authorization("ssm:GetParameters", n if n.startswith("arn:")
                          else where.arn("ssm", f"parameter/{n.lstrip('/')}"), _ctx(where))
            for n in p.get("Names") or []]


def _codebuild_project_of_build(build_id: str) -> str:
    # Build ids are "<project>:<uuid>"; a build ARN ends in "build/<project>:<uuid>".
    return build_id.rsplit("build/", 1)[-1].split(":", 1)[0]


def _codebuild(action: str) -> Callable[[Where, dict[str, Any], "Lookup"], list[Authorization]]:
    def mapper(where: Where, p: dict[str, Any], _l: "Lookup") -> list[Authorization]:
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


def _lambda_invoke(where: Where, p: dict[str, Any], _l: "Lookup") -> list[Authorization]:
    name = p.get("FunctionName", "")
    arn = name if name.startswith("arn:") else where.arn("lambda", f"function:{name}")
    if p.get("Qualifier") and arn.count(":") == 6:
        arn = f"{arn}:{p['Qualifier']}"
    return [Authorization("lambda:InvokeFunction", arn, _ctx(where))]


def _events_put(where: Where, p: dict[str, Any], _l: "Lookup") -> list[Authorization]:
    out = []
    for entry in p.get("Entries") or []:
        bus = entry.get("EventBusName") or "default"
        arn = bus if bus.startswith("arn:") else where.arn("events", f"event-bus/{bus}")
        out.append(Authorization("events:PutEvents", arn, _ctx(where, {
            "events:source": entry.get("Source", UNKNOWN),
            "events:detail-type": entry.get("DetailType", UNKNOWN)})))
    return out


MAPPERS: dict[tuple[str, str], Callable[[Where, dict[str, Any], "Lookup"], list[Authorization]]] = {
    ("ecs", "DescribeServices"): _ecs_describe_services,
    ("ecs", "UpdateService"): _ecs_update_service,
    ("ecs", "RunTask"): _ecs_run_task,
    ("ecs", "StopTask"): _ecs_tasks("ecs:StopTask"),
    ("ecs", "DescribeTasks"): _ecs_tasks("ecs:DescribeTasks"),
    ("ecs", "ListTasks"): _ecs_list_tasks,
    ("ecs", "RegisterTaskDefinition"): _ecs_register_task_definition,
    ("ecs", "DescribeTaskDefinition"): _star("ecs:DescribeTaskDefinition"),
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
    ("ssm", "DescribeParameters"): _star("ssm:DescribeParameters"),
    ("ssm", "GetParameters"): _ssm_parameters,
    ("codebuild", "StartBuild"): _codebuild("StartBuild"),
    ("codebuild", "StopBuild"): _codebuild("StopBuild"),
    ("codebuild", "BatchGetBuilds"): _codebuild("BatchGetBuilds"),
    ("codebuild", "ListBuildsForProject"): _codebuild("ListBuildsForProject"),
    ("lambda", "Invoke"): _lambda_invoke,
    ("events", "PutEvents"): _events_put,
}


class Lookup:
    """What authorization needs from the emulator's current state (moto's backends)."""

    def __init__(self, where: Where):
        self.where = where

    def latest_task_definition_revision(self, family: str) -> int | None:
        try:
            from moto.ecs.models import ecs_backends

            backend = ecs_backends[self.where.account][self.where.region]
            revisions = backend.task_definitions.get(family) or {}
            return max(revisions) if revisions else None
        except Exception:  # noqa: BLE001 - no backend state: the ARN stays a pattern
            return None

    def secret_arn(self, secret_id: str) -> str | None:
        try:
            from moto.secretsmanager.models import secretsmanager_backends

            backend = secretsmanager_backends[self.where.account][self.where.region]
            return backend.secrets[secret_id].arn if secret_id in backend.secrets else None
        except Exception:  # noqa: BLE001
            return None


def authorizations(service: str, operation: str, params: dict[str, Any],
                   where: Where, lookup: Lookup | None = None) -> list[Authorization] | None:
    """Every authorization the request needs, or None when the operation is not mapped."""
    mapper = MAPPERS.get((service, operation))
    if mapper is None:
        return None
    return mapper(where, params or {}, lookup or Lookup(where))
