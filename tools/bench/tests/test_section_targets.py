"""tools/bench/run.py: the binaries' and the burst's targets join the Targets table."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from report import verdict  # noqa: E402
from run import section_targets  # noqa: E402


def test_worst_function_and_burst_rows_with_their_verdicts():
    results = {
        "binaries": {"targets": {"cold_start_ms": 20.0, "peak_rss_mb": 30.0, "zip_mb": 6.0},
                     "functions": {"a": {"cold_start_ms": {"median": 12.0}, "peak_rss_mb": {"median": 11.0},
                                         "zip_mb": 4.0},
                                   "b": {"cold_start_ms": {"median": 25.0}, "peak_rss_mb": {"median": 9.0},
                                         "zip_mb": 5.5}}},
        "burst": {"pushes": 200, "apps": 50, "target_seconds": 60.0, "all_terminal_seconds": None},
    }
    rows = {r["target"]: (r["measured"], r["verdict"]) for r in section_targets(results, verdict)}
    assert rows == {
        "cold start <= 20 ms (worst function)": ("25.00 ms", "**missed**"),
        "peak RSS <= 30 MB (worst function)": ("11.00 MB", "met"),
        "zip <= 6 MB (worst function)": ("5.50 MB", "met"),
        "burst of 200 pushes over 50 apps all terminal <= 60 s": ("not all terminal", "**missed**"),
    }


def test_sections_that_did_not_run_add_no_rows():
    assert section_targets({}, verdict) == []
