"""What an exam's one-page report holds, gathered without Qt (the app lays it out as a PDF).

The report states whose exam it is, each breast's signed assessment and density, the model's
per-breast scores with its threshold and id (or why there are none: no model, read without
it, or still hidden by the blinded first read), thumbnails hung as on screen with the finding
marks and the heatmap, the reader's signature and the research-use statement.

Thumbnails are hung as the viewer hangs the standard views (:func:`core.exams.hang`): right
breast left, left breast right, each mirrored when needed so that the chest walls meet in the
middle; marks are moved with their picture, so a mark sits on the tissue it was placed on.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from PIL import Image

from core.errors import ImageDecodeError
from core.exams import POSITIONS, Exam, ExamImage, ExamResult, chest_wall_for, hang
from core.imaging import open_image
from core.inference.preprocess import needs_inversion
from core.store import BREAST_SIDES, AssessmentRecord, BreastSide

RESEARCH_STATEMENT = "Research use only. Not a certified medical device; not for diagnosis."
THUMBNAIL_SIDE = 480
HANGING = POSITIONS
MAX_OTHER_VIEWS = 4


@dataclass(frozen=True)
class ReportModel:
    """The model's output as the report states it: its id, threshold and per-breast scores."""

    model_id: str
    threshold: float
    result: ExamResult


@dataclass(frozen=True)
class Thumbnail:
    """One view as printed: ``pixels`` (h, w) uint8 as shown (polarity, mirroring), the
    ``heatmap`` (h, w) probabilities laid on it or None, ``marks`` in its pixels; ``error``
    says why a view has no picture (it could not be opened)."""

    path: str
    side: str
    view: str
    pixels: np.ndarray | None
    heatmap: np.ndarray | None
    marks: tuple[tuple[float, float], ...]
    mirrored: bool
    error: str | None = None


@dataclass(frozen=True)
class BreastReport:
    """One breast: the reader's current assessment (None: not assessed), the one it amended
    first when it was a blinded first read, and the model's score and class (None: none
    shown)."""

    side: BreastSide
    assessment: AssessmentRecord | None
    first_read: AssessmentRecord | None
    score: float | None
    label: str | None


@dataclass(frozen=True)
class ExamReport:
    exam: Exam
    breasts: tuple[BreastReport, ...]
    hanging: tuple[Thumbnail | None, ...]  # the four cells of :data:`HANGING`; None: missing
    others: tuple[Thumbnail, ...]  # views outside the four, at most MAX_OTHER_VIEWS
    more_views: int  # views left out beyond those
    model: ReportModel | None
    model_status: str  # why there is no model output, or ""
    reader: str
    signed_at: datetime | None
    generated_at: datetime
    research_statement: str = RESEARCH_STATEMENT


@dataclass(frozen=True)
class ReportLimits:
    max_file_bytes: int
    max_pixels: int


def gather_report(exam: Exam, *, history: list[AssessmentRecord], reader: str,
                  model: ReportModel | None, model_status: str,
                  heatmaps: Mapping[str, np.ndarray], limits: ReportLimits,
                  generated_at: datetime, cancel: threading.Event | None = None
                  ) -> ExamReport:
    """Open the exam's views as thumbnails and put the report together.

    Parameters:
        history: the reader's assessments of the exam, oldest first
            (:meth:`core.store.AssessmentBook.history`).
        model: the model's output to state, or None when none is shown; ``model_status``
            then says why ("Read without model", ...).
        heatmaps: per image path, the heatmap as probabilities over the whole image (any
            size); left out where there is none. Not drawn when ``model`` is None.
        cancel: stops opening further views (what comes back is then incomplete; the
            caller drops it).
    """
    current: dict[str, AssessmentRecord] = {}
    for record in history:
        current[record.side] = record
    marks: dict[str, list[tuple[float, float]]] = {}
    for record in current.values():
        for mark in record.marks:
            marks.setdefault(mark.image_path, []).append((mark.x, mark.y))
    shown_heatmaps = heatmaps if model is not None else {}

    def thumb(image: ExamImage) -> Thumbnail:
        return _thumbnail(image, marks=marks.get(image.path, []),
                          heatmap=shown_heatmaps.get(image.path), limits=limits)

    cells = hang(exam)
    hanging: list[Thumbnail | None] = []
    for position in POSITIONS:
        if cancel is not None and cancel.is_set():
            break
        image = cells.cells[position]
        hanging.append(None if image is None else thumb(image))
    others = []
    for image in cells.others[:MAX_OTHER_VIEWS]:
        if cancel is not None and cancel.is_set():
            break
        others.append(thumb(image))
    breasts = tuple(_breast(side, history, current.get(side), model) for side in BREAST_SIDES)
    signed = [r.signed_at for r in current.values()]
    return ExamReport(exam=exam, breasts=breasts, hanging=tuple(hanging), others=tuple(others),
                      more_views=max(0, len(cells.others) - MAX_OTHER_VIEWS), model=model,
                      model_status=model_status, reader=reader,
                      signed_at=max(signed) if signed else None, generated_at=generated_at)


def _breast(side: BreastSide, history: list[AssessmentRecord],
            current: AssessmentRecord | None, model: ReportModel | None) -> BreastReport:
    first = next((r for r in history if r.side == side and r.amends_id is None), None)
    blinded_first = first if (first is not None and first.mode == "blinded"
                              and current is not None and current.id != first.id) else None
    breast = model.result.breasts.get(side) if model is not None else None
    return BreastReport(side=side, assessment=current, first_read=blinded_first,
                        score=None if breast is None else breast.score,
                        label=None if breast is None else breast.label)


def _thumbnail(image: ExamImage, *, marks: list[tuple[float, float]],
               heatmap: np.ndarray | None, limits: ReportLimits) -> Thumbnail:
    try:
        opened = open_image(image.path, max_file_bytes=limits.max_file_bytes,
                            max_pixels=limits.max_pixels)
    except ImageDecodeError as exc:
        return Thumbnail(path=image.path, side=image.laterality, view=image.view, pixels=None,
                         heatmap=None, marks=(), mirrored=False, error=exc.reason)
    pixels = opened.pixels
    if needs_inversion(pixels):  # shown as the model reads it, as the viewer shows it
        pixels = 1.0 - pixels
    height, width = pixels.shape
    scale = min(1.0, THUMBNAIL_SIDE / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.asarray(Image.fromarray(pixels.astype(np.float32), mode="F")
                       .resize(size, Image.Resampling.BOX))
    mirrored = mirror_for_hanging(small, image.laterality)
    heat = None
    if heatmap is not None:
        heat = np.asarray(Image.fromarray(heatmap.astype(np.float32), mode="F")
                          .resize(size, Image.Resampling.BILINEAR))
    sx, sy = size[0] / width, size[1] / height
    placed = tuple(((size[0] - x * sx) if mirrored else x * sx, y * sy) for x, y in marks)
    if mirrored:
        small = small[:, ::-1]
        heat = None if heat is None else heat[:, ::-1]
    grey = np.clip(np.rint(small * 255), 0, 255).astype(np.uint8)
    return Thumbnail(path=image.path, side=image.laterality, view=image.view,
                     pixels=np.ascontiguousarray(grey),
                     heatmap=None if heat is None else np.ascontiguousarray(heat),
                     marks=placed, mirrored=mirrored)


def mirror_for_hanging(pixels: np.ndarray, side: str) -> bool:
    """Whether a view is mirrored when hung: its chest wall must lie on the edge the hanging
    shows it on (:func:`core.exams.chest_wall_for`: a right breast's on the right).

    ``pixels`` are as shown (bright tissue on a dark background); the breast is widest at the
    chest wall, so its tissue weighs towards that edge (the viewer's rule too). A view of
    unknown side is never mirrored.
    """
    wanted = chest_wall_for(side)
    if wanted is None:
        return False
    half = pixels.shape[1] // 2
    left = float(pixels[:, :half].sum())
    right = float(pixels[:, pixels.shape[1] - half:].sum())
    return ("left" if left >= right else "right") != wanted
