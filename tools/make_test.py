"""`make test`: every check, in two lanes, so a 2-core machine spends no core idle.

The suite is half compiling (CPU-bound) and half running the pipeline on the local stack, where
the end-to-end tests mostly wait: on simulated rollouts, Step Functions waits and polling (about
60 to 90 % of two cores idle). So the builds nothing in the foreground needs yet run beside
it, in a background lane at the lowest CPU priority (nice 19, its session's autogroup too):
they take a core only when the foreground leaves it idle.

    foreground: lint, unit-rust, unit-emulator, unit-tools, [build done] e2e,
                [package done] bench-smoke, [fuzz-build done] fuzz-smoke
    background: build, package, fuzz-build        (started after unit-rust)

Each step is the Makefile target of that name (`make test` runs exactly what the targets run
alone). The background lane's output goes to target/make-test/background.log and is printed when
a step of it fails. The first failure in either lane stops the other (SIGINT first, so pytest
tears its local stack down, then SIGKILL) and the run exits non-zero; so does SIGINT/SIGTERM to
this process. At the end, each step's duration.

Usage: python tools/make_test.py   (from `make test`, after `make tools`)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOG_DIR = ROOT / "target" / "make-test"
STOP_GRACE_SECONDS = 60
# The lowest CPU priority, for a step in a session of its own. `nice` alone is not enough: with
# autogroup scheduling (Linux's default on desktops and many VMs), every session is a group
# and CFS shares the CPU equally between groups whatever their processes' nice values; writing
# a nice value to /proc/self/autogroup sets the group's own (sched(7), "The autogroup
# feature"). Where that file is absent or the write fails, plain nice is what counts.
LOWEST_PRIORITY = ("sh", "-c", 'echo 19 > /proc/self/autogroup 2>/dev/null; exec nice -n 19 "$@"',
                   "sh")


@dataclass(frozen=True)
class Step:
    target: str
    # Background steps that must have finished before this foreground step starts.
    after: tuple[str, ...] = ()


FOREGROUND = (
    Step("lint"),
    Step("unit-rust"),
    Step("unit-emulator"),
    Step("unit-tools"),
    Step("e2e", after=("build",)),
    # bench-smoke before fuzz-smoke: the background lane finishes fuzz-build meanwhile. It
    # reads package's zips (and would build them itself, beside package, if it came first).
    Step("bench-smoke", after=("package",)),
    Step("fuzz-smoke", after=("fuzz-build",)),
)
# Starts once this foreground step has passed: before it, clippy and the unit tests' build
# keep both cores busy and share the dev build directory that `build` locks.
BACKGROUND_AFTER = "unit-rust"
BACKGROUND = (Step("build"), Step("package"), Step("fuzz-build"))


@dataclass(frozen=True)
class Plan:
    foreground: tuple[Step, ...]
    background: tuple[Step, ...]
    background_after: str  # the foreground step after which the background lane starts
    root: Path  # where the Makefile is
    log_dir: Path


PLAN = Plan(FOREGROUND, BACKGROUND, BACKGROUND_AFTER, ROOT, LOG_DIR)


@dataclass
class Lane:
    name: str
    steps: tuple[Step, ...]
    low_priority: bool = False
    log: Path | None = None
    done: dict[str, float] = field(default_factory=dict)  # step -> seconds it took
    failed: str | None = None
    proc: subprocess.Popen | None = None
    finished: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)


class Stopped(Exception):
    """The other lane failed, or this run was interrupted."""


class Run:
    def __init__(self, plan: Plan) -> None:
        plan.log_dir.mkdir(parents=True, exist_ok=True)
        self.plan = plan
        self.stopping = threading.Event()
        self.foreground = Lane("foreground", plan.foreground)
        self.background = Lane("background", plan.background, low_priority=True,
                               log=plan.log_dir / "background.log")
        self.background.log.write_text("")

    def run_step(self, lane: Lane, step: Step) -> None:
        if self.stopping.is_set():
            raise Stopped
        out = open(lane.log, "a") if lane.log else None  # noqa: SIM115 (closed below)
        command = ["make", "--no-print-directory", step.target]
        if lane.low_priority:
            command = [*LOWEST_PRIORITY, *command]
        started = time.monotonic()
        say(f"{lane.name}: {step.target} started")
        try:
            # A session of its own: stopping it reaches every process it started.
            lane.proc = subprocess.Popen(command, cwd=self.plan.root, stdout=out, stderr=out,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
            if self.stopping.is_set():  # stop() ran between the check above and Popen
                os.killpg(lane.proc.pid, signal.SIGINT)
            code = lane.proc.wait()
        finally:
            if out:
                out.close()
        if self.stopping.is_set() and code != 0:
            raise Stopped
        if code != 0:
            lane.failed = step.target
            if lane.log:
                print(tail(lane.log, 80), file=sys.stderr)
            say(f"{lane.name}: {step.target} FAILED (exit {code})"
                + (f"; its output: {os.path.relpath(lane.log, self.plan.root)}" if lane.log else ""))
            self.stop()
            raise Stopped
        with lane.changed:
            lane.done[step.target] = time.monotonic() - started
            lane.changed.notify_all()
        say(f"{lane.name}: {step.target} passed in {minutes(lane.done[step.target])}")

    def wait_for(self, lane: Lane, targets: tuple[str, ...]) -> None:
        with lane.changed:
            while not all(t in lane.done for t in targets):
                if self.stopping.is_set() or lane.failed or lane.finished.is_set():
                    raise Stopped
                lane.changed.wait(timeout=1)

    def run_background(self) -> None:
        try:
            for step in self.background.steps:
                self.run_step(self.background, step)
        except Stopped:
            pass
        finally:
            self.background.finished.set()
            with self.background.changed:
                self.background.changed.notify_all()

    def run_foreground(self) -> threading.Thread | None:
        thread = None
        for step in self.foreground.steps:
            if step.after:
                self.wait_for(self.background, step.after)
            self.run_step(self.foreground, step)
            if step.target == self.plan.background_after:
                thread = threading.Thread(target=self.run_background, daemon=True)
                thread.start()
        return thread

    def stop(self) -> None:
        """Stops whatever runs: SIGINT (pytest tears its stack down), then SIGKILL."""
        self.stopping.set()
        for lane in (self.foreground, self.background):
            proc = lane.proc
            if proc is None or proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGINT)
                proc.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                say(f"{lane.name}: still running {STOP_GRACE_SECONDS} s after SIGINT; killing it")
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def summary(self) -> str:
        rows = [(lane.name, target, seconds) for lane in (self.foreground, self.background)
                for target, seconds in lane.done.items()]
        return "\n".join(f"  {lane:<10} {target:<14} {minutes(seconds)}" for lane, target, seconds in rows)


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def say(message: str) -> None:
    # One write per line: both lanes' threads report, and print's separate newline interleaved.
    sys.stderr.write(f"make test: {message}\n")
    sys.stderr.flush()


def main(plan: Plan = PLAN) -> int:
    run = Run(plan)

    def on_signal(signum: int, _frame: object) -> None:
        say(f"signal {signum}: stopping both lanes")
        threading.Thread(target=run.stop, daemon=True).start()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return run_all(run, plan)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_all(run: Run, plan: Plan) -> int:
    started = time.monotonic()
    background = None
    try:
        background = run.run_foreground()
        if background:
            background.join()
        if run.background.failed or run.stopping.is_set():
            raise Stopped
        missing = [s.target for s in plan.background if s.target not in run.background.done]
        if missing:
            say(f"background steps that never ran: {', '.join(missing)}")
            raise Stopped
    except Stopped:
        run.stop()
        if background:
            background.join(timeout=STOP_GRACE_SECONDS)
        say(f"FAILED after {minutes(time.monotonic() - started)}; steps that passed:\n{run.summary()}")
        return 1
    say(f"all checks passed in {minutes(time.monotonic() - started)}:\n{run.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
