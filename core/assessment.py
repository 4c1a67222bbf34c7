"""The reader's decision per breast: the rules applied before an assessment is signed (no Qt).

- The decision never depends on a score: a breast is assessed with the model's output shown,
  hidden by the blinded first read, or without any model (none installed, or the reader chose
  to read without it); :func:`reading_mode` names which.
- Blinded first read (``Settings.blinded_first_read``): the model's score and heatmap of an
  exam stay hidden until the reader has signed a first assessment of each breast the exam
  shows (:func:`model_revealed`); then they are shown, and the reader may amend.
- Consistency: agreeing with a Negative model while giving a suspicious category (4A-5), or
  with a Positive model while giving a negative or benign one (1-2), is asked about before
  signing (:func:`consistency_question`).

Storage (signing, amending, history) is :class:`core.store.AssessmentBook`'s.
"""

from __future__ import annotations

from collections.abc import Collection

from core.store import BREAST_SIDES, AssessmentRecord, BreastSide, NewAssessment, ReadingMode
from core.store.assessments import says_the_same

SUSPICIOUS = ("4A", "4B", "4C", "5")
NEGATIVE_OR_BENIGN = ("1", "2")
SIDE_NAMES: dict[str, str] = {"R": "right", "L": "left"}

BIRADS_TEXT: dict[str, str] = {
    "0": "0 — incomplete: needs more imaging",
    "1": "1 — negative",
    "2": "2 — benign",
    "3": "3 — probably benign",
    "4A": "4A — low suspicion",
    "4B": "4B — moderate suspicion",
    "4C": "4C — high suspicion",
    "5": "5 — highly suggestive of malignancy",
    "6": "6 — known biopsy-proven malignancy",
}
DENSITY_TEXT: dict[str, str] = {
    "a": "a — almost entirely fatty",
    "b": "b — scattered fibroglandular densities",
    "c": "c — heterogeneously dense",
    "d": "d — extremely dense",
}


def reading_mode(*, model_output: bool, without_model: bool, revealed: bool) -> ReadingMode:
    """How the reader sees the model for this exam.

    Parameters:
        model_output: the exam has model output (a model is installed and scored it).
        without_model: the reader chose to read without the model.
        revealed: :func:`model_revealed` for the exam.
    """
    if not model_output or without_model:
        return "without_model"
    return "with_model" if revealed else "blinded"


def model_revealed(*, blinded: bool, sides_shown: Collection[str],
                   assessed: Collection[str]) -> bool:
    """Whether the model's output of an exam may be shown.

    Always without the blinded first read; with it, once the reader has signed an assessment
    of every breast the exam shows (``sides_shown``: the sides of its views), or of one breast
    when no view's side is known.
    """
    if not blinded:
        return True
    needed = {side for side in sides_shown if side in BREAST_SIDES}
    if not needed:
        return bool(assessed)
    return needed <= set(assessed)


def consistency_question(new: NewAssessment) -> str | None:
    """The question to ask before signing ``new``, or None when it is consistent.

    Only an explicit agreement with the model's class is checked: a reader who disagrees, or
    who saw no model output, is not second-guessed.
    """
    if not new.agrees_with_model or new.model is None:
        return None
    side = SIDE_NAMES.get(new.side, new.side)
    if new.model.label == "Negative" and new.birads in SUSPICIOUS:
        return (f"You agree with the model's Negative for the {side} breast, yet give it "
                f"BI-RADS {new.birads} (suspicious). Sign it as it is?")
    if new.model.label == "Positive" and new.birads in NEGATIVE_OR_BENIGN:
        return (f"You agree with the model's Positive for the {side} breast, yet give it "
                f"BI-RADS {new.birads} (negative or benign). Sign it as it is?")
    return None


def is_unchanged(new: NewAssessment, latest: AssessmentRecord | None) -> bool:
    """Whether signing ``new`` would say nothing new (the store then signs nothing)."""
    return latest is not None and says_the_same(new, latest)


def describe(record: AssessmentRecord) -> str:
    """One line of a breast's history: "2026-12-01 09:30 alice: BI-RADS 4B, density c, 1 mark"."""
    when = record.signed_at.astimezone().strftime("%Y-%m-%d %H:%M")
    parts = [f"BI-RADS {record.birads}"]
    if record.density:
        parts.append(f"density {record.density}")
    if record.marks:
        parts.append(f"{len(record.marks)} mark{'s' if len(record.marks) != 1 else ''}")
    if record.agrees_with_model is not None:
        parts.append("agrees with model" if record.agrees_with_model else "disagrees with model")
    parts.append({"with_model": "model shown", "blinded": "blinded",
                  "without_model": "without model"}[record.mode])
    line = f"{when} {record.username}: {', '.join(parts)}"
    if record.amends_id is not None:
        line += f" — amended: {record.amend_reason}"
    return line


def side_of(side: BreastSide) -> str:
    """"right" or "left"."""
    return SIDE_NAMES[side]
