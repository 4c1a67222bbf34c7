"""The window's side of the model roll-out: a version that arrives during a batch is used
once the batch ends, and named in the status bar and About; a refused version is said in
the status bar (no dialog) and the model in use stays."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.about_dialog import AboutDialog
from app.main_window import MainWindow
from core.errors import ModelRefusalKind
from core.modelstore import ModelLibrary, ModelRollout, RolloutReport
from core.reading import ReadingService
from tests.app.factories import FakeClassifier, write_mammograms
from tests.app.helpers import open_message_boxes
from tests.app.test_sync_ui import FakeSync, make_status
from tests.core.modelstore.fake_server import FakeModelServer
from tests.model_versions import make_key, manifest_sha256

WAIT_MS = 60_000


@pytest.fixture
def rollout(tmp_path: Path, tiny_model_dir: Path) -> tuple[ModelRollout, str]:
    """A roll-out whose library holds the tiny model, fetched and verified, ready."""
    key, public = make_key()
    server = FakeModelServer()
    source = shutil.copytree(tiny_model_dir, tmp_path / "tiny")
    server.publish(source, key)
    made = ModelRollout(ModelLibrary(tmp_path / "models", trusted_keys=[public]))
    assert made.update(server).status == "ready"
    return made, manifest_sha256(source)


def window_with(qtbot, settings, store, user, pools, rollout, classifier) -> MainWindow:
    service = None if classifier is None else ReadingService(
        store=store, classifier=classifier, max_file_bytes=settings.max_file_bytes,
        max_pixels=settings.max_pixels)  # type: ignore[arg-type]
    window = MainWindow(settings=settings, store=store, user=user, pools=pools,
                        reading_service=service,
                        model_info=classifier.info if classifier else None,
                        model_error=None if classifier else "no model (test)",
                        sync=FakeSync(make_status()), rollout=rollout)  # type: ignore[arg-type]
    qtbot.addWidget(window)
    window.show()
    return window


def ready(sha: str) -> object:
    class Report:
        model = RolloutReport(status="ready", model_id="tiny-test-model", manifest_sha256=sha)
    return Report()


def test_a_ready_version_waits_for_the_batch_then_is_used_and_shown(
    qtbot, settings, store, user, pools, rollout, tmp_path
):
    made, sha = rollout
    fake = FakeClassifier(steps=True)
    window = window_with(qtbot, settings, store, user, pools, made, fake)
    images = write_mammograms(tmp_path / "in", 2)
    assert window.model_indicator.text().startswith("Model fake-densenet-1 (abababababab)")

    window.import_paths([str(p) for p in images])
    window.models.on_sync_finished(ready(sha))
    waiting = window.model_indicator.notice
    with qtbot.waitSignal(window.models.switched, timeout=WAIT_MS) as switched:
        fake.allow(10)

    assert waiting is not None and "once this batch ends" in waiting
    readings = store.list_readings()
    assert len(readings) == 2 and {r.model_id for r in readings} == {"fake-densenet-1"}, \
        "the batch kept its model"
    assert switched.args[0].model_sha256 == sha
    assert window.session._service.classifier.info.model_sha256 == sha
    assert made.library.state().active == sha
    assert window.model_indicator.text().startswith(f"Model tiny-test-model ({sha[:12]})")
    assert "no held-out evaluation" in window.model_indicator.text()
    about = AboutDialog(info=switched.args[0], model_card=None, parent=window)
    assert sha[:12] in about.model.text() and "Validation:" in about.model.text()


def test_a_refused_version_is_said_in_the_status_bar_and_the_model_stays(
    qtbot, settings, store, user, pools, rollout
):
    made, _sha = rollout
    fake = FakeClassifier()
    window = window_with(qtbot, settings, store, user, pools, made, fake)

    class Refused:
        model = RolloutReport(status="refused", model_id="evil", manifest_sha256="cd" * 32,
                              refusal=ModelRefusalKind.BAD_SIGNATURE,
                              message="The model's signature does not match its manifest.")

    window.models.on_sync_finished(Refused())

    assert "evil from the server was refused" in window.model_indicator.notice
    assert "signature does not match" in window.model_indicator.toolTip()
    assert "refused" in window.statusBar().currentMessage()
    assert open_message_boxes() == []
    assert window.session._service.classifier is fake


def test_without_a_model_in_use_the_version_waits_for_the_next_start(
    qtbot, settings, store, user, pools, rollout
):
    made, sha = rollout
    window = window_with(qtbot, settings, store, user, pools, made, None)

    window.models.on_sync_finished(ready(sha))

    assert "restart the app" in window.model_indicator.notice
    assert made.library.state().ready == sha
