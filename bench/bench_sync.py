"""Bench the workstation's sync: time to sync N readings queued offline, next to the server's
own batch throughput measured in the same run, through the shipped deployment (throw-away
PostgreSQL database, test CA, nginx, two app processes; like tests/e2e/test_sync_volume.py).

    .venv/bin/python bench/bench_sync.py [--readings 10000] [--batch-size 500]

Prints numbers only:
- server: one client POSTing ready-made batches of the same size (no local store, no mapping);
- sync: ``SyncService.sync_once`` on a workstation with N queued readings (push, then the
  pull that brings the same N back and finds them known), split into its push and pull;
- pull: a second, empty workstation of the same radiologist pulling the N readings;
- idle: a sync with nothing to do.
"""

from __future__ import annotations

import argparse
import ssl
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.sync.pull import Puller  # noqa: E402
from core.sync.push import Pusher  # noqa: E402
from tests.e2e.sync_support import make_readings, workstation  # noqa: E402
from tests.server import stack  # noqa: E402
from tests.server.factories import reading_payload  # noqa: E402

PASSWORD = "bench sync password"


def line(name: str, count: int, seconds: float, extra: str = "") -> None:
    rate = count / seconds if seconds else float("inf")
    print(f"{name:<34} {count:>6} readings in {seconds:7.2f} s = {rate:7.0f} readings/s {extra}")


def server_throughput(running: stack.Stack, count: int, batch_size: int) -> float:
    context = ssl.create_default_context(cafile=str(running.ca))
    with httpx.Client(base_url=running.base_url, verify=context, timeout=120) as client:
        tokens = client.post(
            "/auth/login", json={"username": "bench-raw", "password": PASSWORD}
        ).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        bodies = [
            {"readings": [reading_payload() for _ in range(min(batch_size, count - start))]}
            for start in range(0, count, batch_size)
        ]
        started = time.perf_counter()
        for body in bodies:
            response = client.post("/readings/batch", json=body, headers=headers)
            response.raise_for_status()
        return time.perf_counter() - started


def timed(phases: dict[str, float], name: str, method: Callable) -> Callable:
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            phases[name] = phases.get(name, 0.0) + time.perf_counter() - started

    return wrapper


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    count = args.readings

    with tempfile.TemporaryDirectory() as folder, stack.running_stack(Path(folder)) as running:
        for user in ("bench-raw", "bench-sync"):
            running.cli("create-user", "--username", user, stdin=PASSWORD + "\n")
        print(
            f"stack: nginx TLS on {running.base_url}, 2 app processes; batches of {args.batch_size}"
        )
        line("server POST /readings/batch", count,
             server_throughput(running, count, args.batch_size), "(1 client)")  # fmt: skip

        phases: dict[str, float] = {}
        Pusher.push = timed(phases, "push", Pusher.push)  # type: ignore[method-assign]
        Puller.pull = timed(phases, "pull", Puller.pull)  # type: ignore[method-assign]
        store, service = workstation(
            Path(folder) / "a", running.base_url, running.ca, batch_size=args.batch_size
        )
        service.log_in("bench-sync", PASSWORD)
        started = time.perf_counter()
        make_readings(store, "bench-sync", count)
        line("local: queue readings offline", count, time.perf_counter() - started)

        started = time.perf_counter()
        report = service.sync_once()
        elapsed = time.perf_counter() - started
        assert report.sent == count and report.status.nothing_left, report
        line("sync_once (push + pull back)", count, elapsed)
        line("  of which push", count, phases["push"])
        line("  of which pull (all known)", count, phases["pull"])

        phases.clear()
        started = time.perf_counter()
        service.sync_once()
        print(f"{'sync_once, nothing to do':<34} {time.perf_counter() - started:7.2f} s")

        other, other_service = workstation(Path(folder) / "b", running.base_url, running.ca)
        other_service.log_in("bench-sync", PASSWORD)
        started = time.perf_counter()
        pulled = other_service.sync_once()
        assert pulled.readings_pulled == count, pulled
        line("other workstation: first pull", count, time.perf_counter() - started)
        for closing in (service, other_service, store, other):
            closing.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
