"""``mammo-server``: migrate the database, create users, check the configuration, serve."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Sequence

from sqlalchemy import create_engine
from sqlalchemy.exc import SQLAlchemyError

from core.contracts import UserCreate
from server.db import migrate
from server.db.database import Database
from server.errors import ServerError
from server.main import utc_now
from server.model_cli import add_model_commands
from server.security.passwords import PasswordHasher
from server.services import users
from server.settings import ServerSettings, config_file, load_settings


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mammo-server`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_settings()
        return args.handler(settings, args)
    except ServerError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(
            f"error: the database cannot be used: {exc.__class__.__name__}: {exc}", file=sys.stderr
        )
        return 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mammo-server",
        description="Central server of Mammo Workstation. Settings come from MAMMO_SERVER_*"
        " variables or the file named by MAMMO_SERVER_CONFIG_FILE.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="bring the database schema up to date").set_defaults(
        handler=_migrate
    )
    create = commands.add_parser("create-user", help="create an account; password on stdin")
    create.add_argument("--username", required=True)
    create.add_argument("--role", choices=["radiologist", "admin"], default="radiologist")
    create.set_defaults(handler=_create_user)
    serve = commands.add_parser("serve", help="run the API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--tls-cert", help="certificate (PEM) when not behind nginx")
    serve.add_argument("--tls-key", help="private key (PEM) for --tls-cert")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(handler=_serve)
    commands.add_parser("check-config", help="validate settings and database").set_defaults(
        handler=_check_config
    )
    add_model_commands(commands, now=utc_now)
    return parser


def _migrate(settings: ServerSettings, args: argparse.Namespace) -> int:
    migrate.upgrade(settings.database_url)
    print(f"database at migration {migrate.head_revision()}")
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise SystemExit("error: the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _create_user(settings: ServerSettings, args: argparse.Namespace) -> int:
    try:
        data = UserCreate(username=args.username, password=_read_password(), role=args.role)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    hasher = PasswordHasher(
        time_cost=settings.password_time_cost,
        memory_kib=settings.password_memory_kib,
        parallelism=settings.password_parallelism,
    )
    database = Database.from_url(settings.database_url)
    try:
        with database.session() as session:
            users.create_user(session, data, hasher=hasher, now=utc_now())
    finally:
        database.dispose()
    print(f"created {args.role} {args.username}")
    return 0


def _serve(settings: ServerSettings, args: argparse.Namespace) -> int:
    import uvicorn  # only this command needs it

    if bool(args.tls_cert) != bool(args.tls_key):
        print("error: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    uvicorn.run(
        "server.main:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        ssl_certfile=args.tls_cert,
        ssl_keyfile=args.tls_key,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_level=args.log_level,
        server_header=False,
    )
    return 0


def _check_config(settings: ServerSettings, args: argparse.Namespace) -> int:
    path = config_file()
    print(f"settings file: {path or '(none, environment only)'}")
    for name, value in settings.model_dump().items():
        shown = "********" if name == "secret_key" else value
        if name == "database_url":
            shown = _redact_url(str(value))
        print(f"  {name} = {shown}")
    engine = create_engine(settings.database_url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            current = migrate.current_revision(connection)
    finally:
        engine.dispose()
    head = migrate.head_revision()
    print(f"database reachable; migration {current or '(none)'}, this server needs {head}")
    if current != head:
        print("error: run `mammo-server migrate`", file=sys.stderr)
        return 1
    return 0


def _redact_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
