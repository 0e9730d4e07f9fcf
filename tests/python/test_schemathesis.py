"""schemathesis against `liftlab serve`: every answer documented in /openapi.json, no 5xx.

Issue 12: schemathesis (`--checks all`) reported 39 conformance failures (undocumented status
codes and response shapes). This runs it on every route with a bounded number of examples and a
fixed seed, as a client with a write token and as an anonymous one against a service that asks
for read tokens, and fails on any failure it reports or any 5xx in the service's log.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, start_service

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = ROOT / "tests" / "python" / "schemathesis.toml"


def run_schemathesis(url: str, *extra: str) -> subprocess.CompletedProcess:
    assert SCHEMATHESIS.exists(), f"{SCHEMATHESIS} missing: `make venv` installs schemathesis"
    cmd = [
        str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", url + "/openapi.json",
        "--checks", "all", "--max-examples", "25", "--seed", "7", "--generation-database", "none",
        "--no-color", "--workers", "2", "--request-timeout", "20", *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def server_errors(log: Path) -> list[str]:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        status = entry.get("fields", {}).get("status")
        if isinstance(status, int) and status >= 500:
            out.append(line)
    return out


@pytest.mark.parametrize("who", ["writer", "anonymous"])
def test_schemathesis_reports_no_failure(tmp_path, liftlab_bin, who):
    args = ["--spec", str(ROOT / "examples" / "experiments.toml")]
    if who == "anonymous":
        args += ["--read-token", "read-token-0123456789abcdef"]
    svc = start_service(tmp_path, *args)
    try:
        headers = ["-H", f"Authorization: Bearer {svc.token}"] if who == "writer" else []
        r = run_schemathesis(svc.url, *headers)
        assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
        assert "Tested: " in r.stdout and "generated" in r.stdout, r.stdout[-2000:]
    finally:
        svc.proc.terminate()
        svc.proc.wait(timeout=30)
    errors = server_errors(tmp_path / "server.log")
    assert not errors, "\n".join(errors[:10])
