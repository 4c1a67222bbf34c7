"""The local store: a SQLite file holding users, images, readings, signed decisions and the
queue of changes waiting for the server. :class:`Store` is the only entry point."""

from core.store.records import (
    FeedbackId,
    FeedbackRecord,
    FeedbackSummary,
    ImageId,
    ImageMetaLike,
    Label,
    NewReading,
    OutboxEntry,
    ReadingId,
    ReadingRecord,
    Role,
    SyncState,
    UserId,
    UserRecord,
)
from core.store.store import Store

__all__ = [
    "FeedbackId",
    "FeedbackRecord",
    "FeedbackSummary",
    "ImageId",
    "ImageMetaLike",
    "Label",
    "NewReading",
    "OutboxEntry",
    "ReadingId",
    "ReadingRecord",
    "Role",
    "Store",
    "SyncState",
    "UserId",
    "UserRecord",
]
