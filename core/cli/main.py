"""``mammo``: predict, history, train, evaluate, login, sync, pacs.

Exit codes: 0 all went through, 2 some inputs failed, 1 nothing could run (no model, bad
settings, unusable store). Expected failures print one line, never a traceback; unexpected
ones are logged with their traceback in the data directory's log and summarised in one line.
"""

from __future__ import annotations

import argparse
import getpass
import io
import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from core import __version__
from core.errors import MammoError

if TYPE_CHECKING:
    from core.inference.classifier import Classifier
    from core.settings import Settings
    from core.store import Store, UserRecord

EXIT_OK, EXIT_FAILED, EXIT_PARTIAL = 0, 1, 2
Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    from core.cli import evaluate, history, login, pacs, predict, sync, train

    parser = argparse.ArgumentParser(
        prog="mammo",
        description="Mammo Workstation: DenseNet121 mammogram classifier with a local store. "
                    "Research use only, not for diagnosis.")
    parser.add_argument("--version", action="version", version=f"mammo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (predict, history, train, evaluate, login, sync, pacs):
        module.register(sub)
    return parser


def _log_unexpected(exc: BaseException) -> str:
    try:
        from core.settings import load_settings

        log_dir = load_settings().data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / "mammo-cli.log"
        with path.open("a") as fh:
            fh.write("".join(traceback.format_exception(exc)))
        return str(path)
    except Exception:  # the log itself failed: say so rather than hide the original error
        return "(the log could not be written)"


def _print_file_names_as_given() -> None:
    """Write a file name that is not valid UTF-8 (a Latin-1 export) as the bytes the file
    system holds, as ``ls`` does, instead of failing the batch on its result line."""
    if isinstance(sys.stdout, io.TextIOWrapper) and sys.stdout.errors == "strict":
        sys.stdout.reconfigure(errors="surrogateescape")


def run(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> int:
    args = parser.parse_args(argv)
    _print_file_names_as_given()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    handler: Handler = args.handler
    try:
        return handler(args)
    except MammoError as exc:
        print(f"mammo: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("mammo: interrupted; readings already made are stored.", file=sys.stderr)
        return 130
    except Exception as exc:
        where = _log_unexpected(exc)
        print(f"mammo: unexpected error ({type(exc).__name__}: {exc}); details in {where}",
              file=sys.stderr)
        return EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), argv)


def load_model(args: argparse.Namespace) -> tuple[Settings, Classifier]:
    """Settings with the command's ``--model``/``--engine`` on top, and the checked model."""
    from core.inference.classifier import Classifier
    from core.modelstore import model_folder
    from core.settings import load_settings

    overrides: dict[str, object] = {}
    if args.model is not None:
        overrides["model_dir"] = args.model
    if args.engine is not None:
        overrides["engine"] = args.engine
    settings = load_settings(**overrides)
    # Without --model: the newest verified version from the server, else the settings' model.
    folder = settings.resolved_model_dir if args.model is not None else model_folder(settings)
    classifier = Classifier.load(folder, engine=settings.engine,
                                 device=settings.device, batch_size=settings.batch_size)
    return settings, classifier


def acting_user(settings: Settings, store: Store) -> UserRecord:
    """Who readings made from the command line belong to.

    After ``mammo login`` (online, or offline through the verifier) that is the server account
    logged in last, on the settings' server (any server when none is set), so that its
    readings sync under it; it needs no network, as predicting must work offline. Without a
    login it is the operating-system user, an account that cannot log in.
    """
    from core.errors import StoreError

    url = None if settings.server_url is None else settings.server_url.strip().rstrip("/")
    account = store.sync.current_account(url)
    user_id = account.user_id if account is not None else store.ensure_user(getpass.getuser())
    user = store.get_user(user_id)
    if user is None:  # pragma: no cover - written before it is read
        raise StoreError("The user could not be read back from the local store; try again.")
    return user


def add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, default=None,
                   help="model folder (default: the settings' model_dir, else the bundled model)")
    p.add_argument("--engine", choices=("auto", "onnx", "tf"), default=None,
                   help="inference engine (default: settings; auto picks the fastest)")


if __name__ == "__main__":
    sys.exit(main())
