"""The wheel as an analyst gets it (`make wheel-smoke`): run by the Python of a fresh venv that
holds nothing but the wheel and its dependencies, on a PATH without cargo or rustc.

    wheel_smoke.py RUST_BINARY

- the README's Python tour (the ``### Python`` section's blocks, in one namespace);
- ``liftlab`` is the venv's console script and prints the same ``--help`` as the Rust binary, for
  the command and each subcommand (the same clap entry point, so the same subcommands);
- ``liftlab serve`` answers ``GET /healthz`` and stops on Ctrl-C (SIGINT) with exit 0;
- a long command stops on Ctrl-C too (the GIL is released and SIGINT is not left to Python).

Only the standard library and liftlab are imported: pytest is not in that venv.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from readme_snippets import blocks, section  # noqa: E402


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"wheel smoke test FAILED: {what}")
    print(f"ok   {what}", flush=True)


def python_tour(tmp: Path) -> None:
    code = blocks("python", section("Python"))
    check(len(code) >= 1, f"the README's Python tour has {len(code)} blocks")
    cwd = os.getcwd()
    os.chdir(tmp)  # the tour writes report.html to the working folder
    try:
        ns: dict = {}
        for c in code:
            exec(compile(c, "README.md", "exec"), ns)
    finally:
        os.chdir(cwd)
    import liftlab

    origin = Path(liftlab.__file__).resolve()
    check(Path(sys.prefix).resolve() in origin.parents, f"liftlab imported from the venv ({origin})")
    check(liftlab.__version__ == _metadata_version(), f"liftlab.__version__ {liftlab.__version__} is the wheel's")
    print("ok   the README's Python tour ran", flush=True)
    from importlib.metadata import distribution

    wheel = distribution("liftlab").read_text("WHEEL") or ""
    tag = next(line.split(": ", 1)[1] for line in wheel.splitlines() if line.startswith("Tag: "))
    check(tag in blocks("sh")[0], f"the README's install lines name the wheel's tag {tag}")


def _metadata_version() -> str:
    from importlib.metadata import version

    return version("liftlab")


def same_help(rust_binary: str) -> None:
    script = shutil.which("liftlab")
    check(script is not None and Path(script).parent == Path(sys.executable).parent, f"liftlab on PATH is the venv's ({script})")
    commands = [[], ["serve"], ["analyze"], ["check"], ["forecast"], ["assign"], ["uplift"], ["uplift", "fit"]]
    for sub in commands:
        py = subprocess.run(["liftlab", *sub, "--help"], capture_output=True, text=True, timeout=60)
        rs = subprocess.run([rust_binary, *sub, "--help"], capture_output=True, text=True, timeout=60)
        check(py.returncode == 0 and py.stdout, f"liftlab {' '.join(sub)} --help exits 0")
        check((py.stdout, py.stderr) == (rs.stdout, rs.stderr), f"liftlab {' '.join(sub)} --help is the binary's")
    v = subprocess.run(["liftlab", "--version"], capture_output=True, text=True, timeout=60)
    check(v.stdout.strip() == f"liftlab {_metadata_version()}", f"liftlab --version: {v.stdout.strip()}")
    bad = subprocess.run(["liftlab", "frobnicate"], capture_output=True, text=True, timeout=60)
    check(bad.returncode == 2 and bad.stderr.startswith("error: "), "a bad subcommand exits 2 with one line")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(tmp: Path) -> None:
    port = free_port()
    log = open(tmp / "serve.log", "wb")
    proc = subprocess.Popen(
        ["liftlab", "serve", "--bind", f"127.0.0.1:{port}", "--database", str(tmp / "smoke.db")],
        stdout=log,
        stderr=log,
    )
    try:
        body = None
        deadline = time.monotonic() + 30
        while body is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = (r.status, r.read().decode())
            except OSError:
                time.sleep(0.05)
        check(body is not None and body[0] == 200 and '"ok"' in body[1], f"liftlab serve: GET /healthz -> {body}")
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=15)
        check(code == 0, f"liftlab serve stops on Ctrl-C with exit 0 (got {code})")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            print((tmp / "serve.log").read_text(), file=sys.stderr)


def interrupt_long_command(tmp: Path) -> None:
    """An uplift fit far longer than the test: Ctrl-C must end it within seconds (exit by SIGINT,
    as the binary's), not when the fit is done."""
    rows = ["id,x0,x1,x2,t,y"]
    for i in range(200_000):
        rows.append(f"u{i},{(i * 7919) % 1000},{(i * 104729) % 997},{(i * 31) % 89},{i % 2},{int((i * 13) % 7 < 2)}")
    (tmp / "big.csv").write_text("\n".join(rows) + "\n")
    args = ["liftlab", "uplift", "fit", "--data", "big.csv", "--id-col", "id", "--treatment-col", "t"]
    args += ["--outcome-col", "y", "--trees", "10000", "--min-samples-leaf", "10", "-o", "model.json"]
    proc = subprocess.Popen(args, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(2.0)
    check(proc.poll() is None, "the long fit is running after 2 s")
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        code = None
    check(code == -signal.SIGINT, f"Ctrl-C stops a long command in {time.monotonic() - t0:.1f} s (exit {code})")


def main() -> None:
    rust_binary = sys.argv[1]
    check(shutil.which("cargo") is None and shutil.which("rustc") is None, "no cargo or rustc on PATH")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        python_tour(tmp)
        same_help(rust_binary)
        serve(tmp)
        interrupt_long_command(tmp)
    print("wheel smoke test: every check passed", flush=True)


if __name__ == "__main__":
    main()
