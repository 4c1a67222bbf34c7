"""How local readings and decisions become server readings, and back.

The two sides model a decision differently:

- locally, a reading (the model's result) and the radiologist's signed decisions are separate
  rows; a correction is a new decision whose ``amends_id`` names the decision it replaces;
- on the server, a reading carries its reader's decision (``agrees_with_model``, ``birads``,
  ``note``, ``signed_at``) and is immutable once signed; a correction is a *new reading* with
  the same image and model fields whose ``amends_id`` names the reading it corrects.

The mapping, both ways:

- a local reading is the server reading with the same id. Its decision fields carry the
  reading's *signature*: the earliest decision on it by its own reader that amends nothing;
  unsigned until there is one. A reading sent before it was signed is sent again, signed,
  when the signature syncs (the server takes that as "updated").
- every other decision (an amendment, a second decision, a decision by another user) is a
  server reading with the *decision's* id, the reading's image and model fields, and
  ``amends_id`` = the server id of the decision it amends (the reading's id when that is the
  signature). An amendment of another user's decision is sent without ``amends_id``: the
  server only lets readers amend their own readings.
- the server's ``heatmap_peak`` is a single number; the local heatmap peak is a position
  (x, y), so it is not sent (``None``). Laterality other than ``L``/``R`` is sent as ``None``.

Because the signed content of a reading is derived from the store when it is sent, sending
an entry again after a crash always sends what the server already has ("unchanged").
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from core.contracts import ImageMeta, ReadingCreate, ReadingPublic
from core.store import (
    DecisionSnapshot,
    OutboxEntry,
    ReadingSnapshot,
    RemoteDecision,
    RemoteReading,
    SyncContext,
)
from core.store.records import LABELS

log = logging.getLogger(__name__)


class MappingError(ValueError):
    """A local entry cannot become a valid server reading; ``str()`` says why."""


def to_reading_create(entry: OutboxEntry, context: SyncContext) -> ReadingCreate:
    """The server reading that ``entry`` asks the server to hold.

    Raises:
        MappingError: the entry names a reading that is gone, or a field the server would
            refuse (an empty model name, an over-long text...).
    """
    if entry.entity == "reading":
        snapshot = context.readings.get(entry.entity_id)
        if snapshot is None:
            raise MappingError("its reading is no longer in the local store")
        return _build(snapshot.payload, snapshot.root_decision, reading_id=snapshot.id)
    reading_id = entry.payload.get("reading_id")
    snapshot = context.readings.get(reading_id) if reading_id else None
    decision = context.decisions.get(entry.entity_id)
    if snapshot is None or decision is None:
        raise MappingError("its reading or decision is no longer in the local store")
    if _is_signature(decision, snapshot):
        return _build(snapshot.payload, decision, reading_id=snapshot.id)
    amends = None
    if decision.amends_id is not None:
        parent = context.decisions.get(decision.amends_id)
        if parent is not None and parent.user_id == decision.user_id:
            amends = snapshot.id if _is_signature(parent, snapshot) else parent.id
    return _build(snapshot.payload, decision, reading_id=decision.id, amends_id=amends)


def reading_id_of(entry: OutboxEntry) -> str:
    """The local reading an entry belongs to."""
    return entry.entity_id if entry.entity == "reading" else str(entry.payload["reading_id"])


def to_remote(public: ReadingPublic) -> RemoteReading | None:
    """A pulled reading in the store's terms; None when the local store cannot hold it (a
    label other than Positive/Negative, from another kind of client)."""
    if public.label not in LABELS:
        log.warning("Pulled reading %s has label %r; not kept locally", public.id, public.label)
        return None
    decision = None
    if public.signed_at is not None and public.agrees_with_model is not None:
        decision = RemoteDecision(
            agrees_with_model=public.agrees_with_model,
            birads=public.birads,
            note=public.note or "",
            signed_at=public.signed_at,
        )
    image = public.image
    return RemoteReading(
        id=str(public.id),
        amends_id=None if public.amends_id is None else str(public.amends_id),
        pixel_sha256=image.pixel_sha256,
        width=image.width,
        height=image.height,
        laterality=image.laterality,
        view_position=image.view_position,
        sop_instance_uid=image.sop_instance_uid,
        score=public.score,
        label=public.label,  # type: ignore[arg-type]  # checked against LABELS above
        threshold=public.threshold,
        model_id=public.model_id,
        model_sha256=public.model_sha256,
        engine=public.engine,
        device=public.device,
        preprocessing_version=public.preprocessing_version,
        app_version=public.app_version,
        created_at=public.created_at,
        decision=decision,
    )


def _is_signature(decision: DecisionSnapshot, snapshot: ReadingSnapshot) -> bool:
    return snapshot.root_decision is not None and snapshot.root_decision.id == decision.id


def _build(
    payload: dict[str, Any],
    decision: DecisionSnapshot | None,
    *,
    reading_id: str,
    amends_id: str | None = None,
) -> ReadingCreate:
    image = payload["image"]
    try:
        return ReadingCreate(
            id=reading_id,
            image=ImageMeta(
                pixel_sha256=image["pixel_sha256"],
                width=image["width"],
                height=image["height"],
                laterality=_laterality(image.get("laterality")),
                view_position=image.get("view_position") or None,
                sop_instance_uid=image.get("sop_instance_uid") or None,
                study_instance_uid=None,
            ),
            score=payload["score"],
            label=payload["label"],
            threshold=payload["threshold"],
            model_id=payload["model_id"],
            model_sha256=payload["model_sha256"],
            engine=payload["engine"],
            device=payload["device"],
            preprocessing_version=payload["preprocessing_version"],
            app_version=payload["app_version"],
            heatmap_peak=None,
            created_at=payload["created_at"],
            agrees_with_model=None if decision is None else decision.agrees_with_model,
            birads=None if decision is None else decision.birads,
            note=None if decision is None else decision.note,
            signed_at=None if decision is None else decision.signed_at,
            amends_id=amends_id,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise MappingError(f"the server would refuse it ({problems})") from exc
    except KeyError as exc:
        raise MappingError(f"its queued copy lacks {exc}") from exc


def _laterality(value: Any) -> str | None:
    text = str(value or "").strip().upper()
    return text if text in ("L", "R") else None
