"""The example app with a stage in the workload account (target_account.WORKLOAD_ACCOUNT): its
repository, network, cluster, secret, task definition and service live there, as a team's
production would; Stevedore (the tools account) deploys it through the `stevedore-target` role.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from example_app import (EXAMPLE_TASKDEF, INITIAL_TAG, REGION, SEEDED_SECRET_VALUES, ensure_network,
                         plain_secret_value)
from stack import MANIFEST_MEDIA_TYPE, LocalStack, manifest_for
from target_account import WORKLOAD_ACCOUNT, in_account


@dataclass
class TargetApp:
    name: str
    cluster: str
    service: str
    secret_arn: str
    initial_task_definition_arn: str

    def registry(self) -> str:
        return f"{WORKLOAD_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


def client(stack: LocalStack, service: str, account: str = WORKLOAD_ACCOUNT) -> Any:
    return in_account(stack.session.client(service, endpoint_url=stack.url, region_name=REGION),
                      account)


def push_image(stack: LocalStack, repository: str, tag: str, layer_seed: str,
               account: str = WORKLOAD_ACCOUNT) -> str:
    """Push to `account`'s registry (its ECR emits the push event on its own bus)."""
    resp = client(stack, "ecr", account).put_image(
        repositoryName=repository, imageManifest=manifest_for(layer_seed),
        imageManifestMediaType=MANIFEST_MEDIA_TYPE, imageTag=tag)
    return resp["image"]["imageId"]["imageDigest"]


def seed_target_app(stack: LocalStack, app: str, stages: dict[str, dict[str, Any]]) -> TargetApp:
    """Seed `app` in the workload account (one service, `<app>-production`) and apply a
    stevedore.yaml whose stages are `stages` (each gets `cluster`, `service` and the secret)."""
    cluster, service = f"{app}-workload", f"{app}-production"
    client(stack, "ecr").create_repository(repositoryName=app)
    push_image(stack, app, INITIAL_TAG, f"{app}-initial")
    subnets, groups = ensure_network(stack, client(stack, "ec2"))
    client(stack, "ecs").create_cluster(clusterName=cluster)
    value = plain_secret_value(f"{app}/db")  # marked: the secret-hygiene checks look for it
    SEEDED_SECRET_VALUES.add(value)
    secret_arn = client(stack, "secretsmanager").create_secret(
        Name=f"{app}/db", SecretString=value)["ARN"]
    taskdef = json.loads(EXAMPLE_TASKDEF.read_text())
    taskdef["family"] = app
    taskdef["executionRoleArn"] = f"arn:aws:iam::{WORKLOAD_ACCOUNT}:role/{app}-task-execution"
    taskdef["taskRoleArn"] = f"arn:aws:iam::{WORKLOAD_ACCOUNT}:role/{app}-task"
    for container in taskdef["containerDefinitions"]:
        if container["name"] == "web":
            container["image"] = f"{WORKLOAD_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{app}:{INITIAL_TAG}"
    ecs = client(stack, "ecs")
    taskdef_arn = ecs.register_task_definition(**taskdef)["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster=cluster, serviceName=service, taskDefinition=taskdef_arn, desiredCount=2,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": subnets, "securityGroups": groups, "assignPublicIp": "DISABLED"}},
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                 "maximumPercent": 200, "minimumHealthyPercent": 100})
    config = {"apps": {app: {
        "repository": app, "containers": ["web"],
        "migration": {"command": ["bin/migrate", "up"]},
        "stages": {name: {"cluster": cluster, "service": service,
                          "secrets": {"DATABASE_URL": f"{app}/db"}, **stage}
                   for name, stage in stages.items()}}}}
    path = stack.run_dir / f"{app}.stevedore.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    stack.stevedore("config", "apply", str(path))
    return TargetApp(app, cluster, service, secret_arn, taskdef_arn)
