"""Real servers and workstations for the sync end-to-end tests and the sync bench.

- :class:`ServerProcess`: ``mammo-server serve`` in its own process, HTTPS with a test CA, on a
  fixed port so that it can be SIGKILLed and started again where the client expects it;
- :class:`InProcessServer`: the same app under uvicorn in a thread, with a clock the test
  controls (to make access tokens expire while a sync runs);
- :func:`workstation`: a local store and a :class:`SyncService` with a private token file.
"""

from __future__ import annotations

import hashlib
import signal
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from core.store import ReadingRecord, Store
from core.sync import FileTokenStore, SyncService
from server.db import migrate
from tests.core.store.factories import make_new_reading
from tests.server import factories, pg, stack

REPO = Path(__file__).resolve().parents[2]
PASSWORD = factories.PASSWORD


class ServerDown(RuntimeError):
    pass


def throwaway_database(prefix: str) -> str:
    """A migrated, empty PostgreSQL database; the caller drops it (pg.drop_database)."""
    url = pg.create_database(prefix)
    try:
        migrate.upgrade(url)
    except BaseException:
        pg.drop_database(url)
        raise
    return url


def create_user(database_url: str, username: str, *, role: str = "radiologist") -> None:
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            factories.make_user(session, username, role=role)
            session.commit()
    finally:
        engine.dispose()


def server_ids(database_url: str, username: str) -> list[str]:
    """Ids of ``username``'s readings on the server, sorted, duplicates included."""
    return sorted(str(i) for i in sql(
        database_url,
        "SELECT r.id FROM readings r JOIN users u ON u.id = r.user_id WHERE u.username = :name",
        name=username,
    ))  # fmt: skip


def sql(database_url: str, statement: str, **params) -> list:
    """Run one statement on the server's database (as the test superuser); first column."""
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            result = connection.execute(text(statement), params)
            return list(result.scalars()) if result.returns_rows else []
    finally:
        engine.dispose()


def wait_for(check: Callable[[], bool], *, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class Certificates:
    ca: Path
    cert: Path
    key: Path

    @classmethod
    def make(cls, folder: Path, **options) -> Certificates:
        """Options: as :func:`stack.make_certificates`."""
        folder.mkdir(parents=True, exist_ok=True)
        return cls(*stack.make_certificates(folder, **options))


class ServerProcess:
    """``python -m server.cli serve`` over HTTPS on 127.0.0.1:<port>, restartable in place."""

    def __init__(
        self,
        folder: Path,
        database_url: str,
        *,
        certificate_issued_ago: timedelta = timedelta(days=1),
        **settings: str,
    ) -> None:
        self.folder = folder
        self.database_url = database_url
        self.certs = Certificates.make(folder / "tls", issued_ago=certificate_issued_ago)
        self.port = stack.free_port()
        self.settings = settings
        self.process: subprocess.Popen | None = None
        self.log = folder / "server.log"
        (folder / "server.toml").write_text("")

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return stack.server_env(self.database_url, self.folder, **self.settings)

    def start(self, timeout: float = 60.0) -> None:
        command = [
            sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1",
            "--port", str(self.port), "--tls-cert", str(self.certs.cert),
            "--tls-key", str(self.certs.key), "--log-level", "warning",
        ]  # fmt: skip
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                command, env=self.env(), stdout=log, stderr=subprocess.STDOUT, cwd=REPO
            )
        trust = ssl.create_default_context(cafile=str(self.certs.ca))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerDown(f"the server exited:\n{self.log.read_text()[-3000:]}")
            try:
                ready = httpx.get(f"{self.url}/readyz", verify=trust, timeout=2)
                if ready.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise ServerDown(f"the server did not come up:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, open transactions are cut off."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=15)

    def stop(self) -> None:
        """SIGTERM; SIGKILL after a few seconds (uvicorn waits for open keep-alive
        connections, such as the workstation's, before it exits)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class InProcessServer:
    """The server app under uvicorn in a thread, HTTPS, with ``clock`` as its time."""

    def __init__(
        self, folder: Path, database_url: str, *, clock: Callable[[], datetime], **settings
    ) -> None:
        import uvicorn

        from server.main import create_app

        self.certs = Certificates.make(folder / "tls")
        self.port = stack.free_port()
        app = create_app(factories.make_settings(database_url, **settings), clock=clock)
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            ssl_certfile=str(self.certs.cert),
            ssl_keyfile=str(self.certs.key),
            log_level="warning",
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def __enter__(self) -> InProcessServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise ServerDown("the in-process server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)


def workstation(
    folder: Path,
    server_url: str,
    ca: Path | None,
    *,
    clock: Callable[[], datetime] | None = None,
    **options,
) -> tuple[Store, SyncService]:
    """A workstation: its own store and token file (the keyring is never touched)."""
    folder.mkdir(parents=True, exist_ok=True)
    store = Store.open(folder / "mammo.sqlite3")
    extra = {} if clock is None else {"clock": clock}
    service = SyncService(
        store=store,
        server_url=server_url,
        ca_cert=ca,
        tokens=FileTokenStore(folder / "tokens.json"),
        offline_login_days=7,
        **extra,
        **options,
    )
    return store, service


@dataclass(frozen=True)
class FakeImage:
    source_path: str
    pixel_sha256: str
    width: int = 3328
    height: int = 4096
    bit_depth: int = 12
    file_format: str = "dicom"
    laterality: str | None = "L"
    view_position: str | None = "CC"
    photometric: str | None = "MONOCHROME2"
    sop_instance_uid: str | None = None


def make_readings(store: Store, username: str, count: int, *, chunk: int = 2000) -> list[str]:
    """``count`` readings of ``count`` distinct images by ``username``, queued; their ids."""
    user_id = store.ensure_user(username)
    ids: list[str] = []
    for start in range(0, count, chunk):
        news = []
        for n in range(start, min(count, start + chunk)):
            tag = uuid.uuid4().hex
            image = FakeImage(
                source_path=f"/cases/{tag}/LCC.dcm",
                pixel_sha256=hashlib.sha256(tag.encode()).hexdigest(),
                sop_instance_uid=f"1.2.826.0.1.3680043.8.498.{n + 1}",
            )
            news.append(make_new_reading(image_id=store.add_image(image), user_id=user_id))
        ids.extend(r.id for r in store.add_readings(news))
    return ids


def sign(store: Store, reading: ReadingRecord | str, username: str, **decision):
    reading_id = reading if isinstance(reading, str) else reading.id
    values = {"agrees_with_model": True, "birads": 4, "note": "spiculated mass"}
    values.update(decision)
    return store.add_feedback(reading_id=reading_id, user_id=store.ensure_user(username), **values)


def now() -> datetime:
    return datetime.now(UTC)
