"""The service as a process: config from file and environment, auth, durability, shutdown, logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request

from conftest import ROOT, free_port

TOKEN = "env-token-0123456789abcdef"


def wait_up(url: str, proc: subprocess.Popen, log) -> None:
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            return
        except OSError:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.05)
    raise AssertionError("service did not start")


def test_config_file_env_and_flags(tmp_path, liftlab_bin):
    from conftest import Service

    port = free_port()
    cfg = tmp_path / "liftlab.toml"
    cfg.write_text(f'bind = "127.0.0.1:{port}"\ndatabase = "{tmp_path / "db" / "x.db"}"\ntokens = ["file-token-0123456789"]\n')
    log = tmp_path / "log"
    env = dict(os.environ, LIFTLAB_TOKENS=TOKEN, LIFTLAB_SPEC=str(ROOT / "examples" / "experiments.toml"))
    proc = subprocess.Popen([liftlab_bin, "serve", "--config", str(cfg)], env=env, stderr=open(log, "wb"))
    try:
        url = f"http://127.0.0.1:{port}"
        wait_up(url, proc, log)
        svc = Service(url, proc, TOKEN)
        # the environment's token replaced the file's
        body = {"toml": '[[experiments]]\nkey = "x"\nvariants = ["a", "b"]\n'}
        assert svc.call("PUT", "/v1/spec", body, token="file-token-0123456789")[0] == 401
        status, v = svc.call("PUT", "/v1/spec", body, token=TOKEN)
        assert status == 200, v
        assert (tmp_path / "db" / "x.db").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_sigterm_drains_and_exits_cleanly(tmp_path, liftlab_bin):
    port = free_port()
    log = tmp_path / "log"
    proc = subprocess.Popen(
        [liftlab_bin, "serve", "--bind", f"127.0.0.1:{port}", "--database", str(tmp_path / "d.db")], stderr=open(log, "wb")
    )
    wait_up(f"http://127.0.0.1:{port}", proc, log)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    messages = [r["fields"].get("message", "") for r in lines]
    assert any("no API token configured" in m and "--token" in m for m in messages), "the log says how to add a token"
    assert any("shutdown signal received" in m for m in messages)
    assert any(r["fields"].get("status") == 200 and r.get("span", {}).get("path") == "/healthz" for r in lines), "request logs"


def test_acknowledged_spec_survives_kill_9(tmp_path, liftlab_bin):
    from conftest import Service

    db = tmp_path / "k.db"
    port = free_port()
    log = tmp_path / "log"
    args = [liftlab_bin, "serve", "--bind", f"127.0.0.1:{port}", "--database", str(db), "--token", TOKEN]
    proc = subprocess.Popen(args, stderr=open(log, "wb"))
    url = f"http://127.0.0.1:{port}"
    wait_up(url, proc, log)
    svc = Service(url, proc, TOKEN)
    for i in range(20):
        status, v = svc.call("PUT", "/v1/spec", {"toml": f'[[experiments]]\nkey = "e{i}"\nvariants = ["a", "b"]\n'}, token=TOKEN)
        assert status == 200, v
    proc.kill()  # SIGKILL: no chance to flush anything
    proc.wait()
    proc = subprocess.Popen(args, stderr=open(log, "ab"))
    try:
        wait_up(url, proc, log)
        status, v = Service(url, proc, TOKEN).call("GET", "/v1/spec")
        assert status == 200 and v["version"] == 20 and v["experiments"] == ["e19"], v
    finally:
        proc.terminate()
        proc.wait(timeout=10)
