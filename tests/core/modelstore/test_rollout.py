"""The roll-out on a workstation: fetched by hash, resumed, verified, switched to when idle,
refused with its reason (and reported once), and rolled back without a download."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.contracts import ModelSignature
from core.errors import ModelRefusalKind, SyncError
from core.inference.manifest import MANIFEST_NAME
from core.modelstore import ModelLibrary, ModelRollout, model_folder
from core.settings import Settings
from tests.core.modelstore.fake_server import FakeModelServer
from tests.model_versions import derive_version, make_fake_model_dir, make_key, manifest_sha256

KEY, PUBLIC = make_key()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def server() -> FakeModelServer:
    return FakeModelServer()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def rollout_for(tmp_path: Path, clock: Clock, *, keys=(PUBLIC,), **kwargs) -> ModelRollout:
    return ModelRollout(ModelLibrary(tmp_path / "models", trusted_keys=keys, **kwargs),
                        clock=clock)


def test_a_new_version_is_fetched_verified_and_waits_for_an_idle_moment(
    tmp_path, server, clock
):
    source = make_fake_model_dir(tmp_path / "v1")
    server.publish(source, KEY)
    rollout = rollout_for(tmp_path, clock)

    report = rollout.update(server)
    ready = rollout.ready_folder()
    assert rollout.library.state().active is None, "nothing switches during the pass"
    rollout.switch_to_ready(ready)
    again = rollout.update(server)

    assert report.status == "ready" and report.model_id == "fake-model-1"
    assert report.fetched_bytes == server.version.size_bytes
    assert ready.name == manifest_sha256(source)
    assert (ready / "model.onnx").read_bytes() == (source / "model.onnx").read_bytes()
    assert again.status == "active" and again.fetched_bytes == 0
    assert [r.outcome for _, r in server.reports] == ["installed", "activated"]


def test_a_cut_off_download_resumes_where_it_stopped(tmp_path, server, clock):
    source = make_fake_model_dir(tmp_path / "v1", size=300_000)
    server.publish(source, KEY)
    rollout = rollout_for(tmp_path, clock)
    onnx = json.loads((source / MANIFEST_NAME).read_text())["files"][0]["sha256"]
    first_pass_bytes = []

    def cut_in_onnx(sha256, dest, **kwargs):
        if sha256 == onnx and not dest.exists():
            server.cut_after = 120_000
        return FakeModelServer.download(server, sha256, dest, **kwargs)

    server.download = cut_in_onnx  # type: ignore[method-assign]
    with pytest.raises(SyncError):
        rollout.update(server)
    first_pass_bytes.append(sum(len(server.blobs[s]) for s, _ in server.requests[:-1]))
    report = rollout.update(server)

    assert report.status == "ready"
    assert (onnx, 120_000) in server.requests, "asked for the rest only"
    assert report.resumed_bytes == 120_000
    assert report.fetched_bytes == server.version.size_bytes - 120_000 - first_pass_bytes[0]
    folder = rollout.ready_folder()
    assert (folder / "model.onnx").read_bytes() == (source / "model.onnx").read_bytes()


def test_a_changed_file_is_refused_reported_once_and_fetched_again_later(
    tmp_path, server, clock
):
    source = make_fake_model_dir(tmp_path / "v1")
    version = server.publish(source, KEY)
    onnx = next(f.sha256 for f in version.files if f.path == "model.onnx")
    server.blobs[onnx] = b"tampered" + server.blobs[onnx][8:]
    rollout = rollout_for(tmp_path, clock)

    first = rollout.update(server)
    second = rollout.update(server)
    requests_after_two = len(server.requests)
    clock.now += timedelta(hours=2)
    server.blobs[onnx] = (source / "model.onnx").read_bytes()  # IT uploads it again
    third = rollout.update(server)

    assert first.status == "refused" and first.refusal is ModelRefusalKind.CHANGED_FILE
    assert "model.onnx" in first.message and "changed" in first.message
    assert second.status == "refused"
    assert requests_after_two == 2, "the second pass fetched nothing"
    assert third.status == "ready"
    refusals = [r for _, r in server.reports if r.outcome == "refused"]
    assert len(refusals) == 1 and refusals[0].reason == "changed_file"


def test_a_signature_that_does_not_match_is_refused_before_the_files_are_fetched(
    tmp_path, server, clock
):
    source = make_fake_model_dir(tmp_path / "v1")
    other = derive_version(source, tmp_path / "other", threshold=0.01)
    forged = ModelSignature(public_key=PUBLIC, signature=base64.b64encode(
        KEY.sign((other / MANIFEST_NAME).read_bytes())).decode())
    server.publish(source, KEY, signature=forged)
    rollout = rollout_for(tmp_path, clock)

    report = rollout.update(server)

    assert report.status == "refused" and report.refusal is ModelRefusalKind.BAD_SIGNATURE
    assert "changed after IT signed it" in report.message
    assert [sha for sha, _ in server.requests] == [manifest_sha256(source)]


def test_an_unknown_key_is_refused_until_it_is_trusted(tmp_path, server, clock):
    other_key, other_public = make_key()
    server.publish(make_fake_model_dir(tmp_path / "v1"), other_key)

    refused = rollout_for(tmp_path, clock).update(server)
    trusted = rollout_for(tmp_path, clock, keys=(PUBLIC, other_public)).update(server)

    assert refused.refusal is ModelRefusalKind.UNKNOWN_KEY
    assert "does not trust" in refused.message and "model_public_keys" in refused.message
    assert trusted.status == "ready"


def test_an_unknown_preprocessing_is_refused(tmp_path, server, clock):
    server.publish(make_fake_model_dir(tmp_path / "v1", preprocessing_version="crop-v9"), KEY)

    report = rollout_for(tmp_path, clock).update(server)

    assert report.refusal is ModelRefusalKind.UNKNOWN_PREPROCESSING
    assert "'crop-v9'" in report.message and "Update the app" in report.message
    assert len(server.requests) == 1, "only the manifest was fetched"


def test_rollback_to_the_previous_version_needs_no_download(tmp_path, server, clock):
    v1 = make_fake_model_dir(tmp_path / "v1")
    v2 = derive_version(v1, tmp_path / "v2", id="fake-model-2", threshold=0.4)
    rollout = rollout_for(tmp_path, clock)
    for folder in (v1, v2):
        server.publish(folder, KEY)
        rollout.update(server)
        rollout.switch_to_ready(rollout.ready_folder())
    state = rollout.library.state()
    assert (state.active, state.previous) == (manifest_sha256(v2), manifest_sha256(v1))

    server.publish(v1, KEY)  # IT: mammo-server model rollback
    fetched_before = len(server.requests)
    report = rollout.update(server)
    rollout.switch_to_ready(rollout.ready_folder())

    assert report.status == "ready" and report.fetched_bytes == 0
    assert len(server.requests) == fetched_before
    assert rollout.library.state().active == manifest_sha256(v1)


def test_v2_shares_the_weights_of_v1_so_only_its_manifest_is_new(tmp_path, server, clock):
    v1 = make_fake_model_dir(tmp_path / "v1")
    v2 = derive_version(v1, tmp_path / "v2", id="fake-model-2", threshold=0.4)
    rollout = rollout_for(tmp_path, clock)
    server.publish(v1, KEY)
    rollout.update(server)
    rollout.switch_to_ready(rollout.ready_folder())
    server.publish(v2, KEY)

    report = rollout.update(server)

    assert report.status == "ready"
    assert report.fetched_bytes == (v2 / MANIFEST_NAME).stat().st_size, "only the manifest"
    assert report.reused_bytes == server.version.size_bytes - report.fetched_bytes
    assert rollout.library.has(manifest_sha256(v1)), "the previous version stays"


def test_a_version_changed_on_disk_is_refused_at_start_and_the_previous_one_used(
    tmp_path, server, clock, isolated_env, monkeypatch
):
    v1 = make_fake_model_dir(tmp_path / "v1")
    v2 = derive_version(v1, tmp_path / "v2", id="fake-model-2", threshold=0.4)
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, model_public_keys=[PUBLIC],
                        model_dir=tmp_path / "bundled")
    rollout = ModelRollout(ModelLibrary(data_dir / "models", trusted_keys=[PUBLIC]),
                           clock=clock)
    assert model_folder(settings) == tmp_path / "bundled", "nothing from the server yet"
    server.publish(v1, KEY)
    rollout.update(server)
    assert model_folder(settings).name == manifest_sha256(v1), "starting is an idle moment"
    server.publish(v2, KEY)
    rollout.update(server)
    assert model_folder(settings).name == manifest_sha256(v2)
    active = rollout.library.folder(manifest_sha256(v2))
    (active / "head.npz").write_bytes(b"edited on disk")

    assert model_folder(settings).name == manifest_sha256(v1)
    assert rollout.library.state().refused[manifest_sha256(v2)].kind == "changed_file"
