"""ECS requests as IAM authorizes them (Service Authorization Reference,
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html):
DescribeServices / UpdateService: ``service`` (ecs:cluster); RunTask: ``task-definition``
(ecs:cluster, dependent iam:PassRole); StopTask / DescribeTasks: ``task`` (ecs:cluster);
ListTasks: ``container-instance`` (ecs:cluster); RegisterTaskDefinition and
DeregisterTaskDefinition: ``task-definition``; ListServices, ListTaskDefinitions and
ListClusters: none ("*"; ListClusters' is not settled in what we could read, and "*" is what
only a policy granting "*" allows, right either way);
ListServiceDeployments: ``service``; DescribeServiceDeployments: ``service-deployment``.
Tagging at creation needs ecs:TagResource with ecs:CreateAction = the creating action:
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/supported-iam-actions-tagging.html
"""

from __future__ import annotations

from typing import Any

from .iam_policy import RequestContext
from .iam_request import Authorization, Lookup, Where, pass_role, request_context

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


def _ecs_context(where: Where, cluster_arn: str, extra: dict[str, Any] | None = None) -> RequestContext:
    values = {"ecs:cluster": cluster_arn, **(extra or {})}
    # Keys the template does not use and the emulator does not derive stay unevaluable.
    return request_context(where, values, {"aws:requesttag/*", "aws:tagkeys"})


def _task_definition_arn(where: Where, value: str, lookup: Lookup) -> str:
    if value.startswith("arn:"):
        return value
    if ":" in value:
        return where.arn("ecs", f"task-definition/{value}")
    # A family alone: ECS resolves the latest ACTIVE revision before authorizing (RunTask API
    # reference, note of March 21, 2024).
    revision = lookup.latest_task_definition_revision(value)
    return where.arn("ecs", f"task-definition/{value}:{revision or '*'}")


def _ecs_describe_services(where: Where, p: dict[str, Any], _l: Lookup) -> list[Authorization]:
    cluster = _ecs_cluster(where, p.get("cluster"))
    return [Authorization("ecs:DescribeServices", _ecs_child(where, "service", cluster, s),
                          _ecs_context(where, cluster)) for s in p.get("services") or []]


def _ecs_update_service(where: Where, p: dict[str, Any], lookup: Lookup) -> list[Authorization]:
    cluster = _ecs_cluster(where, p.get("cluster"))
    extra: dict[str, Any] = {}
    if p.get("taskDefinition"):
        extra["ecs:task-definition"] = _task_definition_arn(where, p["taskDefinition"], lookup)
    out = [Authorization("ecs:UpdateService", _ecs_child(where, "service", cluster, p.get("service", "")),
                         _ecs_context(where, cluster, extra))]
    config = p.get("deploymentConfiguration") or {}
    for hook in config.get("lifecycleHooks") or []:
        if hook.get("roleArn"):
            out.append(pass_role(where, hook["roleArn"], ECS))
    for lb in p.get("loadBalancers") or []:
        role = (lb.get("advancedConfiguration") or {}).get("roleArn")
        if role:
            out.append(pass_role(where, role, ECS))
    return out


def _ecs_run_task(where: Where, p: dict[str, Any], lookup: Lookup) -> list[Authorization]:
    cluster = _ecs_cluster(where, p.get("cluster"))
    out = [Authorization("ecs:RunTask", _task_definition_arn(where, p.get("taskDefinition", ""), lookup),
                         _ecs_context(where, cluster))]
    overrides = p.get("overrides") or {}
    for key in ("taskRoleArn", "executionRoleArn"):
        if overrides.get(key):
            out.append(pass_role(where, overrides[key], ECS_TASKS))
    if p.get("tags"):
        out.append(_tag_on_create(where, "RunTask", where.arn("ecs", f"task/{_ecs_cluster_name(cluster)}/*"),
                                  p["tags"]))
    return out


def _ecs_tasks(action: str) -> Mapper:
    def mapper(where: Where, p: dict[str, Any], _l: Lookup) -> list[Authorization]:
        cluster = _ecs_cluster(where, p.get("cluster"))
        tasks = p.get("tasks") if "tasks" in p else [p.get("task", "")]
        return [Authorization(action, _ecs_child(where, "task", cluster, t), _ecs_context(where, cluster))
                for t in tasks or []]

    return mapper


def _ecs_list_tasks(where: Where, p: dict[str, Any], _l: Lookup) -> list[Authorization]:
    cluster = _ecs_cluster(where, p.get("cluster"))
    instance = p.get("containerInstance")
    # Resource type container-instance; a request naming none is authorized on "*" as far as
    # the reference tells, so only Resource "*" (with an ecs:cluster condition) allows it.
    resource = _ecs_child(where, "container-instance", cluster, instance) if instance else "*"
    return [Authorization("ecs:ListTasks", resource, _ecs_context(where, cluster))]


def _ecs_list_services(where: Where, p: dict[str, Any], _l: Lookup) -> list[Authorization]:
    # No resource type (Service Authorization Reference, list_amazonelasticcontainerservice.html):
    # "*", with the cluster as ecs:cluster.
    cluster = _ecs_cluster(where, p.get("cluster"))
    return [Authorization("ecs:ListServices", "*", _ecs_context(where, cluster))]


def _ecs_deregister_task_definition(where: Where, p: dict[str, Any], lookup: Lookup) -> list[Authorization]:
    # Resource type task-definition, like RegisterTaskDefinition's; the request names a revision.
    return [Authorization("ecs:DeregisterTaskDefinition",
                          _task_definition_arn(where, p.get("taskDefinition", ""), lookup),
                          request_context(where))]


def _tag_on_create(where: Where, create_action: str, resource: str, tags: list[dict[str, Any]]) -> Authorization:
    values = {"ecs:CreateAction": create_action,
              "aws:TagKeys": [t.get("key", "") for t in tags]}
    for t in tags:
        values[f"aws:RequestTag/{t.get('key', '')}"] = t.get("value", "")
    return Authorization("ecs:TagResource", resource,
                         request_context(where, values, {"aws:requesttag/*", "aws:resourcetag/*"}))


def _ecs_register_task_definition(where: Where, p: dict[str, Any], lookup: Lookup) -> list[Authorization]:
    family = p.get("family", "")
    revision = (lookup.latest_task_definition_revision(family) or 0) + 1
    arn = where.arn("ecs", f"task-definition/{family}:{revision}")
    tags = p.get("tags") or []
    values = {"aws:TagKeys": [t.get("key", "") for t in tags]}
    values.update({f"aws:RequestTag/{t.get('key', '')}": t.get("value", "") for t in tags})
    out = [Authorization("ecs:RegisterTaskDefinition", arn,
                         request_context(where, values, {"aws:requesttag/*"}))]
    for key in ("taskRoleArn", "executionRoleArn"):
        if p.get(key):
            out.append(pass_role(where, p[key], ECS_TASKS))
    if tags:
        out.append(_tag_on_create(where, "RegisterTaskDefinition", arn, tags))
    return out



def _ecs_list_service_deployments(where: Where, p: dict[str, Any], _l: Lookup) -> list[Authorization]:
    cluster = _ecs_cluster(where, p.get("cluster"))
    return [Authorization("ecs:ListServiceDeployments",
                          _ecs_child(where, "service", cluster, p.get("service", "")),
                          _ecs_context(where, cluster))]


def _ecs_describe_service_deployments(where: Where, p: dict[str, Any],
                                      _l: Lookup) -> list[Authorization]:
    out = []
    for arn in p.get("serviceDeploymentArns") or []:
        # arn:...:service-deployment/<cluster>/<service>/<id>
        parts = arn.split(":", 5)[-1].split("/")
        cluster = where.arn("ecs", f"cluster/{parts[1]}") if len(parts) == 4 else "*"
        out.append(Authorization("ecs:DescribeServiceDeployments", arn, _ecs_context(where, cluster)))
    return out
