"""Where retrieved studies land: ``<root>/<Study Instance UID>/<SOP Instance UID>.dcm``.

Each file is written under a temporary name and renamed when complete, so a retrieve cut
short leaves only whole images, which the next try keeps and does not fetch again.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from core.errors import PacsError, PacsErrorKind

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
SUFFIX = ".dcm"


def check_uid(uid: str) -> str:
    """``uid`` when it is a DICOM UID (digits and dots, at most 64 characters): names from
    the network become file names, so nothing else may pass."""
    uid = uid.strip().rstrip("\x00")
    if len(uid) > 64 or not _UID.match(uid):
        raise PacsError(f"'{uid[:80]}' is not a DICOM UID.", kind=PacsErrorKind.REFUSED,
                        transient=False)
    return uid


class StudyInbox:
    """The folder of retrieved studies (``data_dir/pacs/studies`` by default)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def folder(self, study_uid: str) -> Path:
        return self.root / check_uid(study_uid)

    def files(self, study_uid: str) -> list[Path]:
        """The study's complete images, by name."""
        folder = self.folder(study_uid)
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.suffix == SUFFIX and p.is_file())

    def present(self, study_uid: str) -> set[str]:
        """SOP Instance UIDs of the study's images already here."""
        return {p.stem for p in self.files(study_uid)}

    def write(self, study_uid: str, sop_instance_uid: str, data: bytes) -> Path:
        """Keep one received image (a DICOM file's bytes); atomic, replaces a copy."""
        folder = self.folder(study_uid)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{check_uid(sop_instance_uid)}{SUFFIX}"
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(data)
        os.replace(partial, target)
        return target
