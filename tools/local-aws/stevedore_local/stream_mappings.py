"""Lambda event source mappings for DynamoDB streams: Lambda's stream poller, acted out.

Functions are not created in moto, so moto's own mappings cannot call them; this reads the
emulator's stream records (dynamodb_streams.py) and invokes the function through the bridge
to `cargo lambda watch` (lambda_bridge.invoke_remote), as Lambda does:

- One poller per mapping reads the stream in order, waits for records (Lambda polls each
  shard four times a second), gathers a batch until BatchSize records, the end of the
  MaximumBatchingWindowInSeconds, or 6 MB, and invokes the function synchronously with
  ``{"Records": [...]}``, each record as the stream has it plus ``eventSourceARN``; the next
  batch waits for the result. A write never waits for any of this.
  "Using AWS Lambda with Amazon DynamoDB", https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
  (polling and batching, the example event).
- FilterCriteria: a record that no filter matches is not sent and counts as processed; the
  batch is gathered from matching records only.
  https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html
- A function error retries the batch until its records exceed MaximumRecordAgeInSeconds
  (or the stream's 24 hours) or MaximumRetryAttempts retries were made; with
  BisectBatchOnFunctionError a failed batch is split in two first, which uses no retry. What is
  given up goes, as metadata (DDBStreamBatchInfo: which records, not the records), to the
  OnFailure destination, and processing goes on with the next records. The records of the
  shard are handled in order: a failing batch holds the ones after it back.
  "Retain discarded records for a DynamoDB event source in Lambda",
  https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html (the example
  invocation record is the shape sent here).
- ReportBatchItemFailures: an empty or null ``batchItemFailures`` (or response) is success;
  otherwise the records before the lowest reported sequence number are done and the rest is
  retried (with bisection on, "bisected at the returned sequence number"); an empty, null or
  unknown ``itemIdentifier`` fails the whole batch.
  "Configuring partial batch response with DynamoDB and Lambda",
  https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
Retries wait STEVEDORE_STREAM_RETRY_SECONDS (default 0.2 s), not Lambda's own backoff.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from . import dynamodb_streams, lambda_bridge
from .state import STATE, iso_z
from .stream_mapping_config import (MappingConfig, MappingError, check_role, check_stream_exists,
                                    describe, parse, pattern_matches)

RETRY_SECONDS = float(os.environ.get("STEVEDORE_STREAM_RETRY_SECONDS", "0.2"))
POLL_SECONDS = 0.25
HISTORY = 500
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024

__all__ = ["MappingError", "create", "delete", "drain", "listing"]


@dataclass
class _Batch:
    records: list[dict[str, Any]]
    retries: int = 0
    invokes: int = 0
    request_id: str = ""
    response: dict[str, Any] | None = None  # responseContext of the last invocation


@dataclass
class Mapping:
    config: MappingConfig
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    scan: int = 0           # the next stream position to read (everything before: handled)
    in_flight: int = 0      # records gathered and not yet handled
    history: deque = field(default_factory=lambda: deque(maxlen=HISTORY))
    discarded: deque = field(default_factory=lambda: deque(maxlen=HISTORY))
    counts: dict[str, int] = field(default_factory=lambda: {
        "invocations": 0, "filtered_out": 0, "discarded_records": 0})
    stopped: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------ the poller
    def run(self) -> None:
        while not self.stopped.is_set():
            if not self.config.enabled:
                self.stopped.wait(POLL_SECONDS)
                continue
            try:
                records = self._gather()
                if records:
                    self._handle(records)
            except Exception:  # noqa: BLE001 - the poller must outlive a bug in one batch
                import traceback

                traceback.print_exc()
                self.stopped.wait(POLL_SECONDS)
            finally:
                with self.lock:
                    self.in_flight = 0

    def _gather(self) -> list[dict[str, Any]]:
        arn, size = self.config.stream_arn, self.config.batch_size
        records: list[dict[str, Any]] = []
        payload = 0
        deadline: float | None = None
        while not self.stopped.is_set():
            start, chunk = dynamodb_streams.read(arn, self.scan, size - len(records))
            with self.lock:
                self.scan = start
                for record in chunk:
                    record["eventSourceARN"] = arn
                    length = len(json.dumps(record))
                    if records and payload + length > MAX_PAYLOAD_BYTES:
                        break
                    self.scan += 1
                    if pattern_matches(self.config, record):
                        records.append(record)
                        payload += length
                    else:
                        self.counts["filtered_out"] += 1
                self.in_flight = len(records)
            if len(records) >= size or (records and self.scan < start + len(chunk)):
                return records  # full, or the next record would pass 6 MB
            if records:
                deadline = deadline or time.monotonic() + self.config.window_seconds
                left = deadline - time.monotonic()
                if left <= 0:
                    return records
                dynamodb_streams.wait_for(arn, self.scan, min(left, POLL_SECONDS))
            elif not chunk:
                dynamodb_streams.wait_for(arn, self.scan, POLL_SECONDS)
        return []

    def _handle(self, records: list[dict[str, Any]]) -> None:
        batches = deque([_Batch(records)])
        while batches and not self.stopped.is_set():
            batch = batches[0]
            expired = self._expired_prefix(batch.records)
            if expired:
                self._discard(batch, batch.records[:expired], "RecordAgeExceeded")
                batch.records = batch.records[expired:]
            if not batch.records:
                batches.popleft()
                continue
            outcome, failed_from = self._invoke(batch)
            if outcome == "ok":
                batches.popleft()
                continue
            if outcome == "partial":
                batch.records = batch.records[failed_from:]
            elif self.config.bisect and len(batch.records) > 1:
                batches.popleft()
                half = len(batch.records) // 2
                for part in (batch.records[half:], batch.records[:half]):
                    batches.appendleft(_Batch(part, batch.retries, batch.invokes,
                                              batch.request_id, batch.response))
                continue
            if 0 <= self.config.max_retries <= batch.retries:
                self._discard(batch, batch.records, "RetryAttemptsExhausted")
                batches.popleft()
                continue
            batch.retries += 1
            self.stopped.wait(RETRY_SECONDS)

    def _expired_prefix(self, records: list[dict[str, Any]]) -> int:
        max_age = self.config.max_age_seconds
        if max_age < 0:
            max_age = dynamodb_streams.RETENTION_SECONDS
        oldest_kept = dynamodb_streams.now() - max_age
        count = 0
        for record in records:
            if record["dynamodb"]["ApproximateCreationDateTime"] >= oldest_kept:
                break
            count += 1
        return count

    def _invoke(self, batch: _Batch) -> tuple[str, int]:
        """("ok" | "partial" | "error", index of the first record to retry)."""
        payload = json.dumps({"Records": batch.records})
        status, body = lambda_bridge.invoke_remote(self.config.function, payload)
        batch.invokes += 1
        batch.request_id = str(uuid.uuid4())
        batch.response = {"statusCode": 200, "executedVersion": "$LATEST"}
        outcome, failed_from = "ok", len(batch.records)
        if status >= 300:
            batch.response["functionError"] = "Unhandled"
            outcome = "error"
        elif self.config.report_failures:
            outcome, failed_from = _reported(body, batch.records)
        with self.lock:
            self.counts["invocations"] += 1
            self.history.append({
                "at": iso_z(millis=True), "outcome": outcome, "status": status,
                "sequence_numbers": [r["dynamodb"]["SequenceNumber"] for r in batch.records],
                "response": body.decode("utf-8", "replace")[:500]})
        if outcome != "ok":
            print(f"[stevedore-local] stream batch of {len(batch.records)} to {self.config.function}: "
                  f"{outcome} ({status} {body[:300]!r})", flush=True)
        return outcome, failed_from

    def _discard(self, batch: _Batch, records: list[dict[str, Any]], condition: str) -> None:
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        region, account = self.config.stream_arn.split(":")[3:5]
        record: dict[str, Any] = {
            "requestContext": {
                "requestId": batch.request_id or str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{region}:{account}:function:{self.config.function}",
                "condition": condition, "approximateInvokeCount": batch.invokes},
            "responseContext": batch.response,
            "version": "1.0",
            "timestamp": iso_z(millis=True),
            "DDBStreamBatchInfo": {
                "shardId": (dynamodb_streams.describe(self.config.stream_arn).shard_id),
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": iso_z(first["ApproximateCreationDateTime"]),
                "approximateArrivalOfLastRecord": iso_z(last["ApproximateCreationDateTime"]),
                "batchSize": len(records),
                "streamArn": self.config.stream_arn}}
        if batch.response is None:  # never invoked: the records expired first
            del record["responseContext"]
        with self.lock:
            self.counts["discarded_records"] += len(records)
            self.discarded.append(record)
        print(f"[stevedore-local] stream records {first['SequenceNumber']}..{last['SequenceNumber']} "
              f"given up for {self.config.function}: {condition}", flush=True)
        if self.config.on_failure:
            try:
                lambda_bridge.send_to_destination(self.config.on_failure, record)
            except Exception as err:  # noqa: BLE001 - AWS drops it too when it cannot send
                print(f"[stevedore-local] on-failure destination {self.config.on_failure}: {err}",
                      flush=True)

    # ------------------------------------------------------------ views
    def pending(self) -> int:
        with self.lock:
            return max(0, dynamodb_streams.end_of(self.config.stream_arn) - self.scan) + self.in_flight

    def view(self) -> dict[str, Any]:
        with self.lock:
            return {"UUID": self.uuid, **describe(self.config),
                    "State": "Enabled" if self.config.enabled else "Disabled",
                    "position": self.scan, "in_flight": self.in_flight,
                    "end": dynamodb_streams.end_of(self.config.stream_arn),
                    "counts": dict(self.counts), "invocations": list(self.history),
                    "discarded": list(self.discarded)}


def _reported(body: bytes, records: list[dict[str, Any]]) -> tuple[str, int]:
    """A partial batch response, read as Lambda reads it."""
    try:
        response = json.loads(body or b"null")
    except ValueError:
        return "ok", len(records)  # not an EventResponse: nothing reported
    failures = response.get("batchItemFailures") if isinstance(response, dict) else None
    if not failures:
        return "ok", len(records)
    if not isinstance(failures, list):
        return "error", 0
    index_of = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(records)}
    failed = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in index_of:
            return "error", 0
        failed.append(index_of[identifier])
    return "partial", min(failed)


_mappings: dict[str, Mapping] = {}
_registry_lock = threading.Lock()


def create(body: dict[str, Any]) -> dict[str, Any]:
    """CreateEventSourceMapping for a DynamoDB stream (the bootstrap passes the template's)."""
    config = parse(body)
    check_stream_exists(config.stream_arn)
    check_role(config)
    mapping = Mapping(config)
    mapping.scan = (dynamodb_streams.trim_horizon(config.stream_arn)
                    if config.starting_position == "TRIM_HORIZON"
                    else dynamodb_streams.end_of(config.stream_arn))
    with _registry_lock:
        _mappings[mapping.uuid] = mapping
    threading.Thread(target=mapping.run, name=f"stream-mapping-{config.function}",
                     daemon=True).start()
    return mapping.view()


def _selected(body: dict[str, Any]) -> list[Mapping]:
    with _registry_lock:
        mappings = list(_mappings.values())
    if body.get("UUID"):
        mappings = [m for m in mappings if m.uuid == body["UUID"]]
    if body.get("function"):
        mappings = [m for m in mappings if m.config.function == body["function"]]
    return mappings


def listing(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [m.view() for m in _selected(body)]


def delete(body: dict[str, Any]) -> dict[str, Any]:
    if not body.get("UUID"):
        raise MappingError("UUID is required")
    with _registry_lock:
        mapping = _mappings.pop(body["UUID"], None)
    if mapping is None:
        raise MappingError(f"ResourceNotFoundException: no event source mapping {body['UUID']}")
    mapping.stopped.set()
    return {"UUID": mapping.uuid, "State": "Deleting"}


def drain(body: dict[str, Any]) -> dict[str, Any]:
    """Wait (at most `timeout` seconds) until the enabled mappings (of `function` / `UUID`)
    have handled every record written so far: sent, filtered out or given up."""
    timeout = min(float(body.get("timeout", 30)), 300.0)
    deadline = time.monotonic() + timeout
    while True:
        pending = {m.uuid: m.pending() for m in _selected(body) if m.config.enabled}
        if not any(pending.values()):
            return {"drained": True, "pending": pending}
        if time.monotonic() >= deadline:
            return {"drained": False, "pending": pending}
        time.sleep(0.05)
