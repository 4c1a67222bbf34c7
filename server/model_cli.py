"""``mammo-server model ...``: IT's steps of a model roll-out (docs/model-rollout.md).

``keygen`` and ``sign`` run on the offline machine that holds the signing key and touch no
database; ``upload``, ``approve``, ``rollback``, ``list`` and ``recalibrate`` run on the
server host, as the other ``mammo-server`` commands do.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from server.db.database import Database
from server.errors import InvalidInput
from server.services import model_versions, recalibration
from server.services.model_files import ModelFileStore
from server.services.model_signing import (
    generate_key,
    key_is_encrypted,
    load_private_key,
    sign_folder,
)
from server.settings import ServerSettings


def add_model_commands(commands: Any, *, now: Any) -> None:
    """Add ``model`` and its sub-commands to the ``mammo-server`` parser; ``now`` gives the
    current time."""
    model = commands.add_parser("model", help="signed model versions: keygen, sign, upload, "
                                "approve, rollback, list, recalibrate")
    steps = model.add_subparsers(dest="model_command", required=True)
    keygen = steps.add_parser("keygen", help="make a signing key (keep it offline)")
    keygen.add_argument("key", type=Path, help="private key file to write (PEM)")
    keygen.set_defaults(handler=_keygen)
    sign = steps.add_parser("sign", help="sign a model folder's manifest")
    sign.add_argument("--key", type=Path, required=True, help="private key (PEM)")
    sign.add_argument("folder", type=Path)
    sign.set_defaults(handler=_sign)
    upload = steps.add_parser("upload", help="store a signed model folder as a new version")
    upload.add_argument("folder", type=Path)
    upload.set_defaults(handler=_upload, now=now)
    approve = steps.add_parser("approve", help="make a version the one workstations use")
    approve.add_argument("version_id", type=int)
    approve.set_defaults(handler=_approve, now=now)
    rollback = steps.add_parser("rollback", help="approve again the version approved before")
    rollback.set_defaults(handler=_rollback, now=now)
    listing = steps.add_parser("list", help="stored versions, the approved one marked")
    listing.set_defaults(handler=_list)
    recal = steps.add_parser("recalibrate", help="refit calibration and threshold on the "
                             "site's outcomes into a new model folder (then sign it)")
    recal.add_argument("version_id", type=int)
    recal.add_argument("--out", type=Path, required=True, help="new, empty model folder")
    recal.add_argument("--id", dest="new_id", help="the new model id (default: <id>-recal-DATE)")
    recal.set_defaults(handler=_recalibrate, now=now)


def _actor() -> str:
    return f"{getpass.getuser()} (command line)"[:64]


def _passphrase(prompt: str) -> bytes | None:
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        return line.encode() or None
    first = getpass.getpass(prompt)
    return first.encode() or None


def _keygen(settings: ServerSettings, args: argparse.Namespace) -> int:
    if args.key.exists():
        raise InvalidInput(f"{args.key} exists; a signing key is never overwritten.")
    passphrase = _passphrase("Passphrase for the key (empty: none): ")
    public = generate_key(args.key, passphrase=passphrase)
    print(f"private key written to {args.key}; keep it offline, never on the server")
    print("public key for the workstations' site.toml:")
    print(f'model_public_keys = ["{public}"]')
    return 0


def _sign(settings: ServerSettings, args: argparse.Namespace) -> int:
    passphrase = _passphrase("Passphrase: ") if key_is_encrypted(args.key) else None
    signature = sign_folder(args.folder, load_private_key(args.key, passphrase=passphrase))
    print(f"signed {args.folder / 'manifest.json'} with key {signature.public_key}")
    return 0


def _upload(settings: ServerSettings, args: argparse.Namespace) -> int:
    database = Database.from_url(settings.database_url)
    try:
        with database.session() as session:
            version = model_versions.upload(
                session,
                ModelFileStore(settings.model_store_dir),
                args.folder,
                now=args.now(),
                actor=_actor(),
            )
            print(f"uploaded version {version.id}: {version.model_id} "
                  f"(manifest {version.manifest_sha256[:12]}); approve it with "
                  f"`mammo-server model approve {version.id}`")
    finally:
        database.dispose()
    return 0


def _approve(settings: ServerSettings, args: argparse.Namespace) -> int:
    return _approval(settings, lambda session: model_versions.approve(
        session, args.version_id, now=args.now(), actor=_actor()))


def _rollback(settings: ServerSettings, args: argparse.Namespace) -> int:
    return _approval(settings, lambda session: model_versions.roll_back(
        session, now=args.now(), actor=_actor()))


def _approval(settings: ServerSettings, step: Any) -> int:
    database = Database.from_url(settings.database_url)
    try:
        with database.session() as session:
            version = step(session)
            print(f"approved version {version.id}: {version.model_id} "
                  f"(manifest {version.manifest_sha256[:12]}); workstations switch to it "
                  "after their next sync, when idle")
    finally:
        database.dispose()
    return 0


def _recalibrate(settings: ServerSettings, args: argparse.Namespace) -> int:
    database = Database.from_url(settings.database_url)
    try:
        with database.session() as session:
            manifest = recalibration.recalibrate(
                session, ModelFileStore(settings.model_store_dir), args.version_id, args.out,
                now=args.now(), min_per_class=settings.recalibration_min_per_class,
                model_id=args.new_id)
    finally:
        database.dispose()
    section = manifest["recalibration"]
    print(f"wrote {manifest['id']} to {args.out}: {section['cases']} breasts with outcomes, "
          f"threshold {section['before']['threshold']} -> {manifest['threshold']:.4f}; sign it "
          f"(mammo-server model sign --key KEY {args.out}) on the offline machine, then upload "
          "and approve it")
    return 0


def _list(settings: ServerSettings, args: argparse.Namespace) -> int:
    database = Database.from_url(settings.database_url)
    try:
        with database.session() as session:
            rows = model_versions.list_versions(session)
            if not rows:
                print("no model version stored")
            for row in rows:
                v = row.version
                mark = "*" if row.approved else " "
                approved = (f"approved {row.last_approved_at:%Y-%m-%d %H:%M}"
                            if row.last_approved_at else "never approved")
                print(f"{mark} {v.id:>4}  {v.model_id}  manifest {v.manifest_sha256[:12]}  "
                      f"{v.preprocessing_version}  uploaded {v.uploaded_at:%Y-%m-%d %H:%M} "
                      f"by {v.uploaded_by}  {approved}")
    finally:
        database.dispose()
    return 0
