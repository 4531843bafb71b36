"""example_app.seed_app against the in-process emulator (a stand-in for LocalStack; the
`stevedore config apply` step is only recorded)."""

from __future__ import annotations

import uuid
from pathlib import Path

from conftest import wait_for

import example_app
from stack import MANIFEST_MEDIA_TYPE, manifest_for


class FakeStack:
    def __init__(self, aws, run_dir: Path):
        self.client = aws
        self.run_dir = run_dir
        self.commands: list[tuple[str, ...]] = []

    def push_image(self, repository: str, tag: str, layer_seed: str) -> str:
        resp = self.client("ecr").put_image(repositoryName=repository, imageTag=tag,
                                            imageManifest=manifest_for(layer_seed),
                                            imageManifestMediaType=MANIFEST_MEDIA_TYPE)
        return resp["image"]["imageId"]["imageDigest"]

    def registry(self) -> str:
        return "123456789012.dkr.ecr.us-east-1.amazonaws.com"

    def stevedore(self, *args: str) -> None:
        self.commands.append(args)


def test_seed_app_blue_green_stage(aws, control, tmp_path):
    stack = FakeStack(aws, tmp_path)
    name = f"bgapp-{uuid.uuid4().hex[:6]}"
    app = example_app.seed_app(stack, name, blue_green_stages={"production"})
    assert stack.commands == [("config", "apply", str(app.config_path))]
    assert set(app.blue_green) == {"production"}
    infra = app.blue_green["production"]
    ecs, elb = aws("ecs"), aws("elbv2")
    prod = ecs.describe_services(cluster=app.stage("production")["cluster"],
                                 services=[app.services["production"]])["services"][0]
    assert prod["loadBalancers"] == [infra["load_balancer"]]
    advanced = prod["loadBalancers"][0]["advancedConfiguration"]
    assert advanced["alternateTargetGroupArn"] == infra["alternate_target_group_arn"]
    assert prod["loadBalancers"][0]["containerName"] == "web"
    assert prod["loadBalancers"][0]["containerPort"] == 8080
    assert prod["deploymentConfiguration"]["strategy"] == "ROLLING"
    rules = elb.describe_rules(RuleArns=[advanced["productionListenerRule"],
                                         advanced["testListenerRule"]])["Rules"]
    for rule in rules:
        groups = rule["Actions"][0]["ForwardConfig"]["TargetGroups"]
        assert {g["TargetGroupArn"]: g["Weight"] for g in groups} == {
            infra["target_group_arn"]: 100, infra["alternate_target_group_arn"]: 0}
    listeners = elb.describe_listeners(LoadBalancerArn=infra["load_balancer_arn"])["Listeners"]
    assert sorted(x["Port"] for x in listeners) == [80, 8080]

    staging = ecs.describe_services(cluster=app.stage("staging")["cluster"],
                                    services=[app.services["staging"]])["services"][0]
    assert staging["loadBalancers"] == [] and "strategy" not in staging["deploymentConfiguration"]

    # Switched to BLUE_GREEN (as Stevedore does at deploy), the seeded service deploys so.
    conf = dict(prod["deploymentConfiguration"], strategy="BLUE_GREEN", bakeTimeInMinutes=0)
    td = ecs.describe_task_definition(taskDefinition=app.task_definition_arn)["taskDefinition"]
    keep = ("family", "containerDefinitions", "networkMode", "requiresCompatibilities", "cpu",
            "memory", "executionRoleArn", "taskRoleArn")
    td2 = ecs.register_task_definition(**{k: td[k] for k in keep if k in td})
    ecs.update_service(cluster=app.stage("production")["cluster"],
                       service=app.services["production"], deploymentConfiguration=conf,
                       taskDefinition=td2["taskDefinition"]["taskDefinitionArn"])

    def done():
        s = ecs.describe_services(cluster=app.stage("production")["cluster"],
                                  services=[app.services["production"]])["services"][0]
        deps = s["deployments"]
        return len(deps) == 1 and deps[0]["rolloutState"] == "COMPLETED" and deps[0]["id"]

    dep_id = wait_for(done, what="blue/green deployment of the seeded service")
    rec = next(r for r in control.get("ecs/deployments") if r["deployment_id"] == dep_id)
    assert rec["strategy"] == "BLUE_GREEN" and rec["outcome"] == "completed"
