"""Domain errors.

Every error carries a message a radiologist can act on. Technical detail belongs in the
cause (``raise ... from exc``) and the log, never in the message shown to the user.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path


class MammoError(Exception):
    """Root of every error the product raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class SettingsError(MammoError):
    """The settings file or environment holds a value that cannot be used."""


class ImageDecodeError(MammoError):
    """An input file could not be opened as a mammogram.

    ``path`` names the file; ``reason`` says why, in words a radiologist understands.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{Path(path).name}: {reason}")


class ExamError(MammoError):
    """Images could not be grouped into exams as asked: a malformed ``exam.json``, or a split,
    merge or correction by hand that does not fit the exams it names."""


class ModelLoadError(MammoError):
    """No usable model: none installed, a file missing or tampered with, or an engine missing."""


class InferenceError(MammoError):
    """The model failed while reading an image that decoded correctly."""


class StoreError(MammoError):
    """The local store could not be opened, migrated or written."""


class SyncErrorKind(StrEnum):
    AUTH = "auth"
    CONFLICT = "conflict"
    NETWORK = "network"
    SERVER = "server"


class SyncError(MammoError):
    """Talking to the central server failed; ``kind`` tells the UI how to present it."""

    def __init__(self, message: str, *, kind: SyncErrorKind) -> None:
        super().__init__(message)
        self.kind = kind


class PacsErrorKind(StrEnum):
    UNREACHABLE = "unreachable"  # no connection: host, port, firewall, PACS down, timeout
    REJECTED = "rejected"  # the PACS refused the association (AE titles)
    DESTINATION = "destination"  # C-MOVE: the PACS does not know this workstation's AE
    INCOMPLETE = "incomplete"  # a retrieve that stopped part-way
    REFUSED = "refused"  # the PACS refused a query, a retrieve or an object sent
    NOT_CONFIGURED = "not_configured"  # no pacs_host in the settings
    NOT_SIGNED = "not_signed"  # results wait for the reader's signature


class PacsError(MammoError):
    """Talking DICOM to the hospital's PACS failed.

    ``kind`` says what went wrong; ``transient`` whether trying again later may help (a PACS
    that is down or busy), as opposed to a configuration that must be fixed first (an AE
    title the PACS does not know).
    """

    def __init__(self, message: str, *, kind: PacsErrorKind, transient: bool) -> None:
        super().__init__(message)
        self.kind = kind
        self.transient = transient


class ModelRefusalKind(StrEnum):
    BAD_SIGNATURE = "bad_signature"  # the signature does not match the manifest
    UNKNOWN_KEY = "unknown_key"  # signed, but with a key this workstation does not trust
    UNSIGNED = "unsigned"  # no signature at all
    CHANGED_FILE = "changed_file"  # a file differs from the hash its manifest gives
    UNKNOWN_PREPROCESSING = "unknown_preprocessing"  # made for another app version
    UNREADABLE = "unreadable"  # the manifest cannot be read
    LOAD_FAILED = "load_failed"  # verified, but the engine could not load it


class ModelRefusedError(ModelLoadError):
    """A model version from the server was refused; the workstation keeps the one it has.

    ``kind`` is a :class:`ModelRefusalKind`; the message says what IT should do.
    """

    def __init__(self, message: str, *, kind: ModelRefusalKind) -> None:
        super().__init__(message)
        self.kind = kind
