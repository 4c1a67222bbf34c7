"""POST /predict: off unless enabled, authenticated, size-limited, using the injected model."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from core.contracts import PredictionPublic
from server.errors import ConfigurationError
from server.main import create_app


def fake_predictor(payload: bytes) -> PredictionPublic:
    if payload.startswith(b"junk"):
        raise ValueError("not an image")
    return PredictionPublic(
        score=len(payload) / 10_000,
        label="suspicious",
        threshold=0.5,
        model_id="fake-1",
        model_sha256="cd" * 32,
        heatmap_peak=0.5,
    )


@pytest.fixture
def predict_client(settings, database):
    enabled = settings.model_copy(update={"predict_enabled": True, "predict_max_bytes": 8192})
    with TestClient(create_app(enabled, database=database, predictor=fake_predictor)) as client:
        yield client


def test_prediction_uses_the_injected_model(predict_client, rad_headers):
    response = predict_client.post(
        "/predict",
        content=b"\x00" * 5000,
        headers={**rad_headers, "content-type": "application/octet-stream"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["score"] == 0.5
    assert response.json()["model_id"] == "fake-1"


def test_prediction_is_off_by_default(client, rad_headers):
    response = client.post("/predict", content=b"image", headers=rad_headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_prediction_needs_a_login(predict_client):
    assert predict_client.post("/predict", content=b"image").status_code == 401


def test_an_oversized_upload_is_refused_with_413(predict_client, rad_headers):
    response = predict_client.post("/predict", content=b"\x00" * 9000, headers=rad_headers)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_empty_or_unreadable_uploads_are_422(predict_client, rad_headers):
    assert predict_client.post("/predict", content=b"", headers=rad_headers).status_code == 422
    junk = predict_client.post("/predict", content=b"junk data", headers=rad_headers)
    assert junk.status_code == 422
    assert "not an image" in junk.json()["error"]["message"]


def test_enabling_prediction_without_a_model_refuses_to_start(settings, database):
    with pytest.raises(ConfigurationError):
        create_app(settings.model_copy(update={"predict_enabled": True}), database=database)
