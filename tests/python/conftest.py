"""Shared fixtures: the shared data folder, the liftlab binary, a running service."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    return Path(os.environ.get("LIFTLAB_SHARED", ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared() -> Path:
    d = shared_dir()
    assert (d / "reference" / "growthbook-cases.json").exists(), f"{d} is required (set LIFTLAB_SHARED)"
    return d


@pytest.fixture(scope="session")
def liftlab_bin() -> str:
    b = os.environ.get("LIFTLAB_BIN", str(ROOT / "target" / "debug" / "liftlab"))
    assert Path(b).exists(), f"{b} missing: run `make cli` (or set LIFTLAB_BIN)"
    return b


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    def __init__(self, url: str, proc: subprocess.Popen, token: str):
        self.url, self.proc, self.token = url, proc, token

    def call(self, method: str, path: str, body=None, token: str | None = None):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("content-type", "application/json")
        if token:
            req.add_header("authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")


def start_service(tmp: Path, *extra: str, token: str = "pytest-token-0123456789") -> Service:
    port = free_port()
    b = os.environ.get("LIFTLAB_BIN", str(ROOT / "target" / "debug" / "liftlab"))
    proc = subprocess.Popen(
        [b, "serve", "--bind", f"127.0.0.1:{port}", "--database", str(tmp / "liftlab.db"), "--token", token, *extra],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / "server.log", "wb"),
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            return Service(url, proc, token)
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((tmp / "server.log").read_text()) from None
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("service did not start")


@pytest.fixture
def service(tmp_path, liftlab_bin):
    svc = start_service(tmp_path, "--spec", str(ROOT / "examples" / "experiments.toml"))
    yield svc
    svc.proc.terminate()
    svc.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def assign_cases():
    return json.loads((ROOT / "tests" / "fixtures" / "assign_cases.json").read_text())
