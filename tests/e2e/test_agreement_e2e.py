"""Issue 15's "done when", end to end: two workstations of one radiologist take a signed model
from the real server without reinstalling, their readings name it, a tampered copy is refused
(see test_model_rollout), and the Statistics tab shows the agreement figures, with intervals,
computed by the server from the synced readings, decisions and outcomes of both."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

import shutil  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from app.charts import render_agreement_chart  # noqa: E402
from app.stats_view import StatsView  # noqa: E402
from core.store.outcomes import NewOutcome  # noqa: E402
from server.services.agreement_metrics import proportion  # noqa: E402
from tests.e2e.rollout_support import It, Workstation, image  # noqa: E402
from tests.e2e.sync_support import ServerProcess, sign, sql  # noqa: E402
from tests.model_versions import manifest_sha256  # noqa: E402

pytestmark = pytest.mark.slow

# (workstation, image, BI-RADS, outcome)
CASES = [("a", 0, 4, "malignant"), ("a", 1, 1, "no_cancer"), ("a", 2, 2, "malignant"),
         ("b", 3, 0, "benign"), ("b", 4, 5, "malignant"), ("b", 5, 1, "no_cancer")]


@pytest.fixture
def server(sync_database: str, tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "server", sync_database,
                            model_store_dir=str(tmp_path / "model-store"))
    try:
        process.start()
        yield process
    finally:
        process.stop()


def test_statistics_show_the_agreement_of_both_workstations_readings_with_intervals(
    server, radiologist, sync_database, tiny_model_dir, tmp_path, qtbot
):
    (tmp_path / "offline").mkdir()
    it = It(server, tmp_path / "offline")
    model = shutil.copytree(tiny_model_dir, tmp_path / "v1")
    it.release(model)
    stations = {name: Workstation(tmp_path / f"ws-{name}", server, radiologist, it.public_key)
                for name in "ab"}
    try:
        for station in stations.values():
            assert station.sync.sync_once().model.status == "ready"
            assert station.switch_when_idle() == manifest_sha256(model)
        recalls, positives = [], []
        for name, n, birads, outcome in CASES:
            station = stations[name]
            reading_id = station.read(image(n))
            reading = station.store.get_reading(reading_id)
            assert reading.model_sha256 == manifest_sha256(model), "readings name the model"
            sign(station.store, reading_id, radiologist, birads=birads,
                 agrees_with_model=(birads in (0, 3, 4, 5)) == (reading.label == "Positive"))
            station.store.outcomes.record([NewOutcome(
                exam_id=f"exam-{n}", side="L", outcome=outcome,  # type: ignore[arg-type]
                pixel_sha256s=(reading.pixel_sha256,),
                user_id=station.store.ensure_user(radiologist))])
            recalls.append(birads in (0, 3, 4, 5))
            positives.append(reading.score >= reading.threshold)
        for station in stations.values():
            station.sync.sync_once()
            assert station.store.outcomes.unsynced(station.store.ensure_user(radiologist)) == []

        agreement = stations["a"].sync.agreement()
    finally:
        for station in stations.values():
            station.close()

    assert sql(sync_database, "SELECT count(*) FROM outcomes") == [len(CASES)]
    [row] = agreement.rows
    assert (row.reader, row.model) == (radiologist,
                                       f"tiny-test-model@{manifest_sha256(model)[:12]}")
    assert row.cases == row.with_outcome == len(CASES), "both workstations' readings"
    agreed = sum(r == p for r, p in zip(recalls, positives, strict=True))
    expected = proportion(agreed, len(CASES))
    assert (row.agreement.value, row.agreement.low, row.agreement.high) == pytest.approx(
        (expected.value, expected.low, expected.high))
    assert row.reader_alone.sensitivity.numerator == 2, "BI-RADS 4 and 5 of three cancers"
    assert row.reader_alone.sensitivity.denominator == 3
    assert len(agreement.disagreements) == row.disagreements == len(CASES) - agreed

    view = StatsView()
    qtbot.addWidget(view)
    view.agreement_view.show_agreement(agreement, render_agreement_chart(agreement))
    shown = view.agreement_view.table.text()
    assert f"{row.cases} cases" in shown
    assert f"agreement {expected.value:.1%} ({expected.low:.1%}-{expected.high:.1%}" in shown
    assert "reader alone: sensitivity 66.7%" in shown
    assert not view.agreement_view.chart.pixmap().isNull()
