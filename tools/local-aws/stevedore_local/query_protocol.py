"""AWS query protocol requests (SNS, and any other ``Action=...`` form) read back into the
botocore parameter shape, so the request audit validates them and the IAM check sees their
resources (``TopicArn``) like those of the JSON protocols.

The form is the one botocore's ``QuerySerializer`` (and the Rust SDK's aws-smithy-query)
writes, as the query protocol defines it
(https://smithy.io/2.0/aws/protocols/aws-query-protocol.html): structure members by their
``locationName`` joined with ``.``; lists as ``<name>.member.<n>`` (``<name>.<n>`` when
flattened, an empty ``<name>=`` when empty); maps as ``<name>.entry.<n>.<key name>`` and
``.<value name>``; booleans ``true``/``false``; blobs base64; timestamps as written.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs

_MISSING = object()


def form_of(query: str, content_type: str, body: bytes) -> dict[str, str]:
    """The request's form fields (query string and urlencoded body; the last value wins)."""
    fields = parse_qs(query, keep_blank_values=True)
    if "form-urlencoded" in content_type:
        fields.update(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
    return {key: values[-1] for key, values in fields.items()}


PROTOCOL_FIELDS = {"Action", "Version"}


def params_of(input_shape: Any, form: dict[str, str]) -> dict[str, Any]:
    """The operation's input as botocore takes it. ``Action`` and ``Version`` are left out;
    any other field no member of the shape reads is kept under its raw name, so the validator
    reports it as an unknown member (a misspelt parameter is not silently dropped)."""
    if input_shape is None:
        return {}
    value = _structure(input_shape, form, "")
    out = value if isinstance(value, dict) else {}
    wires = {_name(member, name) for name, member in input_shape.members.items()}
    out.update({key: text for key, text in form.items()
                if key not in PROTOCOL_FIELDS and key.split(".", 1)[0] not in wires})
    return out


def _present(form: dict[str, str], path: str) -> bool:
    dotted = f"{path}."
    return path in form or any(key.startswith(dotted) for key in form)


def _name(shape: Any, default: str) -> str:
    return shape.serialization.get("name", default)


def _value(shape: Any, form: dict[str, str], path: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _structure(shape, form, path)
    if kind == "list":
        return _list(shape, form, path)
    if kind == "map":
        return _map(shape, form, path)
    if path not in form:
        return _MISSING
    return _scalar(kind, form[path])


def _structure(shape: Any, form: dict[str, str], path: str) -> Any:
    if path and not _present(form, path):
        return _MISSING
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        wire = _name(member, name)
        value = _value(member, form, f"{path}.{wire}" if path else wire)
        if value is not _MISSING:
            out[name] = value
    return out


def _list(shape: Any, form: dict[str, str], path: str) -> Any:
    if not _present(form, path):
        return _MISSING
    if form.get(path) == "":
        return []
    if shape.serialization.get("flattened"):
        member_name = shape.member.serialization.get("name")
        prefix = ".".join(path.split(".")[:-1] + [member_name]) if member_name else path
    else:
        prefix = f"{path}.{_name(shape.member, 'member')}"
    items, index = [], 1
    while _present(form, f"{prefix}.{index}"):
        item = _value(shape.member, form, f"{prefix}.{index}")
        items.append(None if item is _MISSING else item)
        index += 1
    return items


def _map(shape: Any, form: dict[str, str], path: str) -> Any:
    if not _present(form, path):
        return _MISSING
    prefix = path if shape.serialization.get("flattened") else f"{path}.entry"
    key_name, value_name = _name(shape.key, "key"), _name(shape.value, "value")
    out: dict[str, Any] = {}
    index = 1
    while f"{prefix}.{index}.{key_name}" in form:
        value = _value(shape.value, form, f"{prefix}.{index}.{value_name}")
        out[form[f"{prefix}.{index}.{key_name}"]] = None if value is _MISSING else value
        index += 1
    return out


def _scalar(kind: str, text: str) -> Any:
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "boolean":
            return {"true": True, "false": False}.get(text, text)
        if kind == "blob":
            return base64.b64decode(text)
    except ValueError:
        return text  # left as sent: the validator reports the wrong type
    return text
