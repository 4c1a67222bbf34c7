"""``mammo sync [--once] [--batch-size N]``: send queued readings and decisions to the central
server and bring this radiologist's readings from other workstations into the history.

Without ``--once`` it keeps trying (with backoff) until everything of the logged-in account
is on the server, or a login is needed. With ``--once`` it makes one pass. Either way it exits
0 only when nothing is left to sync; otherwise it prints the reason on one line and exits 2
(changes left, conflicts, other users' changes) or 1 (log in again, server unreachable).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

from core.cli.main import EXIT_OK, EXIT_PARTIAL


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync", help="sync readings with the central server")
    p.add_argument("--once", action="store_true",
                   help="one pass; exit 0 only when nothing is left to sync")
    p.add_argument("--batch-size", type=int, default=500, metavar="N",
                   help="readings per request (1-500, default 500)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from core.settings import load_settings
    from core.store import Store
    from core.sync import SyncService

    settings = load_settings()
    with Store.open(settings.store_path) as store:
        service = SyncService.from_settings(settings, store, batch_size=args.batch_size)
        try:
            report = service.sync_once() if args.once else _until_done(service)
        finally:
            service.close()
    print(f"sent {report.sent}, conflicts {report.conflicts}, held back {report.rejected}, "
          f"pulled {report.readings_pulled} readings and {report.decisions_pulled} decisions; "
          f"{report.status.pending} left to send", flush=True)
    if report.model is not None and report.model.status == "refused":
        print(f"mammo: model {report.model.model_id} refused: {report.model.message}",
              file=sys.stderr)
    elif report.model is not None and report.model.status == "ready":
        print(f"model {report.model.model_id} downloaded and verified; used from the next "
              "start", flush=True)
    reason = leftover_reason(report.status)
    if reason:
        print(f"mammo: {reason}", file=sys.stderr)
        return EXIT_PARTIAL
    return EXIT_OK


def _until_done(service):
    from core.errors import SyncError, SyncErrorKind

    while True:
        try:
            report = service.sync_once()
        except SyncError as exc:
            if exc.kind == SyncErrorKind.AUTH:
                raise
            _wait(service.status().next_attempt_at, exc.message)
            continue
        status = report.status
        if status.pending == 0 or status.next_attempt_at is None:
            return report
        _wait(status.next_attempt_at, f"{status.pending} change(s) held back: "
                                      f"{status.held_back_error or 'refused by the server'}")


def _wait(until: datetime | None, why: str) -> None:
    seconds = 5.0 if until is None else max(1.0, (until - datetime.now(UTC)).total_seconds())
    print(f"mammo: {why} Retrying in {seconds:.0f} s.", file=sys.stderr, flush=True)
    time.sleep(seconds)


def leftover_reason(status) -> str | None:
    """Why not everything is synced, on one line; None when nothing is left."""
    reasons = []
    if status.pending:
        why = f": {status.held_back_error}" if status.held_back_error else ""
        reasons.append(f"{status.pending} change(s) not on the server yet{why}")
    if status.conflicts:
        reasons.append(f"{status.conflicts} change(s) conflict with the server's version "
                       "(both kept); review them in the workstation")
    if status.pending_other_users:
        reasons.append(f"{status.pending_other_users} change(s) of other users wait for "
                       "their login")
    return "; ".join(reasons) or None
