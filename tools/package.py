"""`make package`: the release build `sam build` runs, for every function, and a size check.

For each function of template.yaml built with `BuildMethod: rust-cargolambda`, SAM runs
`cargo lambda build --release --arm64 --bin <Binary>` at the CodeUri (the workspace root)
and ships `target/lambda/<Binary>/bootstrap`, zipped. This runs the same build for all of
them at once (one dependency build, shared) with `--output-format zip`, so each function's
zip is `target/lambda/<Binary>/bootstrap.zip`, holding `bootstrap` at its root as SAM's
does, then fails if a zip is missing or larger than MAX_ZIP_BYTES.

The arm64 build needs Rust's standard library for aarch64-unknown-linux-gnu. When it is not
installed this asks rustup for it (`rustup target add`, bounded by ADD_TARGET_SECONDS);
where that cannot work (rustup's download server out of reach), it says so plainly and
builds for x86_64 instead, so the size check still covers every function's release build.

Usage: python tools/package.py   (run from the repository root; cargo-lambda and zig on PATH)
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[1]
MAX_ZIP_BYTES = 10 * 1024 * 1024
ARM64_TARGET = "aarch64-unknown-linux-gnu"
ADD_TARGET_SECONDS = 600


def functions(template: Path) -> list[str]:
    """The `Binary` of every function SAM builds with cargo-lambda."""
    parsed, problems = decode(str(template))
    if problems or parsed is None:
        raise SystemExit(f"cannot read {template}: {problems}")
    binaries = []
    for name, resource in parsed["Resources"].items():
        metadata = resource.get("Metadata") or {}
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        if metadata.get("BuildMethod") != "rust-cargolambda":
            raise SystemExit(f"{name}: BuildMethod {metadata.get('BuildMethod')!r} is not "
                             "rust-cargolambda; `make package` builds only that")
        binary = (metadata.get("BuildProperties") or {}).get("Binary")
        if not binary:
            raise SystemExit(f"{name}: no BuildProperties.Binary")
        binaries.append(str(binary))
    if not binaries:
        raise SystemExit(f"{template} has no functions")
    return binaries


def lambda_dir() -> Path:
    """Where cargo lambda writes `<Binary>/bootstrap.zip`: under the target dir cargo uses."""
    return Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "lambda"


@contextmanager
def zips_locked() -> Iterator[None]:
    """Hold the zips for one writer (or one reader that may rebuild them) at a time.

    cargo's own lock covers only the compile: two `cargo lambda build --output-format zip` runs
    then write the same `bootstrap.zip` files at once, and a reader can open one half written
    (`make bench` beside `make package` did). Every tool that deletes, builds or reads the zips
    takes this lock first; flock is released when the process ends, however it ends.
    """
    directory = lambda_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".zips.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def arm64_installed() -> bool:
    out = subprocess.run(["rustup", "target", "list", "--installed"], capture_output=True,
                         text=True, check=False)
    return ARM64_TARGET in out.stdout.split()


def add_arm64_target() -> bool:
    """Ask rustup for the aarch64 standard library; False when it cannot get it in time."""
    print(f"make package: installing the Rust standard library for {ARM64_TARGET} "
          f"(`rustup target add`, at most {ADD_TARGET_SECONDS} s)", flush=True)
    try:
        subprocess.run(["rustup", "target", "add", ARM64_TARGET], check=False,
                       timeout=ADD_TARGET_SECONDS)
    except (subprocess.TimeoutExpired, OSError) as err:
        print(f"make package: rustup target add did not finish: {err}", flush=True)
    return arm64_installed()


def zip_path(binary: str) -> Path:
    return lambda_dir() / binary / "bootstrap.zip"


def build_command(binaries: list[str], arch_flag: str) -> list[str]:
    """The build `sam build` runs for each function, for all of them at once, zipped."""
    command = ["cargo", "lambda", "build", "--release", arch_flag, "--output-format", "zip"]
    for binary in binaries:
        command += ["--bin", binary]
    return command


def main() -> int:
    binaries = functions(ROOT / "template.yaml")
    if arm64_installed() or add_arm64_target():
        arch_flag, arch = "--arm64", "arm64"
    else:
        arch_flag, arch = "--x86-64", "x86_64"
        print(f"make package: arm64 SKIPPED: the Rust standard library for {ARM64_TARGET} is "
              f"not installed and `rustup target add {ARM64_TARGET}` could not install it (is "
              "rustup's download server reachable from here?). Building the same release for x86_64 instead, with the same "
              "size check.", flush=True)
    command = build_command(binaries, arch_flag)
    with zips_locked():
        for binary in binaries:  # no zip from an earlier run may pass for this one's
            shutil.rmtree(lambda_dir() / binary, ignore_errors=True)
        print("make package:", " ".join(command), flush=True)
        subprocess.run(command, cwd=ROOT, check=True)
        sizes = {b: zip_path(b).stat().st_size if zip_path(b).is_file() else None
                 for b in binaries}

    failures = []
    for binary, size in sizes.items():
        if size is None:
            failures.append(f"{binary}: {zip_path(binary)} is missing")
            continue
        verdict = "ok" if size <= MAX_ZIP_BYTES else f"OVER {MAX_ZIP_BYTES} bytes"
        print(f"  {binary:<16} {arch:<6} {size / 1024 / 1024:6.2f} MB  {verdict}")
        if size > MAX_ZIP_BYTES:
            failures.append(f"{binary}: {size} bytes, over the {MAX_ZIP_BYTES}-byte limit")
    if failures:
        print("make package FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    print(f"make package: {len(binaries)} function zips ({arch}) under "
          f"{MAX_ZIP_BYTES // (1024 * 1024)} MB each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
