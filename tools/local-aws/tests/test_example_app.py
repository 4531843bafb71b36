"""example_app.seed_app against the in-process emulator (a stand-in for LocalStack; the
`stevedore config apply` step is only recorded)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import yaml
from conftest import wait_for

import example_app
import example_services
from stack import MANIFEST_MEDIA_TYPE, manifest_for


class FakeStack:
    def __init__(self, aws, run_dir: Path, control=None):
        self.client = aws
        self.run_dir = run_dir
        self.commands: list[tuple[str, ...]] = []
        self._control = control

    def control(self, path: str, body=None):
        return self._control.get(path) if body is None else self._control.post(path, body)

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


def _service(aws, app, stage, name):
    return aws("ecs").describe_services(cluster=app.stage(stage)["cluster"],
                                        services=[name])["services"][0]


def test_seed_app_single_service_by_default(aws, tmp_path):
    stack = FakeStack(aws, tmp_path)
    name = f"onesvc-{uuid.uuid4().hex[:6]}"
    app = example_app.seed_app(stack, name)
    # The config is the one-service variant: app-level containers, one `service:` a stage.
    assert app.config["containers"] == ["web"]
    for stage in ("staging", "production"):
        assert app.stage(stage)["service"] == f"{name}-{stage}"
        assert not {"services", "schedules", "rollout"} & set(app.stage(stage))
    assert app.stage_services == {s: [f"{name}-{s}"] for s in ("staging", "production")}
    assert app.services == {s: f"{name}-{s}" for s in ("staging", "production")}
    assert app.worker_family is None and app.worker_task_definition_arn is None
    assert app.schedules == {}
    families = aws("ecs").list_task_definition_families(familyPrefix=name)["families"]
    assert families == [name]
    svc = _service(aws, app, "staging", app.services["staging"])
    assert svc["desiredCount"] == 2 and svc["taskDefinition"] == app.task_definition_arn
    names = [s["Name"] for s in aws("scheduler").list_schedules(NamePrefix=name)["Schedules"]]
    assert names == []


def test_seed_app_multi_service(aws, tmp_path):
    stack = FakeStack(aws, tmp_path)
    name = f"multi-{uuid.uuid4().hex[:6]}"
    app = example_app.seed_app(stack, name, multi_service=True, circuit_breaker=False)
    assert "containers" not in app.config
    assert app.stage_services == {
        s: [f"{name}-{s}", f"{name}-worker-{s}"] for s in ("staging", "production")}
    assert app.services == {s: f"{name}-{s}" for s in ("staging", "production")}
    assert app.schedules == {s: f"{name}-nightly-{s}" for s in ("staging", "production")}
    assert app.worker_family == f"{name}-worker"
    ecs = aws("ecs")

    worker_td = ecs.describe_task_definition(
        taskDefinition=app.worker_task_definition_arn)["taskDefinition"]
    assert worker_td["family"] == f"{name}-worker"
    worker = next(c for c in worker_td["containerDefinitions"] if c["name"] == "worker")
    assert worker["image"] == f"{stack.registry()}/{name}:{example_app.INITIAL_TAG}"
    assert worker["command"] == ["bin/worker"] and not worker.get("portMappings")

    for stage in ("staging", "production"):
        web, wrk = (_service(aws, app, stage, n) for n in app.stage_services[stage])
        assert web["taskDefinition"] == app.task_definition_arn and web["desiredCount"] == 2
        assert wrk["taskDefinition"] == app.worker_task_definition_arn
        assert wrk["desiredCount"] == 1 and wrk["launchType"] == "FARGATE"
        assert wrk["loadBalancers"] == []
        assert wrk["networkConfiguration"] == web["networkConfiguration"]
        assert wrk["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
            "enable": False, "rollback": False}

        schedule = aws("scheduler").get_schedule(Name=app.schedules[stage], GroupName="default")
        assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"
        assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
        target = schedule["Target"]
        cluster = ecs.describe_clusters(clusters=[app.stage(stage)["cluster"]])["clusters"][0]
        assert target["Arn"] == cluster["clusterArn"]
        params = target["EcsParameters"]
        assert params["TaskDefinitionArn"] == app.worker_task_definition_arn
        assert params["LaunchType"] == "FARGATE" and params["TaskCount"] == 1
        vpc = params["NetworkConfiguration"]["awsvpcConfiguration"]
        assert vpc["Subnets"] == web["networkConfiguration"]["awsvpcConfiguration"]["subnets"]
        assert json.loads(target["Input"]) == {
            "containerOverrides": [{"name": "worker", "command": ["bin/nightly-report"]}]}
        role = aws("iam").get_role(RoleName=target["RoleArn"].rsplit("/", 1)[-1])["Role"]
        assert role["Arn"] == target["RoleArn"]
        assert example_app.schedule_task_definition(stack, app.schedules[stage]) == \
            app.worker_task_definition_arn

    # The applied file lists both services and the schedule per stage.
    applied = yaml.safe_load(app.config_path.read_text())["apps"][name]
    assert [s["containers"] for s in applied["stages"]["staging"]["services"]] == [
        ["web"], ["worker"]]


def test_seed_app_from_the_example_file(aws, control, tmp_path):
    """What the demo does: examples/stevedore.yaml applied as it is (app `backend`)."""
    stack = FakeStack(aws, tmp_path, control)
    app = example_app.seed_app(stack, example_app.EXAMPLE_APP,
                               config_path=example_app.EXAMPLE_CONFIG)
    assert stack.commands == [("config", "apply", str(example_app.EXAMPLE_CONFIG))]
    assert app.stage_services["staging"] == ["backend-staging", "backend-worker-staging"]
    assert app.schedules == {"staging": "backend-nightly-staging",
                             "production": "backend-nightly-production"}
    assert app.worker_family == "backend-worker"
    assert example_app.schedule_task_definition(stack, "backend-nightly-production") == \
        app.worker_task_definition_arn
    # The example's Slack webhook secret points at the emulator's webhook receiver.
    receiver = control.get("webhooks")["url"].rstrip("/")
    secret = aws("secretsmanager").get_secret_value(SecretId="stevedore/notifications/backend-slack")
    assert secret["SecretString"] == f"{receiver}/hooks/backend-slack"


def test_single_service_variant_is_the_example_before_services():
    """The default config keeps what ~100 end-to-end tests were written against."""
    config = example_app.app_config("same")
    assert list(config) == ["repository", "containers", "migration", "stages"]
    assert list(config["stages"]["staging"])[:3] == ["cluster", "service", "tags"]
    multi = example_app.app_config("same", multi_service=True)
    for stage in ("staging", "production"):
        single = {k: v for k, v in config["stages"][stage].items() if k != "service"}
        rest = {k: v for k, v in multi["stages"][stage].items()
                if k not in ("services", "schedules")}
        assert single == rest


def test_example_files_are_valid_requests():
    """examples/*.json are what `aws ... --cli-input-json` sends: each validates against the
    operation's input shape in botocore's service model."""
    import boto3
    from botocore.model import ServiceModel
    from botocore.validate import validate_parameters

    session = boto3.session.Session(region_name="us-east-1")
    for service, operation, path in (
            ("ecs", "RegisterTaskDefinition", example_app.EXAMPLE_TASKDEF),
            ("ecs", "RegisterTaskDefinition", example_services.EXAMPLE_WORKER_TASKDEF),
            ("scheduler", "CreateSchedule", example_services.EXAMPLE_SCHEDULE)):
        model = session._loader.load_service_model(service, "service-2")
        shape = ServiceModel(model).operation_model(operation).input_shape
        validate_parameters(json.loads(path.read_text()), shape)  # raises when invalid
    schedule = json.loads(example_services.EXAMPLE_SCHEDULE.read_text())
    overrides = json.loads(schedule["Target"]["Input"])
    worker = json.loads(example_services.EXAMPLE_WORKER_TASKDEF.read_text())
    names = {c["name"] for c in worker["containerDefinitions"]}
    assert {o["name"] for o in overrides["containerOverrides"]} <= names
