"""One exam's results as DICOM objects, written to a folder, then sent to the PACS.

Objects are written first (``<results>/<Study UID>/<version>/``, a ``manifest.json`` listing
them), so nothing is lost when the PACS is down: the same objects, with the same UIDs, are
sent when it is back, and an object the PACS already accepted is never sent twice. A new
version (an amended assessment) gets new objects. Without a PACS the folder is the
destination. Every attempt is appended to the store's audit trail.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from pydicom.uid import generate_uid

from core import __version__
from core.errors import ImageDecodeError, PacsErrorKind
from core.imaging import MammoImage, open_image
from core.pacs.capture import build_capture
from core.pacs.config import PacsConfig
from core.pacs.outcome import ExamOutcome, ViewOutcome
from core.pacs.report import build_report
from core.pacs.send import send_files
from core.store import Store, UserId
from core.store.pacs_log import NewPacsSend

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
HEATMAP_SIDE = 2048

HeatmapSource = Callable[[ViewOutcome, MammoImage], np.ndarray | None]
"""The heatmap (probabilities over the image) of a view, or None when it cannot be had."""


class _Model(Protocol):
    @property
    def info(self) -> object: ...
    def predict(self, pixels: Sequence[np.ndarray]) -> list: ...  # type: ignore[type-arg]


def model_heatmaps(classifier: _Model | None) -> HeatmapSource:
    """Heatmaps computed again by ``classifier`` (the heatmap is not stored with a reading),
    only for readings made by this very model (same SHA-256): another model's map would not
    be the one the score came from."""

    def heatmap(view: ViewOutcome, image: MammoImage) -> np.ndarray | None:
        if classifier is None:
            return None
        if getattr(classifier.info, "model_sha256", None) != view.reading.model_sha256:
            return None
        [prediction] = classifier.predict([image.pixels])
        return prediction.heatmap_on_image(max_side=HEATMAP_SIDE)

    return heatmap


@dataclass(frozen=True)
class ResultObject:
    path: Path
    kind: Literal["report", "capture"]
    sop_instance_uid: str
    sop_class_uid: str


@dataclass(frozen=True)
class DeliveryReport:
    """What became of an exam's results: ``destination`` is the PACS (``AE at host:port``)
    or the folder; ``failed`` pairs an object with the reason it did not go."""

    exam_id: str
    folder: Path
    destination: str
    signed: bool
    delivered: tuple[ResultObject, ...]
    already: tuple[ResultObject, ...]
    failed: tuple[tuple[ResultObject, str], ...]
    failure_kinds: frozenset[PacsErrorKind] = frozenset()

    @property
    def ok(self) -> bool:
        return not self.failed


def write_results(outcome: ExamOutcome, *, root: Path, heatmaps: HeatmapSource,
                  max_file_bytes: int, max_pixels: int, signed: bool
                  ) -> tuple[Path, list[ResultObject]]:
    """The exam's SR and one capture per view in their folder, written once per version
    (the same version asked again gives the objects already written)."""
    folder = root / outcome.study_uid / f"{outcome.key}-{'signed' if signed else 'unsigned'}"
    existing = _read_manifest(folder)
    if existing is not None:
        return folder, existing
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    when = datetime.now(UTC)
    objects: list[ResultObject] = []
    report = build_report(outcome, series_uid=generate_uid(), sop_uid=generate_uid(),
                          device_uid=workstation_uid(), app_version=__version__, signed=signed)
    objects.append(_save(report, partial / "report.dcm", "report"))
    series = generate_uid()
    for number, view in enumerate(outcome.views, 1):
        try:
            image = open_image(view.path, max_file_bytes=max_file_bytes, max_pixels=max_pixels)
        except ImageDecodeError as exc:
            log.warning("No capture of %s: %s", view.path, exc)
            continue
        capture = build_capture(image.pixels, heatmaps(view, image), view=view,
                                outcome=outcome, series_uid=series, sop_uid=generate_uid(),
                                number=number, when=when)
        name = f"capture-{number}-{view.laterality}{view.view}.dcm"
        objects.append(_save(capture, partial / name, "capture"))
    manifest = [{"file": o.path.name, "kind": o.kind, "sop_instance_uid": o.sop_instance_uid,
                 "sop_class_uid": o.sop_class_uid} for o in objects]
    (partial / MANIFEST).write_text(json.dumps({"exam_id": outcome.exam_id,
                                                "objects": manifest}, indent=1))
    if folder.exists():  # written meanwhile by another job: keep that one
        shutil.rmtree(partial, ignore_errors=True)
    else:
        os.replace(partial, folder)
    return folder, _read_manifest(folder) or []


def deliver(outcome: ExamOutcome, folder: Path, objects: Sequence[ResultObject], *,
            config: PacsConfig | None, store: Store, user_id: UserId, signed: bool,
            cancel: threading.Event | None = None) -> DeliveryReport:
    """Send the objects the PACS does not hold yet (or, without a PACS, record them as saved
    in ``folder``); every attempt goes into the audit trail."""
    destination = config.peer if config is not None else str(folder)
    done = store.pacs_log.delivered([o.sop_instance_uid for o in objects],
                                    destination=destination)
    already = tuple(o for o in objects if o.sop_instance_uid in done)
    pending = [o for o in objects if o.sop_instance_uid not in done]
    failed: list[tuple[ResultObject, str]] = []
    kinds: set[PacsErrorKind] = set()
    delivered: list[ResultObject] = []
    if config is None:
        delivered = pending
    elif pending:
        outcomes = send_files(config, [o.path for o in pending], cancel=cancel)
        for obj in pending:
            error = outcomes.get(obj.path)
            if obj.path not in outcomes:
                continue  # cancelled before it was tried: neither sent nor refused
            if error is None:
                delivered.append(obj)
            else:
                failed.append((obj, error.message))
                kinds.add(error.kind)
    entries = [_entry(o, outcome, user_id, destination, signed,
                      "saved" if config is None else "sent", "") for o in delivered]
    entries += [_entry(o, outcome, user_id, destination, signed, "failed", why)
                for o, why in failed]
    if entries:
        store.pacs_log.record(entries)
    return DeliveryReport(exam_id=outcome.exam_id, folder=folder, destination=destination,
                          signed=signed, delivered=tuple(delivered), already=already,
                          failed=tuple(failed), failure_kinds=frozenset(kinds))


def workstation_uid() -> str:
    """A UID naming this workstation as the SR's device observer (the same on every run)."""
    return generate_uid(entropy_srcs=["mammo-workstation", socket.gethostname()])


def _entry(obj: ResultObject, outcome: ExamOutcome, user_id: UserId, destination: str,
           signed: bool, result: Literal["sent", "failed", "saved"], detail: str
           ) -> NewPacsSend:
    return NewPacsSend(user_id=user_id, exam_id=outcome.exam_id,
                       sop_instance_uid=obj.sop_instance_uid, sop_class_uid=obj.sop_class_uid,
                       kind=obj.kind, destination=destination, outcome=result, signed=signed,
                       path=str(obj.path), detail=detail)


def _save(dataset: object, path: Path, kind: Literal["report", "capture"]) -> ResultObject:
    dataset.save_as(path, enforce_file_format=True)  # type: ignore[attr-defined]
    return ResultObject(path=path, kind=kind,
                        sop_instance_uid=str(dataset.SOPInstanceUID),  # type: ignore[attr-defined]
                        sop_class_uid=str(dataset.SOPClassUID))  # type: ignore[attr-defined]


def _read_manifest(folder: Path) -> list[ResultObject] | None:
    try:
        data = json.loads((folder / MANIFEST).read_text("utf-8"))
        return [ResultObject(path=folder / o["file"], kind=o["kind"],
                             sop_instance_uid=o["sop_instance_uid"],
                             sop_class_uid=o["sop_class_uid"]) for o in data["objects"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
