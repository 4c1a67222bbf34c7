"""Typed IDs and the immutable records the store hands out.

Records are plain frozen dataclasses, detached from any database session, so they can cross
threads (a store call runs on a worker, the result is shown by the UI thread).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NewType, Protocol

UserId = NewType("UserId", int)
ImageId = NewType("ImageId", int)
ReadingId = NewType("ReadingId", str)
FeedbackId = NewType("FeedbackId", str)

Role = Literal["radiologist", "admin"]
Label = Literal["Positive", "Negative"]
SyncState = Literal["pending", "synced", "conflict"]
OutboxEntity = Literal["reading", "feedback"]

ROLES: tuple[Role, ...] = ("radiologist", "admin")
LABELS: tuple[Label, ...] = ("Positive", "Negative")
SYNC_STATES: tuple[SyncState, ...] = ("pending", "synced", "conflict")
OUTBOX_ENTITIES: tuple[OutboxEntity, ...] = ("reading", "feedback")
BIRADS_MIN = 0
BIRADS_MAX = 6


class ImageMetaLike(Protocol):
    """What :meth:`Store.add_image` reads from an image's metadata (``core.imaging.ImageMeta``)."""

    @property
    def source_path(self) -> str | os.PathLike[str]: ...
    @property
    def pixel_sha256(self) -> str: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def bit_depth(self) -> int: ...
    @property
    def file_format(self) -> str: ...
    @property
    def laterality(self) -> str | None: ...
    @property
    def view_position(self) -> str | None: ...
    @property
    def photometric(self) -> str | None: ...
    @property
    def sop_instance_uid(self) -> str | None: ...


@dataclass(frozen=True)
class UserRecord:
    """A local user. The password hash never leaves the store."""

    id: UserId
    username: str
    display_name: str
    role: Role
    has_password: bool
    server_user_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class NewReading:
    """One model result to record, with everything needed to reproduce it later.

    ``score`` is the calibrated probability of malignancy, ``label`` the decision at
    ``threshold``. Heatmap peak coordinates are in original image pixels. ``id`` is generated
    (uuid4) when left out; give one only to make a retried write idempotent. ``rescore_of``
    names the earlier reading of the same image when the model was asked again.
    """

    image_id: ImageId
    user_id: UserId
    score: float
    label: Label
    threshold: float
    model_id: str
    model_sha256: str
    engine: str
    device: str
    preprocessing_version: str
    app_version: str
    heatmap_peak_x: float | None = None
    heatmap_peak_y: float | None = None
    id: ReadingId | None = None
    rescore_of: ReadingId | None = None


@dataclass(frozen=True)
class FeedbackSummary:
    """The latest decision a radiologist signed on a reading."""

    id: FeedbackId
    user_id: UserId
    agrees_with_model: bool
    birads: int | None
    note: str
    signed_at: datetime


@dataclass(frozen=True)
class ImageIdentity:
    """What a stored image says about its exam: the side and view its file stated and, for a
    DICOM file, whose study it is (None where the file did not tell). The fields are those
    exam grouping reads (``core.exams.ImageFacts``)."""

    laterality: str | None = None
    view_position: str | None = None
    study_instance_uid: str | None = None
    patient_id: str | None = None
    patient_name: str | None = None
    birth_date: str | None = None
    study_date: str | None = None
    accession_number: str | None = None
    manufacturer: str | None = None


IDENTITY_FIELDS: tuple[str, ...] = (
    "study_instance_uid", "patient_id", "patient_name", "birth_date", "study_date",
    "accession_number", "manufacturer",
)
"""The identity an image keeps beyond :class:`ImageMetaLike`'s fields (optional there)."""


@dataclass(frozen=True)
class ReadingRecord:
    """A stored reading with its image, its reader and the latest signed feedback, if any.

    ``rescore_of`` is the earlier reading of the same image this one re-scored, if any;
    ``identity`` what its image says about the exam it belongs to.
    """

    id: ReadingId
    image_id: ImageId
    user_id: UserId
    score: float
    label: Label
    threshold: float
    model_id: str
    model_sha256: str
    engine: str
    device: str
    preprocessing_version: str
    app_version: str
    heatmap_peak_x: float | None
    heatmap_peak_y: float | None
    created_at: datetime
    sync_state: SyncState
    source_path: str
    pixel_sha256: str
    username: str
    feedback: FeedbackSummary | None
    rescore_of: ReadingId | None = None
    identity: ImageIdentity = ImageIdentity()


@dataclass(frozen=True)
class FeedbackRecord:
    """One signed decision. An amendment names the decision it replaces in ``amends_id``."""

    id: FeedbackId
    reading_id: ReadingId
    user_id: UserId
    username: str
    agrees_with_model: bool
    birads: int | None
    note: str
    signed_at: datetime
    amends_id: FeedbackId | None
    sync_state: SyncState


@dataclass(frozen=True)
class OutboxEntry:
    """A change waiting to be sent to the server; ``payload`` is the decoded JSON object."""

    id: int
    entity: OutboxEntity
    entity_id: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None


# Sync ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerAccountRecord:
    """A local user's account on a central server, as remembered after an online login."""

    id: int
    server_url: str
    user_id: UserId
    username: str
    server_user_id: str
    role: Role
    profile: dict[str, Any]
    has_verifier: bool
    verified_online_at: datetime | None
    last_login_at: datetime | None
    pull_watermark: datetime | None


@dataclass(frozen=True)
class SyncConflictRecord:
    """A change the server refused because it holds another version; both are kept."""

    id: int
    entity: OutboxEntity
    entity_id: str
    reading_id: ReadingId
    local_version: dict[str, Any]
    server_version: dict[str, Any] | None
    message: str
    detected_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class SyncStatusRecord:
    """What the last sync attempts left behind (it survives a restart)."""

    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_kind: str | None = None
    failures: int = 0
    next_attempt_at: datetime | None = None


@dataclass(frozen=True)
class DecisionSnapshot:
    """One signed decision, as the sync client needs it to build what the server stores."""

    id: FeedbackId
    reading_id: ReadingId
    user_id: UserId
    agrees_with_model: bool
    birads: int | None
    note: str
    signed_at: datetime
    amends_id: FeedbackId | None


@dataclass(frozen=True)
class ReadingSnapshot:
    """A reading as the sync client maps it: its outbox payload and its reader's first decision.

    ``root_decision`` is the earliest decision on the reading by the reading's own user that
    amends nothing: on the server it is the signature of the reading itself.
    """

    id: ReadingId
    user_id: UserId
    payload: dict[str, Any]
    root_decision: DecisionSnapshot | None


@dataclass(frozen=True)
class SyncContext:
    """Everything needed to map a batch of outbox entries: their readings and decisions."""

    readings: dict[ReadingId, ReadingSnapshot]
    decisions: dict[FeedbackId, DecisionSnapshot]


@dataclass(frozen=True)
class RemoteDecision:
    agrees_with_model: bool
    birads: int | None
    note: str
    signed_at: datetime


@dataclass(frozen=True)
class RemoteReading:
    """A reading pulled from the server, in the store's terms (no wire schema in the store)."""

    id: str
    amends_id: str | None
    pixel_sha256: str
    width: int
    height: int
    laterality: str | None
    view_position: str | None
    sop_instance_uid: str | None
    score: float
    label: Label
    threshold: float
    model_id: str
    model_sha256: str
    engine: str
    device: str
    preprocessing_version: str
    app_version: str
    created_at: datetime
    decision: RemoteDecision | None


@dataclass(frozen=True)
class MergeResult:
    """What merging pulled readings added; ``unresolved`` amend something not here yet."""

    readings_added: int = 0
    decisions_added: int = 0
    unresolved: tuple[RemoteReading, ...] = ()


# Per-breast assessments ---------------------------------------------------------------------

AssessmentId = NewType("AssessmentId", str)
BreastSide = Literal["L", "R"]
ReadingMode = Literal["with_model", "blinded", "without_model"]
"""How the reader saw the model when signing: its output shown, hidden by the blinded first
read, or not there at all (no model installed, or the reader chose to read without it)."""

BREAST_SIDES: tuple[BreastSide, ...] = ("R", "L")
BIRADS_CATEGORIES: tuple[str, ...] = ("0", "1", "2", "3", "4A", "4B", "4C", "5", "6")
DENSITIES: tuple[str, ...] = ("a", "b", "c", "d")
READING_MODES: tuple[ReadingMode, ...] = ("with_model", "blinded", "without_model")


@dataclass(frozen=True)
class FindingMark:
    """A finding the reader marked on one image of the breast.

    ``x`` and ``y`` are in the image's original pixels, from the top-left corner of the
    picture as the file stores it (not as shown: a right breast hung mirrored is mirrored
    back), so a mark lands on the same tissue in any viewer and at any zoom.
    """

    image_path: str
    x: float
    y: float


@dataclass(frozen=True)
class ModelOpinion:
    """What the model said about the breast, as the reader was shown it when signing."""

    model_id: str
    score: float
    label: Label
    threshold: float


@dataclass(frozen=True)
class NewAssessment:
    """A reader's assessment of one breast of one exam, to sign.

    ``birads`` is one of :data:`BIRADS_CATEGORIES`, ``density`` an ACR letter (a-d) or None.
    ``model`` is the model's output the reader saw (only with ``mode`` ``"with_model"``), and
    ``agrees_with_model`` their verdict on it (None when they saw none). An amendment names
    the latest assessment of the same breast by the same reader and gives its reason.
    """

    exam_id: str
    side: BreastSide
    user_id: UserId
    birads: str
    density: str | None = None
    marks: tuple[FindingMark, ...] = ()
    note: str = ""
    mode: ReadingMode = "without_model"
    model: ModelOpinion | None = None
    agrees_with_model: bool | None = None
    amends_id: AssessmentId | None = None
    amend_reason: str = ""


@dataclass(frozen=True)
class AssessmentRecord:
    """One signed assessment of a breast; never changed (an amendment is a new record)."""

    id: AssessmentId
    exam_id: str
    side: BreastSide
    user_id: UserId
    username: str
    birads: str
    density: str | None
    marks: tuple[FindingMark, ...]
    note: str
    mode: ReadingMode
    model: ModelOpinion | None
    agrees_with_model: bool | None
    signed_at: datetime
    amends_id: AssessmentId | None
    amend_reason: str
