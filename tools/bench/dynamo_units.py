"""DynamoDB request units of recorded requests (on-demand capacity mode).

The emulator's request audit keeps each DynamoDB request's parameters; the units follow the
rules of https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html
and .../capacity-mode.html:
- a write: one WRU per 1 KB of the item (for UpdateItem the larger of the item before and
  after; here the item as it is at the end of the release, which is the larger one for an
  item that only grows), two for a transactional write; a write to an item that carries the
  index's key attributes writes the index too (ByDigest projects ALL attributes);
- a read: one RRU per 4 KB for a strongly consistent read, half of it for an eventually
  consistent one, two for a transactional read; a Query sums the sizes of the items it reads
  (re-run here without its filter, which DynamoDB applies after reading);
- a failed conditional write still consumes the write's units.
Item size: attribute names plus values as the developer guide's item size section counts them.
"""

from __future__ import annotations

import math
from typing import Any

GSI_KEY = "GSI1PK"  # the table's one index (ByDigest) keys on it


def value_size(value: dict[str, Any]) -> int:
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = len(str(v).lstrip("-").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(v) if isinstance(v, (bytes, bytearray)) else math.ceil(len(v) * 3 / 4)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: x}) for x in v)
    if kind == "L":
        return 3 + sum(1 + value_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(x) for k, x in v.items())
    return 0


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(k.encode()) + value_size(v) for k, v in (item or {}).items())


def _units(size: int, per: int) -> int:
    return max(1, math.ceil(size / per))


class Sizer:
    """Sizes the items a request touched, reading them back from the table."""

    def __init__(self, client: Any):
        self.client = client
        self._cache: dict[tuple, dict[str, Any] | None] = {}

    def item(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        cache_key = (table, tuple(sorted((k, str(v)) for k, v in key.items())))
        if cache_key not in self._cache:
            self._cache[cache_key] = self.client.get_item(TableName=table, Key=key,
                                                          ConsistentRead=True).get("Item")
        return self._cache[cache_key]

    def query_size(self, params: dict[str, Any]) -> int:
        args = {k: params[k] for k in ("TableName", "IndexName", "KeyConditionExpression",
                                       "ExpressionAttributeValues", "ExpressionAttributeNames",
                                       "ScanIndexForward", "ExclusiveStartKey", "Limit")
                if k in params}
        if "ExpressionAttributeNames" in args:  # names only the filter/projection used
            used = args.get("KeyConditionExpression", "")
            args["ExpressionAttributeNames"] = {k: v for k, v in args["ExpressionAttributeNames"].items()
                                                if k in used} or None
            if args["ExpressionAttributeNames"] is None:
                del args["ExpressionAttributeNames"]
        if "ExpressionAttributeValues" in args:
            used = args.get("KeyConditionExpression", "")
            args["ExpressionAttributeValues"] = {k: v for k, v in args["ExpressionAttributeValues"].items()
                                                 if k in used}
        items = self.client.query(**args).get("Items", [])
        return sum(item_size(i) for i in items)

    def write_units(self, table: str, key: dict[str, Any] | None, item: dict[str, Any] | None,
                    transactional: bool = False) -> float:
        stored = self.item(table, key) if key else None
        size = max(item_size(item), item_size(stored))
        units = _units(size, 1024)
        has_index = GSI_KEY in (item or {}) or GSI_KEY in (stored or {})
        return units * (2 if transactional else 1) + (units if has_index else 0)


def _key_of(params: dict[str, Any]) -> dict[str, Any] | None:
    if "Key" in params:
        return params["Key"]
    item = params.get("Item") or {}
    key = {k: item[k] for k in ("PK", "SK") if k in item}
    return key or None


def request_units(sizer: Sizer, operation: str, params: dict[str, Any]) -> tuple[float, float]:
    """(read units, write units) of one request."""
    table = params.get("TableName", "")
    if operation == "GetItem":
        factor = 1.0 if params.get("ConsistentRead") else 0.5
        return _units(item_size(sizer.item(table, params["Key"])), 4096) * factor, 0.0
    if operation == "Query":
        factor = 1.0 if params.get("ConsistentRead") else 0.5
        return _units(sizer.query_size(params), 4096) * factor, 0.0
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        return 0.0, sizer.write_units(table, _key_of(params), params.get("Item"))
    if operation == "TransactWriteItems":
        write = 0.0
        for entry in params.get("TransactItems", []):
            (kind, body), = entry.items()
            if kind == "ConditionCheck":
                write += 2 * _units(item_size(sizer.item(body["TableName"], body["Key"])), 1024)
            else:
                write += sizer.write_units(body["TableName"], _key_of(body), body.get("Item"), True)
        return 0.0, write
    if operation in ("TransactGetItems", "BatchGetItem"):
        read = 0.0
        entries = (params.get("TransactItems") or []) if operation == "TransactGetItems" else [
            {"Get": {"TableName": t, "Key": k}} for t, spec in (params.get("RequestItems") or {}).items()
            for k in spec.get("Keys", [])]
        for entry in entries:
            get = entry["Get"]
            units = _units(item_size(sizer.item(get["TableName"], get["Key"])), 4096)
            read += units * (2 if operation == "TransactGetItems" else 1)
        return read, 0.0
    return 0.0, 0.0  # DescribeTable and the like: no request units
