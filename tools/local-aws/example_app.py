"""Seed an example app into the local emulator: everything a team has before Stevedore runs.

The app is derived from examples/stevedore.yaml and examples/backend-taskdef.json (app
`backend`), renamed so each end-to-end test gets an isolated app: its own ECR repository,
task definition family, services, secrets and stage lock. Seeding creates the ECR repository,
a VPC (DNS hostnames on, which awsvpc tasks need) with a subnet and a security group, the
cluster, the secrets (known test values), the task definition, one FARGATE service per stage
(circuit breaker configurable, desiredCount 2), pushes an initial image whose tag no rule
matches, and applies the config with `stevedore config apply`, as a team would.
Stages named in `blue_green_stages` get what ECS's native blue/green deployments need: an
internal ALB with blue and green target groups, a production and a test listener each with a
forwarding rule, and the service's `loadBalancers[0].advancedConfiguration` naming them
(deploymentConfiguration `strategy: ROLLING`: Stevedore switches it to BLUE_GREEN at deploy).

The example's stages each release two services (web, worker) and a nightly schedule
(example_services.py). By default an app gets the single-service variant every test used
before (one `service:` per stage, app-level `containers`); `multi_service=True` gives the
example as it is, renamed per app.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import example_services
from example_services import (rename_services, rule_task_definition,  # noqa: F401 (re-exported)
                              schedule_task_definition, single_service_variant,
                              stage_service_entries)
from stack import ACCOUNT_ID, REGION, REPO_ROOT, LocalStack

EXAMPLES = REPO_ROOT / "examples"
EXAMPLE_CONFIG = EXAMPLES / "stevedore.yaml"
EXAMPLE_TASKDEF = EXAMPLES / "backend-taskdef.json"
EXAMPLE_APP = "backend"
INITIAL_TAG = "bootstrap"  # matches no stage's tag rule: seeding deploys nothing
NETWORK_NAME = "stevedore-local"
BLUE_GREEN_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/ecsInfrastructureRoleForLoadBalancers"
PRODUCTION_PORT, TEST_PORT = 80, 8080


SECRET_MARKER = "s3cr3t"  # in every seeded value, so a leak is unmistakable in any text
SEEDED_SECRET_VALUES: set[str] = set()  # every value (and JSON inner value) seeded in this process


def _secret_tag(name: str) -> str:
    return f"{hashlib.sha256(name.encode()).hexdigest()[:10]}-{SECRET_MARKER}"


def secret_value(name: str) -> str:
    """The known test value of a seeded secret (a JSON object when a key of it is referenced)."""
    return json.dumps({"username": f"user-{_secret_tag(name)}",
                       "password": f"pw-{_secret_tag(name)}-{name.replace('/', '-')}"})


def plain_secret_value(name: str) -> str:
    """The known test value of a seeded secret referenced as a whole."""
    return f"value-{_secret_tag(name)}-{name.replace('/', '-')}"


def secret_strings(value: str) -> set[str]:
    """A secret's value and, for a JSON object, each of its string values (what a leak of
    one key, or of the value inside an escaped JSON string, would show)."""
    out = {value}
    try:
        parsed = json.loads(value)
    except ValueError:
        return out
    if isinstance(parsed, dict):
        out |= {v for v in parsed.values() if isinstance(v, str)}
    return out


def planned_secrets(config: dict[str, Any], skip: set[str] = frozenset()) -> dict[str, str]:
    """Secret name -> the value seeding creates for an app's config (`skip`: env names)."""
    planned: dict[str, str] = {}
    for stage in config["stages"].values():
        for env, ref in (stage.get("secrets") or {}).items():
            if ref.startswith("ssm:"):
                continue  # Parameter Store: see planned_parameters
            name, _, key = ref.partition(":")
            if env in skip or name in planned:
                continue
            planned[name] = secret_value(name) if key else plain_secret_value(name)
    return planned


@dataclass
class ExampleApp:
    name: str
    repository: str
    cluster: str
    family: str
    services: dict[str, str]                 # stage -> (first) service name
    secrets: dict[str, str]                  # secret name -> full ARN (created ones)
    config: dict[str, Any]                   # the app's part of stevedore.yaml, as applied
    config_path: Path
    task_definition_arn: str                 # the services' task definition before any release
    initial_digest: str
    migration_command: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # stage -> create_blue_green_load_balancer's answer (blue/green stages only)
    blue_green: dict[str, dict[str, Any]] = field(default_factory=dict)
    # stage -> every service of the stage, in the listed order (one for a `service:` stage)
    stage_services: dict[str, list[str]] = field(default_factory=dict)
    worker_family: str | None = None              # the worker's family, when seeded
    worker_task_definition_arn: str | None = None  # the worker's revision before any release
    schedules: dict[str, str] = field(default_factory=dict)  # stage -> schedule (or rule) name

    def stage(self, stage: str) -> dict[str, Any]:
        return self.config["stages"][stage]


def app_config(app: str, *, migration: bool = True,
               missing_secrets: dict[str, str] | None = None,
               staging_overrides: dict[str, Any] | None = None,
               migration_overrides: dict[str, Any] | None = None,
               app_overrides: dict[str, Any] | None = None,
               multi_service: bool = False) -> dict[str, Any]:
    """examples/stevedore.yaml's `backend`, renamed to `app` (repository, services, secrets).
    `multi_service`: each stage's `services` (`<app>-<stage>`, `<app>-worker-<stage>`) and
    `schedules` (`<app>-nightly-<stage>`); otherwise one `service: <app>-<stage>` per stage and
    the app's `containers: [web]`, as the example was before it had several services."""
    example = yaml.safe_load(EXAMPLE_CONFIG.read_text())["apps"][EXAMPLE_APP]
    config = copy.deepcopy(example)
    # The example's Slack webhook is the demo's; a test that wants notifications names its own.
    config.pop("notifications", None)
    if not multi_service:
        config = single_service_variant(config)
    config["repository"] = app
    if not migration:
        config.pop("migration", None)
    elif migration_overrides:
        config["migration"].update(migration_overrides)
    for stage_name, stage in config["stages"].items():
        if multi_service:
            rename_services(stage, EXAMPLE_APP, app)
        else:
            stage["service"] = f"{app}-{stage_name}"
        stage["secrets"] = {env: ref.replace(f"/{EXAMPLE_APP}/", f"/{app}/")
                            for env, ref in (stage.get("secrets") or {}).items()}
    if missing_secrets:
        config["stages"]["staging"]["secrets"].update(missing_secrets)
    config["stages"]["staging"].update(staging_overrides or {})
    config.update(app_overrides or {})
    return config


def ensure_network(stack: LocalStack, ec2: Any = None) -> tuple[list[str], list[str]]:
    """One VPC per local stack and account (apps share it, as they would in an account);
    `ec2`: a client of another account (default: the stack's own)."""
    ec2 = ec2 or stack.client("ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [NETWORK_NAME]}])["Vpcs"]
    if vpcs:
        vpc_id = vpcs[0]["VpcId"]
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
        groups = ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                     {"Name": "group-name", "Values": [NETWORK_NAME]}])["SecurityGroups"]
        return [s["SubnetId"] for s in subnets], [g["GroupId"] for g in groups]
    vpc_id = ec2.create_vpc(CidrBlock="10.42.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": NETWORK_NAME}]}])["Vpc"]["VpcId"]
    # awsvpc tasks in a VPC without DNS hostnames make moto fail with HTTP 500.
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.42.1.0/24",
                               AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=NETWORK_NAME, Description="stevedore local",
                                      VpcId=vpc_id)["GroupId"]
    return [subnet], [group]


def planned_parameters(config: dict[str, Any], skip: set[str] = frozenset()) -> dict[str, str]:
    """Parameter name -> the (secret) value seeding puts in Parameter Store for `ssm:` refs."""
    return {ref[len("ssm:"):]: plain_secret_value(ref[len("ssm:"):])
            for stage in config["stages"].values()
            for env, ref in (stage.get("secrets") or {}).items()
            if ref.startswith("ssm:") and env not in skip}


def create_parameters(stack: LocalStack, config: dict[str, Any], skip: set[str]) -> None:
    ssm = stack.client("ssm")
    for name, value in planned_parameters(config, skip).items():
        SEEDED_SECRET_VALUES.add(value)
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


def create_secrets(stack: LocalStack, config: dict[str, Any],
                   skip: set[str]) -> dict[str, str]:
    sm = stack.client("secretsmanager")
    created: dict[str, str] = {}
    for name, value in planned_secrets(config, skip).items():
        SEEDED_SECRET_VALUES.update(secret_strings(value))
        created[name] = sm.create_secret(Name=name, SecretString=value)["ARN"]
    return created


def notification_secret_names(config: dict[str, Any]) -> list[str]:
    """The secrets the config's `notifications:` (the app's and its stages') name."""
    lists = [config.get("notifications") or []]
    lists += [stage.get("notifications") or [] for stage in config["stages"].values()]
    return sorted({entry.get("slack") or entry.get("webhook") for entries in lists
                   for entry in entries} - {None})


def create_notification_secrets(stack: LocalStack, config: dict[str, Any]) -> None:
    """Each notification secret named by its name (not an ARN) that does not exist yet is
    made to hold a URL of the emulator's webhook receiver, `/hooks/<last part of the name>`,
    so notify's posts can be read back."""
    names = [n for n in notification_secret_names(config) if not n.startswith("arn:")]
    if not names:
        return
    receiver = stack.control("webhooks")["url"].rstrip("/")
    sm = stack.client("secretsmanager")
    for name in names:
        url = f"{receiver}/hooks/{name.rsplit('/', 1)[-1]}"
        try:
            sm.create_secret(Name=name, SecretString=url)
        except sm.exceptions.ResourceExistsException:
            pass  # made by the test (its own receiver path) or by an earlier seed: kept as is


def _name(seed: str, suffix: str = "") -> str:
    """ELBv2 names: at most 32 characters of letters, digits and hyphens."""
    return f"sd-{hashlib.sha256(seed.encode()).hexdigest()[:12]}{suffix}"


def create_blue_green_load_balancer(client: Any, seed: str, subnets: list[str], groups: list[str],
                                    container_name: str, container_port: int) -> dict[str, Any]:
    """An internal ALB, target groups blue and green, a production and a test listener, each
    with a rule forwarding 100/0 to blue/green. `client`: a boto3 client factory.
    Answers the ARNs and `load_balancer`, the service's `loadBalancers` entry."""
    ec2, elb = client("ec2"), client("elbv2")
    vpc = ec2.describe_subnets(SubnetIds=subnets[:1])["Subnets"][0]["VpcId"]
    lb = elb.create_load_balancer(Name=_name(seed), Subnets=subnets, SecurityGroups=groups,
                                  Scheme="internal", Type="application")["LoadBalancers"][0]
    blue, green = (elb.create_target_group(
        Name=_name(seed, f"-{colour}"), Protocol="HTTP", Port=container_port, VpcId=vpc,
        TargetType="ip", HealthCheckPath="/")["TargetGroups"][0]["TargetGroupArn"]
        for colour in ("blue", "green"))
    forward = [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": blue, "Weight": 100}, {"TargetGroupArn": green, "Weight": 0}]}}]
    listeners, rules = {}, {}
    for kind, port in (("production", PRODUCTION_PORT), ("test", TEST_PORT)):
        listener = elb.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}])["Listeners"][0]
        listeners[kind] = listener["ListenerArn"]
        rules[kind] = elb.create_rule(
            ListenerArn=listeners[kind], Priority=1, Actions=forward,
            Conditions=[{"Field": "path-pattern", "Values": ["/*"]}])["Rules"][0]["RuleArn"]
    return {
        "load_balancer_arn": lb["LoadBalancerArn"], "dns_name": lb.get("DNSName"),
        "target_group_arn": blue, "alternate_target_group_arn": green,
        "production_listener_arn": listeners["production"], "test_listener_arn": listeners["test"],
        "production_listener_rule": rules["production"], "test_listener_rule": rules["test"],
        "load_balancer": {
            "targetGroupArn": blue, "containerName": container_name,
            "containerPort": container_port,
            "advancedConfiguration": {
                "alternateTargetGroupArn": green, "productionListenerRule": rules["production"],
                "testListenerRule": rules["test"], "roleArn": BLUE_GREEN_ROLE}},
    }


def _web_container() -> tuple[str, int]:
    """The example task definition's first container with a port mapping."""
    taskdef = json.loads(EXAMPLE_TASKDEF.read_text())
    for container in taskdef["containerDefinitions"]:
        for mapping in container.get("portMappings") or []:
            return container["name"], int(mapping["containerPort"])
    raise ValueError(f"{EXAMPLE_TASKDEF} has no container with a port mapping")


def register_initial_task_definition(stack: LocalStack, app: str,
                                     extra_containers: list[dict[str, Any]] | None = None) -> str:
    taskdef = json.loads(EXAMPLE_TASKDEF.read_text())
    taskdef["family"] = app
    for container in taskdef["containerDefinitions"]:
        if container["image"].startswith(f"{ACCOUNT_ID}.dkr.ecr."):
            container["image"] = f"{stack.registry()}/{app}:{INITIAL_TAG}"
    taskdef["containerDefinitions"].extend(copy.deepcopy(extra_containers or []))
    resp = stack.client("ecs").register_task_definition(**taskdef)
    return resp["taskDefinition"]["taskDefinitionArn"]


def seed_app(stack: LocalStack, app: str = EXAMPLE_APP, *, migration: bool = True,
             missing_secrets: dict[str, str] | None = None, circuit_breaker: bool = True,
             staging_overrides: dict[str, Any] | None = None,
             migration_overrides: dict[str, Any] | None = None,
             app_overrides: dict[str, Any] | None = None,
             config_path: Path | None = None,
             blue_green_stages: set[str] | None = None,
             extra_containers: list[dict[str, Any]] | None = None,
             service_overrides: dict[str, Any] | None = None,
             multi_service: bool = False) -> ExampleApp:
    """Seed one app. `missing_secrets` (env -> ref) are added to staging but not created;
    `staging_overrides` / `migration_overrides` / `app_overrides` replace keys of the staging
    stage's / the migration's / the app's config.
    `config_path`: apply this file as is (the demo applies examples/stevedore.yaml itself).
    `blue_green_stages`: these stages' web services get an ALB with blue and green target
    groups and `loadBalancers[0].advancedConfiguration` (see `ExampleApp.blue_green`).
    `extra_containers`: container definitions appended to the example task definition (e.g. a
    sidecar; give each `memoryReservation`, which moto's RunTask needs).
    `service_overrides`: CreateService arguments replacing the seeded ones for every service
    (a None value removes one: `{"launchType": None, "capacityProviderStrategy": [...]}`).
    `multi_service`: the example's stages as they are (see `app_config`): a service whose
    containers are the worker's runs family `<app>-worker` (desiredCount 1, no load balancer),
    and each stage's schedules (or rules) run that family nightly."""
    if config_path is not None:
        config = yaml.safe_load(config_path.read_text())["apps"][app]
    else:
        config = app_config(app, migration=migration, missing_secrets=missing_secrets,
                            staging_overrides=staging_overrides,
                            migration_overrides=migration_overrides,
                            app_overrides=app_overrides, multi_service=multi_service)
        config_path = stack.run_dir / f"{app}.stevedore.yaml"
        config_path.write_text(yaml.safe_dump({"apps": {app: config}}, sort_keys=False))
    ecs, ecr = stack.client("ecs"), stack.client("ecr")
    blue_green_stages = set(blue_green_stages or ())
    unknown = sorted(blue_green_stages - set(config["stages"]))
    if unknown:
        raise ValueError(f"blue_green_stages {unknown} are not stages of {app}")

    ecr.create_repository(repositoryName=config["repository"])
    initial_digest = stack.push_image(config["repository"], INITIAL_TAG, layer_seed=f"{app}-initial")
    subnets, groups = ensure_network(stack)
    clusters = {s["cluster"] for s in config["stages"].values()}
    cluster_arns = {}
    for cluster in sorted(clusters):
        # idempotent: apps may share a cluster
        cluster_arns[cluster] = ecs.create_cluster(clusterName=cluster)["cluster"]["clusterArn"]
    secrets = create_secrets(stack, config, skip=set(missing_secrets or {}))
    create_notification_secrets(stack, config)
    create_parameters(stack, config, skip=set(missing_secrets or {}))
    taskdef_arn = register_initial_task_definition(stack, app, extra_containers)
    worker_arn = None
    if any(example_services.runs_worker(entry) for stage in config["stages"].values()
           for entry in stage_service_entries(stage)):
        worker_arn = example_services.register_worker_task_definition(
            ecs, app, stack.registry(), INITIAL_TAG)

    services, stage_services, blue_green, schedules = {}, {}, {}, {}
    for stage_name, stage in config["stages"].items():
        stage_services[stage_name] = []
        for entry in stage_service_entries(stage):
            worker = example_services.runs_worker(entry)
            extra_args: dict[str, Any] = {}
            if stage_name in blue_green_stages and not worker:
                container_name, container_port = _web_container()
                blue_green[stage_name] = create_blue_green_load_balancer(
                    stack.client, f"{app}/{stage_name}", subnets, groups, container_name,
                    container_port)
                extra_args["loadBalancers"] = [blue_green[stage_name]["load_balancer"]]
            _create_service(ecs, stage["cluster"], entry["service"],
                            worker_arn if worker else taskdef_arn, subnets, groups,
                            circuit_breaker, desired_count=1 if worker else 2,
                            extra_args=extra_args, overrides=service_overrides)
            stage_services[stage_name].append(entry["service"])
        services[stage_name] = stage_services[stage_name][0]
        for entry in stage.get("schedules") or []:
            schedules[stage_name] = example_services.seed_schedule(
                stack.client, app, entry, cluster_arns[stage["cluster"]],
                worker_arn or taskdef_arn, subnets, groups)

    stack.stevedore("config", "apply", str(config_path))
    return ExampleApp(
        name=app, repository=config["repository"], cluster=sorted(clusters)[0],
        family=app, services=services, secrets=secrets, config=config,
        config_path=config_path, task_definition_arn=taskdef_arn, initial_digest=initial_digest,
        migration_command=(config.get("migration") or {}).get("command"),
        blue_green=blue_green, stage_services=stage_services,
        worker_family=example_services.worker_family(app) if worker_arn else None,
        worker_task_definition_arn=worker_arn, schedules=schedules,
    )


def _create_service(ecs: Any, cluster: str, name: str, taskdef_arn: str, subnets: list[str],
                    groups: list[str], circuit_breaker: bool, *, desired_count: int,
                    extra_args: dict[str, Any], overrides: dict[str, Any] | None) -> None:
    """A FARGATE service in the local network; with `loadBalancers` (blue/green) its
    deploymentConfiguration says `strategy: ROLLING` (Stevedore switches it at deploy)."""
    deployment_configuration = {
        "deploymentCircuitBreaker": {"enable": circuit_breaker, "rollback": circuit_breaker},
        "maximumPercent": 200, "minimumHealthyPercent": 100}
    if "loadBalancers" in extra_args:
        deployment_configuration["strategy"] = "ROLLING"
    service_args = dict(
        cluster=cluster, serviceName=name, taskDefinition=taskdef_arn,
        desiredCount=desired_count, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": subnets, "securityGroups": groups, "assignPublicIp": "DISABLED"}},
        deploymentConfiguration=deployment_configuration, **extra_args)
    service_args.update(copy.deepcopy(overrides or {}))
    ecs.create_service(**{k: v for k, v in service_args.items() if v is not None})


def service_task_definition(stack: LocalStack, app: ExampleApp, stage: str) -> str:
    svc = stack.client("ecs").describe_services(
        cluster=app.stage(stage)["cluster"], services=[app.services[stage]])["services"][0]
    return svc["taskDefinition"]
