"""Measuring helpers of bench/bench_server.py: accounts, CPU per part of the stack, nginx's
timings, a py-spy sample of the app processes, and plain PostgreSQL inserts of the same rows."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
from psycopg2.extras import execute_values
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from server.db import migrate
from server.db.models import User
from server.security.passwords import PasswordHasher
from tests.server import pg

TICKS = os.sysconf("SC_CLK_TCK")


def create_users(database_url: str, names: list[str], password: str) -> None:
    """Radiologist accounts, written directly (one Argon2 hash, shared: it is a bench)."""
    digest = PasswordHasher().hash(password)
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    with Session(engine) as session:
        session.add_all(
            User(username=n, password_hash=digest, role="radiologist", is_active=True,
                 created_at=now)
            for n in names
        )  # fmt: skip
        session.commit()
    engine.dispose()


# --- CPU per part ---------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _named(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _machine_busy() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICKS


class CpuMeter:
    """CPU seconds used by each part of the stack between construction and :meth:`stop`."""

    def __init__(self, running) -> None:
        nginx = running.nginx.pid
        self._parts = {
            "bench client (this process)": lambda: [os.getpid()],
            "nginx (TLS, proxy)": lambda: [nginx, *_children(nginx)],
            "app processes (2 x uvicorn)": lambda: [p.pid for p in running.apps],
            "PostgreSQL (all backends)": lambda: _named("postgres"),
        }
        self._start = self._read()
        self._busy = _machine_busy()

    def _read(self) -> dict[str, dict[int, float]]:
        return {name: {p: _cpu_seconds(p) for p in pids()} for name, pids in self._parts.items()}

    def stop(self) -> dict[str, float]:
        end = self._read()
        used = {
            name: sum(t - self._start[name].get(p, 0.0) for p, t in end[name].items())
            for name in end
        }
        busy = _machine_busy() - self._busy
        used["everything else on the machine"] = max(0.0, busy - sum(used.values()))
        return used


def cpu_table(used: dict[str, float], *, requests: int, wall: float) -> str:
    total = sum(used.values())
    lines = [f"CPU over the run ({wall:.1f} s wall, {os.cpu_count()} CPUs = "
             f"{wall * (os.cpu_count() or 1):.0f} CPU-s available):"]  # fmt: skip
    for name, seconds in used.items():
        lines.append(
            f"  {name:<34} {seconds:7.1f} CPU-s {100 * seconds / total:5.1f}%"
            f"  {1000 * seconds / requests:6.2f} ms per request"
        )
    return "\n".join(lines)


# --- nginx ----------------------------------------------------------------------------------


def nginx_times(log: Path, *, start: int) -> tuple[list[float], list[float]]:
    """nginx's ``$request_time`` and the app's ``$upstream_response_time`` of the requests
    logged after byte ``start`` (the stack's ``timing`` log format)."""
    total, upstream = [], []
    with log.open() as handle:
        handle.seek(start)
        for line in handle:
            parts = line.split()
            if len(parts) < 5 or parts[1].startswith("/auth"):
                continue
            total.append(float(parts[3]))
            last = parts[-1].split(",")[-1].strip()
            if last not in ("", "-"):
                upstream.append(float(last))
    return total, upstream


# --- py-spy ---------------------------------------------------------------------------------

# What the app was doing, judged by the innermost frame that names one of these.
CATEGORIES = [
    ("Argon2 password hashing", ("argon2",)),
    ("JWT decode and verify", ("/jwt/",)),
    ("waiting on PostgreSQL (driver calls)", ("do_execute", "do_commit", "do_ping",
                                              "do_rollback", "_connection_for_bind")),
    ("SQLAlchemy (ORM and Core, in Python)", ("sqlalchemy/",)),
    ("pydantic (validate, serialize)", ("pydantic",)),
    ("JSON encode/decode", ("/json/",)),
    ("our code (server/, core/contracts)", ("/server/", "/core/")),
    ("FastAPI (routing, dependencies)", ("fastapi/",)),
    ("Starlette, anyio (thread pool, middleware)", ("starlette/", "anyio/", "threading")),
    ("uvicorn, h11 (HTTP parsing)", ("uvicorn/", "h11/", "httptools")),
    ("asyncio event loop", ("asyncio/", "selectors")),
]  # fmt: skip

# Of ours, inclusive: the share of samples inside these functions.
OURS = [
    ("authenticate (token, user, revocation)", "authenticate (server/services/auth.py"),
    ("put_reading (the reading's SQL)", "put_reading (server/services/readings.py"),
    ("audit.record", "record (server/services/audit.py"),
    ("Session.commit", "commit (sqlalchemy/orm/session.py"),
    ("pool pre-ping", "_do_ping_w_event"),
    ("FastAPI response validation", "serialize_response"),
]


class Profiler:
    """``py-spy record`` on every app process until :meth:`stop`."""

    def __init__(self, running) -> None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        self._folder = Path(tempfile.mkdtemp(prefix="mammo-spy-"))
        self._spies = [
            subprocess.Popen(
                [
                    spy,
                    "record",
                    "--pid",
                    str(app.pid),
                    "--format",
                    "raw",
                    "--rate",
                    "200",
                    "--nonblocking",
                    "-o",
                    str(self._folder / f"{app.pid}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            for app in running.apps
        ]
        time.sleep(1.0)  # py-spy attaches

    def stop(self) -> Counter:
        for spy in self._spies:
            spy.send_signal(signal.SIGINT)
        stacks: Counter = Counter()
        for spy in self._spies:
            spy.wait(timeout=60)
        for path in self._folder.glob("*.txt"):
            for line in path.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if count.isdigit():
                    stacks[stack] += int(count)
        shutil.rmtree(self._folder, ignore_errors=True)
        return stacks


def profile_table(stacks: Counter) -> str:
    total = sum(stacks.values()) or 1
    by_category: Counter = Counter()
    for stack, count in stacks.items():
        frames = stack.split(";")
        name = next(
            (label for frame in reversed(frames) for label, keys in CATEGORIES
             if any(k in frame for k in keys)),
            "other",
        )  # fmt: skip
        by_category[name] += count
    lines = [f"py-spy, app processes' CPU samples ({total}), by what the innermost frame was:"]
    lines += [f"  {n:<44} {100 * c / total:5.1f}%" for n, c in by_category.most_common()]
    lines.append("  inclusive, in these functions:")
    for label, key in OURS:
        share = sum(c for s, c in stacks.items() if key in s) / total
        lines.append(f"  {label:<44} {100 * share:5.1f}%")
    return "\n".join(lines)


# --- plain PostgreSQL -----------------------------------------------------------------------

IMAGE_COLUMNS = ("pixel_sha256", "width", "height", "laterality", "view_position",
                 "sop_instance_uid", "study_instance_uid")  # fmt: skip
READING_COLUMNS = ("score", "label", "threshold", "model_id", "model_sha256", "engine", "device",
                   "preprocessing_version", "app_version", "heatmap_peak", "created_at",
                   "agrees_with_model", "birads", "note", "signed_at", "amends_id")  # fmt: skip


def plain_inserts(database_url: str, rows: list[dict], username: str) -> dict[str, float]:
    """Seconds to insert ``rows`` (images and readings) straight into a fresh, migrated
    database: per-row transactions, and 100-row transactions, over 20 connections (what the
    two app processes hold at most: 2 x (5 + 5 overflow))."""
    url = pg.create_database("mammo_plain")
    try:
        migrate.upgrade(url)
        create_users(url, [username], "unused password")
        dsn = url.replace("postgresql+psycopg2://", "postgresql://")
        return {
            "per-row transactions, 20 connections": _timed(dsn, rows, per=1),
            "100-row transactions, 20 connections": _timed(dsn, rows, per=100, fresh=True),
        }
    finally:
        pg.drop_database(url)


def _timed(dsn: str, rows: list[dict], *, per: int, fresh: bool = False) -> float:
    if fresh:
        with psycopg2.connect(dsn) as c, c.cursor() as cursor:
            cursor.execute("TRUNCATE readings, images")
    groups = [rows[i : i + per] for i in range(0, len(rows), per)]
    lock = threading.Lock()

    def worker() -> None:
        connection = psycopg2.connect(dsn)
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM users LIMIT 1")
            user_id = cursor.fetchone()[0]
            while True:
                with lock:
                    if not groups:
                        break
                    group = groups.pop()
                _insert(cursor, group, user_id)
                connection.commit()
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def _insert(cursor, group: list[dict], user_id: int) -> None:
    now = datetime.now(UTC)
    image_ids = execute_values(
        cursor,
        f"INSERT INTO images ({', '.join(IMAGE_COLUMNS)}, first_seen_at) VALUES %s RETURNING id",
        [tuple(r["image"].get(c) for c in IMAGE_COLUMNS) + (now,) for r in group],
        fetch=True,
    )
    execute_values(
        cursor,
        f"INSERT INTO readings (id, user_id, image_id, received_at, updated_at, "
        f"{', '.join(READING_COLUMNS)}) VALUES %s",
        [
            (r["id"], user_id, image_id, now, now, *(r[c] for c in READING_COLUMNS))
            for r, (image_id,) in zip(group, image_ids, strict=True)
        ],
    )
