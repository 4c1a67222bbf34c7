"""POST /predict with every corpus kind that can be uploaded: a clear 4xx per bad file, a score
per valid one, never a 500, and the server's stored readings untouched.

The server takes bytes, not paths: kinds that exist only in a file system (links, pipes,
sockets, a folder, mode 000, odd file names) cannot be uploaded and are left out. The model
behind the endpoint is composed here from ``core`` as a deployment would (the server itself
may import only the wire contracts): the same reading pipeline as the app, without a store.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.contracts import PredictionPublic
from core.errors import ImageDecodeError, MammoError
from core.reading import ReadingService
from server.main import create_app
from server.services.prediction import Predictor
from tests.app.factories import FakeClassifier
from tests.corpus.generate import LIMITS, Kind, kinds, write_corpus, write_valid
from tests.corpus.judge import Said, judge
from tests.server.factories import reading_payload

UPLOAD_LIMIT = 16 * 1024 * 1024
SERVER_REASONS = {"huge-text": f"larger than {UPLOAD_LIMIT} bytes", "empty": "upload is empty"}
"""Where the server's own checks (size, emptiness) answer before the image is looked at."""


def core_predictor() -> Predictor:
    """Uploaded bytes through ``core``'s reading pipeline; a refusal is a ValueError with the
    reason, as the server's Predictor contract asks."""
    classifier = FakeClassifier()
    service = ReadingService(store=None, classifier=classifier, **LIMITS)  # type: ignore[arg-type]

    def predict(payload: bytes) -> PredictionPublic:
        with tempfile.TemporaryDirectory() as folder:
            upload = Path(folder) / "upload"
            upload.write_bytes(payload)
            outcome = next(service.read([upload], user_id=None))
        if isinstance(outcome.error, ImageDecodeError):
            raise ValueError(outcome.error.reason)
        if isinstance(outcome.error, MammoError):
            raise ValueError(outcome.error.message)
        assert outcome.prediction is not None
        return PredictionPublic(
            score=outcome.prediction.score, label=outcome.prediction.label,
            threshold=outcome.prediction.threshold, model_id=classifier.info.model_id,
            model_sha256=classifier.info.model_sha256)

    return predict


@pytest.fixture
def predict_client(settings, database):
    enabled = settings.model_copy(update={"predict_enabled": True,
                                          "predict_max_bytes": UPLOAD_LIMIT})
    with TestClient(create_app(enabled, database=database, predictor=core_predictor())) as client:
        yield client


def _upload(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(UPLOAD_LIMIT + 1)  # beyond the limit the server reads no further


def _uploadable(kind: Kind, path: Path) -> bool:
    return path.is_file() and not path.is_symlink() and path.parent.name == "in" and (
        kind.name not in ("mode-000", "non-utf8-name", "non-utf8-broken"))


def test_every_uploadable_kind_gets_a_clear_answer(predict_client, rad_headers, tmp_path):
    made = write_corpus(tmp_path / "in")
    valid = write_valid(tmp_path / "valid", 2)
    stored = predict_client.put(f"/readings/{(payload := reading_payload())['id']}",
                                json=payload, headers=rad_headers)
    assert stored.status_code == 201

    verdicts, statuses = [], set()
    for kind in kinds():
        if not _uploadable(kind, made[kind.name]):
            continue
        response = predict_client.post("/predict", content=_upload(made[kind.name]),
                                       headers=rad_headers)
        statuses.add(response.status_code)
        said = Said(read=True) if response.status_code == 200 else Said(
            read=False, message=response.json()["error"]["message"])
        expected = Kind(kind.name, kind.make, kind.expect,
                        SERVER_REASONS.get(kind.name, kind.reason))
        verdicts.append(judge(expected, said))

    assert len(verdicts) >= 40
    assert [f"{v.kind.name}: {v.problem}" for v in verdicts if not v.ok] == []
    assert statuses <= {200, 413, 422}  # a bad upload is never a server error
    for path in valid:  # and the server still reads good images after all that
        response = predict_client.post("/predict", content=path.read_bytes(),
                                       headers=rad_headers)
        assert response.status_code == 200, response.text
    readings = predict_client.get("/readings", headers=rad_headers).json()["data"]
    assert [r["id"] for r in readings] == [payload["id"]]  # nothing stored is lost or added
