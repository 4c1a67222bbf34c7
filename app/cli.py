"""The ``mammo`` console script: the headless commands of ``core.cli`` plus ``mammo app``.

It lives in ``app`` because only ``app`` may start the Qt program; the headless commands never
import Qt.
"""

from __future__ import annotations

import argparse
import sys

from core.cli.main import build_parser, run


def _start_app(args: argparse.Namespace) -> int:
    from app.main import main as app_main

    return app_main(args.qt_args)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    p = sub.add_parser("app", help="start the desktop workstation")
    p.add_argument("qt_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(handler=_start_app)
    return run(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
