"""``mammo login [--server URL] --user NAME``: log in to the central server for sync.

The password comes from a prompt, or from standard input when that is not a terminal (one
line), so that scripts never put it on a command line. When the server cannot be reached, the
offline verifier of this workstation's last online login lets the same user in (for
``offline_login_days``). From then on ``mammo predict`` keeps its readings as this account, so
that ``mammo sync`` sends them.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from core.cli.main import EXIT_FAILED, EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("login", help="log in to the central server (needed once for sync)")
    p.add_argument("--server", default=None, metavar="URL",
                   help="server address (default: server_url from the settings)")
    p.add_argument("--user", required=True, metavar="NAME", help="your username on the server")
    p.set_defaults(handler=handle)


def read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    return sys.stdin.readline().rstrip("\r\n")


def handle(args: argparse.Namespace) -> int:
    from core.settings import load_settings
    from core.store import Store
    from core.sync import SyncService

    settings = load_settings()
    with Store.open(settings.store_path) as store:
        service = SyncService.from_settings(settings, store, server_url=args.server)
        try:
            result = service.log_in(args.user, read_password())
        finally:
            service.close()
    if result is None:
        print("mammo: wrong username or password.", file=sys.stderr)
        return EXIT_FAILED
    account = result.account
    if not result.online:
        print(f"Logged in as {account.username} ({account.role}) without the server "
              f"{account.server_url} (it cannot be reached), by this workstation's last online "
              "login; readings made now are sent by `mammo sync` once it is back.")
        return EXIT_OK
    offline = (f"offline login works for {settings.offline_login_days} days"
               if settings.offline_login_days > 0 else "offline login is turned off")
    print(f"Logged in to {account.server_url} as {account.username} ({account.role}); "
          f"tokens kept in {service.tokens.description}; {offline}; readings made here from "
          "now on are kept as this account.")
    return EXIT_OK
