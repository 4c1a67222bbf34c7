"""The Structured Report of one exam's results (highdicom, Comprehensive SR).

Why not the Mammography CAD SR (TID 4000): its findings are detections and analyses of a
defined type (a mass, a calcification cluster) with their outlines; this model gives one
probability of cancer per image and a heatmap, not a typed finding. A Comprehensive SR says
exactly that, with the same standard concepts TID 4000 uses where they fit (Probability of
cancer, Center, Algorithm Name and Version, Assessment Category, Breast composition).

Content, under "Diagnostic Imaging Report" (LOINC 18748-4):

- observers: the workstation as device (model id as its model name), the reader as person;
- a comment: research use only, not for diagnosis;
- Algorithm Name (model id), Algorithm Version (the model's SHA-256), Algorithm Parameters
  and Threshold Value (the model's operating threshold);
- per breast, a "Finding" container with its Finding Site (left or right breast), the breast's
  Probability of cancer and class (Impression: Positive/Negative at the threshold), each view's
  Probability of cancer inferred from the heatmap's peak (a SCOORD POINT "Center" selected
  from the view's image) and the reader's signed assessment (BI-RADS as Assessment Category,
  density as Breast composition, verdict and note as a comment, the reader as observer).

Every image is referenced by its SOP Class and Instance UIDs and listed as evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from core.pacs.outcome import BreastOutcome, ExamOutcome, ReaderAssessment, ViewOutcome

MANUFACTURER = "Mammo Workstation"
RESEARCH_NOTICE = ("Research use only, not for diagnosis. Produced by Mammo Workstation, which "
                   "is not a certified medical device.")
REPORT_TITLE = Code("18748-4", "LN", "Diagnostic Imaging Report")
FINDING = Code("121071", "DCM", "Finding")
FINDING_SITE = Code("363698007", "SCT", "Finding Site")
BREAST_CODES = {"L": Code("80248007", "SCT", "Left breast"),
                "R": Code("73056007", "SCT", "Right breast")}
PROBABILITY = Code("111047", "DCM", "Probability of cancer")
IMPRESSION = Code("121073", "DCM", "Impression")
CLASS_CODES = {"Positive": Code("10828004", "SCT", "Positive"),
               "Negative": Code("260385009", "SCT", "Negative")}
IMAGE_VIEW = Code("111031", "DCM", "Image View")
VIEW_CODES = {"CC": Code("399162004", "SCT", "cranio-caudal"),
              "MLO": Code("399368009", "SCT", "medio-lateral oblique")}
CENTER = Code("111010", "DCM", "Center")
SOURCE_IMAGE = Code("121324", "DCM", "Source image")
ALGORITHM_NAME = Code("111001", "DCM", "Algorithm Name")
ALGORITHM_VERSION = Code("111003", "DCM", "Algorithm Version")
ALGORITHM_PARAMETERS = Code("111002", "DCM", "Algorithm Parameters")
THRESHOLD = Code("122411", "DCM", "Threshold Value")
READER_IMPRESSION = Code("111034", "DCM", "Individual Impression/Recommendation")
ASSESSMENT_CATEGORY = Code("111005", "DCM", "Assessment Category")
BREAST_COMPOSITION = Code("111006", "DCM", "Breast composition")
COMMENT = Code("121106", "DCM", "Comment")
NO_UNITS = Code("1", "UCUM", "no units")


def build_report(outcome: ExamOutcome, *, series_uid: str, sop_uid: str, device_uid: str,
                 app_version: str, signed: bool) -> hd.sr.ComprehensiveSR:
    """The exam's SR. ``signed`` marks it final and verified by the reader; results sent by
    automatic sending before the reader signed are neither."""
    root = hd.sr.ContainerContentItem(name=REPORT_TITLE)
    items: list[Dataset] = []
    items.extend(hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=device_uid, name=MANUFACTURER, manufacturer_name=MANUFACTURER,
            model_name=outcome.model_id[:64])))
    if signed and outcome.reader_name:
        items.extend(_person(outcome.reader_name))
    items.append(_text(COMMENT, RESEARCH_NOTICE))
    items.append(_text(ALGORITHM_NAME, outcome.model_id))
    items.append(_text(ALGORITHM_VERSION, outcome.model_sha256))
    items.append(_text(ALGORITHM_PARAMETERS,
                       f"operating threshold {outcome.threshold:.6g}; a breast scores its "
                       f"highest view; Mammo Workstation {app_version}"))
    items.append(_number(THRESHOLD, outcome.threshold))
    for breast in outcome.breasts.values():
        if breast.views:
            items.append(_breast(breast, outcome=outcome))
    root.ContentSequence = hd.sr.ContentSequence(items, is_root=False)
    return hd.sr.ComprehensiveSR(
        evidence=[v.header for v in outcome.views], content=root,
        series_instance_uid=series_uid, series_number=9901, sop_instance_uid=sop_uid,
        instance_number=1, manufacturer=MANUFACTURER, is_complete=True, is_final=signed,
        is_verified=signed,
        verifying_observer_name=(_person_name(outcome.reader_name or outcome.reader)
                                 if signed else None),
        verifying_organization=_organisation(outcome) if signed else None,
        institution_name=_organisation(outcome),
        series_description="Mammo Workstation results (research use only)")


def _breast(breast: BreastOutcome, *, outcome: ExamOutcome) -> hd.sr.ContainerContentItem:
    container = hd.sr.ContainerContentItem(name=FINDING, relationship_type="CONTAINS")
    items: list[Dataset] = [hd.sr.CodeContentItem(
        name=FINDING_SITE, value=BREAST_CODES[breast.side], relationship_type="HAS CONCEPT MOD")]
    if breast.score is not None:
        items.append(_number(PROBABILITY, breast.score))
    if breast.label in CLASS_CODES:
        items.append(hd.sr.CodeContentItem(name=IMPRESSION, value=CLASS_CODES[breast.label],
                                           relationship_type="CONTAINS"))
    items.extend(_view(view) for view in breast.views)
    if breast.assessment is not None:
        items.append(_assessment(breast.assessment, outcome=outcome))
    container.ContentSequence = hd.sr.ContentSequence(items, is_root=False)
    return container


def _view(view: ViewOutcome) -> hd.sr.NumContentItem:
    number = _number(PROBABILITY, view.reading.score)
    image = hd.sr.ImageContentItem(
        name=SOURCE_IMAGE, referenced_sop_class_uid=view.header.SOPClassUID,
        referenced_sop_instance_uid=view.header.SOPInstanceUID,
        relationship_type="SELECTED FROM" if view.peak is not None else "INFERRED FROM")
    children: list[Dataset] = []
    if view.view in VIEW_CODES:
        children.append(hd.sr.CodeContentItem(name=IMAGE_VIEW, value=VIEW_CODES[view.view],
                                              relationship_type="HAS CONCEPT MOD"))
    if view.peak is not None:
        point = hd.sr.ScoordContentItem(
            name=CENTER, graphic_type=hd.sr.GraphicTypeValues.POINT,
            graphic_data=np.array([[view.peak[0], view.peak[1]]], dtype=np.float32),
            relationship_type="INFERRED FROM")
        point.ContentSequence = hd.sr.ContentSequence([image], is_root=False)
        children.append(point)
    else:
        children.append(image)
    number.ContentSequence = hd.sr.ContentSequence(children, is_root=False)
    return number


def _assessment(assessment: ReaderAssessment, *, outcome: ExamOutcome
                ) -> hd.sr.ContainerContentItem:
    container = hd.sr.ContainerContentItem(name=READER_IMPRESSION, relationship_type="CONTAINS")
    items: list[Dataset] = list(_person(outcome.reader_name or assessment.username))
    if assessment.birads is not None:
        items.append(_text(ASSESSMENT_CATEGORY, f"BI-RADS {assessment.birads}"))
    if assessment.density is not None:
        items.append(_text(BREAST_COMPOSITION, f"ACR {assessment.density}"))
    verdict = {True: "agrees with the model", False: "disagrees with the model",
               None: "read without the model's output"}[assessment.agrees_with_model]
    signed = assessment.signed_at.strftime("%Y-%m-%d %H:%M UTC")
    note = f" Note: {assessment.note}" if assessment.note else ""
    items.append(_text(COMMENT, f"Signed by {assessment.username} at {signed}; the reader "
                                f"{verdict}.{note}"))
    container.ContentSequence = hd.sr.ContentSequence(items, is_root=False)
    return container


def _person(name: str) -> Sequence[Dataset]:
    return hd.sr.ObserverContext(
        observer_type=codes.DCM.Person,
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
            name=_person_name(name)))


def _person_name(name: str) -> str:
    """A display name as DICOM's PN (``Family^Given``) when it looks like "Given Family"."""
    parts = name.replace("^", " ").split()
    if len(parts) >= 2:
        return f"{parts[-1]}^{' '.join(parts[:-1])}"[:64]
    return f"{(parts[0] if parts else 'Reader')[:63]}^"  # one component: the family name


def _organisation(outcome: ExamOutcome) -> str:
    for view in outcome.views:
        name = str(view.header.get("InstitutionName", "") or "").strip()
        if name:
            return name[:64]
    return MANUFACTURER


def _text(name: Code, value: str) -> hd.sr.TextContentItem:
    return hd.sr.TextContentItem(name=name, value=value[:1024], relationship_type="CONTAINS")


def _number(name: Code, value: float) -> hd.sr.NumContentItem:
    return hd.sr.NumContentItem(name=name, value=round(float(value), 6), unit=NO_UNITS,
                                relationship_type="CONTAINS")


def report_time(outcome: ExamOutcome) -> datetime | None:
    """When the reader signed the latest assessment in the report (None: not signed)."""
    times = [b.assessment.signed_at for b in outcome.breasts.values() if b.assessment]
    return max(times) if times else None
