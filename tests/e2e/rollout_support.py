"""IT and workstations for the model roll-out end-to-end tests: ``mammo-server model ...``
run as processes against a real server, and workstations that sync, switch and read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core.inference.classifier import Classifier
from core.modelstore import ModelLibrary, ModelRollout
from core.reading import ReadingService
from tests.conftest import FIXTURES
from tests.e2e.sync_support import PASSWORD, REPO, ServerProcess, workstation


class It:
    """IT's side: the offline signing key and ``mammo-server model ...`` as processes."""

    def __init__(self, server: ServerProcess, folder: Path) -> None:
        self.server = server
        self.key = folder / "signing.pem"
        out = self.run("keygen", str(self.key), stdin="\n")
        self.public_key = out.split('model_public_keys = ["')[1].split('"')[0]

    def run(self, *args: str, stdin: str = "") -> str:
        done = subprocess.run(
            [sys.executable, "-m", "server.cli", "model", *args], input=stdin, text=True,
            capture_output=True, env=self.server.env(), cwd=REPO, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def release(self, folder: Path) -> int:
        """Sign, upload and approve ``folder``; its version id."""
        self.run("sign", "--key", str(self.key), str(folder))
        out = self.run("upload", str(folder))
        version = int(out.split("uploaded version ")[1].split(":")[0])
        self.run("approve", str(version))
        return version


class Workstation:
    def __init__(self, folder: Path, server: ServerProcess, user: str, public_key: str, *,
                 on_progress=None) -> None:
        self.rollout = ModelRollout(
            ModelLibrary(folder / "models", trusted_keys=[public_key]), on_progress=on_progress)
        self.store, self.sync = workstation(folder, server.url, server.certs.ca,
                                            rollout=self.rollout, model_chunk_bytes=16_384)
        self.user = user
        self.service: ReadingService | None = None
        assert self.sync.log_in(user, PASSWORD).online

    def switch_when_idle(self) -> str:
        """What the app does at its next idle moment: load the ready version, use it."""
        folder = self.rollout.ready_folder()
        assert folder is not None
        self.service = ReadingService(store=self.store, classifier=Classifier.load(folder),
                                      max_file_bytes=1 << 28, max_pixels=50_000_000)
        self.rollout.switch_to_ready(folder)
        return folder.name

    def read(self, image: Path) -> str:
        assert self.service is not None
        user_id = self.store.ensure_user(self.user)
        [outcome] = self.service.read([image], user_id=user_id)
        assert outcome.ok, outcome.error
        return outcome.reading.id

    def close(self) -> None:
        self.sync.close()
        self.store.close()


def image(n: int = 0) -> Path:
    return sorted((FIXTURES / "rsna" / "images").rglob("*.jpg"))[n]
