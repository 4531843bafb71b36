"""The release profile names every setting `cargo lambda build --release` would otherwise
override (cargo-lambda's "Release optimizations": strip, lto, codegen-units, panic), so what
`sam build` ships is the build `make bench` measures."""

from __future__ import annotations

import tomllib
from pathlib import Path

CARGO_TOML = Path(__file__).resolve().parents[2] / "Cargo.toml"


def test_the_release_profile_sets_what_cargo_lambda_would_override():
    release = tomllib.loads(CARGO_TOML.read_text())["profile"]["release"]
    missing = [key for key in ("strip", "lto", "codegen-units", "panic") if key not in release]
    assert not missing, f"[profile.release] lacks {missing}: cargo lambda would set its own"
