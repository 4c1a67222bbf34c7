"""Secondary Capture of one view: the mammogram with the model's heatmap burned in, its score,
and "research use only, not for diagnosis" written into the pixels, so any PACS viewer shows
the warning with the picture (highdicom's SC image, RGB).
"""

from __future__ import annotations

from datetime import datetime

import highdicom as hd
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

from core.inference.preprocess import needs_inversion
from core.pacs.outcome import ExamOutcome, ViewOutcome

MAX_SIDE = 2048  # a review picture: the diagnostic image stays the original
RESEARCH_TEXT = "RESEARCH USE ONLY - NOT FOR DIAGNOSIS"
MANUFACTURER = "Mammo Workstation"


def render_capture(pixels: np.ndarray, heatmap: np.ndarray | None, *, view: ViewOutcome,
                   outcome: ExamOutcome) -> np.ndarray:
    """The picture as RGB ``uint8``: the image (longer side at most ``MAX_SIDE``), the
    heatmap blended over it where the model looked, a ring at the heatmap's peak, and a band
    of text at the top (the warning, the model, the score and its class).

    ``pixels`` is the display-ready image in [0, 1] (a negative one is turned, as the model
    and the viewer show it); ``heatmap`` (probabilities, any size) is stretched over it; None
    draws the peak only.
    """
    if needs_inversion(pixels):  # shown as the model read it, as the viewer does
        pixels = 1.0 - pixels
    h, w = pixels.shape
    scale = min(1.0, MAX_SIDE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    grey = Image.fromarray(np.clip(pixels * 255.0, 0, 255).astype(np.uint8)).resize(
        size, Image.Resampling.BILINEAR)
    rgb = np.repeat(np.asarray(grey, dtype=np.float32)[..., None], 3, axis=2)
    if heatmap is not None:
        heat = np.asarray(Image.fromarray(heatmap.astype(np.float32), mode="F").resize(
            size, Image.Resampling.BILINEAR))
        alpha = (np.clip((heat - 0.5) * 2.0, 0.0, 1.0) * 0.55)[..., None]
        rgb = rgb * (1 - alpha) + _jet(heat) * 255.0 * alpha
    picture = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), mode="RGB")
    draw = ImageDraw.Draw(picture)
    if view.peak is not None:
        x, y = view.peak[0] * scale, view.peak[1] * scale
        r = max(6, size[0] // 30)
        draw.ellipse((x - r, y - r, x + r, y + r), outline=(0, 255, 0), width=max(2, r // 5))
    _text_band(draw, size[0], view=view, outcome=outcome)
    return np.asarray(picture)


def build_capture(pixels: np.ndarray, heatmap: np.ndarray | None, *, view: ViewOutcome,
                  outcome: ExamOutcome, series_uid: str, sop_uid: str, number: int,
                  when: datetime) -> hd.sc.SCImage:
    """The Secondary Capture for ``view``, in the source image's study, referencing it."""
    picture = render_capture(pixels, heatmap, view=view, outcome=outcome)
    source = view.header
    capture = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=source, pixel_array=picture, photometric_interpretation="RGB",
        bits_allocated=8, coordinate_system="PATIENT", series_instance_uid=series_uid,
        series_number=9902, sop_instance_uid=sop_uid, instance_number=number,
        manufacturer=MANUFACTURER,
        laterality=view.laterality if view.laterality in ("L", "R") else None,
        patient_orientation=("A", "R"),  # replaced below: highdicom takes single letters
        transfer_syntax_uid=ExplicitVRLittleEndian)
    # The source's own orientation (MLO views say "A\\FR"): the capture is not re-oriented.
    capture.PatientOrientation = source.get("PatientOrientation", "")
    capture.SeriesDescription = "Mammo Workstation heatmaps (research use only)"
    capture.BurnedInAnnotation = "YES"
    capture.ImageComments = f"{RESEARCH_TEXT}. Model {outcome.model_id} heatmap."
    capture.DerivationDescription = (
        f"Heatmap of model {outcome.model_id} (sha256 {outcome.model_sha256[:16]}) over "
        f"{view.laterality} {view.view}; {RESEARCH_TEXT.lower()}")
    capture.ContentDate = when.strftime("%Y%m%d")
    capture.ContentTime = when.strftime("%H%M%S")
    reference = Dataset()
    reference.ReferencedSOPClassUID = source.SOPClassUID
    reference.ReferencedSOPInstanceUID = source.SOPInstanceUID
    capture.SourceImageSequence = Sequence([reference])
    return capture


def _text_band(draw: ImageDraw.ImageDraw, width: int, *, view: ViewOutcome,
               outcome: ExamOutcome) -> None:
    size = max(10, width // 36)
    font = ImageFont.load_default(size=size)
    reading = view.reading
    lines = [RESEARCH_TEXT,
             f"{view.laterality} {view.view}  model {outcome.model_id}: score "
             f"{reading.score:.3f} ({reading.label} at threshold {reading.threshold:.3f})"]
    height = int(size * 1.3 * len(lines) + size * 0.6)
    draw.rectangle((0, 0, width, height), fill=(0, 0, 0))
    for row, text in enumerate(lines):
        colour = (255, 220, 0) if row == 0 else (255, 255, 255)
        draw.text((size * 0.4, size * 0.3 + row * size * 1.3), text, fill=colour, font=font)


def _jet(values: np.ndarray) -> np.ndarray:
    """The jet colour map (blue, cyan, yellow, red) of values in [0, 1], as floats."""
    v = np.clip(values, 0.0, 1.0)
    red = np.clip(1.5 - np.abs(4 * v - 3), 0, 1)
    green = np.clip(1.5 - np.abs(4 * v - 2), 0, 1)
    blue = np.clip(1.5 - np.abs(4 * v - 1), 0, 1)
    return np.stack([red, green, blue], axis=-1)
