"""A PostgreSQL cluster of a test's own (``initdb`` in a temporary folder, a free port), so that
a test may stop and restart PostgreSQL without touching the shared one the other tests use.

As root, the cluster belongs to the ``postgres`` system user (PostgreSQL refuses to run as
root); otherwise to the current user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.server import stack

BIN = Path(os.environ.get("MAMMO_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


class ClusterError(RuntimeError):
    pass


class Cluster:
    """``with Cluster() as pg:`` a running cluster on 127.0.0.1:``pg.port``, trust auth,
    superuser ``postgres``; removed on exit."""

    def __init__(self) -> None:
        self.port = stack.free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="mammo-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self._owner = "postgres" if os.geteuid() == 0 else None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def __enter__(self) -> Cluster:
        if not (BIN / "initdb").exists():
            raise ClusterError(f"PostgreSQL's initdb is not in {BIN}; set MAMMO_TEST_PG_BIN")
        try:
            if self._owner is not None:
                user = pwd.getpwnam(self._owner)
                os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                      "--no-sync", "-E", "UTF8")  # fmt: skip
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        # fsync off: a crash of the test machine is not what these tests are about.
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """``fast``: open transactions are rolled back and their clients disconnected."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(ClusterError):  # already down; the folder goes anyway
                self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        command = [str(BIN / program), *args]
        if self._owner is not None:
            command = ["runuser", "-u", self._owner, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd="/")
        if done.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise ClusterError(f"{program} {' '.join(args)} failed:\n{done.stderr}{log}")
