"""What the benchmark needs to know about each function, read from the sources themselves:
the binaries (template.yaml, as tools/package.py reads them), each one's configured memory,
and the AWS service clients its main.rs builds (so the boto3 comparison builds the same set)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from cfnlint.decode import decode  # noqa: E402

import package  # noqa: E402  (tools/package.py: the functions `make package` builds)

TEMPLATE = ROOT / "template.yaml"

# Each stevedore_aws adapter a main.rs builds with `<Adapter>::from_sdk(&sdk, ...)`, and the
# SDK clients its from_sdk creates (crates/aws/src), as boto3 service names.
ADAPTER_CLIENTS = {
    "Store": ["dynamodb"],
    "StepFunctions": ["stepfunctions"],
    "Ecs": ["ecs"],
    "Ecr": ["ecr"],
    "CodeBuild": ["codebuild"],
    "SecretsManager": ["secretsmanager"],
    "NotificationSecrets": ["secretsmanager"],
    "ParameterStore": ["ssm"],
    "Schedules": ["scheduler", "events"],
    "EventBus": ["events"],
    "Topic": ["sns"],
    "LoadBalancers": ["elbv2"],
}
_FROM_SDK = re.compile(r"\b([A-Z][A-Za-z]+)::from_sdk\(")


def binaries() -> list[str]:
    return package.functions(TEMPLATE)


def memory_mb() -> dict[str, int]:
    """Each function's MemorySize (its own, else the template's Globals)."""
    parsed, problems = decode(str(TEMPLATE))
    if problems or parsed is None:
        raise SystemExit(f"cannot read {TEMPLATE}: {problems}")
    default = int(((parsed.get("Globals") or {}).get("Function") or {}).get("MemorySize", 128))
    out = {}
    for resource in parsed["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
        out[str(binary)] = int((resource.get("Properties") or {}).get("MemorySize", default))
    return out


def sdk_clients(binary: str) -> list[str]:
    """The boto3 services matching the SDK clients functions/<binary>/src/main.rs builds."""
    main_rs = ROOT / "functions" / binary / "src" / "main.rs"
    services: list[str] = []
    for adapter in _FROM_SDK.findall(main_rs.read_text()):
        if adapter not in ADAPTER_CLIENTS:
            raise SystemExit(f"{main_rs}: {adapter}::from_sdk builds clients this benchmark does "
                             "not know; add it to tools/bench/functions.py ADAPTER_CLIENTS")
        services += [s for s in ADAPTER_CLIENTS[adapter] if s not in services]
    return services


# From the stack's environment, what a function's environment on Lambda would hold: the
# AWS settings, the template's variables (function_env) and logging; not this shell's other
# variables (a CA bundle path in SSL_CERT_FILE, for one, changes how TLS roots load).
_KEEP = ("PATH", "LANG", "RUST_LOG", "NO_COLOR", "NO_PROXY", "TZ")


def lambda_like_env(stack_env: dict[str, str], function_env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in stack_env.items()
            if k.startswith("AWS_") or k in _KEEP or k in function_env}
