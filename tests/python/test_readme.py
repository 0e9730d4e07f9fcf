"""Every snippet in README.md runs: the Python blocks in one namespace, the CLI block with the
liftlab binary on PATH, the HTTP block against a service started on a free port."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from conftest import ROOT, start_service
from readme_snippets import blocks, section


def test_python_snippets_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the snippets write report.html to the working folder
    code = blocks("python")
    assert code, "README has no python snippet"
    ns: dict = {}
    first: dict = {}  # each name as the first snippet that defines it left it (the tour reuses names)
    for c in code:
        exec(compile(c, "README.md", "exec"), ns)
        for name in ("df", "report"):
            if name in ns and name not in first:
                first[name] = ns[name]
    # the examples show what they say (issue 17): the batch assigns units, the analysis data has
    # a real effect on both metrics, the weights error reads as the README quotes it
    reasons = dict(first["df"].group_by("reason").len().iter_rows())
    assert reasons["assigned"] > 7_000 and "not_eligible" not in reasons, reasons
    effects = first["report"].to_polars()
    assert (effects["p_value"] < 0.01).all() and (effects["rel_effect"] > 0).all(), effects
    quoted = re.search(r"raises `InvalidInputError:\s+(.*?) \.\.\.`", (ROOT / "README.md").read_text(), flags=re.S)
    assert quoted, "README quotes no weights error"
    import liftlab

    bad = '[[experiments]]\nkey = "x"\nvariants = ["a", "b"]\nweights = [0.7, 0.6]\n'
    try:
        liftlab.load_spec(bad)
    except liftlab.exceptions.InvalidInputError as e:
        assert str(e).startswith(" ".join(quoted.group(1).split())), (str(e), quoted.group(1))
    else:
        raise AssertionError("weights summing to 1.3 were accepted")


def run_sh(script: str, cwd: Path, env: dict) -> str:
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"snippet failed ({r.returncode}):\n{script}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r.stdout


def test_cli_snippet_runs(tmp_path, liftlab_bin):
    (script,) = blocks("sh", section("CLI"))
    env = dict(os.environ, PATH=f"{Path(liftlab_bin).parent}:{os.environ['PATH']}")
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "forecast.toml", tmp_path / "examples")
    out = run_sh(script, tmp_path, env)
    assert '"valid":true' in out and "unit_id,experiment,variant,reason,bucket" in out
    assert '{"hash":0.0505}' in out and '{"result":true}' in out
    # the analysis part: a report, its Markdown summary and a JUnit file from `liftlab check`
    assert "call-script" in out and "booked" in out
    assert (tmp_path / "report.html").read_text().lower().startswith("<!doctype html>")
    assert "<testsuite" in (tmp_path / "junit.xml").read_text()
    assert "Formula" in out or "formula" in out
    # the uplift part: one score column per channel, a contact list within the spend budget
    assert (tmp_path / "scored.csv").read_text().splitlines()[0] == "id,call,sms"
    contacts = (tmp_path / "contacts.csv").read_text().splitlines()
    assert contacts[0].startswith("id,channel,uplift,expected_gain") and len(contacts) > 10


def test_http_snippet_runs(tmp_path, liftlab_bin):
    scripts = blocks("sh", section("HTTP"))
    assert len(scripts) == 2, "the HTTP tour: assignment/analysis, then forecasting"
    script = "\n".join(scripts)
    svc = start_service(tmp_path, "--spec", str(ROOT / "examples" / "experiments.toml"))
    try:
        port = svc.url.rsplit(":", 1)[1]
        env = dict(os.environ, LIFTLAB_TOKEN=svc.token)
        out = run_sh(script.replace("127.0.0.1:8080", f"127.0.0.1:{port}"), tmp_path, env)
    finally:
        svc.proc.terminate()
        svc.proc.wait(timeout=10)
    assert '"status":"ok"' in out and '"assignments"' in out and '"hash":0.0505' in out and '"openapi"' in out
    assert '"schema_version":1' in out and '"experiment":"push"' in out
    # forecasting: a projection, a saved forecast with its outcome, the ledger and the calibration
    assert '{"forecast":{"baseline":' in out and '{"id":1,"title":"SMS reminder before the call"' in out
    assert '"reconciliation":{"scale":"reached"' in out and '{"forecasts":[{"id":1' in out
    assert '{"scale":"reached","overall":{"key":"all"' in out  # calibration on the lift among reached units


def test_readme_commands_are_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
