"""Function binaries: cold start, peak RSS after one realistic event, zip size; and beside them
a Python boto3 process doing the same client setup.

    python tools/bench/binaries.py --rounds 5 --json out.json

`measure(rounds, stack_env)` returns (shape shared with tools/bench/run.py):

    {"arch": "x86_64", "functions": {name: {"cold_start_ms": {"min", "median", "max"},
      "peak_rss_mb": {...}, "zip_mb": x, "zip_arch": "arm64", ...}},
     "boto3": {"cold_start_ms": {...}, "peak_rss_mb": {...}, "functions": {name: {...}}, ...},
     "commands": {figure: command}, "targets": {...}, "misses": [...], "notes": [...]}

How each figure is made:
- release binaries (`cargo build --release --workspace --bins`, the workspace's release
  profile) for this machine's architecture;
- cold start: exec -> first `GET /2018-06-01/runtime/invocation/next`, against a stand-in
  for the Lambda Runtime API (runtime_api.py), the function's environment from template.yaml
  as the local stack resolves it, fake credentials, AWS_ENDPOINT_URL at the emulator;
  `rounds` runs per function, interleaved with the boto3 runs, while the stack is idle;
  beside it the same start with the TLS trust store cut down (`cold_start_ms_bundle_only`,
  `cold_start_ms_one_root_cert`): the SDK's HTTPS client loads the system's root
  certificates at start-up, and these show what that costs;
- peak RSS: VmHWM of a fresh release process after it answered one realistic event, served
  inside a real release on the local stack (live_events.py), one per function per round;
- boto3: `python tools/bench/boto3_setup.py <services>` (the services each main.rs builds
  clients for, functions.py) -> exec to first `next` and VmHWM then (no event handled);
- zip: tools/package.py's build (`cargo lambda build --release --arm64 --output-format zip`),
  x86_64 when the arm64 standard library is not installed (said so in `zip_arch`).
Targets are compared and reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "local-aws"))

import functions  # noqa: E402
import zips  # noqa: E402
from live_events import InterposedStack, Sampler, release_round, seed_apps  # noqa: E402
from runtime_api import run_once  # noqa: E402
from stack import ACCOUNT_ID, REGION, REPO_ROOT, target_dir  # noqa: E402

TARGETS = {"cold_start_ms": 20.0, "peak_rss_mb": 30.0, "zip_mb": 6.0}
PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
RELEASE_BUILD = ["cargo", "build", "--release", "--workspace", "--bins"]
DEV_BUILD = ["cargo", "build", "--workspace", "--bins"]


def spread(values: list[float]) -> dict[str, float] | None:
    """min / median / max (None when nothing was measured)."""
    if not values:
        return None
    return {"min": round(min(values), 2), "median": round(statistics.median(values), 2),
            "max": round(max(values), 2), "n": len(values)}


def mb(kb: int | None) -> float | None:
    return None if kb is None else kb / 1024


def build(profile: str = "release") -> dict[str, Path]:
    """The function binaries of `profile` (release for the figures; dev lets `make
    bench-smoke` reuse the build the end-to-end tests made)."""
    command = RELEASE_BUILD if profile == "release" else DEV_BUILD
    print("bench: " + " ".join(command), file=sys.stderr, flush=True)
    subprocess.run(command, cwd=REPO_ROOT, check=True)
    directory = "release" if profile == "release" else "debug"
    out = {name: target_dir() / directory / name for name in functions.binaries()}
    missing = [str(path) for path in out.values() if not path.is_file()]
    if missing:
        raise SystemExit(f"bench: {profile} binaries missing after the build: {missing}")
    return out


SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def trust_store_envs(env: dict[str, str], log_dir: Path) -> dict[str, dict[str, str]]:
    """`env` with the TLS trust store the SDK loads at start-up (rustls-native-certs reads
    SSL_CERT_FILE / SSL_CERT_DIR instead of the system's when they are set) cut down, to show
    what that loading costs: `bundle_only`, the system's one PEM bundle and no directory (as
    on Lambda's provided.al2023, one bundle file); `one_root_cert`, a single certificate."""
    text = SYSTEM_BUNDLE.read_text() if SYSTEM_BUNDLE.is_file() else ""
    end = "-----END CERTIFICATE-----"
    first = text[:text.index(end) + len(end)] + "\n" if end in text else ""
    (log_dir / "one-root.pem").write_text(first)
    (log_dir / "no-roots").mkdir(exist_ok=True)
    empty_dir = str(log_dir / "no-roots")
    return {
        "": env,
        "_bundle_only": {**env, "SSL_CERT_FILE": str(SYSTEM_BUNDLE), "SSL_CERT_DIR": empty_dir},
        "_one_root_cert": {**env, "SSL_CERT_FILE": str(log_dir / "one-root.pem"),
                           "SSL_CERT_DIR": empty_dir},
    }


def startup_runs(binaries: dict[str, Path], env: dict[str, str], memory: dict[str, int],
                 rounds: int, log_dir: Path) -> tuple[dict[str, dict[str, list[Any]]], dict[str, list[Any]]]:
    """`rounds` cold starts of each release binary (under each trust store variant, keyed by
    the suffix of its figure's name) and of its boto3 twin, interleaved."""
    variants = trust_store_envs(env, log_dir)
    rust: dict[str, dict[str, list[Any]]] = {v: {name: [] for name in binaries} for v in variants}
    python: dict[str, list[Any]] = {name: [] for name in binaries}
    for round_no in range(rounds):
        for name, path in binaries.items():
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
            for variant, variant_env in variants.items():
                rust[variant][name].append(run_once(
                    [str(path)], name, variant_env, None, arn, memory[name],
                    log_dir / f"{name}-start{variant}-{round_no}.log"))
            command = [str(PYTHON), str(HERE / "boto3_setup.py"), *functions.sdk_clients(name)]
            python[name].append(run_once(command, name, env, None, arn, memory[name],
                                         log_dir / f"{name}-boto3-{round_no}.log"))
    return rust, python


def function_env(stack: InterposedStack) -> dict[str, str]:
    return functions.lambda_like_env(stack.env, stack.resources.function_env)


def measure(rounds: int, stack_env: dict | None = None, profile: str = "release") -> dict:
    """Every figure above, over `rounds` rounds. `stack_env`: the environment of a running
    local stack (LocalStack.env) for the cold-start and boto3 runs; the peak-RSS runs always
    use a stack of their own, whose Lambda invokes this module intercepts (live_events.py)."""
    machine = {"cpus": os.cpu_count(), "load_average_1m_at_start": round(os.getloadavg()[0], 2)}
    binaries = build(profile)
    memory = functions.memory_mb()
    zip_info = zips.measure(list(binaries))
    log_dir = Path(tempfile.mkdtemp(prefix="stevedore-bench-binaries-"))
    notes: list[str] = []

    def sampler(stack: InterposedStack) -> Sampler:
        return Sampler(binaries, memory, lambda: function_env(stack), log_dir)

    with InterposedStack(sampler, build=True) as stack:
        env = functions.lambda_like_env(stack_env, stack.resources.function_env) \
            if stack_env else function_env(stack)
        rust_starts, boto3_starts = startup_runs(binaries, env, memory, rounds, log_dir)
        apps = seed_apps(stack)
        problems = release_round(stack, apps, "warm-up", rollback=False)  # nothing sampled yet
        notes += [f"warm-up round: {p}" for p in problems]
        for round_no in range(rounds):
            stack.sampler.want_one_of_each()
            problems = release_round(stack, apps, f"round-{round_no}", rollback=True)
            notes += [f"round {round_no}: {p}" for p in problems]
            missing = stack.sampler.missing()
            if missing:
                notes.append(f"round {round_no}: no matching event reached {missing}")
        samples = stack.sampler.samples

    result: dict[str, Any] = {"arch": platform.machine(), "profile": profile,
                              "rounds": rounds, "functions": {}, "machine": machine}
    print(f"bench: logs of every measured process in {log_dir}", file=sys.stderr, flush=True)
    for name in binaries:
        starts = rust_starts[""][name]
        events = samples.get(name, [])
        entry = {
            f"cold_start_ms{variant}": spread([r.cold_start_ms for r in runs[name]
                                               if r.cold_start_ms is not None])
            for variant, runs in rust_starts.items()}
        entry.update({
            "peak_rss_mb": spread([mb(s["peak_rss_kb"]) for s in events if s["peak_rss_kb"]]),
            "rss_before_event_mb": spread([mb(r.rss_ready_kb) for r in starts if r.rss_ready_kb]),
            **zip_info["functions"][name],
            "clients": functions.sdk_clients(name),
            "events": sorted({s["event"] for s in events}),
            "answers": [s["answer"] if not s["error_type"] else f"error {s['error_type']}"
                        for s in events],
            "memory_mb_configured": memory[name],
        })
        failed = [r.notes for r in starts if r.cold_start_ms is None]
        if failed:
            notes.append(f"{name}: {len(failed)} start(s) never asked for an event: {failed[0]}")
        result["functions"][name] = entry
    result["boto3"] = boto3_summary(boto3_starts)
    result["commands"] = commands(zip_info)
    result["targets"] = TARGETS
    result["misses"] = misses(result)
    result["notes"] = notes + zip_info["notes"]
    return result


def boto3_summary(starts: dict[str, list[Any]]) -> dict[str, Any]:
    """Per function; the top-level figures are those of the function with the most clients."""
    import boto3

    per_function = {
        name: {"clients": functions.sdk_clients(name),
               "cold_start_ms": spread([r.cold_start_ms for r in runs if r.cold_start_ms is not None]),
               "peak_rss_mb": spread([mb(r.rss_ready_kb) for r in runs if r.rss_ready_kb])}
        for name, runs in starts.items()}
    widest = max(per_function, key=lambda n: len(per_function[n]["clients"]))
    return {**{k: per_function[widest][k] for k in ("cold_start_ms", "peak_rss_mb", "clients")},
            "like_function": widest, "python": platform.python_version(), "boto3": boto3.__version__,
            "note": "client setup and the first `next` only: no event handled, no Lambda "
                    "runtime client loaded (a lower bound for a boto3 function)",
            "functions": per_function}


def commands(zip_info: dict[str, Any]) -> dict[str, str]:
    start = ("exec $CARGO_TARGET_DIR/release/<function> with AWS_LAMBDA_RUNTIME_API at "
             "tools/bench/runtime_api.py's stand-in; time to its first GET .../invocation/next")
    return {
        "release_build": " ".join(RELEASE_BUILD),
        "cold_start_ms": f"python tools/bench/binaries.py --rounds N: {start}",
        "cold_start_ms_bundle_only": f"the same with SSL_CERT_FILE=<the system's CA bundle> "
                                     "SSL_CERT_DIR=<an empty directory>",
        "cold_start_ms_one_root_cert": "the same with SSL_CERT_FILE=<one certificate> "
                                       "SSL_CERT_DIR=<an empty directory>",
        "peak_rss_mb": "python tools/bench/binaries.py --rounds N: VmHWM of a fresh release "
                       "process after answering one event served inside a release on the local "
                       "stack (tools/bench/live_events.py)",
        "boto3": "python3.11 tools/bench/boto3_setup.py <the function's services>: time to its "
                 "first GET .../invocation/next and VmHWM then",
        "zip_mb": zip_info["command"],
    }


def misses(result: dict[str, Any]) -> list[str]:
    """Each median over its target, and for a cold start what the trust store variants say."""
    out = []
    for name, entry in result["functions"].items():
        for figure in ("cold_start_ms", "peak_rss_mb"):
            values = entry.get(figure)
            if values and values["median"] > TARGETS[figure]:
                why = ""
                if figure == "cold_start_ms":
                    why = "; with the system's PEM bundle alone {}, with one root certificate {}".format(
                        *(f"{(entry.get(f'cold_start_ms{v}') or {}).get('median')} ms"
                          for v in ("_bundle_only", "_one_root_cert")))
                out.append(f"{name}: {figure} median {values['median']} > target "
                           f"{TARGETS[figure]}{why}")
            if values is None:
                out.append(f"{name}: {figure} not measured")
        if entry.get("zip_mb") is not None and entry["zip_mb"] > TARGETS["zip_mb"]:
            out.append(f"{name}: zip_mb {entry['zip_mb']} > target {TARGETS['zip_mb']}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args()
    result = measure(args.rounds, None)
    text = json.dumps(result, indent=2, sort_keys=True)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
