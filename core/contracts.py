"""Wire contracts shared by the workstation's sync client and the central server.

Only pydantic models and :data:`CONTRACT_VERSION` live here: the server's tables and the
client's store keep their own classes. Schemas come in families (``ReadingCreate`` what a
client sends, ``ReadingPublic`` what the server returns, ``ReadingsPublic`` a page of them).

Bump :data:`CONTRACT_VERSION` on any change a deployed peer could not read.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
)

CONTRACT_VERSION = "1.0"


def _printable(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and control characters in names or notes only ever
    # come from corrupted input; refuse them at the edge rather than fail deep in the store.
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in value):
        raise ValueError("control characters are not allowed")
    return value


_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _not_a_number(value: object) -> object:
    # Lax pydantic reads 0 or "1.5" as seconds since 1970: a signed_at of 0 would be a reading
    # signed in 1970. A time on the wire is ISO 8601 text.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("a time must be ISO 8601 text (2025-03-01T10:00:00+00:00), not a number")
    return value


def _utc(value: datetime) -> datetime:
    # PostgreSQL keeps offsets within +-15:59 and refuses the rest; Python allows up to 24 h.
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("the time is out of range") from exc


def _not_text(value: object) -> object:
    # Lax pydantic reads "3" as 3 and true as 1; a number on the wire is a JSON number.
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON number")
    return value


# What _printable lets through, as a JSON-schema pattern, so that clients and fuzzers generated
# from the OpenAPI schema know it (the validator keeps its plainer message).
_PRINTABLE = {"pattern": r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"}

ShortText = Annotated[
    str,
    Field(min_length=1, max_length=128, json_schema_extra=_PRINTABLE),
    AfterValidator(_printable),
]
LongText = Annotated[
    str, Field(max_length=4000, json_schema_extra=_PRINTABLE), AfterValidator(_printable)
]
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
# The numbers, flags and times below are never read from text ("0.5", "yes") or from numbers
# (0 as false): a client that sends them wrongly is told so instead of guessed at.
Probability = Annotated[
    float, Field(ge=0.0, le=1.0, allow_inf_nan=False), BeforeValidator(_not_text)
]
Flag = Annotated[bool, Strict()]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(_utc)]
Day = Annotated[date, BeforeValidator(_not_a_number)]
# No space or control character of any kind, spelt out: "\s" differs between the regex
# dialects of pydantic (Rust), Python and JSON-schema clients (U+0085, U+FEFF).
NAME_CHARACTER = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
Username = Annotated[str, Field(pattern=rf"^{NAME_CHARACTER}{{1,64}}$"), AfterValidator(_printable)]
Password = Annotated[
    str,
    Field(min_length=1, max_length=1024, json_schema_extra=_PRINTABLE),
    AfterValidator(_printable),
]
Role = Literal["radiologist", "admin"]


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- errors ---------------------------------------------------------------------------------


class ErrorBody(_Contract):
    """What went wrong: a stable ``code`` for programs, a ``message`` for people."""

    code: str
    message: str
    detail: Any = None


class ErrorPublic(_Contract):
    """The one shape of every failed request: ``{"error": {"code", "message", "detail"}}``."""

    error: ErrorBody


# --- authentication and users ---------------------------------------------------------------


class LoginRequest(_Contract):
    username: Username
    password: Password


class RefreshRequest(_Contract):
    refresh_token: Annotated[str, Field(min_length=1, max_length=256)]


class TokenPair(_Contract):
    """A short-lived access JWT and a single-use refresh token that rotates on every refresh."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a scheme name
    expires_in: int = Field(description="Seconds until the access token expires.")


class UserCreate(_Contract):
    username: Username
    password: Annotated[Password, Field(min_length=12)]
    role: Role = "radiologist"


class UserUpdate(_Contract):
    """Fields an admin may change; omitted fields stay as they are."""

    is_active: Flag | None = None
    role: Role | None = None


class UserPublic(_Contract):
    id: int
    username: str
    role: Role
    is_active: bool
    created_at: AwareDatetime


class UsersPublic(_Contract):
    data: list[UserPublic]


# --- readings -------------------------------------------------------------------------------


class ImageMeta(_Contract):
    """The image a reading is about. The server never receives pixels, only their digest."""

    pixel_sha256: Sha256Hex
    width: Annotated[int, Field(gt=0, le=100_000), BeforeValidator(_not_text)]
    height: Annotated[int, Field(gt=0, le=100_000), BeforeValidator(_not_text)]
    laterality: Literal["L", "R"] | None = None
    view_position: Annotated[ShortText, Field(max_length=16)] | None = None
    sop_instance_uid: Annotated[ShortText, Field(max_length=64)] | None = None
    study_instance_uid: Annotated[ShortText, Field(max_length=64)] | None = None


class ReadingCreate(_Contract):
    """One model reading of one image, with the reader's decision once given.

    ``id`` is generated by the client so that sending the same reading twice is harmless.
    A signed reading never changes; a correction is a new reading whose ``amends_id`` names it.
    """

    id: UUID
    image: ImageMeta
    score: Probability
    label: ShortText
    threshold: Probability
    model_id: ShortText
    model_sha256: Sha256Hex
    engine: ShortText
    device: ShortText
    preprocessing_version: ShortText
    app_version: ShortText
    heatmap_peak: (
        Annotated[float, Field(allow_inf_nan=False), BeforeValidator(_not_text)] | None
    ) = None
    created_at: Timestamp
    agrees_with_model: Flag | None = None
    birads: Annotated[int, Field(ge=0, le=6), BeforeValidator(_not_text)] | None = None
    note: LongText | None = None
    signed_at: Timestamp | None = None
    amends_id: UUID | None = None


class ReadingPublic(ReadingCreate):
    """A stored reading: what was sent, who read it, and when the server received it."""

    reader: str
    received_at: AwareDatetime


class ReadingsPublic(_Contract):
    """One page of readings, oldest first; pass ``next_cursor`` back to get the next page."""

    data: list[ReadingPublic]
    next_cursor: str | None = None


class ReadingBatchCreate(_Contract):
    readings: list[ReadingCreate] = Field(min_length=1, max_length=500)


class ReadingBatchItem(_Contract):
    """Outcome for one reading of a batch; ``stored`` is the server's version on a conflict."""

    id: UUID
    status: Literal["created", "updated", "unchanged", "conflict", "rejected"]
    message: str | None = None
    stored: ReadingPublic | None = None


class ReadingBatchPublic(_Contract):
    results: list[ReadingBatchItem]


# --- statistics, audit, prediction, health --------------------------------------------------


class StatsRow(_Contract):
    """Counts for one group. Rates are ``None`` when there is nothing to divide by."""

    key: str
    readings: int
    positives: int
    positive_rate: float | None
    reviewed: int
    agreements: int
    agreement_rate: float | None


class StatsPublic(_Contract):
    group_by: Literal["day", "user", "model"]
    since: date | None = None
    until: date | None = None
    rows: list[StatsRow]


class AuditEventPublic(_Contract):
    id: int
    at: AwareDatetime
    actor: str | None
    action: str
    target: str | None
    client_addr: str | None
    detail: dict[str, Any] | None


class AuditPublic(_Contract):
    data: list[AuditEventPublic]
    next_cursor: str | None = None


class PredictionPublic(_Contract):
    """What the server-side model says about one uploaded image."""

    score: Probability
    label: str
    threshold: Probability
    model_id: str
    model_sha256: str
    heatmap_peak: float | None = None


class HealthPublic(_Contract):
    status: Literal["ok", "unavailable"]
    contract_version: str = CONTRACT_VERSION
    database: bool | None = None
    migrations_at_head: bool | None = None


# --- model versions -------------------------------------------------------------------------

ED25519_KEY_PATTERN = r"^[A-Za-z0-9+/]{43}=$"  # 32 bytes, standard base64
ED25519_SIGNATURE_PATTERN = r"^[A-Za-z0-9+/]{86}==$"  # 64 bytes, standard base64


class ModelSignature(_Contract):
    """A detached Ed25519 signature of the exact bytes of a model's ``manifest.json``, made
    offline by IT (``mammo-server model sign``) and kept as ``manifest.json.sig`` beside it.
    ``public_key`` names the key; a workstation trusts it only if its settings list it."""

    algorithm: Literal["ed25519"] = "ed25519"
    public_key: str = Field(pattern=ED25519_KEY_PATTERN)
    signature: str = Field(pattern=ED25519_SIGNATURE_PATTERN)


class ModelFilePublic(_Contract):
    """A file of a model version the server holds, fetched by hash from
    ``GET /models/files/{sha256}`` (HTTP Range requests resume a cut-off download)."""

    path: str
    sha256: Sha256Hex
    size: int = Field(ge=0)


class ModelVersionPublic(_Contract):
    """A stored model version. The manifest itself is the file whose hash is
    ``manifest_sha256``; ``files`` are the files it lists that the server holds."""

    id: int
    model_id: str
    manifest_sha256: Sha256Hex
    preprocessing_version: str
    signature: ModelSignature
    files: list[ModelFilePublic]
    size_bytes: int
    uploaded_at: AwareDatetime
    approved_at: AwareDatetime | None = None


class ApprovedModelPublic(_Contract):
    """The version IT approved for every workstation; ``None`` before the first approval."""

    version: ModelVersionPublic | None = None


class ModelReportCreate(_Contract):
    """A workstation's report on a model version, kept in the server's audit log."""

    outcome: Literal["installed", "activated", "refused"]
    reason: Annotated[str, Field(max_length=32, pattern=r"^[a-z_]*$")] | None = None
    message: LongText | None = None


# --- outcomes and reader-model agreement ----------------------------------------------------

OutcomeKind = Literal["malignant", "benign", "no_cancer"]


class OutcomeCreate(_Contract):
    """What became of one breast of one exam: biopsy malignant, biopsy benign, or no cancer
    at follow-up. ``exam_key`` is the exam as the workstation groups it (the DICOM study UID
    when there is one); ``pixel_sha256s`` are the breast's images, by which the server finds
    the readings the outcome settles. The newest outcome of a breast counts."""

    id: UUID
    exam_key: ShortText
    breast: Literal["L", "R"]
    outcome: OutcomeKind
    pixel_sha256s: list[Sha256Hex] = Field(min_length=1, max_length=64)
    recorded_at: Timestamp
    note: LongText | None = None


class OutcomePublic(OutcomeCreate):
    recorded_by: str
    received_at: AwareDatetime


class OutcomesPublic(_Contract):
    data: list[OutcomePublic]


class RatePublic(_Contract):
    """``numerator / denominator`` with its 95 % (Wilson) interval; None when nothing counted."""

    numerator: int
    denominator: int
    value: float | None
    low: float | None
    high: float | None


class KappaPublic(_Contract):
    """Cohen's kappa with its 95 % interval; None when undefined (one class only)."""

    value: float | None
    low: float | None
    high: float | None


class ScreeningPublic(_Contract):
    sensitivity: RatePublic
    specificity: RatePublic
    recall_rate: RatePublic


class AgreementRow(_Contract):
    """One reader (or ``all``) with one model version: cases where both called (a breast,
    or a view where the exam is unknown), their agreement, and where outcomes exist the
    screening figures of the reader alone, the model alone and "reader or model"."""

    reader: str
    model: str
    cases: int
    agreement: RatePublic
    kappa: KappaPublic
    disagreements: int
    with_outcome: int
    reader_alone: ScreeningPublic | None = None
    model_alone: ScreeningPublic | None = None
    reader_or_model: ScreeningPublic | None = None


class DisagreementPublic(_Contract):
    """A case where the reader's recall decision and the model's class differ, for review."""

    reader: str
    model: str
    exam_key: str | None
    breast: str | None
    pixel_sha256s: list[str]
    birads: int
    reader_recall: bool
    model_positive: bool
    score: float
    outcome: OutcomeKind | None = None


class AgreementPublic(_Contract):
    """Reader-model agreement per reader and model version. The reader recalls at BI-RADS
    0, 3, 4 or 5 and not at 1 or 2; the model calls positive at or above its threshold."""

    rows: list[AgreementRow]
    disagreements: list[DisagreementPublic]
