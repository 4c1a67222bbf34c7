"""Reader-model agreement from synced readings and outcomes, on a case worked out by hand."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from tests.server.factories import reading_payload, signed


def pixel(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def read(client, headers, name, *, score, birads, side="L", amends=None):
    body = signed(reading_payload(score=score, image={"pixel_sha256": pixel(name),
                                                      "laterality": side,
                                                      "study_instance_uid": None}),
                  birads=birads)
    if amends is not None:
        body["amends_id"] = amends
    response = client.put(f"/readings/{body['id']}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return body["id"]


def outcome(client, headers, exam, breast, kind, *names):
    body = {"id": str(uuid.uuid4()), "exam_key": exam, "breast": breast, "outcome": kind,
            "pixel_sha256s": [pixel(n) for n in names],
            "recorded_at": "2025-06-01T10:00:00+00:00"}
    response = client.put(f"/outcomes/{body['id']}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert client.put(f"/outcomes/{body['id']}", json=body, headers=headers).status_code == 200


@pytest.fixture
def worked_example(client, rad_headers, admin_headers):
    # E1 L: model +, recall, cancer.     E1 R: model -, no recall, no cancer.
    # E2 L (two views, one +): model +, no recall, cancer.   E2 R: model -, recall, benign.
    # One view without outcome: model +, recall.
    read(client, rad_headers, "e1l", score=0.9, birads=4)
    read(client, rad_headers, "e1r", score=0.2, birads=1, side="R")
    read(client, rad_headers, "e2l-cc", score=0.3, birads=2)
    read(client, rad_headers, "e2l-mlo", score=0.7, birads=2)
    first = read(client, rad_headers, "e2r", score=0.1, birads=1, side="R")
    read(client, rad_headers, "e2r", score=0.1, birads=0, side="R", amends=first)
    read(client, rad_headers, "lone", score=0.8, birads=5)
    outcome(client, admin_headers, "E1", "L", "malignant", "e1l")
    outcome(client, rad_headers, "E1", "R", "no_cancer", "e1r")
    outcome(client, rad_headers, "E2", "L", "malignant", "e2l-cc", "e2l-mlo")
    outcome(client, rad_headers, "E2", "R", "benign", "e2r")


def test_agreement_kappa_and_screening_figures_per_reader_and_model(
    client, worked_example, admin_headers, radiologist
):
    body = client.get("/stats/agreement", headers=admin_headers).json()

    [row] = body["rows"]
    model_version = "densenet121-mil-1.0@" + "ab" * 6
    assert (row["reader"], row["model"]) == (radiologist.username, model_version)
    assert row["cases"] == 5 and row["disagreements"] == 2 and row["with_outcome"] == 4
    assert row["agreement"]["value"] == pytest.approx(3 / 5)
    assert row["agreement"]["low"] < 0.6 < row["agreement"]["high"]
    assert row["kappa"]["value"] == pytest.approx((0.6 - 0.52) / 0.48)
    reader, model, either = row["reader_alone"], row["model_alone"], row["reader_or_model"]
    assert [reader[k]["value"] for k in ("sensitivity", "specificity", "recall_rate")] == [
        0.5, 0.5, 0.5]
    assert [model[k]["value"] for k in ("sensitivity", "specificity", "recall_rate")] == [
        1.0, 1.0, 0.5]
    assert [either[k]["value"] for k in ("sensitivity", "specificity", "recall_rate")] == [
        1.0, 0.5, 0.75]
    listed = {(d["exam_key"], d["breast"]): d for d in body["disagreements"]}
    assert set(listed) == {("E2", "L"), ("E2", "R")}
    assert listed[("E2", "L")]["outcome"] == "malignant"
    assert listed[("E2", "L")]["model_positive"] and not listed[("E2", "L")]["reader_recall"]
    assert listed[("E2", "R")]["birads"] == 0, "the amendment replaced BI-RADS 1"


def test_a_radiologist_sees_only_their_own_figures(client, worked_example, session):
    from tests.server import factories

    other = factories.make_user(session, "rad-three")
    headers = factories.bearer(factories.login(client, other.username))

    assert client.get("/stats/agreement", headers=headers).json() == {
        "rows": [], "disagreements": []}


def test_an_outcome_id_cannot_be_reused_for_other_content(client, rad_headers):
    body = {"id": str(uuid.uuid4()), "exam_key": "E9", "breast": "L", "outcome": "benign",
            "pixel_sha256s": [pixel("x")], "recorded_at": "2025-06-01T10:00:00+00:00"}
    client.put(f"/outcomes/{body['id']}", json=body, headers=rad_headers)

    again = client.put(f"/outcomes/{body['id']}", json={**body, "outcome": "malignant"},
                       headers=rad_headers)
    listed = client.get("/outcomes", headers=rad_headers).json()["data"]

    assert again.status_code == 409
    assert [(o["exam_key"], o["outcome"]) for o in listed] == [("E9", "benign")]
