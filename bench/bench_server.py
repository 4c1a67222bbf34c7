"""Bench the central server as deployed: N workstations (default 100), each with its own
account, send M readings each (default 100) over TLS through nginx to the two app processes
on PostgreSQL, all at once. Checks that every reading is stored exactly once, prints the
throughput and latency percentiles, and, in the same run, the same rows inserted into
PostgreSQL directly (the floor any API on this database could reach).

    .venv/bin/python bench/bench_server.py [--clients 100] [--readings 100] [--profile]

Modes (each client sends its readings one way; a fresh set of rows each), after two rungs of
a cost ladder (``healthz``, ``me``: as many requests, each doing part of a PUT's work):
- ``put``: one ``PUT /readings/{id}`` per reading, what a workstation does to sync a reading
  as soon as it is signed; its latency is the one the 100 ms goal is about;
- ``batch``: all of a client's readings in one ``POST /readings/batch``, what the sync client
  does after working offline;
- ``paced``: ``PUT`` again, but each client sends one reading every ``--interval`` seconds
  (``--paced-readings`` of them): a busy department rather than a stampede.

Where the time goes, for the ``put`` mode: the CPU seconds each part of the stack used
(the bench's own client, nginx, the app processes, PostgreSQL; from /proc), nginx's own and
the app's share of each request's time (nginx's access log), and with ``--profile`` a py-spy
sample of the app processes grouped by what the code was doing. Prints numbers only.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import ssl
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import server_profile  # noqa: E402
from tests.server import stack  # noqa: E402
from tests.server.factories import PASSWORD, reading_payload  # noqa: E402

LADDER = {"healthz": "/healthz", "me": "/users/me"}
"""Requests that do part of a PUT's work: TLS, nginx and the app's HTTP stack only
(``/healthz``); that plus the token check and one user lookup (``/users/me``)."""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def latency_line(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{name:<30} p50 {percentile(ms, 50):7.1f}  p90 {percentile(ms, 90):7.1f}  p99"
        f" {percentile(ms, 99):7.1f}  max {max(ms):7.1f}  mean {statistics.fmean(ms):6.1f} ms"
    )


def readings_for(client: int, count: int) -> list[dict]:
    """``count`` readings of distinct images, as a workstation would send them."""
    out = []
    for n in range(count):
        tag = f"{client}-{n}-{uuid.uuid4().hex}"
        out.append(reading_payload(image={
            "pixel_sha256": hashlib.sha256(tag.encode()).hexdigest(),
            "sop_instance_uid": f"1.2.826.0.1.3680043.8.498.{client}.{n}",
        }))  # fmt: skip
    return out


async def log_in_all(base_url: str, trust: ssl.SSLContext, users: list[str]) -> list[str]:
    async with httpx.AsyncClient(base_url=base_url, verify=trust, timeout=120) as client:

        async def one(user: str) -> str:
            response = await client.post(
                "/auth/login", json={"username": user, "password": PASSWORD}
            )
            response.raise_for_status()
            return response.json()["access_token"]

        return list(await asyncio.gather(*(one(u) for u in users)))


async def send_all(
    base_url, trust, tokens, work, *, mode: str, interval: float = 0.0
) -> tuple[list[float], Counter, float]:
    """Every client sends its readings; returns latencies, failures by status, wall time."""
    latencies: list[float] = []
    failures: Counter = Counter()

    async def one_client(token: str, readings: list[dict]) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base_url, verify=trust, timeout=120) as client:
            if mode in ("put", "paced"):
                requests = [("PUT", f"/readings/{r['id']}", r) for r in readings]
            elif mode == "batch":
                requests = [("POST", "/readings/batch", {"readings": readings})]
            else:  # a rung of the cost ladder: the same number of requests, less work each
                requests = [("GET", LADDER[mode], None) for _ in readings]
            # Paced: one request every ``interval`` seconds, from a random start, whether or
            # not the previous one was quick (an open loop, as independent workstations are).
            due = time.perf_counter() + random.uniform(0, interval)
            for method, path, body in requests:
                if interval:
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                    due += interval
                started = time.perf_counter()
                response = await client.request(method, path, json=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code not in (200, 201):
                    failures[f"HTTP {response.status_code}"] += 1
                elif mode == "batch":
                    statuses = Counter(r["status"] for r in response.json()["results"])
                    failures.update({s: n for s, n in statuses.items() if s != "created"})

    started = time.perf_counter()
    await asyncio.gather(*(one_client(t, w) for t, w in zip(tokens, work, strict=True)))
    return latencies, failures, time.perf_counter() - started


def stored_once(database_url: str, ids: list[str]) -> tuple[int, int]:
    """(rows found, distinct ids found) among ``ids``."""
    import psycopg2

    with psycopg2.connect(_dsn(database_url)) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT id) FROM readings WHERE id = ANY(%s::uuid[])", (ids,)
        )
        rows, distinct = cursor.fetchone()
    return rows, distinct


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg2://", "postgresql://")


def chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--readings", type=int, default=100, help="readings per client")
    parser.add_argument("--modes", default="healthz,me,put,batch,paced")
    parser.add_argument("--paced-readings", type=int, default=20, help="per client, paced")
    parser.add_argument(
        "--interval", type=float, default=2.0, help="seconds between a paced client's readings"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the app processes")
    args = parser.parse_args()
    total = args.clients * args.readings

    with tempfile.TemporaryDirectory() as folder, stack.running_stack(Path(folder)) as running:
        users = [f"ws-{i:03d}" for i in range(args.clients)]
        server_profile.create_users(running.database_url, users, PASSWORD)
        trust = ssl.create_default_context(cafile=str(running.ca))
        print(
            f"stack: nginx TLS on {running.base_url}, 2 app processes, PostgreSQL; "
            f"{args.clients} clients x {args.readings} readings = {total}; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"
        )
        access_log = Path(folder) / "nginx" / "logs" / "access.log"
        plain_rows: list[dict] = []
        rates: dict[str, float] = {}
        for mode in args.modes.split(","):
            count = args.paced_readings if mode == "paced" else args.readings
            total = args.clients * count
            work = [readings_for(i, count) for i in range(args.clients)]
            ids = [r["id"] for w in work for r in w]
            if mode in ("put", "batch"):
                plain_rows = [r for w in work for r in w]
            # Fresh tokens per mode: a slow run must not outlive the 15-minute access token.
            tokens = asyncio.run(log_in_all(running.base_url, trust, users))
            log_start = access_log.stat().st_size
            cpu = server_profile.CpuMeter(running)
            latencies, failures, elapsed = asyncio.run(
                send_all(
                    running.base_url,
                    trust,
                    tokens,
                    work,
                    mode=mode,
                    interval=args.interval if mode == "paced" else 0.0,
                )  # fmt: skip
            )
            used = cpu.stop()
            print(f"\n== {mode}: {len(latencies)} requests ==")
            if mode in LADDER:
                print(f"GET {LADDER[mode]}; failures: {dict(failures) or 'none'}")
            else:
                rows, distinct = stored_once(running.database_url, ids)
                once = rows == distinct == total
                print(
                    f"stored {rows} rows for {total} readings, {distinct} distinct"
                    f" ({'exactly once' if once else 'NOT exactly once'});"
                    f" failures: {dict(failures) or 'none'}"
                )
            rates[mode] = total / elapsed
            print(
                f"throughput {total / elapsed:7.0f} readings/s, "
                f"{len(latencies) / elapsed:6.0f} requests/s, wall {elapsed:.1f} s"
            )
            print(latency_line("client (TLS, nginx, app)", latencies))
            nginx, app = server_profile.nginx_times(access_log, start=log_start)
            print(latency_line("nginx: request_time", nginx))
            print(latency_line("app: upstream_response_time", app))
            print(server_profile.cpu_table(used, requests=len(latencies), wall=elapsed))

        if args.profile:
            # Apart from the measured runs: sampling ~45 threads per process costs CPU too.
            clients = min(args.clients, 20)
            work = [readings_for(i, 20) for i in range(clients)]
            tokens = asyncio.run(log_in_all(running.base_url, trust, users[:clients]))
            profiler = server_profile.Profiler(running)
            asyncio.run(send_all(running.base_url, trust, tokens, work, mode="put"))
            print(f"\n== profile: put, {clients} clients x 20 readings ==")
            print(server_profile.profile_table(profiler.stop()))

        plain = server_profile.plain_inserts(running.database_url, plain_rows, users[0])
        print(f"\n== plain PostgreSQL, the same {len(plain_rows)} rows, no API ==")
        plain_rates = {name: len(plain_rows) / seconds for name, seconds in plain.items()}
        for name, rate in plain_rates.items():
            print(f"{name:<40} {rate:7.0f} readings/s")
        per_row, per_100 = plain_rates.values()
        for mode, baseline, label in (("put", per_row, "per-row"), ("batch", per_100, "100-row")):
            if mode in rates:
                print(
                    f"API {mode} / plain {label} transactions: {rates[mode] / baseline:.2f}"
                    f" ({rates[mode]:.0f} / {baseline:.0f} readings/s)"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
