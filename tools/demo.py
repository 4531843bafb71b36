#!/usr/bin/env python3
"""`make demo`: one release of the example app, end to end, on this machine.

Starts the local stack (emulated AWS + the real function binaries), seeds the example app
from examples/, pushes an image tagged like a CI build, prints each phase of the release as
it is recorded, then `stevedore history backend`. Exits 0 only if the release SUCCEEDED.

    .venv/bin/python tools/demo.py [--no-build] [--timeout 300]
"""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "local-aws"))

from example_app import EXAMPLE_APP, EXAMPLE_CONFIG, seed_app  # noqa: E402
from stack import TERMINAL, LocalStack  # noqa: E402

STAGE = "staging"


def as_datetime(value: Any) -> datetime | None:
    """Phase timestamps may be stored as RFC 3339 text or epoch seconds."""
    try:
        if isinstance(value, (int, float, Decimal)):
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (TypeError, ValueError, OverflowError):
        return None


def phases(release: dict[str, Any]) -> list[tuple[datetime, str]]:
    """(when, phase) for every `*_at` attribute, oldest first."""
    out = []
    for key, value in release.items():
        when = as_datetime(value) if key.endswith("_at") else None
        if when is not None:
            out.append((when, key[: -len("_at")]))
    return sorted(out)


def follow_release(stack: LocalStack, digest: str, timeout: float) -> dict[str, Any] | None:
    """Print phases as they appear; return the release once terminal (None on timeout)."""
    deadline = time.monotonic() + timeout
    printed: set[str] = set()
    release = None
    while time.monotonic() < deadline:
        release = next((r for r in stack.releases(EXAMPLE_APP, STAGE) if r.get("digest") == digest),
                       None)
        if release is not None:
            for when, phase in phases(release):
                if phase not in printed:
                    printed.add(phase)
                    print(f"  {when.strftime('%H:%M:%S.%f')[:-3]}  {phase}", flush=True)
            if release.get("status") in TERMINAL:
                return release
        time.sleep(0.3)
    print(f"demo: no terminal status after {timeout:.0f}s; last seen: {release}", file=sys.stderr)
    return None


def run(args: argparse.Namespace) -> int:
    with LocalStack(build=not args.no_build) as stack:
        print(f"demo: seeding app `{EXAMPLE_APP}` from examples/{EXAMPLE_CONFIG.name}")
        app = seed_app(stack, EXAMPLE_APP, config_path=EXAMPLE_CONFIG)
        tag = f"develop-{secrets.token_hex(4)[:7]}"
        digest = stack.push_image(app.repository, tag, layer_seed=tag)
        print(f"demo: pushed {app.repository}:{tag} ({digest})")
        print(f"demo: release of {EXAMPLE_APP}/{STAGE}:", flush=True)
        release = follow_release(stack, digest, args.timeout)
        if release is None:
            seen = stack.releases(EXAMPLE_APP, STAGE)
            print(stack.diagnose(EXAMPLE_APP, STAGE, seen, args.timeout), file=sys.stderr)
            return 1
        print(f"demo: {release['status']}" + (f": {release['reason']}" if release.get("reason") else ""))
        print(f"\n$ stevedore history {EXAMPLE_APP}")
        history = stack.stevedore("history", EXAMPLE_APP, check=False)
        print(history.stdout.rstrip() or history.stderr.rstrip())
        return 0 if release["status"] == "SUCCEEDED" else 1


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt  # so `with LocalStack()` stops the children on SIGTERM too


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true", help="the binaries are already built")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the release")
    try:
        return run(parser.parse_args())
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
