"""What botocore's ParamValidator leaves out, checked against the same service model:
``max`` lengths / ranges (botocore checks only ``min``), ``pattern``, enum values, and the ARN
formats AWS enforces on the members Stevedore sends (secrets' ``valueFrom``, IAM role ARNs,
ECS cluster / service / task / task definition ARNs, Step Functions and Secrets Manager ARNs).

``walk`` returns ``[(member path, problem, value)]``; paths look like botocore's
(``containerDefinitions[0].secrets[1].valueFrom``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

PARTITION = r"arn:aws(?:-[a-z]+)*"
REGION = r"[a-z]{2}(?:-[a-z]+)+-\d"
ACCOUNT = r"\d{12}"
NAME = r"[A-Za-z0-9_-]{1,255}"

# arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>[:<json-key>:<stage>:<id>]
SECRETS_MANAGER_ARN = re.compile(
    rf"^{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{{6}}"
    r"(?::[^:]*:[^:]*:[^:]*)?$")
SECRETS_MANAGER_ANY_ARN = re.compile(
    rf"^{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:[A-Za-z0-9/_+=.@-]+$")
SSM_PARAMETER_ARN = re.compile(rf"^{PARTITION}:ssm:{REGION}:{ACCOUNT}:parameter/[A-Za-z0-9_.\-/]+$")
SSM_PARAMETER_NAME = re.compile(r"^[A-Za-z0-9_.\-/]{1,2048}$")
IAM_ROLE_ARN = re.compile(rf"^{PARTITION}:iam::{ACCOUNT}:role/(?:[\x21-\x7e]+/)?[\w+=,.@-]{{1,64}}$")
ECS_ARNS = {
    "cluster": re.compile(rf"^{PARTITION}:ecs:{REGION}:{ACCOUNT}:cluster/{NAME}$"),
    "service": re.compile(rf"^{PARTITION}:ecs:{REGION}:{ACCOUNT}:service/(?:{NAME}/)?{NAME}$"),
    # 32 hex digits on AWS; moto makes uuid4s (36 characters): the value came from moto.
    "task": re.compile(rf"^{PARTITION}:ecs:{REGION}:{ACCOUNT}:task/(?:{NAME}/)?(?:[a-f0-9]{{32}}|"
                       r"[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})$"),
    "task-definition": re.compile(
        rf"^{PARTITION}:ecs:{REGION}:{ACCOUNT}:task-definition/{NAME}:[1-9]\d*$"),
}
SFN_ARNS = {
    "stateMachine": re.compile(rf"^{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:[\w.-]{{1,80}}$"),
    "execution": re.compile(
        rf"^{PARTITION}:states:{REGION}:{ACCOUNT}:execution:[\w.-]{{1,80}}:[\w.-]{{1,80}}$"),
}
# Topic names: 1-256 letters, digits, `-` and `_` (a FIFO topic's end in `.fifo`):
# https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html
SNS_TOPIC_ARN = re.compile(rf"^{PARTITION}:sns:{REGION}:{ACCOUNT}:[A-Za-z0-9_-]{{1,256}}(?:\.fifo)?$")
LAMBDA_ARN = re.compile(
    rf"^{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:[A-Za-z0-9_-]{{1,64}}(?::[\w$-]+)?$")

# (service, member name) -> kind of ARN it holds (when it is an ARN, or always).
ROLE_MEMBERS = {"executionRoleArn", "taskRoleArn", "roleArn", "RoleArn", "infrastructureRoleArn"}
ECS_MEMBERS = {"cluster": "cluster", "clusterArn": "cluster", "service": "service",
               "services": "service", "serviceArn": "service", "task": "task", "tasks": "task",
               "taskArn": "task", "taskDefinition": "task-definition",
               "taskDefinitionArn": "task-definition"}
SFN_MEMBERS = {"stateMachineArn": "stateMachine", "executionArn": "execution"}


def value_from_problem(value: str) -> str | None:
    """Why ECS would reject ``valueFrom`` (None when it is well formed)."""
    if value.startswith("arn:"):
        service = value.split(":")[2] if value.count(":") >= 2 else ""
        if service == "secretsmanager":
            if SECRETS_MANAGER_ARN.match(value):
                return None
            return ("not a Secrets Manager secret ARN: expected arn:aws:secretsmanager:<region>:"
                    "<12 digits>:secret:<name>-<6 chars>[:<json-key>:<version-stage>:<version-id>]")
        if service == "ssm":
            return None if SSM_PARAMETER_ARN.match(value) else "not an SSM parameter ARN"
        return f"valueFrom ARN of service {service!r}: only secretsmanager and ssm are allowed"
    if SSM_PARAMETER_NAME.match(value):
        return None
    return "neither an ARN nor an SSM parameter name"


def arn_problem(service: str, member: str, value: str) -> str | None:
    if member in ROLE_MEMBERS:
        return None if IAM_ROLE_ARN.match(value) else "not an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)"
    if member in ("valueFrom", "credentialsParameter") and service == "ecs":
        return value_from_problem(value)
    if not value.startswith("arn:"):
        return None
    kind = None
    if service == "ecs" and member in ECS_MEMBERS:
        kind, pattern = ECS_MEMBERS[member], ECS_ARNS[ECS_MEMBERS[member]]
    elif service == "stepfunctions" and member in SFN_MEMBERS:
        kind, pattern = SFN_MEMBERS[member], SFN_ARNS[SFN_MEMBERS[member]]
    elif service == "secretsmanager" and member in ("SecretId", "secretId"):
        kind, pattern = "secret", SECRETS_MANAGER_ANY_ARN
    elif service == "sns" and member == "TopicArn":
        kind, pattern = "topic", SNS_TOPIC_ARN
    elif service == "lambda" and member == "FunctionName":
        kind, pattern = "function", LAMBDA_ARN
    if kind is None or pattern.match(value):
        return None
    return f"malformed {service} {kind} ARN"


JAVA_CLASSES = {r"\p{ASCII}": r"\x00-\x7f", r"\p{Alpha}": "A-Za-z", r"\p{Digit}": "0-9",
                r"\p{Alnum}": "A-Za-z0-9", r"\p{Punct}": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
                r"\p{Print}": r"\x20-\x7e", r"\p{Upper}": "A-Z", r"\p{Lower}": "a-z", r"\p{Space}": r" \t\n\x0b\f\r"}


def _java_classes(text: str) -> str:
    """Java's ``\\p{Alnum}``-style classes, which Python's ``re`` lacks, as ranges."""
    out, i, depth = [], 0, 0
    while i < len(text):
        if text[i] == "\\":
            java = next((j for j in JAVA_CLASSES if text.startswith(j, i)), None)
            if java:
                out.append(JAVA_CLASSES[java] if depth else f"[{JAVA_CLASSES[java]}]")
                i += len(java)
                continue
            out.append(text[i:i + 2])
            i += 2
            continue
        depth += {"[": 1, "]": -1}.get(text[i], 0) if (text[i] != "]" or depth) else 0
        out.append(text[i])
        i += 1
    return "".join(out)


@lru_cache(maxsize=None)
def _pattern(text: str) -> re.Pattern | None:
    # UTF-16 surrogate pairs (Java) stand for the supplementary planes.
    text = _java_classes(text).replace(r"\uD800\uDC00-\uDBFF\uDFFF", r"\U00010000-\U0010FFFF")
    try:
        return re.compile(text)
    except re.error:
        return None  # other Java-only syntax: not checkable here


def _check_scalar(service: str, member: str, path: str, value: Any, shape: Any,
                  out: list[tuple[str, str, Any]]) -> None:
    meta = shape.metadata
    if meta.get("sensitive") and isinstance(value, str):
        value_shown = "<sensitive>"
    else:
        value_shown = value
    if shape.type_name == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            out.append((path, f"too long: {len(value)} characters, max {meta['max']}", value_shown))
        enum = getattr(shape, "enum", None) or meta.get("enum")
        if enum and value not in enum:
            out.append((path, f"not one of the enum values {list(enum)}", value_shown))
        pattern = _pattern(meta["pattern"]) if meta.get("pattern") else None
        if pattern is not None and not pattern.fullmatch(value):  # AWS matches the whole value
            out.append((path, f"does not match the pattern {meta['pattern']!r}", value_shown))
        problem = arn_problem(service, member, value)
        if problem:
            out.append((path, problem, value_shown))
    elif shape.type_name in ("integer", "long", "double", "float") and isinstance(value, (int, float)) \
            and not isinstance(value, bool):
        if "max" in meta and value > meta["max"]:
            out.append((path, f"out of range: {value} > max {meta['max']}", value_shown))


def walk(service: str, operation: str, value: Any, shape: Any, region: str | None,
         path: str = "", member: str = "") -> list[tuple[str, str, Any]]:
    out: list[tuple[str, str, Any]] = []
    del operation, region  # the checks depend on the member, not the operation or region
    _walk(service, value, shape, path, member, out)
    return out


def _walk(service: str, value: Any, shape: Any, path: str, member: str,
          out: list[tuple[str, str, Any]]) -> None:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, child in value.items():
            if name in shape.members:
                _walk(service, child, shape.members[name], f"{path}.{name}", name, out)
    elif kind == "list" and isinstance(value, list):
        if "max" in shape.metadata and len(value) > shape.metadata["max"]:
            out.append((path, f"too many items: {len(value)}, max {shape.metadata['max']}", None))
        for i, item in enumerate(value):
            _walk(service, item, shape.member, f"{path}[{i}]", member, out)
    elif kind == "map" and isinstance(value, dict):
        if "max" in shape.metadata and len(value) > shape.metadata["max"]:
            out.append((path, f"too many entries: {len(value)}, max {shape.metadata['max']}", None))
        for key, item in value.items():
            _check_scalar(service, "", f"{path} (key: {key})", key, shape.key, out)
            _walk(service, item, shape.value, f"{path}.{key}", "", out)
    else:
        _check_scalar(service, member, path, value, shape, out)

