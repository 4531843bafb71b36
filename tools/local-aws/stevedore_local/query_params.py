"""Query-protocol requests (CloudFormation, STS, SNS, EC2...) read back into botocore's input
shape, so the request audit validates them like JSON ones.

The wire format (Smithy's awsQuery protocol, https://smithy.io/2.0/aws/protocols/aws-query-protocol.html,
which the services' "Query requests" pages describe): form fields `Action` and `Version`, each
input member under its serialized name; nested structures join names with `.`; a list is
`Name.member.N` (`Name.N` when flattened, N from 1), an empty list `Name=`; a map is
`Name.entry.N.key` / `.value` (`Name.N.key` when flattened).

Fields that no member of the input shape consumes are kept under their raw names, so the
validator reports them as unknown members: a misspelt parameter is not silently dropped.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()
PROTOCOL_FIELDS = {"Action", "Version"}


def params(shape: Any, form: dict[str, list[str]]) -> dict[str, Any]:
    """The botocore params of a query request's form fields (`shape`: the operation's input)."""
    flat = {key: values[-1] for key, values in form.items()}
    used: set[str] = set(PROTOCOL_FIELDS)
    out: dict[str, Any] = {}
    if shape is not None:
        value = _read(shape, "", flat, used)
        out = value if isinstance(value, dict) else {}
    out.update({key: value for key, value in flat.items() if key not in used})
    return out


def _key(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _has_under(prefix: str, flat: dict[str, str]) -> bool:
    return any(key.startswith(prefix + ".") for key in flat)


def _read(shape: Any, prefix: str, flat: dict[str, str], used: set[str]) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if prefix and not _has_under(prefix, flat):
            return _MISSING
        out = {}
        for name, member in shape.members.items():
            value = _read(member, _key(prefix, member.serialization.get("name", name)), flat, used)
            if value is not _MISSING:
                out[name] = value
        return out
    if kind == "list":
        return _read_list(shape, prefix, flat, used)
    if kind == "map":
        return _read_map(shape, prefix, flat, used)
    if prefix not in flat:
        return _MISSING
    used.add(prefix)
    return _scalar(kind, flat[prefix])


def _read_list(shape: Any, prefix: str, flat: dict[str, str], used: set[str]) -> Any:
    if flat.get(prefix) == "":
        used.add(prefix)
        return []
    flattened = shape.serialization.get("flattened", False)
    member_name = shape.member.serialization.get("name", "member")
    items, n = [], 1
    while True:
        key = f"{prefix}.{n}" if flattened else f"{prefix}.{member_name}.{n}"
        value = _read(shape.member, key, flat, used)
        if value is _MISSING:
            return items if items else _MISSING
        items.append(value)
        n += 1


def _read_map(shape: Any, prefix: str, flat: dict[str, str], used: set[str]) -> Any:
    flattened = shape.serialization.get("flattened", False)
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    out, n = {}, 1
    while True:
        entry = f"{prefix}.{n}" if flattened else f"{prefix}.entry.{n}"
        key = _read(shape.key, f"{entry}.{key_name}", flat, used)
        if key is _MISSING:
            return out if out else _MISSING
        value = _read(shape.value, f"{entry}.{value_name}", flat, used)
        out[key] = None if value is _MISSING else value
        n += 1


def _scalar(kind: str, text: str) -> Any:
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
    except ValueError:
        return text  # the validator reports the wrong type
    if kind == "boolean":
        return {"true": True, "false": False}.get(text, text)
    return text
