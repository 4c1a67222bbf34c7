"""Merge readings pulled from the server into the local history (private to ``core.store``).

The server keeps a reading and its reader's decision in one row, and a correction as a new
reading whose ``amends_id`` names the one it corrects. Locally a reading and its decisions are
separate rows. A pulled reading becomes a reading row plus, when signed, a decision whose id
is derived from the reading's (so pulling again never duplicates it); a pulled amendment
becomes a decision on the reading it corrects, amending the decision it replaces.
Everything merged is ``synced`` and never queued.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.queries import root_decisions
from core.store.records import MergeResult, RemoteReading, UserId
from core.store.tables import Feedback, Image, Reading

log = logging.getLogger(__name__)

REMOTE_SOURCE_PREFIX = "server:"
"""``source_path`` of an image known only from the server (no file on this workstation)."""

_DECISION_NAMESPACE = uuid.UUID("6f7c3c56-1c1e-4d55-9a2c-7f0d1f0b9e11")


def decision_id_for(reading_id: str) -> str:
    """The local id of the signature that came with a pulled reading."""
    return str(uuid.uuid5(_DECISION_NAMESPACE, f"decision:{reading_id}"))


def merge(
    session: Session,
    items: list[RemoteReading],
    *,
    user_id: UserId,
    now: datetime,
    standalone: bool,
) -> MergeResult:
    """See :meth:`core.store.sync_ledger.SyncLedger.merge_remote`. The caller commits."""
    wanted = {i.id for i in items} | {i.amends_id for i in items if i.amends_id}
    known_readings = set(session.scalars(select(Reading.id).where(Reading.id.in_(wanted))))
    known_decisions = {
        f.id: f.reading_id for f in session.scalars(select(Feedback).where(Feedback.id.in_(wanted)))
    }
    roots = {r: d.id for r, d in root_decisions(session, known_readings).items()}
    added_readings = added_decisions = 0

    def add_reading(item: RemoteReading) -> None:
        nonlocal added_readings, added_decisions
        session.add(_reading_row(item, image_id=_image_id(session, item, now=now), user_id=user_id))
        session.flush()  # no ORM relationship orders the inserts: the reading goes first
        known_readings.add(item.id)
        added_readings += 1
        if item.decision is not None:
            decision_id = decision_id_for(item.id)
            session.add(_decision_row(item, decision_id, reading_id=item.id, user_id=user_id))
            roots[item.id] = decision_id
            known_decisions[decision_id] = item.id
            added_decisions += 1
        session.flush()

    amendments: list[RemoteReading] = []
    for item in items:
        if item.id in known_decisions:
            continue  # a decision of ours, already here
        if item.id in known_readings:
            if item.decision is not None and item.id not in roots:
                # Signed elsewhere after this workstation got it unsigned.
                decision_id = decision_id_for(item.id)
                session.add(_decision_row(item, decision_id, reading_id=item.id, user_id=user_id))
                roots[item.id] = decision_id
                known_decisions[decision_id] = item.id
                added_decisions += 1
                session.flush()
            continue
        if item.amends_id is None or item.decision is None:
            add_reading(item)
        else:
            amendments.append(item)

    # Amendments may arrive before what they amend (same created_at, any order), so settle
    # them in rounds until no round makes progress.
    amendments.sort(key=lambda i: i.decision.signed_at if i.decision else now)
    while amendments:
        left: list[RemoteReading] = []
        for item in amendments:
            target = _target(item.amends_id or "", known_decisions, known_readings, roots)
            if target is None:
                left.append(item)
                continue
            reading_id, amended = target
            taken = amended is not None and session.scalar(
                select(Feedback.id).where(Feedback.amends_id == amended)
            )
            if taken:
                # Already amended here by another decision: keep both, neither amends the other.
                log.warning("Pulled amendment %s competes with local %s", item.id, taken)
                amended = None
            session.add(
                _decision_row(item, item.id, reading_id=reading_id, user_id=user_id, amends=amended)
            )
            session.flush()
            known_decisions[item.id] = reading_id
            roots.setdefault(reading_id, item.id)
            added_decisions += 1
        if len(left) == len(amendments):
            break
        amendments = left
    if standalone:
        for item in amendments:
            add_reading(item)
        amendments = []
    return MergeResult(
        readings_added=added_readings,
        decisions_added=added_decisions,
        unresolved=tuple(amendments),
    )


def _target(
    amends_id: str,
    known_decisions: dict[str, str],
    known_readings: set[str],
    roots: dict[str, str],
) -> tuple[str, str | None] | None:
    """(reading id, decision amended) of what ``amends_id`` names on the server, if here.

    A server id is either a local reading's (amending it amends its signature, if any) or a
    local decision's (a correction that was itself sent as a reading).
    """
    if amends_id in known_decisions:
        return known_decisions[amends_id], amends_id
    if amends_id in known_readings:
        return amends_id, roots.get(amends_id)
    return None


def _image_id(session: Session, item: RemoteReading, *, now: datetime) -> int:
    # Prefer the workstation's own copy of the image, so the history can open the file.
    found = session.scalar(
        select(Image.id)
        .where(
            Image.pixel_sha256 == item.pixel_sha256,
            Image.width == item.width,
            Image.height == item.height,
        )
        .order_by(Image.source_path.startswith(REMOTE_SOURCE_PREFIX), Image.id)
        .limit(1)
    )
    if found is not None:
        return found
    image = Image(
        source_path=f"{REMOTE_SOURCE_PREFIX}{item.pixel_sha256}",
        pixel_sha256=item.pixel_sha256,
        width=item.width,
        height=item.height,
        bit_depth=0,  # unknown: the server never sees pixels
        file_format="remote",
        laterality=item.laterality,
        view_position=item.view_position,
        photometric=None,
        sop_instance_uid=item.sop_instance_uid,
        created_at=now,
    )
    session.add(image)
    session.flush()
    return image.id


def _reading_row(item: RemoteReading, *, image_id: int, user_id: UserId) -> Reading:
    return Reading(
        id=item.id,
        image_id=image_id,
        user_id=user_id,
        score=item.score,
        label=item.label,
        threshold=item.threshold,
        model_id=item.model_id,
        model_sha256=item.model_sha256,
        engine=item.engine,
        device=item.device,
        preprocessing_version=item.preprocessing_version,
        app_version=item.app_version,
        heatmap_peak_x=None,
        heatmap_peak_y=None,
        created_at=item.created_at,
        sync_state="synced",
    )


def _decision_row(
    item: RemoteReading,
    decision_id: str,
    *,
    reading_id: str,
    user_id: UserId,
    amends: str | None = None,
) -> Feedback:
    decision = item.decision
    assert decision is not None
    return Feedback(
        id=decision_id,
        reading_id=reading_id,
        user_id=user_id,
        agrees_with_model=decision.agrees_with_model,
        birads=decision.birads,
        note=decision.note,
        signed_at=decision.signed_at,
        amends_id=amends,
        sync_state="synced",
    )
