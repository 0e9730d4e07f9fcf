"""A throwaway PostgreSQL cluster for the warehouse tests: Debian's server binaries (not on PATH,
in /usr/lib/postgresql/<version>/bin, installed by `make engines`), a data folder and a Unix
socket in a temporary folder, no TCP port, stopped and deleted afterwards.

`initdb` refuses to run as root; under root the cluster belongs to the unprivileged `nobody`
(util-linux `setpriv` drops the privileges). Nothing else on the machine is touched, so several
test runs (and several engineers) can each have their own cluster at once.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path


def server_bin() -> Path:
    """The newest installed PostgreSQL server's bin folder."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise RuntimeError("no PostgreSQL server in /usr/lib/postgresql/*/bin: run `make engines` (apt-get install postgresql)")
    return Path(found[-1]).parent


class Cluster:
    """``with Cluster() as c: psycopg.connect(**c.params)``"""

    def __init__(self) -> None:
        self.bin = server_bin()
        self.root = Path(tempfile.mkdtemp(prefix="liftlab-pg-"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.sock.mkdir()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("nobody")
            for p in (self.root, self.sock):
                os.chown(p, user.pw_uid, user.pw_gid)
            self.prefix = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--"]
        self.started = False

    def _run(self, *args: str) -> None:
        cmd = [*self.prefix, *args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.root)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")

    @property
    def params(self) -> dict[str, str]:
        return {"host": str(self.sock), "user": "postgres", "dbname": "postgres"}

    def start(self) -> Cluster:
        # C locale: byte-order text comparison, as DuckDB and ClickHouse
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-locale",
                  "-E", "UTF8", "--no-sync")
        opts = f"-k {self.sock} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.root / "server.log"), "-w",
                  "-t", "60", "start")
        self.started = True
        return self

    def stop(self) -> None:
        try:
            if self.started:
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
                self.started = False
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
