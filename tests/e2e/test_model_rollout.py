"""Signed model roll-out end to end: IT's commands against a real server process, two
workstations that take the approved version on sync, switch to it and name it in their
readings; a download cut off by a server crash resumes; a tampered file is refused; a
rollback needs no download."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import ModelRefusalKind, SyncError
from tests.e2e.rollout_support import It, Workstation, image
from tests.e2e.sync_support import ServerProcess, sql
from tests.model_versions import derive_version, make_fake_model_dir, manifest_sha256

pytestmark = pytest.mark.slow


@pytest.fixture
def server(sync_database: str, tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "server", sync_database,
                            model_store_dir=str(tmp_path / "model-store"))
    try:
        process.start()
        yield process
    finally:
        process.stop()


@pytest.fixture
def it(server: ServerProcess, tmp_path: Path) -> It:
    (tmp_path / "offline").mkdir()
    return It(server, tmp_path / "offline")


@pytest.fixture
def stations(server, it, radiologist, sync_database, tmp_path) -> Iterator[list[Workstation]]:
    from tests.e2e.sync_support import create_user

    second = radiologist + "-b"
    create_user(sync_database, second)
    made = [Workstation(tmp_path / "ws-a", server, radiologist, it.public_key),
            Workstation(tmp_path / "ws-b", server, second, it.public_key)]
    yield made
    for station in made:
        station.close()


def server_model_of(database_url: str, reading_id: str) -> str:
    [sha] = sql(database_url, "SELECT model_sha256 FROM readings WHERE id = :id", id=reading_id)
    return sha


def test_two_workstations_take_each_approved_version_and_name_it_in_their_readings(
    stations, it, sync_database, tiny_model_dir, tmp_path
):
    v1 = shutil.copytree(tiny_model_dir, tmp_path / "v1")
    v2 = derive_version(v1, tmp_path / "v2", id="tiny-recalibrated", threshold=0.3,
                        calibration={"method": "platt", "a": 1.2, "b": -0.1})
    assert {s.sync.sync_once().model.status for s in stations} == {"none"}

    for folder in (v1, v2):
        it.release(folder)
        reports = [s.sync.sync_once().model for s in stations]
        assert {r.status for r in reports} == {"ready"}
        for station in stations:
            assert station.switch_when_idle() == manifest_sha256(folder)
            reading = station.read(image())
            station.sync.sync_once()
            assert server_model_of(sync_database, reading) == manifest_sha256(folder)

    assert reports[0].fetched_bytes < 2000, "v2 shares v1's weights: only its manifest is new"
    actions = sql(sync_database, "SELECT action || ' ' || coalesce(actor_username, '') "
                  "FROM audit_events WHERE action LIKE 'model_%' ORDER BY id")
    for station in stations:
        assert actions.count(f"model_installed {station.user}") == 2
        assert actions.count(f"model_activated {station.user}") == 2

    # Rollback: IT approves v1 again; the workstations kept it and fetch nothing.
    it.run("rollback")
    back = [s.sync.sync_once().model for s in stations]
    assert [(r.status, r.fetched_bytes) for r in back] == [("ready", 0), ("ready", 0)]
    assert {s.switch_when_idle() for s in stations} == {manifest_sha256(v1)}


def test_a_download_cut_off_by_a_server_crash_resumes_where_it_stopped(
    server, it, radiologist, tmp_path
):
    folder = make_fake_model_dir(tmp_path / "big", size=24 * 1024 * 1024)
    crashed: list[int] = []

    def crash_midway(done: int, total: int) -> None:
        if not crashed and done > total // 4:
            crashed.append(done)
            server.kill()

    station = Workstation(tmp_path / "ws", server, radiologist, it.public_key,
                          on_progress=crash_midway)
    try:
        it.release(folder)
        with pytest.raises(SyncError):
            station.sync.sync_once()
        part = next((tmp_path / "ws" / "models" / "incoming").rglob("*.part"))
        kept = part.stat().st_size
        server.start()

        report = station.sync.sync_once().model
    finally:
        station.close()

    assert 0 < kept < 24 * 1024 * 1024
    assert report.status == "ready"
    assert report.resumed_bytes == kept
    assert report.fetched_bytes == 24 * 1024 * 1024 - kept + _small_files(folder)
    ready = station.rollout.ready_folder()
    assert _sha(ready / "model.onnx") == _sha(folder / "model.onnx")


def test_a_tampered_file_on_the_server_is_refused_and_audited(
    stations, it, server, sync_database, tmp_path
):
    v1 = make_fake_model_dir(tmp_path / "v1")
    v2 = make_fake_model_dir(tmp_path / "v2", model_id="fake-model-2")
    it.release(v1)
    a, b = stations
    a.sync.sync_once()
    a.rollout.switch_to_ready(a.rollout.ready_folder())
    it.release(v2)
    blob = next(p for p in Path(server.settings["model_store_dir"]).rglob("*")
                if p.is_file() and p.name == _sha(v2 / "model.onnx"))
    blob.chmod(0o644)
    blob.write_bytes(b"tampered" + blob.read_bytes()[8:])

    report = a.sync.sync_once().model
    again = a.sync.sync_once().model

    assert report.status == "refused" and report.refusal is ModelRefusalKind.CHANGED_FILE
    assert "model.onnx" in report.message and "changed" in report.message
    assert again.status == "refused"
    assert a.rollout.library.state().active == manifest_sha256(v1), "v1 stays in use"
    assert a.rollout.ready_folder() is None
    refused = sql(sync_database, "SELECT detail->>'reason' FROM audit_events "
                  "WHERE action = 'model_refused' AND actor_username = :u", u=a.user)
    assert refused == ["changed_file"], "reported once"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _small_files(folder: Path) -> int:
    return (folder / "head.npz").stat().st_size
