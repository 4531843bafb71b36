"""min / median / max of a figure's rounds, and the machine the figures come from."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from typing import Any, Iterable


def summary(values: Iterable[float | None]) -> dict[str, Any]:
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return {"n": 0, "min": None, "median": None, "max": None}
    return {"n": len(vals), "min": min(vals), "median": statistics.median(vals), "max": max(vals)}


def summarise_keys(rounds: list[dict[str, float]]) -> dict[str, dict[str, Any]]:
    """{key: summary} over dicts of the same keys (a key missing in a round is skipped there),
    keys in the order they first appear."""
    keys: list[str] = []
    for r in rounds:
        keys += [k for k in r if k not in keys]
    return {k: summary(r.get(k) for r in rounds) for k in keys}


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    try:
        mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo")
                      if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        mem_kb = 0
    try:
        rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        rustc = ""
    return {"cores": os.cpu_count(), "cpu_model": model or "unknown",
            "memory_gib": round(mem_kb / 1024 / 1024, 1), "os": platform.platform(),
            "python": platform.python_version(), "rustc": rustc,
            "load_average_at_start": os.getloadavg()}
