"""INACTIVE task definition revisions (DeregisterTaskDefinition, API reference): no new
tasks, no new services, no service updated to one; services already running one keep it
and still scale."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError
from test_sfn_ecs import _cluster_and_family, net  # noqa: F401 (fixture)


def _network(net):
    return {"awsvpcConfiguration": {"subnets": [net["subnet"]], "securityGroups": [net["sg"]]}}


def _refused(call):
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidParameterException", error
    assert error["Message"] == "TaskDefinition is inactive", error


def test_inactive_revisions_start_nothing_new_but_keep_running(aws, net):
    ecs = aws("ecs")
    cluster, old = _cluster_and_family(aws, f"inactive-{uuid.uuid4().hex[:6]}")
    name = f"svc-{uuid.uuid4().hex[:6]}"
    ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=old, desiredCount=1,
                       launchType="FARGATE", networkConfiguration=_network(net))
    family = old.rsplit("/", 1)[-1].split(":")[0]
    described = ecs.describe_task_definition(taskDefinition=old)["taskDefinition"]
    new = ecs.register_task_definition(
        family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=described["containerDefinitions"],
    )["taskDefinition"]["taskDefinitionArn"]

    ecs.deregister_task_definition(taskDefinition=old)
    assert ecs.describe_task_definition(taskDefinition=old)["taskDefinition"]["status"] == "INACTIVE"

    _refused(lambda: ecs.run_task(cluster=cluster, taskDefinition=old, launchType="FARGATE",
                                  networkConfiguration=_network(net)))
    _refused(lambda: ecs.create_service(cluster=cluster, serviceName=f"{name}-2", taskDefinition=old,
                                        desiredCount=1, launchType="FARGATE",
                                        networkConfiguration=_network(net)))
    # The service already on it keeps it and still scales; it may move to an ACTIVE one.
    scaled = ecs.update_service(cluster=cluster, service=name, desiredCount=2)["service"]
    assert scaled["taskDefinition"] == old and scaled["desiredCount"] == 2
    moved = ecs.update_service(cluster=cluster, service=name, taskDefinition=new)["service"]
    assert moved["taskDefinition"] == new
    # ...but never back to the INACTIVE one.
    _refused(lambda: ecs.update_service(cluster=cluster, service=name, taskDefinition=old))
    assert ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"] == [new]
