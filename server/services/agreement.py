"""Reader-model agreement per reader and model version, from the synced readings and outcomes.

A *case* is one breast of one exam when the server can tell (an outcome names the breast's
images, or the images carry a DICOM study and a side), else one view. On a case:

- the reader recalls when any of their signed readings of it says BI-RADS 0, 3, 4 or 5, and
  does not when they say 1 or 2 (BI-RADS 6, a known cancer, is left out);
- the model calls it positive when any of its views scores at or above the threshold;
- the truth, where an outcome was recorded, is cancer for "biopsy malignant" and no cancer
  for "biopsy benign" and "no cancer at follow-up".

Readings replaced by an amendment are left out; a radiologist sees their own figures only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from core.contracts import (
    AgreementPublic,
    AgreementRow,
    DisagreementPublic,
    KappaPublic,
    RatePublic,
    ScreeningPublic,
)
from server.db.models import Image, Reading, User
from server.services.agreement_metrics import (
    Proportion,
    Screening,
    cohen_kappa,
    proportion,
    screening,
)
from server.services.outcomes import latest_outcomes

RECALL = frozenset({0, 3, 4, 5})
NO_RECALL = frozenset({1, 2})
SEVERITY = {1: 0, 2: 1, 3: 2, 0: 3, 4: 4, 5: 5}  # which BI-RADS of a case to list
ALL_READERS = "all"
MAX_LISTED = 200


@dataclass
class Case:
    reader: str
    model: str
    exam_key: str | None
    breast: str | None
    pixels: list[str] = field(default_factory=list)
    birads: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    positive: bool = False
    outcome: str | None = None

    @property
    def reader_recall(self) -> bool:
        return any(b in RECALL for b in self.birads)

    @property
    def model_positive(self) -> bool:
        return self.positive

    @property
    def cancer(self) -> bool | None:
        return None if self.outcome is None else self.outcome == "malignant"


def compute(session: Session, user: User) -> AgreementPublic:
    """The figures ``user`` may see (all readers for an admin)."""
    cases = gather_cases(session, user)
    by_model: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        by_model[case.model].append(case)
    rows: list[AgreementRow] = []
    for model in sorted(by_model):
        group = by_model[model]
        readers = sorted({c.reader for c in group})
        if len(readers) > 1:
            rows.append(summarise(ALL_READERS, model, group))
        rows.extend(summarise(r, model, [c for c in group if c.reader == r]) for r in readers)
    disagreements = sorted(
        (c for c in cases if c.reader_recall != c.model_positive),
        key=lambda c: (c.outcome is None, -max(c.scores)),
    )[:MAX_LISTED]
    return AgreementPublic(rows=rows, disagreements=[_listed(c) for c in disagreements])


def gather_cases(session: Session, user: User) -> list[Case]:
    """One :class:`Case` per reader, model version and breast (or view)."""
    by_pixel = {}
    for outcome in latest_outcomes(session):
        for pixel in outcome.pixel_sha256s:
            by_pixel[pixel] = outcome
    newer = aliased(Reading)
    query = (
        select(Reading, Image, User.username)
        .join(Image, Reading.image_id == Image.id)
        .join(User, Reading.user_id == User.id)
        .where(Reading.signed_at.is_not(None), Reading.birads.is_not(None))
        .where(~exists().where(newer.amends_id == Reading.id))
        .order_by(Reading.created_at, Reading.id)
    )
    if user.role != "admin":
        query = query.where(Reading.user_id == user.id)
    cases: dict[tuple[str, ...], Case] = {}
    for reading, image, reader in session.execute(query):
        if reading.birads not in RECALL | NO_RECALL:
            continue
        model = f"{reading.model_id}@{reading.model_sha256[:12]}"
        outcome = by_pixel.get(image.pixel_sha256)
        if outcome is not None:
            unit = ("exam", outcome.exam_key, outcome.breast)
        elif image.study_instance_uid and image.laterality:
            unit = ("exam", image.study_instance_uid, image.laterality)
        else:
            unit = ("image", image.pixel_sha256, "")
        key = (reader, model, *unit)
        case = cases.get(key)
        if case is None:
            exam = unit[0] == "exam"
            case = cases[key] = Case(reader=reader, model=model,
                                     exam_key=unit[1] if exam else None,
                                     breast=unit[2] if exam else image.laterality,
                                     outcome=outcome.outcome if outcome else None)
        if image.pixel_sha256 not in case.pixels:
            case.pixels.append(image.pixel_sha256)
        case.birads.append(reading.birads)
        case.scores.append(reading.score)
        case.positive = case.positive or reading.score >= reading.threshold
    return list(cases.values())


def summarise(reader: str, model: str, cases: list[Case]) -> AgreementRow:
    recalls = [c.reader_recall for c in cases]
    positives = [c.model_positive for c in cases]
    agreed = sum(1 for a, b in zip(recalls, positives, strict=True) if a == b)
    kappa = cohen_kappa(recalls, positives)
    settled = [c for c in cases if c.cancer is not None]
    truth = [bool(c.cancer) for c in settled]
    figures = None
    if settled:
        figures = (
            screening(truth, [c.reader_recall for c in settled]),
            screening(truth, [c.model_positive for c in settled]),
            screening(truth, [c.reader_recall or c.model_positive for c in settled]),
        )
    return AgreementRow(
        reader=reader,
        model=model,
        cases=len(cases),
        agreement=_rate(proportion(agreed, len(cases))),
        kappa=KappaPublic(value=kappa.value, low=kappa.low, high=kappa.high),
        disagreements=len(cases) - agreed,
        with_outcome=len(settled),
        reader_alone=_screening(figures[0]) if figures else None,
        model_alone=_screening(figures[1]) if figures else None,
        reader_or_model=_screening(figures[2]) if figures else None,
    )


def _rate(p: Proportion) -> RatePublic:
    return RatePublic(numerator=p.numerator, denominator=p.denominator, value=p.value,
                      low=p.low, high=p.high)


def _screening(s: Screening) -> ScreeningPublic:
    return ScreeningPublic(sensitivity=_rate(s.sensitivity), specificity=_rate(s.specificity),
                           recall_rate=_rate(s.recall_rate))


def _listed(case: Case) -> DisagreementPublic:
    return DisagreementPublic(
        reader=case.reader, model=case.model, exam_key=case.exam_key, breast=case.breast,
        pixel_sha256s=case.pixels, birads=max(case.birads, key=SEVERITY.__getitem__),
        reader_recall=case.reader_recall, model_positive=case.model_positive,
        score=max(case.scores), outcome=case.outcome,  # type: ignore[arg-type]
    )
