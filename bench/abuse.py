"""Abusive clients against `liftlab serve`, and what a normal user sees meanwhile.

Issue 12's load target: with 4 abusive clients sending worst-case allowed requests, /healthz
p99 < 50 ms and a normal forecast p99 < 100 ms. This script starts the service on loopback over
a ledger of `--ledger` forecasts (written straight into its SQLite file), then for `--seconds`:

- 4 abusive clients, each with one connection kept busy back to back, cycling through the most
  expensive requests the service allows: a forecast at the work limit (20 changed nodes x 100,000
  draws) with a new seed every time (nothing cached), batch assignment of `max_batch_rows` ids, an
  analysis of an 7 MB raw body, the ledger's longest list, calibration with a new filter each time,
  and one that sends its next request's headers one byte a second (slowloris);
- 300 more connections that open and send nothing (they are closed after the header timeout and
  opened again);
- a prober asking /healthz every 20 ms, and a PM's page asking for a forecast every 50 ms (the
  example funnel with one baseline changed each time, seed 0: what the page sends).

It prints the latency of the prober and the page (p50, p99, max), the abusive requests by status,
and the service's resident memory before and after, as JSON. Standard library only.

    python bench/abuse.py --bin target/release/liftlab --seconds 60 --ledger 46000
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "abuse-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def fill_ledger(db: Path, n: int) -> None:
    """`n` forecasts (a third with an outcome), written straight into the service's tables."""
    if n <= 0:
        return
    con = sqlite3.connect(db)
    req = json.dumps({"model": {"nodes": [{"name": "leads", "kind": "count", "baseline": 2000},
                                          {"name": "deal", "kind": "rate", "baseline": 0.08}],
                                "changes": [{"node": "deal", "low": 0.01, "likely": 0.03, "high": 0.06}]}})
    rng = random.Random(1)
    rows, outcomes = [], []
    for i in range(1, n + 1):
        est = rng.gauss(0.03, 0.01)
        rows.append((i, f"forecast {i}", f"author{i % 97}", f"team{i % 13}", "deal", req, "{}",
                     est, est - 0.02, est + 0.02, 0.95, f"2026-{1 + i % 12:02d}-15T10:00:00Z"))
        if i % 3 == 0:
            rel = rng.gauss(0.02, 0.015)
            obs = {"relative": rel, "low": rel - 0.01, "high": rel + 0.01, "significant_win": rel > 0.02}
            outcomes.append((i, json.dumps(obs), "typed", rel, rel - 0.01, rel + 0.01, int(rel > 0.02)))
    with con:
        con.executemany(
            "INSERT INTO forecasts (id, title, author, team, metric, request, report, rel_estimate, rel_low, "
            "rel_high, confidence, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.executemany(
            "INSERT INTO outcomes (forecast_id, observed, source, obs_relative, obs_low, obs_high, significant_win) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", outcomes)
    con.close()


class Service:
    def __init__(self, binary: str, folder: Path, ledger: int):
        self.port = free_port()
        self.db = folder / "abuse.db"
        self.log = open(folder / "server.log", "wb")
        self.cmd = [binary, "serve", "--bind", f"127.0.0.1:{self.port}", "--database", str(self.db),
                    "--token", TOKEN, "--spec", str(ROOT / "examples" / "experiments.toml")]
        self.start()
        self.stop()  # the first start creates the schema; the ledger is written while it is down
        fill_ledger(self.db, ledger)
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=self.log,
                                     env={**os.environ, "RUST_LOG": "warn"})
        for _ in range(400):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("service did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def percentile(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(p * len(s)))]


def summary(xs: list[float]) -> dict:
    return {"n": len(xs), "p50_ms": round(percentile(xs, 0.50) * 1e3, 2),
            "p99_ms": round(percentile(xs, 0.99) * 1e3, 2), "max_ms": round(max(xs, default=float("nan")) * 1e3, 2)}


def worst_requests(batch_rows: int) -> list[tuple[str, str, bytes | None]]:
    rng = random.Random(7)
    nodes = [{"name": "leads", "kind": "count", "baseline": 50000}] + \
        [{"name": f"r{i}", "kind": "rate", "baseline": 0.9} for i in range(20)]
    changes = [{"node": f"r{i}", "low": -0.01, "likely": 0.01, "high": 0.05} for i in range(20)]
    ids = [f"+1555{i:07d}" for i in range(batch_rows)]
    n = 120_000
    raw = {"exposures": {"unit": list(range(n)), "variant": [("control", "sms")[i % 2] for i in range(n)]},
           "outcomes": {"unit": list(range(n)), "columns": {"paid": [float(rng.random() < 0.1) for _ in range(n)]}}}
    spec = ("[[experiments]]\nkey = \"x\"\nvariants = [\"control\", \"sms\"]\n"
            "[[metrics]]\nname = \"paid\"\nkind = \"binary\"\n")
    out: list[tuple[str, str, bytes | None]] = []
    for k in range(6):
        seed = rng.randrange(1 << 62)
        body = {"model": {"nodes": nodes, "changes": changes, "draws": 100_000, "seed": seed}}
        out.append(("POST", "/v1/forecast", json.dumps(body).encode()))
        if k == 0:
            out.append(("POST", "/v1/assign/batch", json.dumps({"ids": ids, "experiment": "sms-reminder"}).encode()))
            out.append(("POST", "/v1/analyze", json.dumps({"spec": spec, "raw": raw}).encode()))
        out.append(("GET", "/v1/forecasts?limit=500", None))
        out.append(("GET", f"/v1/calibration?author=author{rng.randrange(200)}", None))
    return out


def abuser(port: int, until: float, requests, statuses: dict, lock: threading.Lock) -> None:
    i = 0
    conn = None
    while time.time() < until:
        method, path, body = requests[i % len(requests)]
        i += 1
        if path.startswith("/v1/forecast") and method == "POST":
            # a new seed every time: nothing cached
            b = json.loads(body)
            b["model"]["seed"] = random.randrange(1 << 62)
            body = json.dumps(b).encode()
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            headers = {"content-type": "application/json"} if body else {}
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            r.read()
            key = r.status
        except (OSError, http.client.HTTPException) as e:
            key = type(e).__name__
            conn = None
        with lock:
            statuses[key] = statuses.get(key, 0) + 1


def abuser_process(port: int, until: float, k: int, results) -> None:
    reqs = worst_requests(100_000)
    statuses: dict = {}
    abuser(port, until, reqs[k:] + reqs[:k], statuses, threading.Lock())
    results.put({str(key): v for key, v in statuses.items()})


def nuisance_process(port: int, until: float) -> None:
    threads = [threading.Thread(target=slowloris, args=(port, until)),
               threading.Thread(target=idle_connections, args=(port, until, 300))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def slowloris(port: int, until: float) -> None:
    """Sends a request's headers one byte a second, over and over."""
    head = b"POST /v1/forecast HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
    while time.time() < until:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            for b in head:
                if time.time() > until:
                    break
                s.send(bytes([b]))
                time.sleep(1.0)
        except OSError:
            time.sleep(0.2)


def idle_connections(port: int, until: float, count: int) -> None:
    socks: list[socket.socket] = []
    while time.time() < until:
        socks = [s for s in socks if s.fileno() != -1]
        while len(socks) < count:
            try:
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            except OSError:
                break
        time.sleep(1.0)
        alive = []
        for s in socks:
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    s.close()
                    continue
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                continue
            alive.append(s)
        socks = alive
    for s in socks:
        s.close()


def prober(port: int, until: float, path: str, body_fn, every: float, out: list[float], errors: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.time() < until:
        t0 = time.perf_counter()
        try:
            body = body_fn() if body_fn else None
            headers = {"content-type": "application/json"} if body else {}
            conn.request("POST" if body else "GET", path, body=body, headers=headers)
            r = conn.getresponse()
            r.read()
            dt = time.perf_counter() - t0
            if r.status == 200:
                out.append(dt)
            else:
                errors.append(r.status)
        except (OSError, http.client.HTTPException) as e:
            errors.append(type(e).__name__)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        time.sleep(max(0.0, every - (time.perf_counter() - t0)))


def run(binary: str, seconds: float, ledger: int, abusers: int = 4) -> dict:
    with tempfile.TemporaryDirectory() as d:
        svc = Service(binary, Path(d), ledger)
        try:
            rss0 = rss_kib(svc.proc.pid)
            example = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{svc.port}/assets/example.json").read())
            page_n = [0]

            def page_body() -> bytes:
                page_n[0] += 1
                req = json.loads(json.dumps(example))
                req["model"]["nodes"][0]["baseline"] = 10_000 + page_n[0]  # a different funnel every time
                return json.dumps(req).encode()

            until = time.time() + seconds
            statuses: dict = {}
            health: list[float] = []
            page: list[float] = []
            health_err: list = []
            page_err: list = []
            # the abusers run in processes of their own, so that their JSON work never holds the
            # probers' interpreter lock (which would show up as the service's latency)
            ctx = multiprocessing.get_context("spawn")
            results = ctx.Queue()
            procs = [ctx.Process(target=abuser_process, args=(svc.port, until, k, results)) for k in range(abusers)]
            procs.append(ctx.Process(target=nuisance_process, args=(svc.port, until)))
            for p in procs:
                p.start()
            time.sleep(1.0)  # let the abusers start first
            rss: list[int] = []

            def sample_rss() -> None:
                while time.time() < until:
                    rss.append(rss_kib(svc.proc.pid))
                    time.sleep(1.0)

            threads = [
                threading.Thread(target=sample_rss),
                threading.Thread(target=prober, args=(svc.port, until, "/healthz", None, 0.02, health, health_err)),
                threading.Thread(target=prober, args=(svc.port, until, "/v1/forecast", page_body, 0.05, page, page_err)),
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for _ in range(abusers):
                for k, v in results.get(timeout=120).items():
                    statuses[k] = statuses.get(k, 0) + v
            for p in procs:
                p.join(timeout=30)
            rss1 = rss_kib(svc.proc.pid)
            alive = svc.proc.poll() is None
        finally:
            svc.stop()
        return {
            "seconds": seconds, "ledger_rows": ledger, "abusive_clients": abusers,
            "healthz": summary(health), "healthz_errors": health_err[:20],
            "normal_forecast": summary(page), "normal_forecast_errors": page_err[:20],
            "abusive_requests": {str(k): v for k, v in sorted(statuses.items(), key=str)},
            "rss_mib_before": round(rss0 / 1024, 1), "rss_mib_after": round(rss1 / 1024, 1),
            "rss_mib_each_second": [round(r / 1024, 1) for r in rss],
            "service_alive": alive,
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "liftlab"))
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--ledger", type=int, default=46_000)
    a = ap.parse_args()
    print(json.dumps(run(a.bin, a.seconds, a.ledger), indent=2))


if __name__ == "__main__":
    sys.exit(main())
