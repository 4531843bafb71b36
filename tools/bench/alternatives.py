"""The same rolling deployment done by the tools teams use instead of Stevedore, against the
same emulator and the same ECS service, each timed from its start to its exit 0:

- fabfuel's `ecs deploy` (PyPI ecs-deploy, pinned in tools/requirements.txt): registers a
  revision with the new image, updates the service, polls every `--sleep-time` (default 1 s)
  until the new deployment is the only one;
- an AWS CLI script (tools/bench/awscli_deploy.sh, awscli v1 pinned in tools/requirements.txt):
  `ecs register-task-definition`, `ecs update-service`, `ecs wait services-stable`. The
  waiter polls DescribeServices every 15 s (at most 40 times) as shipped; the script runs
  twice: as shipped, and with the waiter's `delay` set to 1 s through botocore's documented
  model override path (AWS_DATA_PATH; the acceptors stay the shipped ones).

Both reach the emulator only through the standard `AWS_ENDPOINT_URL` environment variable
(honoured by botocore, so by boto3 under ecs-deploy and by the AWS CLI), with dummy
credentials: no flag, no code change.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scenarios import Scenario
from stack import REGION, LocalStack

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
SCRIPT = HERE / "awscli_deploy.sh"
TOOL_TIMEOUT = 300
SHIPPED_DELAY = (15, 40)  # ServicesStable: delay, maxAttempts as awscli ships them
FAST_DELAY = 1


def tool_env(stack: LocalStack, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=stack.url, AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION,
               AWS_EC2_METADATA_DISABLED="true", NO_PROXY="127.0.0.1,localhost",
               PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.update(extra or {})
    return env


def waiter_override(delay: int) -> str:
    """A directory for AWS_DATA_PATH holding awscli's own ServicesStable waiter with `delay`."""
    import awscli  # the pinned CLI's vendored botocore data

    shipped = Path(awscli.__file__).parent / "botocore/data/ecs/2014-11-13/waiters-2.json"
    model = json.loads(shipped.read_text())
    stable = model["waiters"]["ServicesStable"]
    if (stable["delay"], stable["maxAttempts"]) != SHIPPED_DELAY:
        raise RuntimeError(f"awscli's ServicesStable waiter changed: {stable}")
    stable["delay"] = delay
    root = Path(tempfile.mkdtemp(prefix="stevedore-bench-waiter-"))
    target = root / "ecs/2014-11-13/waiters-2.json"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(model))
    return str(root)


def new_image(stack: LocalStack, sc: Scenario, tool: str) -> str:
    """An image pushed with a tag no stage's rule matches, so Stevedore leaves it alone."""
    digest = stack.push_image(sc.app.repository, f"{tool}-{secrets.token_hex(3)}",
                              layer_seed=f"{tool}-{secrets.token_hex(8)}")
    return f"{stack.registry()}/{sc.app.repository}@{digest}"


def _rollout_after(stack: LocalStack, sc: Scenario, since: float) -> dict[str, Any] | None:
    arn_tail = f"service/{sc.cluster}/{sc.service}"
    found = [d for d in stack.control("ecs/deployments")
             if d["service_arn"].endswith(arn_tail) and d["started_at"] >= since]
    return found[0] if found else None


def _timed(stack: LocalStack, sc: Scenario, name: str, cmd: list[str],
           env: dict[str, str]) -> dict[str, Any]:
    started = time.time()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT + 60,
                          stdin=subprocess.DEVNULL)
    ended = time.time()
    if proc.returncode != 0:
        raise RuntimeError(f"{name} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    rollout = _rollout_after(stack, sc, started)
    if rollout is None or rollout.get("ended_at") is None:
        raise RuntimeError(f"{name}: no completed ECS deployment of {sc.service} after its start")
    return {"tool": name, "wall_s": ended - started,
            "rollout_s": rollout["ended_at"] - rollout["started_at"],
            # What the run would take if it noticed the completed deployment at once.
            "until_ecs_done_s": rollout["ended_at"] - started,
            "overhead_s": (ended - started) - (rollout["ended_at"] - rollout["started_at"])}


def ecs_deploy(stack: LocalStack, sc: Scenario) -> dict[str, Any]:
    image = new_image(stack, sc, "ecs-deploy")
    container = sc.app.config.get("containers", ["web"])[0]
    cmd = [str(BIN / "ecs"), "deploy", sc.cluster, sc.service, "--image", container, image,
           "--timeout", str(TOOL_TIMEOUT)]
    return _timed(stack, sc, "ecs-deploy", cmd, tool_env(stack))


def awscli(stack: LocalStack, sc: Scenario, delay: int | None) -> dict[str, Any]:
    """The AWS CLI script; `delay` None: the waiter as shipped (15 s)."""
    image = new_image(stack, sc, "awscli")
    container = sc.app.config.get("containers", ["web"])[0]
    extra = {"AWS_DATA_PATH": waiter_override(delay)} if delay is not None else {}
    name = "awscli (waiter as shipped, 15 s poll)" if delay is None else f"awscli (waiter poll {delay} s)"
    cmd = ["bash", str(SCRIPT), sc.cluster, sc.service, container, image]
    return _timed(stack, sc, name, cmd, tool_env(stack, extra))


def run_all(stack: LocalStack, sc: Scenario) -> list[dict[str, Any]]:
    return [ecs_deploy(stack, sc), awscli(stack, sc, None), awscli(stack, sc, FAST_DELAY)]
