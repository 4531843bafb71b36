"""DynamoDB writes are atomic on AWS: a condition is checked and the write applied as one
step. moto serves requests on threads and checks a condition, then writes, with nothing in
between held — two concurrent conditional writes (the stage lock!) can both pass. One lock
around moto's write operations gives them AWS's atomicity."""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable

_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
# Held by every write (and by dynamodb_streams.py while it commits a write's stream records).
WRITE_LOCK = threading.RLock()
_applied = False


def _atomic(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        with WRITE_LOCK:
            return method(*args, **kwargs)

    return run


def apply() -> None:
    global _applied
    if _applied:
        return
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITES:
        setattr(DynamoDBBackend, name, _atomic(getattr(DynamoDBBackend, name)))
    _applied = True
