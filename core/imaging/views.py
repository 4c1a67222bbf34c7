"""The words for a mammogram's breast side and view, as DICOM and file names spell them.

Views use the ACR MQCM abbreviations that DICOM's ViewPosition (0018,5101) holds for
mammography: ``CC``, ``MLO``, ``ML``, ``LM``, ``LMO``, ``XCCL``, ``XCCM``, ``FB``, ``SIO``.
A ViewCodeSequence (0054,0220) names the same views by code (DICOM CID 4014, SNOMED CT, or
the older SNOMED RT ``SRT`` codes), or at least by its code meaning.
"""

from __future__ import annotations

import re
from typing import Literal

Side = Literal["L", "R"]

# DICOM CID 4014 "View for Mammography": SNOMED CT code, its SNOMED RT (SRT) code, and the
# code meaning, for each view abbreviation.
_VIEW_CODES: dict[str, tuple[str, str, str]] = {
    "CC": ("399162004", "R-10242", "cranio-caudal"),
    "MLO": ("399368009", "R-10226", "medio-lateral oblique"),
    "ML": ("399260004", "R-10224", "medio-lateral"),
    "LM": ("399352003", "R-10228", "latero-medial"),
    "LMO": ("399099002", "R-10230", "latero-medial oblique"),
    "XCCL": ("399192008", "R-1024A", "cranio-caudal exaggerated laterally"),
    "XCCM": ("399101009", "R-1024B", "cranio-caudal exaggerated medially"),
    "FB": ("399196006", "R-10244", "caudo-cranial"),
    "SIO": ("399188001", "R-102D0", "superolateral to inferomedial oblique"),
}
VIEWS: frozenset[str] = frozenset(_VIEW_CODES)
"""The view abbreviations this module knows."""

_BY_CODE = {code: view for view, codes in _VIEW_CODES.items() for code in codes[:2]}
_BY_MEANING = {re.sub(r"[^a-z]", "", codes[2]): view for view, codes in _VIEW_CODES.items()}
_SIDES: dict[str, Side] = {"L": "L", "LEFT": "L", "R": "R", "RIGHT": "R"}


def normalise_view(text: str | None) -> str | None:
    """The view abbreviation that ``text`` (a ViewPosition or a file name token) names, or
    None: ``"cc"`` gives ``CC``, ``"L-MLO"`` nothing (the side is not part of a view)."""
    if not text:
        return None
    word = text.strip().upper()
    return word if word in VIEWS else None


def normalise_side(text: str | None) -> Side | None:
    """``L`` or ``R`` from ``L``/``LEFT``/``R``/``RIGHT`` in any case; None for anything else,
    including DICOM's ``B`` (both) and ``U`` (unpaired), which name no single breast."""
    if not text:
        return None
    return _SIDES.get(text.strip().upper())


def view_from_code(*, value: str | None, meaning: str | None) -> str | None:
    """The view a ViewCodeSequence item names: by its code value (SNOMED CT or SRT) first,
    else by its code meaning (``"cranio-caudal"``, ``"Medio-lateral oblique"``), else None."""
    if value and value.strip() in _BY_CODE:
        return _BY_CODE[value.strip()]
    if meaning:
        return _BY_MEANING.get(re.sub(r"[^a-z]", "", meaning.lower()))
    return None
