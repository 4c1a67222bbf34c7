"""A real Orthanc PACS on loopback for the tests: configuration written into a temporary
folder, free ports, the process started and stopped by the test. Never a mock.

Orthanc is the Debian package ``orthanc`` (``scripts/test`` installs it); without it the PACS
tests fail and say how to install it.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

INSTALL_HINT = ("Orthanc is not installed, so the PACS tests cannot run: install it with "
                "`sudo apt-get install -y orthanc dicom3tools` (scripts/test does this).")
FULL_STORAGE_MB = 1


def orthanc_binary() -> str | None:
    return shutil.which("Orthanc") or next(
        (p for p in ("/usr/sbin/Orthanc", "/usr/bin/Orthanc") if Path(p).exists()), None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class OrthancServer:
    """One Orthanc process. ``modalities`` maps a name to (AE title, host, port): the DICOM
    peers it knows (and may send C-MOVE results to)."""

    folder: Path
    aet: str = "ORTHANC"
    modalities: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    full: bool = False  # its storage is full of protected data: it refuses what it is sent
    open_to_all: bool = False  # any AE may query and retrieve (a lab PACS), not only known ones
    tls: tuple[Path, Path, Path] | None = None  # (CA, certificate, key): DICOM over TLS only
    dicom_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log_file(self) -> Path:
        return self.folder / "orthanc.log"

    def write_config(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {
            "Name": "mammo-test-pacs",
            "StorageDirectory": str(self.folder / "storage"),
            "IndexDirectory": str(self.folder / "storage"),
            "HttpPort": self.http_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "HttpServerEnabled": True,
            "DicomServerEnabled": True,
            "DicomAet": self.aet,
            "DicomPort": self.dicom_port,
            "DicomCheckCalledAet": True,
            # As a hospital PACS: only the modalities it knows may query and retrieve.
            "DicomAlwaysAllowEcho": True,
            "DicomAlwaysAllowStore": True,
            "DicomAlwaysAllowFind": self.open_to_all,
            "DicomAlwaysAllowMove": self.open_to_all,
            "DicomCheckModalityHost": False,
            "DicomModalities": {name: list(peer) for name, peer in self.modalities.items()},
            "DicomScuTimeout": 10,
            "DicomAssociationCloseDelay": 0,
            "Plugins": [],
            "StorageCompression": False,
            "ConcurrentJobs": 1,
            "LuaScripts": [],
        }
        if self.full:
            config["MaximumStorageSize"] = FULL_STORAGE_MB
        if self.tls is not None:
            ca, cert, key = self.tls
            config.update({"DicomTlsEnabled": True, "DicomTlsCertificate": str(cert),
                           "DicomTlsPrivateKey": str(key), "DicomTlsTrustedCertificates": str(ca),
                           "DicomTlsRemoteCertificateRequired": False})
        path = self.folder / "orthanc.json"
        path.write_text(json.dumps(config, indent=2))
        return path

    def start(self, *, timeout_s: float = 30.0) -> OrthancServer:
        binary = orthanc_binary()
        if binary is None:
            raise RuntimeError(INSTALL_HINT)
        config = self.write_config()
        log = self.log_file.open("ab")
        self.process = subprocess.Popen([binary, str(config)], stdout=log, stderr=log,
                                        cwd=self.folder)
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Orthanc exited at start:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/system", timeout=1.0).status_code == 200 \
                        and self._dicom_listening():
                    if self.full and not self.instance_ids():
                        self._fill_up()
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Orthanc did not start in {timeout_s} s:\n{self.log_tail()}")

    def _fill_up(self) -> None:
        """Fill the storage to a few kilobytes below its limit with a protected patient, whom
        Orthanc may not recycle: then a C-STORE of anything larger is refused (0xA700), as a
        full PACS refuses it."""
        from tests.mg_factory import blank_mg_bytes

        side = int(((FULL_STORAGE_MB * 1024 * 1024 - 6000) / 2) ** 0.5)
        instance = self.upload(blank_mg_bytes(side))
        patient = self.get_json(f"/instances/{instance}/patient")["ID"]
        httpx.put(f"{self.url}/patients/{patient}/protected", content="1",
                  timeout=30.0).raise_for_status()

    def _dicom_listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.dicom_port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL); its storage stays for a restart."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def kill(self) -> None:
        """End the process at once, as a crash or a cut cable would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # REST, for filling it and looking at what it holds -----------------------------------

    def upload(self, data: bytes) -> str:
        reply = httpx.post(f"{self.url}/instances", content=data, timeout=30.0)
        reply.raise_for_status()
        return str(reply.json()["ID"])

    def get_json(self, path: str) -> Any:
        reply = httpx.get(f"{self.url}{path}", timeout=30.0)
        reply.raise_for_status()
        return reply.json()

    def instance_ids(self) -> list[str]:
        return list(self.get_json("/instances"))

    def instance_bytes(self, instance_id: str) -> bytes:
        reply = httpx.get(f"{self.url}/instances/{instance_id}/file", timeout=30.0)
        reply.raise_for_status()
        return reply.content

    def instances_of_study(self, study_uid: str) -> list[dict[str, Any]]:
        """Each instance of the study with its main tags (SOPClassUID, Modality...)."""
        found = httpx.post(f"{self.url}/tools/find", timeout=30.0, json={
            "Level": "Instance", "Query": {"StudyInstanceUID": study_uid}, "Expand": True})
        found.raise_for_status()
        out = []
        for item in found.json():
            tags = self.get_json(f"/instances/{item['ID']}/simplified-tags")
            out.append({"ID": item["ID"], **tags})
        return out
