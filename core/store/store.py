"""The local store: users, images, readings, signed feedback and the sync outbox.

One :class:`Store` per program, built by the composition root. Every method opens its own
short session on a shared connection pool and commits before returning, so methods may be
called from worker threads, and whatever a method returned is on disk even if the program
crashes right after.
"""

from __future__ import annotations

import logging
import math
import os
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import StoreError
from core.store import outbox, queries
from core.store.assessments import AssessmentBook
from core.store.backups import keep_daily_backup
from core.store.database import WRITE_OPTION, create_store_engine, store_error
from core.store.image_sides import SideBook
from core.store.migration import migrate
from core.store.outcomes import OutcomeBook
from core.store.pacs_log import PacsLog
from core.store.records import (
    BIRADS_MAX,
    BIRADS_MIN,
    IDENTITY_FIELDS,
    LABELS,
    ROLES,
    FeedbackId,
    FeedbackRecord,
    ImageId,
    ImageMetaLike,
    Label,
    NewReading,
    OutboxEntry,
    ReadingId,
    ReadingRecord,
    Role,
    UserId,
    UserRecord,
)
from core.store.sync_ledger import SyncLedger
from core.store.tables import Feedback, Image, Reading, User

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Store:
    """The workstation's SQLite database. Create it with :meth:`Store.open`."""

    def __init__(self, path: Path, engine: Engine, *, clock: Clock = _utc_now) -> None:
        self._path = path
        self._engine = engine
        self._clock = clock
        self._reads = sessionmaker(engine, expire_on_commit=False)
        self._writes = sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )
        self._hasher = PasswordHasher()
        self._dummy_hash: str | None = None
        self._closed = False
        self._sync = SyncLedger(
            self._session, clock=clock, hasher=self._hasher, dummy_hash=self._get_dummy_hash
        )
        self._assessments = AssessmentBook(self._session, clock=clock)
        self._image_sides = SideBook(self._session, clock=clock)
        self._pacs_log = PacsLog(self._session, clock=clock)
        self._outcomes = OutcomeBook(self._session, clock=clock)

    @classmethod
    def open(cls, path: Path, *, clock: Clock = _utc_now) -> Store:
        """Open (or create) the store at ``path``, backing it up and migrating it if needed.

        ``clock`` gives the time stamped on new rows; tests pass their own.

        Raises:
            StoreError: the folder cannot be created, or the file is locked, damaged, not a
                Mammo database, from a newer app version, or cannot be migrated.
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise store_error(exc, path, opening=True) from exc
        existed = path.is_file() and path.stat().st_size > 0
        engine = create_store_engine(path)
        try:
            backup = migrate(path, engine)
        except BaseException:
            engine.dispose()
            raise
        if backup is not None:
            log.info("Local store %s updated; the previous version is in %s", path, backup)
        elif existed:
            # It passed its integrity check on the way in: a good copy to offer if it is
            # ever found damaged.
            keep_daily_backup(path)
        return cls(path, engine, clock=clock)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def sync(self) -> SyncLedger:
        """The sync client's bookkeeping: server accounts, conflicts, pulled readings."""
        return self._sync

    @property
    def assessments(self) -> AssessmentBook:
        """The readers' signed per-breast assessments (BI-RADS, density, marks, note)."""
        return self._assessments

    @property
    def image_sides(self) -> SideBook:
        """The breast and view readers said pictures show, where the file did not tell."""
        return self._image_sides

    @property
    def pacs_log(self) -> PacsLog:
        """The audit trail of results sent to the PACS or saved to a folder."""
        return self._pacs_log

    @property
    def outcomes(self) -> OutcomeBook:
        """Outcomes of exams per breast (biopsy, follow-up), queued for the server."""
        return self._outcomes

    def close(self) -> None:
        """Close the pooled connections. Safe to call twice; the store is unusable afterwards."""
        self._closed = True
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _session(self, *, write: bool = False) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        if self._closed:
            raise StoreError("The local store has been closed. Restart Mammo Workstation.")
        factory = self._writes if write else self._reads
        try:
            with factory.begin() as session:
                yield session
        except SQLAlchemyError as exc:
            raise store_error(exc, self._path) from exc

    # Users -----------------------------------------------------------------------------

    def ensure_user(
        self, username: str, *, role: Role = "radiologist", display_name: str | None = None
    ) -> UserId:
        """The id of ``username`` (any letter case), created without a password if missing.

        Such accounts attribute readings made from the command line; they cannot log in.
        An existing account is returned unchanged.
        """
        name = _clean_username(username)
        _check_role(role)
        with self._session(write=True) as session:
            user = queries.find_user(session, name)
            if user is None:
                user = User(
                    username=name,
                    display_name=(display_name or name).strip() or name,
                    password_hash=None,
                    role=role,
                    created_at=self._clock(),
                )
                session.add(user)
                session.flush()
            return UserId(user.id)

    def create_local_account(
        self,
        username: str,
        password: str,
        *,
        role: Role = "radiologist",
        display_name: str | None = None,
    ) -> UserId:
        """Create an account that can log in on this workstation (password hashed with Argon2).

        Raises:
            StoreError: the username is taken (in any letter case) or the password is empty.
        """
        name = _clean_username(username)
        _check_role(role)
        if not password:
            raise StoreError("Choose a password; it cannot be empty.")
        password_hash = self._hasher.hash(password)  # slow on purpose: outside the transaction
        with self._session(write=True) as session:
            if queries.find_user(session, name) is not None:
                raise StoreError(f"An account named '{name}' already exists; choose another name.")
            user = User(
                username=name,
                display_name=(display_name or name).strip() or name,
                password_hash=password_hash,
                role=role,
                created_at=self._clock(),
            )
            session.add(user)
            session.flush()
            return UserId(user.id)

    def verify_local_password(self, username: str, password: str) -> UserRecord | None:
        """The account if ``password`` is right, else None (unknown user and wrong password alike).

        An unknown user still costs one Argon2 verification, so timing does not reveal which
        usernames exist. A hash made with outdated parameters is replaced on success.
        """
        with self._session() as session:
            user = queries.find_user(session, username.strip())
            record = None if user is None else queries.to_user_record(user)
            stored = None if user is None else user.password_hash
        if record is None or stored is None:
            self._verify(self._get_dummy_hash(), password)
            return None
        if not self._verify(stored, password):
            return None
        if self._hasher.check_needs_rehash(stored):
            fresh = self._hasher.hash(password)
            with self._session(write=True) as session:
                session.execute(
                    update(User)
                    .where(User.id == record.id, User.password_hash == stored)
                    .values(password_hash=fresh)
                )
        return record

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except VerifyMismatchError:
            return False
        except (VerificationError, InvalidHashError) as exc:
            log.warning("A stored password hash could not be checked: %s", exc)
            return False

    def _get_dummy_hash(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(os.urandom(16).hex())
        return self._dummy_hash

    def has_accounts(self) -> bool:
        """Whether any account can log in (has a password); False means first-run setup."""
        with self._session() as session:
            found = session.scalar(select(User.id).where(User.password_hash.is_not(None)).limit(1))
            return found is not None

    def get_user(self, user_id: UserId) -> UserRecord | None:
        """The user with ``user_id``, or None."""
        with self._session() as session:
            user = session.get(User, user_id)
            return None if user is None else queries.to_user_record(user)

    # Images and readings -----------------------------------------------------------------

    def add_image(self, meta: ImageMetaLike) -> ImageId:
        """Record an image; the same file with the same pixels returns the existing id."""
        source_path = os.fspath(meta.source_path)
        with self._session(write=True) as session:
            existing = session.scalar(
                select(Image.id).where(
                    Image.source_path == source_path, Image.pixel_sha256 == meta.pixel_sha256
                )
            )
            if existing is not None:
                return ImageId(existing)
            image = Image(
                source_path=source_path,
                pixel_sha256=meta.pixel_sha256,
                width=meta.width,
                height=meta.height,
                bit_depth=meta.bit_depth,
                file_format=meta.file_format,
                laterality=meta.laterality,
                view_position=meta.view_position,
                photometric=meta.photometric,
                sop_instance_uid=meta.sop_instance_uid,
                created_at=self._clock(),
                # Optional on ImageMetaLike: only a DICOM file's metadata says whose exam it is.
                **{name: getattr(meta, name, None) for name in IDENTITY_FIELDS},
            )
            session.add(image)
            session.flush()
            return ImageId(image.id)

    def add_reading(self, new: NewReading) -> ReadingRecord:
        """Record a model result and queue it for the server, in one committed transaction.

        Raises:
            StoreError: unknown image or user, a score or threshold outside 0..1, an unknown
                label, or an id that is already stored.
        """
        return self.add_readings([new])[0]

    def add_readings(self, news: Sequence[NewReading]) -> list[ReadingRecord]:
        """Record many model results and queue them, all in one transaction (all or none).

        Raises:
            StoreError: as :meth:`add_reading`, for any of them; then none is saved.
        """
        for new in news:
            _check_reading(new)
        records = []
        with self._session(write=True) as session:
            for new in news:
                image = session.get(Image, new.image_id)
                user = session.get(User, new.user_id)
                if image is None or user is None:
                    raise StoreError(
                        "The reading names an image or a user that is not in the local store; "
                        "it was not saved. Open the image again."
                    )
                if new.rescore_of is not None and session.get(Reading, new.rescore_of) is None:
                    raise StoreError(
                        "The re-score names an earlier reading that is not in the local store; "
                        "it was not saved."
                    )
                reading = Reading(
                    id=new.id or str(uuid.uuid4()),
                    image_id=image.id,
                    user_id=user.id,
                    score=float(new.score),
                    label=new.label,
                    threshold=float(new.threshold),
                    model_id=new.model_id,
                    model_sha256=new.model_sha256,
                    engine=new.engine,
                    device=new.device,
                    preprocessing_version=new.preprocessing_version,
                    app_version=new.app_version,
                    heatmap_peak_x=new.heatmap_peak_x,
                    heatmap_peak_y=new.heatmap_peak_y,
                    created_at=self._clock(),
                    sync_state="pending",
                    rescore_of=new.rescore_of,
                )
                session.add(reading)
                queries.enqueue_reading(session, reading, image, user)
                records.append(
                    queries.to_reading_record(reading, image, user.username, None)
                )
            _flush_or_refuse(session, "This reading is already stored.")
        return records

    def get_reading(self, reading_id: ReadingId) -> ReadingRecord | None:
        """One reading with its latest feedback, or None."""
        with self._session() as session:
            row = session.execute(queries.reading_select(Reading.id == reading_id)).first()
            return None if row is None else queries.to_reading_record(*row)

    def latest_readings_of(
        self, pixel_sha256s: Collection[str], *, user_id: UserId
    ) -> dict[str, ReadingRecord]:
        """This reader's newest reading of each picture, by pixel hash; pictures never read by
        them are left out.

        The pixel hash identifies the picture whatever its file name or folder, so an image
        imported again (or a copy of it) is recognised as already read.
        """
        wanted = set(pixel_sha256s)
        if not wanted:
            return {}
        found: dict[str, ReadingRecord] = {}
        statement = queries.reading_select(
            Image.pixel_sha256.in_(wanted), Reading.user_id == user_id
        )
        with self._session() as session:
            for row in session.execute(statement):  # newest first: keep the first of each
                record = queries.to_reading_record(*row)
                found.setdefault(record.pixel_sha256, record)
        return found

    def list_readings(
        self,
        *,
        limit: int | None = None,
        user_id: UserId | None = None,
        label: Label | None = None,
        since: datetime | None = None,
        text: str | None = None,
    ) -> list[ReadingRecord]:
        """Readings newest first, optionally filtered.

        Parameters:
            limit: at most this many.
            user_id: only this reader's readings.
            label: only ``"Positive"`` or only ``"Negative"``.
            since: only readings made at or after this (timezone-aware) time.
            text: case-insensitive substring of the file path, SOP Instance UID, patient ID
                or name, accession number, username or display name.
        """
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        conditions = queries.reading_filters(user_id=user_id, label=label, since=since, text=text)
        statement = queries.reading_select(*conditions)
        if limit is not None:
            statement = statement.limit(max(limit, 0))
        with self._session() as session:
            return [queries.to_reading_record(*row) for row in session.execute(statement)]

    def count_readings(self) -> int:
        """How many readings are stored."""
        with self._session() as session:
            return session.scalar(select(func.count()).select_from(Reading)) or 0

    # Feedback --------------------------------------------------------------------------

    def add_feedback(
        self,
        *,
        reading_id: ReadingId,
        user_id: UserId,
        agrees_with_model: bool,
        birads: int | None,
        note: str = "",
        amends_id: FeedbackId | None = None,
    ) -> FeedbackRecord:
        """Sign a radiologist's decision on a reading now, and queue it for the server.

        Signed feedback is never changed: to correct one, sign a new one with ``amends_id``
        naming the latest decision on the same reading; the old one stays in the history.

        Raises:
            StoreError: BI-RADS outside 0..6, unknown reading or user, or ``amends_id`` not
                the latest decision on this reading.
        """
        if birads is not None and (
            isinstance(birads, bool)
            or not isinstance(birads, int)
            or not BIRADS_MIN <= birads <= BIRADS_MAX
        ):
            raise StoreError(f"BI-RADS must be a category from {BIRADS_MIN} to {BIRADS_MAX}.")
        with self._session(write=True) as session:
            reading = session.get(Reading, reading_id)
            user = session.get(User, user_id)
            if reading is None or user is None:
                raise StoreError(
                    "The decision names a reading or a user that is not in the local store; "
                    "it was not saved."
                )
            if amends_id is not None:
                _check_amendable(session, reading_id=reading.id, amends_id=amends_id)
            feedback = Feedback(
                id=str(uuid.uuid4()),
                reading_id=reading.id,
                user_id=user.id,
                agrees_with_model=bool(agrees_with_model),
                birads=birads,
                note=note or "",
                signed_at=self._clock(),
                amends_id=amends_id,
                sync_state="pending",
            )
            session.add(feedback)
            queries.enqueue_feedback(session, feedback, user)
            _flush_or_refuse(
                session, "That decision was amended meanwhile; amend the latest decision."
            )
            return queries.to_feedback_record(feedback, user.username)

    def feedback_history(self, reading_id: ReadingId) -> list[FeedbackRecord]:
        """Every decision signed on a reading, oldest first, amended ones included."""
        with self._session() as session:
            rows = session.execute(queries.feedback_select(Feedback.reading_id == reading_id))
            return [queries.to_feedback_record(*row) for row in rows]

    # Outbox ------------------------------------------------------------------------------

    def pending_outbox(self, limit: int) -> list[OutboxEntry]:
        """Up to ``limit`` changes due to be sent to the server, oldest first."""
        with self._session() as session:
            return outbox.pending(session, limit=limit, now=self._clock())

    def mark_outbox_done(self, ids: Sequence[int]) -> None:
        """The server accepted these entries; their readings and decisions become synced."""
        with self._session(write=True) as session:
            outbox.mark_done(session, ids, now=self._clock())

    def mark_outbox_failed(
        self, ids: Sequence[int], *, error: str, next_attempt_at: datetime
    ) -> None:
        """Sending these entries failed; record ``error`` and retry at ``next_attempt_at``."""
        with self._session(write=True) as session:
            outbox.mark_failed(session, ids, error=error, next_attempt_at=next_attempt_at)

    def count_pending_outbox(self) -> int:
        """How many changes have not reached the server yet (waiting to retry included)."""
        with self._session() as session:
            return outbox.count_pending(session)


def _clean_username(username: str) -> str:
    name = username.strip()
    if not name:
        raise StoreError("Enter a username.")
    if len(name) > 150:
        raise StoreError("A username can have at most 150 characters.")
    return name


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise StoreError(f"Unknown role '{role}'; use one of: {', '.join(ROLES)}.")


def _check_reading(new: NewReading) -> None:
    if new.label not in LABELS:
        raise StoreError(f"Unknown label '{new.label}'; the reading was not saved.")
    for name, value in (("score", new.score), ("threshold", new.threshold)):
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise StoreError(f"The model gave an invalid {name} ({value}); it was not saved.")


def _check_amendable(session: Session, *, reading_id: str, amends_id: str) -> None:
    amended = session.get(Feedback, amends_id)
    if amended is None or amended.reading_id != reading_id:
        raise StoreError("The decision to amend belongs to another reading; nothing was saved.")
    already = session.scalar(select(Feedback.id).where(Feedback.amends_id == amends_id))
    if already is not None:
        raise StoreError("That decision was already amended; amend the latest decision instead.")


def _flush_or_refuse(session: Session, message: str) -> None:
    """Flush now so that a uniqueness clash reads as ``message`` rather than a generic error."""
    try:
        session.flush()
    except IntegrityError as exc:
        if "UNIQUE" in str(exc.orig):
            raise StoreError(message) from exc
        raise
