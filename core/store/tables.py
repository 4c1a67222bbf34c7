"""SQLAlchemy models of the local store.

These classes are private to ``core.store``: callers get the frozen records of
:mod:`core.store.records`. Any change here needs a new migration in ``migrations/versions``
(``tests/core/store`` fails when the models and the migrations disagree).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Dialect,
    Float,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant stored as fixed-width UTC ISO 8601 text.

    Fixed width (``2024-05-01T09:30:00.000000+00:00``) keeps text order equal to time order, so
    sorting and ``>=`` filters work in SQL. Naive datetimes are refused: a reading's time must
    never depend on the workstation's time zone.
    """

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store needs timezone-aware times")
        return value.astimezone(UTC).isoformat(timespec="microseconds")

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return datetime.fromisoformat(value).astimezone(UTC)


class FilePath(TypeDecorator[str]):
    """A file's path, as text; a name that is not valid UTF-8 as its bytes, so it is kept.

    A file system may hold names in another encoding (a Latin-1 export on a Linux disk).
    Python carries their odd bytes as lone surrogates, which SQLite's text cannot hold; such
    a path is stored as the bytes the file system gave, and comes back unchanged. Every
    other path stays plain text, as before.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | bytes | None:
        if value is None:
            return None
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return os.fsencode(value)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if isinstance(value, bytes):
            return os.fsdecode(value)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), float: Float()}


def _one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


SYNC_STATE_CHECK = _one_of("sync_state", ("pending", "synced", "conflict"))


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_one_of("role", ("radiologist", "admin")), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # NOCASE: "Alice" and "alice" are one account (ASCII letters only, as SQLite folds them).
    username: Mapped[str] = mapped_column(String(150, collation="NOCASE"), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    # NULL for accounts that exist only to attribute CLI readings; they cannot log in.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    server_user_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Image(Base):
    __tablename__ = "images"
    __table_args__ = (UniqueConstraint("source_path", "pixel_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_path: Mapped[str] = mapped_column(FilePath)
    pixel_sha256: Mapped[str] = mapped_column(String(64), index=True)
    width: Mapped[int]
    height: Mapped[int]
    bit_depth: Mapped[int]
    file_format: Mapped[str] = mapped_column(String(16))
    laterality: Mapped[str | None] = mapped_column(String(8))
    view_position: Mapped[str | None] = mapped_column(String(16))
    photometric: Mapped[str | None] = mapped_column(String(16))
    sop_instance_uid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    # Whose exam the image belongs to, from a DICOM file (NULL for other formats), so that
    # history can be searched by patient and accession and exams regrouped (schema 0005).
    study_instance_uid: Mapped[str | None] = mapped_column(String(64), index=True)
    patient_id: Mapped[str | None] = mapped_column(String(64), index=True)
    patient_name: Mapped[str | None] = mapped_column(String(256))
    birth_date: Mapped[str | None] = mapped_column(String(16))
    study_date: Mapped[str | None] = mapped_column(String(16))
    accession_number: Mapped[str | None] = mapped_column(String(64), index=True)
    manufacturer: Mapped[str | None] = mapped_column(String(128))


class ImageSide(Base):
    """The breast and view a reader said a picture shows, where the file did not tell.

    Keyed by the picture (its pixel hash), so that it is asked once: the same picture opened
    again, under any name, is hung where the reader put it. Local only.
    """

    __tablename__ = "image_sides"
    __table_args__ = (
        CheckConstraint("laterality IS NULL OR laterality IN ('L', 'R')", name="laterality"),
    )

    pixel_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    laterality: Mapped[str | None] = mapped_column(String(1))
    view: Mapped[str | None] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    stated_at: Mapped[datetime]


class Reading(Base):
    __tablename__ = "readings"
    __table_args__ = (
        CheckConstraint(_one_of("label", ("Positive", "Negative")), name="label"),
        CheckConstraint("score >= 0 AND score <= 1", name="score"),
        CheckConstraint(SYNC_STATE_CHECK, name="sync_state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    score: Mapped[float]
    label: Mapped[str] = mapped_column(String(8))
    threshold: Mapped[float]
    model_id: Mapped[str] = mapped_column(String(100))
    model_sha256: Mapped[str] = mapped_column(String(64))
    engine: Mapped[str] = mapped_column(String(16))
    device: Mapped[str] = mapped_column(String(32))
    preprocessing_version: Mapped[str] = mapped_column(String(32))
    app_version: Mapped[str] = mapped_column(String(32))
    heatmap_peak_x: Mapped[float | None]
    heatmap_peak_y: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(index=True)
    sync_state: Mapped[str] = mapped_column(String(10), default="pending")
    # Set when the reader asked the model again about an image already read: the reading
    # asked about. Local only: the server keeps each reading on its own.
    rescore_of: Mapped[str | None] = mapped_column(ForeignKey("readings.id"), index=True)


class Feedback(Base):
    """A signed decision. Never updated in place: an amendment is a new row (``amends_id``)."""

    __tablename__ = "reader_feedback"
    __table_args__ = (
        CheckConstraint("birads IS NULL OR (birads >= 0 AND birads <= 6)", name="birads"),
        CheckConstraint(SYNC_STATE_CHECK, name="sync_state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reading_id: Mapped[str] = mapped_column(ForeignKey("readings.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    agrees_with_model: Mapped[bool]
    birads: Mapped[int | None]
    note: Mapped[str] = mapped_column(Text, default="")
    signed_at: Mapped[datetime]
    # Unique: a decision is amended at most once, so the history of a reading is one chain.
    amends_id: Mapped[str | None] = mapped_column(ForeignKey("reader_feedback.id"), unique=True)
    sync_state: Mapped[str] = mapped_column(String(10), default="pending")


class BreastAssessment(Base):
    """A reader's signed assessment of one breast of one exam; never updated in place.

    Keyed by the exam's id (``core.exams``: a Study Instance UID, an ``exam.json`` id, a name
    or a folder) and the side; an amendment is a new row naming the one it replaces, with its
    reason. It needs no reading: a breast is assessed with or without a model. Local only: the
    server's readings have no place for a breast's assessment yet.
    """

    __tablename__ = "breast_assessments"
    __table_args__ = (
        CheckConstraint(_one_of("side", ("L", "R")), name="side"),
        CheckConstraint(
            _one_of("birads", ("0", "1", "2", "3", "4A", "4B", "4C", "5", "6")), name="birads"
        ),
        CheckConstraint("density IS NULL OR density IN ('a', 'b', 'c', 'd')", name="density"),
        CheckConstraint(_one_of("mode", ("with_model", "blinded", "without_model")), name="mode"),
        CheckConstraint(
            "model_label IS NULL OR model_label IN ('Positive', 'Negative')", name="model_label"
        ),
        Index("ix_breast_assessments_exam", "exam_id", "side", "user_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    exam_id: Mapped[str] = mapped_column(FilePath)
    side: Mapped[str] = mapped_column(String(1))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    birads: Mapped[str] = mapped_column(String(2))
    density: Mapped[str | None] = mapped_column(String(1))
    note: Mapped[str] = mapped_column(Text, default="")
    mode: Mapped[str] = mapped_column(String(16))
    # The model's output for this breast as shown when signing (all NULL when none was shown).
    model_id: Mapped[str | None] = mapped_column(String(100))
    model_score: Mapped[float | None]
    model_label: Mapped[str | None] = mapped_column(String(8))
    model_threshold: Mapped[float | None]
    agrees_with_model: Mapped[bool | None]
    signed_at: Mapped[datetime]
    # Unique: an assessment is amended at most once, so each breast's history is one chain.
    amends_id: Mapped[str | None] = mapped_column(
        ForeignKey("breast_assessments.id"), unique=True
    )
    amend_reason: Mapped[str] = mapped_column(Text, default="")


class FindingMarkRow(Base):
    """A finding marked on one image, in the image's original pixels (see ``FindingMark``)."""

    __tablename__ = "finding_marks"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("breast_assessments.id"), index=True)
    image_path: Mapped[str] = mapped_column(FilePath)
    x: Mapped[float]
    y: Mapped[float]


class Outbox(Base):
    """Changes waiting for the server, written in the same transaction as the change itself."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(_one_of("entity", ("reading", "feedback")), name="entity"),
        Index("ix_outbox_pending", "done_at", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(10))
    entity_id: Mapped[str] = mapped_column(String(36))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None]


class ServerAccount(Base):
    """A local user's account on a central server: profile, offline verifier, pull watermark.

    ``password_verifier`` is an Argon2 hash of the server password, kept after an online login
    so that the radiologist can log in offline for ``offline_login_days`` after
    ``verified_online_at``. Tokens are not here: they live in the OS keyring or a private file.
    """

    __tablename__ = "server_accounts"
    __table_args__ = (UniqueConstraint("server_url", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    server_url: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    server_user_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    profile: Mapped[str] = mapped_column(Text)
    password_verifier: Mapped[str | None] = mapped_column(String(255))
    verified_online_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    pull_watermark: Mapped[datetime | None]


class SyncConflict(Base):
    """The server refused a change because it holds another version: both are kept here.

    ``local_version`` is what this workstation sent, ``server_version`` the server's copy
    (JSON of ``ReadingPublic``) when it told us. Resolved by a radiologist, never by dropping one.
    """

    __tablename__ = "sync_conflicts"
    __table_args__ = (
        CheckConstraint(_one_of("entity", ("reading", "feedback")), name="entity"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), unique=True)
    entity: Mapped[str] = mapped_column(String(10))
    entity_id: Mapped[str] = mapped_column(String(36), index=True)
    reading_id: Mapped[str] = mapped_column(ForeignKey("readings.id"), index=True)
    local_version: Mapped[str] = mapped_column(Text)
    server_version: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    detected_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class SyncStatusRow(Base):
    """The one row of sync bookkeeping that outlives a restart: last outcome and next retry."""

    __tablename__ = "sync_status"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    last_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_kind: Mapped[str | None] = mapped_column(String(10))
    failures: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]


class PacsSend(Base):
    """The audit trail of results that left the workstation: one row per DICOM object per
    attempt (sent to the PACS, refused, or saved to a folder). Only ever appended to."""

    __tablename__ = "pacs_sends"
    __table_args__ = (
        CheckConstraint(_one_of("kind", ("report", "capture")), name="kind"),
        CheckConstraint(_one_of("outcome", ("sent", "failed", "saved")), name="outcome"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    exam_id: Mapped[str] = mapped_column(Text, index=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(64), index=True)
    sop_class_uid: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    destination: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(8))
    signed: Mapped[bool]
    detail: Mapped[str] = mapped_column(Text, default="")
    path: Mapped[str] = mapped_column(FilePath)


class BreastOutcome(Base):
    """What became of one breast of one exam (biopsy malignant or benign, no cancer at
    follow-up), recorded by a radiologist or an admin; the newest per breast counts.
    ``pixel_sha256s`` (a JSON list) are the breast's images, by which the server links the
    outcome to its readings. ``synced_at`` is set once the server holds it."""

    __tablename__ = "breast_outcomes"
    __table_args__ = (
        CheckConstraint(_one_of("side", ("L", "R")), name="side"),
        CheckConstraint(_one_of("outcome", ("malignant", "benign", "no_cancer")),
                        name="outcome"),
        Index("ix_breast_outcomes_exam", "exam_id", "side"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    exam_id: Mapped[str] = mapped_column(FilePath)
    side: Mapped[str] = mapped_column(String(1))
    outcome: Mapped[str] = mapped_column(String(16))
    pixel_sha256s: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    recorded_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")
    synced_at: Mapped[datetime | None]
