#!/usr/bin/env python3
"""Run Stevedore's local emulated AWS account (moto + patches + control API).

    launcher.py --host 127.0.0.1 --port 4566 --lambda-url http://127.0.0.1:9000 [--region us-east-1]

Prints exactly one line ``READY http://127.0.0.1:<port>`` once serving; runs until
SIGTERM / SIGINT. ``--port 0`` picks a free port (read it from the READY line).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lambda-url", required=True)
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)

    if args.port:
        os.environ["MOTO_PORT"] = str(args.port)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

    from stevedore_local import start

    done = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    emulator = start(args.host, args.port, args.lambda_url, args.region)
    print(f"READY {emulator.url}", flush=True)
    try:
        done.wait()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
