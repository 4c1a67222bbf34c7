"""The hospital's PACS over DICOM (pynetdicom): C-ECHO, C-FIND, C-MOVE or C-GET into the
local inbox, C-STORE of results; and the results themselves (a Structured Report and
Secondary Captures made with highdicom).

No Qt here; every network call is synchronous, takes a cancel flag where it loops, and
raises :class:`core.errors.PacsError` with a message the reader or IT can act on.
"""

from core.pacs.config import PacsConfig
from core.pacs.inbox import StudyInbox
from core.pacs.query import (
    InstanceRef,
    StudyQuery,
    StudySummary,
    StudyUid,
    echo,
    find_studies,
)
from core.pacs.retrieve import Retrieved, retrieve_study

__all__ = [
    "InstanceRef",
    "PacsConfig",
    "Retrieved",
    "StudyInbox",
    "StudyQuery",
    "StudySummary",
    "StudyUid",
    "echo",
    "find_studies",
    "retrieve_study",
]
