"""Config and task definitions are read for what they say: a key given twice in
stevedore.yaml is refused before anything is stored (it used to keep the last one silently),
and only images from the app's own ECR registry (account, region and repository) get the
release's image, never a sidecar from another registry's repository of the same name."""

from __future__ import annotations

from boto3.dynamodb.conditions import Attr
from e2e_helpers import ci_tag, finished_release
from example_app import service_task_definition
from stack import ACCOUNT_ID, REGION

FOREIGN_ACCOUNT = "999999999999"
FOREIGN_REGION = "eu-west-1"


def stored_items(stack, app: str) -> list[dict]:
    """Every table item of `app` (its config, releases, stage heads)."""
    return stack.table.scan(FilterExpression=Attr("PK").begins_with(f"APP#{app}"))["Items"]


def test_a_stage_given_twice_is_refused_and_nothing_is_stored(stack, tmp_path):
    app = "int-dupstage"
    config = tmp_path / "stevedore.yaml"
    config.write_text(
        "apps:\n"
        f"  {app}:\n"
        f"    repository: {app}\n"
        "    stages:\n"
        "      staging:\n"  # line 5
        "        cluster: demo\n"
        f"        service: {app}-staging\n"
        "        tags: [\"develop-*\"]\n"
        "      staging:\n"  # line 9: would have replaced the first
        "        cluster: demo\n"
        f"        service: {app}-other\n")
    expected = (f"stevedore.yaml:9: apps.{app}.stages.staging: "
                "duplicate key `staging` (first at line 5)")

    result = stack.stevedore("config", "apply", str(config), check=False)
    assert result.returncode != 0, result.stdout
    assert expected in result.stderr + result.stdout, result.stderr + result.stdout
    assert stored_items(stack, app) == []

    result = stack.stevedore("config", "validate", str(config), check=False)
    assert result.returncode != 0, result.stdout
    assert expected in result.stderr + result.stdout, result.stderr + result.stdout


def test_a_sidecar_from_another_registry_keeps_its_image(stack, seed):
    name = "int-sidecar"
    # Same repository name as the app, in another account's and another region's registry.
    foreign = {
        "other-account": f"{FOREIGN_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}:sidecar",
        "other-region": f"{ACCOUNT_ID}.dkr.ecr.{FOREIGN_REGION}.amazonaws.com/{name}:sidecar",
    }
    sidecars = [{"name": container, "image": image, "essential": False, "memoryReservation": 32}
                for container, image in foreign.items()]
    # No `containers:`: the targets are the containers running the app's repository.
    app = seed(name, extra_containers=sidecars, app_overrides={"containers": None})

    digest = stack.push_image(app.repository, ci_tag(), layer_seed=f"{name}-1")
    release = finished_release(stack, app, digest)
    assert release["status"] == "SUCCEEDED", f"{release.get('reason')}\n{release}"

    taskdef = stack.client("ecs").describe_task_definition(
        taskDefinition=release["task_definition_arn"])["taskDefinition"]
    images = {c["name"]: c["image"] for c in taskdef["containerDefinitions"]}
    assert images["web"] == f"{stack.registry()}/{app.repository}@{digest}", images
    for container, image in foreign.items():
        assert images[container] == image, images
    assert service_task_definition(stack, app, "staging") == release["task_definition_arn"]
