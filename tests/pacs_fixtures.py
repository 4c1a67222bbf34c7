"""PACS fixtures (loaded by the root conftest): a real Orthanc on loopback per test, knowing
this workstation (AE ``MAMMOWS``, its receive port) as a modality, and a PacsConfig for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.pacs import PacsConfig
from tests.mg_factory import MgExam, dicom_bytes, two_rsna_exams
from tests.orthanc import INSTALL_HINT, OrthancServer, free_port, orthanc_binary

WORKSTATION_AE = "MAMMOWS"


@pytest.fixture
def start_orthanc(tmp_path: Path) -> Iterator[Callable[..., OrthancServer]]:
    """Start Orthancs (keyword arguments of :class:`OrthancServer`); all stop at the end.

    Fails (never skips) when Orthanc is not installed: the PACS features must be tested.
    """
    if orthanc_binary() is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    started: list[OrthancServer] = []

    def start(**options: object) -> OrthancServer:
        folder = tmp_path / f"orthanc-{len(started)}"
        server = OrthancServer(folder=folder, **options)  # type: ignore[arg-type]
        started.append(server)
        try:
            return server.start()
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)

    yield start
    for server in started:
        server.kill()  # its storage is thrown away with tmp_path: no need to wait for it


@pytest.fixture
def receive_port() -> int:
    return free_port()


@pytest.fixture
def orthanc(start_orthanc: Callable[..., OrthancServer], receive_port: int) -> OrthancServer:
    """An empty Orthanc that knows this workstation for queries and C-MOVE."""
    return start_orthanc(modalities={"workstation": (WORKSTATION_AE, "127.0.0.1",
                                                     receive_port)})


@pytest.fixture
def pacs_config(orthanc: OrthancServer, receive_port: int) -> PacsConfig:
    """The workstation's settings for ``orthanc``, with short waits between tries."""
    return PacsConfig(host="127.0.0.1", port=orthanc.dicom_port, called_ae=orthanc.aet,
                      calling_ae=WORKSTATION_AE, receive_port=receive_port,
                      connect_timeout_s=5.0, response_timeout_s=20.0, attempts=3,
                      backoff_s=0.2)


@pytest.fixture(scope="session")
def mg_exams() -> list[MgExam]:
    """Two 4-view MG exams (the RSNA fixture images), made once per run."""
    return two_rsna_exams()


def fill_orthanc(orthanc: OrthancServer, exams: list[MgExam]) -> None:
    """Put the exams' images into Orthanc through its REST API (not through the code under
    test)."""
    for exam in exams:
        for ds in exam.datasets:
            orthanc.upload(dicom_bytes(ds))


@pytest.fixture
def filled_orthanc(orthanc: OrthancServer, mg_exams: list[MgExam]) -> OrthancServer:
    fill_orthanc(orthanc, mg_exams)
    return orthanc
