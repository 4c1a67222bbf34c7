from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from core.errors import StoreError
from core.store import Store
from core.store.database import create_store_engine
from core.store.migration import MIGRATIONS_DIR, migrate
from core.store.tables import Base
from tests.core.store.factories import add_reading, make_new_reading

TABLES = {
    "users",
    "images",
    "readings",
    "reader_feedback",
    "outbox",
    "server_accounts",
    "sync_conflicts",
    "sync_status",
    "breast_assessments",
    "finding_marks",
    "image_sides",
    "pacs_sends",
    "alembic_version",
}
HEAD = "0007"

NEXT_REVISION = f"""
import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "{HEAD}"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("images") as batch:
        batch.add_column(sa.Column("study_note", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("images") as batch:
        batch.drop_column("study_note")
"""


def query(path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(sql).fetchall()


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.bak-*"))


def test_open_creates_folder_tables_and_wal(store_path: Path) -> None:
    with Store.open(store_path):
        tables = {name for (name,) in query(store_path, "SELECT name FROM sqlite_master")}
        assert tables >= TABLES
        assert query(store_path, "PRAGMA journal_mode") == [("wal",)]
        assert query(store_path, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    assert backups(store_path) == []


def test_every_connection_gets_the_pragmas(store_path: Path) -> None:
    with Store.open(store_path):
        engine = create_store_engine(store_path)
        try:
            with engine.connect() as connection:
                pragma = {
                    name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                    for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
                }
        finally:
            engine.dispose()
    # synchronous: 1 is NORMAL.
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "synchronous": 1,
        "busy_timeout": 5000,
    }


def test_reopen_keeps_data_and_makes_only_the_daily_backup(store_path: Path) -> None:
    with Store.open(store_path) as store:
        reading = add_reading(store)
    with Store.open(store_path) as store:
        assert [r.id for r in store.list_readings()] == [reading.id]
    Store.open(store_path).close()
    assert query(store_path, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    assert [b.name.split("-")[1] for b in backups(store_path)] == ["daily"]


def test_migrations_match_the_models(store_path: Path) -> None:
    Store.open(store_path).close()
    engine = create_store_engine(store_path)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_old_revision_is_backed_up_with_wal_content_before_upgrade(
    store_path: Path, tmp_path: Path
) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9001_study_note.py").write_text(NEXT_REVISION)
    old_store = Store.open(store_path)
    # Kept open: the reading is still in the WAL, which a plain file copy would miss.
    reading = add_reading(old_store)
    assert Path(f"{store_path}-wal").stat().st_size > 0
    engine = create_store_engine(store_path)
    try:
        backup = migrate(store_path, engine, script_location=scripts)
    finally:
        engine.dispose()
        old_store.close()

    assert backup is not None
    assert backups(store_path) == [backup]
    assert backup.name.startswith(f"mammo.sqlite3.bak-{HEAD}-")
    assert query(backup, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    assert query(backup, "SELECT id FROM readings") == [(reading.id,)]
    assert query(store_path, "SELECT version_num FROM alembic_version") == [("9001",)]
    columns = {row[1] for row in query(store_path, "PRAGMA table_info(images)")}
    assert "study_note" in columns
    assert query(store_path, "SELECT id FROM readings") == [(reading.id,)]


def test_newer_database_is_refused_and_left_byte_identical(store_path: Path) -> None:
    with Store.open(store_path) as store:
        add_reading(store)
    with closing(sqlite3.connect(store_path)) as connection, connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    before = store_path.read_bytes()

    with pytest.raises(StoreError, match="newer version.*Update Mammo Workstation"):
        Store.open(store_path)

    assert store_path.read_bytes() == before
    assert backups(store_path) == []


@pytest.mark.parametrize(
    "content",
    [b"this is a text file, not a database\n" * 100, b"SQLite format 3\x00" + b"\xff" * 4000],
    ids=["text", "truncated-sqlite"],
)
def test_file_that_is_not_sqlite_is_refused_unchanged(store_path: Path, content: bytes) -> None:
    store_path.parent.mkdir(parents=True)
    store_path.write_bytes(content)

    with pytest.raises(StoreError, match="damaged or not a Mammo database; it was not changed"):
        Store.open(store_path)

    assert store_path.read_bytes() == content
    assert backups(store_path) == []


def test_foreign_sqlite_database_is_refused_unchanged(store_path: Path) -> None:
    store_path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(store_path)) as connection, connection:
        connection.execute("CREATE TABLE patients (name TEXT)")
    before = store_path.read_bytes()

    with pytest.raises(StoreError, match="not a Mammo database"):
        Store.open(store_path)

    assert store_path.read_bytes() == before


def test_empty_file_is_a_new_store(store_path: Path) -> None:
    store_path.parent.mkdir(parents=True)
    store_path.touch()
    with Store.open(store_path) as store:
        assert store.list_readings() == []


def test_a_store_from_before_rescores_is_upgraded_keeping_its_readings(
    store_path: Path, tmp_path: Path
) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    for later in scripts.glob("versions/000[3-9]_*.py"):  # back to the schema of 0002
        later.unlink()
    store_path.parent.mkdir(parents=True)
    engine = create_store_engine(store_path)
    try:
        migrate(store_path, engine, script_location=scripts)
    finally:
        engine.dispose()
    with closing(sqlite3.connect(store_path)) as connection, connection:
        connection.execute(
            "INSERT INTO users (username, display_name, role, created_at) "
            "VALUES ('alice', 'Alice', 'radiologist', '2024-05-01T09:00:00.000000+00:00')"
        )
        connection.execute(
            "INSERT INTO images (source_path, pixel_sha256, width, height, bit_depth, "
            "file_format, created_at) VALUES ('/a.png', 'ab', 1, 1, 8, 'PNG', "
            "'2024-05-01T09:00:00.000000+00:00')"
        )
        connection.execute(
            "INSERT INTO readings (id, image_id, user_id, score, label, threshold, model_id, "
            "model_sha256, engine, device, preprocessing_version, app_version, created_at, "
            "sync_state) VALUES ('old', 1, 1, 0.4, 'Negative', 0.5, 'm', 'e3', 'onnx', 'cpu', "
            "'p', '0.1', '2024-05-01T09:00:00.000000+00:00', 'pending')"
        )

    with Store.open(store_path) as store:
        old = store.get_reading("old")  # type: ignore[arg-type]
        assert old is not None and old.rescore_of is None
        user_id = store.ensure_user("alice")
        again = store.add_reading(make_new_reading(image_id=old.image_id, user_id=user_id,
                                                   rescore_of=old.id))
        assert store.get_reading(again.id).rescore_of == "old"
    assert backups(store_path)[0].name.startswith("mammo.sqlite3.bak-0002-")
    assert query(store_path, "SELECT version_num FROM alembic_version") == [(HEAD,)]


def test_a_store_from_before_exam_identity_is_upgraded_keeping_its_images(
    store_path: Path, tmp_path: Path
) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    for later in scripts.glob("versions/000[5-9]_*.py"):  # back to the schema of 0004
        later.unlink()
    store_path.parent.mkdir(parents=True)
    engine = create_store_engine(store_path)
    try:
        migrate(store_path, engine, script_location=scripts)
    finally:
        engine.dispose()
    with closing(sqlite3.connect(store_path)) as connection, connection:
        connection.execute(
            "INSERT INTO users (username, display_name, role, created_at) "
            "VALUES ('alice', 'Alice', 'radiologist', '2024-05-01T09:00:00.000000+00:00')"
        )
        connection.execute(
            "INSERT INTO images (source_path, pixel_sha256, width, height, bit_depth, "
            "file_format, laterality, created_at) VALUES ('/a.dcm', 'ab', 1, 1, 8, 'DICOM', "
            "'L', '2024-05-01T09:00:00.000000+00:00')"
        )
        connection.execute(
            "INSERT INTO readings (id, image_id, user_id, score, label, threshold, model_id, "
            "model_sha256, engine, device, preprocessing_version, app_version, created_at, "
            "sync_state) VALUES ('old', 1, 1, 0.4, 'Negative', 0.5, 'm', 'e3', 'onnx', 'cpu', "
            "'p', '0.1', '2024-05-01T09:00:00.000000+00:00', 'pending')"
        )

    with Store.open(store_path) as store:
        old = store.get_reading("old")  # type: ignore[arg-type]
        assert old is not None
        assert old.identity.laterality == "L" and old.identity.patient_id is None
        store.image_sides.state("ab", laterality="R", view="CC", user_id=old.user_id)
        assert store.image_sides.stated(["ab"]) == {"ab": ("R", "CC")}
    assert backups(store_path)[0].name.startswith("mammo.sqlite3.bak-0004-")
    assert query(store_path, "SELECT version_num FROM alembic_version") == [(HEAD,)]
