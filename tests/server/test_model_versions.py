"""Model versions on the server: signed uploads, checked by hash, approval and rollback, the
files workstations fetch (resumable), their reports in the audit log, IT's commands."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server import cli
from server.db.models import ModelVersion
from server.errors import Conflict, InvalidInput
from server.services import model_versions
from server.services.model_files import ModelFileStore
from tests.model_versions import (
    derive_version,
    make_fake_model_dir,
    make_key,
    manifest_sha256,
    signed,
    write_manifest,
)
from tests.server import factories, pg

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings(database_url, tmp_path):
    return factories.make_settings(database_url, model_store_dir=tmp_path / "store")


@pytest.fixture
def files(settings) -> ModelFileStore:
    return ModelFileStore(settings.model_store_dir)


@pytest.fixture
def key():
    return make_key()[0]


def upload(session, files, folder, **kwargs):
    return model_versions.upload(session, files, folder, now=NOW, actor="it", **kwargs)


def test_an_approved_version_is_what_workstations_are_told_and_can_fetch(
    client, session, files, key, tmp_path, rad_headers
):
    folder = signed(make_fake_model_dir(tmp_path / "v1"), key)
    before = client.get("/models/approved", headers=rad_headers).json()

    version = upload(session, files, folder)
    model_versions.approve(session, version.id, now=NOW, actor="it")
    approved = client.get("/models/approved", headers=rad_headers).json()["version"]

    assert before == {"version": None}
    assert approved["id"] == version.id
    assert approved["manifest_sha256"] == manifest_sha256(folder)
    assert approved["signature"] == json.loads((folder / "manifest.json.sig").read_text())
    onnx = next(f for f in approved["files"] if f["path"] == "model.onnx")
    whole = client.get(f"/models/files/{onnx['sha256']}", headers=rad_headers)
    assert whole.status_code == 200
    assert hashlib.sha256(whole.content).hexdigest() == onnx["sha256"]
    manifest = client.get(f"/models/files/{approved['manifest_sha256']}", headers=rad_headers)
    assert manifest.content == (folder / "manifest.json").read_bytes()


def test_a_download_resumes_with_a_range_request(client, session, files, key, tmp_path,
                                                 rad_headers):
    folder = signed(make_fake_model_dir(tmp_path / "v1"), key)
    upload(session, files, folder)
    data = (folder / "model.onnx").read_bytes()
    sha = hashlib.sha256(data).hexdigest()

    rest = client.get(f"/models/files/{sha}", headers={**rad_headers, "Range": "bytes=1000-"})

    assert rest.status_code == 206
    assert rest.headers["content-range"] == f"bytes 1000-{len(data) - 1}/{len(data)}"
    assert rest.content == data[1000:]


def test_model_files_need_a_login_and_a_stored_hash(client, rad_headers):
    assert client.get("/models/files/" + "a" * 64).status_code == 401
    assert client.get("/models/files/" + "a" * 64, headers=rad_headers).status_code == 404
    assert client.get("/models/files/..%2F..%2Fetc", headers=rad_headers).status_code == 404
    assert client.get("/models/approved").status_code == 401


def test_unsigned_or_changed_folders_are_refused_and_nothing_is_stored(
    session, files, key, tmp_path
):
    unsigned = make_fake_model_dir(tmp_path / "unsigned")
    edited = signed(make_fake_model_dir(tmp_path / "edited", model_id="m2"), key)
    manifest = (edited / "manifest.json").read_text()
    (edited / "manifest.json").write_text(manifest.replace('"threshold": 0.5', '"threshold": 0.1'))
    changed = signed(make_fake_model_dir(tmp_path / "changed", model_id="m3"), key)
    (changed / "model.onnx").write_bytes(b"not the signed weights")
    missing = signed(make_fake_model_dir(tmp_path / "missing", model_id="m4"), key)
    (missing / "head.npz").unlink()

    messages = {}
    for name, folder in (("unsigned", unsigned), ("edited", edited), ("changed", changed),
                         ("missing", missing)):
        with pytest.raises(InvalidInput) as caught:
            upload(session, files, folder)
        messages[name] = caught.value.message

    assert "not signed" in messages["unsigned"]
    assert "changed after signing" in messages["edited"]
    assert "model.onnx does not match the hash" in messages["changed"]
    assert "head.npz is missing" in messages["missing"]
    assert session.scalar(select(func.count()).select_from(ModelVersion)) == 0


def test_the_keras_file_may_be_left_out(session, files, key, tmp_path):
    folder = signed(make_fake_model_dir(tmp_path / "v1", keras=True), key)
    (folder / "model.keras").unlink()

    version = upload(session, files, folder)

    assert {f["path"] for f in version.files} == {"model.onnx", "head.npz"}


def test_the_same_manifest_is_stored_once(session, files, key, tmp_path):
    folder = signed(make_fake_model_dir(tmp_path / "v1"), key)
    first = upload(session, files, folder)
    with pytest.raises(Conflict, match=f"version {first.id}"):
        upload(session, files, folder)


def test_versions_sharing_weights_share_their_stored_files(session, files, key, tmp_path):
    v1 = signed(make_fake_model_dir(tmp_path / "v1"), key)
    v2 = signed(derive_version(v1, tmp_path / "v2", id="fake-model-1-recal", threshold=0.4), key)

    first, second = upload(session, files, v1), upload(session, files, v2)

    assert first.manifest_sha256 != second.manifest_sha256
    blobs = [p for p in (files.root / "sha256").rglob("*") if p.is_file()]
    assert len(blobs) == 4, "two shared files and two manifests"


def test_rollback_approves_the_version_approved_before(session, files, key, tmp_path):
    v1 = upload(session, files, signed(make_fake_model_dir(tmp_path / "v1"), key))
    with pytest.raises(InvalidInput, match="nothing to roll back"):
        model_versions.roll_back(session, now=NOW, actor="it")
    model_versions.approve(session, v1.id, now=NOW, actor="it")
    with pytest.raises(InvalidInput, match="only one ever approved"):
        model_versions.roll_back(session, now=NOW, actor="it")
    v2 = upload(session, files, signed(make_fake_model_dir(tmp_path / "v2", model_id="m2"), key))
    model_versions.approve(session, v2.id, now=NOW, actor="it")

    back = model_versions.roll_back(session, now=NOW, actor="it")
    rows = {r.version.id: r.approved for r in model_versions.list_versions(session)}

    assert back.id == v1.id
    assert rows == {v1.id: True, v2.id: False}


def test_workstation_reports_and_it_steps_are_audited(
    client, session, files, key, tmp_path, rad_headers, admin_headers, radiologist
):
    version = upload(session, files, signed(make_fake_model_dir(tmp_path / "v1"), key))
    model_versions.approve(session, version.id, now=NOW, actor="it")

    response = client.post(f"/models/{version.id}/reports", headers=rad_headers, json={
        "outcome": "refused", "reason": "bad_signature", "message": "changed after signing"})
    missing = client.post("/models/99999/reports", headers=rad_headers,
                          json={"outcome": "installed"})
    events = client.get("/audit", headers=admin_headers, params={"limit": 50}).json()["data"]

    assert response.status_code == 204
    assert missing.status_code == 404
    by_action = {e["action"]: e for e in events}
    assert by_action["model_refused"]["actor"] == radiologist.username
    assert by_action["model_refused"]["detail"]["reason"] == "bad_signature"
    assert by_action["model_upload"]["target"] == str(version.id)
    assert by_action["model_approve"]["actor"] == "it"


# --- IT's commands ------------------------------------------------------------------------


@pytest.fixture
def cli_db(monkeypatch, tmp_path):
    """A fresh, migrated database and the environment pointing the CLI at it."""
    try:
        url = pg.create_database("mammo_model_cli")
    except pg.PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    config = tmp_path / "server.toml"
    config.write_text(f'database_url = "{url}"\nsecret_key = "{factories.SECRET}"\n'
                      f'model_store_dir = "{tmp_path / "store"}"\n')
    monkeypatch.setenv("MAMMO_SERVER_CONFIG_FILE", str(config))
    for name in ("DATABASE_URL", "SECRET_KEY", "ENVIRONMENT", "MODEL_STORE_DIR"):
        monkeypatch.delenv(f"MAMMO_SERVER_{name}", raising=False)
    assert cli.main(["migrate"]) == 0
    yield url
    pg.drop_database(url)


def test_keygen_sign_upload_approve_list(cli_db, tmp_path, monkeypatch, capsys):
    key = tmp_path / "offline" / "signing.pem"
    key.parent.mkdir()
    folder = make_fake_model_dir(tmp_path / "v1")
    monkeypatch.setattr("sys.stdin", io.StringIO("a passphrase\na passphrase\n"))

    assert cli.main(["model", "keygen", str(key)]) == 0
    public = capsys.readouterr().out.split('model_public_keys = ["')[1].split('"')[0]
    assert cli.main(["model", "keygen", str(key)]) == 2, "a key is never overwritten"
    assert cli.main(["model", "upload", str(folder)]) == 2, "unsigned"
    assert "not signed" in capsys.readouterr().err
    assert cli.main(["model", "sign", "--key", str(key), str(folder)]) == 0
    assert cli.main(["model", "upload", str(folder)]) == 0
    assert cli.main(["model", "approve", "1"]) == 0
    assert cli.main(["model", "approve", "7"]) == 2
    capsys.readouterr()
    assert cli.main(["model", "list"]) == 0
    listing = capsys.readouterr().out

    assert key.stat().st_mode & 0o777 == 0o600
    assert b"ENCRYPTED" in key.read_bytes()
    assert public in (folder / "manifest.json.sig").read_text()
    assert listing.startswith("*    1  fake-model-1  manifest " + manifest_sha256(folder)[:12])
    assert cli.main(["model", "recalibrate", "1", "--out", str(tmp_path / "recal")]) == 2
    assert "at least 100 outcomes of each class" in capsys.readouterr().err


def test_sign_refuses_a_wrong_passphrase(tmp_path, monkeypatch, capsys):
    key = tmp_path / "signing.pem"
    monkeypatch.setattr("sys.stdin", io.StringIO("right\n"))
    assert cli.main(["model", "keygen", str(key)]) == 0
    folder = make_fake_model_dir(tmp_path / "v1")
    monkeypatch.setattr("sys.stdin", io.StringIO("wrong\n"))

    assert cli.main(["model", "sign", "--key", str(key), str(folder)]) == 2
    assert "passphrase is wrong" in capsys.readouterr().err
    assert not (folder / "manifest.json.sig").exists()


def test_a_manifest_listing_a_file_outside_its_folder_is_refused(session, files, key,
                                                                 tmp_path):
    folder = make_fake_model_dir(tmp_path / "v1")
    data = json.loads((folder / "manifest.json").read_text())
    data["files"][0]["path"] = "../../etc/passwd"
    write_manifest(folder, data)
    signed(folder, key)

    with pytest.raises(InvalidInput, match="outside the model folder"):
        upload(session, files, Path(folder))
