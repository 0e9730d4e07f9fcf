"""The package's `liftlab` command (`liftlab._cli:main`, the wheel's console script) is the Rust
binary's entry point run inside the extension: same help, same exit codes, same one-line errors.
The wheel itself is tested installed in a fresh venv by `make wheel-smoke`."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["uplift", "--help"], ["frobnicate"], ["hash", "--seed", "s", "--value", "a"]])
def test_the_module_runs_the_binary_entry_point(liftlab_bin, args):
    py = run([sys.executable, "-m", "liftlab._cli", *args])
    rs = run([liftlab_bin, *args])
    assert (py.returncode, py.stdout, py.stderr) == (rs.returncode, rs.stdout, rs.stderr)


def test_main_returns_the_exit_code(tmp_path, capfd):
    from liftlab._cli import main

    assert main(["liftlab", "validate", "--spec", str(tmp_path / "missing.toml")]) == 2
    assert "error: io_error:" in capfd.readouterr().err
