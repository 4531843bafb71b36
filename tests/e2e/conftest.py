"""End-to-end tests: the real function binaries, the real state machine from template.yaml,
the emulated AWS account. One LocalStack per session; each test seeds its own app.

    .venv/bin/python -m pytest tests/e2e -q
    STEVEDORE_SKIP_BUILD=1 ...   # the binaries are already built (`cargo build --bins`)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "local-aws"))

from example_app import ExampleApp, seed_app  # noqa: E402
from stack import LocalStack  # noqa: E402


@pytest.fixture(scope="session")
def stack():
    with LocalStack(build=os.environ.get("STEVEDORE_SKIP_BUILD") != "1") as local:
        yield local


@pytest.fixture()
def seed(stack):
    """seed(app, **options) -> ExampleApp; see example_app.seed_app."""

    def _seed(app: str, **options: Any) -> ExampleApp:
        return seed_app(stack, app, **options)

    return _seed
