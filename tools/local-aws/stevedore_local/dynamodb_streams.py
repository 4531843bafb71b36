"""DynamoDB Streams: the stream records of a table whose StreamSpecification is on.

moto writes a stream record inside StreamShard.add, which it calls from the middle of each
write and which pushes records to Lambda synchronously, inside the writer's request, for
functions that exist in moto (ours do not). It also gets some records wrong: an UpdateItem
that creates an item yields two INSERTs, a PutItem or UpdateItem that changes nothing yields
a MODIFY, and a TransactWriteItems that is cancelled keeps the records of the items written
before the failing one. Here StreamShard.add only notes the change; each write operation
(PutItem, UpdateItem, DeleteItem, TransactWriteItems, one item of BatchWriteItem) commits its
changes when it succeeds, one record per item it changed, and drops them when it fails.

What AWS documents, and what this does:
- a record per item modified, INSERT / MODIFY / REMOVE, and none for a PutItem or UpdateItem
  that does not change any data in an item, nor for a write that fails (a condition, a
  cancelled transaction): "Change data capture for DynamoDB Streams",
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html
- each record appears once, and the records of one item appear in the order of its
  modifications (same page). Here a table has one shard and records are appended in commit
  order under the lock that makes writes atomic (dynamodb_atomic.py): stricter than AWS,
  which orders only per item.
- the record's fields (Record, StreamRecord):
  https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_Record.html
  https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html
  ApproximateCreationDateTime is epoch seconds "rounded down to the closest second" (a JSON
  integer here, as in Lambda's sample events); SequenceNumber a string of 21 to 40 digits
  (here always 25, increasing, not consecutive); Keys always, NewImage / OldImage as the
  StreamViewType says.
- records are kept 24 hours (the stream's retention), then trimmed.

Consumers (Lambda event source mappings, stream_mappings.py) read with ``read`` and wait with
``wait_for``; writers never wait for them.
"""

from __future__ import annotations

import functools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from .dynamodb_atomic import WRITE_LOCK

RETENTION_SECONDS = 24 * 3600
_SEQUENCE_START = 4 * 10**24  # 25 digits, so string order is numeric order
_SEQUENCE_STRIDE = 100
_OPERATIONS = ("put_item", "update_item", "delete_item", "transact_write_items",
               "execute_statement", "execute_transaction", "batch_execute_statement")


@dataclass
class Stream:
    arn: str
    table_arn: str
    region: str
    view_type: str
    shard_id: str
    records: list[dict[str, Any]] = field(default_factory=list)
    first_index: int = 0  # the position of records[0] (records before it were trimmed)
    written: int = 0      # records ever written: the position after the last one

    def end(self) -> int:
        return self.first_index + len(self.records)


_streams: dict[str, Stream] = {}            # stream ARN -> stream
_changed = threading.Condition(threading.Lock())
_local = threading.local()                  # .depth, .pending of the running write


def now() -> float:
    """The clock of record times (tests move it to age records)."""
    return time.time()


# ------------------------------------------------------------------ reading
def stream_arn_of(table: Any) -> str | None:
    if table.stream_shard is None or not table.latest_stream_label:
        return None
    return f"{table.table_arn}/stream/{table.latest_stream_label}"


def describe(stream_arn: str) -> Stream | None:
    with _changed:
        return _streams.get(stream_arn)


def end_of(stream_arn: str) -> int:
    """The position after the stream's last record (LATEST); 0 for a stream with none yet."""
    with _changed:
        stream = _streams.get(stream_arn)
        return stream.end() if stream else 0


def trim_horizon(stream_arn: str) -> int:
    """The position of the oldest record still kept (TRIM_HORIZON)."""
    with _changed:
        stream = _streams.get(stream_arn)
        return stream.first_index if stream else 0


def read(stream_arn: str, position: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """(position of the first record returned, up to `limit` records from `position`). A
    position older than the retention reads from the oldest record kept."""
    with _changed:
        stream = _streams.get(stream_arn)
        if stream is None:
            return position, []
        start = max(position, stream.first_index)
        offset = start - stream.first_index
        return start, [json.loads(json.dumps(r)) for r in stream.records[offset:offset + limit]]


def wait_for(stream_arn: str, position: int, timeout: float) -> bool:
    """Wait up to `timeout` seconds for a record at or after `position`."""
    deadline = time.monotonic() + timeout
    with _changed:
        while True:
            stream = _streams.get(stream_arn)
            if stream is not None and stream.end() > position:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _changed.wait(left)


# ------------------------------------------------------------------ writing
def _plain(value: Any) -> Any:
    from moto.dynamodb.models.utilities import dynamo_json_dump

    return json.loads(dynamo_json_dump(value))


def _note_change(shard: Any, old: Any, new: Any) -> None:
    """Replaces StreamShard.add: remember (table, key, old image, new image) for the running
    write operation, or commit at once for a write made outside one."""
    table = shard.table
    stream_arn = stream_arn_of(table)
    if stream_arn is None:
        return
    item = old if old is not None else new
    keys = {table.hash_key_attr: _plain(item.hash_key.to_json())}
    if table.range_key_attr is not None and item.range_key is not None:
        keys[table.range_key_attr] = _plain(item.range_key.to_json())
    change = {"stream_arn": stream_arn, "table": table, "keys": keys,
              "old": None if old is None else _plain(old.to_json()["Attributes"]),
              "new": None if new is None else _plain(new.to_json()["Attributes"])}
    pending = getattr(_local, "pending", None)
    if pending is None:
        _commit([change])
    else:
        pending.append(change)


def _coalesced(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One change per item and operation: the image before the first change, the image
    after the last (moto's UpdateItem of a new item puts its key first, then updates it)."""
    merged: dict[str, dict[str, Any]] = {}
    for change in changes:
        key = change["stream_arn"] + json.dumps(change["keys"], sort_keys=True)
        if key in merged:
            merged[key]["new"] = change["new"]
        else:
            merged[key] = dict(change)
    return list(merged.values())


def _commit(changes: list[dict[str, Any]]) -> None:
    """Append the operation's records at once (a reader sees all of a transaction or none)."""
    with _changed:
        written = False
        for change in _coalesced(changes):
            old, new = change["old"], change["new"]
            if old == new:  # nothing changed (or an item put and deleted in one operation)
                continue
            stream = _stream_for(change["stream_arn"], change["table"])
            stream.records.append(_record(stream, change["keys"], old, new))
            stream.written += 1
            _trim(stream)
            written = True
        if written:
            _changed.notify_all()


def _stream_for(stream_arn: str, table: Any) -> Stream:
    stream = _streams.get(stream_arn)
    if stream is None:
        created_ms = int(now() * 1000)
        stream = Stream(arn=stream_arn, table_arn=table.table_arn, region=table.region_name,
                        view_type=table.stream_specification.get("StreamViewType", "KEYS_ONLY"),
                        shard_id=f"shardId-{created_ms:020d}-{uuid.uuid4().hex[:8]}")
        _streams[stream_arn] = stream
    return stream


def _record(stream: Stream, keys: dict[str, Any], old: Any, new: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"ApproximateCreationDateTime": int(now()), "Keys": keys}
    if new is not None and stream.view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        body["NewImage"] = new
    if old is not None and stream.view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        body["OldImage"] = old
    body["SequenceNumber"] = str(_SEQUENCE_START + _SEQUENCE_STRIDE * stream.written)
    body["SizeBytes"] = max(1, len(json.dumps({k: body[k] for k in ("Keys", "NewImage", "OldImage")
                                               if k in body}, separators=(",", ":"))))
    body["StreamViewType"] = stream.view_type
    return {"eventID": uuid.uuid4().hex,
            "eventName": "INSERT" if old is None else "REMOVE" if new is None else "MODIFY",
            "eventVersion": "1.1", "eventSource": "aws:dynamodb", "awsRegion": stream.region,
            "dynamodb": body}


def _trim(stream: Stream) -> None:
    horizon = int(now()) - RETENTION_SECONDS
    drop = 0
    while drop < len(stream.records) and \
            stream.records[drop]["dynamodb"]["ApproximateCreationDateTime"] < horizon:
        drop += 1
    if drop:
        del stream.records[:drop]
        stream.first_index += drop


def _capturing(method: Callable[..., Any]) -> Callable[..., Any]:
    """A write operation's changes become records when, and only when, it succeeds."""

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        with WRITE_LOCK:
            outermost = getattr(_local, "pending", None) is None
            if outermost:
                _local.pending = []
            try:
                result = method(*args, **kwargs)
            except BaseException:
                if outermost:
                    _local.pending = None
                raise
            if outermost:
                changes, _local.pending = _local.pending, None
                _commit(changes)
            return result

    return run


_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import StreamShard, Table

    StreamShard.add = lambda self, old, new: _note_change(self, old, new)
    moto_set_stream = Table.set_stream_specification

    def set_stream_specification(self: Any, streams: Any) -> None:
        moto_set_stream(self, streams)
        if self.latest_stream_label:  # AWS's label has milliseconds (2016-11-29T20:46:22.144)
            label = datetime.fromisoformat(self.latest_stream_label)
            self.latest_stream_label = label.isoformat(timespec="milliseconds")

    Table.set_stream_specification = set_stream_specification
    for name in _OPERATIONS:
        if hasattr(DynamoDBBackend, name):
            setattr(DynamoDBBackend, name, _capturing(getattr(DynamoDBBackend, name)))
    _applied = True
