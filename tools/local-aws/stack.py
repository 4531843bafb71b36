"""The whole Stevedore pipeline on this machine: emulator + bootstrap + `cargo lambda watch`.

    with LocalStack() as stack:
        digest = stack.push_image("backend", "develop-1a2b3c4", layer_seed="demo")
        release = stack.wait_for_release("backend", "staging")

`cargo lambda watch` starts a function on its first invoke with `cargo run --bin <name>`
(dev profile, same target dir, no extra flags), so after `cargo build --bins` it starts the
already-built binary without compiling; later invokes reuse the running process.
`STEVEDORE_LOCAL_PROFILE=release` builds and runs the release profile instead (`cargo build
--release`, `cargo lambda watch --release`, target/release/stevedore): what benchmarks time.

Used by tests/e2e (one stack per session) and tools/demo.py. Both child processes run in
their own process group and are stopped by PID on exit, also on failure or Ctrl-C; their
logs stay in a per-run temp dir whose path is printed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

import boto3
from boto3.dynamodb.conditions import Key

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bootstrap  # noqa: E402
import target_account  # noqa: E402

REPO_ROOT = HERE.parents[1]
VENV_BIN = REPO_ROOT / ".venv" / "bin"
REGION = "us-east-1"
ACCOUNT_ID = bootstrap.ACCOUNT_ID
TERMINAL = {"SUCCEEDED", "FAILED", "ROLLED_BACK", "SUPERSEDED", "ABORTED"}
MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
STOP_GRACE_SECONDS = 10
# No proxy for loopback: a proxy from the environment must not sit between us and the emulator.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", REPO_ROOT / "target"))


def profile() -> str:
    """The cargo profile the stack builds and runs: `dev` (default) or `release`."""
    value = os.environ.get("STEVEDORE_LOCAL_PROFILE", "dev")
    if value not in ("dev", "release"):
        raise ValueError(f"STEVEDORE_LOCAL_PROFILE must be dev or release, not {value!r}")
    return value


def profile_flags() -> list[str]:
    return ["--release"] if profile() == "release" else []


def profile_dir() -> Path:
    """Where cargo puts the profile's binaries (the dev profile's directory is `debug`)."""
    return target_dir() / ("release" if profile() == "release" else "debug")


def build_binaries() -> None:
    """One build of every binary; `cargo lambda watch` then runs them without rebuilding."""
    print(f"stack: cargo build --bins ({profile()} profile)", file=sys.stderr, flush=True)
    subprocess.run(["cargo", "build", "--bins", *profile_flags()], cwd=REPO_ROOT, check=True)


def _stop(proc: subprocess.Popen | None, name: str) -> None:
    """SIGTERM the process group, SIGKILL it after a grace period."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        print(f"stack: {name} ignored SIGTERM; killing it", file=sys.stderr)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_GRACE_SECONDS)
    except ProcessLookupError:
        pass


def manifest_for(layer_seed: str) -> str:
    """A Docker v2 manifest whose layer/config digests derive from the seed (same seed, same bytes)."""
    layer = hashlib.sha256(f"layer:{layer_seed}".encode()).hexdigest()
    config = hashlib.sha256(f"config:{layer_seed}".encode()).hexdigest()
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": 1469, "digest": f"sha256:{config}"},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 2811478, "digest": f"sha256:{layer}"}],
    }, sort_keys=True)


class LocalStack:
    def __init__(self, *, build: bool = True, stack_name: str = bootstrap.DEFAULT_STACK,
                 startup_timeout: float = 120.0, parameters: dict[str, Any] | None = None,
                 function_concurrency: int = 1) -> None:
        self.build = build
        # `cargo lambda watch --concurrency`: instances per function (its default, 1, runs
        # every invocation of a function one after another; Lambda runs them side by side).
        self.function_concurrency = function_concurrency
        self.parameters = parameters  # template parameters; the others take their defaults
        self.stack_name = stack_name
        self.startup_timeout = startup_timeout
        self.run_dir = Path(tempfile.mkdtemp(prefix="stevedore-local-"))
        self.emulator_log = self.run_dir / "emulator.log"
        self.lambda_log = self.run_dir / "cargo-lambda-watch.log"
        self.emulator: subprocess.Popen | None = None
        self.watch: subprocess.Popen | None = None
        self.url = ""
        self.lambda_url = ""
        self.resources: bootstrap.LocalStackResources | None = None
        self.session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                     region_name=REGION)
        self._clients: dict[str, Any] = {}

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> "LocalStack":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        emulator_port, lambda_port = free_port(), free_port()
        self.lambda_url = f"http://127.0.0.1:{lambda_port}"
        if self.build:
            build_binaries()
        self._start_emulator(emulator_port)
        # A workload account beside the tools account: template-target.yaml applied there.
        parameters = {"WorkloadAccountIds": target_account.WORKLOAD_ACCOUNT, **(self.parameters or {})}
        self.resources = bootstrap.bootstrap(self.session, self.url, stack=self.stack_name,
                                             region=REGION, parameters=parameters)
        target_account.bootstrap_target(self.session, self.url, self.resources)
        self._start_watch(lambda_port)
        print(f"stack: emulator {self.url}, functions {self.lambda_url}, logs {self.run_dir}",
              file=sys.stderr, flush=True)

    def stop(self) -> None:
        _stop(self.watch, "cargo lambda watch")
        self._stop_function_groups()
        _stop(self.emulator, "emulator")
        print(f"stack: stopped; logs in {self.run_dir}", file=sys.stderr, flush=True)

    def _start_emulator(self, port: int) -> None:
        cmd = [sys.executable, str(HERE / "launcher.py"), "--host", "127.0.0.1",
               "--port", str(port), "--lambda-url", self.lambda_url]
        log = open(self.emulator_log, "wb")
        self.emulator = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            for line in self.emulator_log.read_text(errors="replace").splitlines():
                if line.startswith("READY "):
                    self.url = line.split(None, 1)[1].strip().rstrip("/")
                    return
            if self.emulator.poll() is not None:
                raise RuntimeError(f"emulator exited with {self.emulator.returncode}:\n"
                                   + self.tail(self.emulator_log))
            time.sleep(0.1)
        raise TimeoutError(f"emulator printed no READY line:\n{self.tail(self.emulator_log)}")

    @property
    def env(self) -> dict[str, str]:
        """Environment of the functions and the CLI: what a Lambda would see, pointed here."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(self.resources.function_env if self.resources else {})
        env.update({
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
            "RUST_LOG": "info",
            "NO_PROXY": "127.0.0.1,localhost",
            # Plain logs: they are read from files, not terminals.
            "NO_COLOR": "1",
            "CARGO_TERM_COLOR": "never",
        })
        return env

    def _stop_function_groups(self) -> None:
        """`cargo lambda watch` runs each function (`cargo run --bin ..`) in a process group of
        its own and logs its id; make sure none outlives the watch that started it."""
        try:
            text = self.lambda_log.read_text(errors="replace")
            pgids = set(re.findall(r"process group spawned pgid=(\d+)", text))
        except OSError:
            return
        for pgid in map(int, pgids):
            try:
                os.killpg(pgid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                continue

    def _start_watch(self, port: int) -> None:
        # --ignore-changes: source edits while tests run must not rebuild and restart functions.
        cmd = [str(VENV_BIN / "cargo-lambda"), "lambda", "watch", "--ignore-changes",
               *profile_flags(), "-A", "127.0.0.1", "-P", str(port)]
        if self.function_concurrency != 1:
            cmd += ["--concurrency", str(self.function_concurrency)]
        log = open(self.lambda_log, "wb")
        self.watch = subprocess.Popen(cmd, cwd=REPO_ROOT, env=self.env, stdout=log,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.watch.poll() is not None:
                raise RuntimeError(f"cargo lambda watch exited with {self.watch.returncode}:\n"
                                   + self.tail(self.lambda_log))
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"cargo lambda watch is not answering on {port}:\n"
                           + self.tail(self.lambda_log))

    @staticmethod
    def tail(path: Path, lines: int = 40) -> str:
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # ------------------------------------------------------------ clients and helpers
    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.url,
                                                         region_name=REGION)
        return self._clients[service]

    @property
    def table_name(self) -> str:
        return self.resources.function_env["STEVEDORE_TABLE"]

    @property
    def table(self) -> Any:
        return self.session.resource("dynamodb", endpoint_url=self.url,
                                     region_name=REGION).Table(self.table_name)

    @property
    def deploy_state_machine_arn(self) -> str:
        return self.resources.function_env["DEPLOY_STATE_MACHINE_ARN"]

    def control(self, path: str, body: Any = None, timeout: float = 30) -> Any:
        """GET (no body) or POST (JSON body) on the emulator's `/_stevedore/` control API."""
        url = f"{self.url}/_stevedore/{path.lstrip('/')}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method="GET" if data is None else "POST",
                                     headers={"Content-Type": "application/json"})
        with _opener.open(req, timeout=timeout) as resp:
            text = resp.read().decode()
        return json.loads(text) if text.strip() else None

    def drain_streams(self, function: str = "record", timeout: float = 60.0) -> None:
        """Wait until `function`'s DynamoDB stream event source mappings (record's
        ReleaseChangesMapping) have handled every table change made so far: sent to the
        function, filtered out, or given up to the on-failure queue."""
        answer = self.control("lambda/event-source-mappings/drain",
                              {"function": function, "timeout": timeout}, timeout=timeout + 10)
        if not answer["drained"]:
            raise TimeoutError(f"{function}'s stream mappings still have records to handle after "
                               f"{timeout} s: {answer['pending']}")

    def stevedore(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run the operator CLI (target/debug/stevedore, or the release one) against this stack."""
        binary = profile_dir() / "stevedore"
        proc = subprocess.run([str(binary), *args], cwd=REPO_ROOT, env=self.env,
                              capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            raise RuntimeError(f"stevedore {' '.join(args)} exited {proc.returncode}:\n"
                               f"{proc.stdout}\n{proc.stderr}")
        return proc

    def push_image(self, repository: str, tag: str, layer_seed: str) -> str:
        """Push an image manifest (no layers are uploaded); returns the digest ECR gives it."""
        resp = self.client("ecr").put_image(
            repositoryName=repository, imageManifest=manifest_for(layer_seed),
            imageManifestMediaType=MANIFEST_MEDIA_TYPE, imageTag=tag)
        return resp["image"]["imageId"]["imageDigest"]

    def registry(self) -> str:
        return f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com"

    # ------------------------------------------------------------ table and executions
    def releases(self, app: str, stage: str) -> list[dict[str, Any]]:
        """Every release of (app, stage), oldest first, over all pages (a Query answers at
        most 1 MB)."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(f"APP#{app}#STAGE#{stage}") & Key("SK").begins_with("REL#"),
            "ConsistentRead": True}
        while True:
            resp = self.table.query(**kwargs)
            items.extend(resp["Items"])
            if not resp.get("LastEvaluatedKey"):
                return items
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def head(self, app: str, stage: str) -> dict[str, Any] | None:
        return self.table.get_item(Key={"PK": f"APP#{app}#STAGE#{stage}", "SK": "HEAD"},
                                   ConsistentRead=True).get("Item")

    def executions(self, app: str | None = None) -> list[dict[str, Any]]:
        """Executions of the deploy state machine, optionally only those whose input names
        `app` (tests share one stack, each with its own app); each carries its `input`."""
        sfn = self.client("stepfunctions")
        out, token = [], None
        while True:
            kwargs = {"stateMachineArn": self.deploy_state_machine_arn, "maxResults": 100}
            if token:
                kwargs["nextToken"] = token
            page = sfn.list_executions(**kwargs)
            out += page["executions"]
            token = page.get("nextToken")
            if not token:
                break
        for ex in out:
            described = sfn.describe_execution(executionArn=ex["executionArn"])
            ex["input"] = json.loads(described.get("input") or "{}")
        return [ex for ex in out if app is None or ex["input"].get("app") == app]

    def wait_for_release(self, app: str, stage: str,
                         predicate: Callable[[dict[str, Any]], bool] | None = None,
                         timeout: float = 180.0, poll: float = 0.5) -> dict[str, Any]:
        """The first release of (app, stage) for which `predicate` holds (default: terminal)."""
        predicate = predicate or (lambda r: r.get("status") in TERMINAL)
        deadline = time.monotonic() + timeout
        seen: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            seen = self.releases(app, stage)
            for release in seen:
                if predicate(release):
                    return release
            time.sleep(poll)
        raise TimeoutError(self.diagnose(app, stage, seen, timeout))

    def diagnose(self, app: str, stage: str, seen: list[dict[str, Any]], timeout: float) -> str:
        """What a failing wait reports: the table, the executions, and where the logs are."""
        lines = [f"no matching release of {app}/{stage} after {timeout:.0f}s",
                 f"releases: {json.dumps(seen, default=str, indent=1)}",
                 f"head: {json.dumps(self.head(app, stage), default=str)}"]
        for ex in self.executions(app)[:20]:
            lines.append(f"execution {ex['name']}: {ex['status']}")
        lines.append(f"logs: {self.emulator_log} {self.lambda_log}")
        lines.append("cargo lambda watch (tail):\n" + self.tail(self.lambda_log, 30))
        return "\n".join(lines)
