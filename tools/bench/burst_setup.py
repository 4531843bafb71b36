"""The burst benchmark's fixtures: many small apps seeded as the e2e tests seed them, and
a burst of real ECR pushes (PutImage) spread over them.

Each app is examples/stevedore.yaml's `backend` reduced to one stage (`staging`, one ECS
service, no migration, the default `concurrency: latest`), seeded by example_app.seed_app:
its ECR repository, task definition, FARGATE service (desiredCount 2, circuit breaker on)
and `stevedore config apply` of its stevedore.yaml.
"""

from __future__ import annotations

import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "local-aws"))

from example_app import ExampleApp, app_config, ensure_network, seed_app  # noqa: E402

STAGE = "staging"
TAG_PREFIX = "develop"  # matches the example staging stage's `develop-*` tag rule
SEED_WORKERS = 4        # seeding runs the CLI per app; more threads only queue on 2 cores


@dataclass
class Push:
    app: str
    repository: str
    tag: str
    layer_seed: str
    started: float = 0.0   # wall clock (time.time()) when PutImage was sent
    returned: float = 0.0  # wall clock when PutImage answered (the image exists in ECR)
    digest: str = ""
    error: str = ""


def one_stage_overrides(name: str) -> dict[str, Any]:
    """The app's config keeps only its staging stage (one service, one stage lock)."""
    staging = app_config(name, migration=False)["stages"][STAGE]
    return {"stages": {STAGE: staging}}


def seed_apps(stack: Any, count: int, prefix: str) -> list[ExampleApp]:
    """Seed `count` one-stage apps named `<prefix>-<n>`, then one more, `<prefix>-warm`
    (last; see warm_up)."""
    # Shared pieces made once before the threads: the VPC, and one client per service
    # (LocalStack caches clients in a plain dict; boto3 clients are thread-safe, their
    # creation from one Session is not).
    ensure_network(stack)
    for service in ("ecr", "ecs", "ec2", "secretsmanager", "ssm", "elbv2"):
        stack.client(service)
    names = [f"{prefix}-{n:02d}" for n in range(count)] + [f"{prefix}-warm"]
    with ThreadPoolExecutor(max_workers=SEED_WORKERS) as pool:
        return list(pool.map(
            lambda name: seed_app(stack, name, migration=False,
                                  app_overrides=one_stage_overrides(name)), names))


def wait_for_quiet_services(stack: Any, apps: list[ExampleApp], timeout: float = 180.0) -> float:
    """Wait until the seeds' own CreateService rollouts have ended, so the burst starts from
    services at rest; returns the seconds waited."""
    services = {app.services[STAGE] for app in apps}
    started = time.monotonic()
    while True:
        running = [r for r in stack.control("ecs/deployments")
                   if r["ended_at"] is None and r["service_arn"].rsplit("/", 1)[-1] in services]
        if not running:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{len(running)} seed rollouts still running after {timeout} s")
        time.sleep(0.5)


def warm_up(stack: Any, app: ExampleApp, timeout: float = 300.0) -> float:
    """One push to an app of its own, waited for: `cargo lambda watch` starts each function
    (`cargo run --bin`, seconds) on its first invoke, which a deployed Lambda does not do.
    Returns the seconds it took (cold functions included)."""
    started = time.monotonic()
    digest = stack.push_image(app.repository, f"{TAG_PREFIX}-{secrets.token_hex(4)[:7]}",
                              layer_seed=f"{app.name}-warm-{secrets.token_hex(4)}")
    stack.wait_for_release(app.name, STAGE, lambda r: r.get("digest") == digest
                           and r.get("status") == "SUCCEEDED", timeout=timeout)
    return time.monotonic() - started


def plan_pushes(apps: list[ExampleApp], pushes: int) -> list[Push]:
    """`pushes` pushes, round-robin over the apps (each app's pushes spread over the burst),
    each a new image (its own layer seed) with a CI-like tag."""
    plan = []
    for n in range(pushes):
        app = apps[n % len(apps)]
        tag = f"{TAG_PREFIX}-{secrets.token_hex(4)[:7]}"
        plan.append(Push(app=app.name, repository=app.repository, tag=tag,
                         layer_seed=f"{app.name}-burst-{n}-{secrets.token_hex(4)}"))
    return plan


def fire(stack: Any, plan: list[Push], workers: int = 16) -> None:
    """Send every PutImage as fast as `workers` threads can; fills in times and digests.
    A failed push is kept with its error (it is counted, not retried)."""
    stack.client("ecr")  # made once, before the threads share it

    def push(p: Push) -> None:
        p.started = time.time()
        try:
            p.digest = stack.push_image(p.repository, p.tag, layer_seed=p.layer_seed)
        except Exception as err:  # noqa: BLE001 (reported per push)
            p.error = f"{type(err).__name__}: {err}"
        p.returned = time.time()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(push, plan))
