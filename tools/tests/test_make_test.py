"""tools/make_test.py: the two lanes of `make test`, on a Makefile of small shell targets."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import make_test  # noqa: E402
from make_test import Plan, Step  # noqa: E402

# Each target appends "<name> start" / "<name> end" to events.txt; `slow` runs until stopped
# and writes "slow interrupted" when SIGINT reaches it (as pytest would tear its stack down).
MAKEFILE = """\
SHELL := /bin/bash
define note
echo "$(1)" >> events.txt
endef
priority:
\t@echo "priority $$(nice) $$(cat /proc/self/autogroup 2>/dev/null)" >> events.txt
ok-a ok-b ok-c ok-d:
\t@$(call note,$@ start); sleep 0.3; $(call note,$@ end)
fails:
\t@$(call note,$@ start); exit 3
fails-later:
\t@$(call note,$@ start); sleep 1; exit 3
slow:
\t@trap '$(call note,slow interrupted); exit 130' INT; $(call note,$@ start); \\
\tfor i in $$(seq 600); do sleep 0.1; done; $(call note,$@ end)
"""


def plan(tmp_path: Path, foreground: tuple[Step, ...], background: tuple[Step, ...],
         after: str) -> Plan:
    (tmp_path / "Makefile").write_text(MAKEFILE)
    return Plan(foreground, background, after, tmp_path, tmp_path / "logs")


def events(tmp_path: Path) -> list[str]:
    path = tmp_path / "events.txt"
    return path.read_text().splitlines() if path.exists() else []


def test_every_step_runs_and_a_step_waits_for_the_background_steps_it_needs(tmp_path):
    code = make_test.main(plan(tmp_path,
                               (Step("ok-a"), Step("ok-b", after=("ok-c", "ok-d"))),
                               (Step("ok-c"), Step("ok-d")), after="ok-a"))
    seen = events(tmp_path)
    assert code == 0
    assert sorted(seen) == sorted(f"{t} {e}" for t in ("ok-a", "ok-b", "ok-c", "ok-d")
                                  for e in ("start", "end"))
    # The background starts only after ok-a; ok-b only after the background's ok-d ended.
    assert seen.index("ok-a end") < seen.index("ok-c start")
    assert seen.index("ok-d end") < seen.index("ok-b start")


def test_a_failed_background_step_stops_the_foreground_with_sigint(tmp_path):
    started = time.monotonic()
    code = make_test.main(plan(tmp_path, (Step("ok-a"), Step("slow")), (Step("fails-later"),),
                               after="ok-a"))
    seen = events(tmp_path)
    assert code == 1
    assert "slow interrupted" in seen and "slow end" not in seen
    assert time.monotonic() - started < 30  # stopped, not run to its end (60 s)


def test_a_failed_foreground_step_stops_the_background_and_runs_nothing_after(tmp_path):
    # fails-later: by then `slow` has set its trap.
    code = make_test.main(plan(tmp_path, (Step("ok-a"), Step("fails-later"), Step("ok-b")),
                               (Step("slow"), Step("ok-c")), after="ok-a"))
    seen = events(tmp_path)
    assert code == 1
    assert "slow interrupted" in seen
    assert not any(e.startswith(("ok-b", "ok-c")) for e in seen)


def test_a_background_step_that_never_ran_fails_the_run(tmp_path):
    # The lane starts after a step the foreground does not have: nothing in it runs.
    code = make_test.main(plan(tmp_path, (Step("ok-a"),), (Step("ok-c"),), after="no-such-step"))
    assert code == 1
    assert not any(e.startswith("ok-c") for e in events(tmp_path))


def test_the_background_log_holds_the_output_of_a_failed_step(tmp_path, capsys):
    make_test.main(plan(tmp_path, (Step("ok-a"), Step("slow")), (Step("fails-later"),),
                        after="ok-a"))
    log = (tmp_path / "logs" / "background.log").read_text()
    assert "Error 3" in log
    assert "background: fails-later FAILED (exit 2)" in capsys.readouterr().err


@pytest.mark.parametrize("target", [s.target for s in make_test.FOREGROUND + make_test.BACKGROUND])
def test_every_step_of_the_real_plan_is_a_target_of_the_makefile(target):
    makefile = (make_test.ROOT / "Makefile").read_text()
    assert f"\n{target}:" in makefile


def test_the_plan_runs_every_unit_target_and_every_other_check():
    makefile = (make_test.ROOT / "Makefile").read_text()
    unit = next(line for line in makefile.splitlines() if line.startswith("unit:"))
    planned = {s.target for s in make_test.FOREGROUND + make_test.BACKGROUND}
    needed = set(unit.split(":", 1)[1].split()) | {"lint", "fuzz-smoke", "package", "e2e",
                                                     "bench-smoke"}
    assert needed <= planned, f"make test would skip {sorted(needed - planned)}"


def test_background_steps_run_at_the_lowest_priority_and_their_session_group_too(tmp_path):
    code = make_test.main(plan(tmp_path, (Step("priority"), Step("ok-a", after=("priority",))),
                               (Step("priority"),), after="priority"))
    assert code == 0
    foreground, background = (e for e in events(tmp_path) if e.startswith("priority"))
    assert foreground.startswith("priority 0")
    assert background.startswith("priority 19")
    if Path("/proc/self/autogroup").exists():  # autogroup scheduling: the group's nice counts
        assert foreground.endswith("nice 0") and background.endswith("nice 19")


# What each foreground step reads that a background step writes: it must wait for that step,
# or it reads (or, for the zips, rebuilds beside it) a half-made output. CI once ran
# bench-smoke while `package` was still writing the zips.
READS_FROM_BACKGROUND = {"e2e": "build", "bench-smoke": "package", "fuzz-smoke": "fuzz-build"}


@pytest.mark.parametrize("reader,writer", sorted(READS_FROM_BACKGROUND.items()))
def test_a_foreground_step_waits_for_the_background_step_whose_output_it_reads(reader, writer):
    step = next(s for s in make_test.FOREGROUND if s.target == reader)
    assert writer in step.after
