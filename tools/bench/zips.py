"""Each function's deployment zip, as `make package` (tools/package.py) builds it.

package.py runs `cargo lambda build --release --arm64 --output-format zip --bin ...` (x86_64
when the aarch64 standard library cannot be had) and checks each `lambda/<bin>/bootstrap.zip`.
This reuses those zips when every one exists under the cargo target dir and is newer than
every Rust source and Cargo.lock, else runs the same build; both under package's lock on the
zips, so a `make package` running beside it is waited for rather than raced. The architecture
is read from the ELF header of the `bootstrap` inside each zip, not assumed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "local-aws"))

import package  # noqa: E402
from stack import REPO_ROOT, VENV_BIN  # noqa: E402

ELF_MACHINES = {0xB7: "arm64", 0x3E: "x86_64"}  # e_machine: EM_AARCH64, EM_X86_64


def newest_source() -> float:
    paths = [REPO_ROOT / "Cargo.lock", REPO_ROOT / "Cargo.toml"]
    for top in ("crates", "functions"):
        paths += (REPO_ROOT / top).rglob("*.rs")
        paths += (REPO_ROOT / top).rglob("Cargo.toml")
    return max(p.stat().st_mtime for p in paths)


def zip_arch(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        with archive.open("bootstrap") as binary:
            header = binary.read(20)
    if header[:4] != b"\x7fELF":
        return "not an ELF binary"
    return ELF_MACHINES.get(int.from_bytes(header[18:20], "little"), "unknown")


def build_command(binaries: list[str]) -> tuple[list[str], list[str]]:
    notes = []
    if package.arm64_installed():
        arch_flag = "--arm64"
    else:
        arch_flag = "--x86-64"
        notes.append(f"zip: the Rust standard library for {package.ARM64_TARGET} is not installed; "
                     "zips built for x86_64 instead")
    return package.build_command(binaries, arch_flag), notes


def measure(binaries: list[str]) -> dict[str, Any]:
    command, notes = build_command(binaries)
    # Under package's lock: a `make package` running at the same time is waited for (its zips
    # then count as fresh), and no zip is read while a build writes it.
    with package.zips_locked():
        fresh = all(package.zip_path(b).is_file() for b in binaries) and \
            min(package.zip_path(b).stat().st_mtime for b in binaries) > newest_source()
        if fresh:
            notes.append("zip: reused the zips of an earlier build (newer than every source)")
        else:
            print("bench: " + " ".join(command), file=sys.stderr, flush=True)
            env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
            subprocess.run(command, cwd=REPO_ROOT, env=env, check=True)
        out = {}
        for binary in binaries:
            path = package.zip_path(binary)
            if not path.is_file():
                out[binary] = {"zip_mb": None, "zip_arch": None}
                notes.append(f"zip: {binary}: no bootstrap.zip after the build")
                continue
            out[binary] = {"zip_mb": round(path.stat().st_size / 1024 / 1024, 2),
                           "zip_arch": zip_arch(path)}
    return {"functions": out, "command": " ".join(command), "notes": notes}
