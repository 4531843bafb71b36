"""tools/bench/zips.py reads the zips only under package's lock, never beside a build writing them."""

from __future__ import annotations

import io
import sys
import threading
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import zips  # noqa: E402  (first: it puts tools/ on the path)
from zips import package  # noqa: E402

ELF_X86_64 = b"\x7fELF" + bytes(14) + (0x3E).to_bytes(2, "little")
BINARIES = ["on-push", "render"]


def complete_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bootstrap", ELF_X86_64 + bytes(64))
    return buffer.getvalue()


def test_a_reader_waits_for_the_writer_and_reads_the_finished_zips(tmp_path, monkeypatch):
    monkeypatch.setenv("CARGO_TARGET_DIR", str(tmp_path))
    # No rustup call before the lock: the reader reaches it at once, so only the lock holds it.
    monkeypatch.setattr(package, "arm64_installed", lambda: True)
    whole = complete_zip()
    for binary in BINARIES:  # half written, and newer than every source: "fresh"
        (tmp_path / "lambda" / binary).mkdir(parents=True)
        (tmp_path / "lambda" / binary / "bootstrap.zip").write_bytes(whole[: len(whole) // 2])
    result: dict = {}
    with package.zips_locked():  # a writer (make package) holds the zips
        reader = threading.Thread(target=lambda: result.update(zips.measure(BINARIES)))
        reader.start()
        reader.join(timeout=1.0)
        assert reader.is_alive(), "zips.measure read the zips while a writer held them"
        for binary in BINARIES:
            (tmp_path / "lambda" / binary / "bootstrap.zip").write_bytes(whole)
    reader.join(timeout=30)
    assert not reader.is_alive()
    assert {b: result["functions"][b]["zip_arch"] for b in BINARIES} == \
        {b: "x86_64" for b in BINARIES}
    assert any("reused" in note for note in result["notes"])


def test_the_lock_file_lives_with_the_zips_of_the_target_dir_in_use(tmp_path, monkeypatch):
    monkeypatch.setenv("CARGO_TARGET_DIR", str(tmp_path))
    with package.zips_locked():
        assert (tmp_path / "lambda" / ".zips.lock").is_file()
    assert package.zip_path("deploy") == tmp_path / "lambda" / "deploy" / "bootstrap.zip"
