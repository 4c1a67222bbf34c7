"""Bench the central server through nginx over TLS: readings stored per second through
``POST /readings/batch`` and request latency percentiles, with concurrent clients.

Starts its own stack (throw-away PostgreSQL database, test CA, nginx with the shipped
configuration, two app processes), like tests/e2e/test_server_tls.py. Prints numbers only.

    .venv/bin/python bench/bench_server.py [--clients 50] [--batches 4] [--batch-size 100]
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server import stack  # noqa: E402
from tests.server.factories import reading_payload  # noqa: E402

PASSWORD = "bench reader password"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def report(name: str, latencies: list[float], errors: int, elapsed: float, items: int) -> None:
    ms = [x * 1000 for x in latencies]
    rate = len(latencies) / elapsed
    print(
        f"{name}: {len(latencies)} requests in {elapsed:.2f}s ({rate:.0f} req/s,"
        f" {items / elapsed:.0f} readings/s), errors {errors}; latency ms"
        f" p50 {percentile(ms, 50):.1f} p95 {percentile(ms, 95):.1f}"
        f" p99 {percentile(ms, 99):.1f} max {max(ms):.1f} mean {statistics.fmean(ms):.1f}"
    )


async def run_clients(base_url, context, headers, *, clients, work) -> tuple[list, int, float]:
    latencies: list[float] = []
    errors = 0

    async def one_client(index: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base_url, verify=context, timeout=120) as client:
            for method, path, body, expected in work(index):
                start = time.perf_counter()
                response = await client.request(method, path, json=body, headers=headers)
                latencies.append(time.perf_counter() - start)
                if response.status_code not in expected:
                    errors += 1

    start = time.perf_counter()
    await asyncio.gather(*(one_client(i) for i in range(clients)))
    return latencies, errors, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--batches", type=int, default=4, help="batches per client")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--singles", type=int, default=40, help="single PUTs per client")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, stack.running_stack(Path(folder)) as running:
        running.cli("create-user", "--username", "bench", stdin=PASSWORD + "\n")
        context = ssl.create_default_context(cafile=str(running.ca))
        tokens = httpx.post(
            f"{running.base_url}/auth/login",
            verify=context,
            json={"username": "bench", "password": PASSWORD},
        ).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        print(f"stack: nginx TLS on {running.base_url}, 2 app processes, {args.clients} clients")

        def batches(_: int):
            for _ in range(args.batches):
                body = {"readings": [reading_payload() for _ in range(args.batch_size)]}
                yield "POST", "/readings/batch", body, {200}

        def singles(_: int):
            for _ in range(args.singles):
                body = reading_payload()
                yield "PUT", f"/readings/{body['id']}", body, {201}

        latencies, errors, elapsed = asyncio.run(
            run_clients(running.base_url, context, headers, clients=args.clients, work=batches)
        )
        total = args.clients * args.batches * args.batch_size
        report(f"batch of {args.batch_size}", latencies, errors, elapsed, total)
        latencies, errors, elapsed = asyncio.run(
            run_clients(running.base_url, context, headers, clients=args.clients, work=singles)
        )
        report("single PUT", latencies, errors, elapsed, args.clients * args.singles)
    return 0


if __name__ == "__main__":
    sys.exit(main())
