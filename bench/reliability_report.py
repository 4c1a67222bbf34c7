"""Run the fault scenarios (end-to-end tests with real processes) and write their table to
docs/reliability.md: what was broken, what must hold, and what happened in this run.

    .venv/bin/python bench/reliability_report.py [--out docs/reliability.md] [-k EXPR]

Each scenario is one or more pytest tests; a scenario passes when all of them pass. Every
test asserts that no reading was lost and none duplicated (each compares the exact set of ids
on the server, or in the local store, with the set written) besides what the row says.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: str
    holds: str
    tests: tuple[str, ...]  # node ids; a parametrized test's id stands for all its cases
    readings: str = "0 lost, 0 duplicated"  # what the tests compare, when they pass


OUTAGE = "tests/e2e/test_sync_outage.py::"
AUTH = "tests/e2e/test_sync_auth.py::"
LOCAL = "tests/e2e/test_fault_local_store.py::"
CLOCK = "tests/e2e/test_fault_clock_skew.py::"

SCENARIOS = [
    Scenario(
        "Server SIGKILLed mid-batch",
        "the app process is killed while a batch's INSERT is stalled, its transaction open",
        "PostgreSQL rolls the batch back; the client keeps it queued and sends it once when "
        "the server is back",
        (OUTAGE + "test_server_killed_in_the_middle_of_a_batch_loses_and_duplicates_nothing",),
    ),
    Scenario(
        "Answer lost after the commit",
        "the server dies between its COMMIT and its response",
        "the batch is sent again and confirmed as unchanged",
        (OUTAGE + "test_an_answer_lost_after_the_commit_is_harmless",),
    ),
    Scenario(
        "PostgreSQL restarted mid-batch",
        "PostgreSQL (a cluster of the test's own) is restarted while a batch's transaction is open",
        "the server answers 503 and recovers by itself (not restarted); the rest is sent once",
        (
            "tests/e2e/test_fault_postgres_restart.py::"
            "test_postgresql_restarted_in_the_middle_of_a_batch_loses_and_duplicates_nothing",
        ),
    ),
    Scenario(
        "Database unreachable",
        "the connection to PostgreSQL is cut (TCP proxy), then restored",
        "503 in the error shape while it is down; the API recovers by itself",
        (
            "tests/server/test_errors_and_health.py::"
            "test_database_outage_is_a_503_and_the_api_recovers_by_itself",
        ),
        readings="none in flight (API only)",
    ),
    Scenario(
        "Server down (outage)",
        "the server is stopped while the radiologist works; `mammo sync` runs meanwhile",
        "readings queue (offline login works); the CLI retries and sends them all once",
        (
            OUTAGE + "test_readings_queue_while_the_server_is_down_and_arrive_once_when_it_is_back",
            OUTAGE + "test_mammo_sync_keeps_retrying_until_the_server_is_back",
        ),
    ),
    Scenario(
        "One of two app processes down",
        "one app process behind nginx is stopped",
        "nginx sends requests to the other; nothing fails",
        ("tests/e2e/test_server_tls.py::test_both_app_processes_serve_and_one_can_fail",),
        readings="none in flight (health checks)",
    ),
    Scenario(
        "Client SIGKILLed mid-sync",
        "`mammo sync` is killed after its first batches",
        "the next `mammo sync --once` finishes; every reading on the server once",
        (OUTAGE + "test_the_client_killed_in_the_middle_of_a_sync_finishes_on_the_next_start",),
    ),
    Scenario(
        "Client SIGKILLed while writing readings",
        "a workstation process is killed in the middle of a batch of readings",
        "the store recovers at the next start (integrity check ok); nothing it was told was "
        "saved is lost, the batch in flight is all or none, each reading queued once and on "
        "the server once",
        (LOCAL + "test_the_client_killed_while_writing_readings_recovers_at_its_next_start",),
    ),
    Scenario(
        "Disk full",
        "the local store's file system (tmpfs) fills up while readings are written",
        "a message that says the disk is full and what was saved is safe; the store works "
        "again once space frees",
        (
            LOCAL + "test_a_full_disk_says_so_keeps_what_was_saved_and_the_store_works_when_"
            "space_frees",
        ),
    ),
    Scenario(
        "Local store damaged",
        "a page in the middle of the store file is overwritten",
        "refused untouched, one line naming the newest backup; that backup restores it",
        (LOCAL + "test_a_damaged_store_is_refused_untouched_and_its_backup_offered",),
    ),
    Scenario(
        "Workstation clock 10 minutes off",
        "`mammo` runs under libfaketime at +10 and -10 minutes, and jumping 20 minutes "
        "between login and sync",
        "login, token refresh and sync work; every reading on the server and the other "
        "workstation once",
        (
            CLOCK + "test_a_workstation_clock_10_minutes_off_logs_in_and_syncs_every_reading_"
            "once[+10m]",
            CLOCK + "test_a_workstation_clock_10_minutes_off_logs_in_and_syncs_every_reading_"
            "once[-10m]",
            CLOCK + "test_a_clock_that_jumps_20_minutes_between_login_and_sync_refreshes_and_syncs",
        ),
    ),
    Scenario(
        "Clock behind a new certificate",
        "the workstation is 10 minutes behind a certificate issued 5 minutes ago",
        "refused with a message to check this computer's date and time; sent once fixed",
        (
            CLOCK + "test_a_clock_behind_a_new_certificate_is_told_to_check_the_date_and_loses_"
            "nothing",
        ),
    ),
    Scenario(
        "Access token expires mid-sync",
        "the access token expires between two batches",
        "refreshed once, transparently; the sync completes",
        (AUTH + "test_an_access_token_expiring_during_sync_is_refreshed_transparently",),
    ),
    Scenario(
        "Refresh token revoked",
        "an administrator disables the account while readings are queued",
        "the workstation asks for a new login and keeps its queue",
        (AUTH + "test_a_login_revoked_by_an_admin_asks_for_a_new_login_and_keeps_the_queue",),
    ),
    Scenario(
        "Wrong CA",
        "the server's certificate comes from another CA (direct, and through nginx)",
        "refused before anything is sent",
        (
            AUTH + "test_a_certificate_from_another_ca_is_refused_before_anything_is_sent",
            "tests/e2e/test_sync_volume.py::test_nginx_with_a_certificate_of_another_ca_is_refused",
        ),
        readings="0 sent, all still queued",
    ),
    Scenario(
        "Plain HTTP to another host",
        "server_url is http:// to a host other than this computer",
        "refused; nothing leaves the workstation",
        (AUTH + "test_the_cli_refuses_plain_http_to_another_host",),
        readings="0 sent",
    ),
    Scenario(
        "10,000 readings queued offline",
        "a workstation syncs 10,000 readings through nginx at once",
        "all 10,000 on the server once",
        ("tests/e2e/test_sync_volume.py::test_ten_thousand_offline_readings_sync_completely_once",),
    ),
]


def run(tests: list[str], junit: Path) -> int:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               f"--junitxml={junit}", *tests]  # fmt: skip
    return subprocess.run(command, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}).returncode


def results(junit: Path) -> dict[str, tuple[str, float]]:
    """Node id -> (outcome, seconds)."""
    found: dict[str, tuple[str, float]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        path = case.get("classname", "").replace(".", "/") + ".py"
        node = f"{path}::{case.get('name')}"
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "FAILED"
            elif child.tag == "skipped":
                outcome = "skipped"
        found[node] = (outcome, float(case.get("time", 0)))
    return found


def cases(outcomes: dict[str, tuple[str, float]], test: str) -> list[tuple[str, float]]:
    """The outcomes of ``test``, or of each of its parametrized cases."""
    found = [v for node, v in outcomes.items() if node == test or node.startswith(test + "[")]
    return found or [("not run", 0.0)]


def table(outcomes: dict[str, tuple[str, float]]) -> str:
    lines = [
        "| scenario | fault injected | what must hold | result | readings | time |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for s in SCENARIOS:
        got = [case for test in s.tests for case in cases(outcomes, test)]
        verdicts = {o for o, _ in got}
        passed = verdicts == {"passed"}
        result = "pass" if passed else ", ".join(sorted(verdicts))
        count = f" ({len(got)} tests)" if len(got) > 1 else ""
        lines.append(
            f"| {s.name} | {s.fault} | {s.holds} | **{result}**{count} | "
            f"{s.readings if passed else '?'} | {sum(t for _, t in got):.0f} s |"
        )
    return "\n".join(lines)


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                          capture_output=True, text=True)  # fmt: skip
    return done.stdout.strip() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "reliability.md")
    args = parser.parse_args()
    tests = [t for s in SCENARIOS for t in s.tests]
    with tempfile.TemporaryDirectory() as folder:
        junit = Path(folder) / "junit.xml"
        status = run(tests, junit)
        outcomes = results(junit)
    passed = sum(1 for o, _ in outcomes.values() if o == "passed")
    total = len(outcomes)
    header = (
        "# Reliability: faults and what they leave behind\n\n"
        "Generated by `bench/reliability_report.py` (do not edit by hand): it runs the "
        "end-to-end fault tests below, with real processes (server, nginx, PostgreSQL, the "
        "`mammo` command), and writes what happened. Where readings are in flight, the tests "
        "compare the exact list of reading ids on the server or in the local store with the "
        "ids written (column *readings*).\n\n"
        f"Last run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit()}, "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs; "
        f"{passed} of {total} tests passed.\n\n"
    )
    args.out.write_text(header + table(outcomes) + "\n\n" + FOOTER)
    print(f"wrote {args.out} ({passed}/{total} tests passed)")
    return status


FOOTER = """\
## Running one scenario

Each row's tests run alone with pytest, e.g.
`.venv/bin/python -m pytest tests/e2e/test_fault_local_store.py -k disk`. They need what
`scripts/test` sets up: PostgreSQL 15 on 127.0.0.1:5432 (and its `initdb`/`pg_ctl`, for the
restart scenario's own cluster), nginx, libfaketime (`apt-get install faketime`), and root or
password-less sudo for the disk-full scenario's tmpfs mount.

## Not covered

- A power cut on the workstation (the store's WAL with `synchronous=NORMAL` may lose the last
  transactions before the cut, never its consistency); SIGKILL is tested, a cut is not.
- A PostgreSQL failover to a replica, and the server host's own clock jumping.
- Network partitions between nginx and the app processes other than a stopped process.
"""


if __name__ == "__main__":
    sys.exit(main())
