"""One stage per ECS service: each stage has its own deploy lock, so `config apply` refuses a
second stage (of any app) naming a service another stage deploys, by name or by ARN."""

from __future__ import annotations

import yaml

from stack import ACCOUNT_ID, REGION


def config_of(stack, app):
    return yaml.safe_load((stack.run_dir / f"{app}.stevedore.yaml").read_text())["apps"][app]


def apply(stack, name, apps):
    path = stack.run_dir / name
    path.write_text(yaml.safe_dump({"apps": apps}, sort_keys=False))
    return stack.stevedore("config", "apply", str(path), check=False)


def test_a_service_deployed_by_one_stage_is_refused_to_another(stack, seed):
    owner = seed("svc-owner", migration=False)
    staging = config_of(stack, owner.name)["stages"]["staging"]
    arn = f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}"
    intruder = config_of(stack, owner.name)
    intruder["repository"] = "svc-intruder"
    intruder["stages"] = {"staging": dict(staging, cluster=f"{arn}:cluster/{staging['cluster']}",
                                          service=f"{arn}:service/{staging['cluster']}/{staging['service']}")}

    refused = apply(stack, "intruder.yaml", {"svc-intruder": intruder})
    assert refused.returncode != 0
    assert "svc-intruder/staging" in refused.stderr and f"{owner.name}/staging" in refused.stderr, refused.stderr
    assert staging["service"] in refused.stderr, refused.stderr
    assert stack.table.get_item(Key={"PK": "APP#svc-intruder", "SK": "CONFIG"}).get("Item") is None

    # Re-applying the owner's own config is fine; once it moves away, the service is free.
    moved = config_of(stack, owner.name)
    assert apply(stack, "owner.yaml", {owner.name: moved}).returncode == 0
    moved["stages"]["staging"] = dict(staging, service=f"{staging['service']}-v2")
    assert apply(stack, "owner-moved.yaml", {owner.name: moved}).returncode == 0
    accepted = apply(stack, "intruder.yaml", {"svc-intruder": intruder})
    assert accepted.returncode == 0, accepted.stderr


def test_one_file_naming_a_service_twice_or_badly_is_refused(stack, seed):
    app = seed("svc-twice", migration=False)
    config = config_of(stack, app.name)
    config["stages"]["production"] = dict(config["stages"]["production"],
                                          service=config["stages"]["staging"]["service"])
    twice = apply(stack, "twice.yaml", {app.name: config})
    assert twice.returncode != 0
    assert "twice.yaml:" in twice.stderr and "apps.svc-twice.stages" in twice.stderr, twice.stderr
    assert "one stage per service" in twice.stderr, twice.stderr

    config = config_of(stack, app.name)
    config["stages"]["staging"]["service"] = "web#1"
    bad = apply(stack, "bad-name.yaml", {app.name: config})
    assert bad.returncode != 0
    assert "apps.svc-twice.stages.staging.service" in bad.stderr, bad.stderr
