"""Local recalibration: refitted on the site's outcomes into a new folder with the same
weights, refused without enough outcomes; the pure fitting steps on known answers."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import numpy as np
import pytest

from server.errors import InvalidInput
from server.services import model_versions, recalibration
from server.services.calibration import fit_platt, sigmoid, threshold_at_specificity
from server.services.model_files import ModelFileStore
from tests.model_versions import make_fake_model_dir, make_key, signed
from tests.server.factories import reading_payload

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings(database_url, tmp_path):
    from tests.server import factories

    return factories.make_settings(database_url, model_store_dir=tmp_path / "store")


@pytest.fixture
def files(settings) -> ModelFileStore:
    return ModelFileStore(settings.model_store_dir)


@pytest.fixture
def key():
    return make_key()[0]


@pytest.fixture
def read_version(client, session, files, key, tmp_path, rad_headers):
    """A stored version (calibration a=1, b=0) that read 40 cancers and 40 other breasts,
    each with an outcome; returns it, its folder and the raw logits (cancers first)."""
    folder = signed(make_fake_model_dir(tmp_path / "v1"), key)
    version = model_versions.upload(session, files, folder, now=NOW, actor="it")
    raws = np.concatenate([np.linspace(-1.0, 4.0, 40), np.linspace(-4.0, 1.0, 40)])
    readings = []
    for n, raw in enumerate(raws):
        pixel = uuid.uuid4().hex * 2
        readings.append(reading_payload(
            score=float(sigmoid(raw)), model_id=version.model_id,
            model_sha256=version.manifest_sha256, image={"pixel_sha256": pixel}))
        outcome = {"id": str(uuid.uuid4()), "exam_key": f"E{n}", "breast": "L",
                   "outcome": "malignant" if n < 40 else ("benign" if n % 2 else "no_cancer"),
                   "pixel_sha256s": [pixel], "recorded_at": "2025-06-01T10:00:00+00:00"}
        assert client.put(f"/outcomes/{outcome['id']}", json=outcome,
                          headers=rad_headers).status_code == 201
    response = client.post("/readings/batch", json={"readings": readings}, headers=rad_headers)
    assert response.status_code == 200
    return version, folder, raws


def test_a_recalibrated_version_keeps_the_weights_and_gets_a_new_manifest_and_card(
    session, files, key, read_version, tmp_path
):
    version, original, raws = read_version
    out = tmp_path / "recal"

    manifest = recalibration.recalibrate(session, files, version.id, out, now=NOW,
                                         min_per_class=30)

    before = {f["path"]: f["sha256"] for f in json.loads(
        (original / "manifest.json").read_text())["files"]}
    after = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert {p: after[p] for p in before} == before, "same weights"
    assert (out / "model.onnx").read_bytes() == (original / "model.onnx").read_bytes()
    assert manifest["id"] == "fake-model-1-recal-20261127"
    expected = fit_platt(raws, np.arange(raws.size) < 40)
    assert (manifest["calibration"]["a"], manifest["calibration"]["b"]) == pytest.approx(
        expected, abs=1e-6)
    assert manifest["calibration"]["a"] != pytest.approx(1.0, abs=0.1), "refitted"
    assert 0.0 < manifest["threshold"] < 1.0
    section = manifest["recalibration"]
    assert (section["cases"], section["malignant"], section["benign_or_no_cancer"]) == (80, 40, 40)
    assert section["out_of_fold"]["specificity"] >= 0.8
    assert section["from"]["manifest_sha256"] == version.manifest_sha256
    assert "## Local recalibration" in (out / "MODEL_CARD.md").read_text()
    assert json.loads((out / "manifest.json").read_text()) == manifest

    # It then goes through signing and upload like any other version.
    uploaded = model_versions.upload(session, files, signed(out, key), now=NOW, actor="it")
    assert uploaded.derived_from_id == version.id


def test_too_few_outcomes_are_refused_with_the_counts(session, files, read_version, tmp_path):
    version, _, _ = read_version
    out = tmp_path / "recal"

    with pytest.raises(InvalidInput) as refused:
        recalibration.recalibrate(session, files, version.id, out, now=NOW, min_per_class=100)

    assert "at least 100 outcomes of each class" in refused.value.message
    assert "40 biopsy-malignant and 40 benign or cancer-free" in refused.value.message
    assert not out.exists()


def test_platt_fit_recovers_a_known_calibration():
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 2.0, 20_000)
    y = rng.random(x.size) < sigmoid(2.0 * x - 1.0)

    a, b = fit_platt(x, y)

    assert (a, b) == (pytest.approx(2.0, abs=0.1), pytest.approx(-1.0, abs=0.1))


def test_threshold_at_specificity_on_known_scores():
    y = np.array([False] * 10 + [True] * 2)
    s = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.95, 0.99])

    threshold = threshold_at_specificity(y, s, 0.8)

    assert 0.8 < threshold < 0.9
    assert int((s[:10] < threshold).sum()) == 8
