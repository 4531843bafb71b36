"""A stage in another account: Stevedore (the tools account, 123456789012) deploys the app's
production in the workload account 222222222222 through the `stevedore-target` role that
template-target.yaml created there.

Design: the image is pushed to the workload account's own registry; its ECR event reaches the
tools bus through the workload account's forwarding rule (keeping its account), and on-push
releases it to the stages living there, with that registry's image URI. Render, the migration
task (Step Functions `Credentials.RoleArn`) and the rollout act in the workload account; its
ECS events come back the same way. A stage whose account's role does not trust Stevedore fails
at render with the role named."""

from __future__ import annotations

import pytest
from example_target import WORKLOAD_ACCOUNT, client, push_image, seed_target_app

APP = "acctapp"
UNTRUSTING = "333333333333"
UNTRUSTING_ROLE = f"arn:aws:iam::{UNTRUSTING}:role/stevedore-target"


def brief(release):
    return f"{release.get('status')}: {release.get('reason')}\n{release}"


@pytest.fixture(scope="module")
def target(stack):
    # A third account whose stevedore-target role trusts someone else, not this Stevedore.
    roles = stack.resources.roles
    roles.setdefault("roles", {})[UNTRUSTING_ROLE] = {
        "role_arn": UNTRUSTING_ROLE, "statements": [],
        "trust": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": "arn:aws:iam::999999999999:role/another-deployer"}}]}}
    stack.control("iam/roles", roles)
    return seed_target_app(stack, APP, {
        "production": {"account": WORKLOAD_ACCOUNT, "region": "us-east-1", "tags": ["v*"]},
        "elsewhere": {"account": UNTRUSTING, "tags": ["x*"], "cluster": f"{APP}-elsewhere"},
    })


@pytest.fixture(scope="module")
def released(stack, target):
    digest = push_image(stack, APP, "v1.0.0", f"{APP}-v1")
    release = stack.wait_for_release(APP, "production", timeout=90)
    return digest, release


def test_the_release_deploys_in_the_workload_account(stack, target, released):
    digest, release = released
    assert release["status"] == "SUCCEEDED", brief(release)
    assert release["image_uri"] == \
        f"{WORKLOAD_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{APP}@{digest}"
    task_definition = release["task_definition_arn"]
    assert task_definition.startswith(f"arn:aws:ecs:us-east-1:{WORKLOAD_ACCOUNT}:task-definition/{APP}:")
    ecs = client(stack, "ecs")
    service = ecs.describe_services(cluster=target.cluster, services=[target.service])["services"][0]
    assert service["taskDefinition"] == task_definition
    web = next(c for c in ecs.describe_task_definition(taskDefinition=task_definition)
               ["taskDefinition"]["containerDefinitions"] if c["name"] == "web")
    assert web["image"] == release["image_uri"]
    assert {"name": "DATABASE_URL", "valueFrom": target.secret_arn} in web["secrets"]
    # Nothing of the app in the tools account.
    tools_families = stack.client("ecs").list_task_definitions(familyPrefix=APP)["taskDefinitionArns"]
    assert tools_families == []


def test_the_migration_task_ran_in_the_workload_account(stack, target, released):
    _, release = released
    task = release.get("migration_task_arn", "")
    assert task.startswith(f"arn:aws:ecs:us-east-1:{WORKLOAD_ACCOUNT}:task/{target.cluster}/"), brief(release)
    described = client(stack, "ecs").describe_tasks(cluster=target.cluster, tasks=[task])["tasks"]
    assert described and described[0]["taskDefinitionArn"] == release["task_definition_arn"]


def test_a_role_that_does_not_trust_stevedore_fails_the_release_naming_it(stack, target):
    # A push to the tools account's registry feeds every matching stage, elsewhere too.
    stack.client("ecr").create_repository(repositoryName=APP)
    stack.push_image(APP, "x1", layer_seed=f"{APP}-x1")
    release = stack.wait_for_release(APP, "elsewhere", timeout=60)
    assert release["status"] == "FAILED", brief(release)
    assert f"could not assume role {UNTRUSTING_ROLE}" in release["reason"], brief(release)
    assert "trust policy does not name the caller" in release["reason"], brief(release)
