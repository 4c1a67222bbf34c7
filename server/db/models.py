"""The server's tables. These are storage classes, never wire schemas (see core.contracts)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Timestamp = DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('radiologist', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    disabled_at: Mapped[datetime | None] = mapped_column(Timestamp)


class RefreshToken(Base):
    """One refresh token of a login's family; only its SHA-256 is stored."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    used_at: Mapped[datetime | None] = mapped_column(Timestamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)


class RevokedAccessToken(Base):
    """Access tokens ended early by logout, kept until they would have expired anyway."""

    __tablename__ = "revoked_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(Timestamp, index=True)


class LoginFailure(Base):
    """Failed logins, shared by every app process so that throttling holds across them."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_username_at", "username", "at"),
        Index("ix_login_failures_client_addr_at", "client_addr", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    client_addr: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(Timestamp)


class Image(Base):
    """An image's digest and metadata; the server never stores pixels."""

    __tablename__ = "images"
    __table_args__ = (
        UniqueConstraint(
            "pixel_sha256",
            "width",
            "height",
            "laterality",
            "view_position",
            "sop_instance_uid",
            "study_instance_uid",
            name="uq_images_identity",
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    pixel_sha256: Mapped[str] = mapped_column(String(64), index=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    laterality: Mapped[str | None] = mapped_column(String(1))
    view_position: Mapped[str | None] = mapped_column(String(16))
    sop_instance_uid: Mapped[str | None] = mapped_column(String(64))
    study_instance_uid: Mapped[str | None] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(Timestamp)


class Reading(Base):
    __tablename__ = "readings"
    __table_args__ = (
        CheckConstraint("birads BETWEEN 0 AND 6", name="birads"),
        Index("ix_readings_created_at_id", "created_at", "id"),
        Index("ix_readings_user_created_at_id", "user_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(128))
    threshold: Mapped[float] = mapped_column(Float)
    model_id: Mapped[str] = mapped_column(String(128), index=True)
    model_sha256: Mapped[str] = mapped_column(String(64))
    engine: Mapped[str] = mapped_column(String(128))
    device: Mapped[str] = mapped_column(String(128))
    preprocessing_version: Mapped[str] = mapped_column(String(128))
    app_version: Mapped[str] = mapped_column(String(128))
    heatmap_peak: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    agrees_with_model: Mapped[bool | None]
    birads: Mapped[int | None] = mapped_column(SmallInteger)
    note: Mapped[str | None] = mapped_column(Text)
    signed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    amends_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("readings.id"), index=True
    )
    received_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    image: Mapped[Image] = relationship(lazy="joined", innerjoin=True)


class AuditEvent(Base):
    """Append-only: a trigger in the migration refuses UPDATE, DELETE and TRUNCATE."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_username: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32), index=True)
    target: Mapped[str | None] = mapped_column(Text)
    client_addr: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class ModelVersion(Base):
    """A signed model version; its files live in the content-addressed model store
    (``model_store_dir``), the manifest among them under its own hash."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[str] = mapped_column(String(128), index=True)
    manifest_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    preprocessing_version: Mapped[str] = mapped_column(String(128))
    manifest: Mapped[dict[str, Any]] = mapped_column(JSONB)
    public_key: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    derived_from_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    uploaded_at: Mapped[datetime] = mapped_column(Timestamp)
    uploaded_by: Mapped[str] = mapped_column(String(64))


class ModelApproval(Base):
    """Each approval, in order; the newest names the version every workstation uses, so a
    rollback is the approval of an earlier version and the history stays."""

    __tablename__ = "model_approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    approved_at: Mapped[datetime] = mapped_column(Timestamp)
    approved_by: Mapped[str] = mapped_column(String(64))

    version: Mapped[ModelVersion] = relationship(lazy="joined", innerjoin=True)


class Outcome(Base):
    """What became of one breast of one exam, as a radiologist or admin recorded it; the
    newest per breast counts. ``pixel_sha256s`` link it to the readings of its images."""

    __tablename__ = "outcomes"
    __table_args__ = (
        CheckConstraint("outcome IN ('malignant', 'benign', 'no_cancer')", name="outcome"),
        CheckConstraint("breast IN ('L', 'R')", name="breast"),
        Index("ix_outcomes_exam_key_breast", "exam_key", "breast"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    exam_key: Mapped[str] = mapped_column(String(128))
    breast: Mapped[str] = mapped_column(String(1))
    outcome: Mapped[str] = mapped_column(String(16))
    pixel_sha256s: Mapped[list[str]] = mapped_column(JSONB)
    recorded_at: Mapped[datetime] = mapped_column(Timestamp)
    note: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(Timestamp)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
