"""A ULID for hand-started releases (what the console user pastes as release id)."""

import os
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid() -> str:
    return ulid_at(int(time.time() * 1000))


def ulid_at(ms: int) -> str:
    """A ULID whose timestamp is `ms` (epoch milliseconds), with random bits."""
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def ulid_time_ms(ulid: str) -> int:
    """The timestamp (epoch milliseconds) a ULID carries in its first 10 characters."""
    value = 0
    for char in ulid[:10]:
        value = value * 32 + _CROCKFORD.index(char)
    return value
